// The overlay maps of explanations (runs inside a store's setup), shared by the explanation view
// (one pair at a time, ./overlays.ts) and the review view (the pair shown and the pairs prefetched).
// Each map is fetched once per colormap as the coloured map alone (opacity 1: blended over the image
// in the page, so the opacity slider is instant) and kept, the oldest going first.
import { shallowReactive } from 'vue';
import type { ColormapName, ExplainMethod, ExplanationDto, OverlayDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';

export type MapKind = 'factual' | 'counterfactual';
export type ShowMode = 'both' | MapKind;
export type ImageSide = 'a' | 'b';
export const MAP_KINDS: readonly MapKind[] = ['factual', 'counterfactual'];
export const IMAGE_SIDES: readonly ImageSide[] = ['a', 'b'];

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
export const MAX_OVERLAYS = 400;

/** The key of one map of an explanation in a colormap. */
export function explanationOverlayKey(e: ExplanationDto, side: ImageSide, kind: MapKind, colormap: ColormapName): OverlayKey {
  return { modelId: e.modelId, pairId: e.pairId, method: e.method, layer: e.layer, image: side, kind, colormap, stamp: e.createdAt };
}

/**
 * What a panel shows for one map of an explanation (pure): "not defined" for a method without
 * a counterfactual (`why` says how it would be made), "no evidence" for an all-zero map, else the
 * overlay held in `held` (loading until it is).
 */
export function panelStateOf(
  e: ExplanationDto,
  side: ImageSide,
  kind: MapKind,
  colormap: ColormapName,
  held: ReadonlyMap<string, PanelState>,
  why: string,
): PanelState {
  const img = e[side];
  if (kind === 'counterfactual' && (!e.counterfactualDefined || img.counterfactual === null)) return { state: 'undefined', why };
  const summary = kind === 'factual' ? img.factual : img.counterfactual!;
  if (summary.noEvidence) return { state: 'no-evidence' };
  return held.get(overlayKey(explanationOverlayKey(e, side, kind, colormap))) ?? { state: 'loading' };
}

export function useOverlayCache(max = MAX_OVERLAYS) {
  const api = useApi();
  const overlays = shallowReactive(new Map<string, PanelState>());

  /** Fetches one overlay unless it is held or on its way (a failed one is fetched again). */
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
    while (overlays.size > max) {
      const first = overlays.keys().next().value;
      if (first === undefined) break;
      overlays.delete(first);
    }
  }

  /** Fetches the maps of an explanation (both images, factual and counterfactual) not held yet or that failed. */
  async function loadFor(e: ExplanationDto, colormap: ColormapName, why = ''): Promise<void> {
    const wanted: OverlayKey[] = [];
    for (const side of IMAGE_SIDES) {
      for (const kind of MAP_KINDS) {
        const s = panelStateOf(e, side, kind, colormap, overlays, why);
        if (s.state === 'loading' || s.state === 'error') wanted.push(explanationOverlayKey(e, side, kind, colormap));
      }
    }
    await Promise.all(wanted.map(fetchOverlay));
  }

  return { overlays, fetchOverlay, loadFor };
}
