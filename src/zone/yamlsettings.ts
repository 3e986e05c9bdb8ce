/**
 * The settings sections of a YAML zone file, `soa:`, `dnssec:` and `tlsa:` (docs/zone-format.md), and the value
 * forms every key shares: one scalar, a TTL or duration, a boolean. yaml.ts reads the file's shape and the
 * records; this module checks every settings value. A value is accepted only when it has an effect; anything
 * else is a problem that names the key (`dnssec.keys: expected ksk-zsk or csk, not "x"`) with the value's line.
 */
import { isScalar, isSeq, type Scalar } from 'yaml';
import { MAX_SECONDS, parseDuration } from './duration.js';
import { DNSSEC_DEFAULTS, type DnssecSettings, type ParentServer, type TlsaEntry } from './settings.js';
import { parseParentServer } from './yamlparent.js';

/** The `soa:` section: the SOA RDATA fields (RFC 1035 §3.3.13) and the SOA RRset's TTL. */
export interface SoaInput {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number | 'auto';
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
  readonly ttl: number | undefined;
  readonly line: number;
  /** Lines of the two names, for messages about them. */
  readonly lines: { readonly mname: number; readonly rname: number };
}

/** One key of a mapping with its value and the line of the pair. */
export interface Entry {
  readonly key: string;
  readonly value: unknown;
  readonly line: number;
}

/** What the settings readers need from the YAML reader: messages, lines, and mappings read with duplicates found. */
export interface NodeReader {
  problem(line: number, reason: string): void;
  lineOf(node: unknown): number;
  /** The entries of a mapping (none for an empty value); `what: expected a mapping` otherwise. */
  entries(v: unknown, line: number, what: string): Entry[];
}

/**
 * No value at all: `key:` with nothing after it (an empty plain scalar under the failsafe schema). A quoted
 * `""` is a value, the empty string.
 */
export function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (isScalar(v) && v.value === '' && v.type === 'PLAIN');
}

/** One scalar, as the string written (the failsafe schema reads every scalar as a string). */
export function scalar(r: NodeReader, n: unknown, line: number, what: string): string | undefined {
  if (isScalar(n)) return String((n as Scalar).value);
  r.problem(line, `${what}: expected a single value`);
  return undefined;
}

/** One scalar that is not empty: a name or a file name. */
export function text(r: NodeReader, n: unknown, line: number, what: string): string | undefined {
  const s = scalar(r, n, line, what);
  if (s !== '') return s;
  r.problem(line, `${what}: expected a value, not ""`);
  return undefined;
}

/** A TTL or duration in seconds. */
export function duration(r: NodeReader, n: unknown, line: number, what: string): number | undefined {
  const s = scalar(r, n, line, what);
  if (s === undefined) return undefined;
  const v = parseDuration(s);
  if (v === undefined) r.problem(line, `${what}: "${s}" is not a number of seconds or a duration like 1h, 14d`);
  return v;
}

/** `true` or `false` (the YAML booleans); `yes`, `on`, `1` and the like are refused, not read as false. */
export function boolean(r: NodeReader, n: unknown, line: number, what: string): boolean | undefined {
  const s = scalar(r, n, line, what);
  if (s === 'true' || s === 'false') return s === 'true';
  if (s !== undefined) r.problem(line, `${what}: expected true or false, not "${s}"`);
  return undefined;
}

/** One of `choices`. */
function choice<C extends string>(r: NodeReader, e: Entry, what: string, choices: readonly C[]): C | undefined {
  const s = scalar(r, e.value, e.line, what);
  if (s === undefined) return undefined;
  if ((choices as readonly string[]).includes(s)) return s as C;
  r.problem(e.line, `${what}: expected ${choices.join(' or ')}, not "${s}"`);
  return undefined;
}

/** The entries of a settings mapping by key; unknown keys are problems naming them and are left out. */
export function fields(
  r: NodeReader,
  v: unknown,
  line: number,
  what: string,
  known: readonly string[],
): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const e of r.entries(v, line, what)) {
    if (known.includes(e.key)) out.set(e.key, e);
    else r.problem(e.line, `${what}: unknown field "${e.key}" (expected one of: ${known.join(', ')})`);
  }
  return out;
}

const SOA_KEYS = ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum', 'ttl'] as const;

/** The `soa:` section; undefined (and a problem) without mname or rname. */
export function readSoa(r: NodeReader, v: unknown, line: number): SoaInput | undefined {
  const f = fields(r, v, line, 'soa', SOA_KEYS);
  const name = (k: 'mname' | 'rname'): string | undefined => {
    const e = f.get(k);
    if (!e) return void r.problem(line, `soa.${k} is required`);
    const s = text(r, e.value, e.line, `soa.${k}`);
    // An e-mail address has one @ (RFC 5322 §3.4.1); anything else is a domain name.
    if (k === 'rname' && s !== undefined && s.split('@').length > 2)
      return void r.problem(e.line, `soa.rname: "${s}" is not a domain name or an e-mail address`);
    return s;
  };
  const mname = name('mname');
  const rname = name('rname');
  let serial: number | 'auto' = 'auto';
  const se = f.get('serial');
  if (se) {
    const s = scalar(r, se.value, se.line, 'soa.serial');
    if (s !== undefined && s !== 'auto') {
      // RFC 1982: a 32-bit serial number.
      if (/^\d+$/.test(s) && Number(s) <= 0xffffffff) serial = Number(s);
      else r.problem(se.line, `soa.serial: "${s}" is not "auto" or a number 0..4294967295`);
    }
  }
  const seconds = (k: (typeof SOA_KEYS)[number], dflt: number): number => {
    const e = f.get(k);
    return e ? (duration(r, e.value, e.line, `soa.${k}`) ?? dflt) : dflt;
  };
  const ttlEntry = f.get('ttl');
  const ttl = ttlEntry ? duration(r, ttlEntry.value, ttlEntry.line, 'soa.ttl') : undefined;
  if (mname === undefined || rname === undefined) return undefined;
  return {
    mname,
    rname,
    serial,
    refresh: seconds('refresh', 7200),
    retry: seconds('retry', 3600),
    expire: seconds('expire', 1209600),
    minimum: seconds('minimum', 300),
    ttl,
    line,
    lines: { mname: f.get('mname')!.line, rname: f.get('rname')!.line },
  };
}

const DNSSEC_KEYS = [
  'enabled',
  'denial',
  'keys',
  'signature-validity',
  'refresh-before',
  'inception-offset',
  'cds',
  'parent',
  'parent-check',
  'margin',
  'zsk-lifetime',
  'ksk-lifetime',
] as const;

/**
 * The `dnssec:` section over the defaults. `lifetimeLines` gets the line of each key lifetime written, for
 * checkLifetimes once the DNSKEY TTL (the SOA's) is known.
 */
export function readDnssec(
  r: NodeReader,
  v: unknown,
  line: number,
  lifetimeLines?: Map<string, number>,
): DnssecSettings {
  const out = { ...DNSSEC_DEFAULTS } as { -readonly [K in keyof DnssecSettings]: DnssecSettings[K] };
  const f = fields(r, v, line, 'dnssec', DNSSEC_KEYS);
  const get = <T>(k: string, read: (e: Entry, what: string) => T | undefined): T | undefined => {
    const e = f.get(k);
    return e ? read(e, `dnssec.${k}`) : undefined;
  };
  out.enabled = get('enabled', (e, w) => boolean(r, e.value, e.line, w)) ?? out.enabled;
  out.keys = get('keys', (e, w) => choice(r, e, w, ['ksk-zsk', 'csk'] as const)) ?? out.keys;
  const denial = get('denial', (e, w) => choice(r, e, w, ['nsec', 'compact'] as const));
  // RFC 9824 compact denial is part of the format but not of the signer yet: refused rather than served as an
  // NSEC chain the operator did not ask for.
  if (denial === 'compact') r.problem(f.get('denial')!.line, 'dnssec.denial: compact is not supported yet');
  const seconds = (k: string): number | undefined => get(k, (e, w) => duration(r, e.value, e.line, w));
  out.signatureValidity = seconds('signature-validity') ?? out.signatureValidity;
  out.refreshBefore = seconds('refresh-before') ?? out.refreshBefore;
  out.inceptionOffset = seconds('inception-offset') ?? out.inceptionOffset;
  out.cds = get('cds', (e, w) => choice(r, e, w, ['rollover', 'always', 'never'] as const)) ?? out.cds;
  out.parent = get('parent', (e, w) => parentServers(r, e, w)) ?? out.parent;
  out.parentCheck = seconds('parent-check') ?? out.parentCheck;
  out.margin = seconds('margin') ?? out.margin;
  for (const [k, field] of [
    ['zsk-lifetime', 'zskLifetime'],
    ['ksk-lifetime', 'kskLifetime'],
  ] as const) {
    const life = seconds(k);
    if (!life) continue;
    out[field] = life;
    lifetimeLines?.set(k, f.get(k)!.line);
  }
  // A CSK zone has one key, which follows ksk-lifetime (as Knot's single-type signing): a ZSK lifetime there
  // would roll a key that does not exist.
  if (out.keys === 'csk' && out.zskLifetime !== undefined)
    r.problem(
      f.get('zsk-lifetime')!.line,
      'dnssec.zsk-lifetime: the zone has one key (keys: csk), which follows dnssec.ksk-lifetime',
    );
  if (out.parentCheck === 0) r.problem(f.get('parent-check')!.line, 'dnssec.parent-check: must be at least 1 second');
  if (out.refreshBefore >= out.signatureValidity)
    r.problem(line, 'dnssec.refresh-before must be shorter than dnssec.signature-validity');
  // RFC 4034 §3.1.5: inception and expiration are compared in serial number arithmetic, so they must be less
  // than 2^31 seconds (68 years) apart.
  if (out.inceptionOffset + out.signatureValidity > MAX_SECONDS)
    r.problem(line, 'dnssec.inception-offset + dnssec.signature-validity must be less than 68 years');
  return out;
}

/**
 * A key lifetime shorter than the rollover it starts is refused: the new key's DNSKEY must be in every cache
 * before it signs (DNSKEY TTL + margin, RFC 7583 §3.2), and its signatures or DS in every cache before the old
 * key goes (another DNSKEY TTL + margin at least), so the minimum is 2 x (DNSKEY TTL + margin).
 */
export function checkLifetimes(
  r: NodeReader,
  d: DnssecSettings,
  lifetimeLines: ReadonlyMap<string, number>,
  dnskeyTtl: number,
): void {
  const min = 2 * (dnskeyTtl + d.margin);
  for (const [k, life] of [
    ['zsk-lifetime', d.zskLifetime],
    ['ksk-lifetime', d.kskLifetime],
  ] as const)
    if (life !== undefined && life < min)
      r.problem(
        lifetimeLines.get(k)!,
        `dnssec.${k}: ${life} s is shorter than a rollover takes; at least ${min} s (2 x (DNSKEY TTL ${dnskeyTtl} s + margin ${d.margin} s)), or 0 for rollovers by hand only`,
      );
}

/** `dnssec.parent`: one address or a list of them, each listed once; undefined when one is not usable. */
function parentServers(r: NodeReader, e: Entry, what: string): ParentServer[] | undefined {
  const items = isSeq(e.value) ? e.value.items : [e.value];
  const out: ParentServer[] = [];
  for (const it of items) {
    const l = isSeq(e.value) && isScalar(it) ? r.lineOf(it) : e.line;
    const s = scalar(r, it, l, what);
    const p = s === undefined ? undefined : parseParentServer(s);
    if (typeof p === 'string') r.problem(l, `${what}: "${s}": ${p}`);
    else if (p && out.some((o) => o.address === p.address && o.port === p.port))
      r.problem(l, `${what}: "${s}" is listed twice`);
    else if (p) out.push(p);
  }
  return out.length === items.length ? out : undefined;
}

const TLSA_KEYS = ['host', 'cert', 'next', 'ports', 'ttl', 'issuer'] as const;

/** The `tlsa:` list of automatic TLSA entries; entries without host or cert are left out (with a problem). */
export function readTlsa(r: NodeReader, v: unknown, line: number): TlsaEntry[] {
  if (isEmpty(v)) return [];
  if (!isSeq(v)) {
    r.problem(line, 'tlsa: expected a list of entries');
    return [];
  }
  const out: TlsaEntry[] = [];
  v.items.forEach((item, i) => {
    const l = r.lineOf(item);
    const what = `tlsa[${i}]`;
    const f = fields(r, item, l, what, TLSA_KEYS);
    const str = (k: string): string | undefined => {
      const e = f.get(k);
      return e ? text(r, e.value, e.line, `${what}.${k}`) : undefined;
    };
    const host = str('host');
    const cert = str('cert');
    if (!f.has('host')) r.problem(l, `${what}.host is required`);
    if (!f.has('cert')) r.problem(l, `${what}.cert is required`);
    const next = str('next');
    const ports = readPorts(r, f.get('ports'), `${what}.ports`);
    const te = f.get('ttl');
    const ttl = te ? duration(r, te.value, te.line, `${what}.ttl`) : undefined;
    const ie = f.get('issuer');
    const issuer = ie ? (boolean(r, ie.value, ie.line, `${what}.issuer`) ?? false) : false;
    if (host !== undefined && cert !== undefined) out.push({ host, cert, next, ports, ttl, issuer, line: l });
  });
  return out;
}

/** `ports:` one port or a list of them, each 1..65535 and listed once; [25] (SMTP, RFC 7672) when absent. */
function readPorts(r: NodeReader, e: Entry | undefined, what: string): number[] {
  if (!e) return [25];
  const items = isSeq(e.value) ? e.value.items : [e.value];
  if (items.length === 0) r.problem(e.line, `${what}: expected at least one port`);
  const ports: number[] = [];
  for (const it of items) {
    const l = isSeq(e.value) && isScalar(it) ? r.lineOf(it) : e.line;
    const s = scalar(r, it, l, what);
    if (s === undefined) continue;
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= 65535)) r.problem(l, `${what}: "${s}" is not a port number (1-65535)`);
    else if (ports.includes(n)) r.problem(l, `${what}: ${n} is listed twice`);
    else ports.push(n);
  }
  return ports;
}
