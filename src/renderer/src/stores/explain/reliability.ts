// Part of the explain store (runs inside its setup): the reliability hint of the current pair's
// factual maps (explain.reliability: each image's deletion under its map against a random map's,
// ROAD baseline). Requested at once for small inputs (a few forwards), on demand for larger ones.
import { ref } from 'vue';
import type { ReliabilityDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import type { ExplainRequest } from './explanation';

/** Inputs up to this side get their hint automatically. */
export const AUTO_RELIABILITY_MAX_SIDE = 64;

/** `target`: the pair, model, method, layer (and Score-CAM cap) of the maps shown now. */
export function useReliability(target: () => ExplainRequest | null) {
  const api = useApi();
  const reliability = ref<ReliabilityDto | null>(null);
  const reliabilityRunning = ref(false);
  const reliabilityError = ref<string | null>(null);
  let seq = 0;

  async function checkReliability(): Promise<void> {
    const t = target();
    if (!t) return;
    const mine = ++seq;
    reliabilityRunning.value = true;
    reliabilityError.value = null;
    reliability.value = null;
    try {
      const r = await api['explain.reliability'](t);
      if (mine === seq) reliability.value = r;
    } catch (error) {
      if (mine === seq) reliabilityError.value = errorMessage(error);
    } finally {
      if (mine === seq) reliabilityRunning.value = false;
    }
  }

  /** Forgets the hint (other maps are shown) and drops an answer still on its way. */
  function clearReliability(): void {
    seq++;
    reliability.value = null;
    reliabilityRunning.value = false;
    reliabilityError.value = null;
  }

  return { reliability, reliabilityRunning, reliabilityError, checkReliability, clearReliability };
}
