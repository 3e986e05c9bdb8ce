/**
 * The journal's difference between two versions, owner by owner (src/server/journal-diff.ts), against the
 * first implementation kept here as the reference: every record of each version (as the transfer sends it)
 * in a set, deletions in the old version's order, additions in the new one's. Signed zones, so that NSEC and
 * RRSIG records change along with the data; and the journal run in slices gives the same differences.
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import { SignatureCache } from '../../src/dnssec/sigcache.js';
import { signZone } from '../../src/dnssec/zonesign.js';
import { changeOf, contentOf, wireRR, type Content } from '../../src/server/journal-diff.js';
import { Journal } from '../../src/server/journal.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { exportRRsets } from '../../src/zone/export.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';

const NOW = 1_796_200_000;
const cache = new SignatureCache();
const created = new Date((NOW - 86_400) * 1000);
const BASE = Array.from({ length: 150 }, (_, i) => `  h${i}: { A: 192.0.2.${i % 250} }\n`).join('');

function version(serial: number, records: string, keys = KEYS): ZoneVersion {
  const problems: ZoneProblem[] = [];
  const text = `origin: d.example.\nsoa: { mname: ns1, rname: h, serial: ${serial} }\ntransfer: { allow: [{ address: 127.0.0.1 }] }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n${records}`;
  const zone = buildZone(parseZoneYaml('d.example.yaml', text, problems), { defaultOrigin: 'd.example.' }, problems);
  expect(problems).toEqual([]);
  const signed = signZone(zone, keys, NOW, cache);
  return { origin: 'd.example.', serial, zone: signed.zone, signed, at: 0 };
}
const origin = parseName('d.example.');
const KEYS = { ksk: generateKey(origin, 'ksk', created), zsk: generateKey(origin, 'zsk', created) };

/** The first implementation: every record of the version, the SOA apart, and the octets of all. */
function reference(v: ZoneVersion): { soa: string; records: Set<string>; size: number } {
  const records = new Set<string>();
  let soa = '';
  let size = 0;
  const signed = v.signed!;
  for (const rs of exportRRsets(v.zone, (node) => signed.addedAt(node)))
    for (const rd of rs.rdatas) {
      const r = wireRR(rs, rd);
      size += r.length;
      if (rs.type === T.SOA && rs === v.zone.soa) soa = r;
      else records.add(r);
    }
  return { soa, records, size };
}

function run<T>(g: Generator<void, T, undefined>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Pairs of versions: [what changes, records before, records after]. */
const CASES: [string, string, string][] = [
  ['one record edited', BASE, BASE.replace('h7: { A: 192.0.2.7 }', 'h7: { A: 192.0.2.99 }')],
  ['an owner added (NSEC chain changes around it)', BASE, BASE + '  zz: { TXT: new }\n'],
  ['an owner removed', BASE, BASE.replace('  h42: { A: 192.0.2.42 }\n', '')],
  ['a TTL changed', BASE, BASE.replace('h3: { A: 192.0.2.3 }', 'h3: { A: { ttl: 60, value: 192.0.2.3 } }')],
  ['the case of an owner changed', BASE, BASE.replace('h9:', 'H9:')],
  ['a type added at an owner', BASE, BASE.replace('h5: { A: 192.0.2.5 }', 'h5: { A: 192.0.2.5, TXT: x }')],
  ['nothing but the serial', BASE, BASE],
  ['everything replaced', BASE, BASE.replaceAll('h', 'k')],
];

describe('the difference owner by owner is the one of the full record sets', () => {
  it.each(CASES)('%s', (_, before, after) => {
    const a = version(10, before);
    const b = version(11, after);
    const ra = reference(a);
    const rb = reference(b);
    const from: Content = run(contentOf(a));
    expect([from.soa, from.size]).toEqual([ra.soa, ra.size]);
    const change = run(changeOf(from, b));
    expect(change.deleted).toEqual([...ra.records].filter((r) => !rb.records.has(r)));
    expect(change.added).toEqual([...rb.records].filter((r) => !ra.records.has(r)));
    expect([change.next.soa, change.next.size, change.next.serial]).toEqual([rb.soa, rb.size, 11]);
  });

  it('a one-record edit touches few records though the zone has hundreds', () => {
    const a = version(10, BASE);
    const b = version(11, CASES[0]![2]);
    const change = run(changeOf(run(contentOf(a)), b));
    // The A record, its RRSIG and the SOA's RRSIG (the serial changed), both ways.
    expect([change.deleted.length, change.added.length]).toEqual([3, 3]);
    expect(reference(a).records.size).toBeGreaterThan(400);
  });
});

describe('the journal in slices', () => {
  it('answers nothing for the zone until the difference is there, then the same as in one piece', async () => {
    const versions = [version(10, BASE), ...CASES.slice(0, 4).map(([, , after], i) => version(11 + i, after))];
    const whole = new Journal();
    const sliced = new Journal(undefined, { sliceMs: 0 });
    for (const v of versions) whole.published(v);
    for (const v of versions) sliced.published(v);
    expect(sliced.since('d.example.', 10, 14)).toBeNull();
    await sliced.settled();
    expect(sliced.differences('d.example.')).toEqual(whole.differences('d.example.'));
    expect(sliced.since('d.example.', 10, 14)).toEqual(whole.since('d.example.', 10, 14));
    expect(sliced.since('d.example.', 10, 14)).not.toBeNull();
  });
});
