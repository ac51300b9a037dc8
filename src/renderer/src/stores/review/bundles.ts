import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ReviewBundleExportDto, ReviewExportDto, ReviewImportDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import { useAppStore } from '../app';

export type ExportFormat = 'bundle' | 'csv' | 'json';

/**
 * Verdicts in and out of the workspace, by file path (main reads and writes it; browser mode has
 * no file picker): a review bundle for another expert's workspace, CSV / JSON for analysis, and
 * the import of a colleague's bundle (checked first with a dry run, then for real).
 */
export const useReviewBundlesStore = defineStore('review-bundles', () => {
  const api = useApi();
  const app = useAppStore();
  const busy = ref<'export' | 'check' | 'import' | null>(null);
  const error = ref<string | null>(null);
  const exported = ref<{ format: ExportFormat; result: ReviewBundleExportDto | ReviewExportDto } | null>(null);
  /** the last import report (a dry run's too) */
  const report = ref<ReviewImportDto | null>(null);
  /** successful imports so far (the queue and the summary reload after one) */
  const imports = ref(0);

  async function exportTo(path: string, format: ExportFormat, modelId: number, opts: { history?: boolean } = {}): Promise<boolean> {
    busy.value = 'export';
    error.value = null;
    exported.value = null;
    try {
      const result =
        format === 'bundle'
          ? await api['review.exportBundle']({ path, modelId })
          : await api['review.export']({ path, format, modelId, ...(opts.history ? { history: true } : {}) });
      exported.value = { format, result };
      return true;
    } catch (e) {
      error.value = errorMessage(e);
      return false;
    } finally {
      busy.value = null;
    }
  }

  /** Reads a bundle: `dryRun` reports what would be imported; otherwise imports it (all or nothing). */
  async function importFrom(path: string, dryRun: boolean): Promise<boolean> {
    busy.value = dryRun ? 'check' : 'import';
    error.value = null;
    report.value = null;
    try {
      report.value = await api['review.importBundle']({ path, ...(dryRun ? { dryRun: true } : {}) });
      if (!dryRun) {
        imports.value++;
        app.notify(`Imported ${report.value.imported} verdicts from ${path}`, 'info');
      }
      return true;
    } catch (e) {
      error.value = errorMessage(e);
      return false;
    } finally {
      busy.value = null;
    }
  }

  return { busy, error, exported, report, imports, exportTo, importFrom };
});
