/** `dane-ns --version` and `-V` (src/cli/version.ts): the version of package.json, nothing else. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run, usageLine } from './run.js';

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('dane-ns --version', () => {
  it.each([['--version'], ['-V']])('%s prints "dane-ns VERSION" from package.json, exit 0', async (flag) => {
    const r = await run([flag]);
    expect(r).toEqual({ code: 0, stdout: `dane-ns ${PKG.version}\n`, stderr: '' });
    expect(PKG.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('takes no arguments (a usage error)', async () => {
    expect(usageLine(await run(['--version', 'serve']))).toBe(
      `dane-ns: --version takes no arguments (got "serve") (see 'dane-ns --help')`,
    );
  });

  it('is listed in the main help', async () => {
    expect((await run(['--help'])).stdout).toMatch(/^ +dane-ns --version$/m);
  });
});
