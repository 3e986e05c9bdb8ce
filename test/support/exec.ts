/** Running an external tool from a test (openssl, ldns, knot and bind utilities) and getting its output. */
import { execFile } from 'node:child_process';
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
