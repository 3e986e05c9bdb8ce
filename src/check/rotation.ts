/**
 * The rollover part of `dane-ns check ZONE`: each TLSA record the server publishes, in words from the server's
 * rollover state (`current`, `next (ready at ...)`, `retiring until ...`, tlsa/labels.ts), and the rotation
 * hazards as warn lines while they last: a cold rollover (senders that cached the previous TLSA set fail with
 * 4.7.323 until it leaves their caches, RFC 7671 §8.1) and a `next:` file that holds the key now in use.
 */
import { labelRecords, rotationWarnings } from '../tlsa/labels.js';
import type { HostRollover } from '../tlsa/rollover.js';
import type { Finding } from './audit.js';

/** The server's rollover state as read from its state directory (never written by `check`). */
export interface RolloverView {
  /** Keyed `<zone>|<host>`, both absolute lower-case names, as the server keeps them. */
  readonly hosts: Readonly<Record<string, HostRollover>>;
  /** The state file, for the messages. */
  readonly file: string;
  /** Why the file could not be used, when it could not. */
  readonly problem?: string;
}

/** The rollover state of a TLSA host, or the finding that says why there is none. */
export function hostRollover(
  view: RolloverView,
  zone: string,
  host: string,
): { state: HostRollover } | { finding: Finding } {
  const state = view.hosts[`${zone.toLowerCase()}|${host.toLowerCase()}`];
  if (state) return { state };
  const why = view.problem ?? `no entry for this host (is ${view.file} the running server's state file?)`;
  return { finding: { level: 'warn', what: `${host} rollover`, detail: `records not labelled: ${why}` } };
}

/** One line per published record of `owner`: what it is there for (a record the state does not know: warn). */
export function recordFindings(
  state: HostRollover,
  owner: string,
  published: readonly string[],
  nowMs: number,
): Finding[] {
  return labelRecords(published, state, Math.floor(nowMs / 1000)).map((l) => ({
    level: l.label.startsWith('not in') ? 'warn' : 'ok',
    what: `${owner} TLSA ${l.rdata}`,
    detail: l.label,
  }));
}

/** The hazards of a host now, as warn lines. */
export function hazardFindings(state: HostRollover, host: string, nowMs: number): Finding[] {
  return rotationWarnings(state, Math.floor(nowMs / 1000)).map((w) => ({
    level: 'warn',
    what: `${host} ${w.event === 'tlsa-cold-rollover' ? 'cold rollover' : 'next key'}`,
    detail: w.message,
  }));
}
