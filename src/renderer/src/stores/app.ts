import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AppInfoDto } from '../../../shared/dto';
import { ApiError, bridgeKind, errorMessage, useApi } from '../api';

export type ViewName = 'datasets' | 'pairs' | 'models' | 'explain' | 'review' | 'compare';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** App-wide state: which view is shown, the app's info, and notices (errors the user must see). */
export const useAppStore = defineStore('app', () => {
  const api = useApi();
  const view = ref<ViewName>('datasets');
  const info = ref<AppInfoDto | null>(null);
  /** Which bridge this page talks through (Electron IPC or HTTP). */
  const bridge = ref(bridgeKind());
  const notices = ref<Notice[]>([]);
  /** Set when the server refuses us (no or a stale token): the whole UI is useless then. */
  const unauthorized = ref(false);
  let nextId = 1;

  function notify(error: unknown, kind: Notice['kind'] = 'error'): void {
    if (error instanceof ApiError && error.code === 'unauthorized') {
      // The "Not connected" screen says it all; a notice per failed call would only repeat it.
      unauthorized.value = true;
      return;
    }
    const text = errorMessage(error);
    if (notices.value.some((n) => n.text === text)) return;
    notices.value.push({ id: nextId++, kind, text });
    if (notices.value.length > 5) notices.value.shift();
  }

  function dismiss(id: number): void {
    notices.value = notices.value.filter((n) => n.id !== id);
  }

  async function loadInfo(): Promise<void> {
    try {
      info.value = await api['app.info']({});
    } catch (error) {
      notify(error);
    }
  }

  function show(name: ViewName): void {
    view.value = name;
  }

  /** A backup is being written (the top bar's "Back up" entry waits). */
  const backingUp = ref(false);

  /**
   * The top bar's "Back up": a consistent copy of the workspace (database and models) into one
   * file next to it (<workspace>/backups/), also while jobs run; the notice names the file. A
   * click while one is being written does nothing.
   */
  async function backup(): Promise<void> {
    if (backingUp.value) return;
    backingUp.value = true;
    try {
      const b = await api['app.backup']({});
      notify(
        `Backup written: ${b.path} (${b.models} model version${b.models === 1 ? '' : 's'}). Restore it with: simlens restore FILE --to DIR`,
        'info',
      );
    } catch (error) {
      notify(error);
    } finally {
      backingUp.value = false;
    }
  }

  return { view, info, bridge, notices, unauthorized, notify, dismiss, loadInfo, show, backingUp, backup };
});
