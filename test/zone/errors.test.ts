import { describe, expect, it } from 'vitest';
import { clip, LISTED_PROBLEMS_MAX, LISTED_REASON_MAX, listProblems, ZoneError } from '../../src/zone/errors.js';

describe('listProblems', () => {
  it('lists a few problems as file:line: reason, unchanged', () => {
    const ps = [
      { file: 'z/a.yaml', line: 3, reason: 'A: bad address' },
      { file: 'z/a.yaml', line: 9, reason: 'MX: no exchange' },
    ];
    expect(listProblems(ps)).toEqual(['z/a.yaml:3: A: bad address', 'z/a.yaml:9: MX: no exchange']);
  });

  it('keeps the first LISTED_PROBLEMS_MAX and counts the rest', () => {
    const ps = Array.from({ length: 1000 }, (_, i) => ({ file: 'a.yaml', line: i + 1, reason: 'bad' }));
    const out = listProblems(ps);
    expect(out).toHaveLength(LISTED_PROBLEMS_MAX + 1);
    expect(out[LISTED_PROBLEMS_MAX - 1]).toBe(`a.yaml:${LISTED_PROBLEMS_MAX}: bad`);
    expect(out.at(-1)).toBe(`... and ${1000 - LISTED_PROBLEMS_MAX} more`);
    // Exactly the maximum: no count line.
    expect(listProblems(ps.slice(0, LISTED_PROBLEMS_MAX))).toHaveLength(LISTED_PROBLEMS_MAX);
  });

  it('clips a reason that quotes a long input, with an ellipsis', () => {
    const reason = `A: "${'x'.repeat(1_000_000)}" is not an IPv4 address`;
    const [line] = listProblems([{ file: 'a.yaml', line: 2, reason }]);
    expect(line).toBe(`a.yaml:2: ${reason.slice(0, LISTED_REASON_MAX)}…`);
  });

  it('clip leaves text of at most the limit alone', () => {
    expect(clip('x'.repeat(LISTED_REASON_MAX))).toBe('x'.repeat(LISTED_REASON_MAX));
    expect(clip('x'.repeat(LISTED_REASON_MAX + 1))).toBe(`${'x'.repeat(LISTED_REASON_MAX)}…`);
    expect(clip('abcdef', 3)).toBe('abc…');
  });

  it('ZoneError keeps every problem (a failed start prints them all)', () => {
    const ps = Array.from({ length: 50 }, (_, i) => ({ file: 'a.yaml', line: i + 1, reason: 'bad' }));
    expect(new ZoneError(ps).problems).toHaveLength(50);
  });
});
