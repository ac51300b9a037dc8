// What the Electron preload exposes as `window.simlens`, and the channel names the
// preload and src/main/ipc.ts agree on. The browser-mode transport (HTTP + SSE) carries
// the same envelopes, so the renderer unwraps both the same way.
import type { ContractError, EventName, Events, MethodName } from './contract';

/** A call's outcome as it crosses a process boundary (IPC or HTTP). */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ContractError };

/**
 * The preload's bridge. Methods resolve to envelopes rather than throwing: Electron's
 * contextBridge copies only the message of a thrown Error, so the `code` would be lost.
 * The renderer's api.ts turns `{ ok: false }` into a thrown ApiError carrying the code.
 */
export interface SimLensBridge {
  api: { [M in MethodName]: (args: unknown) => Promise<Envelope> };
  /** Subscribes to a contract event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
}

export const methodChannel = (name: MethodName): string => `simlens:${name}`;
export const eventChannel = (name: EventName): string => `simlens:event:${name}`;
