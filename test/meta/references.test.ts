/**
 * The repository explains itself: no tracked file points at notes that only the people who wrote it have. A clone
 * holds no sibling `shared` directory, no design or style notes outside docs/, no testing notes, and none of
 * our tracker's numbers; a comment that needs such a reference states the reason itself instead, or cites
 * docs/ or an RFC section. Absolute paths of a build machine mean nothing on another one either.
 *
 * `.ci/run` is the one exception: it runs on CI's own machine and names the container kit kept there.
 * Mentions of other projects' issues ("PowerDNS issue 2432") are references anyone can follow.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files that may name what is outside the repository. */
const EXEMPT = new Set(['.ci/run']);

/**
 * Projects whose issue numbers may be cited ("<project> issue N"); our own tracker's "issue N" may not. The
 * patterns below are written so that this file does not match them itself.
 */
const OTHER_PROJECTS = ['PowerDNS', 'dnsviz', 'Knot', 'BIND', 'Unbound', 'CoreDNS', 'hickory', 'Node.js', 'V8'];

const PATTERNS: { what: string; re: RegExp }[] = [
  { what: 'a sibling directory of the checkout', re: /\.\.\/shared\b/ },
  { what: 'the original design notes', re: /\bdesign\.md\b/ },
  { what: 'the house style notes', re: /\bstyle\.md\b|\b[Ss]tyle rules? \d|\b[Ss]tyle §/ },
  { what: 'the testing notes', re: /\btesting-note[s]\b/ },
  { what: 'an absolute path of a build machine', re: /\/work\// },
];

/** The zone format is cited as docs/zone-format.md, or relatively from a file in docs/ itself. */
const ZONE_FORMAT = /(^|[^/\w-])zone-format\.md\b/;
const ISSUE = /(^|[^A-Za-z/#])[Ii]ssues? \d+/g;
const OTHER_ISSUE = new RegExp(`\\b(${OTHER_PROJECTS.map((p) => p.replace('.', '\\.')).join('|')}) $`);

/** Every reference in one file's text, as `path:line: what`. */
function findReferences(path: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const at = `${path}:${i + 1}`;
    for (const p of PATTERNS) if (p.re.test(line)) found.push(`${at}: ${p.what}`);
    if (!path.startsWith('docs/') && ZONE_FORMAT.test(line)) found.push(`${at}: the zone format cited outside docs/`);
    for (const m of line.matchAll(ISSUE)) {
      const start = m.index! + m[1]!.length;
      if (!OTHER_ISSUE.test(line.slice(0, start))) found.push(`${at}: our tracker's ${m[0].slice(m[1]!.length)}`);
    }
  });
  return found;
}

describe('references', () => {
  it('the scanner finds each kind of reference and lets the allowed ones through', () => {
    // Built from pieces, so that this file does not contain what it looks for.
    const dir = ['', 'w' + 'ork', 'shared', ''].join('/');
    const planted = [
      `// see ..${'/'}shared/container`,
      `/** design${'.'}md "Keys" */`,
      `# style rule${' '}10`,
      `(style rules${' '}8 and 9)`,
      `(style${' '}§6)`,
      `see style${'.'}md`,
      `the testing${'-'}notes say`,
      `at ${dir}container`,
      `(zone-format${'.'}md "Rules")`,
      `(issue${' '}3: never regenerate keys)`,
      `Issue${' '}4's target`,
    ];
    expect(planted.map((l) => findReferences('src/x.ts', l).length)).toEqual(planted.map(() => 1));
    const allowed = ['(PowerDNS issue 2432)', 'dnsviz issue 98', 'see docs/zone-format.md', 'GitHub issue #12'];
    expect(allowed.flatMap((l) => findReferences('src/x.ts', l))).toEqual([]);
    const relative = `see [the format](zone-format${'.'}md)`;
    expect(findReferences('docs/architecture.md', relative)).toEqual([]);
    expect(findReferences('README.md', relative)).toEqual(['README.md:1: the zone format cited outside docs/']);
    expect(findReferences('src/x.ts', `a\nb\n// design${'.'}md`)).toEqual(['src/x.ts:3: the original design notes']);
  });

  it('no tracked file refers to notes or paths outside the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT }).toString().split('\0').filter(Boolean);
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const f of files) {
      if (EXEMPT.has(f)) continue;
      let text: string;
      try {
        text = readFileSync(join(ROOT, f), 'utf8');
      } catch {
        continue; // tracked but deleted in the work tree
      }
      if (text.includes('\0')) continue; // binary
      found.push(...findReferences(f, text));
    }
    expect(found).toEqual([]);
  });
});
