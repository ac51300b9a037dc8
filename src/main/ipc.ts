// Binds the contract over Electron IPC: one `ipcMain.handle('simlens:<method>')` per
// contract entry, each going through app.dispatch (which validates the arguments before
// any service runs), and contract events forwarded to the window.
//
// Kept a thin function over ipcMain-like and webContents-like interfaces, with type-only
// imports from 'electron': it runs (and is tested) in plain Node, where the Electron
// binary is not available.
import type { IpcMainInvokeEvent } from 'electron';
import { EVENT_NAMES, METHOD_NAMES, type ContractError } from '../shared/contract';
import { eventChannel, methodChannel, type Envelope } from '../shared/bridge';
import type { SimLensApp } from './app';

/** The part of Electron's ipcMain this binding uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The part of a webContents that receives events. */
export interface EventTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

export interface BindIpcOptions {
  /** Where events go: the main window's webContents, or null while there is none. */
  target: () => EventTarget | null;
  /**
   * Whether a call comes from the app's own page (the sender frame's URL). Calls from any
   * other frame (an injected iframe, a page navigated elsewhere) are refused.
   */
  isTrustedSender: (url: string) => boolean;
}

export type IpcApp = Pick<SimLensApp, 'dispatch' | 'events'>;

/** Registers every handler; returns a function that removes them all again. */
export function bindIpc(app: IpcApp, ipcMain: IpcMainLike, options: BindIpcOptions): () => void {
  for (const name of METHOD_NAMES) {
    ipcMain.handle(methodChannel(name), async (event, ...args): Promise<Envelope> => {
      const url = event.senderFrame?.url ?? '';
      if (!options.isTrustedSender(url)) {
        const error: ContractError = { code: 'unauthorized', message: `Calls from ${url || 'an unknown frame'} are not allowed` };
        return { ok: false, error };
      }
      // Exactly one argument object; dispatch checks its shape.
      return (await app.dispatch(name, args[0])) as Envelope;
    });
  }
  const unsubscribe = EVENT_NAMES.map((name) =>
    app.events.on(name, (payload) => {
      const target = options.target();
      if (target && !target.isDestroyed()) target.send(eventChannel(name), payload);
    }),
  );
  return () => {
    for (const name of METHOD_NAMES) ipcMain.removeHandler(methodChannel(name));
    unsubscribe.forEach((off) => off());
  };
}
