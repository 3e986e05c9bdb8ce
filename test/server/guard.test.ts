import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CookieSecrets } from '../../src/server/cookie-secret.js';
import { COOKIE_OPTION } from '../../src/server/cookies.js';
import { GuardCounters, LOOPBACK, withGuard, type GuardOptions } from '../../src/server/guard.js';
import type { ResponseNote } from '../../src/server/handler.js';
import type { Handler, Remote, Transport } from '../../src/server/transport.js';
import { FLAG_AA, FLAG_QR, FLAG_TC } from '../../src/wire/header.js';
import { decodeMessage, encodeMessage, encodeQuery, type Message } from '../../src/wire/message.js';
import { makeEdns } from '../../src/wire/edns.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { CLASS_IN, RCODE, T } from '../../src/wire/types.js';
import { parsePrefix } from '../../src/zone/prefix.js';

const NAME = parseName('www.example.', ROOT);
const remote = (address: string): Remote => ({ address, port: 5300, family: address.includes(':') ? 'IPv6' : 'IPv4' });

/** Answers every query with one A record, and our OPT when the query had one; keeps what it was given. */
function fakeHandler(): { handler: Handler; seen: Message[] } {
  const seen: Message[] = [];
  const handler: Handler = (query) => {
    const q = decodeMessage(query);
    seen.push(q);
    return encodeMessage({
      id: q.id,
      flags: FLAG_QR | FLAG_AA,
      questions: q.questions,
      answer: [{ name: NAME, type: T.A, class: CLASS_IN, ttl: 60, rdata: Uint8Array.of(192, 0, 2, 1) }],
      authority: [],
      additional: [],
      edns: q.edns ? makeEdns({ udpSize: 1232 }) : null,
    }).bytes;
  };
  return { handler, seen };
}

function setup(p: Partial<GuardOptions> = {}) {
  let t = Date.UTC(2026, 0, 1);
  const counters = new GuardCounters();
  const cookies = new CookieSecrets(mkdtempSync(join(tmpdir(), 'dane-ns-guard-')), Math.floor(t / 1000));
  const { handler, seen } = fakeHandler();
  const guarded = withGuard(handler, { cookies, counters, now: () => t, ...p });
  const ask = (from: string, q: Uint8Array, transport: Transport = 'udp') => guarded(q, transport, remote(from));
  return { ask, seen, counters, advance: (ms: number) => (t += ms) };
}

const query = (cookie?: Uint8Array): Uint8Array =>
  encodeQuery(NAME, T.A, {
    id: 9,
    edns: { udpSize: 1232, options: cookie ? [{ code: COOKIE_OPTION, data: cookie }] : [] },
  });

const cookieOf = (response: Uint8Array | null): Uint8Array | undefined =>
  response ? decodeMessage(response).edns?.options.find((o) => o.code === COOKIE_OPTION)?.data : undefined;

const rrl = (exempt = LOOPBACK): NonNullable<GuardOptions['rrl']> => ({
  rate: 5,
  slip: 2,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt,
});

describe('withGuard: query ACL', () => {
  it('refuses sources outside --allow-query and answers those inside', () => {
    const g = setup({ allowQuery: [parsePrefix('192.0.2.0/24'), parsePrefix('2001:db8::/32')] });
    expect(decodeMessage(g.ask('192.0.2.77', query())!).flags & 0xf).toBe(RCODE.NOERROR);
    expect(decodeMessage(g.ask('2001:db8::5', query())!).flags & 0xf).toBe(RCODE.NOERROR);
    expect(decodeMessage(g.ask('::ffff:192.0.2.8', query())!).flags & 0xf).toBe(RCODE.NOERROR);
    const refused = decodeMessage(g.ask('198.51.100.1', query())!);
    expect(refused.flags & 0xf).toBe(RCODE.REFUSED);
    expect(refused.questions[0]?.name.key).toBe(NAME.key);
    expect(g.seen.length).toBe(3);
    expect(g.counters.aclRefused).toBe(1);
  });

  it('puts our OPT into the REFUSED when the query had one (RFC 6891 §7), DO copied', () => {
    const g = setup({ allowQuery: [parsePrefix('192.0.2.0/24')] });
    const withDo = decodeMessage(g.ask('198.51.100.1', encodeQuery(NAME, T.A, { edns: { dnssecOk: true } }))!);
    expect(withDo.edns?.dnssecOk).toBe(true);
    expect(withDo.edns?.udpSize).toBe(1232);
    const plain = decodeMessage(g.ask('198.51.100.1', encodeQuery(NAME, T.A))!);
    expect(plain.edns).toBeNull();
    expect(plain.flags & 0xf).toBe(RCODE.REFUSED);
  });
});

describe('withGuard: cookies', () => {
  it('answers a client cookie with it and a server cookie, which verifies on the next query and is echoed', () => {
    const g = setup();
    const client = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const first = cookieOf(g.ask('192.0.2.1', query(client)));
    expect(first?.length).toBe(24);
    expect([...first!.subarray(0, 8)]).toEqual([...client]);
    expect(first![8]).toBe(1); // RFC 9018 version
    // The handler saw the query without the option, with room left for it.
    expect(g.seen[0]?.edns?.options).toEqual([]);
    expect(g.seen[0]?.edns?.udpSize).toBe(1232 - 28);
    const second = cookieOf(g.ask('192.0.2.1', query(first)));
    expect(Buffer.from(second!).toString('hex')).toBe(Buffer.from(first!).toString('hex'));
    expect(g.counters.cookies.get('client-only')).toBe(1);
    expect(g.counters.cookies.get('valid')).toBe(1);
    // From another address the cookie is not ours: answered all the same, with a new server cookie.
    const elsewhere = g.ask('192.0.2.2', query(first));
    expect(decodeMessage(elsewhere!).flags & 0xf).toBe(RCODE.NOERROR);
    expect(Buffer.from(cookieOf(elsewhere)!).toString('hex')).not.toBe(Buffer.from(first!).toString('hex'));
    expect(g.counters.cookies.get('invalid')).toBe(1);
  });

  it('renews a server cookie older than half an hour', () => {
    const g = setup();
    const first = cookieOf(g.ask('192.0.2.1', query(new Uint8Array(8).fill(7))))!;
    g.advance(1801_000);
    const renewed = cookieOf(g.ask('192.0.2.1', query(first)))!;
    expect(g.counters.cookies.get('renew')).toBe(1);
    expect(Buffer.from(renewed).readUInt32BE(12)).toBeGreaterThan(Buffer.from(first).readUInt32BE(12));
  });

  it('answers a COOKIE option of a malformed length with FORMERR, without asking the handler', () => {
    const g = setup();
    const r = decodeMessage(g.ask('192.0.2.1', query(new Uint8Array(12)))!);
    expect(r.flags & 0xf).toBe(RCODE.FORMERR);
    expect(g.seen.length).toBe(0);
    expect(g.counters.cookieMalformed).toBe(1);
  });
});

describe('withGuard: rate limiting', () => {
  it('limits UDP from one network with slips, never TCP, never loopback by default', () => {
    const g = setup({ rrl: rrl() });
    const results = Array.from({ length: 15 }, () => g.ask('192.0.2.1', query()));
    expect(results.filter((r) => r && !(decodeMessage(r).flags & FLAG_TC)).length).toBe(5);
    expect(results.filter((r) => r && decodeMessage(r).flags & FLAG_TC).length).toBe(5);
    expect(results.filter((r) => r === null).length).toBe(5);
    expect(g.counters.rrlDropped).toBe(5);
    expect(g.counters.rrlSlipped).toBe(5);
    for (let i = 0; i < 10; i++) expect(g.ask('192.0.2.1', query(), 'tcp')).not.toBeNull();
    for (let i = 0; i < 20; i++) expect(decodeMessage(g.ask('127.0.0.1', query())!).flags & FLAG_TC).toBe(0);
    for (let i = 0; i < 20; i++) expect(decodeMessage(g.ask('::1', query())!).flags & FLAG_TC).toBe(0);
  });

  it('limits loopback too once the exempt list is given without it', () => {
    const g = setup({ rrl: rrl([]) });
    const results = Array.from({ length: 10 }, () => g.ask('127.0.0.1', query()));
    expect(results.filter((r) => r === null).length).toBeGreaterThan(0);
  });

  it('does not limit a client whose server cookie verifies', () => {
    const g = setup({ rrl: rrl([]) });
    const cookie = cookieOf(g.ask('192.0.2.1', query(new Uint8Array(8).fill(3))))!;
    for (let i = 0; i < 30; i++) {
      const r = g.ask('192.0.2.1', query(cookie));
      expect(r).not.toBeNull();
      expect(decodeMessage(r!).flags & FLAG_TC).toBe(0);
    }
    // A client cookie alone proves nothing.
    const unproven = Array.from({ length: 30 }, () => g.ask('192.0.2.1', query(new Uint8Array(8).fill(4))));
    expect(unproven.filter((r) => r === null).length).toBeGreaterThan(0);
  });

  it('counts REFUSED to sources outside --allow-query as error responses, limited too', () => {
    const g = setup({ rrl: rrl([]), allowQuery: [parsePrefix('192.0.2.0/24')] });
    const results = Array.from({ length: 20 }, () => g.ask('198.51.100.1', query()));
    expect(results.filter((r) => r === null).length).toBeGreaterThan(0);
    expect(g.counters.aclRefused).toBe(20);
  });

  it('counts answers the handler notes as from one wildcard in one bucket, and clears the note first', () => {
    const note: ResponseNote = { wildcard: Uint8Array.of(9) };
    const { handler } = fakeHandler();
    const star = parseName('*.w.example.', ROOT).wire;
    const noting: Handler = (q, t, r) => {
      if (Buffer.from(q).includes('\x01w\x07example', 0, 'latin1')) note.wildcard = star;
      return handler(q, t, r);
    };
    const counters = new GuardCounters();
    const guarded = withGuard(noting, { counters, now: () => 0, rrl: rrl([]), note });
    const ask = (name: string) =>
      guarded(encodeQuery(parseName(name, ROOT), T.A, { id: 1, edns: null }), 'udp', remote('192.0.2.1'));
    const random = Array.from({ length: 15 }, (_, i) => ask(`r${i}.w.example.`));
    expect(random.filter((r) => r === null).length).toBe(5);
    expect(counters.rrlSlipped).toBe(5);
    // Names the handler does not note keep a bucket each (the note from the last query was cleared).
    for (let i = 0; i < 15; i++) expect(decodeMessage(ask(`h${i}.example.`)!).flags & FLAG_TC).toBe(0);
  });

  it('is off at rate 0', () => {
    const g = setup({ rrl: { ...rrl([]), rate: 0 } });
    for (let i = 0; i < 50; i++) expect(g.ask('192.0.2.1', query())).not.toBeNull();
  });
});

describe('GuardCounters', () => {
  it('renders a fixed set of series', () => {
    const c = new GuardCounters();
    c.rrlDropped = 3;
    const text = c.render().join('\n');
    expect(text).toContain('dane_ns_rrl_total{action="dropped"} 3');
    expect(text).toContain('dane_ns_rrl_total{action="slipped"} 0');
    expect(text).toContain('dane_ns_cookies_total{result="valid"} 0');
    expect(text).toContain('dane_ns_query_acl_refused_total 0');
  });
});
