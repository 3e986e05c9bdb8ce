/**
 * NSEC chain and denial proofs (src/dnssec/nsec.ts): the chains of the RFC 4592 example zone and of
 * zones/example.com.yaml written out in full, and a table per proof helper (the type bitmap codec is tested in
 * test/wire/typebitmap.test.ts). The bitmap rules at cuts and the letter case are the ones Knot DNS 3.2 shows (see
 * test/integration/nsec-oracle.test.ts, which checks them against a real Knot).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildNsecChain,
  covers,
  nodataProof,
  nxdomainProof,
  wildcardAnswerProof,
  wildcardNodataProof,
  type NsecChain,
  type NsecEntry,
} from '../../src/dnssec/nsec.js';
import { nameToText, parseName, type Name } from '../../src/wire/name.js';
import { rdataFromText, rdataToText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { loadZoneFile } from '../../src/zone/files.js';
import type { Zone } from '../../src/zone/zone.js';
import { toHex } from '../support/hex.js';
import { fixture } from '../support/fixtures.js';

const n = (s: string): Name => parseName(s);
/** One entry as `owner TTL NSEC next types`, the way kdig prints it. */
const show = (chain: NsecChain, e: NsecEntry): string =>
  `${nameToText(e.owner)} ${chain.ttl} NSEC ${rdataToText(T.NSEC, e.rdata)}`;
const owners = (list: readonly NsecEntry[]): string[] => list.map((e) => nameToText(e.owner));

const rfc4592 = loadZoneFile(fixture('rfc4592.yaml'));
const rfcChain = buildNsecChain(rfc4592, { ttl: rfc4592.negativeTtl });
const sample = loadZoneFile(fileURLToPath(new URL('../../zones/example.com.yaml', import.meta.url)));
const sampleChain = buildNsecChain(sample, { ttl: sample.negativeTtl });

const tmp = mkdtempSync(join(tmpdir(), 'dane-ns-nsec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function zoneFromYaml(file: string, text: string): Zone {
  const path = join(tmp, file);
  writeFileSync(path, text);
  return loadZoneFile(path);
}

describe('buildNsecChain', () => {
  it('RFC 4592 example: owners in canonical order, no ENTs, cut lists NS only, last points to the apex', () => {
    expect(rfcChain.entries.map((e) => show(rfcChain, e))).toEqual([
      'example. 300 NSEC *.example. NS SOA RRSIG NSEC DNSKEY',
      '*.example. 300 NSEC sub.*.example. MX TXT RRSIG NSEC',
      'sub.*.example. 300 NSEC host1.example. TXT RRSIG NSEC',
      'host1.example. 300 NSEC _ssh._tcp.host1.example. A RRSIG NSEC',
      '_ssh._tcp.host1.example. 300 NSEC _ssh._tcp.host2.example. SRV RRSIG NSEC',
      '_ssh._tcp.host2.example. 300 NSEC subdel.example. SRV RRSIG NSEC',
      'subdel.example. 300 NSEC example. NS RRSIG NSEC',
    ]);
  });

  it('sample zone: secure cut lists DS, glue below the cut has no NSEC, TTL = min(SOA TTL, minimum)', () => {
    expect(sampleChain.ttl).toBe(300);
    expect(sampleChain.entries.map((e) => show(sampleChain, e))).toEqual([
      'example.com. 300 NSEC _dmarc.example.com. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY CAA',
      '_dmarc.example.com. 300 NSEC _smtp._tls.example.com. TXT RRSIG NSEC',
      '_smtp._tls.example.com. 300 NSEC *.apps.example.com. TXT RRSIG NSEC',
      '*.apps.example.com. 300 NSEC mail.example.com. A TXT RRSIG NSEC',
      'mail.example.com. 300 NSEC _25._tcp.mail.example.com. A AAAA RRSIG NSEC',
      '_25._tcp.mail.example.com. 300 NSEC ns1.example.com. RRSIG NSEC TLSA',
      'ns1.example.com. 300 NSEC ns2.example.com. A RRSIG NSEC',
      'ns2.example.com. 300 NSEC sub.example.com. A AAAA RRSIG NSEC',
      'sub.example.com. 300 NSEC www.example.com. NS DS RRSIG NSEC',
      'www.example.com. 300 NSEC example.com. CNAME RRSIG NSEC',
    ]);
  });

  it('entries carry types, rdata, index and an NSEC RRset', () => {
    const e = sampleChain.entries[3]!;
    expect(e.index).toBe(3);
    expect(e.types).toEqual([T.A, T.TXT, T.RRSIG, T.NSEC]);
    expect(toHex(e.rdata)).toBe(toHex(rdataFromText(T.NSEC, 'mail.example.com. A TXT RRSIG NSEC', null)));
    // Field by field: the RRset is stored compactly (wire/rrset.ts), its rdatas read through an accessor.
    const { owner, type, ttl, rdatas } = e.rrset;
    expect({ owner, type, ttl, rdatas }).toEqual({ owner: e.owner, type: T.NSEC, ttl: 300, rdatas: [e.rdata] });
    expect(Object.isFrozen(sampleChain.entries)).toBe(true);
  });

  it('apexExtraTypes replaces the default DNSKEY', () => {
    const plain = buildNsecChain(sample, { ttl: 60, apexExtraTypes: [] });
    expect(rdataToText(T.NSEC, plain.entries[0]!.rdata)).toBe(
      '_dmarc.example.com. A NS SOA MX TXT AAAA RRSIG NSEC CAA',
    );
    const cds = buildNsecChain(sample, { ttl: 60, apexExtraTypes: [T.DNSKEY, T.CDS, T.CDNSKEY] });
    expect(cds.entries[0]!.types).toEqual([1, 2, 6, 15, 16, 28, 46, 47, 48, 59, 60, 257]);
    expect(cds.entries[1]!.types).toEqual([T.TXT, T.RRSIG, T.NSEC]);
  });

  it('rejects a TTL out of range', () => {
    expect(() => buildNsecChain(sample, { ttl: -1 })).toThrow(RangeError);
    expect(() => buildNsecChain(sample, { ttl: 2 ** 31 })).toThrow(RangeError);
  });

  // The same zone as the Knot experiment recorded in the file comment of nsec-oracle.test.ts.
  const edge = zoneFromYaml(
    'edge.test.yaml',
    `origin: edge.test.
ttl: 3600
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 86400, ttl: 7200 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.1 }
  CuT: { NS: [ns.CuT, ns1], A: 192.0.2.7, AAAA: "2001:db8::7" }
  ns.CuT: { A: 192.0.2.8 }
  deep.x.CuT: { A: 192.0.2.9 }
  Zed: { A: 192.0.2.10 }
  a: { A: 192.0.2.11 }
  UPPER.Case: { TXT: x }
  "*.W": { MX: 10 a }
`,
  );
  const edgeChain = buildNsecChain(edge, { ttl: edge.negativeTtl });

  it('edge zone: glue at the cut node is not listed, next names are lower-case, owners keep their case', () => {
    expect(edgeChain.ttl).toBe(7200); // min(SOA TTL 7200, minimum 86400)
    expect(edgeChain.entries.map((e) => show(edgeChain, e))).toEqual([
      'edge.test. 7200 NSEC a.edge.test. NS SOA RRSIG NSEC DNSKEY',
      'a.edge.test. 7200 NSEC upper.case.edge.test. A RRSIG NSEC',
      'UPPER.Case.edge.test. 7200 NSEC cut.edge.test. TXT RRSIG NSEC',
      'CuT.edge.test. 7200 NSEC ns1.edge.test. NS RRSIG NSEC',
      'ns1.edge.test. 7200 NSEC *.w.edge.test. A RRSIG NSEC',
      '*.W.edge.test. 7200 NSEC zed.edge.test. MX RRSIG NSEC',
      'Zed.edge.test. 7200 NSEC edge.test. A RRSIG NSEC',
    ]);
  });

  it('edge zone: NSEC rdata is byte-equal to what Knot DNS 3.2 serves for it (kdig +generic)', () => {
    // Recorded from `kdig AXFR +generic` against knotd signing edge.test (ecdsap256sha256, nsec3 off).
    expect(edgeChain.entries.map((e) => toHex(e.rdata).toUpperCase())).toEqual([
      '01610465646765047465737400000722000000000380',
      '057570706572046361736504656467650474657374000006400000000003',
      '0363757404656467650474657374000006000080000003',
      '036E733104656467650474657374000006200000000003',
      '012A017704656467650474657374000006400000000003',
      '037A656404656467650474657374000006000100000003',
      '04656467650474657374000006400000000003',
    ]);
  });
});

describe('nsecFor / covering', () => {
  it.each([
    ['mail.example.com.', 'mail.example.com.'],
    ['MAIL.Example.COM.', 'mail.example.com.'],
    ['*.apps.example.com.', '*.apps.example.com.'],
    ['sub.example.com.', 'sub.example.com.'],
    ['ns1.sub.example.com.', undefined], // glue below the cut
    ['_tcp.mail.example.com.', undefined], // empty non-terminal
    ['apps.example.com.', undefined], // empty non-terminal above a wildcard
    ['nope.example.com.', undefined],
  ])('nsecFor(%s) = %s', (q, owner) => {
    const e = sampleChain.nsecFor(n(q));
    expect(e === undefined ? undefined : nameToText(e.owner)).toBe(owner);
  });

  it.each([
    ['0.example.com.', 'example.com.', 'before the first name: the apex NSEC'],
    ['*.example.com.', 'example.com.', 'the wildcard at the apex sorts right after it'],
    ['_a.example.com.', 'example.com.', '_a < _dmarc'],
    ['_dmarc.example.com.', 'example.com.', 'an owner: the entry before it (does not cover it)'],
    ['x._dmarc.example.com.', '_dmarc.example.com.', 'below an owner'],
    ['_tls.example.com.', '_dmarc.example.com.', 'an ENT'],
    ['apps.example.com.', '_smtp._tls.example.com.', 'the ENT parent of a wildcard'],
    ['a.apps.example.com.', '*.apps.example.com.', 'a name the wildcard matches'],
    ['nope.example.com.', '_25._tcp.mail.example.com.', 'after the subtree of mail'],
    ['NOPE.EXAMPLE.COM.', '_25._tcp.mail.example.com.', 'letter case does not matter'],
    ['ns1.sub.example.com.', 'sub.example.com.', "glue sorts inside the cut's span"],
    ['sub0.example.com.', 'sub.example.com.', 'right after the cut'],
    ['www.example.com.', 'sub.example.com.', 'the last owner: the entry before it'],
    ['x.www.example.com.', 'www.example.com.', 'below the last owner: wraps to the apex'],
    ['zzz.example.com.', 'www.example.com.', 'after the last name: wraps to the apex'],
  ])('covering(%s) = %s (%s)', (q, owner) => {
    expect(nameToText(sampleChain.covering(n(q)).owner)).toBe(owner);
  });

  it('covering agrees with a linear scan for every name near every owner', () => {
    const probes: Name[] = [];
    for (const node of sample.ordered) {
      for (const label of ['0', '-', 'a', 'zz', '*', '_x']) probes.push(parseName(`${label}.${nameToText(node.name)}`));
    }
    for (const p of probes) {
      const expected = sampleChain.entries.filter((e) => covers(e, p, sampleChain));
      if (sampleChain.nsecFor(p)) continue;
      expect(expected).toHaveLength(1);
      expect(sampleChain.covering(p)).toBe(expected[0]);
    }
  });

  it('covers() is strict at both ends and wraps after the last owner', () => {
    const [apex, dmarc] = sampleChain.entries;
    const last = sampleChain.entries.at(-1)!;
    expect(covers(apex!, n('0.example.com.'), sampleChain)).toBe(true);
    expect(covers(apex!, n('example.com.'), sampleChain)).toBe(false);
    expect(covers(apex!, n('_dmarc.example.com.'), sampleChain)).toBe(false);
    expect(covers(dmarc!, n('_dmarc.example.com.'), sampleChain)).toBe(false);
    expect(covers(last, n('zzz.example.com.'), sampleChain)).toBe(true);
  });

  it('refuses names that are not strictly below the origin', () => {
    expect(() => sampleChain.covering(n('example.com.'))).toThrow(RangeError);
    expect(() => sampleChain.covering(n('example.org.'))).toThrow(RangeError);
    expect(() => sampleChain.covering(n('com.'))).toThrow(RangeError);
  });
});

interface ProofCase {
  readonly zone: 'rfc4592' | 'sample';
  readonly q: string;
  readonly arg?: string;
  readonly owners: string[];
  readonly why: string;
}
const chainOf = (z: ProofCase['zone']): NsecChain => (z === 'rfc4592' ? rfcChain : sampleChain);

describe('nxdomainProof (RFC 4035 §3.1.3.2): qname cover + wildcard cover, deduplicated', () => {
  const cases: ProofCase[] = [
    {
      zone: 'rfc4592',
      q: '_telnet._tcp.host1.example.',
      arg: '_tcp.host1.example.',
      owners: ['_ssh._tcp.host1.example.', 'host1.example.'],
      why: 'RFC 4592 §2.2.1: encloser _tcp.host1 (an ENT), no *._tcp.host1',
    },
    {
      zone: 'rfc4592',
      q: 'ghost.*.example.',
      arg: '*.example.',
      owners: ['*.example.'],
      why: 'RFC 4592 §2.2.1: *.example is the encloser; one NSEC covers both names',
    },
    {
      zone: 'rfc4592',
      q: 'a.b.host2.example.',
      arg: 'host2.example.',
      owners: ['_ssh._tcp.host2.example.', '_ssh._tcp.host1.example.'],
      why: 'encloser host2 is an ENT: _tcp.host2 < b.host2, *.host2 < _tcp.host2',
    },
    {
      zone: 'rfc4592',
      q: 'x.host1.example.',
      arg: 'host1.example.',
      owners: ['_ssh._tcp.host1.example.', 'host1.example.'],
      why: 'x > _ssh._tcp, *.host1 < _tcp.host1',
    },
    {
      zone: 'sample',
      q: '0.example.com.',
      arg: 'example.com.',
      owners: ['example.com.'],
      why: 'before the first name: the apex NSEC covers both',
    },
    {
      zone: 'sample',
      q: 'zzz.example.com.',
      arg: 'example.com.',
      owners: ['www.example.com.', 'example.com.'],
      why: 'after the last name: the wrap-around NSEC',
    },
    {
      zone: 'sample',
      q: 'nope.example.com.',
      arg: 'example.com.',
      owners: ['_25._tcp.mail.example.com.', 'example.com.'],
      why: 'between two owners',
    },
    {
      zone: 'sample',
      q: 'NoPe.EXAMPLE.com.',
      arg: 'example.com.',
      owners: ['_25._tcp.mail.example.com.', 'example.com.'],
      why: 'letter case does not matter',
    },
    {
      zone: 'sample',
      q: '_443._tcp.mail.example.com.',
      arg: '_tcp.mail.example.com.',
      owners: ['_25._tcp.mail.example.com.', 'mail.example.com.'],
      why: 'TLSA name of another port below the ENT _tcp.mail',
    },
    {
      zone: 'sample',
      q: 'x.www.example.com.',
      arg: 'www.example.com.',
      owners: ['www.example.com.'],
      why: 'below the last owner: one NSEC',
    },
  ];
  it.each(cases)('$q: $why', (c) => {
    expect(owners(nxdomainProof(chainOf(c.zone), n(c.q), n(c.arg!)))).toEqual(c.owners);
  });

  it('every returned entry covers its name', () => {
    const proof = nxdomainProof(sampleChain, n('zzz.example.com.'), n('example.com.'));
    expect(covers(proof[0]!, n('zzz.example.com.'), sampleChain)).toBe(true);
    expect(covers(proof[1]!, n('*.example.com.'), sampleChain)).toBe(true);
  });

  it('throws when the qname or the wildcard owns an NSEC (not an NXDOMAIN)', () => {
    expect(() => nxdomainProof(sampleChain, n('mail.example.com.'), n('example.com.'))).toThrow(/owns an NSEC/);
    expect(() => nxdomainProof(sampleChain, n('a.b.apps.example.com.'), n('apps.example.com.'))).toThrow(
      /owns an NSEC/,
    );
  });
});

describe('nodataProof (RFC 4035 §3.1.3.1): own NSEC, or the cover of an empty non-terminal', () => {
  const cases: ProofCase[] = [
    { zone: 'rfc4592', q: 'host1.example.', owners: ['host1.example.'], why: 'RFC 4592 §2.2.1: host1 MX' },
    { zone: 'rfc4592', q: 'sub.*.example.', owners: ['sub.*.example.'], why: 'RFC 4592 §2.2.1: sub.*.example MX' },
    {
      zone: 'rfc4592',
      q: '_tcp.host1.example.',
      owners: ['host1.example.'],
      why: 'RFC 4592 §2.2.1: the ENT _tcp.host1; next name _ssh._tcp.host1 is below it',
    },
    {
      zone: 'rfc4592',
      q: 'host2.example.',
      owners: ['_ssh._tcp.host1.example.'],
      why: "ENT host2: the cover's next name _ssh._tcp.host2 is below it",
    },
    {
      zone: 'rfc4592',
      q: 'subdel.example.',
      owners: ['subdel.example.'],
      why: 'insecure cut: NS without DS in the bitmap proves no DS',
    },
    { zone: 'rfc4592', q: 'example.', owners: ['example.'], why: 'DS at the apex: NODATA there' },
    {
      zone: 'sample',
      q: '_tcp.mail.example.com.',
      owners: ['mail.example.com.'],
      why: 'the ENT _tcp.<mx-host>: NOERROR, never NXDOMAIN',
    },
    {
      zone: 'sample',
      q: '_TCP.Mail.example.com.',
      owners: ['mail.example.com.'],
      why: 'the ENT in another letter case',
    },
    { zone: 'sample', q: '_tls.example.com.', owners: ['_dmarc.example.com.'], why: 'ENT _tls above _smtp._tls' },
    {
      zone: 'sample',
      q: 'apps.example.com.',
      owners: ['_smtp._tls.example.com.'],
      why: 'ENT parent of the wildcard *.apps',
    },
    { zone: 'sample', q: 'sub.example.com.', owners: ['sub.example.com.'], why: 'secure cut: its NSEC lists DS' },
    { zone: 'sample', q: 'www.example.com.', owners: ['www.example.com.'], why: 'the last owner' },
  ];
  it.each(cases)('$q: $why', (c) => {
    const proof = nodataProof(chainOf(c.zone), n(c.q));
    expect(owners(proof)).toEqual(c.owners);
  });

  it('the ENT cover really proves existence: its next name is below the ENT', () => {
    const [cover] = nodataProof(sampleChain, n('_tcp.mail.example.com.'));
    expect(nameToText(cover!.next)).toBe('_25._tcp.mail.example.com.');
    expect(covers(cover!, n('_tcp.mail.example.com.'), sampleChain)).toBe(true);
  });

  it('throws for a name that does not exist (that is an NXDOMAIN)', () => {
    expect(() => nodataProof(sampleChain, n('nope.example.com.'))).toThrow(
      /neither an owner nor an empty non-terminal/,
    );
    expect(() => nodataProof(rfcChain, n('host3.example.'))).toThrow(/neither/);
  });
});

describe('wildcardAnswerProof (RFC 4035 §3.1.3.3): the next-closer cover', () => {
  const cases: ProofCase[] = [
    {
      zone: 'rfc4592',
      q: 'host3.example.',
      arg: '*.example.',
      owners: ['_ssh._tcp.host2.example.'],
      why: 'RFC 4592 §2.2.1: host3 MX from *.example',
    },
    {
      zone: 'rfc4592',
      q: 'foo.bar.example.',
      arg: '*.example.',
      owners: ['sub.*.example.'],
      why: 'RFC 4592 §2.2.1: foo.bar TXT; next closer bar.example',
    },
    {
      zone: 'rfc4592',
      q: 'zzz.example.',
      arg: '*.example.',
      owners: ['subdel.example.'],
      why: 'after the last name: wrap-around cover',
    },
    {
      zone: 'sample',
      q: 'x.apps.example.com.',
      arg: '*.apps.example.com.',
      owners: ['*.apps.example.com.'],
      why: "the wildcard's own NSEC covers the next closer",
    },
    {
      zone: 'sample',
      q: 'a.b.c.apps.example.com.',
      arg: '*.apps.example.com.',
      owners: ['*.apps.example.com.'],
      why: 'several labels below: next closer c.apps',
    },
    {
      zone: 'sample',
      q: 'A.Apps.Example.Com.',
      arg: '*.apps.example.com.',
      owners: ['*.apps.example.com.'],
      why: 'letter case does not matter',
    },
  ];
  it.each(cases)('$q: $why', (c) => {
    expect(owners(wildcardAnswerProof(chainOf(c.zone), n(c.q), n(c.arg!)))).toEqual(c.owners);
  });

  it('throws for a non-wildcard, a qname outside the wildcard, or an existing next closer', () => {
    expect(() => wildcardAnswerProof(sampleChain, n('x.apps.example.com.'), n('mail.example.com.'))).toThrow(
      /not a wildcard/,
    );
    expect(() => wildcardAnswerProof(sampleChain, n('x.example.com.'), n('*.apps.example.com.'))).toThrow(
      /is not below/,
    );
    expect(() => wildcardAnswerProof(sampleChain, n('apps.example.com.'), n('*.apps.example.com.'))).toThrow(
      /is not below/,
    );
    expect(() => wildcardAnswerProof(rfcChain, n('x.host1.example.'), n('*.example.'))).toThrow(/owns an NSEC/);
  });
});

describe('wildcardNodataProof (RFC 4035 §3.1.3.4): next-closer cover + the wildcard NSEC', () => {
  const cases: ProofCase[] = [
    {
      zone: 'rfc4592',
      q: 'host3.example.',
      arg: '*.example.',
      owners: ['_ssh._tcp.host2.example.', '*.example.'],
      why: 'RFC 4592 §2.2.1: host3 A',
    },
    {
      zone: 'rfc4592',
      q: 'foo.bar.example.',
      arg: '*.example.',
      owners: ['sub.*.example.', '*.example.'],
      why: 'next closer bar.example',
    },
    {
      zone: 'sample',
      q: 'x.apps.example.com.',
      arg: '*.apps.example.com.',
      owners: ['*.apps.example.com.'],
      why: 'one NSEC does both',
    },
  ];
  it.each(cases)('$q: $why', (c) => {
    expect(owners(wildcardNodataProof(chainOf(c.zone), n(c.q), n(c.arg!)))).toEqual(c.owners);
  });

  it('a wildcard that is an empty non-terminal is proven by its cover', () => {
    const z = zoneFromYaml(
      'entwild.test.yaml',
      `origin: entwild.test.
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 300 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.1 }
  x.*: { TXT: below the wildcard }
`,
    );
    const chain = buildNsecChain(z, { ttl: z.negativeTtl });
    expect(owners(chain.entries)).toEqual(['entwild.test.', 'x.*.entwild.test.', 'ns1.entwild.test.']);
    expect(owners(wildcardNodataProof(chain, n('foo.entwild.test.'), n('*.entwild.test.')))).toEqual([
      'x.*.entwild.test.',
      'entwild.test.',
    ]);
  });
});
