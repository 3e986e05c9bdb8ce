/**
 * Zone -> RFC 1035 master file text: one RR per line, absolute owner names, `owner TTL IN TYPE RDATA`,
 * SOA first, then every RRset in canonical order (RFC 4034 §6.1). Used by `dane-ns zone export`, by the
 * oracle tests (Knot loads exactly this), by operators migrating out, and (the same RRsets) by AXFR. RRsets
 * written by dynamic update (RFC 2136) are preceded by a comment line saying so.
 */
import { nameToText } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { T, typeToText } from '../wire/types.js';
import type { RRset, Zone, ZoneNode } from './zone.js';
import { grantOf } from './updatepolicy.js';

/**
 * RRsets to put beside the zone's own: a list (grouped by owner before the first RRset is given), or the
 * RRsets at one node, asked for node by node as the export goes (a signed zone's addedAt: nothing gathered up
 * front, so a transfer of a large zone starts at once and holds one owner's RRSIG RRsets at a time).
 */
export type Extra = Iterable<RRset> | ((node: ZoneNode) => Iterable<RRset>);

function lines(rs: RRset): string[] {
  const owner = nameToText(rs.owner);
  return rs.rdatas.map((rd) => `${owner}\t${rs.ttl}\tIN\t${typeToText(rs.type)}\t${rdataToText(rs.type, rd)}`);
}

/**
 * Every RRset of the zone in export order: the SOA first, then each owner in canonical order with its types in
 * numeric order and then the `extra` RRsets at that owner. The one enumeration of a zone's content, shared by
 * `zone export` and AXFR (RFC 5936 §2.2), so that a secondary receives exactly what `zone export` prints.
 * @param extra RRsets to put beside the zone's own at their owners (the signer's DNSKEY, NSEC and RRSIG
 *   records for `zone export --signed` as a list, for transfers and the IXFR journal node by node).
 */
export function* exportRRsets(zone: Zone, extra: Extra = []): Generator<RRset> {
  const at = typeof extra === 'function' ? extra : byOwner(extra);
  yield zone.soa;
  for (const node of zone.ordered) yield* nodeRRsets(node, at);
}

/** The RRsets exportRRsets gives at one owner: its own (the apex SOA apart) in type order, then `at`'s. */
export function* nodeRRsets(node: ZoneNode, at: (node: ZoneNode) => Iterable<RRset>): Generator<RRset> {
  const types = [...node.rrsets.keys()].filter((t) => !(node.isApex && t === T.SOA)).sort((a, b) => a - b);
  for (const t of types) yield node.rrsets.get(t)!;
  yield* at(node);
}

/** A list of RRsets grouped by owner, in their order within each owner (RRsets owned by no node are left out). */
function byOwner(rrsets: Iterable<RRset>): (node: ZoneNode) => readonly RRset[] {
  const map = new Map<string, RRset[]>();
  for (const rs of rrsets) {
    const list = map.get(rs.owner.key);
    if (list) list.push(rs);
    else map.set(rs.owner.key, [rs]);
  }
  return (node) => map.get(node.name.key) ?? [];
}

/** The zone as master file text (see exportRRsets for the order and `extra`). */
export function exportZone(zone: Zone, extra: Extra = []): string {
  const out: string[] = [`; zone ${nameToText(zone.origin)} exported by dane-ns`, `$ORIGIN ${nameToText(zone.origin)}`];
  for (const rs of exportRRsets(zone, extra)) {
    // Records the `update:` policy opens are written by dynamic update (RFC 2136) and kept in the state
    // directory, not in the zone file: said, so that nobody copies them into the file (a load error there).
    if (grantOf(zone.update, rs.owner, rs.type)) out.push('; dynamic update (RFC 2136), kept in the state directory:');
    out.push(...lines(rs));
  }
  return out.join('\n') + '\n';
}
