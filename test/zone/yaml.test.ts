import { describe, expect, it } from 'vitest';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';

/**
 * A large `records:` mapping is parsed in pieces of a few hundred owners (yaml.ts splitRecords). The reference
 * is the one-document parse, which the same text gets when the key is written `"records":` (same YAML meaning,
 * same line numbers, but not the line splitRecords looks for).
 */
function zoneText(
  owners: number,
  quotedKey: boolean,
  entry: (i: number) => string = (i) => `  h${i}:\n    A: 192.0.2.${i % 250}\n`,
): string {
  let body = '';
  for (let i = 0; i < owners; i++) body += entry(i);
  return `origin: example.com.\nsoa: { mname: ns1, rname: hostmaster }\n${quotedKey ? '"records"' : 'records'}:\n${body}tlsa: []\n`;
}

function parse(text: string): { src: unknown; problems: ZoneProblem[] } {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('z.yaml', text, problems);
  return { src, problems };
}

describe('zone YAML: a large records mapping read in pieces', () => {
  it('gives the records, lines and problems of the one-document parse', () => {
    // Owner 5 twice (a duplicate-key problem) and a value that is not a string, across three pieces.
    const entry = (i: number): string =>
      i === 6
        ? `  h5:\n    A: 192.0.2.1\n`
        : i === 700
          ? `  h700:\n    A: [[1]]\n`
          : `  h${i}:\n    A: 192.0.2.${i % 250}\n`;
    const split = parse(zoneText(800, false, entry));
    const whole = parse(zoneText(800, true, entry));
    expect(split).toEqual(whole);
    expect(split.problems.map((p) => p.line)).toEqual([16, 1405]);
  });

  it("falls back to the one-document parse when a later piece does not parse, keeping none of the earlier pieces' problems", () => {
    // A duplicate key in the first piece (reported by the split reading before the bad piece is reached), then a
    // YAML syntax error in the third piece.
    const entry = (i: number): string =>
      i === 6
        ? `  h5:\n    A: 192.0.2.1\n`
        : i === 700
          ? `  h700:\n    A: "unterminated\n`
          : `  h${i}:\n    A: 192.0.2.${i % 250}\n`;
    const split = parse(zoneText(800, false, entry));
    const whole = parse(zoneText(800, true, entry));
    expect(split).toEqual(whole);
    expect(split.problems.length).toBeGreaterThan(0);
    expect(split.problems.every((p) => p.reason.startsWith('YAML:'))).toBe(true);
  });
});
