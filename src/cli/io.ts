/**
 * What a command talks to besides its arguments: standard output and error, and the defaults the environment
 * gives. The entry point (src/cli.ts) passes the process's; tests pass their own and read what was written.
 */
import type { Defaults } from './env.js';

export interface Io {
  /** Writes to standard output (the command's result). */
  out(text: string): void;
  /** Writes to standard error (warnings and errors). */
  err(text: string): void;
  readonly defaults: Defaults;
}
