/**
 * Pre-encoded NXDOMAIN responses (src/server/negative.ts) against the full path, byte for byte: the same
 * snapshot data served by a handler without fragments and by one with them, over many random names (letter case
 * mixed, 1-3 labels of 1-20 octets, so every replay rebases its pointers by a different distance) below every
 * node of the oracle zones (apex, hosts, empty non-terminals, wildcards, cuts, DNAME, a child zone), below
 * names that exist only in the SOA rdata, in signed and unsigned zones, DO=0/1, with and without EDNS, at
 * several UDP sizes (512: the DNSSEC proof does not fit, the full path truncates) and over TCP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandler, makeSnapshot, ResponseCache, type Snapshot } from '../../src/server/handler.js';
import { NegativeCache, respondNxdomain } from '../../src/server/negative.js';
import { peekSimpleQuery } from '../../src/server/fastpath.js';
import { ZoneSigner } from '../../src/server/signer.js';
import { createLogger } from '../../src/log.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { Zone } from '../../src/zone/zone.js';
import { answerInZone, nxdomainEncloser } from '../../src/query/answer.js';
import { labels, nameFromLabels, parseName, ROOT, type Name } from '../../src/wire/name.js';
import { RCODE, T } from '../../src/wire/types.js';
import type { Handler, Transport } from '../../src/server/transport.js';
import { mulberry32 as rng } from '../fixtures/rng.js';
import { LOOPBACK } from '../support/remote.js';
import { fixture } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-negative-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Tricky names of its own: an MNAME two labels below a name that does not exist, mixed-case owners, unsigned. */
const EXTRA = `origin: Tricky.Test.
ttl: 600
soa:
  mname: ns.deep.nowhere
  rname: Host.Master.tricky.test.
  serial: 3
  minimum: 120
records:
  "@":
    NS: ns.deep.nowhere
    MX: 10 MaiL
  MaiL:
    A: 192.0.2.1
  x.y.ENT:
    TXT: deep
  "*.Wild":
    A: 192.0.2.2
  dele:
    NS: ns.example.net.
`;

function loadZones(): Zone[] {
  writeFileSync(join(dir, 'tricky.test.yaml'), EXTRA);
  writeFileSync(
    join(dir, 'unsigned.test.yaml'),
    EXTRA.replace('Tricky.Test.', 'unsigned.test.').replace('tricky.test.', 'unsigned.test.') +
      'dnssec: { enabled: false }\n',
  );
  return [
    loadZoneFile(fixture('oracle/example.com.yaml')),
    loadZoneFile(fixture('oracle/kids.example.com.yaml')),
    loadZoneFile(fixture('oracle/example.net.yaml')),
    loadZoneFile(fixture('rfc4592.yaml')),
    loadZoneFile(join(dir, 'tricky.test.yaml')),
    loadZoneFile(join(dir, 'unsigned.test.yaml')),
  ];
}

function snapshots(): { full: Snapshot; fast: Snapshot } {
  const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), createLogger({ write: () => {} }));
  const s = signer.secure(loadZones());
  const zones = new ZoneSet(s.zones);
  return { full: makeSnapshot(zones, s.security, { negativeFragments: false }), fast: makeSnapshot(zones, s.security) };
}

interface QueryOpts {
  id: number;
  flags: number;
  qtype: number;
  /** null: no OPT RR. */
  udpSize: number | null;
  dnssecOk: boolean;
}

function encode(name: Name, o: QueryOpts): Uint8Array {
  const opt =
    o.udpSize === null ? [] : [0, 0, 41, o.udpSize >> 8, o.udpSize & 0xff, 0, 0, o.dnssecOk ? 0x80 : 0, 0, 0, 0];
  return Uint8Array.from([
    o.id >> 8,
    o.id & 0xff,
    o.flags >> 8,
    o.flags & 0xff,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    opt.length ? 1 : 0,
    ...name.wire,
    o.qtype >> 8,
    o.qtype & 0xff,
    0,
    1,
    ...opt,
  ]);
}

/** Byte equality, reported as hex on failure (toEqual on Buffers is slow over thousands of cases). */
function same(got: Uint8Array | null, want: Uint8Array | null): void {
  expect(got).not.toBeNull();
  if (!Buffer.from(got!).equals(Buffer.from(want!)))
    expect(Buffer.from(got!).toString('hex')).toBe(Buffer.from(want!).toString('hex'));
}

function randomLabel(r: () => number): Uint8Array {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  const len = 1 + Math.floor(r() * 20);
  return Uint8Array.from({ length: len }, () => chars.charCodeAt(Math.floor(r() * chars.length)));
}

function randomCase(name: Name, r: () => number): Name {
  return nameFromLabels(
    labels(name).map((l) =>
      l.map((b) => (((b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a)) && r() < 0.5 ? b ^ 0x20 : b)),
    ),
  );
}

/** The handler as called by a transport, the peer fixed (this file compares responses, not peers). */
function fromLoopback(h: Handler): (query: Uint8Array, transport: Transport) => Uint8Array | null {
  return (query, transport) => h(query, transport, LOOPBACK);
}

const QTYPES = [T.A, T.AAAA, T.MX, T.TXT, T.DS, T.NS, T.SOA, T.CNAME, T.RRSIG, T.NSEC, T.TLSA, T.ANY, T.SRV];
const SIZES = [null, 512, 1000, 1232, 4096];

describe('NXDOMAIN from pre-encoded sections', () => {
  const { full, fast } = snapshots();
  const slowH = fromLoopback(createHandler(() => full));
  const fastH = fromLoopback(createHandler(() => fast));
  const r = rng(20261123);

  /** Bases: every node of every zone, and names that only the SOA rdata mentions. */
  const bases: Name[] = [];
  for (const z of full.zones.zones()) for (const n of z.ordered) bases.push(n.name);
  for (const t of [
    'hostmaster.example.com.',
    'hostmaster.kids.example.com.',
    'deep.nowhere.tricky.test.',
    'ns.deep.nowhere.tricky.test.',
    'master.tricky.test.',
    'host.master.tricky.test.',
  ])
    bases.push(parseName(t, ROOT));

  it('gives the full path response byte for byte, and replays most NXDOMAIN answers', () => {
    let compared = 0;
    let replayed = 0;
    let nxdomain = 0;
    for (let round = 0; round < 30; round++) {
      for (const base of bases) {
        const extra = round === 0 ? 0 : 1 + Math.floor(r() * 3);
        let ls = labels(base);
        for (let i = 0; i < extra; i++) ls = [randomLabel(r), ...ls];
        let name: Name;
        try {
          name = randomCase(nameFromLabels(ls), r);
        } catch {
          continue; // longer than 255 octets
        }
        const o: QueryOpts = {
          id: Math.floor(r() * 0x10000),
          flags: (r() < 0.5 ? 0x0100 : 0) | (r() < 0.3 ? 0x0010 : 0), // RD, CD
          qtype: QTYPES[Math.floor(r() * QTYPES.length)]!,
          udpSize: SIZES[Math.floor(r() * SIZES.length)]!,
          dnssecOk: r() < 0.7,
        };
        const query = encode(name, o);
        const transport: Transport = r() < 0.2 ? 'tcp' : 'udp';
        const want = slowH(query, transport);
        expect(want).not.toBeNull();
        // The first call may learn the fragment, the second replays it when it can.
        same(fastH(query, transport), want);
        same(fastH(query, transport), want);
        compared++;
        if ((want![3]! & 0xf) === RCODE.NXDOMAIN) nxdomain++;
        const simple = peekSimpleQuery(query)!;
        const limit = transport === 'tcp' ? 65535 : o.udpSize === null ? 512 : Math.min(Math.max(o.udpSize, 512), 1232);
        const direct = respondNxdomain(fast, query, simple, limit);
        if (direct) {
          replayed++;
          same(direct, want);
        }
      }
    }
    expect(compared).toBeGreaterThan(2000);
    expect(nxdomain).toBeGreaterThan(400);
    expect(replayed).toBeGreaterThan(nxdomain / 2);
    expect(fast.negative.size).toBeGreaterThan(20);
    expect(full.negative.size).toBe(0);
  });

  it('agrees with answerInZone on which names are NXDOMAIN at once, and never replays below wildcards, cuts or DNAME', () => {
    let checked = 0;
    for (const z of full.zones.zones()) {
      for (const node of z.ordered) {
        for (let i = 0; i < 5; i++) {
          const name = randomCase(nameFromLabels([randomLabel(r), ...labels(node.name)]), r);
          const e = nxdomainEncloser(z, name);
          const a = answerInZone(z, { qname: name, qtype: T.A, dnssecOk: false });
          const immediate = a.outcome.kind === 'nxdomain' && a.answer.length === 0;
          expect(e !== null).toBe(immediate);
          if (e && a.outcome.kind === 'nxdomain') expect(e).toBe(a.outcome.encloser);
          if (node.wildcardChild || node.isDelegation || node.belowCut || node.rrsets.has(T.DNAME))
            expect(e).toBeNull();
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('falls back to the full path when the qname ends in a name the SOA rdata mentions', () => {
    // hostmaster.example.com. exists only as the SOA RNAME: the full path points the RNAME at the question.
    // hostmasta.example.com. is covered by the same NSEC (after ftp., before insecure.) and learns the fragment.
    for (const dnssecOk of [true, false]) {
      const q = (n: string): Uint8Array =>
        encode(parseName(n, ROOT), { id: 7, flags: 0, qtype: T.A, udpSize: 1232, dnssecOk });
      const replay = (n: string): Uint8Array | null => respondNxdomain(fast, q(n), peekSimpleQuery(q(n))!, 1232);
      for (const n of [
        'hostmasta.example.com.',
        'hostmaster.example.com.',
        'x.HostMaster.example.com.',
        'hostmasta.example.com.',
      ])
        same(fastH(q(n), 'udp'), slowH(q(n), 'udp'));
      expect(replay('hostmasta.example.com.')).not.toBeNull();
      expect(replay('hostmaster.example.com.')).toBeNull();
      expect(replay('x.HostMaster.example.com.')).toBeNull();
      expect(replay('hostmastera.example.com.')).not.toBeNull();
    }
  });

  it('leaves a response that does not fit to the full path (TC)', () => {
    const query = encode(parseName('nothing-here.example.com.', ROOT), {
      id: 9,
      flags: 0,
      qtype: T.A,
      udpSize: 4096,
      dnssecOk: true,
    });
    const small = encode(parseName('nothing-there.example.com.', ROOT), {
      id: 9,
      flags: 0,
      qtype: T.A,
      udpSize: 512,
      dnssecOk: true,
    });
    fastH(query, 'udp');
    expect(respondNxdomain(fast, query, peekSimpleQuery(query)!, 1232)).not.toBeNull();
    const want = slowH(small, 'udp')!;
    same(fastH(small, 'udp'), want);
    expect(want[2]! & 0x02).toBe(0x02); // TC
    expect(respondNxdomain(fast, small, peekSimpleQuery(small)!, 512)).toBeNull();
  });

  it('stops learning at its bound and keeps answering exactly', () => {
    const small: Snapshot = { ...fast, cache: new ResponseCache(), negative: new NegativeCache(3) };
    const h = fromLoopback(createHandler(() => small));
    for (let i = 0; i < 200; i++) {
      const name = nameFromLabels([
        randomLabel(r),
        ...labels(parseName(['example.com.', 'kids.example.com.', 'example.net.', 'x.ent.example.com.'][i % 4]!, ROOT)),
      ]);
      const query = encode(name, { id: i, flags: 0, qtype: T.A, udpSize: 1232, dnssecOk: i % 3 !== 0 });
      same(h(query, 'udp'), slowH(query, 'udp'));
    }
    expect(small.negative.size).toBe(3);
  });
});
