// The renderer's one way to main: a typed `Api` (one async function per contract
// method) and `on(event, cb)` for pushed events, over whichever bridge this page has:
// - Electron: `window.simlens`, exposed by the preload (IPC underneath);
// - browser mode: HTTP POST /api/<method> with the per-launch token, and an EventSource
//   on /api/events for events. The token arrives in the URL fragment (#token=...), is
//   kept in sessionStorage and removed from the address bar.
// Both resolve to { ok, value | error } envelopes; failures become a thrown ApiError
// that carries the contract's error code.
import { EVENT_NAMES, METHOD_NAMES, type Api, type ErrorCode, type EventName, type Events, type MethodName } from '../../shared/contract';
import type { Envelope, SimLensBridge } from '../../shared/bridge';

declare global {
  interface Window {
    simlens?: SimLensBridge;
  }
}

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly method?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Listener<E extends EventName> = (payload: Events[E]) => void;

/** How calls and events travel; one per shell. */
export interface Transport {
  kind: 'electron' | 'http';
  call(name: MethodName, args: unknown): Promise<Envelope>;
  on<E extends EventName>(event: E, listener: Listener<E>): () => void;
}

export function createApi(transport: Transport): Api {
  const entries = METHOD_NAMES.map((name) => [
    name,
    async (args: unknown) => {
      const res = await transport.call(name, args ?? {});
      if (!res.ok) throw new ApiError(res.error.code, res.error.message, name);
      return res.value;
    },
  ]);
  return Object.freeze(Object.fromEntries(entries)) as Api;
}

export function electronTransport(bridge: SimLensBridge): Transport {
  return {
    kind: 'electron',
    call: (name, args) => bridge.api[name](args),
    on: (event, listener) => bridge.on(event, listener),
  };
}

const TOKEN_KEY = 'simlens.token';

/** Reads the token from #token=... (then clears the fragment) or from sessionStorage. */
export function takeToken(
  loc: Pick<Location, 'hash' | 'pathname' | 'search'>,
  storage: Pick<Storage, 'getItem' | 'setItem'>,
  replace?: (url: string) => void,
): string | null {
  const hash = new URLSearchParams(loc.hash.replace(/^#/, ''));
  const fromHash = hash.get('token');
  if (fromHash) {
    storage.setItem(TOKEN_KEY, fromHash);
    replace?.(loc.pathname + loc.search);
    return fromHash;
  }
  return storage.getItem(TOKEN_KEY);
}

export interface HttpDeps {
  token: string | null;
  fetch: typeof fetch;
  /** Constructs the event stream; absent where EventSource does not exist. */
  eventSource?: (url: string) => EventSource;
}

export function httpTransport(deps: HttpDeps): Transport {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let source: EventSource | null = null;

  function ensureSource(): void {
    if (source || !deps.eventSource || !deps.token) return;
    source = deps.eventSource(`/api/events?token=${encodeURIComponent(deps.token)}`);
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        let payload: unknown;
        try {
          payload = JSON.parse((e as MessageEvent<string>).data);
        } catch {
          return;
        }
        for (const l of listeners.get(name) ?? []) l(payload);
      });
    }
  }

  return {
    kind: 'http',
    async call(name, args) {
      if (!deps.token) {
        return {
          ok: false,
          error: {
            code: 'unauthorized',
            message: 'No access token: open the URL that SimLens printed when it started (it ends in #token=…).',
          },
        };
      }
      let res: Response;
      try {
        res = await deps.fetch(`/api/${name}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${deps.token}` },
          body: JSON.stringify(args ?? {}),
        });
      } catch {
        return { ok: false, error: { code: 'failed', message: 'Cannot reach the SimLens server. Is it still running?' } };
      }
      try {
        return (await res.json()) as Envelope;
      } catch {
        return { ok: false, error: { code: 'failed', message: `The server answered ${res.status} without a result` } };
      }
    },
    on(event, listener) {
      if (!EVENT_NAMES.includes(event)) throw new Error(`Unknown event "${event}"`);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (payload: unknown) => void;
      set.add(l);
      ensureSource();
      return () => {
        set.delete(l);
      };
    },
  };
}

function detectTransport(): Transport {
  if (typeof window !== 'undefined' && window.simlens) return electronTransport(window.simlens);
  if (typeof window !== 'undefined') {
    // Pasting the printed URL into a tab already on the app only changes the fragment
    // (no page load): take the new token and start afresh with it.
    window.addEventListener('hashchange', () => {
      if (new URLSearchParams(window.location.hash.slice(1)).has('token')) {
        takeToken(window.location, window.sessionStorage, (url) => window.history.replaceState(null, '', url));
        window.location.reload();
      }
    });
  }
  const token =
    typeof window !== 'undefined'
      ? takeToken(window.location, window.sessionStorage, (url) => window.history.replaceState(null, '', url))
      : null;
  return httpTransport({
    token,
    fetch: (...args) => fetch(...args),
    eventSource: typeof EventSource !== 'undefined' ? (url) => new EventSource(url) : undefined,
  });
}

let transport: Transport | null = null;
let apiInstance: Api | null = null;

function current(): Transport {
  transport ??= detectTransport();
  return transport;
}

/** The app's Api (created on first use). Only stores call it. */
export function useApi(): Api {
  apiInstance ??= createApi(current());
  return apiInstance;
}

export function onEvent<E extends EventName>(event: E, listener: Listener<E>): () => void {
  return current().on(event, listener);
}

export function bridgeKind(): Transport['kind'] {
  return current().kind;
}

/** For tests and for embedding: replaces the detected transport. */
export function setTransport(t: Transport): void {
  transport = t;
  apiInstance = null;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
