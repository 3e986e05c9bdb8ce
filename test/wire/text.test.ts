/**
 * ipv6Format (src/wire/text.ts), the one IPv6 formatter (AAAA and SVCB ipv6hint rdata, client addresses):
 * RFC 5952 §4 text, inet_ntop's dotted-quad tail, addresses at an offset, and agreement with the WHATWG URL
 * serializer (which follows RFC 5952 but never writes a dotted quad) on random addresses.
 */
import { describe, expect, it } from 'vitest';
import { ipv6Format } from '../../src/wire/text.js';
import { mulberry32 } from '../fixtures/rng.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));

describe('ipv6Format', () => {
  it.each([
    ['2001 0db8 0000 0000 0000 0000 0000 0001', '2001:db8::1'],
    ['2001 0db8 0000 0000 0001 0000 0000 0001', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: the first of equal runs
    ['2001 0db8 0000 0001 0001 0001 0001 0001', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one zero group stays
    ['2001 0db8 0000 0000 0001 0000 0000 0000', '2001:db8:0:0:1::'], // §4.2.3: the longest run
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['0000 0000 0000 0000 0000 ffff c000 0201', '::ffff:192.0.2.1'], // IPv4-mapped, as dgram reports it
    ['0000 0000 0000 0000 0000 0000 c000 0201', '::192.0.2.1'], // IPv4-compatible, as inet_ntop writes it
    ['fe80 0000 0000 0000 abcd 00ef 0000 0000', 'fe80::abcd:ef:0:0'],
  ])('%s -> %s', (hex, text) => {
    expect(ipv6Format(bytes(hex))).toBe(text);
  });

  it('reads the 16 octets at `at`', () => {
    const b = bytes('ffff 2001 0db8 0000 0000 0000 0000 0000 0053 ffff');
    expect(ipv6Format(b, 2)).toBe('2001:db8::53');
  });

  it('agrees with the URL serializer on random addresses with zero runs', () => {
    const rand = mulberry32(0x6e5);
    for (let round = 0; round < 2000; round++) {
      const b = new Uint8Array(16);
      for (let g = 0; g < 8; g++) {
        if (rand() < 0.5) continue; // many zero groups, so runs of every length and position
        const v = Math.floor(rand() * 0x10000);
        b[2 * g] = v >> 8;
        b[2 * g + 1] = v & 0xff;
      }
      const text = ipv6Format(b);
      if (text.includes('.')) continue; // the dotted-quad forms, checked above
      const groups = Buffer.from(b)
        .toString('hex')
        .replace(/(.{4})(?!$)/g, '$1:');
      expect(text, groups).toBe(new URL(`http://[${groups}]/`).hostname.slice(1, -1));
    }
  });
});
