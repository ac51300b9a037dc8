// Part of the explain store (runs inside its setup): the four overlay panels of the current
// explanation (images a/b, factual/counterfactual), each map fetched once per colormap as the
// coloured map alone (opacity 1, blended over the image in the page, so the opacity slider is instant).
// The cache and the panel states are shared with the review view (./overlay-cache.ts).
import type { Ref } from 'vue';
import type { ColormapName, ExplainMethodDto, ExplanationDto } from '../../../../shared/dto';
import { panelStateOf, useOverlayCache, type ImageSide, type MapKind, type PanelState } from './overlay-cache';

export { overlayKey, type ImageSide, type MapKind, type OverlayKey, type PanelState, type ShowMode } from './overlay-cache';

export interface OverlaySource {
  explanation: Ref<ExplanationDto | null>;
  explaining: Ref<boolean>;
  colormap: Ref<ColormapName>;
  methodInfo: Ref<ExplainMethodDto | null>;
}

export function useOverlays({ explanation, explaining, colormap, methodInfo }: OverlaySource) {
  const cache = useOverlayCache();
  const why = () => methodInfo.value?.counterfactualHow ?? 'This method defines no counterfactual map.';

  /** The state of one panel (image a/b, factual/counterfactual) for the current explanation. */
  function panel(side: ImageSide, kind: MapKind): PanelState {
    const e = explanation.value;
    if (!e) return explaining.value ? { state: 'loading' } : { state: 'idle' };
    return panelStateOf(e, side, kind, colormap.value, cache.overlays, why());
  }

  /** Fetches the current explanation's maps not held yet (or that failed) in the current colormap. */
  async function loadOverlays(): Promise<void> {
    const e = explanation.value;
    if (e) await cache.loadFor(e, colormap.value, why());
  }

  return { overlays: cache.overlays, panel, loadOverlays };
}
