/**
 * A zone with another SOA serial (RFC 1035 §3.3.13): the publish path gives each served version its serial
 * after the zone was built and signed. Everything but the apex is shared with the zone given; the apex node is
 * copied with the new SOA RRset.
 */
import { T } from '../wire/types.js';
import { soaSerial, withSoaSerial } from './build.js';
import { RRsetsByType, type RRset, type Zone, type ZoneNode } from './zone.js';

/** Names copied between two yields of zoneWithSerialSteps. */
const NODES_PER_STEP = 8192;

/** `zone` itself when its serial is `serial` already, else a copy whose SOA says `serial`. */
export function zoneWithSerial(zone: Zone, serial: number): Zone {
  const steps = zoneWithSerialSteps(zone, serial);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * zoneWithSerial in steps that yield every few thousand names (for the server's slices): copying the name map
 * of a zone with a hundred thousand names takes tens of milliseconds.
 */
export function* zoneWithSerialSteps(zone: Zone, serial: number): Generator<void, Zone, undefined> {
  if (soaSerial(zone.soa.rdatas[0]!) === serial) return zone;
  const soa: RRset = Object.freeze({
    ...zone.soa,
    rdatas: Object.freeze([withSoaSerial(zone.soa.rdatas[0]!, serial)]),
  });
  const old = zone.apex;
  const apex: ZoneNode = Object.freeze({
    name: old.name,
    rrsets: new RRsetsByType([...old.rrsets.values()].map((rs) => (rs.type === T.SOA ? soa : rs))),
    parent: old.parent,
    isApex: old.isApex,
    isDelegation: old.isDelegation,
    belowCut: old.belowCut,
    cut: old.cut,
    wildcardChild: old.wildcardChild,
    childCount: old.childCount,
  });
  const nodes = new Map<string, ZoneNode>();
  let n = 0;
  for (const [key, node] of zone.nodes) {
    nodes.set(key, node === old ? apex : node);
    if (++n % NODES_PER_STEP === 0) yield;
  }
  const ordered: ZoneNode[] = [];
  for (const node of zone.ordered) {
    ordered.push(node === old ? apex : node);
    if (ordered.length % NODES_PER_STEP === 0) yield;
  }
  return Object.freeze({
    ...zone,
    apex,
    nodes: nodes as ReadonlyMap<string, ZoneNode>,
    ordered: Object.freeze(ordered),
    soa,
  });
}
