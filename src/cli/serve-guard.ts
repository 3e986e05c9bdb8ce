/**
 * The serve flags of the query ACL and response rate limiting (server/guard.ts, server/rrl.ts), read into the
 * server's options. The defaults are NSD's (200 responses a second per bucket, every 2nd limited response sent
 * truncated, /24 for IPv4) and Knot's /56 for IPv6 (a site's usual allocation, where NSD's /64 lets one site
 * use 256 buckets); loopback is exempt unless --rrl-exempt says otherwise. And the server cookie secret shared
 * by several servers (--cookie-secret, --cookie-secret-file, or their variables: server/cookie-secret.ts).
 */
import { parsePrefix } from '../zone/prefix.js';
import type { AddressPrefix } from '../zone/settings.js';
import { LOOPBACK, type GuardOptions } from '../server/guard.js';
import { readRegularFile } from '../state/readfile.js';
import { UsageError, type Args } from './args.js';
import { cookieSecretHex, type Defaults } from './env.js';

export const RRL_DEFAULTS = { rate: 200, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56 } as const;

function prefixes(flag: string, values: readonly string[]): AddressPrefix[] {
  return values.map((v) => {
    try {
      return parsePrefix(v);
    } catch (e) {
      throw new UsageError(`--${flag}: ${(e as Error).message}`);
    }
  });
}

function whole(a: Args, flag: string, max: number, fallback: number): number {
  const text = a.value(flag);
  if (text === undefined) return fallback;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n <= max)) throw new UsageError(`--${flag}: expected a whole number 0..${max} (got "${text}")`);
  return n;
}

/** `allowQuery` and `rrl` of ServeOptions from the flags. */
export function guardOptions(a: Args): Pick<GuardOptions, 'allowQuery' | 'rrl'> {
  const allow = a.values('allow-query');
  const exemptFlags = a.values('rrl-exempt');
  // `--rrl-exempt none` clears the default (loopback) without naming another prefix.
  const exempt =
    exemptFlags === undefined
      ? LOOPBACK
      : prefixes(
          'rrl-exempt',
          exemptFlags.filter((v) => v !== 'none'),
        );
  const rrl = {
    rate: whole(a, 'rrl', 1_000_000, RRL_DEFAULTS.rate),
    slip: whole(a, 'rrl-slip', 100, RRL_DEFAULTS.slip),
    ipv4Prefix: whole(a, 'rrl-ipv4-prefix', 32, RRL_DEFAULTS.ipv4Prefix),
    ipv6Prefix: whole(a, 'rrl-ipv6-prefix', 128, RRL_DEFAULTS.ipv6Prefix),
    exempt,
  };
  return { ...(allow ? { allowQuery: prefixes('allow-query', allow) } : {}), rrl };
}

/** The secret in a file (its 32 hex digits; a file keeps the secret out of the process list and the environment). */
function secretFromFile(source: string, path: string): Uint8Array {
  let text: string;
  try {
    text = readRegularFile(path, 4096).toString('utf8');
  } catch (e) {
    throw new UsageError(`${source}: cannot read ${path}: ${(e as Error).message}`);
  }
  return cookieSecretHex(`${source} ${path}`, text);
}

/**
 * The shared server cookie secret: --cookie-secret HEX or --cookie-secret-file PATH (one of them), else
 * DANE_NS_COOKIE_SECRET or DANE_NS_COOKIE_SECRET_FILE (one of them, read only when neither flag is given);
 * undefined: the server makes and rotates its own.
 */
export function cookieSecret(a: Args, d: Defaults): Uint8Array | undefined {
  const hex = a.value('cookie-secret');
  const file = a.value('cookie-secret-file');
  if (hex !== undefined && file !== undefined)
    throw new UsageError('--cookie-secret and --cookie-secret-file: give one of them');
  if (hex !== undefined) return cookieSecretHex('--cookie-secret', hex);
  if (file !== undefined) return secretFromFile('--cookie-secret-file', file);
  const envFile = d.cookieSecretFile();
  const envHex = d.cookieSecret();
  if (envHex !== undefined && envFile !== undefined)
    throw new UsageError('DANE_NS_COOKIE_SECRET and DANE_NS_COOKIE_SECRET_FILE: give one of them');
  return envFile !== undefined ? secretFromFile('DANE_NS_COOKIE_SECRET_FILE', envFile) : envHex;
}
