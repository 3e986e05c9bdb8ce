/**
 * The one way the running server stops: every unit that holds a timer, a watcher or a socket registers its
 * close here as soon as it holds it, so `close()` and a start-up that fails half way release exactly what was
 * started. Closing is idempotent (a second call returns the first call's promise).
 */

export class Shutdown {
  private readonly closers: (() => void | Promise<void>)[] = [];
  private closing: Promise<void> | null = null;

  /** True once close() was called: timers and watchers that fire late do nothing. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Registers a close; after close() it runs at once (a unit started while stopping is stopped too). */
  add(close: () => void | Promise<void>): void {
    if (this.closing)
      void Promise.resolve()
        .then(close)
        .catch(() => undefined);
    else this.closers.push(close);
  }

  /**
   * Runs every registered close, newest first (listeners before the watchers and timers that feed them). All
   * run even when one fails; the first failure is rethrown afterwards.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let failure: { error: unknown } | undefined;
      for (const close of this.closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    })();
    return this.closing;
  }
}
