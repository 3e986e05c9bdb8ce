/**
 * Key timing: which keys are in the DNSKEY RRset and which sign, at a given time, and how a rollover sets the
 * times so that no validating resolver ever holds a signature whose key it cannot find (RFC 6781 §4.1, RFC 7583).
 * Pure functions of (keys, time); keystore.ts does the file work.
 *
 * A key's life follows BIND's timing metadata (the key files carry it):
 *
 *   pending    now < Publish                          not in the DNSKEY RRset, signs nothing
 *   published  Publish <= now < Activate              in the DNSKEY RRset, signs nothing (pre-published)
 *   active     Activate <= now < Inactive             in the DNSKEY RRset, signs
 *   retired    Inactive <= now < Delete               in the DNSKEY RRset, signs nothing (caches may still hold
 *                                                     signatures it made)
 *   removed    Delete <= now                          gone
 *
 * Who signs what: every active 257 key signs the DNSKEY RRset (two during a KSK rollover, so that either DS at
 * the parent validates); the newest active 256 key (or, with `keys: csk`, the newest active 257 key) signs
 * everything else. "Newest" is the latest Activate, then the latest Created, then the highest tag.
 *
 * Rollovers (the method BIND and Knot use by default for each role):
 *   ZSK  pre-publish: the new ZSK is published now and signs from now + DNSKEY TTL + margin (every resolver
 *        that has the DNSKEY RRset then has the new key); the old ZSK stops signing then and is removed after
 *        the largest TTL of the zone + margin (the last signatures it made have left every cache).
 *   KSK  double-KSK: the new KSK is published and signs the DNSKEY RRset now, next to the old one. Its DS may go
 *        to the parent from now + DNSKEY TTL + margin. Once the parent publishes it instead of the old DS, the
 *        old KSK leaves after the parent's DS TTL + margin (resolvers that cached the old DS need it until then).
 *   CSK  both at once: published now, signs from now + DNSKEY TTL + margin; its DS may go to the parent one
 *        DNSKEY TTL + margin later (once every cached DNSKEY RRset carries its signature). The old CSK keeps
 *        signing the DNSKEY RRset until the DS is replaced, as for a KSK, and stays until its last zone
 *        signatures have left the caches.
 * The margin plays the role of BIND's publish-safety and retire-safety (one hour by default).
 */
import { FLAGS_KSK, FLAGS_ZSK, wholeSeconds, type KeyRole } from './keys.js';
import type { StoredZoneKey } from './keyfile.js';

export type KeyMode = 'ksk-zsk' | 'csk';

type KeyState = 'pending' | 'published' | 'active' | 'retired' | 'removed';

/** The timing fields of a key (a StoredZoneKey has them all). */
interface KeyTiming {
  readonly created: Date;
  readonly publish: Date;
  readonly activate: Date;
  readonly inactive?: Date | undefined;
  readonly delete?: Date | undefined;
}

const before = (t: Date | undefined, now: number): boolean => t !== undefined && t.getTime() <= now;

/** Where a key is in its life at `now` (see the table at the top). */
export function keyState(k: KeyTiming, now: Date): KeyState {
  const t = now.getTime();
  if (before(k.delete, t)) return 'removed';
  if (k.publish.getTime() > t) return 'pending';
  if (before(k.inactive, t)) return 'retired';
  return k.activate.getTime() <= t ? 'active' : 'published';
}

/** `a` is newer than `b`: later Activate, then later Created, then higher tag. */
function newer(a: StoredZoneKey, b: StoredZoneKey): boolean {
  if (a.activate.getTime() !== b.activate.getTime()) return a.activate.getTime() > b.activate.getTime();
  if (a.created.getTime() !== b.created.getTime()) return a.created.getTime() > b.created.getTime();
  return a.tag > b.tag;
}

interface KeySelection {
  /** The DNSKEY RRset: every published, active or retired key of the mode (flags 257 first, then by tag). */
  readonly published: readonly StoredZoneKey[];
  /** Sign the DNSKEY RRset: every active 257 key, newest first. */
  readonly dnskeySigners: readonly StoredZoneKey[];
  /** The newest active 257 key. */
  readonly ksk: StoredZoneKey | undefined;
  /** Signs every other RRset: the newest active 256 key, or with `keys: csk` the newest active 257 key. */
  readonly zsk: StoredZoneKey | undefined;
  /** The first timing event after `now` of a key the mode uses: the set changes then. */
  readonly nextEvent: Date | undefined;
}

/** The keys the mode uses: with `keys: csk`, 256 keys are ignored. */
const usedBy = (mode: KeyMode) => (k: StoredZoneKey) => mode === 'ksk-zsk' || k.flags === FLAGS_KSK;

/** Which keys are published and which sign at `now`. */
export function selectKeys(keys: readonly StoredZoneKey[], mode: KeyMode, now: Date): KeySelection {
  const t = now.getTime();
  const used = keys.filter(usedBy(mode));
  const published: StoredZoneKey[] = [];
  const signers: StoredZoneKey[] = [];
  let zsk: StoredZoneKey | undefined;
  let nextEvent: number | undefined;
  for (const k of used) {
    for (const e of [k.publish, k.activate, k.inactive, k.delete])
      if (e && e.getTime() > t && (nextEvent === undefined || e.getTime() < nextEvent)) nextEvent = e.getTime();
    const s = keyState(k, now);
    if (s === 'pending' || s === 'removed') continue;
    published.push(k);
    if (s !== 'active') continue;
    if (k.flags === FLAGS_KSK) signers.push(k);
    if (k.flags === (mode === 'csk' ? FLAGS_KSK : FLAGS_ZSK) && (!zsk || newer(k, zsk))) zsk = k;
  }
  published.sort((a, b) => b.flags - a.flags || a.tag - b.tag);
  signers.sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  return {
    published,
    dnskeySigners: signers,
    ksk: signers[0],
    zsk,
    nextEvent: nextEvent === undefined ? undefined : new Date(nextEvent),
  };
}

/** The TTLs and safety margins a rollover is timed by, in seconds. */
export interface RolloverTiming {
  /** TTL of the DNSKEY RRset (the SOA TTL). */
  readonly dnskeyTtl: number;
  /** Largest TTL of any signed RRset of the zone (its RRSIGs are cached that long). */
  readonly maxTtl: number;
  /** Added to every wait (BIND's publish-safety / retire-safety). */
  readonly margin: number;
  /** TTL of the DS RRset at the parent (only for the end of a KSK or CSK rollover). */
  readonly dsTtl: number;
}

export type RolloverKind = 'zsk' | 'ksk' | 'csk';

/** A key's timing as a rollover leaves it. */
export type Retirement = { readonly key: StoredZoneKey; readonly inactive: Date; readonly delete: Date };

export interface RolloverPlan {
  readonly kind: RolloverKind;
  /** The new key: its role, and when it is published and starts signing. */
  readonly create: { readonly role: KeyRole; readonly publish: Date; readonly activate: Date };
  /** Old keys that get an Inactive and a Delete time now (the old ZSK; KSKs wait for the DS). */
  readonly retire: readonly Retirement[];
  /** KSK and CSK: from when the new key's DS may replace the old one at the parent (every cached DNSKEY RRset is signed by it). */
  readonly dsFrom?: Date;
}

type PlanResult<T> = { ok: true; plan: T } | { ok: false; error: string };

const addSeconds = (t: Date, s: number): Date => new Date(t.getTime() + s * 1000);
/** A key time as messages show it: ISO 8601 in whole seconds (the key files keep seconds). */
export const iso = (t: Date): string => t.toISOString().replace(/\.\d+Z$/, 'Z');

/** The rollover a zone's mode allows: ZSK or KSK with separate keys, CSK with one. */
function rolloverKinds(mode: KeyMode): readonly RolloverKind[] {
  return mode === 'csk' ? ['csk'] : ['zsk', 'ksk'];
}

/**
 * Plans the start of a rollover at `now`. Refuses (one line saying why) when the mode has no such rollover,
 * when the zone has no active key of the role, or when a rollover of that role is still under way.
 */
export function planRollover(
  keys: readonly StoredZoneKey[],
  mode: KeyMode,
  kind: RolloverKind,
  timing: RolloverTiming,
  now: Date,
): PlanResult<RolloverPlan> {
  if (!rolloverKinds(mode).includes(kind))
    return {
      ok: false,
      error:
        mode === 'csk'
          ? `the zone uses one key (keys: csk): roll it as a CSK`
          : `the zone uses a KSK and a ZSK: roll one of them, not a CSK`,
    };
  const t = wholeSeconds(now);
  const sel = selectKeys(keys, mode, t);
  const flags = kind === 'zsk' ? FLAGS_ZSK : FLAGS_KSK;
  const role = kind === 'zsk' ? 'ZSK' : kind.toUpperCase();
  const current = kind === 'zsk' ? sel.zsk : sel.ksk;
  if (!current) return { ok: false, error: `no active ${role} to roll` };
  const waiting = keys
    .filter(usedBy(mode))
    .find((k) => k.flags === flags && ['pending', 'published'].includes(keyState(k, t)));
  if (waiting)
    return {
      ok: false,
      error: `a ${role} rollover is under way: ${role} ${waiting.tag} starts signing at ${iso(waiting.activate)}`,
    };
  if (kind !== 'zsk' && sel.dnskeySigners.length > 1)
    return {
      ok: false,
      error:
        `a ${role} rollover is under way: ${sel.dnskeySigners.map((k) => k.tag).join(' and ')} both sign the DNSKEY RRset. ` +
        `Once the parent publishes the DS of ${sel.ksk!.tag} only, run: dane-ns keys rollover ZONE --ds-published`,
    };

  const prepublished = addSeconds(t, timing.dnskeyTtl + timing.margin);
  if (kind === 'ksk')
    return {
      ok: true,
      plan: { kind, create: { role: 'ksk', publish: t, activate: t }, retire: [], dsFrom: prepublished },
    };
  // A CSK signs the DNSKEY RRset only once active: its DS waits until that signed RRset is in every cache.
  if (kind === 'csk')
    return {
      ok: true,
      plan: {
        kind,
        create: { role: 'csk', publish: t, activate: prepublished },
        retire: [],
        dsFrom: addSeconds(prepublished, timing.dnskeyTtl + timing.margin),
      },
    };

  // ZSK: every active ZSK stops when the new one starts, and leaves once its last signatures have expired from caches.
  const leave = addSeconds(prepublished, timing.maxTtl + timing.margin);
  const retire: Retirement[] = [];
  for (const k of keys) {
    if (k.flags !== FLAGS_ZSK || keyState(k, t) !== 'active') continue;
    if (k.inactive && k.inactive.getTime() < prepublished.getTime())
      return {
        ok: false,
        error: `ZSK ${k.tag} stops signing at ${iso(k.inactive)}, before a new ZSK could start (${iso(prepublished)}); remove its Inactive time first`,
      };
    retire.push({
      key: k,
      inactive: prepublished,
      delete: k.delete && k.delete.getTime() > leave.getTime() ? k.delete : leave,
    });
  }
  return { ok: true, plan: { kind, create: { role: 'zsk', publish: t, activate: prepublished }, retire } };
}

export interface DsPublishedPlan {
  /** The old KSKs (or CSKs): they stop signing and leave together. */
  readonly retire: readonly Retirement[];
  /** The key whose DS the parent now publishes. */
  readonly current: StoredZoneKey;
  /** Set when the DS went up before the new key's DNSKEY could be in every cache. */
  readonly warning?: string;
}

/**
 * The end of a KSK or CSK rollover: the operator says the parent now publishes the DS of the newest key
 * instead of the old one(s). The old keys keep signing the DNSKEY RRset until resolvers that cached the old DS
 * have let it go (DS TTL + margin), and a CSK also until its last zone signatures have left the caches.
 */
export function planDsPublished(
  keys: readonly StoredZoneKey[],
  mode: KeyMode,
  timing: RolloverTiming,
  now: Date,
): PlanResult<DsPublishedPlan> {
  const t = wholeSeconds(now);
  const sel = selectKeys(keys, mode, t);
  const role = mode === 'csk' ? 'CSK' : 'KSK';
  if (sel.dnskeySigners.length < 2) {
    const waiting = keys
      .filter(usedBy(mode))
      .find((k) => k.flags === FLAGS_KSK && ['pending', 'published'].includes(keyState(k, t)));
    if (waiting)
      return {
        ok: false,
        error: `the new ${role} ${waiting.tag} signs from ${iso(waiting.activate)}; give its DS to the parent after that, then run this again`,
      };
    return {
      ok: false,
      error: `no ${role} rollover is under way (one active ${role}${sel.ksk ? `, ${sel.ksk.tag}` : ''}); start one with: dane-ns keys rollover ZONE${mode === 'csk' ? '' : ' --ksk'}`,
    };
  }
  const current = sel.ksk!;
  // Every cached DNSKEY RRset must carry the new key's signature before resolvers see only its DS.
  let ready = addSeconds(current.activate, timing.dnskeyTtl + timing.margin);
  // A DS step the running server postponed for lagging watched servers (SyncPublish, server/rollover-hold.ts).
  if (current.syncPublish && current.syncPublish.getTime() > ready.getTime()) ready = current.syncPublish;
  let leave = addSeconds(t, timing.dsTtl + timing.margin);
  if (mode === 'csk') {
    const lastSigs = addSeconds(current.activate, timing.maxTtl + timing.margin);
    if (lastSigs.getTime() > leave.getTime()) leave = lastSigs;
  }
  const retire = sel.dnskeySigners.slice(1).map((key) => ({ key, inactive: leave, delete: leave }));
  const warning =
    t.getTime() < ready.getTime()
      ? `the DS of ${current.tag} went to the parent before ${iso(ready)}: resolvers that cached the DNSKEY RRset without it may fail to validate the zone until then`
      : undefined;
  return { ok: true, plan: { retire, current, ...(warning ? { warning } : {}) } };
}
