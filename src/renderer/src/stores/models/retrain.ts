// Part of the models store (runs inside its setup): "Retrain with focus" for the selected
// version: its mask coverage (models.maskCoverage), a small form (loss, lambda, epochs) and the
// 'retrain' job started from it (models.retrain), followed with progress and cancel.
import { computed, ref, type Ref } from 'vue';
import type { ArgsOf } from '../../../../shared/contract';
import type { JobDto, MaskCoverageDto, RetrainLossName } from '../../../../shared/dto';
import { RETRAIN_DEFAULTS } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import { useTrackedJob } from '../jobs';

export interface RetrainForm {
  loss: RetrainLossName;
  /** as typed (the default per loss when empty) */
  lambda: string;
  epochs: number;
}

/** The losses with a one-line hint each (SCIENCE.md section 4). */
export const RETRAIN_LOSSES: readonly { id: RetrainLossName; label: string; hint: string; lambda: number | null }[] = [
  { id: 'rrr', label: 'RRR', hint: 'Penalises Grad-CAM evidence outside the mask.', lambda: RETRAIN_DEFAULTS.lambda.rrr },
  {
    id: 'energy',
    label: 'Energy',
    hint: '1 − the energy-based pointing game: the share of evidence inside the mask.',
    lambda: RETRAIN_DEFAULTS.lambda.energy,
  },
  { id: 'hint', label: 'HINT', hint: 'Mean squared error between the normalised map and the mask.', lambda: RETRAIN_DEFAULTS.lambda.hint },
  {
    id: 'augment',
    label: 'Augmentation',
    hint: 'No mask loss: outside the mask replaced by other backgrounds, noise or blur (no second derivative).',
    lambda: null,
  },
];

export const defaultRetrainForm = (): RetrainForm => ({ loss: RETRAIN_DEFAULTS.loss, lambda: '', epochs: 3 });

/** The form's own check (main validates again): a message, or null when it can be sent. */
export function validateRetrainForm(f: RetrainForm): string | null {
  if (!Number.isInteger(f.epochs) || f.epochs < 1 || f.epochs > 1000) return 'Epochs: a whole number from 1 to 1000.';
  const l = f.lambda.trim();
  if (f.loss !== 'augment' && l !== '') {
    const n = Number(l);
    if (!Number.isFinite(n) || n < 0 || n > 1e6) return 'Lambda: a number from 0 to 1000000, or empty for the default.';
  }
  return null;
}

/** Contract arguments from the form. */
export function retrainArgs(id: number, f: RetrainForm): ArgsOf<'models.retrain'> {
  const l = f.lambda.trim();
  return { id, loss: f.loss, epochs: f.epochs, ...(f.loss !== 'augment' && l !== '' ? { lambda: Number(l) } : {}) };
}

/** `onFinished`: the retraining followed here ended (done, failed, cancelled or interrupted). */
export function useRetrain(selectedId: Ref<number | null>, onFinished: (job: JobDto) => Promise<void>) {
  const api = useApi();
  /** the form is open (for `formFor`) */
  const open = ref(false);
  const formFor = ref<number | null>(null);
  const form = ref<RetrainForm>(defaultRetrainForm());
  const coverage = ref<MaskCoverageDto | null>(null);
  const coverageError = ref<string | null>(null);
  /** why the last start was refused (the form's check or main's message) */
  const error = ref<string | null>(null);
  const starting = ref(false);
  const run = useTrackedJob({ what: 'Retraining', onFinished: (job) => onFinished(job) });

  async function loadCoverage(id: number): Promise<void> {
    coverage.value = null;
    coverageError.value = null;
    try {
      const c = await api['models.maskCoverage']({ id });
      if (formFor.value === id) coverage.value = c;
    } catch (e) {
      if (formFor.value === id) coverageError.value = errorMessage(e);
    }
  }

  /** Opens the form for `versionId` (default: the selected version) and loads which of its images have masks. */
  function openForm(versionId?: number): void {
    const id = versionId ?? selectedId.value;
    if (id === null) return;
    if (formFor.value !== id) form.value = defaultRetrainForm();
    formFor.value = id;
    open.value = true;
    error.value = null;
    void loadCoverage(id);
  }

  function closeForm(): void {
    open.value = false;
    error.value = null;
  }

  async function start(): Promise<void> {
    const id = formFor.value;
    if (id === null || starting.value || run.running.value) return;
    error.value = validateRetrainForm(form.value);
    if (error.value) return;
    starting.value = true;
    try {
      const { jobId } = await api['models.retrain'](retrainArgs(id, form.value));
      run.follow(jobId);
      open.value = false;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      starting.value = false;
    }
  }

  const canStart = computed(() => !!coverage.value?.canRetrain && !run.running.value && !starting.value);

  return {
    retrainOpen: open,
    retrainFor: formFor,
    retrainForm: form,
    retrainCoverage: coverage,
    retrainCoverageError: coverageError,
    retrainError: error,
    retrainStarting: starting,
    canStartRetrain: canStart,
    retrainJob: run.job,
    retraining: run.running,
    retrainJobId: run.id,
    openRetrain: openForm,
    closeRetrain: closeForm,
    startRetrain: start,
    cancelRetrain: run.cancel,
  };
}
