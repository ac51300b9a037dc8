// Painting masks on a pair's two images, as a view runs it (the explanation view and the review
// view both): painting on / off, which image the toolbar and the keys act on (the one last
// painted, else image A), the pair's raw maps for the live agreement and the seed, and the
// painting keys in the view's scheme (shortcuts.ts), which go before the view's own keys.
import { computed, ref, watch } from 'vue';
import type { ExplainMethod } from '../../../../shared/dto';
import { useMasksStore } from '../masks';
import { maskKeyAction, type MaskKeyScheme } from './shortcuts';

export interface PaintSessionOptions {
  /** the pair's images (null: no pair shown) */
  images: () => { a: { id: number }; b: { id: number } } | null;
  /** the explanation shown, whose maps the masks are measured against (null: none yet) */
  maps: () => { pairId: number; modelId: number; method: ExplainMethod; layer: string } | null;
  scheme: MaskKeyScheme;
}

const isField = (t: EventTarget | null): t is HTMLElement => {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
};

export function usePaintSession(opts: PaintSessionOptions) {
  const masks = useMasksStore();
  const painting = ref(false);

  const imageId = computed(() => {
    const p = opts.images();
    if (!p) return null;
    return masks.activeImageId === p.b.id ? p.b.id : p.a.id;
  });
  const imageLabel = computed(() => (imageId.value !== null && imageId.value === opts.images()?.b.id ? 'Image B' : 'Image A'));

  function toggle(): void {
    painting.value = !painting.value;
    if (painting.value && masks.author === null) void masks.loadAuthor();
  }

  watch(
    [painting, opts.maps],
    ([on, m]) => {
      if (on && m) void masks.loadMaps({ pairId: m.pairId, modelId: m.modelId, method: m.method, layer: m.layer });
    },
    { immediate: true },
  );
  // a polygon in progress does not outlive its pair or the painting
  watch([painting, () => opts.images()?.a.id, () => opts.images()?.b.id], () => masks.cancelPolygon());

  /** The painting keys while painting (not while typing in a text field); true when the key was one. */
  function onKey(e: KeyboardEvent): boolean {
    if (!painting.value || imageId.value === null) return false;
    if (isField(e.target) && (e.target as HTMLInputElement).type !== 'range') return false;
    const draft = masks.polygon;
    const a = maskKeyAction(e, opts.scheme, draft !== null);
    if (!a) return false;
    e.preventDefault();
    const id = imageId.value;
    switch (a.kind) {
      case 'undo':
        masks.undo(id);
        break;
      case 'redo':
        masks.redo(id);
        break;
      case 'brush':
        masks.stepBrush(a.dir);
        break;
      case 'tool':
        masks.tool = a.tool;
        break;
      case 'polygon':
        if (a.op === 'close') masks.closePolygon(a.value);
        else if (a.op === 'cancel') masks.cancelPolygon();
        else masks.removePolygonVertex();
        break;
    }
    return true;
  }

  return { painting, imageId, imageLabel, toggle, onKey };
}
