import { describe, expect, it } from 'vitest';
import { policyOf } from '../../src/dnssec/zonesign.js';
import { tlsaEntryProblems, tlsaEntryRefs, zoneWithTlsa } from '../../src/tlsa/zone.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { buildZone, soaSerial } from '../../src/zone/build.js';
import { ZoneError, formatProblem, type ZoneProblem } from '../../src/zone/errors.js';
import type { ZoneFileSource } from '../../src/zone/files.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { RRset, Zone } from '../../src/zone/zone.js';

/**
 * Every key of the zone file (docs/zone-format.md): an accepted value has an effect on the built Zone, and a
 * refused value is an error that names the key, with the line of the value. Each case's text comes first in
 * the file (its first line is line 1); the SOA and apex NS a zone needs follow unless the case writes them.
 */

const SOA = 'soa: { mname: ns1, rname: hostmaster }\n';
const RECORDS = 'records:\n  "@":\n    NS: ns1\n  ns1:\n    A: 192.0.2.53\n';

function fileText(section: string): string {
  return section + (/^soa:/m.test(section) ? '' : SOA) + (/^records:/m.test(section) ? '' : RECORDS);
}

function source(section: string): ZoneFileSource {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('z.yaml', fileText(section), problems);
  return { src, problems, defaultOrigin: 'example.com' };
}

function load(section: string): Zone {
  const f = source(section);
  return buildZone(f.src, { defaultOrigin: f.defaultOrigin }, [...f.problems]);
}

/**
 * The zone as served with its automatic TLSA: each `tlsa:` entry's owners get one `3 1 1` record (the
 * certificate files themselves are the TLSA manager's; test/tlsa covers reading them).
 */
function served(section: string): Zone {
  const f = source(section);
  const plain = buildZone(f.src, { defaultOrigin: f.defaultOrigin }, [...f.problems]);
  // As the server loads it (tlsa/zone.ts loadZoneAsServed): the entries' own problems fail the load.
  const problems = tlsaEntryProblems(f, plain);
  if (problems.length > 0) throw new ZoneError([...problems]);
  const sets = tlsaEntryRefs(f, plain).map((r) => ({
    host: r.entry.host,
    ports: r.entry.ports,
    ttl: r.ttl,
    rdatas: [`3 1 1 ${'AB'.repeat(32)}`],
    line: r.entry.line,
  }));
  return zoneWithTlsa(f, plain, sets).zone;
}

function problemsOf(section: string): string[] {
  try {
    served(section);
  } catch (e) {
    if (e instanceof ZoneError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

function rrset(z: Zone, owner: string, type: number): RRset | undefined {
  return [...z.nodes.values()].find((n) => nameToText(n.name) === owner)?.rrsets.get(type);
}

const soaText = (z: Zone): string => rdataToText(T.SOA, z.soa.rdatas[0]!);

/** [key, zone text, the value's visible effect]. */
type Accepted = readonly [string, string, (z: Zone) => void];
/** [key, zone text, every problem, exactly]. */
type Refused = readonly [string, string, readonly string[]];

const accepted: readonly Accepted[] = [
  ['origin', 'origin: example.net.\n', (z) => expect(nameToText(z.origin)).toBe('example.net.')],
  [
    'origin (relative: made absolute)',
    'origin: example.org\n',
    (z) => expect(nameToText(z.origin)).toBe('example.org.'),
  ],
  [
    'ttl',
    'ttl: 2h\n',
    (z) => {
      expect(rrset(z, 'ns1.example.com.', T.A)!.ttl).toBe(7200);
      expect(z.soa.ttl).toBe(7200);
    },
  ],
  ['ttl (seconds)', 'ttl: 90\n', (z) => expect(rrset(z, 'example.com.', T.NS)!.ttl).toBe(90)],
  [
    'soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum',
    'soa:\n  mname: ns9.example.net.\n  rname: host.master@example.com\n  serial: 42\n  refresh: 1h\n  retry: 600\n  expire: 2w\n  minimum: 60\n',
    (z) => {
      expect(soaText(z)).toBe('ns9.example.net. host\\.master.example.com. 42 3600 600 1209600 60');
      expect(z.negativeTtl).toBe(60);
    },
  ],
  [
    'soa.mname and soa.rname relative, soa defaults',
    'soa: { mname: ns1, rname: hostmaster }\n',
    (z) => expect(soaText(z)).toBe('ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300'),
  ],
  [
    'soa.serial: auto (the state directory decides; 1 without one)',
    'soa: { mname: a, rname: b, serial: auto }\n',
    (z) => expect(soaSerial(z.soa.rdatas[0]!)).toBe(1),
  ],
  [
    'soa.ttl',
    'soa: { mname: ns1, rname: h, ttl: 120 }\n',
    (z) => {
      expect(z.soa.ttl).toBe(120);
      expect(z.negativeTtl).toBe(120); // min(SOA TTL, minimum), RFC 2308 §5
      expect(rrset(z, 'example.com.', T.NS)!.ttl).toBe(3600);
    },
  ],
  ['dnssec.enabled: false', 'dnssec:\n  enabled: false\n', (z) => expect(z.dnssec.enabled).toBe(false)],
  ['dnssec.enabled: true', 'dnssec:\n  enabled: true\n', (z) => expect(z.dnssec.enabled).toBe(true)],
  ['dnssec.keys: csk', 'dnssec:\n  keys: csk\n', (z) => expect(z.dnssec.keys).toBe('csk')],
  ['dnssec.keys: ksk-zsk', 'dnssec:\n  keys: ksk-zsk\n', (z) => expect(z.dnssec.keys).toBe('ksk-zsk')],
  ['dnssec.denial: nsec', 'dnssec:\n  denial: nsec\n', (z) => expect(z.dnssec.denial).toBe('nsec')],
  ['dnssec.cds: always', 'dnssec:\n  cds: always\n', (z) => expect(z.dnssec.cds).toBe('always')],
  ['dnssec.cds: never', 'dnssec:\n  cds: never\n', (z) => expect(z.dnssec.cds).toBe('never')],
  ['dnssec.cds: rollover (the default)', 'dnssec:\n', (z) => expect(z.dnssec.cds).toBe('rollover')],
  [
    'dnssec.parent: addresses with and without a port',
    'dnssec:\n  parent: [192.0.2.1, "2001:db8::1@5300"]\n',
    (z) =>
      expect(z.dnssec.parent).toEqual([
        { address: '192.0.2.1', port: 53 },
        { address: '2001:db8::1', port: 5300 },
      ]),
  ],
  [
    'dnssec.parent: one address',
    'dnssec:\n  parent: 127.0.0.1@5353\n',
    (z) => expect(z.dnssec.parent).toEqual([{ address: '127.0.0.1', port: 5353 }]),
  ],
  [
    'dnssec.parent-check, dnssec.margin',
    'dnssec:\n  parent-check: 5m\n  margin: 30s\n',
    (z) => expect([z.dnssec.parentCheck, z.dnssec.margin]).toEqual([300, 30]),
  ],
  [
    'dnssec.zsk-lifetime, dnssec.ksk-lifetime',
    'dnssec:\n  zsk-lifetime: 90d\n  ksk-lifetime: 1w\n',
    (z) => expect([z.dnssec.zskLifetime, z.dnssec.kskLifetime]).toEqual([90 * 86400, 7 * 86400]),
  ],
  [
    'dnssec.zsk-lifetime: 0 is by hand only, as when left out (the zone hashes as before)',
    'dnssec:\n  zsk-lifetime: 0\n  ksk-lifetime: 0\n',
    (z) => {
      expect('zskLifetime' in z.dnssec || 'kskLifetime' in z.dnssec).toBe(false);
      expect(z.contentHash).toBe(load('dnssec:\n  enabled: true\n').contentHash);
    },
  ],
  [
    'dnssec.ksk-lifetime with keys: csk (the CSK follows it); seconds, down to 2 x (DNSKEY TTL + margin)',
    'ttl: 60\ndnssec:\n  keys: csk\n  margin: 5s\n  ksk-lifetime: 130\n',
    (z) => expect([z.dnssec.keys, z.dnssec.kskLifetime, z.dnssec.zskLifetime]).toEqual(['csk', 130, undefined]),
  ],
  [
    'dnssec.zsk-lifetime: the DNSKEY TTL is the SOA TTL',
    'soa: { mname: ns1, rname: hostmaster, ttl: 10 }\ndnssec:\n  margin: 0\n  zsk-lifetime: 20s\n',
    (z) => expect(z.dnssec.zskLifetime).toBe(20),
  ],
  [
    'dnssec.signature-validity, dnssec.refresh-before, dnssec.inception-offset',
    'dnssec:\n  signature-validity: 30d\n  refresh-before: 10d\n  inception-offset: 2h\n',
    (z) => {
      const p = policyOf(z);
      expect([p.validity, p.refreshBefore, p.inceptionOffset]).toEqual([30 * 86400, 10 * 86400, 7200]);
    },
  ],
  [
    'records: one value',
    'records:\n  "@":\n    NS: ns1\n  www:\n    A: 192.0.2.1\n',
    (z) => expect(rrset(z, 'www.example.com.', T.A)!.rdatas.length).toBe(1),
  ],
  [
    'records: TXT "" (one empty character-string)',
    'records:\n  "@":\n    NS: ns1\n  www:\n    TXT: ""\n',
    (z) => expect(Array.from(rrset(z, 'www.example.com.', T.TXT)!.rdatas[0]!)).toEqual([0]),
  ],
  [
    'records: a list of values',
    'records:\n  "@":\n    NS: [ns1, ns2.example.net.]\n',
    (z) => expect(rrset(z, 'example.com.', T.NS)!.rdatas.length).toBe(2),
  ],
  [
    'records: { ttl, values }',
    'records:\n  "@": { NS: { ttl: 5m, values: [ns1, ns2] } }\n',
    (z) => {
      const ns = rrset(z, 'example.com.', T.NS)!;
      expect([ns.ttl, ns.rdatas.length]).toEqual([300, 2]);
    },
  ],
  [
    'records: { value } without a ttl',
    'ttl: 77\nrecords:\n  "@": { NS: { value: ns1 } }\n',
    (z) => expect(rrset(z, 'example.com.', T.NS)!.ttl).toBe(77),
  ],
  [
    'tlsa[].host, tlsa[].ports (default [25]), tlsa[].ttl (default: the zone ttl)',
    'ttl: 600\ntlsa:\n  - host: mail\n    cert: mail.pem\n  - host: smtp.example.com.\n    cert: smtp.pem\n    ports: [465, 587]\n    ttl: 60\n',
    (z) => {
      expect(rrset(z, '_25._tcp.mail.example.com.', T.TLSA)!.ttl).toBe(600);
      expect(rrset(z, '_465._tcp.smtp.example.com.', T.TLSA)!.ttl).toBe(60);
      expect(rrset(z, '_587._tcp.smtp.example.com.', T.TLSA)!.ttl).toBe(60);
      expect(rrset(z, '_25._tcp.smtp.example.com.', T.TLSA)).toBeUndefined();
    },
  ],
  [
    'tlsa[].ports: one port',
    'tlsa:\n  - { host: mail, cert: mail.pem, ports: 587 }\n',
    (z) => expect(z.tlsa[0]!.ports).toEqual([587]),
  ],
  [
    'transfer.allow: key, address (IPv4 prefix, IPv6 prefix, one address), both',
    'transfer:\n  allow:\n    - key: XFR.example\n    - { address: 198.51.100.0/24, key: knot }\n    - address: 2001:db8::/48\n    - address: 192.0.2.7\n',
    (z) =>
      expect(z.transfer.allow.map((a) => [a.key, a.address?.family, a.address?.length, a.line])).toEqual([
        ['xfr.example.', undefined, undefined, 3],
        ['knot.', 4, 24, 4],
        [undefined, 6, 48, 5],
        [undefined, 4, 32, 6],
      ]),
  ],
  ['transfer: none (nobody may transfer)', '', (z) => expect(z.transfer.allow).toEqual([])],
  ['transfer.allow: empty', 'transfer:\n  allow: []\n', (z) => expect(z.transfer.allow).toEqual([])],
  [
    'transfer.notify: IPv4 with port and key, IPv6 as written on port 53',
    'transfer:\n  notify:\n    - { address: 198.51.100.2, port: 5300, key: XFR-key }\n    - address: 2001:db8::53\n',
    (z) =>
      expect(z.transfer.notify).toEqual([
        { address: '198.51.100.2', port: 5300, key: 'xfr-key.', line: 3 },
        { address: '2001:db8::53', port: 53, key: undefined, line: 4 },
      ]),
  ],
  ['transfer.notify: none', 'transfer:\n  allow: []\n', (z) => expect(z.transfer.notify).toEqual([])],
  [
    'update: key and names, types default to TXT',
    'update:\n  - key: ACME\n    names: [_acme-challenge, _acme-challenge.mail]\n',
    (z) =>
      expect(z.update.map((g) => [g.key, [...g.owners], g.types, g.line])).toEqual([
        [
          'acme.',
          [parseName('_acme-challenge.example.com.').key, parseName('_acme-challenge.mail.example.com.').key],
          [T.TXT],
          2,
        ],
      ]),
  ],
  [
    'update: types listed, one name as a single value',
    'update:\n  - { key: acme, names: _acme-challenge, types: [TXT, CNAME] }\n',
    (z) => expect(z.update.map((g) => g.types)).toEqual([[T.TXT, T.CNAME]]),
  ],
  ['update: none (nobody may update)', '', (z) => expect(z.update).toEqual([])],
  [
    'transfer.check: bare addresses and a mapping with port and key',
    'transfer:\n  check: [203.0.113.53, 2001:db8::53]\n  notify:\n    - address: 192.0.2.9\n',
    (z) =>
      expect(z.transfer.check).toEqual([
        { address: '203.0.113.53', port: 53, key: undefined, line: 2 },
        { address: '2001:db8::53', port: 53, key: undefined, line: 2 },
      ]),
  ],
  [
    'transfer.check: a mapping entry',
    'transfer:\n  check:\n    - { address: 198.51.100.7, port: 5353, key: watch }\n',
    (z) => expect(z.transfer.check).toEqual([{ address: '198.51.100.7', port: 5353, key: 'watch.', line: 3 }]),
  ],
  ['transfer.check: none', 'transfer:\n  allow: []\n', (z) => expect(z.transfer.check ?? []).toEqual([])],
];

const refused: readonly Refused[] = [
  [
    'unknown top-level key',
    'recrods: {}\n',
    ['z.yaml:1: unknown key "recrods" (expected one of: origin, ttl, soa, dnssec, records, tlsa, transfer, update)'],
  ],
  ['origin: empty', 'origin: ""\n', ['z.yaml:1: origin: expected a value, not ""']],
  ['origin: a list', 'origin: [a, b]\n', ['z.yaml:1: origin: expected a single value']],
  ['origin: not a name', 'ttl: 60\norigin: a..b\n', ['z.yaml:2: origin "a..b": empty label in "a..b."']],
  ['ttl: not a duration', 'ttl: 1x\n', ['z.yaml:1: ttl: "1x" is not a number of seconds or a duration like 1h, 14d']],
  [
    'ttl: over 2^31 - 1',
    'ttl: 2147483648\n',
    ['z.yaml:1: ttl: "2147483648" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'soa: not a mapping',
    'soa: ns1\n',
    ['z.yaml:1: soa: expected a mapping', 'z.yaml:1: soa.mname is required', 'z.yaml:1: soa.rname is required'],
  ],
  [
    'soa.mname, soa.rname: not names',
    `soa:\n  mname: a..b\n  rname: ${'x'.repeat(64)}@example.com\n`,
    [
      'z.yaml:2: soa.mname "a..b": empty label in "a..b"',
      `z.yaml:3: soa.rname "${'x'.repeat(64)}@example.com": label longer than 63 octets in "${'x'.repeat(64)}.example.com."`,
    ],
  ],
  ['soa.mname: missing', 'soa:\n  rname: h\n', ['z.yaml:1: soa.mname is required']],
  ['soa.mname: empty', 'soa:\n  mname: ""\n  rname: h\n', ['z.yaml:2: soa.mname: expected a value, not ""']],
  [
    'soa.rname: two @',
    'soa:\n  mname: ns1\n  rname: a@b@example.com\n',
    ['z.yaml:3: soa.rname: "a@b@example.com" is not a domain name or an e-mail address'],
  ],
  [
    'soa.serial: negative',
    'soa:\n  mname: a\n  rname: b\n  serial: -1\n',
    ['z.yaml:4: soa.serial: "-1" is not "auto" or a number 0..4294967295'],
  ],
  [
    'soa.serial: over 32 bits',
    'soa: { mname: a, rname: b, serial: 4294967296 }\n',
    ['z.yaml:1: soa.serial: "4294967296" is not "auto" or a number 0..4294967295'],
  ],
  [
    'soa.refresh',
    'soa:\n  mname: a\n  rname: b\n  refresh: soon\n',
    ['z.yaml:4: soa.refresh: "soon" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'soa.retry',
    'soa: { mname: a, rname: b, retry: 1y }\n',
    ['z.yaml:1: soa.retry: "1y" is not a number of seconds or a duration like 1h, 14d'],
  ],
  ['soa.expire', 'soa: { mname: a, rname: b, expire: [1] }\n', ['z.yaml:1: soa.expire: expected a single value']],
  [
    'soa.minimum',
    'soa: { mname: a, rname: b, minimum: "-5" }\n',
    ['z.yaml:1: soa.minimum: "-5" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'soa.ttl',
    'soa: { mname: a, rname: b, ttl: 1.5 }\n',
    ['z.yaml:1: soa.ttl: "1.5" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'soa: unknown field',
    'soa:\n  mname: a\n  rname: b\n  negative: 60\n',
    [
      'z.yaml:4: soa: unknown field "negative" (expected one of: mname, rname, serial, refresh, retry, expire, minimum, ttl)',
    ],
  ],
  ['dnssec: not a mapping', 'dnssec: off\n', ['z.yaml:1: dnssec: expected a mapping']],
  ['dnssec.enabled: yes', 'dnssec:\n  enabled: yes\n', ['z.yaml:2: dnssec.enabled: expected true or false, not "yes"']],
  ['dnssec.keys', 'dnssec:\n  keys: zsk\n', ['z.yaml:2: dnssec.keys: expected ksk-zsk or csk, not "zsk"']],
  [
    'dnssec.denial: nsec3',
    'dnssec:\n  denial: nsec3\n',
    ['z.yaml:2: dnssec.denial: expected nsec or compact, not "nsec3"'],
  ],
  [
    'dnssec.denial: compact (RFC 9824)',
    'dnssec:\n  enabled: true\n  denial: compact\n',
    ['z.yaml:3: dnssec.denial: compact is not supported yet'],
  ],
  [
    'dnssec.signature-validity',
    'dnssec:\n  signature-validity: 2 weeks\n',
    ['z.yaml:2: dnssec.signature-validity: "2 weeks" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'dnssec.refresh-before: not shorter than the validity',
    'dnssec:\n  refresh-before: 14d\n',
    ['z.yaml:1: dnssec.refresh-before must be shorter than dnssec.signature-validity'],
  ],
  [
    'dnssec.inception-offset: 68 years with the validity',
    'dnssec:\n  inception-offset: 2147000000\n',
    ['z.yaml:1: dnssec.inception-offset + dnssec.signature-validity must be less than 68 years'],
  ],
  ['dnssec.cds', 'dnssec:\n  cds: yes\n', ['z.yaml:2: dnssec.cds: expected rollover or always or never, not "yes"']],
  [
    'dnssec.parent: not an address',
    'dnssec:\n  parent:\n    - ns1.example.net\n',
    ['z.yaml:3: dnssec.parent: "ns1.example.net": not an IPv4 or IPv6 address (ADDRESS or ADDRESS@PORT)'],
  ],
  [
    'dnssec.parent: port out of range, listed twice',
    'dnssec:\n  parent: [192.0.2.1@70000, 192.0.2.2, 192.0.2.2@53]\n',
    [
      'z.yaml:2: dnssec.parent: "192.0.2.1@70000": the port is not 1..65535',
      'z.yaml:2: dnssec.parent: "192.0.2.2@53" is listed twice',
    ],
  ],
  [
    'dnssec.parent-check: zero',
    'dnssec:\n  parent-check: 0\n',
    ['z.yaml:2: dnssec.parent-check: must be at least 1 second'],
  ],
  [
    'dnssec.margin',
    'dnssec:\n  margin: soon\n',
    ['z.yaml:2: dnssec.margin: "soon" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'dnssec.zsk-lifetime: not a duration',
    'dnssec:\n  zsk-lifetime: quarterly\n',
    ['z.yaml:2: dnssec.zsk-lifetime: "quarterly" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'dnssec.zsk-lifetime with keys: csk',
    'dnssec:\n  keys: csk\n  zsk-lifetime: 90d\n',
    ['z.yaml:3: dnssec.zsk-lifetime: the zone has one key (keys: csk), which follows dnssec.ksk-lifetime'],
  ],
  [
    'dnssec.zsk-lifetime: shorter than a rollover (the defaults: TTL 1h, margin 1h)',
    'dnssec:\n  zsk-lifetime: 1h\n',
    [
      'z.yaml:2: dnssec.zsk-lifetime: 3600 s is shorter than a rollover takes; at least 14400 s (2 x (DNSKEY TTL 3600 s + margin 3600 s)), or 0 for rollovers by hand only',
    ],
  ],
  [
    'dnssec.ksk-lifetime: shorter than a rollover by one second',
    'ttl: 60\ndnssec:\n  margin: 5s\n  ksk-lifetime: 129\n',
    [
      'z.yaml:4: dnssec.ksk-lifetime: 129 s is shorter than a rollover takes; at least 130 s (2 x (DNSKEY TTL 60 s + margin 5 s)), or 0 for rollovers by hand only',
    ],
  ],
  [
    'dnssec: unknown field',
    'dnssec:\n  algorithm: 13\n',
    [
      'z.yaml:2: dnssec: unknown field "algorithm" (expected one of: enabled, denial, keys, signature-validity, refresh-before, inception-offset, cds, parent, parent-check, margin, zsk-lifetime, ksk-lifetime)',
    ],
  ],
  [
    'records: not a mapping',
    'records: [a]\n',
    ['z.yaml:1: records: expected a mapping', 'z.yaml:2: the apex example.com. needs NS records'],
  ],
  ['records: an owner without types', `${RECORDS}  www:\n`, ['z.yaml:6: records: "www" has no types']],
  ['records: an owner with {}', `${RECORDS}  www: {}\n`, ['z.yaml:6: records: "www" has no types']],
  [
    'records: a TXT without a value (a quoted "" is the empty text)',
    `${RECORDS}  www:\n    TXT:\n`,
    ['z.yaml:7: www TXT: no value'],
  ],
  [
    'records: value: without a value',
    `${RECORDS}  www:\n    A:\n      ttl: 60\n      value:\n`,
    ['z.yaml:9: www A: no value'],
  ],
  ['records: a type without a value', `${RECORDS}  www:\n    A:\n`, ['z.yaml:7: www A: no value']],
  ['records: an empty list', `${RECORDS}  www:\n    A: []\n`, ['z.yaml:7: www A: empty list of values']],
  [
    'records: a value that is a list',
    `${RECORDS}  www:\n    A: [[192.0.2.1]]\n`,
    ['z.yaml:7: www A: each value must be a single string'],
  ],
  [
    'records: ttl not a duration',
    `${RECORDS}  www:\n    A: { ttl: soon, value: 192.0.2.1 }\n`,
    ['z.yaml:7: www A: ttl: "soon" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'records: ttl twice',
    `${RECORDS}  www:\n    A:\n      ttl: 60\n      ttl: 70\n      value: 192.0.2.1\n`,
    ['z.yaml:9: www A: duplicate key "ttl" (first at line 8)'],
  ],
  [
    'records: value and values',
    `${RECORDS}  www:\n    A:\n      value: 192.0.2.1\n      values: [192.0.2.2]\n`,
    ['z.yaml:9: www A: "values" and "value" given, expected one of them'],
  ],
  [
    'records: no value(s)',
    `${RECORDS}  www:\n    A: { ttl: 60 }\n`,
    ['z.yaml:7: www A: "values" (or "value") is required'],
  ],
  [
    'records: unknown field',
    `${RECORDS}  www:\n    A: { vals: [192.0.2.1] }\n`,
    [
      'z.yaml:7: www A: unknown field "vals" (expected ttl, value or values)',
      'z.yaml:7: www A: "values" (or "value") is required',
    ],
  ],
  ['tlsa: not a list', 'tlsa: { host: mail }\n', ['z.yaml:1: tlsa: expected a list of entries']],
  [
    'tlsa[]: not a mapping',
    'tlsa:\n  - mail\n',
    [
      'z.yaml:2: tlsa[0]: expected a mapping',
      'z.yaml:2: tlsa[0].host is required',
      'z.yaml:2: tlsa[0].cert is required',
    ],
  ],
  [
    'tlsa[].host: outside the zone',
    'tlsa:\n  - { host: mail.example.net., cert: a.pem }\n',
    ['z.yaml:2: tlsa host mail.example.net. is outside the zone example.com.'],
  ],
  [
    'tlsa[].host: listed twice',
    'tlsa:\n  - { host: mail, cert: a.pem }\n  - { host: mail.example.com., cert: b.pem, ports: 465 }\n',
    ['z.yaml:3: tlsa host mail.example.com. is already listed (line 2): give one entry with every port'],
  ],
  ['tlsa[].host: missing', 'tlsa:\n  - cert: mail.pem\n', ['z.yaml:2: tlsa[0].host is required']],
  ['tlsa[].cert: empty', 'tlsa:\n  - host: mail\n    cert: ""\n', ['z.yaml:3: tlsa[0].cert: expected a value, not ""']],
  [
    'tlsa[].next: empty',
    'tlsa:\n  - host: mail\n    cert: a.pem\n    next: ""\n',
    ['z.yaml:4: tlsa[0].next: expected a value, not ""'],
  ],
  [
    'tlsa[].ports: empty',
    'tlsa:\n  - { host: mail, cert: a.pem, ports: [] }\n',
    ['z.yaml:2: tlsa[0].ports: expected at least one port'],
  ],
  [
    'tlsa[].ports: 0',
    'tlsa:\n  - { host: mail, cert: a.pem, ports: 0 }\n',
    ['z.yaml:2: tlsa[0].ports: "0" is not a port number (1-65535)'],
  ],
  [
    'tlsa[].ports: a name',
    'tlsa:\n  - host: mail\n    cert: a.pem\n    ports:\n      - 25\n      - smtp\n',
    ['z.yaml:6: tlsa[0].ports: "smtp" is not a port number (1-65535)'],
  ],
  [
    'tlsa[].ports: twice',
    'tlsa:\n  - { host: mail, cert: a.pem, ports: [25, 25] }\n',
    ['z.yaml:2: tlsa[0].ports: 25 is listed twice'],
  ],
  [
    'tlsa[].ttl',
    'tlsa:\n  - { host: mail, cert: a.pem, ttl: 5 minutes }\n',
    ['z.yaml:2: tlsa[0].ttl: "5 minutes" is not a number of seconds or a duration like 1h, 14d'],
  ],
  [
    'tlsa[].issuer: yes',
    'tlsa:\n  - host: mail\n    cert: a.pem\n    issuer: yes\n',
    ['z.yaml:4: tlsa[0].issuer: expected true or false, not "yes"'],
  ],
  [
    'tlsa[].issuer: 1 (second entry)',
    'tlsa:\n  - { host: mail, cert: a.pem }\n  - { host: mx, cert: b.pem, issuer: 1 }\n',
    ['z.yaml:3: tlsa[1].issuer: expected true or false, not "1"'],
  ],
  [
    'tlsa[]: unknown field',
    'tlsa:\n  - host: mail\n    cert: a.pem\n    port: 25\n',
    ['z.yaml:4: tlsa[0]: unknown field "port" (expected one of: host, cert, next, ports, ttl, issuer)'],
  ],
  ['transfer: not a mapping', 'transfer: all\n', ['z.yaml:1: transfer: expected a mapping']],
  [
    'transfer: unknown field',
    'transfer:\n  also-notify: [192.0.2.1]\n',
    ['z.yaml:2: transfer: unknown field "also-notify" (expected one of: allow, notify, check)'],
  ],
  [
    'transfer.notify: not a list',
    'transfer:\n  notify: 192.0.2.1\n',
    ['z.yaml:2: transfer.notify: expected a list of entries'],
  ],
  [
    'transfer.notify[]: no address',
    'transfer:\n  notify:\n    - { port: 53 }\n',
    ['z.yaml:3: transfer.notify[0]: expected an address'],
  ],
  [
    'transfer.notify[].address: a prefix is not an address',
    'transfer:\n  notify:\n    - address: 198.51.100.0/24\n',
    ['z.yaml:3: transfer.notify[0].address: "198.51.100.0/24" is not an IPv4 or IPv6 address'],
  ],
  [
    'transfer.notify[].port: out of range (second entry)',
    'transfer:\n  notify:\n    - address: 192.0.2.1\n    - { address: 192.0.2.2, port: 65536 }\n',
    ['z.yaml:4: transfer.notify[1].port: "65536" is not a port 1..65535'],
  ],
  [
    'transfer.notify[].port: not a number',
    'transfer:\n  notify:\n    - { address: 192.0.2.1, port: domain }\n',
    ['z.yaml:3: transfer.notify[0].port: "domain" is not a port 1..65535'],
  ],
  [
    'transfer.notify[].key: not a name',
    'transfer:\n  notify:\n    - { address: 192.0.2.1, key: a..b }\n',
    ['z.yaml:3: transfer.notify[0].key: "a..b" is not a key name: empty label in "a..b"'],
  ],
  [
    'transfer.notify[]: unknown field',
    'transfer:\n  notify:\n    - { address: 192.0.2.1, tsig: xfr }\n',
    ['z.yaml:3: transfer.notify[0]: unknown field "tsig" (expected one of: address, port, key)'],
  ],
  [
    'transfer.check[]: not an address',
    'transfer:\n  check: [ns1.example.net]\n',
    ['z.yaml:2: transfer.check[0].address: "ns1.example.net" is not an IPv4 or IPv6 address'],
  ],
  [
    'transfer.check[]: unknown field',
    'transfer:\n  check:\n    - { address: 192.0.2.1, notify: yes }\n',
    ['z.yaml:3: transfer.check[0]: unknown field "notify" (expected one of: address, port, key)'],
  ],
  ['transfer.allow: not a list', 'transfer:\n  allow: any\n', ['z.yaml:2: transfer.allow: expected a list of entries']],
  ['update: not a list', 'update: acme\n', ['z.yaml:1: update: expected a list of entries']],
  ['update[]: no key', 'update:\n  - names: [x]\n', ['z.yaml:2: update[0].key is required']],
  ['update[]: no names', 'update:\n  - key: acme\n', ['z.yaml:2: update[0].names is required']],
  [
    'update[]: unknown field',
    'update:\n  - { key: acme, names: x, name: y }\n',
    ['z.yaml:2: update[0]: unknown field "name" (expected one of: key, names, types)'],
  ],
  [
    'update[].types: unknown type',
    'update:\n  - { key: acme, names: x, types: [TXTT] }\n',
    ['z.yaml:2: update[0].types: unknown type "TXTT"'],
  ],
  [
    'update[].types: SOA is never updatable',
    'update:\n  - { key: acme, names: "@", types: [SOA] }\n',
    ['z.yaml:2: update[0]: SOA is never updatable'],
  ],
  [
    'update[].types: DNSKEY, CDS and CDNSKEY are never updatable',
    'update:\n  - { key: acme, names: x, types: [DNSKEY, CDS, CDNSKEY] }\n',
    [
      'z.yaml:2: update[0]: DNSKEY is never updatable',
      'z.yaml:2: update[0]: CDS is never updatable',
      'z.yaml:2: update[0]: CDNSKEY is never updatable',
    ],
  ],
  [
    'update[].types: NS at the apex is never updatable',
    'update:\n  - { key: acme, names: "@", types: [NS] }\n',
    ['z.yaml:2: update[0]: NS at the apex is never updatable'],
  ],
  [
    'update[].types: TLSA at an automatic owner of tlsa: is never updatable',
    'tlsa:\n  - { host: mail, cert: c.pem }\nupdate:\n  - { key: acme, names: _25._tcp.mail, types: [TLSA] }\n',
    ['z.yaml:4: update[0]: TLSA at _25._tcp.mail.example.com. is the automatic TLSA of tlsa:, never updatable'],
  ],
  [
    'update[].names: outside the zone',
    'update:\n  - { key: acme, names: _acme-challenge.example.net. }\n',
    ['z.yaml:2: update[0].names: _acme-challenge.example.net. is outside the zone example.com.'],
  ],
  [
    'update: an owner and type it allows also in records: (both lines named)',
    'update:\n  - { key: acme, names: _acme-challenge }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n  _acme-challenge: { TXT: old }\n',
    ['z.yaml:6: _acme-challenge TXT: also allowed to dynamic update by update: (line 2); write it in one place only'],
  ],
  [
    'transfer.allow[]: neither key nor address',
    'transfer:\n  allow:\n    - {}\n',
    ['z.yaml:3: transfer.allow[0]: expected key, address or both'],
  ],
  [
    'transfer.allow[]: unknown field',
    'transfer:\n  allow:\n    - { key: xfr, port: 53 }\n',
    ['z.yaml:3: transfer.allow[0]: unknown field "port" (expected one of: key, address)'],
  ],
  [
    'transfer.allow[].key: not a name',
    'transfer:\n  allow:\n    - key: a..b\n',
    ['z.yaml:3: transfer.allow[0].key: "a..b" is not a key name: empty label in "a..b"'],
  ],
  [
    'transfer.allow[].key: empty',
    'transfer:\n  allow:\n    - key: ""\n',
    ['z.yaml:3: transfer.allow[0].key: expected a value, not ""'],
  ],
  [
    'transfer.allow[].address: not an address (second entry)',
    'transfer:\n  allow:\n    - key: xfr\n    - address: secondary.example.net\n',
    ['z.yaml:4: transfer.allow[1].address: "secondary.example.net" is not an IPv4 or IPv6 address'],
  ],
  [
    'transfer.allow[].address: prefix length too long',
    'transfer:\n  allow:\n    - address: 198.51.100.0/33\n',
    ['z.yaml:3: transfer.allow[0].address: "/33" is not a prefix length 0..32'],
  ],
  [
    'transfer.allow[].address: host bits set',
    'transfer:\n  allow:\n    - address: 2001:db8::1/48\n',
    [
      'z.yaml:3: transfer.allow[0].address: "2001:db8::1/48" has bits set past the prefix length (did you mean 2001:db8::/48?)',
    ],
  ],
  [
    'transfer.allow[].address: a list',
    'transfer:\n  allow:\n    - address: [192.0.2.1, 192.0.2.2]\n',
    ['z.yaml:3: transfer.allow[0].address: expected a single value'],
  ],
];

describe('zone file settings: every accepted value takes effect', () => {
  for (const [key, text, effect] of accepted) it(key, () => effect(served(text)));

  it('tlsa[].cert, tlsa[].next and tlsa[].issuer reach the TLSA manager (paths relative to the zone file)', () => {
    const f = source('tlsa:\n  - host: mail\n    cert: certs/mail.pem\n    next: /keys/next.pem\n    issuer: true\n');
    const [ref] = tlsaEntryRefs(f, load(''));
    expect(ref!.entry.cert).toBe(`${process.cwd()}/certs/mail.pem`);
    expect(ref!.entry.next).toBe('/keys/next.pem');
    // What issuer: true publishes (2 1 1 of the issuing CA) is shown in test/tlsa/manager.test.ts.
    expect(ref!.entry.issuer).toBe(true);
    expect(
      tlsaEntryRefs(source('tlsa:\n  - { host: mail, cert: a.pem, issuer: false }\n'), load(''))[0]!.entry.issuer,
    ).toBe(false);
  });

  it('an empty section is the same as none', () => {
    const z = load('dnssec:\ntlsa: # none yet\n');
    expect(z.dnssec).toEqual(load('').dnssec);
    expect(z.tlsa).toEqual([]);
  });
});

describe('zone file settings: every other value is an error naming the key, with its line', () => {
  for (const [key, text, messages] of refused) it(key, () => expect(problemsOf(text)).toEqual(messages));
});
