// Part of the explain store (runs inside its setup): the four overlay panels of the current
// explanation (images a/b, factual/counterfactual), each map fetched once per colormap as the
// coloured map alone (opacity 1, blended over the image in the page, so the opacity slider is instant).
import { shallowReactive, type Ref } from 'vue';
import type { ColormapName, ExplainMethod, ExplainMethodDto, ExplanationDto, OverlayDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';

export type MapKind = 'factual' | 'counterfactual';
export type ShowMode = 'both' | MapKind;
export type ImageSide = 'a' | 'b';

export interface OverlayKey {
  modelId: number;
  pairId: number;
  method: ExplainMethod;
  layer: string;
  image: ImageSide;
  kind: MapKind;
  colormap: ColormapName;
  /** which stored map (its createdAt): a recomputed map (refresh, another Score-CAM cap) is fetched anew */
  stamp?: string;
}
export const overlayKey = (k: OverlayKey): string =>
  `${k.modelId}/${k.pairId}/${k.method}/${k.layer}/${k.image}/${k.kind}/${k.colormap}${k.stamp ? `/${k.stamp}` : ''}`;

/** What one overlay panel shows. */
export type PanelState =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'undefined'; why: string }
  | { state: 'no-evidence' }
  | { state: 'ready'; url: string; width: number; height: number }
  | { state: 'error'; message: string };

/** Overlays kept (the oldest go first): enough for browsing back and forth without refetching. */
const MAX_OVERLAYS = 400;

export interface OverlaySource {
  explanation: Ref<ExplanationDto | null>;
  explaining: Ref<boolean>;
  colormap: Ref<ColormapName>;
  methodInfo: Ref<ExplainMethodDto | null>;
}

export function useOverlays({ explanation, explaining, colormap, methodInfo }: OverlaySource) {
  const api = useApi();
  const overlays = shallowReactive(new Map<string, PanelState>());

  function keyFor(side: ImageSide, kind: MapKind): OverlayKey | null {
    const e = explanation.value;
    if (!e) return null;
    return {
      modelId: e.modelId,
      pairId: e.pairId,
      method: e.method,
      layer: e.layer,
      image: side,
      kind,
      colormap: colormap.value,
      stamp: e.createdAt,
    };
  }

  /** The state of one panel (image a/b, factual/counterfactual) for the current explanation. */
  function panel(side: ImageSide, kind: MapKind): PanelState {
    const e = explanation.value;
    if (!e) return explaining.value ? { state: 'loading' } : { state: 'idle' };
    const img = e[side];
    if (kind === 'counterfactual' && (!e.counterfactualDefined || img.counterfactual === null)) {
      return { state: 'undefined', why: methodInfo.value?.counterfactualHow ?? 'This method defines no counterfactual map.' };
    }
    const summary = kind === 'factual' ? img.factual : img.counterfactual!;
    if (summary.noEvidence) return { state: 'no-evidence' };
    const key = keyFor(side, kind);
    return (key && overlays.get(overlayKey(key))) ?? { state: 'loading' };
  }

  async function fetchOverlay(k: OverlayKey): Promise<void> {
    const key = overlayKey(k);
    const have = overlays.get(key);
    if (have && have.state !== 'error') return;
    overlays.set(key, { state: 'loading' });
    try {
      const o: OverlayDto = await api['explain.overlay']({
        pairId: k.pairId,
        modelId: k.modelId,
        method: k.method,
        ...(k.layer !== 'input' ? { layer: k.layer } : {}),
        image: k.image,
        kind: k.kind,
        colormap: k.colormap,
        opacity: 1,
      });
      overlays.set(key, o.noEvidence ? { state: 'no-evidence' } : { state: 'ready', url: o.dataUrl, width: o.width, height: o.height });
    } catch (error) {
      overlays.set(key, { state: 'error', message: errorMessage(error) });
    }
    if (overlays.size > MAX_OVERLAYS) {
      const first = overlays.keys().next().value;
      if (first !== undefined) overlays.delete(first);
    }
  }

  /** Fetches the current explanation's maps not held yet (or that failed) in the current colormap. */
  async function loadOverlays(): Promise<void> {
    const e = explanation.value;
    if (!e) return;
    const wanted: OverlayKey[] = [];
    for (const side of ['a', 'b'] as const) {
      for (const kind of ['factual', 'counterfactual'] as const) {
        const s = panel(side, kind);
        const k = keyFor(side, kind);
        if (k && (s.state === 'loading' || s.state === 'error')) wanted.push(k);
      }
    }
    await Promise.all(wanted.map(fetchOverlay));
  }

  return { overlays, panel, loadOverlays };
}
