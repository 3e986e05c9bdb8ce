/**
 * A clock and timers for the server unit tests: time moves only when a test calls advance(), which runs every
 * timer that falls due on the way, in due order, at its due time.
 */
import type { Timers } from '../../src/server/clock.js';

export class FakeTime implements Timers {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  after(ms: number, fn: () => void): () => void {
    const id = this.seq++;
    this.pending.set(id, { at: this.t + Math.max(ms, 0), fn });
    return () => this.pending.delete(id);
  }

  /** Due times (ms since the epoch) of the timers not yet run, earliest first. */
  dueTimes(): number[] {
    return [...this.pending.values()].map((p) => p.at).sort((a, b) => a - b);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Moves the clock by `ms`, running each timer at its due time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let runs = 0; ; runs++) {
      if (runs > 10_000) throw new Error('FakeTime: more than 10,000 timers in one advance (a timer loop?)');
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
