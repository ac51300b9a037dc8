// Part of the explain store (runs inside its setup): Adebayo et al.'s sanity check of the
// current pair's map (one explain.sanity call; the newest run wins).
import { ref } from 'vue';
import type { SanityDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import type { ExplainRequest } from './explanation';

/** `target`: the pair, model, method and layer checked now (null: no pair or model); Score-CAM's cap is not sent. */
export function useSanityCheck(target: () => Omit<ExplainRequest, 'maxChannels'> | null) {
  const api = useApi();
  const sanity = ref<SanityDto | null>(null);
  const sanityRunning = ref(false);
  const sanityError = ref<string | null>(null);
  let seq = 0;

  async function runSanity(maxLayers?: number): Promise<void> {
    const t = target();
    if (!t) return;
    const mine = ++seq;
    sanityRunning.value = true;
    sanityError.value = null;
    sanity.value = null;
    try {
      const r = await api['explain.sanity']({ ...t, ...(maxLayers ? { maxLayers } : {}) });
      if (mine === seq) sanity.value = r;
    } catch (error) {
      if (mine === seq) sanityError.value = errorMessage(error);
    } finally {
      if (mine === seq) sanityRunning.value = false;
    }
  }

  function abandonSanity(): void {
    seq++;
    sanityRunning.value = false;
  }

  /** Forgets the last result (another pair or model is shown). */
  function clearSanity(): void {
    sanity.value = null;
  }

  return { sanity, sanityRunning, sanityError, runSanity, abandonSanity, clearSanity };
}
