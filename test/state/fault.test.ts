/**
 * Tests for src/state/fault.ts: with DANE_NS_FAULT_AFTER_WRITES=N a process dies by SIGKILL right after its Nth
 * atomic write (the Nth file is complete, the next one never started), reporting each write on stderr; N = 0
 * only reports; a value that is not a whole number is an error naming the variable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-fault');
const ATOMIC = new URL('../../dist/state/atomic.js', import.meta.url).href;

/** Three atomic writes (a, b, c) in a child process with the hook set to `value`. */
function threeWrites(value: string) {
  const d = tmp();
  const script = `import { writeFileAtomic } from ${JSON.stringify(ATOMIC)};
for (const f of ['a', 'b', 'c']) writeFileAtomic(${JSON.stringify(d)} + '/' + f, f);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, DANE_NS_FAULT_AFTER_WRITES: value },
    encoding: 'utf8',
  });
  return { d, r };
}

describe('DANE_NS_FAULT_AFTER_WRITES', () => {
  it('N = 2: killed right after the second write', () => {
    const { d, r } = threeWrites('2');
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(join(d, 'b'), 'utf8')).toBe('b');
    expect(existsSync(join(d, 'c'))).toBe(false);
    expect(r.stderr).toMatch(/^dane-ns fault hook: write 1: .*\/a\ndane-ns fault hook: write 2: .*\/b\n$/);
  });

  it('N = 0: never killed, every write reported', () => {
    const { d, r } = threeWrites('0');
    expect(r.status).toBe(0);
    expect(readFileSync(join(d, 'c'), 'utf8')).toBe('c');
    expect(r.stderr.match(/fault hook: write \d+/g)).toEqual([
      'fault hook: write 1',
      'fault hook: write 2',
      'fault hook: write 3',
    ]);
  });

  it('a value that is not a whole number is an error naming the variable, at the first write', () => {
    const { d, r } = threeWrites('two');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('DANE_NS_FAULT_AFTER_WRITES=two: not a whole number');
    expect(existsSync(join(d, 'b'))).toBe(false);
  });
});
