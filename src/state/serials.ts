/**
 * SOA serials for `serial: auto` zones (docs/zone-format.md): kept in the state directory, raised on every content
 * change, never moved backwards across restarts (RFC 1982 serial arithmetic).
 */
import { join } from 'node:path';
import { serialAdd, serialGreater } from '../wire/serial.js';
import { writeFileAtomic } from './atomic.js';
import { readRegularFile, STATE_FILE_MAX } from './readfile.js';

interface Entry {
  serial: number;
  hash: string;
}

export class SerialStore {
  private readonly file: string;
  private entries: Record<string, Entry>;

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
      this.entries = JSON.parse(readRegularFile(this.file, STATE_FILE_MAX).toString('utf8')) as Record<string, Entry>;
    } catch {
      this.entries = {};
    }
  }

  /**
   * The serial for a zone whose content has digest `hash`: unchanged content keeps its serial; changed content
   * gets max(previous + 1, current Unix time) in serial arithmetic, so it always moves forward.
   */
  serialFor(zone: string, hash: string): number {
    const prev = this.entries[zone];
    if (prev && prev.hash === hash) return prev.serial;
    const unix = Math.floor(this.now() / 1000) >>> 0;
    let next = prev ? serialAdd(prev.serial, 1) : unix;
    if (prev && serialGreater(unix, next)) next = unix;
    if (this.readOnly) return next;
    this.entries[zone] = { serial: next, hash };
    writeFileAtomic(this.file, JSON.stringify(this.entries, null, 2) + '\n');
    return next;
  }
}
