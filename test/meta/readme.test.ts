/**
 * The README's Architecture table and docs/architecture.md are kept true by a test (after CoreDNS's
 * test/readme_test.go): every path the table names exists, every file in src/ is covered by a row (a row may name
 * a directory such as `src/check/`), and every file and function that docs/architecture.md's RFC table points
 * to exists, so a rename or a new module cannot leave the documents behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = `${dir}/${f}`;
    return statSync(join(ROOT, p)).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The lines of a markdown section: from its `## title` heading to the next `## ` heading. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`## ${title}`);
  expect(start, `section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The cells of a table row, or null for a line that is not a body row. */
function cells(line: string): string[] | null {
  if (!line.startsWith('|') || /^\|\s*-/.test(line)) return null;
  return line
    .slice(1, line.lastIndexOf('|'))
    .split(/(?<!\\)\|/) // `\|` is a pipe inside a cell
    .map((c) => c.trim());
}

/**
 * The paths a first cell names: `src/wire/reader.ts`, `writer.ts` is two files in one directory (a name without
 * a slash is in the directory of the path before it); `src/check/` is a directory.
 */
function rowPaths(cell: string): string[] {
  const out: string[] = [];
  let dir = '';
  for (const m of cell.matchAll(/`([^`]+)`/g)) {
    const name = m[1]!;
    const path = name.includes('/') ? name : `${dir}${name}`;
    if (name.includes('/')) dir = name.endsWith('/') ? name : name.slice(0, name.lastIndexOf('/') + 1);
    out.push(path);
  }
  return out;
}

describe('README: the Architecture table', () => {
  const rows = section(read('README.md'), 'Architecture')
    .map(cells)
    .filter((c): c is string[] => c !== null && c[0] !== 'module');
  const named = rows.flatMap((c) => rowPaths(c[0]!));

  it('reads the table (paths relative to the row, directories)', () => {
    expect(rows.length).toBeGreaterThan(20);
    expect(rowPaths('`src/wire/reader.ts`, `writer.ts`')).toEqual(['src/wire/reader.ts', 'src/wire/writer.ts']);
    expect(rowPaths('`src/wire/errors.ts`, `src/zone/errors.ts`')).toEqual([
      'src/wire/errors.ts',
      'src/zone/errors.ts',
    ]);
    expect(rowPaths('`src/check/`')).toEqual(['src/check/']);
    expect(named).toContain('src/server/handler.ts');
  });

  it('every path it names exists', () => {
    expect(named.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('every file in src/ is covered by a row', () => {
    const covered = (f: string): boolean => named.some((p) => (p.endsWith('/') ? f.startsWith(p) : f === p));
    const all = filesUnder('src');
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((f) => !covered(f))).toEqual([]);
    // The check is not vacuous: a file no row names is reported.
    expect(covered('src/server/not-in-the-table.ts')).toBe(false);
  });
});

describe('docs/architecture.md', () => {
  const text = read('docs/architecture.md');

  it('every src/ or native/ path it names exists', () => {
    const paths = [...text.matchAll(/`((?:src|native|test)\/[^`\s]+)`/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('every function of the RFC table is defined in the file it is listed under', () => {
    const rows = section(text, 'Where each RFC rule lives')
      .map(cells)
      .filter((c): c is string[] => c !== null && c[0] !== 'RFC section');
    expect(rows.length).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const row of rows)
      for (const part of row[2]!.split(';')) {
        const m = /^\s*`([^`]+)`:\s*(.*)$/.exec(part);
        expect(m, `"file: function" in ${part}`).not.toBeNull();
        const source = read(m![1]!);
        for (const f of m![2]!.matchAll(/`([^`]+)`/g)) {
          const [owner, member] = f[1]!.includes('.') ? f[1]!.split('.') : [undefined, f[1]!];
          const defined = owner
            ? new RegExp(`\\bclass ${owner}\\b`).test(source) &&
              new RegExp(`^\\s+(?:(?:private|public|static|async|readonly)\\s+)*${member}\\s*[(<=]`, 'm').test(source)
            : new RegExp(`\\b(?:function\\*?|class|const|let)\\s+${member}\\b`).test(source);
          if (!defined) missing.push(`${m![1]}: ${f[1]}`);
        }
      }
    expect(missing).toEqual([]);
  });
});
