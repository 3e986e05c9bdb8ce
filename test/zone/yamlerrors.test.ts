/**
 * A YAML syntax error is reported once, at the line and column that cause it (src/zone/yamlerrors.ts), not as
 * the cascade of errors the yaml library finds after it: a dedented owner, a tab in an indentation, an unclosed
 * flow collection.
 */
import { describe, expect, it } from 'vitest';
import { formatProblem, type ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';

/** A zone file of 31 lines: owners at lines 10, 13, 16, 19, 22, 25, 28, 31 (2 spaces), types below (4 spaces). */
const LINES = [
  'origin: example.com.', // 1
  'ttl: 3600',
  'soa:',
  '  mname: ns1',
  '  rname: hostmaster', // 5
  '  serial: 1',
  'records:',
  '  "@":',
  '    NS: ns1',
  '  ns1:', // 10
  '    A: 192.0.2.53',
  '    AAAA: 2001:db8::53',
  '  mail:',
  '    A: 192.0.2.25',
  '    MX: 10 mail', // 15
  '  www:',
  '    A: 192.0.2.80',
  '    TXT: hello',
  '  ftp:',
  '    CNAME: www', // 20
  '    TXT: files',
  '  smtp:',
  '    A: 192.0.2.26',
  '    TXT: relay',
  '  imap:', // 25
  '    A: 192.0.2.27',
  '    TXT: mailbox',
  '  pop:',
  '    A: 192.0.2.28',
  '    TXT: legacy', // 30
  '  end:',
  '    TXT: last',
];

/** The problems of the file with line `n` (1-based) replaced by `text`. */
function problemsWith(n: number, text: string): string[] {
  const lines = [...LINES];
  lines[n - 1] = text;
  const problems: ZoneProblem[] = [];
  parseZoneYaml('z.yaml', lines.join('\n') + '\n', problems);
  return problems.map(formatProblem);
}

describe('YAML syntax errors: once, at the line and column that cause them', () => {
  it('the file without a change has no problem', () => {
    expect(problemsWith(1, LINES[0]!)).toEqual([]);
  });

  it('an owner dedented to column 1 on line 22: one error at 22:1, not one for each owner after it', () => {
    expect(problemsWith(22, 'smtp:')).toEqual([
      'z.yaml:22:1: YAML: smtp is at column 1, but the entries of "records:" before and after it are at column 3 (indent it like them)',
    ]);
  });

  it('an owner indented by one space: one error at its first character', () => {
    expect(problemsWith(22, ' smtp:')).toEqual(['z.yaml:22:2: YAML: All mapping items must start at the same column']);
  });

  it('one tab in an indentation: one error at the tab', () => {
    expect(problemsWith(23, '\tA: 192.0.2.26')).toEqual([
      'z.yaml:23:1: YAML: tab in indentation: YAML allows only spaces',
    ]);
    expect(problemsWith(23, '  \tA: 192.0.2.26')).toEqual([
      'z.yaml:23:3: YAML: tab in indentation: YAML allows only spaces',
    ]);
    // In the soa: section the library finds eleven errors after the tab.
    expect(problemsWith(5, '\trname: hostmaster')).toEqual([
      'z.yaml:5:1: YAML: tab in indentation: YAML allows only spaces',
    ]);
  });

  it('an unclosed [ or {: at the bracket, not where the library noticed it', () => {
    expect(problemsWith(23, '    A: [192.0.2.26')).toEqual([
      'z.yaml:23:8: YAML: "[" is never closed (a flow sequence must end with "]")',
    ]);
    expect(problemsWith(23, '    A: { ttl: 60, values: [192.0.2.26]')).toEqual([
      'z.yaml:23:8: YAML: "{" is never closed (a flow mapping must end with "}")',
    ]);
  });

  it('an unclosed quote: at the opening quote, not where the scalar had to end', () => {
    expect(problemsWith(24, '    TXT: "relay')).toEqual([
      'z.yaml:24:10: YAML: the quote " opened here is never closed',
    ]);
    expect(problemsWith(24, '    TXT: "re\\"lay')).toEqual([
      'z.yaml:24:10: YAML: the quote " opened here is never closed',
    ]);
    expect(problemsWith(24, "    TXT: 'it''s")).toEqual([
      "z.yaml:24:10: YAML: the quote ' opened here is never closed",
    ]);
  });

  it("any other error: the library's first, with its column", () => {
    expect(problemsWith(23, '    A: 192.0.2.26: 80')).toEqual([
      'z.yaml:23:8: YAML: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('a zone file key at column 1 is not taken for a dedented owner: the entry after it is the error', () => {
    // `tlsa:` with the mapping of lines 23-24 is valid YAML; `  imap:` on line 25 then fits no mapping.
    expect(problemsWith(22, 'tlsa:')).toEqual(['z.yaml:25:3: YAML: All mapping items must start at the same column']);
  });

  it('a large zone read in pieces reports the same single error at the same place', () => {
    const owners = Array.from({ length: 700 }, (_, i) => `  h${i}:\n    A: 192.0.2.1`).join('\n');
    const text = LINES.slice(0, 9).join('\n') + '\n' + owners + '\n';
    const lines = text.split('\n');
    // Owner h400 (line 10 + 2 * 400) at column 1.
    const at = 10 + 2 * 400;
    expect(lines[at - 1]).toBe('  h400:');
    lines[at - 1] = 'h400:';
    const problems: ZoneProblem[] = [];
    parseZoneYaml('z.yaml', lines.join('\n'), problems);
    expect(problems.map(formatProblem)).toEqual([
      `z.yaml:${at}:1: YAML: h400 is at column 1, but the entries of "records:" before and after it are at column 3 (indent it like them)`,
    ]);
  });
});
