import { EventEmitter } from 'node:events';
import type { EventName, Events } from '../shared/contract';

/** Typed fan-out of contract events to whichever shells are attached (IPC, HTTP push, CLI). */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<E extends EventName>(name: E, payload: Events[E]): void {
    this.emitter.emit(name, payload);
  }

  /** Returns the unsubscribe function. */
  on<E extends EventName>(name: E, listener: (payload: Events[E]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
