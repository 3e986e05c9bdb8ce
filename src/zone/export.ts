/**
 * Zone -> RFC 1035 master file text: one RR per line, absolute owner names, `owner TTL IN TYPE RDATA`,
 * SOA first, then every RRset in canonical order (RFC 4034 §6.1). Used by `dane-ns zone export`, by the
 * oracle tests (Knot loads exactly this), by operators migrating out, and (the same RRsets) by AXFR.
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
 * Every RRset of the zone in export order: the SOA first, then each owner in canonical order with its types in
 * numeric order and then the `extra` RRsets at that owner. The one enumeration of a zone's content, shared by
 * `zone export` and AXFR (RFC 5936 §2.2), so that a secondary receives exactly what `zone export` prints.
 * @param extra RRsets to put beside the zone's own at their owners (the signer's DNSKEY, NSEC and RRSIG
 *   records for `zone export --signed` and for transfers of a signed zone).
 */
export function* exportRRsets(zone: Zone, extra: Iterable<RRset> = []): Generator<RRset> {
  const byOwner = new Map<string, RRset[]>();
  for (const rs of extra) {
    const list = byOwner.get(rs.owner.key);
    if (list) list.push(rs);
    else byOwner.set(rs.owner.key, [rs]);
  }
  yield zone.soa;
  for (const node of zone.ordered) {
    const types = [...node.rrsets.keys()].filter((t) => !(node.isApex && t === T.SOA)).sort((a, b) => a - b);
    for (const t of types) yield node.rrsets.get(t)!;
    yield* byOwner.get(node.name.key) ?? [];
  }
}

/** The zone as master file text (see exportRRsets for the order and `extra`). */
export function exportZone(zone: Zone, extra: Iterable<RRset> = []): string {
  const out: string[] = [`; zone ${nameToText(zone.origin)} exported by dane-ns`, `$ORIGIN ${nameToText(zone.origin)}`];
  for (const rs of exportRRsets(zone, extra)) out.push(...lines(rs));
  return out.join('\n') + '\n';
}
