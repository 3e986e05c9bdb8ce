import { describe, expect, it } from 'vitest';
import {
  checkCookie,
  COOKIE_OPTION,
  COOKIE_REPLY_SIZE,
  findCookie,
  optAt,
  serverCookie,
  stripCookie,
  withCookie,
} from '../../src/server/cookies.js';
import { peekSimpleQuery } from '../../src/server/fastpath.js';
import { addressBytes } from '../../src/zone/prefix.js';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { HOSTILE } from '../wire/hostile-packets.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const ip = (s: string): Uint8Array => addressBytes(s)!;

/** RFC 9018 Appendix A: secret, client cookie, client address, time, server cookie. */
const VECTORS = [
  [
    'e5e973e5a6b2a43f48e7dc849e37bfcf',
    '2464c4abcf10c957',
    '198.51.100.100',
    1559731985,
    '010000005cf79f111f8130c3eee29480',
  ],
  [
    'e5e973e5a6b2a43f48e7dc849e37bfcf',
    '2464c4abcf10c957',
    '198.51.100.100',
    1559734385,
    '010000005cf7a871d4a564a1442aca77',
  ],
  [
    'e5e973e5a6b2a43f48e7dc849e37bfcf',
    'fc93fc62807ddb86',
    '203.0.113.203',
    1559734700,
    '010000005cf7a9acf73a7810aca2381e',
  ],
  [
    '445536bcd2513298075a5d379663c962',
    '22681ab97d52c298',
    '2001:db8:220:1:59de:d0f4:8769:82b8',
    1559741961,
    '010000005cf7c609a6bb79d16625507a',
  ],
] as const;

const query = (cookie: Uint8Array | null, udpSize = 1232): Uint8Array =>
  encodeQuery(parseName('www.example.com.', ROOT), 1, {
    id: 7,
    edns: { udpSize, options: cookie ? [{ code: COOKIE_OPTION, data: cookie }] : [] },
  });

describe('serverCookie', () => {
  it('gives the server cookies of RFC 9018 Appendix A', () => {
    for (const [secret, client, addr, at, want] of VECTORS)
      expect(hex(serverCookie(unhex(secret), unhex(client), ip(addr), at))).toBe(want);
  });
});

describe('checkCookie', () => {
  const secret = unhex(VECTORS[0][0]);
  const client = '2464c4abcf10c957';
  const cookie = unhex(client + VECTORS[0][4]);
  const at = VECTORS[0][3];

  it('accepts a cookie it made, renews it after half an hour, refuses it after an hour', () => {
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at)).toBe('valid');
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at + 1799)).toBe('valid');
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at + 1800)).toBe('renew');
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at + 3600)).toBe('renew');
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at + 3601)).toBe('invalid');
    // Five minutes ahead is clock skew between anycast servers (RFC 9018 §4.3), more is not.
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at - 300)).toBe('valid');
    expect(checkCookie(cookie, ip('198.51.100.100'), [secret], at - 301)).toBe('invalid');
  });

  it('refuses it from another address, under another secret, or altered', () => {
    expect(checkCookie(cookie, ip('198.51.100.101'), [secret], at)).toBe('invalid');
    expect(checkCookie(cookie, ip('198.51.100.100'), [unhex(VECTORS[3][0])], at)).toBe('invalid');
    const bad = cookie.slice();
    bad[23]! ^= 1;
    expect(checkCookie(bad, ip('198.51.100.100'), [secret], at)).toBe('invalid');
    const v2 = cookie.slice();
    v2[8] = 2;
    expect(checkCookie(v2, ip('198.51.100.100'), [secret], at)).toBe('invalid');
  });

  it('accepts the previous secret too (RFC 9018 §4.4), and a client cookie alone is client-only', () => {
    expect(checkCookie(cookie, ip('198.51.100.100'), [unhex(VECTORS[3][0]), secret], at)).toBe('valid');
    expect(checkCookie(unhex(client), ip('198.51.100.100'), [secret], at)).toBe('client-only');
  });

  it('hashes the reserved octets as received (RFC 9018 A.3)', () => {
    const c = unhex('fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5');
    expect(checkCookie(c, ip('203.0.113.203'), [secret], 0x5cf78f71)).toBe('valid');
  });

  it('reads the timestamp in serial arithmetic across the 2106 wrap', () => {
    const made = serverCookie(secret, unhex(client), ip('192.0.2.1'), 0xffffff00);
    const c = new Uint8Array([...unhex(client), ...made]);
    expect(checkCookie(c, ip('192.0.2.1'), [secret], 0x100000010)).toBe('valid');
  });
});

describe('findCookie', () => {
  it('finds the option, or none, and calls the lengths of RFC 7873 §5.2.2 malformed', () => {
    expect(findCookie(query(null))).toBeNull();
    expect(findCookie(encodeQuery(parseName('a.', ROOT), 1))).toBeNull();
    for (const len of [8, 16, 24, 40]) {
      const found = findCookie(query(new Uint8Array(len)));
      expect(found, `length ${len}`).not.toBe('malformed');
      expect(found).not.toBeNull();
    }
    for (const len of [0, 7, 9, 15, 41])
      expect(findCookie(query(new Uint8Array(len))), `length ${len}`).toBe('malformed');
  });
});

describe('stripCookie and withCookie', () => {
  it('give the handler the plain query shape with room for the option, and put the option into the answer', () => {
    const cookie = unhex('2464c4abcf10c957');
    const q = query(cookie, 4096);
    const c = findCookie(q);
    if (!c || c === 'malformed') throw new Error('no cookie found');
    const plain = stripCookie(q, c);
    const simple = peekSimpleQuery(plain);
    expect(simple?.udpSize).toBe(1232 - COOKIE_REPLY_SIZE);
    expect(decodeMessage(plain).edns?.options).toEqual([]);
    // An answer as respond.ts writes it: our OPT last, no options.
    const answer = encodeQuery(parseName('www.example.com.', ROOT), 1, { id: 7, edns: { udpSize: 1232 } });
    const option = new Uint8Array(24).fill(0xab);
    const out = withCookie(answer, option, 1232)!;
    const opts = decodeMessage(out).edns?.options;
    expect(opts?.length).toBe(1);
    expect(opts?.[0]?.code).toBe(COOKIE_OPTION);
    expect(hex(opts![0]!.data)).toBe(hex(option));
    // Not when it would not fit, not without an OPT at the end.
    expect(withCookie(answer, option, answer.length + 27)).toBeNull();
    expect(withCookie(encodeQuery(parseName('www.example.com.', ROOT), 1), option, 1232)).toBeNull();
  });
});

describe('findCookie on hostile packets', () => {
  it('never throws, and finds only options that lie inside their OPT rdata (the rest is the decoder FORMERR)', () => {
    for (const h of HOSTILE) {
      expect(optAt(h.bytes), h.name).toBeLessThan(h.bytes.length);
      const c = findCookie(h.bytes);
      if (c === null || c === 'malformed') continue;
      expect(c.optionAt + 4 + c.length, h.name).toBeLessThanOrEqual(h.bytes.length);
      let original = true;
      try {
        decodeMessage(h.bytes);
      } catch {
        original = false;
      }
      if (original) expect(() => decodeMessage(stripCookie(h.bytes, c)), h.name).not.toThrow();
    }
    const cut = query(new Uint8Array(8));
    cut[cut.length - 13] = 20; // the option's length now runs past the OPT rdata
    expect(findCookie(cut)).toBeNull();
  });
});
