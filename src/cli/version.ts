/**
 * `dane-ns --version` (`-V`): the version of package.json, read at run time so that the one number a release
 * sets is the one the program prints (the package and the Docker image both ship package.json next to dist/).
 */
import { readFileSync } from 'node:fs';
import type { Io } from './io.js';

/** package.json's `version`, found two directories up from this module (src/cli/ and dist/cli/ alike). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

/** Prints `dane-ns VERSION`; exit code 0. */
export function printVersion(io: Io): number {
  io.out(`dane-ns ${packageVersion()}\n`);
  return 0;
}
