/**
 * The records written by dynamic update (RFC 2136), one file per zone: `<state>/dynamic/<zone>.json`. The zone
 * file stays the operator's own; these records are merged into the zone when it is built. Each change is
 * written atomically (atomic.ts: fsync, rename, fsync of the directory) before the update is answered (RFC 2136
 * §3.5: stable storage first). The records are kept in presentation form; their meaning is the zone's.
 */
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from './readfile.js';

export const DYNAMIC_DIR = 'dynamic';

/** One record: owner (absolute), type mnemonic, TTL, rdata in presentation form. */
export interface DynamicRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly data: string;
}

const valid = (r: unknown): r is DynamicRecord => {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.name === 'string' && typeof x.type === 'string' && typeof x.ttl === 'number' && typeof x.data === 'string'
  );
};

/** The file of a zone: its lower-case absolute origin, `/` never (a label cannot put the file elsewhere). */
export function dynamicFile(stateDir: string, origin: string): string {
  const key = origin.toLowerCase().replace(/\.?$/, '.');
  return join(stateDir, DYNAMIC_DIR, `${encodeURIComponent(key)}json`);
}

export class DynamicStore {
  /** The records of each zone by lower-case absolute origin, as last read or written. */
  private readonly zones = new Map<string, readonly DynamicRecord[]>();
  /** Bumped on every change, so that a zone built from the records knows when to build again. */
  private readonly versions = new Map<string, number>();

  constructor(private readonly stateDir: string) {}

  /** The records of a zone (read from its file the first time; none when it has no file). Throws when unreadable. */
  records(origin: string): readonly DynamicRecord[] {
    const key = origin.toLowerCase();
    const have = this.zones.get(key);
    if (have) return have;
    const read = readDynamicFile(dynamicFile(this.stateDir, key));
    this.zones.set(key, read);
    return read;
  }

  /** A number that changes whenever the zone's records do. */
  version(origin: string): number {
    return this.versions.get(origin.toLowerCase()) ?? 0;
  }

  /** Replaces the records of a zone: on disk first (throws when that fails, and nothing changes), then here. */
  save(origin: string, records: readonly DynamicRecord[]): void {
    const key = origin.toLowerCase();
    const file = dynamicFile(this.stateDir, key);
    writeFileAtomic(file, JSON.stringify({ zone: key, records }, null, 1) + '\n', 0o600);
    this.zones.set(key, Object.freeze([...records]));
    this.versions.set(key, this.version(key) + 1);
  }
}

/** The records of one file; none when it does not exist. Throws on a file that cannot be read or is malformed. */
export function readDynamicFile(file: string): readonly DynamicRecord[] {
  let text: string;
  try {
    text = readRegularFile(file, STATE_FILE_MAX).toString('utf8');
  } catch (e) {
    if (e instanceof FileReadError && e.code === 'ENOENT') return [];
    throw e;
  }
  const v = JSON.parse(text) as { records?: unknown };
  if (!Array.isArray(v.records) || !v.records.every(valid)) throw new Error(`${file}: not a dynamic records file`);
  return Object.freeze(v.records as DynamicRecord[]);
}
