/**
 * Which zones the catalog zone (RFC 9432) lists: every zone loaded with a `transfer:` section, and for the grace
 * delay (`serve --catalog-grace`) every zone that was listed and is not any more. A consumer deletes a member
 * zone as soon as it leaves the catalog (RFC 9432 §5.3), on every secondary at once: the grace keeps a mistyped
 * `mv` or a half-edited file from deleting a production zone everywhere. A zone that comes back within the grace
 * never left the catalog (and keeps its member ID, which depends on its name only). Pure: the caller gives the
 * time and keeps the state (state/catalog.ts) across restarts.
 */
import type { CatalogState } from '../state/catalog.js';

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
