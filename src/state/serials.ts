/**
 * SOA serials (docs/zone-format.md), kept in the state directory (`serials.json`): per zone the serial last
 * served, the digest of its unsigned content (`hash`, what the zone build proposes a serial from) and the digest
 * of everything it served (`signed`: records, DNSKEY, NSEC and RRSIG; what a zone transfer would send). The
 * serial only moves forward, also across restarts (RFC 1982 serial arithmetic); the publish path decides it
 * (nextSerial) and records it here before the version is served, so a crash never reuses a serial.
 */
import { join } from 'node:path';
import { serialAdd, serialGreater } from '../wire/serial.js';
import { writeFileAtomic } from './atomic.js';
import { readRegularFile, STATE_FILE_MAX } from './readfile.js';

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
  private readonly file: string;
  private entries: Record<string, SerialEntry>;

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
    try {
      this.entries = JSON.parse(readRegularFile(this.file, STATE_FILE_MAX).toString('utf8')) as Record<
        string,
        SerialEntry
      >;
    } catch {
      this.entries = {};
    }
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

  /** Records the serial of a version about to be served (atomically, before it is served). */
  record(zone: string, entry: SerialEntry): void {
    const prev = this.entries[zone];
    if (prev && prev.serial === entry.serial && prev.hash === entry.hash && prev.signed === entry.signed) return;
    if (this.readOnly) return;
    const next = { ...this.entries, [zone]: { ...entry } };
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    this.entries = next;
  }
}
