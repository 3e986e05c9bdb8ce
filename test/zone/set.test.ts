/**
 * Zone selection (longest match; DS at a child apex goes to the parent, RFC 4035 §3.1.4.1): the few-zones path
 * (name ends compared with each origin) and the many-zones path (suffixes looked up) against a brute-force
 * reference, over names at, below and beside the origins, in mixed case, including a root zone.
 */
import { describe, expect, it } from 'vitest';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { Zone } from '../../src/zone/zone.js';
import { isSubdomain, labels, nameFromLabels, nameToText, parseName, type Name } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';

function zone(origin: string): Zone {
  const problems: ZoneProblem[] = [];
  const text = `origin: ${origin}\nsoa: { mname: ns.example.net., rname: hostmaster.example.net. }\nrecords:\n  "@":\n    NS: ns.example.net.\n`;
  return buildZone(parseZoneYaml('z.yaml', text, problems), { defaultOrigin: origin }, problems);
}

/** Longest origin that is an ancestor-or-self; for DS at an origin, the longest strict ancestor if any. */
function reference(zones: readonly Zone[], qname: Name, qtype: number): Zone | null {
  const longest = (strict: boolean): Zone | null => {
    let best: Zone | null = null;
    for (const z of zones)
      if (
        isSubdomain(qname, z.origin) &&
        !(strict && z.origin.key === qname.key) &&
        (!best || z.origin.offsets.length > best.origin.offsets.length)
      )
        best = z;
    return best;
  };
  const z = longest(false);
  if (z && qtype === T.DS && z.origin.key === qname.key && qname.offsets.length > 0) return longest(true) ?? z;
  return z;
}

const ORIGINS = [
  'example.com.',
  'kids.example.com.',
  'a.b.kids.example.com.',
  'example.net.',
  'net.',
  'xn--bcher-kva.example.',
  'example.',
  'com.example.',
  'z.',
  'y.z.',
  'x.y.z.',
  'deep.x.y.z.',
];

describe('ZoneSet.find', () => {
  let seed = 9;
  const rand = (n: number): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
  const all = ORIGINS.map(zone);
  // Some end with an origin's wire form inside a label (a\007example.com. is below com., not example.com.).
  const names: Name[] = [
    '.',
    'com.',
    'org.',
    'ample.com.',
    'xexample.com.',
    'a\\007example.com.',
    'a\\001z.',
    'q\\001y\\001z.',
    '\\004kids\\007example.com.',
  ].map((t) => parseName(t));
  for (const z of all) {
    names.push(z.origin);
    for (let i = 0; i < 6; i++) {
      const extra = Array.from({ length: 1 + rand(3) }, () =>
        Uint8Array.from({ length: 1 + rand(4) }, () => [0x61, 0x41, 0x6b, 0x2e, 0x00][rand(5)]!),
      );
      names.push(
        nameFromLabels(
          [...extra, ...labels(z.origin)].map((l) => l.map((b) => (b >= 0x61 && b <= 0x7a && rand(2) ? b ^ 0x20 : b))),
        ),
      );
    }
  }
  const sets: [string, Zone[]][] = [
    ['all 12 zones (suffix lookups)', all],
    ['7 zones (name ends compared)', all.slice(0, 7)],
    ['5 zones with a root zone', [...all.slice(3, 7), zone('.')]],
    ['one zone', [all[0]!]],
  ];
  for (const [what, zones] of sets) {
    it(`agrees with the reference: ${what}`, () => {
      const set = new ZoneSet(zones);
      for (const n of names)
        for (const t of [T.A, T.DS])
          expect(set.find(n, t)?.origin.key, `${nameToText(n)} ${t}`).toBe(reference(zones, n, t)?.origin.key);
    });
  }
});
