/**
 * IXFR (RFC 1995) in the server, in process (src/server/ixfr.ts, transfer.ts): the client's serial from the SOA
 * in the authority section (§3), a single SOA when it is equal or newer in serial arithmetic (§4, RFC 1982),
 * the whole zone AXFR-style otherwise (§4), over UDP the SOA alone for any serial (§4), FORMERR without the SOA,
 * REFUSED when transfer.allow says no, and TSIG on the answer as for AXFR.
 */
import { describe, expect, it } from 'vitest';
import { sign, verify, type TsigChain, type TsigKey } from '../../src/dnssec/tsig.js';
import { makeKeyring } from '../../src/dnssec/tsigkey.js';
import { createLogger } from '../../src/log.js';
import { createHandler, makeSnapshot } from '../../src/server/handler.js';
import { Journal } from '../../src/server/journal.js';
import { createTransfers, withUdpIxfr, type TransferKind, type TransferResult } from '../../src/server/transfer.js';
import type { Remote } from '../../src/server/transport.js';
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { CLASS_IN, RCODE, T } from '../../src/wire/types.js';
import { buildZone, soaSerial, withSoaSerial } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { Zone } from '../../src/zone/zone.js';

const SECRET = new Uint8Array(Buffer.from('UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=', 'base64'));
const KEY: TsigKey = { name: parseName('xfr.'), algorithm: 'hmac-sha256', secret: SECRET };
const RING = makeKeyring([KEY]);
const NOW_MS = 1_796_200_000_000;
const NOW = NOW_MS / 1000;
const FROM = (address: string): Remote => ({ address, port: 5300, family: address.includes(':') ? 'IPv6' : 'IPv4' });
const ALLOWED = FROM('192.0.2.9');
const STRANGER = FROM('203.0.113.1');

const bulk = Array.from({ length: 300 }, (_, i) => `  h${i}: { TXT: "${'t'.repeat(80)} ${i}" }\n`).join('');
const SERIAL = 1000;

function makeZone(serial = SERIAL, extra = ''): Zone {
  const problems: ZoneProblem[] = [];
  const text = `origin: example.com.\nsoa: { mname: ns1, rname: h, serial: ${serial} }\ndnssec: { enabled: false }\ntransfer:\n  allow:\n    - key: xfr\n    - address: 192.0.2.0/24\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n${extra}${bulk}`;
  const z = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' }, problems);
  expect(problems).toEqual([]);
  return z;
}

const ZONE = makeZone();
const SNAP = makeSnapshot(new ZoneSet([ZONE]));
const lines: string[] = [];
const options = {
  current: () => SNAP,
  lookup: () => RING.lookup,
  logger: createLogger({ write: (l: string) => lines.push(l) }),
  now: () => NOW_MS,
};
const tcp = createTransfers(options);
const udp = withUdpIxfr(
  createHandler(() => SNAP),
  options,
);

/** An IXFR query for the zone with the client's SOA (its serial `serial`) in the authority section, or none. */
function ixfrQuery(serial: number | null, name = 'example.com.'): Uint8Array {
  const msg: Message = {
    id: 4242,
    flags: 0,
    questions: [{ name: parseName(name), type: T.IXFR, class: CLASS_IN }],
    answer: [],
    authority:
      serial === null
        ? []
        : [
            {
              name: ZONE.origin,
              type: T.SOA,
              class: CLASS_IN,
              ttl: 0,
              rdata: withSoaSerial(ZONE.soa.rdatas[0]!, serial),
            },
          ],
    additional: [],
    edns: null,
  };
  return encodeMessage(msg).bytes;
}

const rcode = (m: Uint8Array): number => decodeMessage(m).flags & 0xf;

/** The answer records of a stream of messages, in order. */
function answers(msgs: Uint8Array[]): { type: number; serial?: number }[] {
  return msgs.flatMap((m) =>
    decodeMessage(m).answer.map((rr) =>
      rr.type === T.SOA ? { type: rr.type, serial: soaSerial(rr.rdata) } : { type: rr.type },
    ),
  );
}

describe('IXFR over TCP (RFC 1995 §4)', () => {
  it.each([
    ['equal', SERIAL],
    ['newer', SERIAL + 5],
    ['newer across the wrap (RFC 1982)', (SERIAL + 0x7fff_0000) % 0x1_0000_0000],
  ])('a client serial %s to ours: one message, our SOA alone, AA, the IXFR question echoed', (_, serial) => {
    const msgs = [...tcp(ixfrQuery(serial), ALLOWED)!];
    expect(msgs).toHaveLength(1);
    const d = decodeMessage(msgs[0]!);
    expect(d.flags & 0xf).toBe(RCODE.NOERROR);
    expect(d.flags & 0x0400).toBe(0x0400);
    expect(d.questions[0]!.type).toBe(T.IXFR);
    expect(answers(msgs)).toEqual([{ type: T.SOA, serial: SERIAL }]);
  });

  it.each([
    ['older', SERIAL - 1],
    ['much older', 1],
    ['half the serial space away (RFC 1982 leaves it undefined)', SERIAL + 0x8000_0000],
  ])('a client serial %s: the whole zone AXFR-style, SOA first and last, in several messages', (_, serial) => {
    const msgs = [...tcp(ixfrQuery(serial), ALLOWED)!];
    expect(msgs.length).toBeGreaterThan(1);
    const rrs = answers(msgs);
    expect(rrs[0]).toEqual({ type: T.SOA, serial: SERIAL });
    expect(rrs.at(-1)).toEqual({ type: T.SOA, serial: SERIAL });
    expect(rrs.filter((r) => r.type === T.TXT)).toHaveLength(300);
    expect(decodeMessage(msgs[0]!).questions[0]!.type).toBe(T.IXFR);
    expect(msgs.every((m) => rcode(m) === RCODE.NOERROR)).toBe(true);
  });

  it('no SOA in the authority section: FORMERR, with a log line', () => {
    const msgs = [...tcp(ixfrQuery(null), ALLOWED)!];
    expect(msgs.map(rcode)).toEqual([RCODE.FORMERR]);
    expect(lines.some((l) => l.includes('ixfr-malformed'))).toBe(true);
  });

  it('not allowed: REFUSED; not the apex of one of our zones: NOTAUTH', () => {
    expect([...tcp(ixfrQuery(SERIAL - 1), STRANGER)!].map(rcode)).toEqual([RCODE.REFUSED]);
    expect([...tcp(ixfrQuery(SERIAL - 1, 'www.example.com.'), ALLOWED)!].map(rcode)).toEqual([RCODE.NOTAUTH]);
  });

  it('with TSIG: allowed by the key, every message signed and chained (RFC 8945 §4.3.3)', () => {
    const q = sign(ixfrQuery(SERIAL - 1), KEY, { time: NOW });
    const requestMac = verify(q, RING.lookup, NOW);
    expect(requestMac.ok).toBe(true);
    const msgs = [...tcp(q, STRANGER)!];
    expect(msgs.length).toBeGreaterThan(1);
    let chain: TsigChain = { mac: requestMac.ok ? requestMac.mac : new Uint8Array() };
    for (const m of msgs) {
      const v = verify(m, RING.lookup, NOW, { chain });
      expect(v.ok).toBe(true);
      if (v.ok) chain = { mac: v.mac, subsequent: true };
    }
    const upQuery = sign(ixfrQuery(SERIAL), KEY, { time: NOW });
    const upMac = verify(upQuery, RING.lookup, NOW);
    const up = [...tcp(upQuery, STRANGER)!];
    expect(answers(up)).toEqual([{ type: T.SOA, serial: SERIAL }]);
    expect(verify(up[0]!, RING.lookup, NOW, { chain: { mac: upMac.ok ? upMac.mac : new Uint8Array() } }).ok).toBe(true);
  });
});

describe('IXFR over UDP (RFC 1995 §4)', () => {
  it('any serial, older or not: our SOA alone, so the client asks again over TCP', () => {
    for (const serial of [SERIAL - 1, SERIAL, 1]) {
      const out = udp(ixfrQuery(serial), 'udp', ALLOWED)!;
      expect(answers([out])).toEqual([{ type: T.SOA, serial: SERIAL }]);
      expect(out.length).toBeLessThanOrEqual(512);
    }
  });

  it('the same checks as over TCP: REFUSED when not allowed, FORMERR without the SOA', () => {
    expect(rcode(udp(ixfrQuery(SERIAL - 1), 'udp', STRANGER)!)).toBe(RCODE.REFUSED);
    expect(rcode(udp(ixfrQuery(null), 'udp', ALLOWED)!)).toBe(RCODE.FORMERR);
  });

  it('a signed IXFR over UDP gets a signed SOA answer', () => {
    const q = sign(ixfrQuery(SERIAL - 1), KEY, { time: NOW });
    const mac = verify(q, RING.lookup, NOW);
    const out = udp(q, 'udp', STRANGER)!;
    expect(verify(out, RING.lookup, NOW, { chain: { mac: mac.ok ? mac.mac : new Uint8Array() } }).ok).toBe(true);
    expect(rcode(out)).toBe(RCODE.NOERROR);
  });
});

describe('IXFR counted for /metrics (kind ixfr, result by answer)', () => {
  /** Transfers over `snap` whose counts go to the returned list; with `journal`, differences are answered. */
  function counting(journal?: Journal) {
    const counts: string[] = [];
    const o = {
      ...options,
      ...(journal ? { journal } : {}),
      onCount: (zone: string, kind: TransferKind, result: TransferResult) => counts.push(`${zone} ${kind} ${result}`),
    };
    return {
      counts,
      tcp: createTransfers(o),
      udp: withUdpIxfr(
        createHandler(() => SNAP),
        o,
      ),
    };
  }

  it('current (SOA alone, TCP and UDP), full (AXFR-style), formerr, refused; NOTAUTH outside our zones is not counted', () => {
    const c = counting();
    void [...c.tcp(ixfrQuery(SERIAL), ALLOWED)!];
    c.udp(ixfrQuery(SERIAL - 1), 'udp', ALLOWED);
    void [...c.tcp(ixfrQuery(SERIAL - 1), ALLOWED)!];
    void [...c.tcp(ixfrQuery(null), ALLOWED)!];
    void [...c.tcp(ixfrQuery(SERIAL), STRANGER)!];
    void [...c.tcp(ixfrQuery(SERIAL, 'www.example.com.'), ALLOWED)!];
    expect(c.counts).toEqual([
      'example.com. ixfr current',
      'example.com. ixfr current',
      'example.com. ixfr full',
      'example.com. ixfr formerr',
      'example.com. ixfr refused',
    ]);
  });

  it('ok when the journal answers with the difference, counted once the last message is taken', () => {
    const j = new Journal();
    const before = makeZone(SERIAL - 1, '  gone: { A: 192.0.2.7 }\n');
    j.published({ origin: 'example.com.', serial: SERIAL - 1, zone: before, signed: undefined, at: 0 });
    j.published({ origin: 'example.com.', serial: SERIAL, zone: ZONE, signed: undefined, at: 0 });
    const c = counting(j);
    const it = c.tcp(ixfrQuery(SERIAL - 1), ALLOWED)![Symbol.iterator]();
    const first = it.next();
    expect(first.done).toBe(false);
    // The difference: our SOA, the client's, the deleted A, our SOA, our SOA again.
    expect(answers([first.value as Uint8Array]).map((r) => r.type)).toEqual([T.SOA, T.SOA, T.A, T.SOA, T.SOA]);
    expect(c.counts).toEqual([]);
    expect(it.next().done).toBe(true);
    expect(c.counts).toEqual(['example.com. ixfr ok']);
  });
});
