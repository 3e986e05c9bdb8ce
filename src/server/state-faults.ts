/**
 * Failures of the state directory (serials, TLSA history, kept signatures, IXFR journal, dynamic update records,
 * the parent's DS record, the cookie secret, the key tags of keys.json): none of them may
 * change what is served (a record computed from a certificate is published even when its history cannot be
 * saved, RFC 7671 §8.1), so none of them may pass silently either. Each write or read of a state file goes
 * through attempt(): a failure is one `error` log line (file and reason) when the file starts failing, one
 * `info` line when it works again, a counter and a gauge per kind for /metrics, and a /healthz reason while it
 * lasts. The failed operation is kept and tried again by a timer (and by the next publish, which attempts it
 * anew), so a directory that was full clears on its own once there is room.
 */
import type { Logger } from '../log.js';
import type { Timers } from './clock.js';

/**
 * The kinds of state file: a fixed set, so the metric labels are too. serials.json, tlsa.json,
 * signed/<zone>.bin, ixfr/<zone>.json, dynamic/<zone>.json, parent-ds.json, cookie-secret.json, keys.json.
 */
export const STATE_FILES = ['serials', 'tlsa', 'signed', 'journal', 'dynamic', 'parent-ds', 'cookies', 'keys'] as const;
export type StateFile = (typeof STATE_FILES)[number];

/** How often failed state operations are tried again. */
export const STATE_RETRY_MS = 10_000;

export interface StateFault {
  readonly file: StateFile;
  readonly path: string;
  /** The error, e.g. `ENOSPC: no space left on device, write`. */
  readonly reason: string;
}

interface Failing extends StateFault {
  readonly retry: (() => void) | undefined;
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class StateFaults {
  /** Failing operations by path (a path belongs to one kind). */
  private readonly failing = new Map<string, Failing>();
  private readonly failures = new Map<StateFile, number>(STATE_FILES.map((f) => [f, 0]));
  private cancel: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly timers: Timers,
    private readonly retryMs = STATE_RETRY_MS,
  ) {}

  /**
   * Runs `op` (a write or read of `path`); a throw is recorded as a failure of `path` and `retry` (`op` unless
   * given) is tried by the timer until it succeeds or a later attempt on the same path replaces it. Returns
   * whether it worked.
   */
  attempt(file: StateFile, path: string, op: () => void, retry: () => void = op): boolean {
    try {
      op();
    } catch (e) {
      this.fail(file, path, reasonOf(e), retry);
      return false;
    }
    this.clear(path);
    return true;
  }

  /** Records a failure found by other means (a state file that could not be read at start); `retry` optional. */
  fail(file: StateFile, path: string, reason: string, retry?: () => void): void {
    this.failures.set(file, this.failures.get(file)! + 1);
    const before = this.failing.get(path);
    this.failing.set(path, { file, path, reason, retry });
    // Once per change of state (a new failure or a new reason), not per retry.
    if (before?.reason !== reason)
      this.logger.error('state-file-failed', {
        file: path,
        kind: file,
        reason,
        serving: 'unchanged: records computed from the zones and certificates are published',
      });
    this.arm();
  }

  /** `path` works again. */
  clear(path: string): void {
    const f = this.failing.get(path);
    if (!f) return;
    this.failing.delete(path);
    this.logger.info('state-file-recovered', { file: path, kind: f.file });
  }

  /** What fails now (for /healthz). */
  faults(): StateFault[] {
    return [...this.failing.values()].map(({ file, path, reason }) => ({ file, path, reason }));
  }

  /** Failed attempts so far per kind, and whether each kind works now (for /metrics). */
  counts(): { file: StateFile; failures: number; ok: boolean }[] {
    const bad = new Set([...this.failing.values()].map((f) => f.file));
    return STATE_FILES.map((file) => ({ file, failures: this.failures.get(file)!, ok: !bad.has(file) }));
  }

  /** Tries every failing operation that can be tried again. */
  retry(): void {
    for (const f of [...this.failing.values()])
      if (f.retry && this.failing.get(f.path) === f) this.attempt(f.file, f.path, f.retry);
  }

  close(): void {
    this.closed = true;
    this.cancel?.();
    this.cancel = null;
  }

  private arm(): void {
    if (this.cancel || this.closed) return;
    this.cancel = this.timers.after(this.retryMs, () => {
      this.cancel = null;
      this.retry();
      if (this.failing.size > 0) this.arm();
    });
  }
}
