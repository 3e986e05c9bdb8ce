import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../../src/cli/args.js';
import { guardOptions, RRL_DEFAULTS } from '../../src/cli/serve-guard.js';
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
