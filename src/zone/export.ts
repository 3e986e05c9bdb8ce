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

export function exportZone(zone: Zone): string {
  const out: string[] = [`; zone ${nameToText(zone.origin)} exported by dane-ns`, `$ORIGIN ${nameToText(zone.origin)}`];
  out.push(...lines(zone.soa));
  for (const node of zone.ordered) {
    const types = [...node.rrsets.keys()].filter((t) => !(node.isApex && t === T.SOA)).sort((a, b) => a - b);
    for (const t of types) {
      out.push(...lines(node.rrsets.get(t)!));
    }
  }
  return out.join('\n') + '\n';
}
