import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COOKIE_SECRET_FILE, CookieSecrets, ROTATE_SECONDS } from '../../src/server/cookie-secret.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const dir = (): string => mkdtempSync(join(tmpdir(), 'dane-ns-cookie-'));
const T0 = 1_800_000_000;

describe('CookieSecrets', () => {
  it('makes a random secret at the first start, mode 0600, and keeps it across a restart', () => {
    const d = dir();
    const a = new CookieSecrets(d, T0);
    const b = new CookieSecrets(d, T0 + 60);
    expect(hex(b.current(T0 + 60))).toBe(hex(a.current(T0)));
    expect(statSync(join(d, COOKIE_SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(hex(new CookieSecrets(dir(), T0).current(T0))).not.toBe(hex(a.current(T0)));
  });

  it('rotates after ROTATE_SECONDS, still accepting the previous secret, and remembers both', () => {
    const d = dir();
    const s = new CookieSecrets(d, T0);
    const first = hex(s.current(T0));
    expect(s.secrets(T0 + ROTATE_SECONDS - 1).map(hex)).toEqual([first]);
    const rotated = s.secrets(T0 + ROTATE_SECONDS).map(hex);
    expect(rotated.length).toBe(2);
    expect(rotated[1]).toBe(first);
    expect(rotated[0]).not.toBe(first);
    expect(new CookieSecrets(d, T0 + ROTATE_SECONDS + 5).secrets(T0 + ROTATE_SECONDS + 5).map(hex)).toEqual(rotated);
    // The next rotation lets the first one go.
    const again = s.secrets(T0 + 2 * ROTATE_SECONDS).map(hex);
    expect(again[1]).toBe(rotated[0]);
    expect(again).not.toContain(first);
  });

  it('reports a file it cannot read and makes a new secret', () => {
    const d = dir();
    writeFileSync(join(d, COOKIE_SECRET_FILE), '{"current": "nope"}');
    const errors: string[] = [];
    const s = new CookieSecrets(d, T0, (what, error) => errors.push(`${what}: ${error}`));
    expect(s.current(T0).length).toBe(16);
    expect(errors[0]).toMatch(/^read: /);
    expect(JSON.parse(readFileSync(join(d, COOKIE_SECRET_FILE), 'utf8')).current).toBe(hex(s.current(T0)));
  });

  it('a shared secret is the only one, never rotated, and the state file is neither read nor written', () => {
    const shared = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const fresh = dir();
    const s = new CookieSecrets(fresh, T0, () => {}, shared);
    expect(s.secrets(T0).map(hex)).toEqual([hex(shared)]);
    expect(s.secrets(T0 + 10 * ROTATE_SECONDS).map(hex)).toEqual([hex(shared)]);
    expect(hex(s.current(T0 - 3600))).toBe(hex(shared));
    expect(() => statSync(join(fresh, COOKIE_SECRET_FILE))).toThrow();
    // A state file from before: kept as it is, and its secrets are not accepted.
    const old = dir();
    const own = hex(new CookieSecrets(old, T0).current(T0));
    const before = readFileSync(join(old, COOKIE_SECRET_FILE), 'utf8');
    const t = new CookieSecrets(old, T0 + ROTATE_SECONDS, () => {}, shared);
    expect(t.secrets(T0 + ROTATE_SECONDS).map(hex)).toEqual([hex(shared)]);
    expect(t.secrets(T0 + ROTATE_SECONDS)).not.toContain(own);
    expect(readFileSync(join(old, COOKIE_SECRET_FILE), 'utf8')).toBe(before);
  });
});
