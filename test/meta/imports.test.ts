/**
 * The import scanner of the dependency direction check (test/support/imports.ts) on small sources: each form
 * that loads a module at run time is found, each type-only form is ignored. Without this the direction check
 * could pass because the scanner went blind to a form.
 */
import { describe, expect, it } from 'vitest';
import { valueImports } from '../support/imports.js';

describe('valueImports', () => {
  it.each([
    ['a default import', `import x from '../a.js';`, ['../a.js']],
    ['named imports over several lines', `import {\n  a,\n  b,\n} from '../a.js';`, ['../a.js']],
    ['a namespace import', `import * as a from 'node:fs';`, ['node:fs']],
    ['a side-effect import', `import '../a.js';`, ['../a.js']],
    ['inline type specifiers (the module is still loaded)', `import { type A, b } from '../a.js';`, ['../a.js']],
    ['a named re-export', `export { x } from '../server/handler.js';`, ['../server/handler.js']],
    ['a named re-export over several lines', `export {\n  x,\n  y as z,\n} from '../a.js';`, ['../a.js']],
    ['a star re-export', `export * from '../a.js';`, ['../a.js']],
    ['a namespace re-export', `export * as a from '../a.js';`, ['../a.js']],
    ['a dynamic import awaited', `const m = await import('../server/serve.js');`, ['../server/serve.js']],
    ['a dynamic import with then', `import('../a.js').then((m) => m.run());`, ['../a.js']],
    ['a dynamic import in parentheses', `const f = (await import("../a.js")).f;`, ['../a.js']],
  ])('finds %s', (_what, text, want) => {
    expect(valueImports(text)).toEqual(want);
  });

  it.each([
    ['a type-only import', `import type { A } from '../a.js';`],
    ['a type-only import over several lines', `import type {\n  A,\n  B,\n} from '../a.js';`],
    ['a type-only re-export', `export type { A } from '../a.js';`],
    ['a type-only star re-export', `export type * from '../a.js';`],
    ['a type query on a dynamic import', `let m: typeof import('../a.js');`],
    ['a type reference through a dynamic import', `let s: import('../a.js').Snapshot;`],
    ['a local export', `export { x };\nexport const y = 1;`],
    ['an import inside a doc comment line', ` * import x from '../a.js';`],
  ])('ignores %s', (_what, text) => {
    expect(valueImports(text)).toEqual([]);
  });

  it('keeps every value form of one file and drops its type-only ones', () => {
    const text = [
      `import type { T } from './t.js';`,
      `import { a } from './a.js';`,
      `export type { U } from './u.js';`,
      `export { b } from './b.js';`,
      `export async function load(): Promise<void> {`,
      `  await import('./c.js');`,
      `}`,
    ].join('\n');
    expect(valueImports(text)).toEqual(['./a.js', './b.js', './c.js']);
  });
});
