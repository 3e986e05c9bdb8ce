/**
 * The secret server cookies are made with (RFC 9018 §4.4), kept in `<state>/cookie-secret.json` (mode 0600):
 * random at the first start, the same after a restart (the cookies clients hold stay good), and rotated every
 * ROTATE_SECONDS with the previous secret still accepted until the next rotation, far longer than the hour a
 * cookie lives (RFC 9018 §4.3), so no client ever sees its cookie refused because of a rotation. A file that
 * cannot be read or written is reported and the secret lives in memory only: cookies still work, they are new
 * after a restart (the cost is one round trip per client: RFC 7873 §5.2.3 answers a stale cookie normally).
 * Servers behind one anycast address, or several instances a client may reach in turn, are given one secret
 * instead (`serve --cookie-secret`, as Knot's `cookie-secret`; RFC 9018 §4.4 asks for the same secret on all of
 * them): then it is the only one, never rotated, and the state file is neither read nor written.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { readRegularFile } from '../state/readfile.js';

export const COOKIE_SECRET_FILE = 'cookie-secret.json';
/** Like Knot's default secret lifetime: a little over a day, so rotations drift through the hours of the day. */
export const ROTATE_SECONDS = 26 * 3600;

interface Stored {
  readonly current: string;
  readonly previous: string | null;
  /** When `current` was made (Unix seconds). */
  readonly since: number;
}

export class CookieSecrets {
  /** Current first, then the previous one while it is accepted. */
  private list: Uint8Array[] = [];
  private since = 0;
  private readonly file: string;

  constructor(
    stateDir: string,
    now: number,
    private readonly onError: (what: string, error: string) => void = () => {},
    /** A secret shared with other servers (16 octets): used alone, never rotated, no state file. */
    private readonly shared?: Uint8Array,
  ) {
    this.file = join(stateDir, COOKIE_SECRET_FILE);
    if (shared) {
      this.list = [shared];
      return;
    }
    const stored = this.read();
    if (stored) {
      this.list = [Buffer.from(stored.current, 'hex')];
      if (stored.previous) this.list.push(Buffer.from(stored.previous, 'hex'));
      this.since = stored.since;
    }
    if (this.list.length === 0) this.rotate(now);
    else this.rotateIfDue(now);
  }

  /** The secrets a server cookie is checked against, current first (rotated first when due). */
  secrets(now: number): readonly Uint8Array[] {
    if (!this.shared) this.rotateIfDue(now);
    return this.list;
  }

  /** The secret new server cookies are made with. */
  current(now: number): Uint8Array {
    return this.secrets(now)[0]!;
  }

  private rotateIfDue(now: number): void {
    if (now - this.since >= ROTATE_SECONDS || now < this.since - 300) this.rotate(now);
  }

  private rotate(now: number): void {
    const fresh = randomBytes(16);
    this.list = this.list.length > 0 ? [fresh, this.list[0]!] : [fresh];
    this.since = now;
    const stored: Stored = {
      current: fresh.toString('hex'),
      previous: this.list[1] ? Buffer.from(this.list[1]).toString('hex') : null,
      since: now,
    };
    try {
      writeFileAtomic(this.file, JSON.stringify(stored) + '\n', 0o600);
    } catch (e) {
      this.onError('write', e instanceof Error ? e.message : String(e));
    }
  }

  private read(): Stored | null {
    if (!existsSync(this.file)) return null;
    try {
      const v = JSON.parse(readRegularFile(this.file, 4096).toString('utf8')) as Partial<Stored>;
      const hex16 = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{32}$/.test(s);
      if (!hex16(v.current) || !(v.previous === null || hex16(v.previous)) || !Number.isInteger(v.since))
        throw new Error('not {"current": 32 hex digits, "previous": 32 hex digits or null, "since": seconds}');
      return { current: v.current, previous: v.previous, since: v.since! };
    } catch (e) {
      this.onError('read', e instanceof Error ? e.message : String(e));
      return null;
    }
  }
}
