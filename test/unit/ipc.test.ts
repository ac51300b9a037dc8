// The Electron IPC binding (src/main/ipc.ts), tested without Electron: Electron itself is
// mocked at this boundary (an ipcMain-like registry and a webContents-like target),
// because its binary cannot be downloaded on the machines this project is built on.
// Everything behind the boundary is real: SimLensApp, its validation, a temp database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMainInvokeEvent } from 'electron';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { bindIpc, type IpcMainLike } from '../../src/main/ipc';
import { eventChannel, methodChannel, type Envelope } from '../../src/shared/bridge';
import { METHOD_NAMES } from '../../src/shared/contract';
import type { JobDto } from '../../src/shared/dto';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What ipcRenderer.invoke(channel, ...args) from a frame at `url` would get. */
  invoke(channel: string, url: string, ...args: unknown[]): Promise<Envelope> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    return Promise.resolve(h({ senderFrame: { url } } as unknown as IpcMainInvokeEvent, ...args)) as Promise<Envelope>;
  }
}

const APP_URL = 'simlens://app/index.html';
let dir: string;
let app: SimLensApp;
let ipc: FakeIpcMain;
let sent: { channel: string; payload: unknown }[];
let destroyed: boolean;
let unbind: () => void;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-ipc-'));
  app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'electron' });
  ipc = new FakeIpcMain();
  sent = [];
  destroyed = false;
  unbind = bindIpc(app, ipc, {
    target: () => ({ send: (channel, payload) => sent.push({ channel, payload }), isDestroyed: () => destroyed }),
    isTrustedSender: (url) => url.startsWith('simlens://app/'),
  });
});

afterEach(async () => {
  unbind();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bindIpc', () => {
  it('registers exactly one handler per contract method', () => {
    expect([...ipc.handlers.keys()].sort()).toEqual(METHOD_NAMES.map(methodChannel).sort());
  });

  it('dispatches to the app and returns its envelope', async () => {
    const res = await ipc.invoke(methodChannel('app.info'), APP_URL, {});
    expect(res).toMatchObject({ ok: true, value: { shell: 'electron' } });
  });

  it('validates arguments before any service runs, naming the field', async () => {
    const res = await ipc.invoke(methodChannel('datasets.get'), APP_URL, { id: -1 });
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.code).toBe('invalid_argument');
      expect(res.error.message).toContain('args.id');
    }
    const extra = await ipc.invoke(methodChannel('app.info'), APP_URL, { sneaky: 1 });
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
  });

  it('refuses calls from frames that are not the app', async () => {
    const res = await ipc.invoke(methodChannel('app.info'), 'https://evil.example/', {});
    expect(res).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });

  it('forwards contract events to the window, and not to a destroyed one', () => {
    const job = { id: 3, kind: 'import', status: 'running', progress: 0.25 } as JobDto;
    app.events.emit('job.updated', job);
    expect(sent).toEqual([{ channel: eventChannel('job.updated'), payload: job }]);
    destroyed = true;
    app.events.emit('job.updated', job);
    expect(sent).toHaveLength(1);
  });

  it('unbinds every handler and event forwarder', () => {
    unbind();
    expect(ipc.handlers.size).toBe(0);
    app.events.emit('job.updated', { id: 1 } as JobDto);
    expect(sent).toHaveLength(0);
    unbind = () => {};
  });
});
