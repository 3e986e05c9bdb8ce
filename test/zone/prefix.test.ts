import { describe, expect, it } from 'vitest';
import { parsePrefix, prefixContains } from '../../src/zone/prefix.js';

describe('transfer.allow address prefixes', () => {
  it('an IPv4 prefix contains the addresses of its network only', () => {
    const p = parsePrefix('198.51.100.0/24');
    expect(prefixContains(p, '198.51.100.0')).toBe(true);
    expect(prefixContains(p, '198.51.100.255')).toBe(true);
    expect(prefixContains(p, '198.51.101.1')).toBe(false);
    expect(prefixContains(p, '2001:db8::1')).toBe(false);
  });

  it('an IPv4 client on a dual-stack socket (::ffff:a.b.c.d) matches as IPv4', () => {
    expect(prefixContains(parsePrefix('127.0.0.0/8'), '::ffff:127.0.0.1')).toBe(true);
    expect(prefixContains(parsePrefix('10.0.0.0/8'), '::ffff:127.0.0.1')).toBe(false);
  });

  it('an IPv6 prefix with a length that is not a multiple of 8', () => {
    const p = parsePrefix('2001:db8:8000::/33');
    expect(prefixContains(p, '2001:db8:8000::1')).toBe(true);
    expect(prefixContains(p, '2001:db8:ffff::1')).toBe(true);
    expect(prefixContains(p, '2001:db8:7fff::1')).toBe(false);
  });

  it('a bare address is a prefix of full length; /0 contains every address of the family', () => {
    expect(parsePrefix('192.0.2.7').length).toBe(32);
    expect(prefixContains(parsePrefix('192.0.2.7'), '192.0.2.7')).toBe(true);
    expect(prefixContains(parsePrefix('192.0.2.7'), '192.0.2.8')).toBe(false);
    expect(prefixContains(parsePrefix('::/0'), '2001:db8::1')).toBe(true);
    expect(prefixContains(parsePrefix('::/0'), '192.0.2.1')).toBe(false);
  });

  it('refuses names, bad lengths and host bits', () => {
    expect(() => parsePrefix('ns1.example')).toThrow('is not an IPv4 or IPv6 address');
    expect(() => parsePrefix('10.0.0.0/x')).toThrow('is not a prefix length 0..32');
    expect(() => parsePrefix('10.0.0.1/8')).toThrow('did you mean 10.0.0.0/8?');
  });
});
