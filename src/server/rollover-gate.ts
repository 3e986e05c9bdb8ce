/**
 * When the steps of a zone-signing key rollover may happen, counted from the last watched server (the
 * `transfer.notify` targets and `transfer.check` servers, watch.ts) instead of from this server alone: a pure
 * function of (keys, the versions this server published with when each watched server first served them, now).
 * rollover-hold.ts applies what it decides to the key files.
 *
 * A resolver may ask any of the zone's servers, so a key is "published" (RFC 7583 §3.3.1: in every cache that
 * may hold the DNSKEY RRset) only from the moment every watched server serves a version whose DNSKEY RRset has
 * it. The two steps of a pre-publish rollover (RFC 6781 §4.1.1.1, lifecycle.ts) that depend on that:
 *   - the new key starts signing (its Activate) no earlier than that moment + DNSKEY TTL + margin
 *     (RFC 7583 §3.3.1: Ipub = Dprp + TTLkey, the propagation delay Dprp counted from the last server);
 *   - an old key leaves the DNSKEY RRset (its Delete) no earlier than the moment every watched server serves a
 *     version without its signatures + the zone's largest TTL + margin (RFC 7583 §3.3.1: Iret = Dsgn + Dprp +
 *     TTLsig), so that every cached signature it made can still be validated;
 *   - in a KSK or CSK rollover, the new key's DS may go to the parent (CDS/CDNSKEY published, cds.ts) no earlier
 *     than the moment every watched server serves a version whose DNSKEY RRset it signs + DNSKEY TTL + margin
 *     (RFC 7583 §3.3.2: the DS waits for the new key's signed DNSKEY RRset in every cache); it is held by the
 *     key's SyncPublish time (BIND's field for the CDS publication).
 * A step that is due (its time at most AHEAD_MS away) while that is not yet so is postponed: the new key's
 * Activate (and with it the old key's Inactive, which the rollover set to the same moment, and its Delete one
 * largest TTL + margin later), or the old key's Delete. Without the moment (a server lags, or this process has
 * not seen it: after a restart nothing is known) the step moves one full wait past now, and is looked at again
 * then: the safe direction. A step is judged once, when it first comes due: steps at or before `since` (the
 * end of the caller's last judgement, or this process's start) are taken as the key files say. Those were let go
 * before (judging them again could undo them once the versions they counted from are no longer remembered), or
 * came due while no server ran to watch the secondaries.
 *
 * With `keys: csk` the zone-signing keys are the 257 keys; with a KSK and ZSK, the 256 keys.
 */
import { FLAGS_KSK, FLAGS_ZSK } from '../dnssec/keys.js';
import type { StoredZoneKey } from '../dnssec/keyfile.js';
import { keyState, selectKeys, type KeyMode } from '../dnssec/lifecycle.js';

/** A step this far ahead counts as due: the signer reads the keys a moment after the gate. */
export const AHEAD_MS = 1000;

/** A version of the zone this server published (oldest first), and who serves it since when. */
export interface GateVersion {
  readonly serial: number;
  /** Tags of its DNSKEY RRset. */
  readonly dnskey: readonly number[];
  /** Tag of the key that signs its zone data. */
  readonly zoneSigner: number;
  /** Tags of the keys that sign its DNSKEY RRset. */
  readonly dnskeySigners: readonly number[];
  /** When each watched server first served it (or a later version); a server absent from the map does not yet. */
  readonly servedAt: ReadonlyMap<string, number>;
}

export interface GateInput {
  readonly keys: readonly StoredZoneKey[];
  readonly mode: KeyMode;
  /** Seconds: the DNSKEY RRset's TTL, the zone's largest TTL, the zone's margin. */
  readonly timing: { readonly dnskeyTtl: number; readonly maxTtl: number; readonly margin: number };
  /** The watched servers of the zone (`ADDRESS#PORT`). */
  readonly servers: readonly string[];
  readonly versions: readonly GateVersion[];
  /** Steps at or before this (ms) were judged before, or passed before this process started: not judged. */
  readonly since: number;
  readonly now: number;
}

/** A key's new times, and why. */
export interface Postponement {
  readonly key: StoredZoneKey;
  readonly activate?: Date;
  readonly inactive?: Date;
  readonly delete?: Date;
  readonly syncPublish?: Date;
  /** The step that waits: the key starts signing, leaves the DNSKEY RRset, or its DS may go to the parent. */
  readonly step: 'sign' | 'remove' | 'ds';
  /** When it may happen now. */
  readonly at: Date;
  /** The watched servers that do not serve the version the step counts from (empty: they do, the wait runs). */
  readonly lagging: readonly string[];
  /** When every watched server served that version (absent: not yet). */
  readonly servedEverywhereAt?: Date;
}

/** When every server first served `v`, or undefined while one does not. */
function everywhere(v: GateVersion, servers: readonly string[]): number | undefined {
  let last = 0;
  for (const s of servers) {
    const t = v.servedAt.get(s);
    if (t === undefined) return undefined;
    last = Math.max(last, t);
  }
  return last;
}

/** Key files keep whole seconds: a postponed time is rounded up, never down. */
const ceilSecond = (ms: number): Date => new Date(Math.ceil(ms / 1000) * 1000);

/** The moment the step counts from (undefined: not yet), and the servers that lack the version it needs. */
function countFrom(v: GateVersion | undefined, servers: readonly string[]): { at?: number; lagging: string[] } {
  if (!v) return { lagging: [...servers] };
  const at = everywhere(v, servers);
  return { ...(at !== undefined ? { at } : {}), lagging: servers.filter((s) => !v.servedAt.has(s)) };
}

/** The postponements that keep the zone's due rollover steps behind their waits (empty: none is needed). */
export function gateRollover(input: GateInput): Postponement[] {
  const { keys, mode, timing, servers, versions, since, now } = input;
  if (servers.length === 0) return [];
  const flags = mode === 'csk' ? FLAGS_KSK : FLAGS_ZSK;
  const zoneKeys = keys.filter((k) => k.flags === flags);
  const due = (t: Date | undefined): t is Date =>
    t !== undefined && t.getTime() > since && t.getTime() <= now + AHEAD_MS;
  const out = new Map<number, Postponement>();
  const publishWait = (timing.dnskeyTtl + timing.margin) * 1000;
  const retireWait = (timing.maxTtl + timing.margin) * 1000;

  // The new key starts signing: its DNSKEY must have been on every server one DNSKEY TTL + margin before.
  for (const k of zoneKeys) {
    if (!due(k.activate) || keyState(k, new Date(now)) === 'removed' || k.publish.getTime() > now) continue;
    // Only a rollover waits: a key that replaces none (the first keys of a zone) must sign at once.
    const fallback = zoneKeys.some(
      (o) =>
        o !== k &&
        o.activate.getTime() < k.activate.getTime() &&
        o.activate.getTime() <= now &&
        keyState(o, new Date(now)) !== 'removed' &&
        (!o.inactive || o.inactive.getTime() > since),
    );
    if (!fallback) continue;
    const from = countFrom(
      versions.find((v) => v.dnskey.includes(k.tag)),
      servers,
    );
    const need = from.at !== undefined ? from.at + publishWait : now + publishWait;
    if (from.at !== undefined && need <= Math.max(k.activate.getTime(), now)) continue;
    const activate = ceilSecond(need);
    out.set(k.tag, {
      key: k,
      activate,
      step: 'sign',
      at: activate,
      lagging: from.lagging,
      ...(from.at !== undefined ? { servedEverywhereAt: new Date(from.at) } : {}),
    });
    // The keys it replaces keep signing until then, and stay one largest TTL + margin after.
    for (const o of zoneKeys) {
      if (o === k || o.activate.getTime() >= k.activate.getTime() || !o.inactive) continue;
      if (o.inactive.getTime() <= since || o.inactive.getTime() > activate.getTime()) continue;
      const leave = activate.getTime() + retireWait;
      const del = o.delete && o.delete.getTime() > leave ? o.delete : ceilSecond(leave);
      out.set(o.tag, { key: o, inactive: activate, delete: del, step: 'sign', at: activate, lagging: from.lagging });
    }
  }

  // An old key leaves: every server must have served a version without its signatures one largest TTL before.
  for (const o of zoneKeys) {
    if (out.has(o.tag) || !due(o.delete) || !o.inactive || o.inactive.getTime() > now) continue;
    let lastSigned = -1;
    versions.forEach((v, i) => (lastSigned = v.zoneSigner === o.tag ? i : lastSigned));
    const from = countFrom(
      versions.find((v, i) => i > lastSigned && v.zoneSigner !== o.tag),
      servers,
    );
    const need = from.at !== undefined ? from.at + retireWait : now + retireWait;
    if (from.at !== undefined && need <= Math.max(o.delete.getTime(), now)) continue;
    const del = ceilSecond(need);
    out.set(o.tag, {
      key: o,
      delete: del,
      step: 'remove',
      at: del,
      lagging: from.lagging,
      ...(from.at !== undefined ? { servedEverywhereAt: new Date(from.at) } : {}),
    });
  }
  const ds = dsStep(input, publishWait, due);
  if (ds) out.set(ds.key.tag, { ...out.get(ds.key.tag), ...ds });
  return [...out.values()];
}

/** A KSK or CSK rollover's DS step (cds.ts parentKeys: the new key while older signers have no end time yet). */
function dsStep(input: GateInput, publishWait: number, due: (t: Date) => boolean): Postponement | undefined {
  const { keys, mode, servers, versions, now } = input;
  const [fresh, ...older] = selectKeys(keys, mode, new Date(now)).dnskeySigners;
  if (!fresh || !older.some((k) => k.inactive === undefined)) return undefined;
  const dsFrom = new Date(Math.max(fresh.activate.getTime() + publishWait, fresh.syncPublish?.getTime() ?? 0));
  if (!due(dsFrom)) return undefined;
  const from = countFrom(
    versions.find((v) => v.dnskeySigners.includes(fresh.tag)),
    servers,
  );
  const need = from.at !== undefined ? from.at + publishWait : now + publishWait;
  if (from.at !== undefined && need <= Math.max(dsFrom.getTime(), now)) return undefined;
  const syncPublish = ceilSecond(need);
  return {
    key: fresh,
    syncPublish,
    step: 'ds',
    at: syncPublish,
    lagging: from.lagging,
    ...(from.at !== undefined ? { servedEverywhereAt: new Date(from.at) } : {}),
  };
}
