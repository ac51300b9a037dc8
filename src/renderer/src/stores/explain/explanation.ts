// Part of the explain store (runs inside its setup): the current pair's explanation (one
// explain.pair call: the maps' summaries and the score), newest request wins.
import { ref } from 'vue';
import type { ExplainMethod, ExplanationDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';

/** What is explained: the pair, the model version, the method, its layer (absent: the model's default or none), Score-CAM's cap. */
export interface ExplainRequest {
  pairId: number;
  modelId: number;
  method: ExplainMethod;
  layer?: string;
  maxChannels?: number;
}

/** `request`: what to explain now (null: nothing, no pair or model); `onExplained` runs with each new explanation. */
export function useExplanation(request: () => ExplainRequest | null, onExplained: () => void) {
  const api = useApi();
  const explanation = ref<ExplanationDto | null>(null);
  const explaining = ref(false);
  const explainStartedAt = ref<number | null>(null);
  const explainError = ref<string | null>(null);
  let seq = 0;

  async function explain(refresh = false): Promise<void> {
    const args = request();
    if (!args) {
      explanation.value = null;
      return;
    }
    const mine = ++seq;
    const cur = explanation.value;
    // a different pair, model, method or layer: never show the previous maps under the new labels
    if (
      cur &&
      (cur.pairId !== args.pairId ||
        cur.modelId !== args.modelId ||
        cur.method !== args.method ||
        (args.layer !== undefined && cur.layer !== args.layer))
    ) {
      explanation.value = null;
    }
    explaining.value = true;
    explainStartedAt.value = Date.now();
    explainError.value = null;
    try {
      const e = await api['explain.pair']({ ...args, ...(refresh ? { refresh } : {}) });
      if (mine !== seq) return;
      explanation.value = e;
      onExplained();
    } catch (error) {
      if (mine !== seq) return;
      explanation.value = null;
      explainError.value = errorMessage(error);
    } finally {
      if (mine === seq) {
        explaining.value = false;
        explainStartedAt.value = null;
      }
    }
  }

  /** Stops waiting for a running explanation (the contract has no cancel for explain.pair: main finishes it and stores it). */
  function abandonExplain(): void {
    seq++;
    explaining.value = false;
    explainStartedAt.value = null;
    explainError.value = 'Stopped waiting. The explanation may still finish in the background; choose the method again to see it.';
  }

  return { explanation, explaining, explainStartedAt, explainError, explain, abandonExplain };
}
