/**
 * Test hook for crash tests: DANE_NS_FAULT_AFTER_WRITES=N makes the process kill itself with SIGKILL right after
 * its Nth completed atomic write (state/atomic.ts), so a test can stop dane-ns at every single file write of key
 * generation or of `dane-ns keys rollover` instead of by timing. N = 0 kills never but still reports the writes.
 * While the variable is set, every atomic write is reported on stderr ("dane-ns fault hook: write N: PATH"), so a
 * test can count the writes of an operation. Unset (the normal case) it does nothing. Not for production use.
 */
import { writeSync } from 'node:fs';

/** The environment variable; read once, at the first write. */
export const FAULT_ENV = 'DANE_NS_FAULT_AFTER_WRITES';

let limit: number | null | undefined;
let count = 0;

function readLimit(): number | null {
  const v = process.env[FAULT_ENV];
  if (v === undefined || v === '') return null;
  // A value that is not a whole number is a mistake in a test: fail loudly rather than run without the fault.
  if (!/^\d+$/.test(v)) throw new Error(`${FAULT_ENV}=${v}: not a whole number of writes`);
  return Number(v);
}

/** Called by writeFileAtomic after each rename is complete (and its directory synced). */
export function afterAtomicWrite(path: string): void {
  if (limit === undefined) limit = readLimit();
  if (limit === null) return;
  count++;
  // Synchronous: the line must be out before the process dies.
  writeSync(2, `dane-ns fault hook: write ${count}: ${path}\n`);
  if (count === limit) process.kill(process.pid, 'SIGKILL');
}
