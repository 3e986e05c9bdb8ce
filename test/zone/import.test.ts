/**
 * `zone import`: a realistic master file -> our YAML (docs/zone-format.md), checked by reading the YAML back with the
 * failsafe schema (as the loader does) and with the loader's own parseZoneYaml.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { importZone } from '../../src/zone/import.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';

const DKIM1 = 'p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5oIYlMYk8lK3ZVgyWm3r6xPn8jW0Xl4mKcK7oB1dQxTz2m9yH';
const DKIM2 = 'q3pQv0sE7f1C8vGm4kR2uJt6LnY5oZbW8aHcX3dN1eS9iU0rT4yVwF7gP2jK6lM5nB8hA1sD3fQ9zX0cE4vR7tY2uI5oP8aS';

const ZONE = `; example.com, as exported from a BIND server
$TTL 3600
$ORIGIN example.com.
@       IN  SOA ns1.example.com. hostmaster.example.com. (
                2024031501 ; serial
                2h         ; refresh
                1h         ; retry
                2w         ; expire
                300 )      ; negative-caching TTL
        IN  NS   ns1
        IN  NS   ns2.example.net.
        IN  MX   10 mail
        IN  MX   20 mail2.example.net.
        IN  A    192.0.2.1
        IN  AAAA 2001:db8::1
        IN  TXT  "v=spf1 mx -all"
        IN  CAA  0 issue "letsencrypt.org"
        IN  CAA  0 iodef "mailto:security@example.com"
        IN  DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
        IN  RRSIG  SOA 13 2 3600 20240401000000 20240301000000 12345 example.com. abc=
ns1     IN  A    192.0.2.53
mail    300 IN A 192.0.2.25
        300 IN A 192.0.2.26
www         IN CNAME @
*.apps      IN A     192.0.2.80
_dmarc      IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
_smtp._tls  IN TXT   v=TLSRPTv1\\;\\ rua=mailto:tlsrpt@example.com ; escaped ; and blank
sel1._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                         "${DKIM1}"
                         "${DKIM2}" )
_sip._tcp   IN SRV   10 60 5060 sip
_25._tcp.mail IN TLSA 3 1 1 (
                0A1B2C3D4E5F60718293A4B5C6D7E8F9
                0A1B2C3D4E5F60718293A4B5C6D7E8F9 )
; a signed delegation with glue
sub         IN NS    ns1.sub
            IN DS    12345 13 2 3F1B6E2A9C0D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7
ns1.sub     IN A     192.0.2.54
quoted      IN TXT   "say \\"hi\\"" two words
`;

describe('importZone: a realistic zone', () => {
  const r = importZone(ZONE, { file: 'example.com.zone' });

  it('has no problems, and one warning per dropped DNSSEC record', () => {
    expect(r.problems).toEqual([]);
    expect(r.origin).toBe('example.com.');
    expect(r.warnings).toEqual([
      'example.com.zone:19: example.com. DNSKEY dropped: the server generates its own DNSSEC records',
      'example.com.zone:20: example.com. RRSIG dropped: the server generates its own DNSSEC records',
    ]);
  });

  it('reads back (failsafe schema) into the expected structure', () => {
    expect(parse(r.yaml, { schema: 'failsafe' })).toEqual({
      origin: 'example.com.',
      ttl: '3600',
      soa: {
        mname: 'ns1.example.com.',
        rname: 'hostmaster.example.com.',
        serial: '2024031501',
        refresh: '7200',
        retry: '3600',
        expire: '1209600',
        minimum: '300',
      },
      records: {
        '@': {
          NS: ['ns1', 'ns2.example.net.'],
          MX: ['10 mail', '20 mail2.example.net.'],
          A: '192.0.2.1',
          AAAA: '2001:db8::1',
          TXT: '"v=spf1 mx -all"',
          CAA: ['0 issue "letsencrypt.org"', '0 iodef "mailto:security@example.com"'],
        },
        ns1: { A: '192.0.2.53' },
        mail: { A: { ttl: '300', values: ['192.0.2.25', '192.0.2.26'] } },
        www: { CNAME: '@' },
        '*.apps': { A: '192.0.2.80' },
        _dmarc: { TXT: '"v=DMARC1; p=reject; rua=mailto:dmarc@example.com"' },
        '_smtp._tls': { TXT: '"v=TLSRPTv1\\;\\ rua=mailto:tlsrpt@example.com"' },
        'sel1._domainkey': { TXT: `"v=DKIM1; k=rsa; " "${DKIM1}" "${DKIM2}"` },
        '_sip._tcp': { SRV: '10 60 5060 sip' },
        '_25._tcp.mail': { TLSA: '3 1 1 0A1B2C3D4E5F60718293A4B5C6D7E8F9 0A1B2C3D4E5F60718293A4B5C6D7E8F9' },
        sub: { NS: 'ns1.sub', DS: '12345 13 2 3F1B6E2A9C0D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7' },
        'ns1.sub': { A: '192.0.2.54' },
        quoted: { TXT: '"say \\"hi\\"" "two" "words"' },
      },
    });
  });

  it('keeps the key order origin, ttl, soa, records and owners in file order', () => {
    const doc = parse(r.yaml, { schema: 'failsafe' }) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc)).toEqual(['origin', 'ttl', 'soa', 'records']);
    expect(Object.keys(doc.records!)).toEqual([
      '@',
      'ns1',
      'mail',
      'www',
      '*.apps',
      '_dmarc',
      '_smtp._tls',
      'sel1._domainkey',
      '_sip._tcp',
      '_25._tcp.mail',
      'sub',
      'ns1.sub',
      'quoted',
    ]);
  });

  it('is accepted by the zone YAML reader as written', () => {
    const problems: ZoneProblem[] = [];
    const src = parseZoneYaml('example.com.yaml', r.yaml, problems);
    expect(problems).toEqual([]);
    expect(src.origin).toBe('example.com.');
    expect(src.ttl).toBe(3600);
    expect(src.soa).toMatchObject({
      mname: 'ns1.example.com.',
      serial: 2024031501,
      refresh: 7200,
      minimum: 300,
      ttl: undefined,
    });
    expect(src.records.filter((x) => x.owner === 'mail').map((x) => [x.type, x.ttl, x.value])).toEqual([
      ['A', 300, '192.0.2.25'],
      ['A', 300, '192.0.2.26'],
    ]);
    expect(src.records).toHaveLength(23);
  });

  it('keeps long values on one line (no YAML folding)', () => {
    expect(r.yaml.split('\n').some((l) => l.includes(DKIM1) && l.includes(DKIM2))).toBe(true);
  });
});

describe('importZone: details', () => {
  const HEAD =
    '$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n  NS ns1\nns1 A 192.0.2.53\n';
  const load = (body: string, origin?: string) => importZone(HEAD + body, { file: 'z.zone', origin });
  const records = (yaml: string): Record<string, Record<string, unknown>> =>
    (parse(yaml, { schema: 'failsafe' }) as { records: Record<string, Record<string, unknown>> }).records;
  /** Owner keys in document order (a JS object would move integer-like keys such as "1" to the front). */
  const ownerOrder = (yaml: string): string[] => [
    ...(parse(yaml, { schema: 'failsafe', mapAsMap: true }) as Map<string, Map<string, unknown>>)
      .get('records')!
      .keys(),
  ];

  it('YAML-special owners and values read back identically', () => {
    const owners = [
      '*',
      '1',
      '0x1F',
      'true',
      'null',
      '~',
      'yes',
      '-x',
      '?x',
      '!x',
      '&x',
      '%x',
      '|x',
      '>x',
      "'x",
      '`x',
      '#x',
      'a:b',
      '1e3',
      '\\@',
    ];
    const body =
      owners.map((o) => `${o} A 192.0.2.1\n`).join('') + 'c CAA 0 issue "a: b # c"\nc TYPE65400 \\# 1 00\nw CNAME @\n';
    const r = load(body);
    expect(r.problems).toEqual([]);
    const recs = records(r.yaml);
    expect(ownerOrder(r.yaml)).toEqual(['@', 'ns1', ...owners, 'c', 'w']);
    for (const o of owners) expect(recs[o]).toEqual({ A: '192.0.2.1' });
    expect(recs.c).toEqual({ CAA: '0 issue "a: b # c"', TYPE65400: '\\# 1 00' });
    expect(recs.w).toEqual({ CNAME: '@' });
  });

  it('TXT: unquoted words become character-strings, escapes untouched, \\# decoded', () => {
    const r = load('t TXT plain\nu TXT a\\"b c\\032d "\\065"\nv TXT \\# 8 0268690161 00 0100\nw SPF v=spf1 -all\n');
    expect(r.problems).toEqual([]);
    expect(records(r.yaml)).toMatchObject({
      t: { TXT: '"plain"' },
      u: { TXT: '"a\\"b" "c\\032d" "\\065"' },
      v: { TXT: '"hi" "a" "" "\\000"' },
      w: { SPF: '"v=spf1" "-all"' },
    });
  });

  it('zone ttl is the most common RRset TTL; SOA gets ttl: only when it differs', () => {
    const r = importZone(
      '$ORIGIN example.com.\n@ 86400 SOA ns1 hm 1 2 3 4 5\n@ 60 NS ns1\nns1 60 A 192.0.2.1\nns2 60 A 192.0.2.2\nx 120 A 192.0.2.3\n',
      { file: 'z' },
    );
    const doc = parse(r.yaml, { schema: 'failsafe' }) as Record<string, Record<string, unknown>>;
    expect(doc.ttl).toBe('60');
    expect(doc.soa).toMatchObject({ ttl: '86400' });
    expect(doc.records!.x).toEqual({ A: { ttl: '120', values: ['192.0.2.3'] } });
    expect(load('').yaml).not.toMatch(/^ {2}ttl:/m);
  });

  it('origin: from the SOA when not given (even without $ORIGIN), or as given', () => {
    const r = importZone('$TTL 60\nexample.org. SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n', { file: 'z' });
    expect(r.problems).toEqual([]);
    expect(r.origin).toBe('example.org.');
    expect(Object.keys(records(r.yaml))).toEqual(['@', 'ns1']);
    const g = importZone('$TTL 60\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n', { file: 'z', origin: 'example.net' });
    expect(g.origin).toBe('example.net.');
    expect(g.problems).toEqual([]);
  });

  it('an SOA rname "@" is written out absolute (the YAML reads "@" in rname as an e-mail address)', () => {
    const r = importZone('$TTL 60\n$ORIGIN example.org.\n@ SOA @ @ 1 2 3 4 5\n@ NS ns1\n', { file: 'z' });
    expect(parse(r.yaml, { schema: 'failsafe' }).soa).toMatchObject({ mname: '@', rname: 'example.org.' });
  });

  it('a changed $ORIGIN: fine for owners, a problem for relative names in rdata', () => {
    const r = load(
      '$ORIGIN sub.example.com.\n@ NS ns1.sub.example.com.\nns1 A 192.0.2.54\nwww CNAME host\nmx MX 10 mail\nsrv SRV 0 0 443 .\nt TXT relative-looking\n',
    );
    expect(r.problems.map((p) => [p.line, p.reason])).toEqual([
      [9, 'relative names in rdata under a changed $ORIGIN are not supported at line 9 (host): write them absolute'],
      [10, 'relative names in rdata under a changed $ORIGIN are not supported at line 10 (mail): write them absolute'],
    ]);
    expect(records(r.yaml)).toMatchObject({
      sub: { NS: 'ns1.sub.example.com.' },
      'ns1.sub': { A: '192.0.2.54' },
      'srv.sub': { SRV: '0 0 443 .' },
    });
  });

  it('out-of-zone owners are kept absolute with a warning; other classes are problems', () => {
    const r = load('host.example.net. A 192.0.2.9\nv CH TXT "x"\n');
    expect(r.warnings).toEqual([
      'z.zone:6: host.example.net. is outside the zone example.com.: written as is, the loader will reject it',
    ]);
    expect(r.problems.map((p) => p.reason)).toEqual(['v.example.com. TXT: class CH is not supported (only IN)']);
    expect(records(r.yaml)['host.example.net.']).toEqual({ A: '192.0.2.9' });
  });

  it('drops every generated DNSSEC type, keeps CDS/CDNSKEY/DS', () => {
    const r = load(
      '@ NSEC ns1 NS SOA\n@ NSEC3PARAM 1 0 0 -\nx NSEC3 1 0 0 - ABC NS\n@ TYPE48 \\# 4 01010D03\n' +
        '@ CDS 12345 13 2 AABB\n@ CDNSKEY 257 3 13 AAAA\n',
    );
    expect(r.warnings).toHaveLength(4);
    expect(records(r.yaml)['@']).toEqual({ NS: 'ns1', CDS: '12345 13 2 AABB', CDNSKEY: '257 3 13 AAAA' });
  });

  it('problems: no SOA, two SOAs, SOA not at the origin, a meta type', () => {
    expect(importZone('$ORIGIN a.example.\n$TTL 1\n@ NS ns\n', { file: 'z' }).problems.map((p) => p.reason)).toEqual([
      'cannot tell the zone origin: the file has no SOA record and no origin was given',
    ]);
    expect(importZone('$TTL 1\n@ NS ns\n', { file: 'z', origin: 'a.example.' }).problems.map((p) => p.reason)).toEqual([
      'the file has no SOA record',
    ]);
    expect(load('@ SOA ns2 hm 2 2 3 4 5\n').problems.map((p) => [p.line, p.reason])).toEqual([
      [6, 'a second SOA record (the first is at line 3)'],
    ]);
    expect(
      importZone('$TTL 1\nx.a.example. SOA ns hm 1 2 3 4 5\n', { file: 'z', origin: 'a.example.' }).problems[0]!.reason,
    ).toMatch(/not the zone origin/);
    expect(load('x ANY \\# 0\n').problems.map((p) => p.reason)).toEqual([
      'x.example.com. ANY: a meta type cannot be zone data',
    ]);
  });

  it('RRset TTL disagreement: the first TTL wins with a warning; exact duplicates are dropped', () => {
    const r = load('m 60 A 192.0.2.1\nm 120 A 192.0.2.2\nm 60 A 192.0.2.1\n');
    expect(r.warnings).toEqual([
      'z.zone:7: m.example.com. A: TTL 120 differs from TTL 60 of the same RRset (line 6); 60 is used',
    ]);
    expect(records(r.yaml).m).toEqual({ A: { ttl: '60', values: ['192.0.2.1', '192.0.2.2'] } });
  });
});
