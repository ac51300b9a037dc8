// A gate between an engine worker's native calls that must not be interrupted and the pool's
// worker.terminate(). ONNX Runtime's Node binding runs a session synchronously inside native code;
// a worker terminated meanwhile aborts the WHOLE process when the call returns into JavaScript
// ("terminate called after throwing an instance of 'Napi::Error'", measured: exit code 134). So a
// worker counts its native calls in flight in shared memory, and the pool terminates it only once
// it has closed the gate: no call in flight, and none may start after.
//
// The gate: one Int32 in a SharedArrayBuffer; n >= 0 calls in flight, or CLOSED.
import { TaskCancelledError } from './registry';

const CLOSED = -1;
let gate: Int32Array | null = null;

/** Worker side, once at start: the gate the pool gave this worker. */
export function useNativeGate(buffer: SharedArrayBuffer): void {
  gate = new Int32Array(buffer);
}

/**
 * Runs `call` (a native call that must not be interrupted) counted in the gate. Outside a pool
 * worker it just runs. Rejects without calling when the pool is stopping this worker.
 */
export async function uninterrupted<T>(call: () => Promise<T>): Promise<T> {
  const g = gate;
  if (!g) return call();
  for (;;) {
    const n = Atomics.load(g, 0);
    if (n === CLOSED) throw new TaskCancelledError();
    if (Atomics.compareExchange(g, 0, n, n + 1) === n) break;
  }
  try {
    return await call();
  } finally {
    Atomics.sub(g, 0, 1);
  }
}

/** Pool side: closes the gate, waiting (polling every `pollMs`) while native calls are in flight. */
export async function closeNativeGate(g: Int32Array, pollMs = 5): Promise<void> {
  while (Atomics.compareExchange(g, 0, 0, CLOSED) > 0) await new Promise((r) => setTimeout(r, pollMs));
}
