/**
 * Layer 2 of the codec tests: ONE round-trip harness over every type of the descriptor table (rdata/descriptors.ts).
 * For each case: text -> wire -> text equals the expected kdig-style text (whitespace-normalised; the expected
 * strings were checked against `kdig` 3.2.6 output for the same zone data), the wire survives a message
 * encode -> decode unchanged at a non-zero offset (after a question and another RR, names compressed where
 * allowed), and the printed text parses back to the same wire.
 */
import { describe, expect, it } from 'vitest';
import { WireError } from '../../../src/wire/errors.js';
import { decodeMessage, encodeMessage, type Message } from '../../../src/wire/message.js';
import { parseName } from '../../../src/wire/name.js';
import { describedTypes, rdataFromText, rdataToText } from '../../../src/wire/rdata.js';
import { CLASS_IN, T, typeFromText, typeToText } from '../../../src/wire/types.js';

const ORIGIN = parseName('example.com.');

/** [type, input, expected output (null: same as input)] */
export const CASES: [string, string, string | null][] = [
  ['A', '192.0.2.53', null],
  ['NS', 'ns1', 'ns1.example.com.'],
  ['MD', 'md.example.net.', null],
  ['MF', 'mf.example.net.', null],
  ['CNAME', '@', 'example.com.'],
  [
    'SOA',
    'ns1 hostmaster.example.com. 2024010101 7200 3600 1209600 300',
    'ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300',
  ],
  ['MB', 'mb.example.com.', null],
  ['MG', 'mg.example.com.', null],
  ['MR', 'mr.example.com.', null],
  ['PTR', 'ptr.example.com.', null],
  ['HINFO', '"PC-Intel" "Linux 6"', null],
  ['MINFO', 'rm.example.com. em.example.com.', null],
  ['MX', '10 mail', '10 mail.example.com.'],
  ['TXT', '"v=spf1 mx -all" "second \\"q\\" \\\\ back" "tab\\009x\\255y"', null],
  ['TXT', '""', null],
  ['TXT', '"semi;colon (paren) @at $dollar \'q\' \\127 ~ {}"', null],
  ['TXT', '"a\\"b" unquoted\\ sp', '"a\\"b" "unquoted sp"'],
  ['RP', 'mbox.example.com. txt.example.com.', null],
  ['AFSDB', '1 afs.example.com.', null],
  ['RT', '10 relay.example.com.', null],
  ['PX', '10 map822.example.com. mapx400.example.com.', null],
  ['AAAA', '2001:db8::1', null],
  ['AAAA', '2001:0DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['AAAA', '::ffff:192.0.2.1', null],
  ['AAAA', '::', null],
  ['LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m', '52 22 23 N 4 53 32 E -2m 0m 10000m 10m'],
  ['LOC', '42 21 54 N 71 06 18 W -24m 30m', '42 21 54 N 71 6 18 W -24m 30m 10000m 10m'],
  [
    'LOC',
    '90 S 180 W 42849672.95m 90000000m 90000000m 90000000m',
    '90 0 0 S 180 0 0 W 42849672.95m 90000000m 90000000m 90000000m',
  ],
  ['LOC', '52 22 23.5 N 4 53 32.123 E 2.5m 1.5m 0.1m 25m', '52 22 23.500 N 4 53 32.123 E 2.50m 1m 0.10m 20m'],
  ['LOC', '1 2 N 3 4 W 0.01m 0m 0m 0m', '1 2 0 N 3 4 0 W 0.01m 0m 0m 0m'],
  ['LOC', '1 S 3 E -100000.00m', '1 0 0 S 3 0 0 E -100000m 1m 10000m 10m'],
  ['SRV', '10 60 5060 sip.example.com.', null],
  ['NAPTR', '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.', null],
  ['NAPTR', '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .', null],
  ['KX', '10 kx.example.com.', null],
  ['CERT', '1 12345 8 AQID', null],
  ['DNAME', 'd.example.net.', null],
  [
    'DS',
    '12345 13 2 3f1be2f2d0c7e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708e9',
    '12345 13 2 3F1BE2F2D0C7E1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708E9',
  ],
  [
    'DS',
    '12345 13 2 3F1BE2F2D0C7E1A2 B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708E9',
    '12345 13 2 3F1BE2F2D0C7E1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708E9',
  ],
  ['CDS', '0 0 0 00', null],
  ['DLV', '1 13 2 AABB', null],
  [
    'SSHFP',
    '4 2 0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8ff',
    '4 2 0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8FF',
  ],
  [
    'RRSIG',
    'A 13 2 300 20240201000000 20240101000000 12345 example.com. mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
    null,
  ],
  [
    'RRSIG',
    'TYPE1234 13 2 300 1706745600 1704067200 12345 Example.COM. AQID',
    'TYPE1234 13 2 300 20240201000000 20240101000000 12345 Example.COM. AQID',
  ],
  ['SIG', 'A 5 2 300 20240201000000 20240101000000 1 example.com. AQID', null],
  ['NSEC', 'a.example.com. A MX RRSIG NSEC TYPE1234', null],
  ['NSEC', 'a.example.com.', null],
  ['DNSKEY', '257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==', null],
  [
    'DNSKEY',
    '256 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dx CjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
    '256 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
  ],
  ['CDNSKEY', '0 3 0 AA==', null],
  ['KEY', '256 3 5 AQID', null],
  ['DHCID', 'AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=', null],
  [
    'NSEC3',
    '1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG',
    '1 1 12 AABBCCDD 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG',
  ],
  ['NSEC3', '1 0 0 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S', '1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s'],
  ['NSEC3PARAM', '1 0 0 -', null],
  ['NSEC3PARAM', '1 0 10 CAFE', null],
  [
    'TLSA',
    '3 1 1 0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8ff',
    '3 1 1 0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8FF',
  ],
  ['SMIMEA', '3 1 1 0a1b', '3 1 1 0A1B'],
  ['OPENPGPKEY', 'AQID', null],
  ['CSYNC', '66 3 A NS AAAA', null],
  [
    'ZONEMD',
    '2018031500 1 1 FEBE3D4CE2EC2FFA4BA99D46CD69D6D29711E55217057BEE7EB1A7B641A47BA7FED2DD5B97AE499FAFA4F22C6BD647DE',
    null,
  ],
  ['SVCB', '0 foo.example.com.', null],
  ['SVCB', '1 .', null],
  ['SVCB', '16 foo.example.com. port=53', null],
  ['SVCB', '1 foo.example.com. key667=hello', '1 foo.example.com. key667="hello"'],
  ['SVCB', '1 foo.example.com. key667="hello\\210qoo"', null],
  [
    'SVCB',
    '1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
    '1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1',
  ],
  [
    'SVCB',
    '1 example.com. ipv6hint="2001:db8:122:344::192.0.2.33"',
    '1 example.com. ipv6hint=2001:db8:122:344::c000:221',
  ],
  [
    'SVCB',
    '16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)',
    '16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1',
  ],
  ['SVCB', '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"', '16 foo.example.org. alpn=f\\\\\\\\oo\\\\,bar,h2'],
  ['SVCB', '1 . key65534="\\000\\001 x"', null],
  ['SVCB', '4 . mandatory=key65000,port key65000="" port=1', '4 . mandatory=port,key65000 port=1 key65000'],
  ['SVCB', '5 . alpn="a b",c', null],
  ['SVCB', '6 . key65000', null],
  [
    'HTTPS',
    '1 . alpn=h3,h2 no-default-alpn ech=AEP+DQA/BQAgACBP2zsCFSvrW9cOvvE7PQqYUMgCDdW8XfMMOSWu72+4JQAEAAEAAQAQY2xvdWRmbGFyZS1lY2guY29tAAA= ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1 port=8443',
    '1 . alpn=h3,h2 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AEP+DQA/BQAgACBP2zsCFSvrW9cOvvE7PQqYUMgCDdW8XfMMOSWu72+4JQAEAAEAAQAQY2xvdWRmbGFyZS1lY2guY29tAAA= ipv6hint=2001:db8::1',
  ],
  ['HTTPS', '1 . alpn=h2 dohpath="/dns-query{?dns}" ohttp', '1 . alpn=h2 dohpath="/dns-query{?dns}" ohttp'],
  ['SPF', '"v=spf1 -all"', null],
  ['L32', '10 10.1.2.0', null],
  ['LP', '10 l64-subnet1.example.com.', null],
  ['EUI48', '00-00-5e-00-53-2a', '00-00-5E-00-53-2A'],
  ['EUI64', '00-00-5e-ef-10-00-00-2a', '00-00-5E-EF-10-00-00-2A'],
  ['URI', '10 1 "https://www.example.com/path"', null],
  ['CAA', '0 issue "letsencrypt.org"', null],
  ['CAA', '128 tbs "Unknown; \\"x\\""', null],
  ['CAA', '0 iodef "mailto:a@b.c"', null],
  ['CAA', '0 issue ";"', null],
  ['TYPE65400', '\\# 4 0A000001', null],
  ['TYPE65401', '\\# 0', null],
  ['NULL', '\\# 3 010203', null],
  ['A', '\\# 4 C0000201', '192.0.2.1'],
  ['MX', '\\# 5 000A01 6100', '10 a.'],
];

function norm(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

/** A message whose answer holds an unrelated RR first, so the rdata under test sits at a non-zero offset. */
function carrier(type: number, rdata: Uint8Array): Message {
  const owner = parseName('host.example.com.');
  return {
    id: 0x1234,
    flags: 0x8400,
    // Lower case: compression pointers into the question would otherwise carry its spelling into rdata.
    questions: [{ name: parseName('example.com.'), type, class: CLASS_IN }],
    answer: [
      { name: ORIGIN, type: T.A, class: CLASS_IN, ttl: 60, rdata: new Uint8Array([192, 0, 2, 1]) },
      { name: owner, type, class: CLASS_IN, ttl: 300, rdata },
    ],
    authority: [],
    additional: [],
    edns: null,
  };
}

describe('rdata round trip over every type', () => {
  it('covers every described type', () => {
    const covered = new Set(CASES.map(([t]) => typeFromText(t)));
    const missing = describedTypes()
      .filter((t) => !covered.has(t))
      .map(typeToText);
    expect(missing).toEqual([]);
  });

  for (const [typeText, input, expected] of CASES) {
    it(`${typeText} ${input}`, () => {
      const type = typeFromText(typeText);
      const wire = rdataFromText(type, input, ORIGIN);
      const text = rdataToText(type, wire);
      expect(norm(text)).toBe(norm(expected ?? input));
      // Printed text parses back to the same bytes.
      expect(rdataFromText(type, text, null)).toEqual(wire);
      // The generic form of the same bytes is accepted and equal.
      const hex = Buffer.from(wire).toString('hex');
      expect(rdataFromText(type, `\\# ${wire.length} ${hex}`, null)).toEqual(wire);
      // Through a whole message, at a non-zero offset, with compression where the type allows it.
      const { bytes, truncated } = encodeMessage(carrier(type, wire));
      expect(truncated).toBe(false);
      const back = decodeMessage(bytes);
      expect(back.answer[1]!.rdata).toEqual(wire);
      expect(back.answer[1]!.type).toBe(type);
    });
  }
});

describe('rdataFromText errors name the field', () => {
  const bad: [string, string, RegExp][] = [
    ['MX', '10', /^MX\.exchange: missing value/],
    ['MX', 'x mail', /^MX\.preference: /],
    ['MX', '10 mail extra', /^MX: unexpected extra/],
    ['A', '192.0.2', /^A\.address: /],
    ['A', '192.0.2.256', /^A\.address: /],
    ['AAAA', '2001:db8::1::2', /^AAAA\.address: /],
    ['TLSA', '3 1 1 0A1', /^TLSA\.data: odd number/],
    ['TLSA', '3 1 1', /^TLSA\.data: missing value/],
    ['DS', '\\# 4 00010203', /^DS\.digest: empty hex field/],
    ['TLSA', '3 1 256 0A', /^TLSA\.matchingtype: /],
    ['DS', '1 2 3 XYZ0', /^DS\.digest: bad hex/],
    ['DNSKEY', '257 3 13 AQI', /^DNSKEY\.publickey: base64/],
    ['DNSKEY', '257 3 13', /^DNSKEY\.publickey: missing/],
    ['TXT', `"${'x'.repeat(256)}"`, /^TXT\.text: character-string of 256/],
    ['TXT', '"unterminated', /unterminated/],
    ['CAA', '0 is-sue "x"', /^CAA\.tag: /],
    ['SVCB', '1 . alpn', /^SVCB\.params: alpn: alpn needs a value/],
    ['SVCB', '1 . port=1 port=2', /^SVCB\.params: SvcParamKey port appears twice/],
    ['SVCB', '1 . mandatory=port', /^SVCB\.params: mandatory key port is missing/],
    ['SVCB', '1 . no-default-alpn', /^SVCB\.params: no-default-alpn without alpn/],
    ['SVCB', '1 . key65535=x', /^SVCB\.params: unknown SvcParamKey/],
    ['NSEC', 'a. A BOGUS', /^NSEC\.types: unknown RR type "BOGUS"/],
    ['RRSIG', 'A 13 2 300 20241301000000 20240101000000 1 . AQID', /^RRSIG\.expiration: /],
    ['LOC', '91 N 0 E 0m', /^LOC\.location: /],
    ['TYPE65400', '0A000001', /generic form/],
    ['TYPE65400', '\\# 3 0A000001', /length 3 does not match 4/],
    ['A', '\\# 3 0A0000', /^A\.address: /],
    ['MX', '10 a..b', /^MX\.exchange: /],
    ['NS', 'a\\', /trailing backslash/],
  ];
  for (const [t, text, re] of bad) {
    it(`${t} ${text.slice(0, 40)}`, () => {
      let err: unknown;
      try {
        rdataFromText(typeFromText(t), text, ORIGIN);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WireError);
      expect((err as WireError).message).toMatch(re);
    });
  }
});
