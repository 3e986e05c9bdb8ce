/**
 * The signature refresh timer: signatures are re-made well before they expire (RFC 4035 §5.3.1: a validator
 * rejects an RRSIG outside its validity period), so the server wakes up when the first signature, or a key
 * event of a rollover, is due, and signs again. The wait is capped at an hour so that a clock that jumped or a
 * long validity period is never missed. When a signature is due is the policy of dnssec/sigcache.ts.
 */
import type { Clock, Timers } from './clock.js';

/** Longest sleep between signature refresh checks. */
export const REFRESH_CHECK_MS = 3600_000;
/** Shortest sleep: a due time already past is retried after a second, not in a busy loop. */
const REFRESH_MIN_MS = 1000;

export class RefreshTimer {
  private cancel: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly onDue: () => void,
    private readonly now: Clock,
    private readonly timers: Timers,
  ) {}

  /** (Re)arms the timer for `dueSec` (seconds since the epoch; Infinity: nothing signed, no timer). */
  schedule(dueSec: number): void {
    this.cancel?.();
    this.cancel = null;
    if (this.stopped || !Number.isFinite(dueSec)) return;
    const delay = Math.min(Math.max(dueSec * 1000 - this.now(), REFRESH_MIN_MS), REFRESH_CHECK_MS);
    this.cancel = this.timers.after(delay, () => {
      this.cancel = null;
      this.onDue();
    });
  }

  /** Whether a refresh is pending. */
  get armed(): boolean {
    return this.cancel !== null;
  }

  close(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
  }
}
