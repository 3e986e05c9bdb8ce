/**
 * Key files in BIND's format, so that operators can move keys between dane-ns, BIND (`dnssec-keygen`,
 * `dnssec-signzone`, `dnssec-dsfromkey`) and ldns (`ldns-key2ds`, `ldns-signzone`) in both directions.
 *
 * A key is two files in the keys directory, named `K<zone>+<alg>+<tag>` with the zone written as BIND's
 * dns_name_tofilenametext does (lower case, absolute with the trailing dot, every octet other than a-z 0-9 - _
 * as %XX; the root zone is "."), the algorithm as 3 digits and the key tag (RFC 4034 Appendix B) as 5:
 *
 *   Kexample.com.+013+12345.key      mode 0644: comments with the timing, then the DNSKEY RR in zone-file syntax
 *   Kexample.com.+013+12345.private  mode 0600: "Private-key-format: v1.3", "Algorithm: 13 (ECDSAP256SHA256)",
 *                                     "PrivateKey: <base64 of the 32-octet scalar d>", then Created/Publish/
 *                                     Activate (and Inactive/Delete if set) as YYYYMMDDHHMMSS in UTC.
 *
 * Reading accepts what BIND 9 and ldns write: format v1.2 or v1.3, optional TTL and class on the DNSKEY line,
 * trailing `;` comments, parenthesised multi-line rdata, unknown .private fields (ignored). A .private without
 * timing (ldns, RFC 6605 §6.1) loads with all times at the epoch, i.e. "published and active since always",
 * which is how BIND treats unset timing metadata.
 *
 * This is the only file of src/dnssec that parses key files (keyjournal.ts only keeps their text, to undo an
 * interrupted change). Loading never throws for bad files: it returns problems naming the file and the reason. Neither problems nor thrown errors ever contain private key
 * material: text from a .private file is never echoed.
 */
import type { KeyObject } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { isPermissionCode, permissionProblem } from '../state/access.js';
import { FileReadError, KEY_FILE_MAX, readRegularFile } from '../state/readfile.js';
import { labels, nameToText, parseName, type Name } from '../wire/name.js';
import { WireError } from '../wire/errors.js';
import { rdataFromText, rdataToText } from '../wire/rdata.js';
import { formatTimestamp, parseTimestamp } from '../wire/timestamp.js';
import { T } from '../wire/types.js';
import {
  ALG_ECDSAP256SHA256,
  bytesEqual,
  DNSKEY_PROTOCOL,
  FLAGS_KSK,
  FLAGS_ZSK,
  KeyError,
  keyTag,
  makeZoneKey,
  P256_PUBLIC_KEY_OCTETS,
  privateKeyFromScalar,
  privateScalar,
  publicKeyFromPrivate,
  type KeyFlags,
  type ZoneKey,
} from './keys.js';

const MODE_PRIVATE = 0o600;
const MODE_PUBLIC = 0o644;
const EPOCH = new Date(0);

// ---- names ------------------------------------------------------------------------------------------------

function isFileSafe(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f;
}

/**
 * The zone as it appears in key file names (BIND's dns_name_tofilenametext): lower-cased, labels joined by ".",
 * a trailing ".", and every octet outside [a-z0-9_-] written as %XX (upper-case hex). So no name can smuggle a
 * "/" or ".." into a path. The root zone is ".".
 */
export function zoneFileName(zone: Name): string {
  const ls = labels(zone);
  if (ls.length === 0) return '.';
  let s = '';
  for (const l of ls) {
    for (const raw of l) {
      const b = raw >= 0x41 && raw <= 0x5a ? raw | 0x20 : raw;
      s += isFileSafe(b) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    }
    s += '.';
  }
  return s;
}

/** `K<zone>+013+<tag, 5 digits>`: the common part of a key's two file names. */
export function keyFileBase(zone: Name, tag: number, algorithm = ALG_ECDSAP256SHA256): string {
  return `K${zoneFileName(zone)}+${String(algorithm).padStart(3, '0')}+${String(tag).padStart(5, '0')}`;
}

// ---- times ------------------------------------------------------------------------------------------------

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** YYYYMMDDHHMMSS in UTC, as in BIND's key files (RFC 4034 §3.2's form); KeyError outside 1970..9999. */
export function formatKeyTime(t: Date): string {
  const y = t.getUTCFullYear();
  if (!Number.isFinite(t.getTime()) || y < 1970 || y > 9999)
    throw new KeyError('E_KEY_FORMAT', 'key time outside 1970..9999');
  return formatTimestamp(t);
}

/** The human-readable form BIND puts after the timestamp in .key comments (ctime(3) layout, here in UTC). */
function ctimeText(t: Date): string {
  const day = String(t.getUTCDate()).padStart(2, ' ');
  return `${WEEKDAYS[t.getUTCDay()]} ${MONTHS[t.getUTCMonth()]} ${day} ${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} ${t.getUTCFullYear()}`;
}

// ---- formatting -------------------------------------------------------------------------------------------

interface Timing {
  created: Date;
  publish: Date;
  activate: Date;
  inactive?: Date | undefined;
  delete?: Date | undefined;
  /** BIND's SyncPublish: from when CDS/CDNSKEY for the key may be published (a DS step that waited, cds.ts). */
  syncPublish?: Date | undefined;
}

function timingFields(key: Timing): [string, Date][] {
  const out: [string, Date][] = [
    ['Created', key.created],
    ['Publish', key.publish],
    ['Activate', key.activate],
  ];
  if (key.inactive) out.push(['Inactive', key.inactive]);
  if (key.delete) out.push(['Delete', key.delete]);
  if (key.syncPublish) out.push(['SyncPublish', key.syncPublish]);
  return out;
}

/** The .key file: BIND's comment header, then `<zone> IN DNSKEY <flags> 3 13 <base64>`. */
export function formatKeyFile(key: ZoneKey & Partial<Pick<Timing, 'inactive' | 'delete' | 'syncPublish'>>): string {
  const kind = key.flags === FLAGS_KSK ? 'key-signing' : 'zone-signing';
  let s = `; This is a ${kind} key, keyid ${key.tag}, for ${nameToText(key.zone)}\n`;
  for (const [field, t] of timingFields(key)) s += `; ${field}: ${formatKeyTime(t)} (${ctimeText(t)})\n`;
  s += `${nameToText(key.zone)} IN DNSKEY ${rdataToText(T.DNSKEY, key.dnskeyRdata)}\n`;
  return s;
}

/** The .private file (Private-key-format v1.3). The returned text holds the private key: never log it. */
export function formatPrivateFile(key: ZoneKey & Partial<Pick<Timing, 'inactive' | 'delete' | 'syncPublish'>>): string {
  const d = privateScalar(key.privateKey);
  let s = 'Private-key-format: v1.3\n';
  s += `Algorithm: ${ALG_ECDSAP256SHA256} (ECDSAP256SHA256)\n`;
  s += `PrivateKey: ${Buffer.from(d).toString('base64')}\n`;
  d.fill(0);
  for (const [field, t] of timingFields(key)) s += `${field}: ${formatKeyTime(t)}\n`;
  return s;
}

// ---- parsing ----------------------------------------------------------------------------------------------

/** The DNSKEY record of a .key file. */
interface ParsedKeyFile {
  owner: Name;
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Uint8Array;
  rdata: Uint8Array;
}

/**
 * Splits zone-file text into logical records: `;` comments removed, parentheses joining lines (RFC 1035 §5.1).
 * Good enough for key files, which hold no quoted strings.
 */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const line of text.split(/\r?\n/)) {
    const semi = line.indexOf(';');
    const body = semi >= 0 ? line.slice(0, semi) : line;
    for (const c of body) {
      if (c === '(') {
        depth++;
        cur += ' ';
      } else if (c === ')') {
        if (depth === 0) throw new KeyError('E_KEY_FORMAT', 'unbalanced ")"');
        depth--;
        cur += ' ';
      } else cur += c;
    }
    if (depth === 0) {
      if (cur.trim() !== '') out.push(cur);
      cur = '';
    } else cur += ' ';
  }
  if (depth !== 0) throw new KeyError('E_KEY_FORMAT', 'unbalanced "("');
  return out;
}

const TTL_RE = /^(\d+|(\d+[wdhms])+)$/i;

/**
 * Parses a .key file: exactly one DNSKEY record, `owner [ttl] [class] DNSKEY flags protocol algorithm key`.
 * Throws KeyError E_KEY_FORMAT with the reason. The reason never quotes the file either: a .private pasted
 * into a .key by mistake must not reach a log.
 */
export function parseKeyFile(text: string): ParsedKeyFile {
  const records = logicalLines(text);
  if (records.length === 0) throw new KeyError('E_KEY_FORMAT', 'no DNSKEY record');
  if (records.length > 1) throw new KeyError('E_KEY_FORMAT', `${records.length} records; a key file holds one DNSKEY`);
  const tokens = records[0]!.trim().split(/\s+/);
  if (/^\s/.test(records[0]!)) throw new KeyError('E_KEY_FORMAT', 'the DNSKEY record has no owner name');
  const ownerText = tokens[0]!;
  let i = 1;
  while (i < tokens.length && tokens[i]!.toUpperCase() !== 'DNSKEY') {
    const t = tokens[i]!;
    if (!TTL_RE.test(t) && t.toUpperCase() !== 'IN')
      throw new KeyError(
        'E_KEY_FORMAT',
        `field ${i + 1} of the record is neither a TTL, the class IN nor the type DNSKEY`,
      );
    i++;
  }
  if (i >= tokens.length) throw new KeyError('E_KEY_FORMAT', 'no DNSKEY record');
  let owner: Name;
  let rdata: Uint8Array;
  try {
    owner = parseName(ownerText, null);
  } catch (e) {
    if (e instanceof WireError)
      throw new KeyError('E_KEY_FORMAT', `the owner name is not an absolute domain name (${e.code})`);
    throw e;
  }
  try {
    rdata = rdataFromText(T.DNSKEY, tokens.slice(i + 1).join(' '), null);
  } catch (e) {
    if (e instanceof WireError) throw new KeyError('E_KEY_FORMAT', `the DNSKEY rdata does not parse (${e.code})`);
    throw e;
  }
  return {
    owner,
    flags: (rdata[0]! << 8) | rdata[1]!,
    protocol: rdata[2]!,
    algorithm: rdata[3]!,
    publicKey: rdata.slice(4),
    rdata,
  };
}

/** The contents of a .private file. */
interface ParsedPrivateFile {
  /** "v1.2", "v1.3", ... */
  format: string;
  algorithm: number;
  privateKey: KeyObject;
  created?: Date;
  publish?: Date;
  activate?: Date;
  inactive?: Date;
  delete?: Date;
  syncPublish?: Date;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TIME_FIELDS = {
  created: 'created',
  publish: 'publish',
  activate: 'activate',
  inactive: 'inactive',
  delete: 'delete',
  syncpublish: 'syncPublish',
} as const;

/**
 * Parses a BIND/ldns .private file of algorithm 13. Throws KeyError (E_KEY_FORMAT, E_KEY_ALGORITHM,
 * E_KEY_INVALID) whose message names fields and line numbers but never quotes the file: a malformed line could
 * be a private key.
 */
export function parsePrivateFile(text: string): ParsedPrivateFile {
  const fields = new Map<string, string>();
  let format: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    const field = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(field))
      throw new KeyError('E_KEY_FORMAT', `line ${n + 1} is not "Field: value"`);
    const value = line.slice(colon + 1).trim();
    const lower = field.toLowerCase();
    if (format === null) {
      if (lower !== 'private-key-format')
        throw new KeyError('E_KEY_FORMAT', 'does not start with "Private-key-format:"');
      if (!/^v1\.\d+$/.test(value)) throw new KeyError('E_KEY_FORMAT', 'Private-key-format is not v1.x');
      format = value;
      continue;
    }
    if (fields.has(lower)) throw new KeyError('E_KEY_FORMAT', `field ${field} appears twice (line ${n + 1})`);
    fields.set(lower, value);
  }
  if (format === null) throw new KeyError('E_KEY_FORMAT', 'empty file');
  const alg = fields.get('algorithm');
  if (alg === undefined) throw new KeyError('E_KEY_FORMAT', 'no Algorithm field');
  const algMatch = /^(\d{1,3})(\s|$)/.exec(alg);
  if (!algMatch) throw new KeyError('E_KEY_FORMAT', 'Algorithm is not a number');
  const algorithm = Number(algMatch[1]);
  if (algorithm !== ALG_ECDSAP256SHA256)
    throw new KeyError(
      'E_KEY_ALGORITHM',
      `algorithm ${algorithm} is not supported (only ${ALG_ECDSAP256SHA256}, ECDSAP256SHA256)`,
    );
  const b64 = fields.get('privatekey');
  if (b64 === undefined) throw new KeyError('E_KEY_FORMAT', 'no PrivateKey field');
  if (b64 === '' || !BASE64_RE.test(b64)) throw new KeyError('E_KEY_FORMAT', 'PrivateKey is not base64');
  const d = Buffer.from(b64, 'base64');
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFromScalar(d);
  } finally {
    d.fill(0);
  }
  const out: ParsedPrivateFile = { format, algorithm, privateKey };
  for (const [lower, prop] of Object.entries(TIME_FIELDS)) {
    const v = fields.get(lower);
    if (v === undefined) continue;
    const t = parseTimestamp(v, { leapSecond: true });
    if (!t)
      throw new KeyError('E_KEY_FORMAT', `${prop[0]!.toUpperCase()}${prop.slice(1)} is not a YYYYMMDDHHMMSS time`);
    out[prop] = t;
  }
  return out;
}

// ---- writing ----------------------------------------------------------------------------------------------

/** A ZoneKey, with the BIND timing fields that end its use (lifecycle.ts acts on them). */
export type StoredZoneKey = ZoneKey & {
  readonly inactive?: Date | undefined;
  readonly delete?: Date | undefined;
  /** SyncPublish: the DS step of a KSK or CSK rollover that waited for the watched servers (cds.ts). */
  readonly syncPublish?: Date | undefined;
};

function readExisting(path: string): string | null {
  try {
    lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeyError('E_KEY_FILE', `${path}: cannot check (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return readRegularFile(path, KEY_FILE_MAX).toString('utf8');
  } catch (e) {
    throw new KeyError('E_KEY_FILE', `${path}: exists but cannot be read (${refusal(e) ?? errCode(e)})`);
  }
}

/**
 * Writes the key's .private (mode 0600) and .key (0644) files into `dir`, each atomically (temp file, fsync,
 * rename). The .private goes first, so a .key never appears without its .private. A file that already exists
 * with the same content is left alone; one with different content is never overwritten (KeyError E_KEY_FILE,
 * checked for both files before either is written): a key tag collision or a stale file must not destroy a
 * key whose DS may be at the parent. Returns the two paths.
 */
export function writeKeyFiles(dir: string, key: StoredZoneKey): { keyFile: string; privateFile: string } {
  const base = join(dir, keyFileBase(key.zone, key.tag));
  const privateFile = `${base}.private`;
  const keyFile = `${base}.key`;
  const plan: [string, string, number][] = [
    [privateFile, formatPrivateFile(key), MODE_PRIVATE],
    [keyFile, formatKeyFile(key), MODE_PUBLIC],
  ];
  const todo: [string, string, number][] = [];
  for (const [path, text, mode] of plan) {
    const existing = readExisting(path);
    if (existing === null) todo.push([path, text, mode]);
    else if (existing !== text)
      throw new KeyError('E_KEY_FILE', `${path} exists with different content; not overwritten`);
  }
  for (const [path, text, mode] of todo) {
    try {
      writeFileAtomic(path, text, mode);
    } catch (e) {
      throw new KeyError('E_KEY_FILE', `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { keyFile, privateFile };
}

/**
 * Rewrites the timing of a key already in `dir` (a rollover sets an old key's Inactive and Delete): both files,
 * each atomically, .private first. Refuses (KeyError E_KEY_FILE) unless the .private file there holds this very
 * key, so a rewrite never replaces another key's material. Fields of a BIND .private that dane-ns does not know
 * (e.g. SyncDelete) are not kept.
 */
export function rewriteKeyTiming(dir: string, key: StoredZoneKey): { keyFile: string; privateFile: string } {
  const base = join(dir, keyFileBase(key.zone, key.tag));
  const privateFile = `${base}.private`;
  const keyFile = `${base}.key`;
  const existing = readExisting(privateFile);
  let same = false;
  try {
    same = existing !== null && bytesEqual(publicKeyFromPrivate(parsePrivateFile(existing).privateKey), key.publicKey);
  } catch {
    same = false;
  }
  if (!same)
    throw new KeyError('E_KEY_FILE', `${privateFile} does not hold key ${key.tag}; its timing is not rewritten`);
  for (const [path, text, mode] of [
    [privateFile, formatPrivateFile(key), MODE_PRIVATE],
    [keyFile, formatKeyFile(key), MODE_PUBLIC],
  ] as const) {
    try {
      writeFileAtomic(path, text, mode);
    } catch (e) {
      throw new KeyError('E_KEY_FILE', `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { keyFile, privateFile };
}

// ---- loading ----------------------------------------------------------------------------------------------

interface LoadedKeys {
  /** Valid keys, flags 257 first, then by tag. `role` is 'ksk' for flags 257 and 'zsk' for 256. */
  keys: StoredZoneKey[];
  /** One line per file that could not be used: "<path>: <reason>". Never contains private key material. */
  problems: string[];
  /** Some of the problems are files (or the directory) the process may not read: the keys exist. */
  denied?: boolean;
}

/** `K<zone>+<alg>+<tag>.key` or `.private` (the zone as zoneFileName writes it). */
export const KEY_FILE_RE = /^K(.+)\+(\d{3})\+(\d{5})\.(key|private)$/i;

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? 'error';
}

/**
 * A key file's text: a regular file of at most KEY_FILE_MAX bytes (a P-256 .private is under 300 octets), so a
 * FIFO or a link to /dev/zero among the key files is refused instead of stalling the server.
 */
function readKeyText(path: string): string {
  try {
    return readRegularFile(path, KEY_FILE_MAX).toString('utf8');
  } catch (e) {
    // Not a lost key: a file the process may not read (path, uid, owner, mode and the fix; no new keys).
    if (isPermissionCode(errCode(e)))
      throw new KeyError('E_KEY_ACCESS', permissionProblem(path).replace(`${path}: `, ''));
    throw new KeyError('E_KEY_FILE', refusal(e) ?? `cannot read (${errCode(e)})`);
  }
}

/** The reader's reason when it refused the file itself (not a regular file, too large); undefined for errno. */
function refusal(e: unknown): string | undefined {
  return e instanceof FileReadError && e.code === undefined ? e.reason : undefined;
}

/** Reason text of an error raised while loading; anything that is not ours is reduced to a fixed phrase. */
function reason(e: unknown): string {
  if (e instanceof KeyError) return e.message;
  return 'unexpected error while loading';
}

interface Pair {
  base: string;
  algorithm: number;
  tag: number;
  key: string[];
  priv: string[];
}

/**
 * Loads every `K<zone>+013+<tag>.key/.private` pair of `zone` from `dir` (file names matched case-insensitively).
 * For each pair: the .key holds one DNSKEY of the zone with protocol 3, algorithm 13 and flags 256 or 257, its
 * key tag equals the one in the file name, and the .private holds the private key of that same public key.
 * Anything else is a problem for that file and the key is left out; this never throws. A missing directory
 * means no keys (first start); files of other algorithms for the zone are reported, not loaded.
 */
export function loadZoneKeys(dir: string, zone: Name): LoadedKeys {
  const problems: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return { keys: [], problems };
    if (isPermissionCode(errCode(e)))
      return { keys: [], problems: [permissionProblem(dir, 'directory')], denied: true };
    return { keys: [], problems: [`${dir}: cannot read the keys directory (${errCode(e)})`] };
  }
  const want = zoneFileName(zone).toLowerCase(); // %XX hex may be in either case
  const pairs = new Map<string, Pair>();
  for (const file of entries.sort()) {
    const m = KEY_FILE_RE.exec(file);
    if (!m || m[1]!.toLowerCase() !== want) continue;
    const base = file.slice(0, file.length - m[4]!.length - 1);
    const id = base.toLowerCase();
    let p = pairs.get(id);
    if (!p) {
      p = { base, algorithm: Number(m[2]), tag: Number(m[3]), key: [], priv: [] };
      pairs.set(id, p);
    }
    (m[4]!.toLowerCase() === 'key' ? p.key : p.priv).push(file);
  }

  const keys: StoredZoneKey[] = [];
  let denied = false;
  for (const p of pairs.values()) {
    const where = join(dir, p.key[0] ?? p.priv[0] ?? p.base);
    if (p.algorithm !== ALG_ECDSAP256SHA256) {
      problems.push(
        `${where}: algorithm ${p.algorithm} is not supported (only ${ALG_ECDSAP256SHA256}, ECDSAP256SHA256); key ignored`,
      );
      continue;
    }
    if (p.key.length > 1 || p.priv.length > 1) {
      problems.push(`${where}: several files differing only in letter case (${[...p.key, ...p.priv].join(', ')})`);
      continue;
    }
    const keyName = p.key[0];
    const privName = p.priv[0];
    if (keyName === undefined) {
      problems.push(`${join(dir, privName!)}: no matching .key file`);
      continue;
    }
    if (privName === undefined) {
      problems.push(`${join(dir, keyName)}: no matching .private file`);
      continue;
    }
    const keyPath = join(dir, keyName);
    const privPath = join(dir, privName);

    let pub: ParsedKeyFile;
    try {
      pub = parseKeyFile(readKeyText(keyPath));
      if (pub.owner.key !== zone.key)
        throw new KeyError('E_KEY_FORMAT', `owner ${nameToText(pub.owner)} is not the zone ${nameToText(zone)}`);
      if (pub.protocol !== DNSKEY_PROTOCOL)
        throw new KeyError('E_KEY_FORMAT', `DNSKEY protocol ${pub.protocol}, not 3`);
      if (pub.algorithm !== ALG_ECDSAP256SHA256)
        throw new KeyError(
          'E_KEY_ALGORITHM',
          `DNSKEY algorithm ${pub.algorithm}, but the file name says ${ALG_ECDSAP256SHA256}`,
        );
      if (pub.flags !== FLAGS_KSK && pub.flags !== FLAGS_ZSK)
        throw new KeyError(
          'E_KEY_FORMAT',
          `DNSKEY flags ${pub.flags} are not supported (only 256 = ZSK and 257 = KSK; a revoked key has bit 128 set)`,
        );
      if (pub.publicKey.length !== P256_PUBLIC_KEY_OCTETS)
        throw new KeyError(
          'E_KEY_FORMAT',
          `public key of ${pub.publicKey.length} octets; algorithm ${ALG_ECDSAP256SHA256} has ${P256_PUBLIC_KEY_OCTETS}`,
        );
      const tag = keyTag(pub.rdata);
      if (tag !== p.tag)
        throw new KeyError('E_KEY_FORMAT', `the DNSKEY has key tag ${tag}, the file name says ${p.tag}`);
    } catch (e) {
      if (e instanceof KeyError && e.code === 'E_KEY_ACCESS') denied = true;
      problems.push(`${keyPath}: ${reason(e)}`);
      continue;
    }

    let priv: ParsedPrivateFile;
    try {
      priv = parsePrivateFile(readKeyText(privPath));
      if (!bytesEqual(publicKeyFromPrivate(priv.privateKey), pub.publicKey))
        throw new KeyError('E_KEY_INVALID', `the private key does not belong to the public key in ${keyName}`);
    } catch (e) {
      if (e instanceof KeyError && e.code === 'E_KEY_ACCESS') denied = true;
      problems.push(`${privPath}: ${reason(e)}`);
      continue;
    }

    const dup = keys.find((k) => bytesEqual(k.dnskeyRdata, pub.rdata));
    if (dup) {
      problems.push(`${keyPath}: the same key as ${keyFileBase(dup.zone, dup.tag)} (another file name); ignored`);
      continue;
    }
    const flags = pub.flags as KeyFlags;
    const key = makeZoneKey({
      zone,
      role: flags === FLAGS_KSK ? 'ksk' : 'zsk',
      flags,
      privateKey: priv.privateKey,
      created: priv.created ?? EPOCH,
      publish: priv.publish ?? EPOCH,
      activate: priv.activate ?? EPOCH,
    });
    keys.push(
      priv.inactive || priv.delete || priv.syncPublish
        ? Object.freeze({
            ...key,
            inactive: priv.inactive,
            delete: priv.delete,
            ...(priv.syncPublish ? { syncPublish: priv.syncPublish } : {}),
          })
        : key,
    );
  }
  keys.sort((a, b) => b.flags - a.flags || a.tag - b.tag);
  return denied ? { keys, problems, denied } : { keys, problems };
}
