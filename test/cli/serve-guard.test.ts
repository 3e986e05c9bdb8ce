import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../../src/cli/args.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cookieSecret, guardOptions, RRL_DEFAULTS } from '../../src/cli/serve-guard.js';
import { environmentDefaults } from '../../src/cli/env.js';
import { LOOPBACK } from '../../src/server/guard.js';
import { run } from './run.js';

const FLAGS = ['allow-query', 'rrl', 'rrl-slip', 'rrl-exempt', 'rrl-ipv4-prefix', 'rrl-ipv6-prefix'];
const read = (args: string[]) => guardOptions(parseOptions(args, FLAGS, []));

describe('serve: query ACL and rate limiting flags', () => {
  it("defaults: NSD's rate and slip, /24 and /56, loopback exempt, everyone answered", () => {
    const o = read([]);
    expect(o.allowQuery).toBeUndefined();
    expect(o.rrl).toEqual({ rate: 200, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: LOOPBACK });
    expect(RRL_DEFAULTS.rate).toBe(200);
  });

  it('reads every flag; --rrl-exempt replaces the loopback default, none empties it', () => {
    const o = read([
      '--allow-query',
      '192.0.2.0/24',
      '--allow-query',
      '2001:db8::1',
      '--rrl',
      '0',
      '--rrl-slip',
      '1',
      '--rrl-ipv4-prefix',
      '32',
      '--rrl-ipv6-prefix',
      '64',
      '--rrl-exempt',
      '198.51.100.0/24',
    ]);
    expect(o.allowQuery?.map((p) => p.text)).toEqual(['192.0.2.0/24', '2001:db8::1']);
    expect(o.rrl).toMatchObject({ rate: 0, slip: 1, ipv4Prefix: 32, ipv6Prefix: 64 });
    expect(o.rrl?.exempt.map((p) => p.text)).toEqual(['198.51.100.0/24']);
    expect(read(['--rrl-exempt', 'none']).rrl?.exempt).toEqual([]);
  });

  it('refuses a bad value, naming the flag', () => {
    expect(() => read(['--allow-query', '192.0.2.1/24'])).toThrow(/^--allow-query: .*did you mean 192\.0\.2\.0\/24/);
    expect(() => read(['--rrl-exempt', 'nobody'])).toThrow(/^--rrl-exempt: "nobody" is not an IPv4 or IPv6 address/);
    expect(() => read(['--rrl', '-1'])).toThrow(UsageError);
    expect(() => read(['--rrl', 'fast'])).toThrow(/^--rrl: expected a whole number/);
    expect(() => read(['--rrl-slip', '101'])).toThrow(/^--rrl-slip: expected a whole number 0\.\.100/);
    expect(() => read(['--rrl-ipv4-prefix', '33'])).toThrow(/^--rrl-ipv4-prefix: expected a whole number 0\.\.32/);
    expect(() => read(['--rrl-ipv6-prefix', '129'])).toThrow(/^--rrl-ipv6-prefix/);
  });

  it('dane-ns serve exits 2 with the message before starting anything', async () => {
    const r = await run(['serve', '--rrl-slip', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rrl-slip: expected a whole number 0..100 (got "x")');
  });
});

describe('serve: the shared cookie secret', () => {
  const SECRET = '00112233445566778899AABBCCDDEEFF';
  const secret = (args: string[], env: Record<string, string> = {}) =>
    cookieSecret(parseOptions(args, ['cookie-secret', 'cookie-secret-file'], []), environmentDefaults(env));
  const file = (text: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'dane-ns-secret-')), 'secret');
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : b);

  it('absent: none (the server makes its own); given by flag, file or variable: its 16 octets', () => {
    expect(secret([])).toBeUndefined();
    expect(hex(secret(['--cookie-secret', SECRET]))).toBe(SECRET.toLowerCase());
    expect(hex(secret(['--cookie-secret-file', file(SECRET + '\n')]))).toBe(SECRET.toLowerCase());
    expect(hex(secret([], { DANE_NS_COOKIE_SECRET: SECRET }))).toBe(SECRET.toLowerCase());
    expect(hex(secret([], { DANE_NS_COOKIE_SECRET_FILE: file(` ${SECRET} `) }))).toBe(SECRET.toLowerCase());
    // A flag wins, and the variables are then not read (not even a bad one).
    const other = 'ff'.repeat(16);
    expect(hex(secret(['--cookie-secret', other], { DANE_NS_COOKIE_SECRET: 'bad' }))).toBe(other);
  });

  it('refuses a bad value naming the flag or variable, without repeating it', () => {
    expect(() => secret(['--cookie-secret', 'abc'])).toThrow(
      /^--cookie-secret: expected 32 hex digits \(16 octets\), got 3 characters$/,
    );
    expect(() => secret(['--cookie-secret', SECRET + '00'])).toThrow(/^--cookie-secret: /);
    expect(() => secret(['--cookie-secret', 'x'.repeat(32)])).toThrow(/^--cookie-secret: /);
    expect(() => secret(['--cookie-secret-file', file('nothex')])).toThrow(/^--cookie-secret-file .*secret: expected/);
    expect(() => secret(['--cookie-secret-file', '/nonexistent/secret'])).toThrow(
      /^--cookie-secret-file: cannot read \/nonexistent\/secret/,
    );
    expect(() => secret(['--cookie-secret', SECRET, '--cookie-secret-file', file(SECRET)])).toThrow(
      '--cookie-secret and --cookie-secret-file: give one of them',
    );
    expect(() => secret([], { DANE_NS_COOKIE_SECRET: 'zz' })).toThrow(/^DANE_NS_COOKIE_SECRET: expected 32 hex/);
    expect(() => secret([], { DANE_NS_COOKIE_SECRET_FILE: file('') })).toThrow(/^DANE_NS_COOKIE_SECRET_FILE /);
    expect(() => secret([], { DANE_NS_COOKIE_SECRET: SECRET, DANE_NS_COOKIE_SECRET_FILE: file(SECRET) })).toThrow(
      'DANE_NS_COOKIE_SECRET and DANE_NS_COOKIE_SECRET_FILE: give one of them',
    );
    for (const bad of ['abc', SECRET + '0']) {
      try {
        secret(['--cookie-secret', bad]);
      } catch (e) {
        expect((e as Error).message).not.toContain(bad);
      }
    }
  });

  it('dane-ns serve exits 2 naming the flag before starting anything', async () => {
    const r = await run(['serve', '--cookie-secret', 'short']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cookie-secret: expected 32 hex digits (16 octets), got 5 characters');
  });
});
