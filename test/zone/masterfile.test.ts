/**
 * RFC 1035 §5.1 master file reader: a table of tokenizer/entry cases (parentheses, comments, quotes, blank owners,
 * $TTL/$ORIGIN, TTL/class order, owner completion, RFC 3597 generic forms) and a table of problems.
 */
import { describe, expect, it } from 'vitest';
import { isAbsoluteText, parseMasterFile, splitRdata, type MasterRecord } from '../../src/zone/masterfile.js';

type Rec = Pick<MasterRecord, 'owner' | 'ttl' | 'class' | 'type' | 'rdata'> & { line?: number };

interface Case {
  readonly name: string;
  readonly text: string;
  readonly origin?: string;
  readonly defaultTtl?: number;
  readonly want: readonly Rec[];
}

const ORIGIN = '$ORIGIN example.com.\n$TTL 3600\n';

const CASES: readonly Case[] = [
  {
    name: 'RFC 1035 §5.3 style: parentheses over lines, comments inside',
    text: `${ORIGIN}@ IN SOA VENERA Action\\.domains (
                  20     ; SERIAL
                  7200   ; REFRESH
                  600    ; RETRY
                  3600000; EXPIRE
                  60)    ; MINIMUM
`,
    want: [
      {
        owner: 'example.com.',
        ttl: 3600,
        class: 'IN',
        type: 'SOA',
        rdata: 'VENERA Action\\.domains 20 7200 600 3600000 60',
        line: 3,
      },
    ],
  },
  {
    name: 'blank owner repeats the previous owner',
    text: `${ORIGIN}mail  A 192.0.2.1\n      A 192.0.2.2\n\tAAAA 2001:db8::1\n`,
    want: [
      { owner: 'mail.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.1', line: 3 },
      { owner: 'mail.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.2', line: 4 },
      { owner: 'mail.example.com.', ttl: 3600, class: 'IN', type: 'AAAA', rdata: '2001:db8::1', line: 5 },
    ],
  },
  {
    name: 'TTL and class in either order, or absent',
    text: `${ORIGIN}a 300 IN A 192.0.2.1\nb IN 300 A 192.0.2.2\nc IN A 192.0.2.3\nd 60 A 192.0.2.4\ne A 192.0.2.5\n`,
    want: [
      { owner: 'a.example.com.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'b.example.com.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.2' },
      { owner: 'c.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.3' },
      { owner: 'd.example.com.', ttl: 60, class: 'IN', type: 'A', rdata: '192.0.2.4' },
      { owner: 'e.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.5' },
    ],
  },
  {
    name: 'BIND TTL units, in records and $TTL',
    text: '$ORIGIN example.com.\n$TTL 1d\na 1h30m A 192.0.2.1\nb 2W A 192.0.2.2\nc A 192.0.2.3\n',
    want: [
      { owner: 'a.example.com.', ttl: 5400, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'b.example.com.', ttl: 1209600, class: 'IN', type: 'A', rdata: '192.0.2.2' },
      { owner: 'c.example.com.', ttl: 86400, class: 'IN', type: 'A', rdata: '192.0.2.3' },
    ],
  },
  {
    name: 'no $TTL: the SOA takes its MINIMUM, later records the previous TTL (RFC 1035 §5.1)',
    text: '$ORIGIN example.com.\n@ IN SOA ns1 hm 1 2 3 4 1h\n  NS ns1\nns1 600 A 192.0.2.1\nns2 A 192.0.2.2\n',
    want: [
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'SOA', rdata: 'ns1 hm 1 2 3 4 1h' },
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'NS', rdata: 'ns1' },
      { owner: 'ns1.example.com.', ttl: 600, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'ns2.example.com.', ttl: 600, class: 'IN', type: 'A', rdata: '192.0.2.2' },
    ],
  },
  {
    name: 'opts.defaultTtl when nothing else gives one',
    text: '$ORIGIN example.com.\nwww A 192.0.2.1\n',
    defaultTtl: 120,
    want: [{ owner: 'www.example.com.', ttl: 120, class: 'IN', type: 'A', rdata: '192.0.2.1' }],
  },
  {
    name: 'quoted strings keep ; and \\" and spaces, exactly as written',
    text: `${ORIGIN}@ TXT "v=DMARC1; p=reject" ; a comment\n@ TXT "say \\"hi\\"; ok" bare\\;word "a\\\\"\n`,
    want: [
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'TXT', rdata: '"v=DMARC1; p=reject"' },
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'TXT', rdata: '"say \\"hi\\"; ok" bare\\;word "a\\\\"' },
    ],
  },
  {
    name: 'a TXT split over lines in parentheses (DKIM style)',
    text: `${ORIGIN}sel._domainkey IN TXT ( "v=DKIM1; k=rsa; "\n   "p=MIIBIjAN"   ; first part\n   "BgkqhkiG" )\n`,
    want: [
      {
        owner: 'sel._domainkey.example.com.',
        ttl: 3600,
        class: 'IN',
        type: 'TXT',
        rdata: '"v=DKIM1; k=rsa; " "p=MIIBIjAN" "BgkqhkiG"',
        line: 3,
      },
    ],
  },
  {
    name: 'parentheses in quotes and escaped are data; whitespace is collapsed',
    text: `${ORIGIN}@ CAA 0 issue "ca.example; (policy)"\nx\tIN\tTXT\t\\(x\\)   "( )"\n`,
    want: [
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'CAA', rdata: '0 issue "ca.example; (policy)"' },
      { owner: 'x.example.com.', ttl: 3600, class: 'IN', type: 'TXT', rdata: '\\(x\\) "( )"' },
    ],
  },
  {
    name: 'owners: @, relative, absolute, wildcard, escapes kept, case kept',
    text: `${ORIGIN}@ A 192.0.2.1\nWWW A 192.0.2.2\nhost.Other.NET. A 192.0.2.3\n*.apps A 192.0.2.4\na\\.b A 192.0.2.5\nend\\. A 192.0.2.6\n`,
    want: [
      { owner: 'example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'WWW.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.2' },
      { owner: 'host.Other.NET.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.3' },
      { owner: '*.apps.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.4' },
      { owner: 'a\\.b.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.5' },
      { owner: 'end\\..example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.6' },
    ],
  },
  {
    name: '$ORIGIN changes mid-file, relative $ORIGIN completes with the current one; rdata untouched',
    text: `${ORIGIN}a CNAME b\n$ORIGIN sub\nc CNAME d\n@ NS ns1\n$ORIGIN other.net.\ne A 192.0.2.1\n`,
    want: [
      { owner: 'a.example.com.', ttl: 3600, class: 'IN', type: 'CNAME', rdata: 'b' },
      { owner: 'c.sub.example.com.', ttl: 3600, class: 'IN', type: 'CNAME', rdata: 'd' },
      { owner: 'sub.example.com.', ttl: 3600, class: 'IN', type: 'NS', rdata: 'ns1' },
      { owner: 'e.other.net.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.1' },
    ],
  },
  {
    name: 'opts.origin without a dot; root origin',
    text: 'www 60 A 192.0.2.1\n@ 60 NS a.root-servers.net.\n',
    origin: 'example.org',
    want: [
      { owner: 'www.example.org.', ttl: 60, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'example.org.', ttl: 60, class: 'IN', type: 'NS', rdata: 'a.root-servers.net.' },
    ],
  },
  {
    name: 'RFC 3597: TYPEnnn, CLASSnnn, \\# rdata; type mnemonics in any case',
    text: `${ORIGIN}x CLASS1 TYPE65400 \\# 4 0A000001\ny 60 class1 type1 \\# 4 C0000201\nz mx 10 mail\nw IN TYPE65401 \\# 0\nv CH TXT "chaos"\n`,
    want: [
      { owner: 'x.example.com.', ttl: 3600, class: 'IN', type: 'TYPE65400', rdata: '\\# 4 0A000001' },
      { owner: 'y.example.com.', ttl: 60, class: 'IN', type: 'TYPE1', rdata: '\\# 4 C0000201' },
      { owner: 'z.example.com.', ttl: 3600, class: 'IN', type: 'MX', rdata: '10 mail' },
      { owner: 'w.example.com.', ttl: 3600, class: 'IN', type: 'TYPE65401', rdata: '\\# 0' },
      { owner: 'v.example.com.', ttl: 3600, class: 'CH', type: 'TXT', rdata: '"chaos"' },
    ],
  },
  {
    name: 'CRLF line ends, comment-only and blank lines, owner that looks like a type or class',
    text: `${ORIGIN}; header\r\n\r\n   ; indented comment\r\nmx A 192.0.2.1\r\nin 300 A 192.0.2.2\r\n`,
    want: [
      { owner: 'mx.example.com.', ttl: 3600, class: 'IN', type: 'A', rdata: '192.0.2.1' },
      { owner: 'in.example.com.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.2' },
    ],
  },
];

describe('parseMasterFile: records', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const r = parseMasterFile(c.text, { file: 'z.zone', origin: c.origin, defaultTtl: c.defaultTtl });
      expect(r.problems).toEqual([]);
      const got = r.records.map((x, i) => {
        const { owner, ttl, class: cls, type, rdata, line } = x;
        return c.want[i]?.line !== undefined
          ? { owner, ttl, class: cls, type, rdata, line }
          : { owner, ttl, class: cls, type, rdata };
      });
      expect(got).toEqual(c.want);
    });
  }

  it('records the $ORIGIN in effect and the first $TTL', () => {
    const r = parseMasterFile(
      '$TTL 5m\n$ORIGIN a.example.\nx A 192.0.2.1\n$ORIGIN b.example.\n$TTL 1h\ny A 192.0.2.2\n',
      { file: 'z' },
    );
    expect(r.ttlDirective).toBe(300);
    expect(r.records.map((x) => x.origin)).toEqual(['a.example.', 'b.example.']);
    expect(r.records.map((x) => x.ttl)).toEqual([300, 3600]);
  });
});

describe('parseMasterFile: problems', () => {
  const PROBLEMS: readonly { name: string; text: string; line: number; reason: RegExp; records?: number }[] = [
    { name: '$INCLUDE', text: `${ORIGIN}$INCLUDE other.zone\n`, line: 3, reason: /\$INCLUDE is not supported/ },
    {
      name: '$GENERATE',
      text: `${ORIGIN}$GENERATE 1-10 h$ A 192.0.2.$\n`,
      line: 3,
      reason: /\$GENERATE is not supported/,
    },
    { name: 'unknown directive', text: `${ORIGIN}$FOO bar\n`, line: 3, reason: /unknown directive \$FOO/ },
    { name: 'bad $TTL', text: '$TTL forever\n', line: 1, reason: /\$TTL "forever"/ },
    {
      name: 'relative owner without origin',
      text: '$TTL 1\nwww A 192.0.2.1\n',
      line: 2,
      reason: /relative but no \$ORIGIN/,
    },
    { name: '@ without origin', text: '$TTL 1\n@ A 192.0.2.1\n', line: 2, reason: /"@" used but no \$ORIGIN/ },
    { name: 'blank owner first', text: `${ORIGIN}  A 192.0.2.1\n`, line: 3, reason: /no owner name/ },
    { name: 'unknown type', text: `${ORIGIN}x 60 IN BOGUS 1\n`, line: 3, reason: /unknown type "BOGUS"/ },
    { name: 'no type', text: `${ORIGIN}x 60 IN\n`, line: 3, reason: /no type/ },
    { name: 'no rdata', text: `${ORIGIN}x A\n`, line: 3, reason: /no rdata/ },
    { name: 'no TTL anywhere', text: '$ORIGIN example.com.\nx A 192.0.2.1\n', line: 2, reason: /no TTL/ },
    { name: 'TTL too large', text: `${ORIGIN}x 4294967296 A 192.0.2.1\n`, line: 3, reason: /larger than 2147483647/ },
    {
      name: 'unclosed quote drops the record',
      text: `${ORIGIN}x TXT "abc\ny A 192.0.2.1\n`,
      line: 3,
      reason: /closing "/,
      records: 1,
    },
    {
      name: 'unclosed parenthesis',
      text: `${ORIGIN}x TXT ( "a"\n"b"\n`,
      line: 3,
      reason: /"\(" without a matching "\)"/,
    },
    {
      name: 'stray )',
      text: `${ORIGIN}x A 192.0.2.1 )\n`,
      line: 3,
      reason: /"\)" without a matching "\("/,
      records: 1,
    },
    { name: 'nested (', text: `${ORIGIN}x TXT ( ( "a" ) )\n`, line: 3, reason: /nested/, records: 1 },
    {
      name: 'generic rdata length mismatch',
      text: `${ORIGIN}x TYPE65400 \\# 3 0A000001\n`,
      line: 3,
      reason: /says 3 octets but has 4/,
    },
    { name: 'generic rdata not hex', text: `${ORIGIN}x TYPE65400 \\# 2 zz00\n`, line: 3, reason: /hexadecimal/ },
    { name: 'bad owner name', text: `${ORIGIN}a..b A 192.0.2.1\n`, line: 3, reason: /owner "a\.\.b"/ },
    { name: 'label too long', text: `${ORIGIN}${'a'.repeat(64)} A 192.0.2.1\n`, line: 3, reason: /longer than 63/ },
  ];
  for (const p of PROBLEMS) {
    it(p.name, () => {
      const r = parseMasterFile(p.text, { file: 'z.zone' });
      expect(r.problems.length).toBeGreaterThan(0);
      expect(r.problems[0]!.file).toBe('z.zone');
      expect(r.problems[0]!.line).toBe(p.line);
      expect(r.problems[0]!.reason).toMatch(p.reason);
      expect(r.records.length).toBe(p.records ?? 0);
    });
  }
});

describe('helpers', () => {
  it('splitRdata undoes the join, keeping quoted strings whole', () => {
    expect(splitRdata('"a b" c\\ d "e\\"f" 10')).toEqual(['"a b"', 'c\\ d', '"e\\"f"', '10']);
    expect(splitRdata('100 10 "u" "E2U+sip" "!^.*$!sip:x@example.com!" .')).toHaveLength(6);
  });
  it('isAbsoluteText counts escaping backslashes', () => {
    expect(isAbsoluteText('a.')).toBe(true);
    expect(isAbsoluteText('a\\.')).toBe(false);
    expect(isAbsoluteText('a\\\\.')).toBe(true);
    expect(isAbsoluteText('a\\046.')).toBe(true);
    expect(isAbsoluteText('a')).toBe(false);
  });
});
