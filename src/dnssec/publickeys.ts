/**
 * A zone's DNSKEYs (RFC 4034 §2) from its public `.key` files alone, with their timing from the comment lines
 * BIND and dane-ns write above the record (`; Publish: YYYYMMDDHHMMSS`): what `dane-ns ds` needs to print the
 * DS (RFC 4034 §5), so that it works for a user who may read the public files but not the private ones. The
 * `.private` files are only listed (a key without its pair is a problem), never opened.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isPermissionCode, permissionProblem } from '../state/access.js';
import { KEY_FILE_MAX, readRegularFile } from '../state/readfile.js';
import { nameToText, type Name } from '../wire/name.js';
import { parseTimestamp } from '../wire/timestamp.js';
import { KEY_FILE_RE, parseKeyFile, zoneFileName } from './keyfile.js';
import { ALG_ECDSAP256SHA256, keyTag } from './keys.js';

export interface PublicZoneKey {
  readonly tag: number;
  readonly flags: number;
  readonly dnskeyRdata: Uint8Array;
  readonly created: Date;
  readonly publish: Date;
  readonly activate: Date;
  readonly inactive?: Date;
  readonly delete?: Date;
}

const EPOCH = new Date(0);
const TIMES = ['created', 'publish', 'activate', 'inactive', 'delete'] as const;

/** The timing comment lines of a .key file (absent ones: the key has been in use from the start). */
function timesOf(text: string): Partial<Record<(typeof TIMES)[number], Date>> {
  const out: Partial<Record<(typeof TIMES)[number], Date>> = {};
  for (const m of text.matchAll(/^;\s*(Created|Publish|Activate|Inactive|Delete):\s*(\d{14})/gim)) {
    const t = parseTimestamp(m[2]!, { leapSecond: true });
    if (t) out[m[1]!.toLowerCase() as (typeof TIMES)[number]] = t;
  }
  return out;
}

/**
 * The keys of `zone` in `dir` from the .key files; `problems` names each file that does not load and each key
 * without its other file. `denied` when the directory or a .key file may not be read (permissionProblem says
 * why and the fix). Never throws.
 */
export function loadPublicZoneKeys(
  dir: string,
  zone: Name,
): { keys: PublicZoneKey[]; problems: string[]; denied?: boolean } {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { keys: [], problems: [] };
    if (isPermissionCode(code)) return { keys: [], problems: [permissionProblem(dir, 'directory')], denied: true };
    return { keys: [], problems: [`${dir}: cannot read the keys directory (${code ?? 'error'})`] };
  }
  const want = zoneFileName(zone).toLowerCase();
  const files = new Map<string, { key?: string; priv?: string; tag: number; alg: number }>();
  for (const file of entries.sort()) {
    const m = KEY_FILE_RE.exec(file);
    if (!m || m[1]!.toLowerCase() !== want) continue;
    const id = file.slice(0, file.length - m[4]!.length - 1).toLowerCase();
    const f = files.get(id) ?? { tag: Number(m[3]), alg: Number(m[2]) };
    if (m[4]!.toLowerCase() === 'key') f.key = file;
    else f.priv = file;
    files.set(id, f);
  }
  const keys: PublicZoneKey[] = [];
  const problems: string[] = [];
  let denied = false;
  for (const f of files.values()) {
    if (f.key === undefined) {
      problems.push(`${join(dir, f.priv!)}: no matching .key file`);
      continue;
    }
    const path = join(dir, f.key);
    if (f.priv === undefined) {
      problems.push(`${path}: no matching .private file`);
      continue;
    }
    if (f.alg !== ALG_ECDSAP256SHA256) {
      problems.push(`${path}: algorithm ${f.alg} is not supported (only ${ALG_ECDSAP256SHA256}); key ignored`);
      continue;
    }
    let text: string;
    try {
      text = readRegularFile(path, KEY_FILE_MAX).toString('utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isPermissionCode(code)) {
        denied = true;
        problems.push(permissionProblem(path));
      } else problems.push(`${path}: cannot read (${code ?? (e as Error).message})`);
      continue;
    }
    try {
      const pub = parseKeyFile(text);
      const tag = keyTag(pub.rdata);
      if (pub.owner.key !== zone.key) throw new Error(`owner ${nameToText(pub.owner)} is not the zone`);
      if (pub.algorithm !== ALG_ECDSAP256SHA256) throw new Error(`DNSKEY algorithm ${pub.algorithm}`);
      if (pub.flags !== 256 && pub.flags !== 257) throw new Error(`DNSKEY flags ${pub.flags} are not supported`);
      if (tag !== f.tag) throw new Error(`the DNSKEY has key tag ${tag}, the file name says ${f.tag}`);
      const t = timesOf(text);
      keys.push({
        tag,
        flags: pub.flags,
        dnskeyRdata: pub.rdata,
        created: t.created ?? EPOCH,
        publish: t.publish ?? EPOCH,
        activate: t.activate ?? EPOCH,
        ...(t.inactive ? { inactive: t.inactive } : {}),
        ...(t.delete ? { delete: t.delete } : {}),
      });
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
    }
  }
  keys.sort((a, b) => b.flags - a.flags || a.tag - b.tag);
  return denied ? { keys, problems, denied } : { keys, problems };
}
