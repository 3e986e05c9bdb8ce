import { describe, expect, it } from 'vitest';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { readPiece } from '../../src/zone/yamlpiece.js';
import { mulberry32 } from '../fixtures/rng.js';

/**
 * readPiece is a fast reading of the plain shape of `records:` entries; it must either decline (undefined) or
 * give exactly what the `yaml` library gives. The reference is the one-document parse, which a zone gets when
 * its key is written `"records":` (same YAML meaning and line numbers, but not the line yaml.ts splits at).
 */
function parse(text: string): { src: unknown; problems: ZoneProblem[] } {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('z.yaml', text, problems);
  return { src, problems };
}

const HEAD = 'origin: example.com.\nsoa: { mname: ns1, rname: hostmaster }\n';
const zone = (body: string, tail: string, quoted: boolean): string =>
  `${HEAD}${quoted ? '"records"' : 'records'}:\n${body}${tail}`;
/** The body's first line in the file. */
const BODY_LINE = 4;

describe('readPiece: the plain shape', () => {
  it('reads owners, types, scalars and flow sequences with their lines', () => {
    const body = [
      '  "@":',
      '    NS: ["ns1", ns2]   # two',
      '    TXT: "v=spf1 \\"mx\\" -all"',
      '',
      '  # a comment',
      "  'mail':",
      '    A: 192.0.2.1 # plain, comment after',
      "    AAAA: '2001:db8::1'",
      '    CAA: 0 issue "letsencrypt.org"',
      '  h1.dept:',
      '    MX: [ 10 mail , "20 mail2" ]',
      '',
    ].join('\n');
    expect(readPiece(body, 10)).toEqual([
      {
        key: '@',
        line: 10,
        types: [
          {
            key: 'NS',
            line: 11,
            values: [
              { value: 'ns1', line: 11 },
              { value: 'ns2', line: 11 },
            ],
          },
          { key: 'TXT', line: 12, values: [{ value: 'v=spf1 "mx" -all', line: 12 }] },
        ],
      },
      {
        key: 'mail',
        line: 15,
        types: [
          { key: 'A', line: 16, values: [{ value: '192.0.2.1', line: 16 }] },
          { key: 'AAAA', line: 17, values: [{ value: '2001:db8::1', line: 17 }] },
          { key: 'CAA', line: 18, values: [{ value: '0 issue "letsencrypt.org"', line: 18 }] },
        ],
      },
      {
        key: 'h1.dept',
        line: 19,
        types: [
          {
            key: 'MX',
            line: 20,
            values: [
              { value: '10 mail', line: 20 },
              { value: '20 mail2', line: 20 },
            ],
          },
        ],
      },
    ]);
  });

  it.each([
    ['an escape other than \\" and \\\\', '  a:\n    TXT: "a\\tb"\n'],
    ["a '' escape", "  a:\n    TXT: 'it''s'\n"],
    ['a ttl/values mapping', '  a:\n    A:\n      ttl: 60\n      values: [192.0.2.1]\n'],
    ['a block sequence', '  a:\n    A:\n      - 192.0.2.1\n'],
    ['a multi-line plain scalar', '  a:\n    TXT: one\n      two\n'],
    ['an owner without types', '  a:\n  b:\n    A: 192.0.2.1\n'],
    ['a duplicate type', '  a:\n    A: 192.0.2.1\n    A: 192.0.2.2\n'],
    ['an empty list', '  a:\n    A: []\n'],
    ['a tab', '  a:\n    A:\t192.0.2.1\n'],
    ['non-ASCII text', '  a:\n    TXT: "é"\n'],
    ['an alias', '  a:\n    A: *x\n'],
    ['a value on the owner line', '  a: {A: 192.0.2.1}\n'],
  ])('declines %s', (_what, body) => {
    expect(readPiece(body, 1)).toBeUndefined();
  });
});

/** Values that are plain, quoted, escaped, or YAML that means something else (or nothing). */
const VALUES = [
  '192.0.2.1',
  '"192.0.2.1"',
  "'192.0.2.1'",
  '"a\\"b"',
  '"a\\\\b"',
  '"a\\nb"',
  '"a\\"',
  "'it''s'",
  "''",
  '""',
  '~',
  'null',
  'true',
  '0x1F',
  '2001:db8::1',
  'a: b',
  'a:',
  'a:b',
  'a #c',
  'a#c',
  'a  ',
  '"x" y',
  '"x"#c',
  '"x" #c',
  "'x' #c",
  '[a, b]',
  '[ "a" , \'b\' ]',
  '[a,]',
  '[]',
  '[a, [b]]',
  '[a:b]',
  '[a: b]',
  '[a #c]',
  '["a"b]',
  '[a, "b\\"c"]',
  '[a] #c',
  '[a]#c',
  '[a] x',
  '{a: b}',
  '- x',
  '|',
  '>-',
  '&a x',
  '*a',
  '!!str x',
  '%x',
  '@x',
  '`x',
  'é',
  '"é"',
  '-all',
  '-',
  '? x',
  '0 issue "le.org"',
  'v=spf1 mx -all',
  '"unterminated',
  "'unterminated",
  'x]',
  '[a',
  'a, b',
  '"a" "b"',
  "x'y",
  '{',
  '}',
  ',x',
  '.x',
  '/x',
  '=x',
  '10 mail',
  '"v=DKIM1; k=rsa; p=MIGf"',
  'a\\b',
  '"\\\\"',
  '"\\"',
  '#',
  ' ',
  '',
];

/** Keys for owners and types. */
const KEYS = [
  'A',
  '"A"',
  "'A'",
  '"@"',
  '@',
  '*.x',
  '"*.x"',
  'a b',
  '"a b"',
  'a.b-c',
  '-a',
  '1',
  '"a:b"',
  'a:b',
  '"h1"',
  'h1',
  '? a',
  '[a]',
  '"a\\"b"',
  "'a''b'",
  'a#b',
  '"x"#',
  '_25._tcp.mail',
  `"${'x'.repeat(1100)}"`,
  'x'.repeat(1100),
  'MX',
  'TXT',
];

const pick = <T>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;

function baseLines(r: () => number): string[] {
  const lines: string[] = [];
  const owners = 2 + Math.floor(r() * 4);
  for (let o = 0; o < owners; o++) {
    lines.push(`  h${o}:`);
    lines.push(`    A: 192.0.2.${o}`);
    if (r() < 0.5) lines.push(`    MX: ["10 mail${o}", 20 mx]`);
    if (r() < 0.5) lines.push(`    TXT: "text ${o}"`);
  }
  return lines;
}

/** One random change to the lines of a body. */
function mutate(r: () => number, lines: string[]): void {
  const at = Math.floor(r() * lines.length);
  const line = lines[at]!;
  const indent = line.length - line.trimStart().length;
  const colon = line.indexOf(':');
  switch (Math.floor(r() * 8)) {
    case 0: // another value
      if (indent > 2 && colon > 0) lines[at] = `${line.slice(0, colon)}: ${pick(r, VALUES)}`;
      break;
    case 1: // another key
      if (colon > 0) lines[at] = `${' '.repeat(indent)}${pick(r, KEYS)}${line.slice(colon)}`;
      break;
    case 2: // another indentation
      lines[at] = ' '.repeat(Math.max(0, indent + pick(r, [-2, -1, 1, 2]))) + line.trimStart();
      break;
    case 3: // a line inserted
      lines.splice(
        at,
        0,
        pick(r, [
          '',
          '  # c',
          '      # c',
          '#c',
          '      more',
          '    - x',
          '    A: 192.0.2.9',
          '  "new":',
          '  h1:',
          '    ttl: 60',
          '   ',
        ]),
      );
      break;
    case 4: // something after the line
      lines[at] = line + pick(r, ['  # c', ' #c', '#c', '   ', '\r', ' x', ':', ' :']);
      break;
    case 5: // a tab or a character outside ASCII somewhere
      lines[at] = line.slice(0, colon + 1) + pick(r, ['\t', 'é', '\u0001']) + line.slice(colon + 1);
      break;
    case 6: // a whole type line
      if (indent > 2) lines[at] = `    ${pick(r, KEYS)}: ${pick(r, VALUES)}`;
      break;
    default: // the same line twice
      lines.splice(at, 0, line);
  }
}

describe('readPiece against the yaml library, over mutated zones', () => {
  it('agrees whenever it reads a piece, and zones read in pieces equal their one-document parse', () => {
    const r = mulberry32(20261123);
    let read = 0;
    let declined = 0;
    const tails = ['', 'tlsa: []\n', 'dnssec: { keys: bad }\n', 'bogus: 1\n', 'ttl: 1h\n# end\n'];
    for (let n = 0; n < 4000; n++) {
      const lines = baseLines(r);
      const x = r();
      const changes = n < 200 ? 0 : x < 0.7 ? 1 : x < 0.9 ? 2 : 3;
      for (let k = 0; k < changes; k++) mutate(r, lines);
      const body = lines.join('\n') + '\n';
      const tail = pick(r, tails);
      const fast = readPiece(body, BODY_LINE);
      if (fast) read++;
      else declined++;
      const split = parse(zone(body, tail, false));
      const whole = parse(zone(body, tail, true));
      if (JSON.stringify(split) !== JSON.stringify(whole)) {
        // The failing case, readable in the report.
        expect({ body, tail, split }).toEqual({ body, tail, split: whole });
      }
    }
    // Both readings were exercised.
    expect(read).toBeGreaterThan(900);
    expect(declined).toBeGreaterThan(900);
  });

  it('agrees on every listed value and key, in each place', () => {
    const bodies: string[] = [];
    for (const v of VALUES)
      bodies.push(`  h0:\n    A: ${v}\n`, `  h0:\n    NS: [a, ${v}]\n`, `  h0:\n    NS: [${v}, b]\n`);
    for (const k of KEYS) bodies.push(`  ${k}:\n    A: 192.0.2.1\n`, `  h0:\n    ${k}: 192.0.2.1\n`);
    let read = 0;
    for (const body of bodies) {
      if (readPiece(body, BODY_LINE)) read++;
      expect({ body, ...parse(zone(body, '', false)) }).toEqual({ body, ...parse(zone(body, '', true)) });
    }
    expect(read).toBeGreaterThan(bodies.length / 3);
  });

  it('keeps the line numbers of problems after a large records mapping', () => {
    let body = '';
    for (let i = 0; i < 1000; i++) body += `  h${i}:\n    A: 192.0.2.${i % 250}\n`;
    const tail = 'dnssec:\n  keys: bad\ntlsa:\n  - host: x\n';
    const split = parse(zone(body, tail, false));
    expect(split).toEqual(parse(zone(body, tail, true)));
    expect(split.problems.map((p) => p.line)).toEqual([BODY_LINE + 2000 + 1, BODY_LINE + 2000 + 3]);
  });
});
