/**
 * The server's TSIG keyring (RFC 8945 §5.2: the keys it knows by name): `<keys dir>/tsig/*.key`, read at start
 * and again whenever the keys directory changes. A broken key file is logged with its file:line and the last
 * good keyring keeps serving, so a half-written or mistyped file never locks the secondaries out.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { KeyLookup } from '../dnssec/tsig.js';
import { makeKeyring, readKeyring, TSIG_DIR, tsigKeyFileName, type Keyring } from '../dnssec/tsigkey.js';
import { parseName, ROOT } from '../wire/name.js';
import type { ZoneProblem } from '../zone/errors.js';
import type { Zone } from '../zone/zone.js';

export class ServerKeyring {
  private ring: Keyring = makeKeyring([]);

  constructor(
    private readonly keysDir: string,
    private readonly logger: Logger,
  ) {
    this.reload('start');
  }

  /** The key lookup of the keyring in use now. */
  readonly lookup: () => KeyLookup = () => this.ring.lookup;

  /** Reads the keyring again; on any error the previous one stays. Returns whether the new one was taken. */
  reload(reason: string): boolean {
    try {
      this.ring = readKeyring(this.keysDir);
      this.logger.debug('tsig-keys-read', { reason, keys: this.ring.keys.length });
      return true;
    } catch (e) {
      this.logger.error('tsig-keys-failed', {
        error: (e as Error).message,
        keeping: `the last good keyring (${this.ring.keys.length} keys)`,
      });
      return false;
    }
  }

  /**
   * The problems of a zone whose `transfer.allow` or `transfer.notify` names a key that has no file in
   * `<keys dir>/tsig/` (an AXFR nobody could sign, a NOTIFY that could not be signed).
   */
  missingKeys(zone: Zone): ZoneProblem[] {
    const out: ZoneProblem[] = [];
    const check = (key: string | undefined, line: number, what: string): void => {
      if (key === undefined) return;
      let path: string;
      try {
        path = join(this.keysDir, TSIG_DIR, tsigKeyFileName(parseName(key, ROOT)));
      } catch (e) {
        out.push({ file: zone.file, line, reason: `${what}.key: ${(e as Error).message}` });
        return;
      }
      if (!existsSync(path))
        out.push({
          file: zone.file,
          line,
          reason: `${what}.key: no TSIG key "${key}" (expected the file ${path}; dane-ns tsig generate ${key.replace(/\.$/, '')} makes one)`,
        });
    };
    zone.transfer.allow.forEach((a, i) => check(a.key, a.line, `transfer.allow[${i}]`));
    zone.transfer.notify.forEach((n, i) => check(n.key, n.line, `transfer.notify[${i}]`));
    zone.update.forEach((u, i) => check(u.key, u.line, `update[${i}]`));
    zone.transfer.check?.forEach((n, i) => check(n.key, n.line, `transfer.check[${i}]`));
    return out;
  }
}
