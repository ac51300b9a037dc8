// Type-checked with the renderer (tsconfig.web.json). The renderer's own HTTP transport
// (src/renderer/src/api.ts httpTransport) against a real backend: a SimLensApp behind the real
// browser-mode server (test/unit/renderer-backend.ts, started here at run time). Node has no
// EventSource, so server-sent events come through a minimal one over fetch (same wire format).
// Calls are recorded; a test may make the next call fail or deliver a stale event, to check how a
// store handles a failed call or events out of order (the transport itself stays the real one).
import { httpTransport, type Transport } from '../../src/renderer/src/api';
import type { Envelope } from '../../src/shared/bridge';
import type { EventName, Events, MethodName } from '../../src/shared/contract';

export interface Backend {
  origin: string;
  token: string;
  all(sql: string, ...params: unknown[]): unknown[];
  shapesFolder(): Promise<string>;
  idxFolder(n: number): string;
  close(): Promise<void>;
}

/** Starts the backend; its module is main-side code, imported at run time (outside this type program). */
export async function startBackend(seed: { pairIds: number[]; images?: number }): Promise<Backend> {
  const module: string = './renderer-backend';
  const { startRendererBackend } = (await import(/* @vite-ignore */ module)) as {
    startRendererBackend(s: typeof seed): Promise<Backend>;
  };
  return startRendererBackend(seed);
}

/** EventSource over fetch: named events (`event:` / `data:` blocks), for the transport's listeners. */
class FetchEventSource extends EventTarget {
  private readonly controller = new AbortController();
  constructor(url: string) {
    super();
    void this.read(url).catch(() => undefined); // ends when closed
  }
  private async read(url: string): Promise<void> {
    const res = await fetch(url, { signal: this.controller.signal, headers: { Accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0) this.dispatchEvent(new MessageEvent(event, { data: data.join('\n') }));
      }
    }
  }
  close(): void {
    this.controller.abort();
  }
}

export interface RecordingTransport extends Transport {
  calls: { name: MethodName; args: Record<string, unknown> }[];
  /** The next call answers this failure instead of reaching the server. */
  failNext(message: string): void;
  /** Delivers an event to this transport's listeners as if the server had sent it (e.g. a stale one). */
  inject<E extends EventName>(event: E, payload: Events[E]): void;
  /** A call that is not recorded (the test's own look-ups). */
  direct<T>(name: MethodName, args: Record<string, unknown>): Promise<T>;
  close(): void;
}

export function realTransport(backend: Backend): RecordingTransport {
  const sources: FetchEventSource[] = [];
  const base = httpTransport({
    token: backend.token,
    fetch: (input, init) => fetch(`${backend.origin}${String(input)}`, init),
    eventSource: (url) => {
      const source = new FetchEventSource(`${backend.origin}${url}`);
      sources.push(source);
      return source as unknown as EventSource;
    },
  });
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let failure: string | null = null;
  const calls: RecordingTransport['calls'] = [];
  return {
    kind: 'http',
    calls,
    async call(name, args): Promise<Envelope> {
      calls.push({ name, args: args as Record<string, unknown> });
      if (failure !== null) {
        const message = failure;
        failure = null;
        return { ok: false, error: { code: 'failed', message } };
      }
      return base.call(name, args);
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (payload: unknown) => void);
      const off = base.on(event, listener);
      return () => {
        set.delete(listener as (payload: unknown) => void);
        off();
      };
    },
    failNext(message) {
      failure = message;
    },
    inject(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    async direct<T>(name: MethodName, args: Record<string, unknown>): Promise<T> {
      const res = await base.call(name, args);
      if (!res.ok) throw new Error(`${name}: ${res.error.message}`);
      return res.value as T;
    },
    close() {
      for (const s of sources.splice(0)) s.close();
    },
  };
}
