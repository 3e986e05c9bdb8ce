/**
 * The dispatcher: picks the command, runs it, and maps what went wrong to one clear line on stderr and the exit
 * code: 0 success; 1 the command failed (bad zone, I/O, server error; zone problems as file:line: reason);
 * 2 usage error (unknown command or option, a missing or invalid value, in a flag or an environment variable).
 */
import { ZoneError, formatProblem } from '../zone/errors.js';
import { UsageError } from './args.js';
import { checkCmd, healthcheckCmd } from './check.js';
import { reloadCmd, statusCmd } from './control.js';
import { environmentDefaults } from './env.js';
import { mainHelp, printHelp } from './help.js';
import type { Io } from './io.js';
import { dsCmd, keysCmd } from './keys.js';
import { secondaryCmd } from './secondary.js';
import { serveCmd } from './serve.js';
import { tlsaCmd } from './tlsa.js';
import { printVersion } from './version.js';
import { tsigCmd } from './tsig.js';
import { zoneCmd } from './zone.js';

/** Each command family's function, by the first word of the command line. */
const RUNNERS: Record<string, (args: string[], io: Io) => number | Promise<number>> = {
  serve: serveCmd,
  zone: zoneCmd,
  ds: dsCmd,
  keys: keysCmd,
  tlsa: tlsaCmd,
  tsig: tsigCmd,
  'secondary-config': secondaryCmd,
  check: checkCmd,
  healthcheck: healthcheckCmd,
  status: statusCmd,
  reload: reloadCmd,
};

/** The process's standard output and error and its environment. */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    defaults: environmentDefaults(),
  };
}

/** Runs `dane-ns ARGV...`; resolves with the exit code (never rejects). */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    // Nothing to do is a usage error (as for cp, tar, git): the commands on stderr, exit 2, nothing on stdout.
    if (cmd === undefined) {
      io.err(mainHelp() + '\n');
      return 2;
    }
    if (cmd === 'help' || cmd === '--help' || cmd === '-h') return printHelp(io);
    if (cmd === '--version' || cmd === '-V') {
      if (rest.length > 0) throw new UsageError(`${cmd} takes no arguments (got "${rest[0]}")`);
      return printVersion(io);
    }
    const run = Object.hasOwn(RUNNERS, cmd) ? RUNNERS[cmd] : undefined;
    if (run === undefined) throw new UsageError(`unknown command "${cmd}"`);
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`dane-ns: ${e.message} (see 'dane-ns ${helpTopic(cmd)}--help')\n`);
      return 2;
    }
    if (e instanceof ZoneError) {
      for (const p of e.problems) io.err(formatProblem(p) + '\n');
      return 1;
    }
    io.err(`dane-ns: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** `CMD ` when the command is known (its own help is the useful one), else nothing. */
function helpTopic(cmd: string | undefined): string {
  return cmd !== undefined && Object.hasOwn(RUNNERS, cmd) ? `${cmd} ` : '';
}
