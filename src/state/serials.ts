/**
 * SOA serials (docs/zone-format.md), kept in the state directory (`serials.json`): per zone the serial last
 * served, the digest of its unsigned content (`hash`, what the zone build proposes a serial from) and the digest
 * of everything it served (`signed`: records, DNSKEY, NSEC and RRSIG; what a zone transfer would send). The
 * serial only moves forward, also across restarts (RFC 1982 serial arithmetic); the publish path decides it
 * (nextSerial) and records it here before the version is served, so a crash never reuses a serial.
 */
import { isPermissionCode, permissionProblem } from './access.js';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { serialAdd, serialGreater } from '../wire/serial.js';
import { writeFileAtomic } from './atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from './readfile.js';

export interface SerialEntry {
  readonly serial: number;
  /** Digest of the unsigned content (the zone build's content hash). */
  readonly hash: string;
  /** Digest of the whole served version; absent in entries written before it was kept. */
  readonly signed?: string;
}

/** The later of two serials in RFC 1982 arithmetic (`a` when they cannot be ordered). */
function later(a: number, b: number): number {
  return serialGreater(b, a) ? b : a;
}

/** The current Unix time as a 32-bit serial. */
const unixSerial = (nowMs: number): number => Math.floor(nowMs / 1000) >>> 0;

/**
 * The serial of a zone version (RFC 1982 §3.1, §3.2: "greater" in serial arithmetic, so a wrap past 2^32 - 1
 * still rises).
 *
 * - First version (no previous serial): the file's number, or the Unix time for `auto`.
 * - Content unchanged: the previous serial, unless the file's number is greater (the operator raised it).
 * - Content changed: `auto` -> max(previous + 1, Unix time); a number -> max(number, previous + 1).
 */
export function nextSerial(opts: {
  readonly previous: number | undefined;
  readonly changed: boolean;
  readonly file: number | 'auto';
  readonly nowMs: number;
}): number {
  const { previous, file } = opts;
  if (previous === undefined) return file === 'auto' ? unixSerial(opts.nowMs) : file;
  if (!opts.changed) return file !== 'auto' && serialGreater(file, previous) ? file : previous;
  return later(serialAdd(previous, 1), file === 'auto' ? unixSerial(opts.nowMs) : file);
}

export class SerialStore {
  readonly file: string;
  private entries: Record<string, SerialEntry>;
  /** Why `serials.json` could not be read (not a missing file); while set, the file is never written over. */
  private unreadable: string | undefined;
  /** The entries differ from the file (a write failed): the next record() or flush() writes them. */
  private dirty = false;
  /** A file that was not JSON, moved aside at start (reported once). */
  private moved: string | undefined;

  /**
   * @param readOnly serials are computed but never written (for commands such as `zone export` that must show
   *   what the server serves without changing its state)
   */
  constructor(
    stateDir: string,
    private readonly now: () => number = () => Date.now(),
    private readonly readOnly = false,
  ) {
    this.file = join(stateDir, 'serials.json');
    this.entries = {};
    this.read();
  }

  /**
   * Reads the file. A missing file is a first start. A file that cannot be read (I/O error, permissions, not
   * JSON) leaves the serials unknown: a version then gets the serial of a first start (for `serial: auto` the
   * Unix time, above every serial served before unless they ran ahead of the clock), and the file is kept as it
   * is (its serials may be needed) until it reads again, when the higher serial of each zone is kept.
   */
  private read(): void {
    let text: string;
    try {
      text = readRegularFile(this.file, STATE_FILE_MAX).toString('utf8');
    } catch (e) {
      if (e instanceof FileReadError && e.missing) this.unreadable = undefined;
      else if (e instanceof FileReadError && isPermissionCode(e.code))
        this.unreadable = permissionProblem(this.file).slice(this.file.length + 2);
      else this.unreadable = e instanceof FileReadError ? e.reason : String(e);
      return;
    }
    let read: Record<string, SerialEntry>;
    try {
      read = JSON.parse(text) as Record<string, SerialEntry>;
      if (typeof read !== 'object' || read === null) throw new Error('not an object');
    } catch (e) {
      // Never readable again: moved aside (as tlsa.json is), for the operator, and written anew.
      const aside = `${this.file}.bad-${this.now()}`;
      this.unreadable = `not JSON: ${(e as Error).message}`;
      if (this.readOnly) return;
      try {
        renameSync(this.file, aside);
      } catch {
        return; // kept as it is, like a file that cannot be read
      }
      this.moved = `${this.unreadable}; moved to ${aside}`;
      this.unreadable = undefined;
      this.dirty = true;
      return;
    }
    const wasUnreadable = this.unreadable !== undefined;
    this.unreadable = undefined;
    for (const [zone, entry] of Object.entries(read)) {
      const mine = this.entries[zone];
      if (!mine || later(mine.serial, entry.serial) !== mine.serial) this.entries[zone] = entry;
    }
    // Serials decided while the file could not be read are kept where they are higher: written back.
    if (wasUnreadable) this.dirty = true;
  }

  /** Why the file could not be read at start, if it could not (a missing file is no problem). */
  get problem(): string | undefined {
    return this.unreadable ?? this.moved;
  }

  /**
   * The serial a `serial: auto` zone whose unsigned content has digest `hash` is built with: unchanged content
   * keeps the serial last served; changed content proposes the next one, max(previous + 1, current Unix time).
   * Nothing is written: the publish path decides the served serial and records it (record()).
   */
  serialFor(zone: string, hash: string): number {
    const prev = this.entries[zone];
    if (prev && prev.hash === hash) return prev.serial;
    return nextSerial({ previous: prev?.serial, changed: true, file: 'auto', nowMs: this.now() });
  }

  /** What was last recorded for a zone (origin key). */
  previous(zone: string): SerialEntry | undefined {
    return this.entries[zone];
  }

  /**
   * Records the serial of a version about to be served (atomically, before it is served). The serial is kept in
   * memory even when the write fails (it is served, so later serials must follow it); the write is then retried
   * by the next record() or flush(). Throws when the file cannot be written or read.
   */
  record(zone: string, entry: SerialEntry): void {
    const prev = this.entries[zone];
    if (prev && prev.serial === entry.serial && prev.hash === entry.hash && prev.signed === entry.signed && !this.dirty)
      return;
    this.entries = { ...this.entries, [zone]: { ...entry } };
    this.dirty = true;
    this.flush();
  }

  /** Writes the serials when they differ from the file; throws when that fails (they stay to be written). */
  flush(): void {
    if (this.readOnly || !this.dirty) return;
    if (this.unreadable !== undefined) {
      this.read();
      if (this.unreadable !== undefined)
        throw new Error(`cannot read: ${this.unreadable} (not written over: it may hold higher serials)`);
    }
    writeFileAtomic(this.file, JSON.stringify(this.entries, null, 2) + '\n');
    this.dirty = false;
  }
}
