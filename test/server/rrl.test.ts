import { describe, expect, it } from 'vitest';
import { RateLimiter, slipped, type RrlOptions } from '../../src/server/rrl.js';
import { decodeMessage, encodeMessage, type RR } from '../../src/wire/message.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { FLAG_AA, FLAG_QR, FLAG_TC } from '../../src/wire/header.js';
import { CLASS_IN, RCODE, T } from '../../src/wire/types.js';
import { addressBytes } from '../../src/zone/prefix.js';

const ip = (s: string): Uint8Array => addressBytes(s)!;
const n = (s: string) => parseName(s, ROOT);
const rr = (owner: string, type: number): RR => ({
  name: n(owner),
  type,
  class: CLASS_IN,
  ttl: 60,
  rdata:
    type === T.A
      ? Uint8Array.of(192, 0, 2, 1)
      : type === T.SOA
        ? Uint8Array.from([...n('ns.example.').wire, ...n('host.example.').wire, ...new Uint8Array(20)])
        : n('ns.example.').wire,
});

function response(
  qname: string,
  qtype: number,
  p: { rcode?: number; aa?: boolean; answer?: RR[]; authority?: RR[] } = {},
): Uint8Array {
  return encodeMessage({
    id: 1,
    flags: FLAG_QR | (p.aa === false ? 0 : FLAG_AA) | (p.rcode ?? 0),
    questions: [{ name: n(qname), type: qtype, class: CLASS_IN }],
    answer: p.answer ?? [],
    authority: p.authority ?? [],
    additional: [],
    edns: null,
  }).bytes;
}

const answer = (name: string, qtype: number = T.A) => response(name, qtype, { answer: [rr(name, T.A)] });
const nxdomain = (name: string, zone: string) =>
  response(name, T.A, { rcode: RCODE.NXDOMAIN, authority: [rr(zone, T.SOA)] });

function limiter(p: Partial<RrlOptions> = {}) {
  let t = 1_000_000;
  const l = new RateLimiter({ rate: 10, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, tableSize: 1024, ...p }, () => t);
  return { l, advance: (ms: number) => (t += ms) };
}

function count(l: RateLimiter, from: string, r: Uint8Array, times: number) {
  const c = { pass: 0, drop: 0, slip: 0 };
  for (let i = 0; i < times; i++) c[l.decide(ip(from), r)]++;
  return c;
}

describe('RateLimiter', () => {
  it('passes `rate` identical responses a second to one /24, then slips every 2nd and drops the rest', () => {
    const { l, advance } = limiter();
    expect(count(l, '192.0.2.1', answer('www.example.'), 30)).toEqual({ pass: 10, drop: 10, slip: 10 });
    // Another address of the same /24 shares the bucket.
    expect(count(l, '192.0.2.200', answer('www.example.'), 2)).toEqual({ pass: 0, drop: 1, slip: 1 });
    // The bucket refills at `rate` a second.
    advance(500);
    expect(count(l, '192.0.2.1', answer('www.example.'), 6).pass).toBe(5);
    advance(10_000);
    expect(count(l, '192.0.2.1', answer('www.example.'), 12).pass).toBe(10);
  });

  it('keeps another network, another name and another qtype apart', () => {
    const { l } = limiter();
    count(l, '192.0.2.1', answer('www.example.'), 50);
    expect(count(l, '198.51.100.1', answer('www.example.'), 10).pass).toBe(10);
    expect(count(l, '192.0.2.1', answer('mail.example.'), 10).pass).toBe(10);
    expect(count(l, '192.0.2.1', answer('www.example.', T.AAAA), 10).pass).toBe(10);
  });

  it('counts names without regard to letter case', () => {
    const { l } = limiter();
    count(l, '192.0.2.1', answer('www.example.'), 10);
    expect(count(l, '192.0.2.1', answer('WWW.Example.'), 1).pass).toBe(0);
  });

  it('limits NXDOMAIN per zone, whatever the name asked', () => {
    const { l } = limiter();
    for (let i = 0; i < 10; i++) expect(l.decide(ip('192.0.2.1'), nxdomain(`r${i}.example.`, 'example.'))).toBe('pass');
    expect(l.decide(ip('192.0.2.1'), nxdomain('other.example.', 'example.'))).not.toBe('pass');
    expect(l.decide(ip('192.0.2.1'), nxdomain('x.example.org.', 'example.org.'))).toBe('pass');
  });

  it('counts answers and NODATA from a wildcard per wildcard owner, whatever the name asked', () => {
    const { l } = limiter();
    const star = n('*.w.example.').wire;
    const c = { pass: 0, drop: 0, slip: 0 };
    for (let i = 0; i < 30; i++) c[l.decide(ip('192.0.2.1'), answer(`r${i}.w.example.`), star)]++;
    expect(c).toEqual({ pass: 10, drop: 10, slip: 10 });
    // The same random names without a wildcard behind them: a bucket each.
    for (let i = 0; i < 30; i++) expect(l.decide(ip('192.0.2.1'), answer(`r${i}.w.example.`))).toBe('pass');
    // Another qtype from the same wildcard, another network: buckets of their own.
    expect(l.decide(ip('192.0.2.1'), answer('x.w.example.', T.TXT), star)).toBe('pass');
    expect(l.decide(ip('198.51.100.1'), answer('x.w.example.'), star)).toBe('pass');
    // NODATA from the wildcard: one bucket for all names too (letter case aside).
    const nodata = (name: string) => response(name, T.AAAA, { authority: [rr('example.', T.SOA)] });
    for (let i = 0; i < 10; i++) expect(l.decide(ip('192.0.2.1'), nodata(`n${i}.w.example.`), star)).toBe('pass');
    expect(l.decide(ip('192.0.2.1'), nodata('more.w.example.'), n('*.W.Example.').wire)).not.toBe('pass');
    // NXDOMAIN and errors keep their own keys even if a wildcard is named.
    expect(l.decide(ip('192.0.2.1'), nxdomain('gone.example.', 'example.'), star)).toBe('pass');
  });

  it('limits referrals per delegation and errors per network only', () => {
    const { l } = limiter();
    const referral = (name: string) => response(name, T.A, { aa: false, authority: [rr('sub.example.', T.NS)] });
    for (let i = 0; i < 10; i++) expect(l.decide(ip('192.0.2.1'), referral(`h${i}.sub.example.`))).toBe('pass');
    expect(l.decide(ip('192.0.2.1'), referral('z.sub.example.'))).not.toBe('pass');
    const refused = (name: string) => response(name, T.A, { rcode: RCODE.REFUSED, aa: false });
    for (let i = 0; i < 10; i++) expect(l.decide(ip('192.0.2.1'), refused(`q${i}.example.`))).toBe('pass');
    expect(l.decide(ip('192.0.2.1'), refused('another.example.'))).not.toBe('pass');
  });

  it('uses /56 for IPv6 by default, and the prefix lengths it is given', () => {
    const { l } = limiter();
    count(l, '2001:db8:0:100::1', answer('www.example.'), 10);
    expect(l.decide(ip('2001:db8:0:1ff::2'), answer('www.example.'))).not.toBe('pass');
    expect(l.decide(ip('2001:db8:0:200::1'), answer('www.example.'))).toBe('pass');
    const host = limiter({ ipv4Prefix: 32 });
    count(host.l, '192.0.2.1', answer('www.example.'), 10);
    expect(host.l.decide(ip('192.0.2.2'), answer('www.example.'))).toBe('pass');
  });

  it('slip 0 drops every limited response, slip 1 slips every one', () => {
    const none = limiter({ slip: 0 });
    expect(count(none.l, '192.0.2.1', answer('www.example.'), 20)).toEqual({ pass: 10, drop: 10, slip: 0 });
    const all = limiter({ slip: 1 });
    expect(count(all.l, '192.0.2.1', answer('www.example.'), 20)).toEqual({ pass: 10, drop: 0, slip: 10 });
  });

  it('stays within its table: a flood of distinct flows never grows it and the first flow starts afresh', () => {
    const { l } = limiter({ tableSize: 16 });
    for (let i = 0; i < 5000; i++) l.decide(ip(`10.${i >> 8}.${i & 255}.1`), answer('www.example.'));
    expect(count(l, '192.0.2.1', answer('www.example.'), 10).pass).toBe(10);
  });
});

describe('slipped', () => {
  it('is the header and question with TC set and no records', () => {
    const r = answer('www.example.');
    const s = slipped(r);
    const m = decodeMessage(s);
    expect(m.flags & FLAG_TC).toBe(FLAG_TC);
    expect(m.flags & FLAG_AA).toBe(FLAG_AA);
    expect(m.questions[0]?.name.key).toBe(n('www.example.').key);
    expect(m.answer.length + m.authority.length + m.additional.length).toBe(0);
    expect(s.length).toBeLessThan(r.length);
  });
});
