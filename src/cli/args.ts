/**
 * The options of one command, read with node:util parseArgs, and the checks of the values several commands
 * share (ports, seconds, addresses, domain names). Every problem is a UsageError (exit 2) whose message starts
 * with the option it is about. `--` ends the options (POSIX.1-2017 XBD §12.2, Utility Syntax Guideline 10): what
 * follows is positional even when it starts with `-`.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseName, ROOT, type Name } from '../wire/name.js';
import { parseListen } from '../server/serve.js';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

export interface Args {
  readonly positionals: readonly string[];
  /** The value of a string option; given more than once, the last one. */
  value(name: string): string | undefined;
  /** Every value of a repeatable string option, in order; undefined when not given. */
  values(name: string): string[] | undefined;
  /** Whether a switch was given. */
  has(name: string): boolean;
}

/**
 * Parses `args` knowing the string options `strings` and the switches `switches` (every command also has
 * `--help`/`-h`). The checks parseArgs makes in strict mode are made here on its tokens, so that each message
 * names the option: an unknown option, a string option without a value, a value given to a switch, and an
 * option taken as the value of the one before it (`--zones --keys k`; `--zones=--keys` is a value).
 */
export function parseOptions(args: readonly string[], strings: readonly string[], switches: readonly string[]): Args {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of strings) options[s] = { type: 'string', multiple: true };
  for (const s of switches) options[s] = { type: 'boolean' };
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const given = new Map<string, string[]>();
  const on = new Set<string>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const type = Object.hasOwn(options, t.name) ? options[t.name]!.type : undefined;
    if (type === undefined) throw new UsageError(`unknown option ${t.rawName}`);
    if (type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`${t.rawName} takes no value (got "${t.value}")`);
      on.add(t.name);
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${t.rawName} needs a value`);
    if (!t.inlineValue && t.value.length > 1 && t.value.startsWith('-'))
      throw new UsageError(`${t.rawName} needs a value (got the option "${t.value}"; write ${t.rawName}=${t.value})`);
    given.set(t.name, [...(given.get(t.name) ?? []), t.value]);
  }
  return {
    positionals,
    value: (name) => given.get(name)?.at(-1),
    values: (name) => given.get(name),
    has: (name) => on.has(name),
  };
}

/** The one positional argument `what` (ZONE, FILE) of `command`. */
export function onePositional(a: Args, command: string, what: string): string {
  if (a.positionals.length !== 1) throw new UsageError(`${command} needs exactly one ${what}`);
  return a.positionals[0]!;
}

export function noPositionals(a: Args): void {
  if (a.positionals.length > 0) throw new UsageError(`unexpected argument "${a.positionals[0]}"`);
}

/** `flag` (say --keys) is only meaningful together with `needs` (say --signed). */
export function requires(a: Args, flag: string, needs: string): void {
  if ((a.value(flag) !== undefined || a.has(flag)) && !a.has(needs))
    throw new UsageError(`--${flag} only applies with --${needs}`);
}

/** A TCP or UDP port; `min` 0 where the system may choose (a listening port), 1 where one is connected to. */
export function port(source: string, text: string, min: 0 | 1): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 65535))
    throw new UsageError(`${source}: expected a port number ${min}..65535 (got "${text}")`);
  return n;
}

/** A whole number of seconds (at most 9 digits: over 31 years). */
export function seconds(source: string, text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${source}: expected a whole number of seconds (got "${text}")`);
  return Number(text);
}

/** A count: a whole number 0..`max`. */
export function count(source: string, text: string, max: number): number {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n <= max)) throw new UsageError(`${source}: expected a whole number 0..${max} (got "${text}")`);
  return n;
}

/** `ADDR:PORT` or `[IPV6]:PORT` (serve.ts parseListen); `min` as for port(). */
export function hostPort(source: string, text: string, min: 0 | 1): { host: string; port: number } {
  let r: { host: string; port: number };
  try {
    r = parseListen(text);
  } catch {
    throw new UsageError(`${source}: expected ADDR:PORT or [IPV6]:PORT (got "${text}")`);
  }
  if (isIP(r.host) === 0) throw new UsageError(`${source}: "${r.host}" is not an IPv4 or IPv6 address (in "${text}")`);
  port(source, String(r.port), min);
  return r;
}

/** An IPv4 or IPv6 address. */
export function ipAddress(source: string, text: string): string {
  if (isIP(text) === 0) throw new UsageError(`${source}: expected an IPv4 or IPv6 address (got "${text}")`);
  return text;
}

/** A domain name in presentation format (RFC 1035 §5.1), absolute whether or not it ends in a dot. */
export function domainName(source: string, text: string): Name {
  if (text === '') throw new UsageError(`${source}: expected a domain name, not an empty value`);
  try {
    return parseName(text.endsWith('.') ? text : text + '.', ROOT);
  } catch (e) {
    throw new UsageError(`${source}: ${(e as Error).message}`);
  }
}
