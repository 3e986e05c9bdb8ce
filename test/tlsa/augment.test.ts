import { describe, expect, it } from 'vitest';
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerQuery } from '../../src/query/answer.js';
import { mxTargetsSteps, tlsaHost, withAutomaticTlsa, type AutoTlsa } from '../../src/tlsa/augment.js';
import { parseName, ROOT, nameToText } from '../../src/wire/name.js';
import { typeFromText } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import { ZoneError, type ZoneProblem } from '../../src/zone/errors.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import { parseZoneYaml, type ZoneSource } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { render } from '../support/render.js';

const TEXT = `origin: example.com.
soa: { mname: ns1, rname: hostmaster }
records:
  "@":
    NS: ns1
    MX: 10 mail
  ns1:
    A: 192.0.2.53
  mail:
    A: 192.0.2.25
  _25._tcp.mail:
    TLSA: 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
  _443._tcp.mail:
    TLSA: 3 1 1 1111111111111111111111111111111111111111111111111111111111111111
  "*":
    A: 192.0.2.80
    TXT: wild
    MX: 20 mail
  "*.apps":
    AAAA: 2001:db8::81
  x.apps:
    A: 192.0.2.82
  ent.deep:
    A: 192.0.2.7
  sub:
    NS: ns.sub
  ns.sub:
    A: 192.0.2.9
`;
const lineOf = (needle: string): number => TEXT.split('\n').findIndex((l) => l.includes(needle)) + 1;
const HASH = 'ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789';
const HASH2 = '2222222222222222222222222222222222222222222222222222222222222222';

function parse(text = TEXT): { src: ZoneSource; plain: Zone } {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('z.yaml', text, problems);
  expect(problems).toEqual([]);
  return { src, plain: buildZone(src, { defaultOrigin: 'example.com' }, problems) };
}
const build = (src: ZoneSource): Zone => buildZone(src, { defaultOrigin: 'example.com' }, []);
const set = (host: string, rdatas: string[] = [`3 1 1 ${HASH}`], ports = [25], line = 40): AutoTlsa => ({
  host,
  ports,
  ttl: 300,
  rdatas,
  line,
});
const ask = (z: Zone, q: string, t: string) =>
  render(answerQuery(new ZoneSet([z]), { qname: parseName(q, ROOT), qtype: typeFromText(t), dnssecOk: false }));

describe('withAutomaticTlsa: owners and hand-written records', () => {
  it('publishes _<port>._tcp.<host> for each port, with the set TTL and every rdata', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mail', [`3 1 1 ${HASH}`, `2 1 1 ${HASH2}`], [25, 465, 587])]);
    expect(aug.problems).toEqual([]);
    const z = build(aug.source);
    for (const port of [25, 465, 587])
      expect(ask(z, `_${port}._tcp.mail.example.com.`, 'TLSA').answer).toEqual([
        `_${port}._tcp.mail.example.com. 300 IN TLSA 2 1 1 ${HASH2}`,
        `_${port}._tcp.mail.example.com. 300 IN TLSA 3 1 1 ${HASH}`,
      ]);
    // the input is not modified
    expect(src.records.filter((r) => r.type === 'TLSA')).toHaveLength(2);
  });

  it('a hand-written TLSA at an automatic owner is removed, with a warning naming its line; others stay', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mail')]);
    expect(aug.warnings).toEqual([
      {
        file: 'z.yaml',
        line: lineOf('TLSA: 3 1 1 0000'),
        reason: expect.stringMatching(
          /_25\._tcp\.mail TLSA: written by hand and also automatic \(tlsa:\); the automatic set wins/,
        ),
      },
    ]);
    const z = build(aug.source);
    expect(ask(z, '_25._tcp.mail.example.com.', 'TLSA').answer).toEqual([
      `_25._tcp.mail.example.com. 300 IN TLSA 3 1 1 ${HASH}`,
    ]);
    expect(ask(z, '_443._tcp.mail.example.com.', 'TLSA').answer).toEqual([
      '_443._tcp.mail.example.com. 3600 IN TLSA 3 1 1 1111111111111111111111111111111111111111111111111111111111111111',
    ]);
  });

  it('hand-written owner in another letter case or absolute form is still recognised', () => {
    const { src, plain } = parse(TEXT.replace('  _25._tcp.mail:', '  _25._TCP.Mail.example.com.:'));
    const aug = withAutomaticTlsa(src, plain, [set('MAIL')]);
    expect(aug.warnings.map((w) => w.line)).toEqual([lineOf('TLSA: 3 1 1 0000')]);
    expect(ask(build(aug.source), '_25._tcp.mail.example.com.', 'TLSA').answer).toHaveLength(1);
  });

  it('an empty automatic set keeps the hand-written records and warns nothing', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mail', [])]);
    expect(aug.warnings).toEqual([]);
    expect(aug.problems).toEqual([]);
    expect(aug.source.records).toEqual(src.records);
  });

  it('the host may be absolute, and the apex works', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mail.example.com.'), set('@', undefined, [25], 41)]);
    expect(aug.problems).toEqual([]);
    const z = build(aug.source);
    expect(ask(z, '_25._tcp.mail.example.com.', 'TLSA').answer).toHaveLength(1);
    expect(ask(z, '_25._tcp.example.com.', 'TLSA').answer).toEqual([`_25._tcp.example.com. 300 IN TLSA 3 1 1 ${HASH}`]);
  });
});

describe('withAutomaticTlsa: host only through a wildcard (PowerDNS issue 2432)', () => {
  // [host, names the wildcard's records must be copied to, wildcard]
  const cases: [string, string[], string][] = [
    ['mx2', ['mx2.example.com.'], '*.example.com.'],
    ['a.b', ['a.b.example.com.', 'b.example.com.'], '*.example.com.'],
    ['m.apps', ['m.apps.example.com.'], '*.apps.example.com.'],
    ['x.y.apps', ['x.y.apps.example.com.', 'y.apps.example.com.'], '*.apps.example.com.'],
  ];
  const types = ['A', 'AAAA', 'TXT', 'MX', 'NS', 'CNAME', 'SOA'];
  for (const [host, copied, wildcard] of cases) {
    it(`${host}: records copied to ${copied.join(', ')}, answers unchanged, warning says so`, () => {
      const { src, plain } = parse();
      const aug = withAutomaticTlsa(src, plain, [set(host)]);
      expect(aug.problems).toEqual([]);
      expect(aug.warnings).toHaveLength(1);
      expect(aug.warnings[0]!.line).toBe(40);
      expect(aug.warnings[0]!.reason).toContain(`exists only through the wildcard ${wildcard}`);
      for (const n of copied) expect(aug.warnings[0]!.reason).toContain(n);
      const z = build(aug.source);
      for (const n of copied) {
        // the names now exist, with the wildcard's RRsets
        const node = z.nodes.get(parseName(n, ROOT).key)!;
        expect(node).toBeDefined();
        const wnode = plain.nodes.get(parseName(wildcard, ROOT).key)!;
        expect([...node.rrsets.keys()].sort()).toEqual([...wnode.rrsets.keys()].sort());
        for (const t of types) {
          const before = ask(plain, n, t);
          const after = ask(z, n, t);
          expect(after, `${n} ${t}`).toEqual(before);
        }
      }
      // the wildcard answered with data before, and still does for the host
      expect(ask(z, `${host}.example.com.`, wildcard === '*.example.com.' ? 'A' : 'AAAA').answer).toHaveLength(1);
      expect(ask(z, `_25._tcp.${host}.example.com.`, 'TLSA').answer).toEqual([
        `_25._tcp.${host}.example.com. 300 IN TLSA 3 1 1 ${HASH}`,
      ]);
    });
  }

  it('the copies keep the wildcard TTLs and rdata exactly (A, TXT, MX)', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mx2')]);
    const copies = aug.source.records
      .filter((r) => r.owner === 'mx2.example.com.')
      .map((r) => `${r.type} ${r.ttl} ${r.value}`)
      .sort();
    expect(copies).toEqual(['A 3600 192.0.2.80', 'MX 3600 20 mail.example.com.', 'TXT 3600 "wild"']);
  });

  const existing: [string, string][] = [
    ['mail', 'the host has records'],
    ['deep', 'the host is an empty non-terminal'],
    ['x.apps', 'the host exists next to a wildcard'],
    ['apps', 'the host is the wildcard parent (an ENT)'],
  ];
  for (const [host, why] of existing) {
    it(`${host}: nothing copied (${why})`, () => {
      const { src, plain } = parse();
      const aug = withAutomaticTlsa(src, plain, [set(host, undefined, [25], 40)]);
      expect(aug.problems).toEqual([]);
      expect(aug.warnings.filter((w) => w.reason.includes('wildcard'))).toEqual([]);
      const added = aug.source.records.filter((r) => !src.records.includes(r));
      expect(added.map((r) => `${r.owner} ${r.type}`)).toEqual([`_25._tcp.${host}.example.com. TLSA`]);
      const z = build(aug.source);
      for (const t of types) expect(ask(z, `${host}.example.com.`, t)).toEqual(ask(plain, `${host}.example.com.`, t));
    });
  }

  it('an empty automatic set copies nothing (nothing is added below the host)', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('mx2', [])]);
    expect(aug.warnings).toEqual([]);
    expect(aug.source.records).toEqual(src.records);
  });
});

describe('withAutomaticTlsa: problems name the tlsa: entry line', () => {
  const cases: [string, AutoTlsa[], RegExp][] = [
    [
      'outside the zone',
      [set('mail.example.org.', undefined, [25], 51)],
      /^tlsa host mail\.example\.org\. is outside the zone example\.com\.$/,
    ],
    [
      'at a delegation',
      [set('sub', undefined, [25], 51)],
      /^tlsa host sub\.example\.com\. is at or below the delegation sub\.example\.com\.: its TLSA belongs in the child zone$/,
    ],
    [
      'below a delegation (existing glue)',
      [set('ns.sub', undefined, [25], 51)],
      /at or below the delegation sub\.example\.com\./,
    ],
    [
      'below a delegation (not existing)',
      [set('mx.deeper.sub', undefined, [25], 51)],
      /at or below the delegation sub\.example\.com\./,
    ],
    [
      'listed twice',
      [set('mail', undefined, [25], 50), set('MAIL.example.com.', undefined, [465], 51)],
      /^tlsa host mail\.example\.com\. is already listed \(line 50\)/i,
    ],
    ['a bad name', [set(`${'x'.repeat(64)}`, undefined, [25], 51)], /^tlsa host "x+": /],
  ];
  for (const [why, sets, reason] of cases) {
    it(why, () => {
      const { src, plain } = parse();
      const aug = withAutomaticTlsa(src, plain, sets);
      expect(aug.problems).toHaveLength(1);
      expect(aug.problems[0]).toEqual({ file: 'z.yaml', line: 51, reason: expect.stringMatching(reason) });
    });
  }

  it('a problem with an empty set is still a problem (the check at load time)', () => {
    const { src, plain } = parse();
    expect(withAutomaticTlsa(src, plain, [set('sub', [], [25], 9)]).problems).toHaveLength(1);
  });

  it('a problem entry adds nothing; the other entries still apply', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('sub', undefined, [25], 9), set('mail', undefined, [25], 10)]);
    expect(aug.problems.map((p) => p.line)).toEqual([9]);
    expect(aug.source.records.filter((r) => r.owner.includes('sub'))).toEqual(
      src.records.filter((r) => r.owner.includes('sub')),
    );
    expect(ask(build(aug.source), '_25._tcp.mail.example.com.', 'TLSA').answer).toHaveLength(1);
  });
});

describe('tlsaHost', () => {
  const origin = parseName('example.com.', ROOT);
  const cases: [string, string | RegExp][] = [
    ['mail', 'mail.example.com.'],
    ['Mail.Example.COM.', 'Mail.Example.COM.'],
    ['@', 'example.com.'],
    ['example.net.', /outside the zone example\.com\./],
    ['com.', /outside the zone/],
  ];
  for (const [host, want] of cases)
    it(host, () => {
      const h = tlsaHost(host, origin);
      if (typeof want === 'string') expect(typeof h === 'string' ? h : nameToText(h)).toBe(want);
      else expect(h).toMatch(want);
    });
});

/** The MX targets of every zone in `zones`, and how often their walks yielded. */
function mxTargets(zones: readonly Zone[]): Set<string> & { yields: number } {
  const out = Object.assign(new Set<string>(), { yields: 0 });
  for (const z of zones) {
    const steps = mxTargetsSteps(z);
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) {
        for (const t of r.value) out.add(t);
        break;
      }
      out.yields++;
    }
  }
  return out;
}

describe('mxTargetsSteps', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-mx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the exchange of every MX in every zone (lower-case keys, any case in the zone)', () => {
    const f1 = join(dir, 'example.com.yaml');
    writeFileSync(f1, TEXT.replace('MX: 10 mail', 'MX: [10 MAIL, 20 mx.example.net.]'));
    const f2 = join(dir, 'example.org.yaml');
    writeFileSync(
      f2,
      `soa: { mname: ns1, rname: hostmaster }\nrecords:\n  "@":\n    NS: ns1\n    MX: 0 .\n  ns1:\n    A: 192.0.2.1\n  shop:\n    MX: 5 mx1.example.com.\n`,
    );
    const zones = [loadZoneFile(f1), loadZoneFile(f2)];
    const t = mxTargets(zones);
    const k = (n: string): string => parseName(n, ROOT).key;
    for (const n of ['mail.example.com.', 'mx.example.net.', 'mx1.example.com.']) expect(t.has(k(n)), n).toBe(true);
    // the wildcard's MX is a target too; the null MX (".") is the root
    expect(t.has(k('.'))).toBe(true);
    expect(t.has(k('ns1.example.com.'))).toBe(false);
    expect(t.has(k('mx2.example.com.'))).toBe(false);
    expect(t.size).toBe(4);
  });

  it('no MX: empty', () => {
    const z = parse(TEXT.replace('    MX: 10 mail\n', '').replace('    MX: 20 mail\n', '')).plain;
    expect(mxTargets([z]).size).toBe(0);
  });

  it('a large zone is walked in steps that yield, and every target is found', () => {
    const hosts = Array.from({ length: 10_000 }, (_, i) => `  h${i}:\n    MX: 10 mx${i % 7}\n`).join('');
    const f = join(dir, 'large.example.yaml');
    writeFileSync(
      f,
      `soa: { mname: ns1, rname: hostmaster }\nrecords:\n  "@":\n    NS: ns1\n  ns1:\n    A: 192.0.2.1\n${hosts}`,
    );
    const t = mxTargets([loadZoneFile(f)]);
    expect(t.size).toBe(7);
    expect(t.yields).toBeGreaterThanOrEqual(2);
  });
});

describe('augmented zones build', () => {
  it('every host through the same wildcard: each copy once, the zone builds', () => {
    const { src, plain } = parse();
    const aug = withAutomaticTlsa(src, plain, [set('a.b', undefined, [25], 40), set('c.b', undefined, [25], 41)]);
    expect(aug.problems).toEqual([]);
    let z: Zone | undefined;
    try {
      z = build(aug.source);
    } catch (e) {
      if (e instanceof ZoneError) throw new Error(e.problems.map((p) => p.reason).join('; '));
      throw e;
    }
    for (const n of ['a.b.example.com.', 'c.b.example.com.', 'b.example.com.'])
      expect(ask(z, n, 'A').answer).toEqual([`${n} 3600 IN A 192.0.2.80`]);
  });
});

describe('withAutomaticTlsa: wildcard copies (a regression of the first round)', () => {
  it('other names below a created intermediate name keep their wildcard answers', () => {
    // Host a.b.example.com. exists only through *.example.com.; augment copies the wildcard's records to a.b and
    // b (as specified), which keeps the answers for those two names. But b.example.com. now exists, so every
    // other name below it (x.b.example.com.) has closest encloser b.example.com., which has no wildcard:
    // before NOERROR with the wildcard's A, after NXDOMAIN. Copying the wildcard's records to *.b.example.com.
    // as well (for each created intermediate name) would keep those answers.
    const text = `origin: example.com.
soa: { mname: ns1, rname: hostmaster }
records:
  "@":
    NS: ns1
  ns1:
    A: 192.0.2.53
  "*":
    A: 192.0.2.80
`;
    const problems: ZoneProblem[] = [];
    const src = parseZoneYaml('z.yaml', text, problems);
    const plain = buildZone(src, { defaultOrigin: 'example.com' }, problems);
    const aug = withAutomaticTlsa(src, plain, [{ host: 'a.b', ports: [25], ttl: 300, rdatas: ['3 1 1 AB'], line: 10 }]);
    const z = buildZone(aug.source, { defaultOrigin: 'example.com' }, []);
    const ask = (zone: Zone, q: string) =>
      render(
        answerQuery(new ZoneSet([zone]), { qname: parseName(q, ROOT), qtype: typeFromText('A'), dnssecOk: false }),
      );
    expect(ask(plain, 'x.b.example.com.').answer).toEqual(['x.b.example.com. 3600 IN A 192.0.2.80']);
    expect(ask(z, 'x.b.example.com.')).toEqual(ask(plain, 'x.b.example.com.'));
  });
});
