/**
 * The prerequisite section of a dynamic update (RFC 2136 §2.4, §3.2), evaluated against the zone as served:
 * RRset exists (value independent: class ANY, §2.4.1; value dependent: the zone's class, §2.4.2), RRset does not
 * exist (class NONE, §2.4.3), name is in use (ANY/ANY, §2.4.4), name is not in use (NONE/ANY, §2.4.5). The
 * first failure decides the rcode (§3.2.1-3.2.5); an owner outside the zone is NOTZONE.
 */
import type { RR } from '../wire/message.js';
import { isSubdomain } from '../wire/name.js';
import { canonicalRdata } from '../wire/rdata.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, RCODE, T } from '../wire/types.js';
import type { Zone } from '../zone/zone.js';

/** NOERROR when every prerequisite holds, else the rcode of the first that does not (RFC 2136 §3.2). */
export function checkPrerequisites(zone: Zone, prereqs: readonly RR[]): number {
  /** §3.2.3: value-dependent prerequisites are gathered per RRset and compared whole. */
  const wanted = new Map<string, { rr: RR; rdatas: Uint8Array[] }>();
  for (const rr of prereqs) {
    // §3.2.1: TTL is zero in every prerequisite.
    if (rr.ttl !== 0) return RCODE.FORMERR;
    if (!isSubdomain(rr.name, zone.origin)) return RCODE.NOTZONE;
    const node = zone.nodes.get(rr.name.key);
    const inUse = node !== undefined && node.rrsets.size > 0;
    if (rr.class === CLASS_ANY || rr.class === CLASS_NONE) {
      if (rr.rdata.length !== 0) return RCODE.FORMERR;
      const exists = rr.type === T.ANY ? inUse : node?.rrsets.has(rr.type) === true;
      if (rr.class === CLASS_ANY && !exists) return rr.type === T.ANY ? RCODE.NXDOMAIN : RCODE.NXRRSET;
      if (rr.class === CLASS_NONE && exists) return rr.type === T.ANY ? RCODE.YXDOMAIN : RCODE.YXRRSET;
    } else if (rr.class === CLASS_IN) {
      if (rr.type === T.ANY) return RCODE.FORMERR;
      const key = `${rr.name.key}/${rr.type}`;
      const w = wanted.get(key);
      if (w) w.rdatas.push(rr.rdata);
      else wanted.set(key, { rr, rdatas: [rr.rdata] });
    } else return RCODE.FORMERR;
  }
  for (const { rr, rdatas } of wanted.values()) {
    const have = zone.nodes.get(rr.name.key)?.rrsets.get(rr.type);
    if (!have || !sameSet(rr.type, have.rdatas, rdatas)) return RCODE.NXRRSET;
  }
  return RCODE.NOERROR;
}

/** Whether two lists of rdata hold the same records (names compared without case, RFC 4034 §6.2; duplicates once). */
export function sameSet(type: number, a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  const key = (r: Uint8Array): string => Buffer.from(canonicalRdata(type, r)).toString('hex');
  const sa = new Set(a.map(key));
  const sb = new Set(b.map(key));
  if (sa.size !== sb.size) return false;
  for (const k of sa) if (!sb.has(k)) return false;
  return true;
}
