import { describe, expect, it } from 'vitest';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml, parseZoneYamlSteps, WHOLE_PARSE_IN_PLACE_MAX, type WholeParse } from '../../src/zone/yaml.js';

/**
 * A large `records:` mapping is parsed in pieces of a few hundred owners (yaml.ts splitRecordsSteps). The reference
 * is the one-document parse, which the same text gets when the key is written `"records":` (same YAML meaning,
 * same line numbers, but not the line splitRecordsSteps looks for).
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

  it('yields while it scans the lines, before the first piece is parsed, and ends with the same result', () => {
    // 20,000 owners: 40,000 lines in one piece of the split's scan would be one step; it yields every 16,384.
    const text = zoneText(20_000, false);
    const problems: ZoneProblem[] = [];
    const steps = parseZoneYamlSteps('z.yaml', text, problems);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    // At least one yield per piece of 300 owners (67) and two or more from the scan.
    expect(yields).toBeGreaterThanOrEqual(67 + 2);
    expect({ src: r.value, problems }).toEqual(parse(text));
    expect(r.value.records).toHaveLength(20_000);
  });
});

describe('zone YAML: the one-document parse of a large text goes to the WholeParse given', () => {
  const calls: number[] = [];
  const whole: WholeParse = function* (file, text, problems) {
    calls.push(text.length);
    yield;
    return parseZoneYaml(file, text, problems);
  };
  const run = (text: string): { src: unknown; problems: ZoneProblem[] } => {
    const problems: ZoneProblem[] = [];
    const steps = parseZoneYamlSteps('z.yaml', text, problems, whole);
    let r = steps.next();
    while (!r.done) r = steps.next();
    return { src: r.value, problems };
  };

  it('a large text that cannot be split goes there, with the result and problems of the parse in place', () => {
    calls.length = 0;
    const text = zoneText(30_000, true); // "records": quoted, so not split
    expect(text.length).toBeGreaterThan(WHOLE_PARSE_IN_PLACE_MAX);
    expect(run(text)).toEqual(parse(text));
    expect(calls).toEqual([text.length]);
  });

  it('a small text, or a large one read in pieces, is parsed in place', () => {
    calls.length = 0;
    run(zoneText(10, true));
    run(zoneText(30_000, false));
    expect(calls).toEqual([]);
  });
});
