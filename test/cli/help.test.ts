/**
 * The help table (src/cli/help.ts) against the commands and the README: `dane-ns --help` lists every command,
 * `dane-ns CMD --help` prints the usage of each command of its family, the options each usage line names are
 * exactly the options the command accepts, and the README's "Command line" block names the same ones.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/help.js';
import { run } from './run.js';

/** The `--flag` names in a usage text. */
const flagsOf = (text: string): string[] =>
  [...new Set([...text.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!))].sort();

/** The words that select the command (`keys rollover` of `keys rollover ZONE`). */
const words = (name: string): string[] => name.split(' ').filter((w) => !/^[A-Z]/.test(w));

const ALL_FLAGS = [...new Set(COMMANDS.flatMap((c) => flagsOf(c.options)))].sort();

describe('help', () => {
  it('dane-ns --help (and -h, help) lists every command with its summary', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      for (const c of COMMANDS)
        expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    }
  });

  it('dane-ns with no arguments prints the commands on stderr and exits 2 (a usage error)', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    for (const c of COMMANDS) expect(r.stderr).toMatch(new RegExp(`^  ${c.name} +`, 'm'));
    expect(r.stderr).toMatch(/^usage: dane-ns <command> \[options\]$/m);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('dane-ns %s --help prints its usage', async (_n, c) => {
    for (const argv of [
      [...words(c.name), '--help'],
      [...words(c.name), '-h'],
      [c.topic, '--help'],
    ]) {
      const r = await run(argv);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const usage = r.stdout.split('\n\n')[0]!.replace(/\n +/g, ' ');
      expect(usage).toMatch(/^usage: dane-ns /);
      expect(usage).toContain(`dane-ns ${c.name} ${c.options}`);
    }
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    'dane-ns %s accepts exactly the options of its usage line',
    async (_n, c) => {
      const accepted: string[] = [];
      for (const flag of [...ALL_FLAGS, 'no-such-flag']) {
        // --help last: the options are all checked first, then help is printed and nothing else is done.
        const r = await run([...words(c.name), `--${flag}`, 'v', '--help']);
        if (r.code === 0) accepted.push(flag);
        else expect(r.stderr).toContain(`unknown option --${flag} `);
      }
      expect(accepted.sort()).toEqual(flagsOf(c.options));
    },
  );

  it("the README's Command line block names every command with the same options", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Command line'));
    const block = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
    // A usage wrapped onto the next line continues with spaces; a comment starts with #.
    const usages = block
      .replace(/\n +(?=\[)/g, ' ')
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, ''));
    for (const c of COMMANDS) {
      const line = usages.find((l) => l.startsWith(`dane-ns ${c.name}`));
      expect(line, `README usage of ${c.name}`).toBeDefined();
      expect(flagsOf(line!), c.name).toEqual(flagsOf(c.options));
    }
    expect(usages.filter((l) => l.startsWith('dane-ns '))).toHaveLength(COMMANDS.length);
  });
});
