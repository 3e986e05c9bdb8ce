/**
 * Long work cut into slices, so that the event loop keeps answering queries while it runs (no RFC: an
 * authoritative server must keep answering, RFC 1034 §4.3.1, while it reloads, re-signs or computes a journal).
 * A task is a generator that yields now and then (every few dozen owners); the queue runs tasks one after the
 * other, in the order they were added, each step after the other until a slice of `sliceMs` milliseconds is
 * used up, then gives the event loop a turn (setImmediate: pending I/O, that is queries, first) and goes on.
 * A task that fits in one slice ends before add() returns: a small zone's work stays synchronous.
 */

/** Milliseconds of work between two turns of the event loop (a query waits at most about this long). */
export const SLICE_MS = 8;

/** A task: yields between pieces of work, returns when done. */
export type SlicedTask = Iterator<unknown, void, undefined>;

/** Steps of a SliceQueue task are running (awaitSteps may pause one). */
let running = 0;
/** Set by awaitSteps during a step: the queue resumes after it settles instead of at the next turn. */
let pausedOn: Promise<unknown> | undefined;

/** Whether the code calling it runs in a step of a SliceQueue task (where awaitSteps may be used). */
export function inSlices(): boolean {
  return running > 0;
}

/**
 * In a SliceQueue task: waits for `p` without holding the event loop (the queue leaves the task until `p`
 * settles, queries are answered meanwhile), then returns its value or throws its error. For work done by
 * another thread, such as an fsync. Outside a queue (a generator run to its end in one go) it throws.
 */
export function* awaitSteps<T>(p: Promise<T>): Generator<void, T, undefined> {
  if (running === 0) throw new Error('awaitSteps outside a SliceQueue task');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  const settled = p.then(
    (value) => void (outcome = { ok: true, value }),
    (error: unknown) => void (outcome = { ok: false, error }),
  );
  pausedOn = settled;
  yield;
  if (outcome === undefined) throw new Error('awaitSteps resumed before its promise settled (not run by a SliceQueue)');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export class SliceQueue {
  private readonly tasks: SlicedTask[] = [];
  private scheduled = false;
  /** A task is running: one added by it (a rebuild asked for during a reload) waits its turn. */
  private draining = false;
  private waiters: (() => void)[] = [];

  constructor(
    /** Told when a task throws; the task is dropped and the next one runs. */
    private readonly onError: (error: unknown) => void,
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** Queues `task` and runs what fits in the current slice now. */
  add(task: SlicedTask): void {
    this.tasks.push(task);
    if (!this.scheduled && !this.draining) this.drain();
  }

  /** Whether no task is queued or running. */
  get idle(): boolean {
    return this.tasks.length === 0;
  }

  /** Resolves once every task queued so far (and any queued meanwhile) has ended. */
  settled(): Promise<void> {
    if (this.tasks.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private drain(): void {
    this.scheduled = false;
    const start = performance.now();
    while (this.tasks.length > 0) {
      const task = this.tasks[0]!;
      this.draining = true;
      running++;
      try {
        if (task.next().done) this.tasks.shift();
      } catch (e) {
        this.tasks.shift();
        this.onError(e);
      } finally {
        this.draining = false;
        running--;
      }
      const wait = pausedOn;
      pausedOn = undefined;
      if (wait && this.tasks[0] === task) {
        // The task waits for another thread (awaitSteps): the queue goes on once that is done.
        this.scheduled = true;
        void wait.then(() => setImmediate(() => this.drain()));
        return;
      }
      if (this.tasks.length > 0 && performance.now() - start >= this.sliceMs) {
        this.scheduled = true;
        setImmediate(() => this.drain());
        return;
      }
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * For async code: `await pause()` gives the event loop a turn when `sliceMs` of work have run since the last
 * turn, and costs a clock read otherwise.
 */
export function slicer(sliceMs = SLICE_MS): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}
