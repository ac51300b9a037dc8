// The preload: a narrow bridge. It exposes `window.simlens` with one function per
// contract method (each a single ipcRenderer.invoke on its own channel) and `on()` for
// the contract's events. ipcRenderer itself is never exposed, and unknown event names
// are refused, so the page can reach nothing but the contract.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_NAMES, METHOD_NAMES, type EventName, type Events } from '../shared/contract';
import { eventChannel, methodChannel, type Envelope, type SimLensBridge } from '../shared/bridge';

const api = Object.fromEntries(
  METHOD_NAMES.map((name) => [name, (args: unknown): Promise<Envelope> => ipcRenderer.invoke(methodChannel(name), args ?? {})]),
) as SimLensBridge['api'];

function on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
  if (!EVENT_NAMES.includes(event)) throw new Error(`Unknown event "${String(event)}"`);
  if (typeof listener !== 'function') throw new Error('listener must be a function');
  const channel = eventChannel(event);
  // Wrap so the page never sees the IpcRendererEvent (it carries `sender`, the ipcRenderer).
  const wrapped = (_event: IpcRendererEvent, payload: Events[E]) => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

const bridge: SimLensBridge = Object.freeze({ api: Object.freeze(api), on });
contextBridge.exposeInMainWorld('simlens', bridge);
