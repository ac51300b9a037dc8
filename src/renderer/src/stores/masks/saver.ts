// Saving as the expert paints: every completed operation asks for a save; one save per image is
// in flight at a time and asks made meanwhile are merged into one save of the newest state when
// it returns. So saves reach main in the order made (over HTTP, parallel requests need not), the
// newest state is always stored last, and a stroke is stored one round trip after it ends
// (a few ms locally; at most one save in flight before it).

export interface SaveQueueHooks<T> {
  /** reads the state to store now (called when the save is sent, so it is the newest) */
  snapshot: () => T;
  send: (state: T) => Promise<void>;
  /** called after each save (error: null on success) */
  settled?: (error: unknown) => void;
}

export class SaveQueue<T> {
  private inFlight: Promise<void> | null = null;
  private again = false;

  constructor(private readonly hooks: SaveQueueHooks<T>) {}

  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Asks for a save of the current state. */
  request(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.run();
  }

  /** Resolves when every save asked for so far is done (or failed). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async run(): Promise<void> {
    for (;;) {
      this.again = false;
      let error: unknown = null;
      try {
        await this.hooks.send(this.hooks.snapshot());
      } catch (e) {
        error = e;
      }
      // not busy any more when the last save is reported (unless asked again meanwhile)
      if (!this.again) this.inFlight = null;
      this.hooks.settled?.(error);
      if (this.inFlight === null) return;
    }
  }
}
