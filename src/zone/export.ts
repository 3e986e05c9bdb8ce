/**
 * Zone -> RFC 1035 master file text: one RR per line, absolute owner names, `owner TTL IN TYPE RDATA`,
 * SOA first, then every RRset in canonical order (RFC 4034 §6.1). Used by `dane-ns zone export`, by the
 * oracle tests (Knot loads exactly this) and by operators migrating out.
 */
import { nameToText } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { T, typeToText } from '../wire/types.js';
import type { RRset, Zone } from './zone.js';

function lines(rs: RRset): string[] {
  const owner = nameToText(rs.owner);
  return rs.rdatas.map((rd) => `${owner}\t${rs.ttl}\tIN\t${typeToText(rs.type)}\t${rdataToText(rs.type, rd)}`);
}

/**
 * @param extra RRsets to print beside the zone's own at their owners (the signer's DNSKEY, NSEC and RRSIG
 *   records for `zone export --signed`).
 */
export function exportZone(zone: Zone, extra: readonly RRset[] = []): string {
  const byOwner = new Map<string, RRset[]>();
  for (const rs of extra) byOwner.set(rs.owner.key, [...(byOwner.get(rs.owner.key) ?? []), rs]);
  const out: string[] = [`; zone ${nameToText(zone.origin)} exported by dane-ns`, `$ORIGIN ${nameToText(zone.origin)}`];
  out.push(...lines(zone.soa));
  for (const node of zone.ordered) {
    const types = [...node.rrsets.keys()].filter((t) => !(node.isApex && t === T.SOA)).sort((a, b) => a - b);
    for (const t of types) {
      out.push(...lines(node.rrsets.get(t)!));
    }
    for (const rs of byOwner.get(node.name.key) ?? []) out.push(...lines(rs));
  }
  return out.join('\n') + '\n';
}
