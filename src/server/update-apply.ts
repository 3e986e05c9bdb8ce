/**
 * The update section of a dynamic update (RFC 2136 §2.5, §3.4): the prescan (§3.4.1: NOTZONE for an owner
 * outside the zone, FORMERR for a malformed record), the permission check of the zone's `update:` policy
 * (§3.3, zone/updatepolicy.ts) with the caps per RRset, and the four kinds of change (§3.4.2: add to an RRset,
 * delete an RRset, delete all RRsets at a name, delete one RR) applied to the zone's dynamic records. Pure: the
 * caller writes the result (atomically, §3.7) or nothing.
 */
import type { RR } from '../wire/message.js';
import { isSubdomain, nameToText, type Name } from '../wire/name.js';
import { canonicalRdata } from '../wire/rdata.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, RCODE, T, typeToText } from '../wire/types.js';
import { mayUpdate } from '../zone/updatepolicy.js';
import type { Zone } from '../zone/zone.js';

/** One dynamic record in wire form while an update is applied. */
export interface WorkRecord {
  readonly owner: Name;
  readonly type: number;
  readonly ttl: number;
  readonly rdata: Uint8Array;
}

/** Bounds on what an update may leave behind, per RRset. */
export interface UpdateLimits {
  /** Records per RRset (an ACME client has one or two challenges per name at a time). */
  readonly maxRecords: number;
  readonly minTtl: number;
  readonly maxTtl: number;
}

export const UPDATE_LIMITS: UpdateLimits = Object.freeze({ maxRecords: 16, minTtl: 0, maxTtl: 86400 });

/** Types that cannot be the type of an added or deleted record (§3.4.1.3: meta types, and ANY but for deletion). */
const META = new Set<number>([T.ANY, T.AXFR, T.IXFR, T.OPT, T.TSIG, T.TKEY, 253, 254, 0]);

/** §3.4.1: NOERROR, or NOTZONE / FORMERR for the first record that is outside the zone or malformed. */
export function prescan(zone: Zone, updates: readonly RR[]): number {
  for (const rr of updates) {
    if (!isSubdomain(rr.name, zone.origin)) return RCODE.NOTZONE;
    if (rr.class === CLASS_IN) {
      if (META.has(rr.type)) return RCODE.FORMERR;
    } else if (rr.class === CLASS_ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0 || (META.has(rr.type) && rr.type !== T.ANY)) return RCODE.FORMERR;
    } else if (rr.class === CLASS_NONE) {
      if (rr.ttl !== 0 || META.has(rr.type)) return RCODE.FORMERR;
    } else return RCODE.FORMERR;
  }
  return RCODE.NOERROR;
}

/** §3.3: why key `key` may not make these changes (the first refused one), or null when it may make them all. */
export function refusal(zone: Zone, key: string, updates: readonly RR[], limits = UPDATE_LIMITS): string | null {
  for (const rr of updates) {
    const what = `${nameToText(rr.name)} ${rr.type === T.ANY ? 'ANY' : typeToText(rr.type)}`;
    if (!mayUpdate(zone.update, key, rr.name, rr.type)) return `${what}: not allowed to key ${key} by update:`;
    if (rr.class === CLASS_IN && (rr.ttl < limits.minTtl || rr.ttl > limits.maxTtl))
      return `${what}: TTL ${rr.ttl} outside ${limits.minTtl}..${limits.maxTtl}`;
  }
  return null;
}

const sameRdata = (type: number, a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.compare(canonicalRdata(type, a), canonicalRdata(type, b)) === 0;

/** §3.4.2: the records after the changes, in order; the caller has checked prescan and permission. */
export function applyUpdates(
  zone: Zone,
  key: string,
  records: readonly WorkRecord[],
  updates: readonly RR[],
): WorkRecord[] {
  let out = [...records];
  const at = (r: WorkRecord, rr: RR): boolean => r.owner.key === rr.name.key;
  for (const rr of updates) {
    if (rr.class === CLASS_IN) {
      // §3.4.2.2: a record already there is not added twice; the RRset keeps one TTL, the newest (RFC 2181 §5.2).
      out = out.map((r) => (at(r, rr) && r.type === rr.type ? { ...r, ttl: rr.ttl } : r));
      if (!out.some((r) => at(r, rr) && r.type === rr.type && sameRdata(rr.type, r.rdata, rr.rdata)))
        out.push({ owner: rr.name, type: rr.type, ttl: rr.ttl, rdata: rr.rdata });
    } else if (rr.class === CLASS_ANY && rr.type === T.ANY) {
      // §3.4.2.3: every RRset at the name, of those this key may change (the rest is not the update's).
      out = out.filter((r) => !(at(r, rr) && mayUpdate(zone.update, key, r.owner, r.type)));
    } else if (rr.class === CLASS_ANY) {
      out = out.filter((r) => !(at(r, rr) && r.type === rr.type));
    } else {
      // §3.4.2.4: class NONE deletes the one matching record.
      out = out.filter((r) => !(at(r, rr) && r.type === rr.type && sameRdata(rr.type, r.rdata, rr.rdata)));
    }
  }
  return out;
}

/** The first RRset with more records than the limit allows, as text, or null. */
export function oversized(records: readonly WorkRecord[], limits = UPDATE_LIMITS): string | null {
  const counts = new Map<string, number>();
  for (const r of records) {
    const k = `${nameToText(r.owner)} ${typeToText(r.type)}`;
    const n = (counts.get(k) ?? 0) + 1;
    if (n > limits.maxRecords) return `${k}: more than ${limits.maxRecords} records`;
    counts.set(k, n);
  }
  return null;
}
