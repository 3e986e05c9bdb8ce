/**
 * The README's quick start, verbatim: the tracked files are copied to a fresh directory (as a newcomer's clone
 * would be), the first shell block under "Quick start" is run there exactly as written, and the server it starts
 * is asked the question the README suggests (`dig @127.0.0.1 -p 5353 example.com MX +dnssec`), which must come
 * back signed. The command, the port and the query are all read from README.md, so the test fails when the README
 * stops being true. Then, in the same checkout, the install block under "Running as a service without Docker" is
 * run line by line as written, with npm's global prefix pointed at a temporary directory (so the machine's own
 * global packages are not touched): the `dane-ns` command it installs must print the package's version.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dig, requireTool } from './helpers/dig.js';
import { REPO_ROOT } from './helpers/server.js';

const execFileAsync = promisify(execFile);
const run = (line: string, opts: Parameters<typeof execFileAsync>[2]) => execFileAsync('bash', ['-c', line], opts);

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The first ```sh block after the "## Quick start" heading. */
function quickStartCommand(): string {
  const section = README.slice(README.indexOf('## Quick start'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```sh block under "## Quick start"');
  return m[1]!.trim();
}

/** The lines of the first ```sh block after the "## Running as a service without Docker" heading. */
function installCommands(): string[] {
  const section = README.slice(README.indexOf('## Running as a service without Docker'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```sh block under "## Running as a service without Docker"');
  return m[1]!.trim().split('\n');
}

/** The dig command the quick start suggests, as an argument list. */
function suggestedQuery(): string[] {
  const m = /`(dig @127\.0\.0\.1 [^`]+)`/.exec(README.slice(README.indexOf('## Quick start')));
  if (!m) throw new Error('README.md: no `dig @127.0.0.1 ...` suggestion under "## Quick start"');
  return m[1]!.split(/\s+/).slice(1);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('README quick start, verbatim', () => {
  let dir: string | undefined;
  let proc: ChildProcess | undefined;
  afterAll(async () => {
    if (proc?.pid !== undefined && proc.exitCode === null) {
      try {
        process.kill(-proc.pid, 'SIGTERM'); // npm, its shell and the server: the whole group we started
      } catch {
        /* already gone */
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs, starts the sample zone and answers the suggested query, signed', async () => {
    requireTool('dig');
    const command = quickStartCommand();
    expect(command).toBe('npm ci && npm start');
    const query = suggestedQuery();
    const port = Number(query[query.indexOf('-p') + 1]);
    expect(await portFree(port), `port ${port} (from the README) is busy on 127.0.0.1`).toBe(true);

    // A newcomer's checkout: the tracked files only.
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-quickstart-'));
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT }).toString().split('\0').filter(Boolean);
    for (const f of files) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      cpSync(join(REPO_ROOT, f), join(dir, f));
    }

    let out = '';
    proc = spawn('bash', ['-c', command], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
    });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const t0 = Date.now();
    while (!out.includes('"event":"listening"')) {
      if (proc.exitCode !== null) throw new Error(`'${command}' exited ${proc.exitCode}:\n${out.slice(-4000)}`);
      if (Date.now() - t0 > 240_000)
        throw new Error(`'${command}' did not start the server in 240 s:\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toContain(`"port":${port}`);

    const answer = await dig(query);
    expect(answer).toMatch(/status: NOERROR/);
    expect(answer).toMatch(/^example\.com\.\s+\d+\s+IN\s+MX\s+10 mail\.example\.com\.$/m);
    expect(answer).toMatch(/^example\.com\.\s+\d+\s+IN\s+RRSIG\s+MX 13 2 /m);
  }, 300_000);

  it('the install commands of "Running as a service without Docker" install a dane-ns command that runs', async () => {
    expect(dir, 'the quick start checkout').toBeDefined();
    const lines = installCommands();
    expect(lines).toEqual(['npm ci && npm run build && npm install -g .', 'dane-ns --version']);
    const prefix = mkdtempSync(join(tmpdir(), 'dane-ns-prefix-'));
    try {
      const env = {
        ...process.env,
        npm_config_prefix: prefix,
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
      };
      // Asynchronous: a synchronous child of minutes would stall the test worker's own messages.
      await run(lines[0]!, { cwd: dir!, env, timeout: 240_000, maxBuffer: 64 << 20 });
      const version = String((await run(lines[1]!, { cwd: tmpdir(), env, timeout: 30_000 })).stdout);
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(version.trim()).toBe(`dane-ns ${pkg.version}`);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  }, 300_000);
});
