/**
 * TLSA rollover history in the state directory (`tlsa.json`): which records each automatic TLSA host has
 * published, and until when retired ones stay. Written atomically; survives restarts, so a restart inside a
 * retention window keeps publishing the retired record. The contents are opaque here (tlsa/rollover.ts owns
 * their meaning); this module only checks the file's shape.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from './readfile.js';

interface StoredRecord {
  readonly rdata: string;
  readonly roles: readonly ('current' | 'next' | 'issuer')[];
  readonly since: number;
  readonly retiredAt?: number;
  readonly until?: number;
}
export interface StoredHost {
  readonly ttl: number;
  readonly records: readonly StoredRecord[];
}

function validHost(v: unknown): v is StoredHost {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as { ttl?: unknown; records?: unknown };
  return (
    typeof h.ttl === 'number' &&
    Array.isArray(h.records) &&
    h.records.every(
      (r: { rdata?: unknown; roles?: unknown; since?: unknown; until?: unknown }) =>
        typeof r === 'object' && r !== null && typeof r.rdata === 'string' && Array.isArray(r.roles) && typeof r.since === 'number' &&
        (r.until === undefined || typeof r.until === 'number'),
    )
  );
}

export class RolloverStore {
  readonly file: string;
  private written = '';
  /**
   * Why the file could not be read (not a missing file, not a malformed one, which is moved aside). While set,
   * the file is never written over: the retired records it holds may still have to be published. reread()
   * takes it up again once it reads.
   */
  unreadable: string | undefined;

  /** @param readOnly never write or move the file (for commands that show what the server would serve) */
  constructor(
    stateDir: string,
    private readonly readOnly = false,
  ) {
    this.file = join(stateDir, 'tlsa.json');
  }

  /**
   * The stored hosts. A file that is not valid is moved aside (`tlsa.json.bad-<time>`) and reported in
   * `problem`, so it is never silently overwritten and an operator can recover retired records from it.
   */
  load(nowMs: number = Date.now()): { hosts: Record<string, StoredHost>; problem?: string } {
    let text: string;
    try {
      text = readRegularFile(this.file, STATE_FILE_MAX).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.unreadable = undefined;
        return { hosts: {} };
      }
      const why = e instanceof FileReadError ? e.reason : (e as Error).message;
      this.unreadable = why;
      return { hosts: {}, problem: `${this.file}: cannot read: ${why}` };
    }
    this.unreadable = undefined;
    let reason: string | undefined;
    try {
      const doc = JSON.parse(text) as { version?: unknown; hosts?: unknown };
      if (doc.version !== 1 || typeof doc.hosts !== 'object' || doc.hosts === null) reason = 'not a version 1 TLSA state file';
      else {
        const hosts: Record<string, StoredHost> = {};
        for (const [k, v] of Object.entries(doc.hosts)) {
          if (!validHost(v)) {
            reason = `host ${k}: malformed entry`;
            break;
          }
          hosts[k] = v;
        }
        if (!reason) {
          this.written = text;
          return { hosts };
        }
      }
    } catch (e) {
      reason = `not JSON: ${(e as Error).message}`;
    }
    const aside = `${this.file}.bad-${nowMs}`;
    if (this.readOnly) return { hosts: {}, problem: `${this.file}: ${reason}` };
    try {
      renameSync(this.file, aside);
    } catch {
      /* keep going: the problem is reported either way */
    }
    return { hosts: {}, problem: `${this.file}: ${reason}; moved to ${aside}` };
  }

  /**
   * After a failed read: reads the file again and returns its hosts (none when it is gone or was malformed and
   * moved aside); throws while it still cannot be read.
   */
  reread(nowMs: number = Date.now()): Record<string, StoredHost> {
    const { hosts } = this.load(nowMs);
    if (this.unreadable !== undefined) throw new Error(`cannot read: ${this.unreadable}`);
    return hosts;
  }

  /**
   * Writes the hosts when they differ from what was last read or written. Throws, writing nothing, while the file
   * could not be read (unreadable).
   */
  save(hosts: Record<string, StoredHost>): boolean {
    if (this.unreadable !== undefined && !this.readOnly)
      throw new Error(`cannot read: ${this.unreadable}; not written over until it can be read (its history is kept)`);
    const sorted = Object.fromEntries(Object.entries(hosts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const text = JSON.stringify({ version: 1, hosts: sorted }, null, 2) + '\n';
    if (text === this.written || this.readOnly) return false;
    writeFileAtomic(this.file, text);
    this.written = text;
    return true;
  }
}
