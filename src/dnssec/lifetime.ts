/**
 * Rollovers by lifetime (`dnssec.zsk-lifetime`, `dnssec.ksk-lifetime`): whether a zone's key has been in use
 * long enough that a rollover starts now, and when that happens next. A pure function of (keys, mode,
 * lifetimes, now); the running server acts on it (server/key-lifetime.ts) through the same path as
 * `dane-ns keys rollover` (keyroll.ts). RFC 6781 §4.1 (key rollovers) and RFC 7583 §3 (their timing); a key's
 * age is counted from its Activate time, as Knot counts `zsk-lifetime` and `ksk-lifetime`.
 *
 * The key files are the only state: a rollover of a role is under way while a key of that role waits to start
 * signing (pending or published), or, for a KSK or CSK, while more than one key signs the DNSKEY RRset (the
 * old one until the parent publishes the new DS). No rollover starts then, so a restart in the middle of one
 * does not start a second, and two rollovers of one role never overlap.
 */
import { FLAGS_KSK, FLAGS_ZSK } from './keys.js';
import type { StoredZoneKey } from './keyfile.js';
import { keyState, selectKeys, type KeyMode, type RolloverKind } from './lifecycle.js';

/** Seconds a key signs before it is rolled; 0: only by hand (`keys rollover`). */
export interface KeyLifetimes {
  readonly zsk: number;
  /** The KSK's, or with `keys: csk` the CSK's (as Knot's single-type signing follows ksk-lifetime). */
  readonly ksk: number;
}

/** A rollover the lifetime calls for now. */
export interface LifetimeRollover {
  readonly kind: RolloverKind;
  /** The key whose lifetime is over. */
  readonly key: StoredZoneKey;
  /** When its lifetime ended (its Activate + the lifetime). */
  readonly due: Date;
}

export interface LifetimeDecision {
  /** The rollovers to start now (at most one per role). */
  readonly start: readonly LifetimeRollover[];
  /** The next time (after `now`) a lifetime ends and a rollover would start; undefined when none is planned. */
  readonly next: Date | undefined;
}

/** The rollover kinds of a mode, each with its key flags and lifetime. */
function roles(mode: KeyMode, life: KeyLifetimes): { kind: RolloverKind; flags: number; lifetime: number }[] {
  if (mode === 'csk') return [{ kind: 'csk', flags: FLAGS_KSK, lifetime: life.ksk }];
  return [
    { kind: 'zsk', flags: FLAGS_ZSK, lifetime: life.zsk },
    { kind: 'ksk', flags: FLAGS_KSK, lifetime: life.ksk },
  ];
}

/** Whether a rollover of the role (key flags) is under way at `now` (see the top of the file). */
function underWay(keys: readonly StoredZoneKey[], flags: number, signers: number, now: Date): boolean {
  if (keys.some((k) => k.flags === flags && ['pending', 'published'].includes(keyState(k, now)))) return true;
  return flags === FLAGS_KSK && signers > 1;
}

/**
 * Which rollovers start now because the newest active key of their role has signed for its lifetime, and when
 * the next one would. A role whose lifetime is 0, that has no active key, or whose rollover is under way starts
 * none (and, under way, plans none: the rollover's own key events come first).
 */
export function lifetimeRollovers(
  keys: readonly StoredZoneKey[],
  mode: KeyMode,
  life: KeyLifetimes,
  now: Date,
): LifetimeDecision {
  const used = mode === 'csk' ? keys.filter((k) => k.flags === FLAGS_KSK) : keys;
  const sel = selectKeys(used, mode, now);
  const start: LifetimeRollover[] = [];
  let next: number | undefined;
  for (const r of roles(mode, life)) {
    if (r.lifetime <= 0) continue;
    const current = r.kind === 'zsk' ? sel.zsk : sel.ksk;
    if (!current || underWay(used, r.flags, sel.dnskeySigners.length, now)) continue;
    const due = current.activate.getTime() + r.lifetime * 1000;
    if (due <= now.getTime()) start.push({ kind: r.kind, key: current, due: new Date(due) });
    else if (next === undefined || due < next) next = due;
  }
  return { start, next: next === undefined ? undefined : new Date(next) };
}
