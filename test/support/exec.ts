/** Running an external tool from a test (openssl, ldns, knot and bind utilities) and getting its output. */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The standard output of `bin args`, run in the repository root (paths in the tests are relative to it) with a
 * 30 s limit. A failure rejects with the command line, the error and everything the tool printed.
 */
export function exec(bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: REPO_ROOT, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * The standard output of `cmd args`, run synchronously in `cwd` (some tools drop files in their working
 * directory: dnssec-signzone's dsset-, ldns-keygen). A missing tool fails the test naming the Debian packages
 * that provide it; a failure fails it with the exit status and the tool's stderr.
 */
export function execSync(cmd: string, args: readonly string[], o: { cwd: string; packages: string }): string {
  try {
    return execFileSync(cmd, args, { cwd: o.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed (Debian ${o.packages}); this test requires it`);
    throw new Error(`${cmd} ${args.join(' ')} exited with ${err.status}: ${err.stderr ?? ''}`);
  }
}
