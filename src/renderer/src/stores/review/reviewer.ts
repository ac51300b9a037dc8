import { defineStore } from 'pinia';
import { ref } from 'vue';
import { reviewerNameProblem } from '../../../../shared/review';
import { errorMessage, useApi } from '../../api';

/**
 * Who is reviewing: the workspace's reviewer, asked once per workspace (main keeps it), and
 * the reviewers with verdicts here (offered when the name is asked or changed).
 */
export const useReviewerStore = defineStore('review-reviewer', () => {
  const api = useApi();
  const name = ref<string | null>(null);
  const known = ref<string[]>([]);
  const loaded = ref(false);
  /** The name dialog is open: first use of the workspace, or "change reviewer". */
  const asking = ref(false);
  const error = ref<string | null>(null);
  const saving = ref(false);

  async function load(): Promise<void> {
    try {
      const r = await api['review.reviewer']({});
      name.value = r.name;
      known.value = r.known;
      loaded.value = true;
      asking.value = r.name === null;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  /** Sets the workspace's reviewer; false (with `error` saying why) when the name is refused. */
  async function set(raw: string): Promise<boolean> {
    const problem = reviewerNameProblem(raw);
    if (problem) {
      error.value = problem.charAt(0).toUpperCase() + problem.slice(1);
      return false;
    }
    saving.value = true;
    try {
      const r = await api['review.setReviewer']({ name: raw.trim() });
      name.value = r.name;
      known.value = r.known;
      asking.value = false;
      error.value = null;
      return true;
    } catch (e) {
      error.value = errorMessage(e);
      return false;
    } finally {
      saving.value = false;
    }
  }

  function ask(): void {
    error.value = null;
    asking.value = true;
  }

  /** Closes the dialog, unless there is no reviewer yet (nothing can be reviewed without one). */
  function cancel(): void {
    if (name.value !== null) asking.value = false;
  }

  return { name, known, loaded, asking, error, saving, load, set, ask, cancel };
});
