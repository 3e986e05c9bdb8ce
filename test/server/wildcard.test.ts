/**
 * Wildcard answers and wildcard NODATA from pre-encoded sections (src/server/wildcard.ts) against the full
 * path, byte for byte: random names (letter case mixed, 1-3 labels of 1-20 octets) below the closest encloser
 * of every wildcard of the oracle zones and of RFC 4592's example zone, types present and absent at the
 * wildcard, and below every zone cut and glue name (referrals), DO=0/1, with and without EDNS, at several UDP sizes (512: the proofs do not fit, the full path
 * truncates) and over TCP. Then: a flood of random names under one wildcard adds nothing to the response cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandler, makeSnapshot, type ResponseNote, type Snapshot } from '../../src/server/handler.js';
import { ResponseCache } from '../../src/server/response-cache.js';
import { respondWildcard } from '../../src/server/wildcard.js';
import { peekSimpleQuery } from '../../src/server/fastpath.js';
import { ZoneSigner } from '../../src/server/signer.js';
import { createLogger } from '../../src/log.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import { encodeQuery } from '../../src/wire/message.js';
import { labels, nameFromLabels, parseName, stripLabels, type Name } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import type { Transport } from '../../src/server/transport.js';
import { mulberry32 as rng } from '../fixtures/rng.js';
import { LOOPBACK } from '../support/remote.js';
import { fixture } from '../support/fixtures.js';
import { buildZone } from '../../src/zone/build.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { zoneText } from './zone-text.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-wildcard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ZONES = ['oracle/example.com.yaml', 'oracle/kids.example.com.yaml', 'oracle/example.net.yaml', 'rfc4592.yaml'];

function snapshots(): { full: Snapshot; fast: Snapshot } {
  const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), createLogger({ write: () => {} }));
  const s = signer.secure(ZONES.map((f) => loadZoneFile(fixture(f))));
  const zones = new ZoneSet(s.zones);
  const full = makeSnapshot(zones, s.security, { negativeFragments: false, wildcardFragments: false });
  return { full: { ...full, cache: new ResponseCache(0) }, fast: makeSnapshot(zones, s.security) };
}

function randomLabel(r: () => number): Uint8Array {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  const len = 1 + Math.floor(r() * 20);
  return Uint8Array.from({ length: len }, () => chars.charCodeAt(Math.floor(r() * chars.length)));
}

const hex = (b: Uint8Array | null): string => (b === null ? 'null' : Buffer.from(b).toString('hex'));

const QTYPES = [T.A, T.AAAA, T.MX, T.TXT, T.DS, T.NS, T.SOA, T.CNAME, T.RRSIG, T.NSEC, T.ANY, T.SRV, 4242];
const SIZES = [null, 512, 1000, 1232, 4096];

describe('wildcard answers from pre-encoded sections', () => {
  const { full, fast } = snapshots();
  const slow = createHandler(() => full);
  const quick = createHandler(() => fast);
  const r = rng(4592);

  /** The closest enclosers of every wildcard (names below them that do not exist match the wildcard). */
  const enclosers: Name[] = [];
  for (const z of full.zones.zones())
    for (const n of z.ordered) if (n.name.key.startsWith('\x01*')) enclosers.push(stripLabels(n.name, 1));
  /** Cuts and the names below them (glue): random names there get the cut's referral. */
  const cuts: Name[] = [];
  for (const z of full.zones.zones()) for (const n of z.ordered) if (n.isDelegation || n.belowCut) cuts.push(n.name);

  it.each([
    ['wildcard answers', enclosers, 3],
    ['referrals below a cut', cuts, 4],
  ])('gives the full path response byte for byte, and replays most %s', (_, bases, least) => {
    expect(bases.length).toBeGreaterThanOrEqual(least);
    let compared = 0;
    let replayed = 0;
    for (let round = 0; round < 200; round++) {
      for (const e of bases) {
        let ls = labels(e);
        const extra = 1 + Math.floor(r() * 3);
        for (let i = 0; i < extra; i++) ls = [randomLabel(r), ...ls];
        const mixed = ls.map((l) =>
          l.map((b) => ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a && r() < 0.5 ? b ^ 0x20 : b)),
        );
        let name: Name;
        try {
          name = nameFromLabels(mixed);
        } catch {
          continue;
        }
        const qtype = QTYPES[Math.floor(r() * QTYPES.length)]!;
        const size = SIZES[Math.floor(r() * SIZES.length)]!;
        const edns = size === null ? null : { udpSize: size, dnssecOk: r() < 0.7 };
        const query = encodeQuery(name, qtype, { id: Math.floor(r() * 0x10000), rd: r() < 0.5, edns });
        const transport: Transport = r() < 0.2 ? 'tcp' : 'udp';
        const want = slow(query, transport, LOOPBACK);
        expect(want).not.toBeNull();
        // The first call may learn the fragment, the second replays it when it can.
        expect(hex(quick(query, transport, LOOPBACK))).toBe(hex(want));
        expect(hex(quick(query, transport, LOOPBACK))).toBe(hex(want));
        compared++;
        const simple = peekSimpleQuery(query)!;
        const limit = transport === 'tcp' ? 65535 : size === null ? 512 : Math.min(Math.max(size, 512), 1232);
        const variant =
          ((limit === 65535 ? 1023 : limit - 512) * 4 + (edns ? 2 : 0) + (edns?.dnssecOk ? 1 : 0)) * 65536 + qtype;
        const direct = respondWildcard(fast, query, simple, limit, variant);
        if (direct) {
          replayed++;
          expect(hex(direct)).toBe(hex(want));
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
    expect(fast.wildcards.size).toBeGreaterThan(5);
    // Random names: most of them are answered from a fragment learnt for another name.
    expect(replayed).toBeGreaterThan(compared / 3);
  });

  it('random names under a wildcard fill no response cache', () => {
    const { fast: snap } = snapshots();
    const h = createHandler(() => snap);
    for (let i = 0; i < 5000; i++) {
      const q = encodeQuery(parseName(`r${i}.apps.example.com.`), T.A, { edns: { udpSize: 1232, dnssecOk: true } });
      expect(h(q, 'udp', LOOPBACK)).not.toBeNull();
    }
    expect(snap.cache.size).toBe(0);
    expect(snap.wildcards.size).toBeLessThan(50); // one per covering NSEC
  });

  it('tells the note which wildcard answered (rate limiting counts by it), whichever path answers', () => {
    const { fast: snap } = snapshots();
    const note: ResponseNote = { wildcard: null };
    const h = createHandler(() => snap, note);
    const ask = (name: string, qtype: number, dnssecOk = true): string => {
      note.wildcard = Uint8Array.of(9); // stale: every answer sets it
      h(encodeQuery(parseName(name), qtype, { edns: { udpSize: 1232, dnssecOk } }), 'udp', LOOPBACK);
      return hex(note.wildcard);
    };
    const star = hex(parseName('*.example.').wire);
    // Full path, then the fragment learnt from it (wildcard answers are not cached by name).
    expect(ask('a.example.', T.TXT)).toBe(star);
    expect(snap.wildcards.size).toBeGreaterThan(0);
    expect(ask('A.example.', T.TXT)).toBe(star);
    // Wildcard NODATA, full path then fragment.
    expect(ask('c.example.', T.AAAA)).toBe(star);
    expect(ask('C.example.', T.AAAA)).toBe(star);
    // Exact names, NXDOMAIN below an existing name, a referral: no wildcard, from every path.
    for (let i = 0; i < 2; i++) {
      expect(ask('host1.example.', T.A)).toBe('null');
      expect(ask('host1.example.', T.AAAA)).toBe('null');
      expect(ask('x.host1.example.', T.A)).toBe('null');
      expect(ask('x.subdel.example.', T.A)).toBe('null');
    }

    // A wildcard CNAME is not replayed from a fragment but cached by name: the cache keeps its wildcard.
    const problems: never[] = [];
    const extra = '  "*.alias": { CNAME: www }\n';
    const zone = buildZone(
      parseZoneYaml('c.yaml', zoneText('c.example.', 1, '192.0.2.1', extra), problems),
      {},
      problems,
    );
    expect(problems).toEqual([]);
    const plain = makeSnapshot(new ZoneSet([zone]));
    const h2 = createHandler(() => plain, note);
    const alias = encodeQuery(parseName('q.alias.c.example.'), T.A, { edns: { udpSize: 1232 } });
    for (let i = 0; i < 2; i++) {
      note.wildcard = null;
      h2(alias, 'udp', LOOPBACK);
      expect(hex(note.wildcard)).toBe(hex(parseName('*.alias.c.example.').wire));
    }
    expect(plain.cache.stats.hits).toBe(1);
  });
});
