/**
 * Runs the command line in this process (src/cli/main.ts) with its own environment, capturing what it writes:
 * fast enough to try every flag. `serve` is not run this way (it keeps running and installs signal handlers):
 * serve.test.ts starts the built server.
 */
import { main } from '../../src/cli/main.js';
import { environmentDefaults } from '../../src/cli/env.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `dane-ns ...argv` with only the DANE_NS_* variables in `env` set. */
export async function run(argv: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    defaults: environmentDefaults(env),
  });
  return { code, stdout, stderr };
}

/** A usage error: exit 2, nothing on stdout, one line on stderr, returned. */
export function usageLine(r: Run): string {
  const lines = r.stderr.trim().split('\n');
  if (r.code !== 2 || r.stdout !== '' || lines.length !== 1)
    throw new Error(`not a usage error: code ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return lines[0]!;
}
