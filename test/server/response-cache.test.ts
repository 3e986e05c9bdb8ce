/**
 * The response cache (src/server/response-cache.ts): second-hit admission once full, second-chance eviction,
 * and one NODATA entry per name for every QTYPE absent there (handler.ts stores it), checked byte for byte
 * against the full path over random QTYPEs at every node of the signed oracle zones. Then the flood cases:
 * 100k unique names and types neither evict popular answers nor keep later ones out (asserted through the
 * cache's hit and miss counters).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandler, makeSnapshot, type Snapshot } from '../../src/server/handler.js';
import { ResponseCache } from '../../src/server/response-cache.js';
import { ZoneSigner } from '../../src/server/signer.js';
import { createLogger } from '../../src/log.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import { encodeQuery } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import type { Transport } from '../../src/server/transport.js';
import { mulberry32 as rng } from '../fixtures/rng.js';
import { LOOPBACK } from '../support/remote.js';
import { fixture } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-response-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string): Uint8Array => Buffer.from(s);

describe('ResponseCache admission and eviction', () => {
  it('admits freely while there is room; once full, only an answer asked before, in place of an unmarked one', () => {
    const c = new ResponseCache(4);
    for (const n of ['a', 'b', 'c', 'd']) c.set(n, 1, bytes(n));
    expect(c.size).toBe(4);
    expect(c.get('b', 1)).toEqual(bytes('b')); // b is marked
    c.set('e', 1, bytes('e')); // first sight: refused
    expect(c.get('e', 1)).toBeUndefined();
    expect(c.stats.refused).toBe(1);
    c.set('e', 1, bytes('e')); // second: admitted, the oldest unmarked (a) leaves
    expect(c.get('e', 1)).toEqual(bytes('e'));
    expect(c.get('a', 1)).toBeUndefined();
    expect(c.size).toBe(4);
    // b had its second chance: c and d go before it.
    for (const n of ['f', 'g']) {
      c.set(n, 1, bytes(n));
      c.set(n, 1, bytes(n));
    }
    expect(c.get('b', 1)).toEqual(bytes('b'));
    expect(c.get('c', 1)).toBeUndefined();
    expect(c.get('d', 1)).toBeUndefined();
    expect(c.stats.evicted).toBe(3);
  });

  it('when every entry was hit since the hand last passed, one round takes the marks and the oldest leaves', () => {
    const c = new ResponseCache(2);
    c.set('a', 1, bytes('a'));
    c.set('b', 1, bytes('b'));
    c.get('a', 1);
    c.get('b', 1);
    c.set('x', 1, bytes('x'));
    c.set('x', 1, bytes('x')); // asked before; a and b lose their marks and go back, then a (now oldest) leaves
    expect(c.get('x', 1)).toEqual(bytes('x'));
    expect(c.get('a', 1)).toBeUndefined();
    expect(c.get('b', 1)).toEqual(bytes('b'));
  });

  it('an any-type entry answers exactly the QTYPEs its test accepts, under its own (EDNS, DO, size) variant', () => {
    const c = new ResponseCache(10);
    const base = 7 * 65536;
    c.set('n', base, bytes('nodata'), (t) => t !== T.A);
    expect(c.get('n', base + T.TXT)).toEqual(bytes('nodata'));
    expect(c.get('n', base + 65000)).toEqual(bytes('nodata'));
    expect(c.get('n', base + T.A)).toBeUndefined();
    expect(c.get('n', 8 * 65536 + T.TXT)).toBeUndefined();
    expect(c.size).toBe(1);
  });

  it('one name keeps at most 32 variants: its own unmarked ones make room', () => {
    const c = new ResponseCache(1000);
    for (let v = 1; v <= 40; v++) c.set('n', v, bytes(String(v)));
    expect(c.size).toBe(32);
    c.get('n', 5);
    c.set('n', 100, bytes('100'));
    c.set('n', 100, bytes('100'));
    c.set('n', 101, bytes('101'));
    c.set('n', 101, bytes('101')); // takes the oldest unmarked variant (2), not the newcomer 100
    expect(c.get('n', 100)).toEqual(bytes('100'));
    expect(c.get('n', 101)).toEqual(bytes('101'));
    expect(c.get('n', 5)).toEqual(bytes('5'));
    expect(c.get('n', 1)).toBeUndefined();
    expect(c.get('n', 2)).toBeUndefined();
    expect(c.size).toBe(32);
  });
});

const ZONES = ['oracle/example.com.yaml', 'oracle/kids.example.com.yaml', 'oracle/example.net.yaml', 'rfc4592.yaml'];

function signedSnapshot(): Snapshot {
  const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), createLogger({ write: () => {} }));
  const s = signer.secure(ZONES.map((f) => loadZoneFile(fixture(f))));
  return makeSnapshot(new ZoneSet(s.zones), s.security);
}

const hex = (b: Uint8Array | null): string => Buffer.from(b!).toString('hex');

describe('NODATA kept once per name for every absent QTYPE (handler.ts)', () => {
  it('random QTYPEs at every node are answered as the full path answers them, byte for byte', () => {
    const snap = signedSnapshot();
    const cached = createHandler(() => snap);
    const uncached: Snapshot = { ...snap, cache: new ResponseCache(0) };
    const full = createHandler(() => uncached);
    const r = rng(4035);
    const special = [T.ANY, T.RRSIG, T.DS, T.NSEC, T.DNSKEY, T.CNAME, T.NS, T.SOA, T.A, T.AAAA, T.MX, T.TXT];
    let checked = 0;
    for (const zone of snap.zones.zones())
      for (const node of zone.nodes.values()) {
        for (let i = 0; i < 24; i++) {
          const qtype = i < special.length ? special[i]! : 1 + Math.floor(r() * 65000);
          if (qtype >= 128 && qtype <= 255) continue;
          const edns = i % 3 === 0 ? null : { udpSize: i % 3 === 1 ? 512 : 1232, dnssecOk: i % 2 === 0 };
          const transport: Transport = i % 5 === 4 ? 'tcp' : 'udp';
          const q = encodeQuery(node.name, qtype, { id: i, edns });
          const want = full(q, transport, LOOPBACK);
          // Twice: the second may come from the entry another QTYPE left.
          expect(hex(cached(q, transport, LOOPBACK))).toBe(hex(want));
          expect(hex(cached(q, transport, LOOPBACK))).toBe(hex(want));
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(1000);
    expect(snap.cache.stats.hits).toBeGreaterThan(checked);
  });

  it('a flood of random QTYPEs at one name adds one entry per variant, not one per type', () => {
    const snap = signedSnapshot();
    const h = createHandler(() => snap);
    const name = parseName('mail.example.com.');
    for (let t = 1000; t < 6000; t++)
      h(encodeQuery(name, t, { edns: { udpSize: 1232, dnssecOk: true } }), 'udp', LOOPBACK);
    expect(snap.cache.size).toBe(1);
    expect(snap.cache.stats.hits).toBe(4999);
  });
});

describe('a flood of unique names and types cannot pin the cache', () => {
  const names = ['example.com.', 'mail.example.com.', 'www.example.com.', 'ns1.example.com.', 'sip.example.com.'];
  const types = [T.A, T.AAAA, T.MX, T.TXT, T.SOA, T.NS, T.DNSKEY];
  const popular = names.flatMap((n) =>
    types.map((t) => encodeQuery(parseName(n), t, { edns: { udpSize: 1232, dnssecOk: true } })),
  );

  /**
   * 100k queries no client asks twice: random names below delegations (each referral a cacheable answer), random
   * names under wildcards (wildcard.ts answers those), random QTYPEs at existing names.
   */
  function flood(h: ReturnType<typeof createHandler>): void {
    let answered = 0;
    const edns = { udpSize: 1232, dnssecOk: true };
    for (let i = 0; i < 100_000; i++) {
      const kind = i % 4;
      const q =
        kind < 2
          ? encodeQuery(parseName(`f${i}.${kind === 0 ? 'sub' : 'insecure'}.example.com.`), T.A, { edns })
          : kind === 2
            ? encodeQuery(parseName(`f${i}.${i % 8 === 2 ? 'sub' : 'apps'}.example.com.`), T.MX, { edns })
            : encodeQuery(parseName(names[i % names.length]!), 1000 + (i >> 2), { edns });
      if (h(q, 'udp', LOOPBACK) !== null) answered++;
    }
    expect(answered).toBe(100_000);
  }

  function hitsOf(snap: Snapshot, h: ReturnType<typeof createHandler>): number {
    const before = snap.cache.stats.hits;
    for (const q of popular) h(q, 'udp', LOOPBACK);
    return snap.cache.stats.hits - before;
  }

  it('answers cached before the flood are still served from the cache after it', () => {
    const snap = signedSnapshot();
    const h = createHandler(() => snap);
    hitsOf(snap, h);
    expect(hitsOf(snap, h)).toBe(popular.length);
    flood(h);
    expect(snap.cache.size).toBeLessThanOrEqual(50_000);
    expect(hitsOf(snap, h)).toBe(popular.length);
  }, 60_000);

  it('a flood right after the start leaves the cache almost empty (those shapes are kept per shape, not per name)', () => {
    const snap = signedSnapshot();
    const h = createHandler(() => snap);
    flood(h);
    expect(snap.cache.size).toBeLessThan(100);
    // A name whose 32 variants the flood's random types took (a CNAME's) admits an answer asked twice.
    hitsOf(snap, h);
    hitsOf(snap, h);
    expect(hitsOf(snap, h)).toBe(popular.length);
  }, 60_000);
});
