/**
 * Test files are named after what they test: every test/<dir>/<name>.test.ts outside test/integration and
 * test/meta has a src/<dir>/<name>.ts, so the tests of a module are found by its path. The few files that test
 * something other than one module are listed below with the reason.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEST = join(ROOT, 'test');

/** Test files that name no single module, each with its reason. */
const NOT_A_MODULE: Record<string, string> = {
  'query/rfc4035-appendix-b.test.ts':
    "an RFC's example answers through the whole answer path: query/answer.ts, the dnssec/ proofs and server/handler.ts",
};

/** test/integration drives the built server and other programs; test/meta checks the repository itself. */
const WHOLE_PROGRAM = ['integration', 'meta'];

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith('.test.ts') ? [relative(TEST, p)] : [];
  });
}

describe('test file names', () => {
  const unit = testFiles(TEST).filter((f) => !WHOLE_PROGRAM.includes(f.split('/')[0]!));

  it('name the src/ module they test', () => {
    const unmatched = unit.filter(
      (f) => !(f in NOT_A_MODULE) && !existsSync(join(ROOT, 'src', f.replace(/\.test\.ts$/, '.ts'))),
    );
    expect(unmatched).toEqual([]);
    // The check sees the unit test files (else it would pass vacuously).
    expect(unit).toContain('dnssec/keyroll.test.ts');
  });

  it('list only exceptions that exist and still name no module', () => {
    for (const f of Object.keys(NOT_A_MODULE)) {
      expect(existsSync(join(TEST, f)), f).toBe(true);
      expect(existsSync(join(ROOT, 'src', f.replace(/\.test\.ts$/, '.ts'))), f).toBe(false);
    }
  });
});
