/**
 * `dane-ns tsig generate NAME`: a new TSIG key (RFC 8945) for a secondary, written to `<keys>/tsig/NAME.key`
 * (mode 0600, the file the server's keyring reads) in the format `tsig-keygen` prints, and printed: BIND
 * includes that text as it is, and Knot's and NSD's `key:` sections take the algorithm and secret from it. An
 * existing key is never overwritten: the secondaries hold its secret.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TSIG_ALGORITHM, TSIG_ALGORITHMS, TsigError } from '../dnssec/tsig.js';
import { formatTsigKey, generateTsigKey, TSIG_DIR, tsigKeyFileName, writeTsigKey } from '../dnssec/tsigkey.js';
import { domainName, onePositional, parseOptions, UsageError } from './args.js';
import { directory } from './env.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

export function tsigCmd(args: string[], io: Io): number {
  const sub = args[0];
  if (sub === undefined || sub === '--help' || sub === '-h') return printHelp(io, 'tsig');
  if (sub === 'generate') return tsigGenerate(args.slice(1), io);
  throw new UsageError(`unknown tsig subcommand "${sub}" (generate)`);
}

function tsigGenerate(args: string[], io: Io): number {
  const a = parseOptions(args, ['keys', 'algorithm'], []);
  if (a.has('help')) return printHelp(io, 'tsig');
  const name = domainName('NAME', onePositional(a, 'tsig generate', 'NAME'));
  const algorithm = a.value('algorithm') ?? DEFAULT_TSIG_ALGORITHM;
  if (!(TSIG_ALGORITHMS as readonly string[]).includes(algorithm))
    throw new UsageError(`--algorithm: expected one of ${TSIG_ALGORITHMS.join(', ')} (got "${algorithm}")`);
  const dir = directory(a, io.defaults, 'keys');
  let file: string;
  try {
    file = join(dir, TSIG_DIR, tsigKeyFileName(name));
  } catch (e) {
    if (e instanceof TsigError) throw new UsageError(`NAME: ${e.message}`);
    throw e;
  }
  if (existsSync(file)) throw new Error(`${file} exists: not overwritten (its secondaries hold that secret)`);
  const key = generateTsigKey(name, algorithm);
  writeTsigKey(dir, key);
  io.out(formatTsigKey(key));
  io.err(`dane-ns: wrote ${file}\n`);
  return 0;
}
