/**
 * The environment variables of dane-ns, read here and nowhere else. Each gives the default of the flag of the same
 * name (the container image sets them, see the Dockerfile); a flag given on the command line wins, and the variable
 * is then not read at all. A variable set to the empty string counts as unset; any other value that is not valid
 * is a usage error that names the variable, as a bad flag value names the flag.
 */
import { isIP } from 'node:net';
import { nameToText } from '../wire/name.js';
import { parseDuration } from '../zone/duration.js';
import { domainName, hostPort, UsageError, type Args } from './args.js';

export const UDP_ENGINES = ['auto', 'batch', 'dgram'] as const;
export type UdpEngine = (typeof UDP_ENGINES)[number];

/** The defaults the environment gives; each call reads and checks its variable. */
export interface Defaults {
  /** DANE_NS_ZONES, else ./zones */
  zones(): string;
  /** DANE_NS_KEYS, else ./keys */
  keys(): string;
  /** DANE_NS_STATE, else ./state */
  state(): string;
  /** DANE_NS_LISTEN (comma-separated ADDR:PORT), else 127.0.0.1:5353 */
  listen(): string[];
  /** DANE_NS_HTTP (ADDR:PORT), else off */
  http(): string | undefined;
  /** DANE_NS_UDP_ENGINE, else auto */
  udpEngine(): UdpEngine;
  /** DANE_NS_LOG_QUERIES=1 on, 0 off; else off */
  logQueries(): boolean;
  /** DANE_NS_RESOLVER (ADDR[:PORT] or none), else undefined: the first nameserver of /etc/resolv.conf */
  resolver(): string | undefined;
  /** DANE_NS_COOKIE_SECRET (32 hex digits), else undefined: the server's own rotated secret */
  cookieSecret(): Uint8Array | undefined;
  /** DANE_NS_COOKIE_SECRET_FILE (a file holding the 32 hex digits), else undefined */
  cookieSecretFile(): string | undefined;
  /** DANE_NS_CATALOG (a domain name), else no catalog zone */
  catalog(): string | undefined;
  /** DANE_NS_CATALOG_GRACE (a duration: 3600, 1h, 1d), else undefined: server/catalog.ts's default */
  catalogGrace(): number | undefined;
}

/** The defaults `env` (the process's environment unless given) gives. */
export function environmentDefaults(env: Readonly<Record<string, string | undefined>> = process.env): Defaults {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  return {
    zones: () => get('DANE_NS_ZONES') ?? './zones',
    keys: () => get('DANE_NS_KEYS') ?? './keys',
    state: () => get('DANE_NS_STATE') ?? './state',
    listen: () => {
      const text = get('DANE_NS_LISTEN');
      if (text === undefined) return ['127.0.0.1:5353'];
      const list = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (list.length === 0) throw new UsageError(`DANE_NS_LISTEN: no address in "${text}"`);
      for (const spec of list) hostPort('DANE_NS_LISTEN', spec, 0);
      return list;
    },
    http: () => {
      const text = get('DANE_NS_HTTP');
      if (text !== undefined) hostPort('DANE_NS_HTTP', text, 0);
      return text;
    },
    udpEngine: () => udpEngine('DANE_NS_UDP_ENGINE', get('DANE_NS_UDP_ENGINE') ?? 'auto'),
    logQueries: () => {
      const text = get('DANE_NS_LOG_QUERIES');
      if (text === undefined || text === '0') return false;
      if (text === '1') return true;
      throw new UsageError(`DANE_NS_LOG_QUERIES: expected 1 or 0 (got "${text}")`);
    },
    resolver: () => {
      const text = get('DANE_NS_RESOLVER');
      if (text !== undefined) resolverSetting('DANE_NS_RESOLVER', text);
      return text;
    },
    cookieSecret: () => {
      const text = get('DANE_NS_COOKIE_SECRET');
      return text === undefined ? undefined : cookieSecretHex('DANE_NS_COOKIE_SECRET', text);
    },
    cookieSecretFile: () => get('DANE_NS_COOKIE_SECRET_FILE'),
    catalog: () => {
      const text = get('DANE_NS_CATALOG');
      return text === undefined ? undefined : catalogName('DANE_NS_CATALOG', text);
    },
    catalogGrace: () => {
      const text = get('DANE_NS_CATALOG_GRACE');
      return text === undefined ? undefined : graceDuration('DANE_NS_CATALOG_GRACE', text);
    },
  };
}

/** The catalog zone's name (`serve --catalog`, RFC 9432), lower-case absolute text. */
export function catalogName(source: string, text: string): string {
  return nameToText(domainName(source, text)).toLowerCase();
}

/** The catalog's grace delay (`serve --catalog-grace`): seconds or BIND-style units, as zone files write them. */
export function graceDuration(source: string, text: string): number {
  const s = parseDuration(text);
  if (s === undefined)
    throw new UsageError(`${source}: expected a duration such as 3600, 30m, 1h or 1d (got "${text}")`);
  return s;
}

/** One of the UDP engines (server/serve.ts): the native batched one, node:dgram, or the first that works. */
export function udpEngine(source: string, text: string): UdpEngine {
  if (!(UDP_ENGINES as readonly string[]).includes(text))
    throw new UsageError(`${source}: expected auto, batch or dgram (got "${text}")`);
  return text as UdpEngine;
}

/**
 * A server cookie secret shared by several servers: 32 hex digits, 16 octets (RFC 9018 §4.4's SipHash-2-4 key,
 * Knot's `cookie-secret`); white space around it is ignored. The error never repeats the value (a secret).
 */
export function cookieSecretHex(source: string, text: string): Uint8Array {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{32}$/.test(t))
    throw new UsageError(`${source}: expected 32 hex digits (16 octets), got ${t.length} characters`);
  return Buffer.from(t, 'hex');
}

/** The directory --zones, --keys or --state names, else its variable's, else the default. */
export function directory(a: Args, d: Defaults, name: 'zones' | 'keys' | 'state'): string {
  const given = a.value(name);
  if (given === '') throw new UsageError(`--${name}: expected a directory, not an empty value`);
  return given ?? d[name]();
}

/**
 * A recursive resolver given as ADDR or ADDR:PORT (`[v6]:PORT`; port 53 by default), or `none`: the server then
 * asks no resolver (the parents' name servers only where `dnssec.parent` lists them).
 */
export function resolverSetting(source: string, text: string): { host: string; port: number } | 'none' {
  if (text === 'none') return 'none';
  return isIP(text) !== 0 ? { host: text, port: 53 } : hostPort(source, text, 1);
}
