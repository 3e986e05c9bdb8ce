/**
 * The order of a signed zone's AXFR (src/server/axfr.ts, transfer.ts, zone/export.ts), pinned octet for octet
 * now that the signer's RRsets are asked for owner by owner (SignedZone.addedAt, dnssec/zonesign.ts):
 * the transfer of a signed zone with a delegation with DS and glue, a delegation without DS, wildcards, empty
 * non-terminals, a CNAME and a TLSA RRset is compared with the messages of `referenceOrder`, a copy of the
 * first implementation (every added RRset gathered into a map by owner before the first message). The order
 * is what secondaries, `zone export --signed` and the IXFR journal have always seen (RFC 5936 §2.2 leaves it
 * free, but a change would show as a difference to anyone comparing exports).
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import { SignatureCache } from '../../src/dnssec/sigcache.js';
import { signedWithSerial, signZone, type SignedZone } from '../../src/dnssec/zonesign.js';
import { createLogger } from '../../src/log.js';
import { axfrMessages } from '../../src/server/axfr.js';
import { makeSnapshot } from '../../src/server/handler.js';
import { createTransfers } from '../../src/server/transfer.js';
import { encodeQuery } from '../../src/wire/message.js';
import { nameToText } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { exportRRsets } from '../../src/zone/export.js';
import { zoneWithSerial } from '../../src/zone/reserial.js';
import { ZoneSet } from '../../src/zone/set.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { RRset, Zone } from '../../src/zone/zone.js';
import { LOOPBACK } from '../support/remote.js';

const NOW = Date.UTC(2026, 0, 2) / 1000;
const TLSA = '3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6';

const TEXT = `origin: order.example.
ttl: 3600
soa: { mname: ns1, rname: hostmaster, serial: 41, minimum: 300 }
transfer:
  allow:
    - address: 127.0.0.0/8
records:
  "@": { NS: [ns1, ns2.a], MX: 10 mail, TXT: '"apex"', A: 192.0.2.1 }
  a: { NS: [ns1.a, ns2.a], DS: 57855 13 2 ${'AB'.repeat(32)} }
  ns1.a: { A: 192.0.2.5 }
  ns2.a: { A: 192.0.2.6, AAAA: 2001:db8::6 }
  b: { NS: ns1.b }
  ns1.b: { A: 192.0.2.7 }
  ns1: { AAAA: 2001:db8::1, A: 192.0.2.2 }
  "*": { TXT: '"wild"', MX: 10 mail }
  "*.w": { MX: 1 mail }
  x.y.w: { MX: 1 mail }
  deep.ent.chain: { A: 192.0.2.9 }
  www: { CNAME: mail }
  mail: { A: 192.0.2.25, AAAA: 2001:db8::25 }
  _25._tcp.mail: { TLSA: ${TLSA} }
${Array.from({ length: 80 }, (_, i) => `  h${i}: { A: 192.0.2.${i + 100} }\n`).join('')}`;

function zone(): Zone {
  const problems: ZoneProblem[] = [];
  const z = buildZone(
    parseZoneYaml('order.example.yaml', TEXT, problems),
    { defaultOrigin: 'order.example.' },
    problems,
  );
  expect(problems).toEqual([]);
  return z;
}

/**
 * The first implementation of exportRRsets, kept verbatim as the reference: the SOA, then each owner in
 * canonical order with its types in numeric order, then the added RRsets at that owner in the order the
 * signer lists them (addedRRsets()).
 */
function* referenceOrder(zone: Zone, extra: Iterable<RRset>): Generator<RRset> {
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

const REQ = { id: 5, flags: 0, qname: zone().origin, edns: null, reserve: 0 };

/** The AXFR messages the transfer handler sends for `signed` (no TSIG, no EDNS). */
function transferred(signed: SignedZone): Uint8Array[] {
  const snap = makeSnapshot(new ZoneSet([signed.zone]), new Map([[signed.zone, signed]]));
  const t = createTransfers({
    current: () => snap,
    lookup: () => () => undefined,
    logger: createLogger({ write: () => {} }),
    now: () => NOW * 1000,
  });
  return [...t(encodeQuery(signed.zone.origin, T.AXFR, { id: 5 }), LOOPBACK)!];
}

const describeRRsets = (rrsets: Iterable<RRset>): string[] =>
  [...rrsets].map((rs) => `${nameToText(rs.owner)} ${rs.type} ${rs.ttl} ${rs.rdatas.length}`);

describe('the AXFR of a signed zone keeps the order of the first implementation', () => {
  const cache = new SignatureCache();
  const z = zone();
  const created = new Date((NOW - 86_400) * 1000);
  const keys = { ksk: generateKey(z.origin, 'ksk', created), zsk: generateKey(z.origin, 'zsk', created) };
  const signed = signZone(z, keys, NOW, cache);

  it('octet for octet, with every kind of owner in the zone, over several messages', () => {
    const want = [...axfrMessages(referenceOrder(signed.zone, signed.addedRRsets()), signed.zone.soa, REQ)];
    const got = transferred(signed);
    expect(got.length).toBeGreaterThan(1); // the zone fills more than one 16 KiB message with its signatures
    expect(got.map((m) => Buffer.from(m).toString('hex'))).toEqual(want.map((m) => Buffer.from(m).toString('hex')));
    // Every kind of owner is there: a guard against a fixture that stops exercising one.
    const kinds = describeRRsets(referenceOrder(signed.zone, signed.addedRRsets())).join('\n');
    for (const owner of ['a.order.example. 43 ', 'ns2.a.order.example. 28 ', '*.order.example. 46 ', 'www.']) {
      expect(kinds).toContain(owner);
    }
    expect(kinds).toContain(`_25._tcp.mail.order.example. ${T.TLSA} `);
  });

  it('the same after a new serial (the SOA re-signed, everything else shared)', () => {
    const next = signedWithSerial(signed, zoneWithSerial(z, 42), NOW, cache);
    const want = [...axfrMessages(referenceOrder(next.zone, next.addedRRsets()), next.zone.soa, REQ)];
    expect(transferred(next).map((m) => Buffer.from(m).toString('hex'))).toEqual(
      want.map((m) => Buffer.from(m).toString('hex')),
    );
  });

  it('exportRRsets gives the reference order node by node (transfers, the IXFR journal) and from a list (zone export)', () => {
    const want = [...referenceOrder(signed.zone, signed.addedRRsets())];
    const byNode = [...exportRRsets(signed.zone, (node) => signed.addedAt(node))];
    expect(describeRRsets(byNode)).toEqual(describeRRsets(want));
    expect(byNode.map((rs) => rs.rdatas)).toEqual(want.map((rs) => rs.rdatas));
    expect(describeRRsets(exportRRsets(signed.zone, signed.addedRRsets()))).toEqual(describeRRsets(want));
  });
});
