/**
 * Conventions as tests (after CoreDNS's presubmit_test.go): the dependency direction between
 * modules (docs/architecture.md), no console output outside the logger and the CLI, no hyphenated or `utils`
 * file names in src/ except the documented transports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// Value imports, re-exports and dynamic imports (type-only forms create no run-time dependency).
import { valueImports as imports } from '../support/imports.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Which top-level src/ modules each module may import at run time, and which node built-ins it may use. */
const RULES: Record<string, { modules: string[]; builtins: string[] | 'any' }> = {
  wire: { modules: ['wire'], builtins: [] },
  // zone reads its files through state/readfile.ts (the one bounded reader of regular files).
  zone: { modules: ['wire', 'zone', 'state'], builtins: ['node:buffer', 'node:crypto', 'node:fs', 'node:path'] },
  query: { modules: ['wire', 'zone', 'query'], builtins: [] },
  dnssec: { modules: ['wire', 'dnssec', 'state'], builtins: ['node:crypto', 'node:fs', 'node:path'] },
  state: { modules: ['state', 'wire'], builtins: ['node:crypto', 'node:fs', 'node:path'] },
  // tlsa builds on wire and zone; its rollover history is kept through state/ (like dnssec's key records).
  tlsa: { modules: ['wire', 'zone', 'tlsa', 'state'], builtins: ['node:crypto', 'node:fs', 'node:path'] },
  server: { modules: ['wire', 'zone', 'query', 'server', 'state', 'dnssec', 'tlsa', 'log.ts'], builtins: 'any' },
  // `dane-ns check`: a DNS stub and an SMTP STARTTLS probe over the same pure modules the server uses.
  check: { modules: ['wire', 'zone', 'dnssec', 'tlsa', 'check'], builtins: 'any' },
};

describe('conventions', () => {
  const all = files(SRC);

  it('modules depend only in the designed direction (wire <- zone <- query <- server <- cli; dnssec on wire)', () => {
    const bad: string[] = [];
    for (const f of all) {
      const rel = relative(SRC, f);
      const mod = rel.split('/')[0]!;
      const rule = RULES[mod];
      if (!rule) continue;
      for (const spec of imports(readFileSync(f, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = relative(SRC, join(f, '..', spec))
            .split('/')[0]!
            .replace(/\.js$/, '.ts');
          if (!rule.modules.includes(target)) bad.push(`${rel} imports ${spec}`);
        } else if (spec.startsWith('node:')) {
          if (rule.builtins !== 'any' && !rule.builtins.includes(spec)) bad.push(`${rel} uses ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
    // The scanner sees real imports (else the rule above would pass vacuously).
    expect(imports(readFileSync(join(SRC, 'server', 'handler.ts'), 'utf8'))).toContain('../query/answer.js');
  });

  it('no console output outside log.ts and the command line (cli.ts, cli/)', () => {
    const bad = all.filter(
      (f) =>
        !/^(log\.ts|cli\.ts|cli\/)/.test(relative(SRC, f)) &&
        /\bconsole\.(log|info|warn|error|debug)\(/.test(readFileSync(f, 'utf8')),
    );
    expect(bad.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('no catch-all helper files', () => {
    expect(all.filter((f) => /\/(utils?|helpers?|misc)\.ts$/.test(f)).map((f) => relative(SRC, f))).toEqual([]);
  });
});
