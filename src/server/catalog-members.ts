/**
 * Which zones the catalog zone (RFC 9432) lists: every zone loaded with a `transfer:` section, and for the grace
 * delay (`serve --catalog-grace`) every zone that was listed and is not any more. A consumer deletes a member
 * zone as soon as it leaves the catalog (RFC 9432 §5.3), on every secondary at once: the grace keeps a mistyped
 * `mv` or a half-edited file from deleting a production zone everywhere. A zone that comes back within the grace
 * never left the catalog (and keeps its member ID, which depends on its name only). Pure: the caller gives the
 * time and keeps the state (state/catalog.ts) across restarts, with the `transfer:` of the zones without a file
 * in the form it is kept in (keptOf, transferOf).
 */
import type { CatalogState, KeptTransfer } from '../state/catalog.js';
import { addressBytes, parsePrefix } from '../zone/prefix.js';
import type { NotifyTarget, TransferAllow, TransferSettings } from '../zone/settings.js';

export interface MembersUpdate {
  /** The members to list now, sorted. */
  readonly listed: readonly string[];
  /** The state to keep (the same object as before when nothing changed). */
  readonly state: CatalogState;
  /** When (ms) the next lingering member's grace ends; undefined when none lingers. */
  readonly nextExpiry: number | undefined;
}

/**
 * The members after a (re)load: `current` are the zones loaded with `transfer:` now (lower-case absolute names),
 * `before` the state kept, `graceMs` how long a vanished member stays listed, `now` the time in ms.
 */
export function updateMembers(
  before: CatalogState,
  current: ReadonlySet<string>,
  graceMs: number,
  now: number,
): MembersUpdate {
  const removed: Record<string, number> = {};
  const listed = new Set(current);
  for (const m of before.members) {
    if (current.has(m)) continue;
    const since = before.removed[m] ?? now;
    if (now < since + graceMs) {
      listed.add(m);
      removed[m] = since;
    }
  }
  const members = [...listed].sort();
  const same =
    members.length === before.members.length &&
    members.every((m, i) => m === before.members[i]) &&
    Object.keys(removed).length === Object.keys(before.removed).length &&
    Object.entries(removed).every(([k, v]) => before.removed[k] === v);
  const ends = Object.values(removed).map((since) => since + graceMs);
  return {
    listed: members,
    state: same ? before : { members, removed },
    nextExpiry: ends.length > 0 ? Math.min(...ends) : undefined,
  };
}

/** A `transfer:` as catalog.json keeps it for a zone without its file (`until`: dropped, kept until then). */
export function keptOf(t: TransferSettings, until?: number): KeptTransfer {
  const allow = t.allow.map((a) => ({ key: a.key ?? null, address: a.address?.text ?? null }));
  const notify = t.notify.map((n) => ({ address: n.address, port: n.port, key: n.key ?? null }));
  return until === undefined ? { allow, notify } : { allow, notify, until };
}

/** The settings of a kept `transfer:`; an entry that no longer reads (an edited file) is left out. */
export function transferOf(k: KeptTransfer): TransferSettings {
  const allow: TransferAllow[] = [];
  for (const a of k.allow) {
    try {
      const address = a.address === null ? undefined : parsePrefix(a.address);
      if (a.key !== null || address) allow.push({ key: a.key ?? undefined, address, line: 0 });
    } catch {
      // not a prefix: allows nothing
    }
  }
  const notify: NotifyTarget[] = k.notify
    .filter((n) => addressBytes(n.address) && Number.isInteger(n.port) && n.port >= 1 && n.port <= 65535)
    .map((n) => ({ address: n.address, port: n.port, key: n.key ?? undefined, line: 0 }));
  return { allow, notify };
}
