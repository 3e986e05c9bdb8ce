/**
 * dane-ns is started with the same node flags everywhere: the shebang of the `dane-ns` command (src/cli.ts),
 * `npm start` (the README's quick start), the Docker image's ENTRYPOINT, and the bench scripts (bench/lib.sh),
 * so that what the benches measure is what operators run. The flags are the ones V8 only reads at start-up
 * (see cli.ts, where the others are set).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string): string => readFileSync(ROOT + f, 'utf8');

const FLAGS = ['--max-semi-space-size=4'];

/** The words between `node` and the script in a command line. */
function nodeFlags(words: readonly string[], script: RegExp): string[] {
  const at = words.indexOf('node');
  const end = words.findIndex((w) => script.test(w));
  expect(at).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(at);
  return words.slice(at + 1, end);
}

describe('node flags of every way dane-ns is started', () => {
  it('the shebang of src/cli.ts', () => {
    const shebang = read('src/cli.ts').split('\n')[0]!;
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    expect(shebang.split(' ').slice(3)).toEqual(FLAGS);
  });

  it('npm start', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    expect(nodeFlags(start.split(/\s+/), /^dist\/cli\.js$/)).toEqual(FLAGS);
  });

  it("the Dockerfile's ENTRYPOINT", () => {
    const line = read('Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT '));
    expect(nodeFlags(JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[], /\/dist\/cli\.js$/)).toEqual(FLAGS);
  });

  it('the bench scripts', () => {
    const m = /SERVE_NODE_FLAGS <<<"\$\{DANE_NS_NODE_FLAGS-([^}]*)\}"/.exec(read('bench/lib.sh'));
    expect(m).not.toBeNull();
    expect(m![1]!.split(' ')).toEqual(FLAGS);
  });

  it('the shebang runs the built command (env -S passes the flags to node)', () => {
    const shebang = read('dist/cli.js').split('\n')[0]!.slice(2).split(' ');
    const r = spawnSync(shebang[0]!, [...shebang.slice(1), ROOT + 'dist/cli.js', '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: dane-ns');
  });
});
