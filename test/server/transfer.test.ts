/**
 * AXFR and TSIG in the server, in process (src/server/axfr.ts, transfer.ts, tsig-query.ts, tsig-keyring.ts):
 * message sizes and self-contained compression, the SOA at both ends, transfer.allow (key, address, both),
 * REFUSED with its log line, NOTAUTH outside our zones, every message of a signed transfer verifiable in its
 * chain (RFC 8945 §4.3.3), signed answers to signed queries that are neither cached nor served from the
 * cache, a UDP answer truncated so that it fits with its TSIG, and the keyring that keeps its last good keys.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sign, verify, type TsigChain, type TsigKey } from '../../src/dnssec/tsig.js';
import { makeKeyring } from '../../src/dnssec/tsigkey.js';
import { createLogger } from '../../src/log.js';
import { axfrMessages, MAX_MESSAGE } from '../../src/server/axfr.js';
import { Metrics } from '../../src/server/metrics.js';
import { createHandler, makeSnapshot } from '../../src/server/handler.js';
import { createTransfers, transferAllowed, type TransferKind, type TransferResult } from '../../src/server/transfer.js';
import { ServerKeyring } from '../../src/server/tsig-keyring.js';
import { withTsig } from '../../src/server/tsig-query.js';
import { FLAG_TC } from '../../src/wire/header.js';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { RCODE, T } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { exportRRsets } from '../../src/zone/export.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { Zone } from '../../src/zone/zone.js';
import type { Remote } from '../../src/server/transport.js';

const SECRET = new Uint8Array(Buffer.from('UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=', 'base64'));
const KEY: TsigKey = { name: parseName('xfr.'), algorithm: 'hmac-sha256', secret: SECRET };
const OTHER: TsigKey = { name: parseName('other.'), algorithm: 'hmac-sha256', secret: SECRET };
const RING = makeKeyring([KEY, OTHER]);
const NOW_MS = 1_796_200_000_000;
const NOW = NOW_MS / 1000;
const FROM = (address: string): Remote => ({ address, port: 5300, family: address.includes(':') ? 'IPv6' : 'IPv4' });

const bulk = Array.from({ length: 400 }, (_, i) => `  h${i}: { TXT: "${'t'.repeat(80)} ${i}" }\n`).join('');
function zone(allow: string): Zone {
  const problems: ZoneProblem[] = [];
  const text = `origin: example.com.\nsoa: { mname: ns1, rname: h, serial: 7 }\ndnssec: { enabled: false }\ntransfer:\n  allow:\n${allow}records:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n${bulk}`;
  const z = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' }, problems);
  expect(problems).toEqual([]);
  return z;
}

const ALLOW = '    - key: xfr\n    - { key: other, address: 192.0.2.0/24 }\n    - address: 2001:db8::/32\n';

function transfers(z: Zone, lines: string[] = [], counts?: string[]) {
  const snap = makeSnapshot(new ZoneSet([z]));
  const logger = createLogger({ write: (l) => lines.push(l) });
  const onCount = (zone: string, kind: TransferKind, result: TransferResult) =>
    counts?.push(`${zone} ${kind} ${result}`);
  return createTransfers({ current: () => snap, lookup: () => RING.lookup, logger, now: () => NOW_MS, onCount });
}

const axfrQuery = (name = 'example.com.'): Uint8Array => encodeQuery(parseName(name), T.AXFR, { id: 77 });

describe('AXFR messages (RFC 5936 §2.2)', () => {
  it('at most 16 KiB each (less the room kept for TSIG), each decodable alone, SOA first and last', () => {
    const z = zone(ALLOW);
    const rrs = [...exportRRsets(z)];
    const total = rrs.reduce((n, rs) => n + rs.rdatas.length, 0) + 1;
    const req = { id: 9, flags: 0, qname: z.origin, edns: { dnssecOk: true, extRcode: 0 }, reserve: 100 };
    const msgs = [...axfrMessages(rrs, z.soa, req)];
    expect(msgs.length).toBeGreaterThan(2);
    let count = 0;
    msgs.forEach((m, i) => {
      expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE - 100);
      // decodeMessage follows every pointer: one into another message would be out of range here.
      const d = decodeMessage(m);
      expect([d.id, d.questions.length, d.edns?.dnssecOk]).toEqual([9, i === 0 ? 1 : 0, true]);
      count += d.answer.length;
    });
    expect(count).toBe(total);
    expect(decodeMessage(msgs[0]!).answer[0]!.type).toBe(T.SOA);
    expect(decodeMessage(msgs.at(-1)!).answer.at(-1)!.type).toBe(T.SOA);
    // Without the reserve, messages fill up to the full 16 KiB.
    const full = [...axfrMessages(rrs, z.soa, { ...req, reserve: 0 })];
    expect(Math.max(...full.map((m) => m.length))).toBeGreaterThan(MAX_MESSAGE - 200);
  });
});

describe('transfer.allow', () => {
  it('a key entry needs that key, an address entry that source, an entry with both needs both', () => {
    const t = zone(ALLOW).transfer;
    expect(transferAllowed(t, '203.0.113.1', 'xfr.')).toBe(true);
    expect(transferAllowed(t, '203.0.113.1', null)).toBe(false);
    expect(transferAllowed(t, '192.0.2.9', 'other.')).toBe(true);
    expect(transferAllowed(t, '198.51.100.9', 'other.')).toBe(false);
    expect(transferAllowed(t, '192.0.2.9', null)).toBe(false);
    expect(transferAllowed(t, '2001:db8:1::5', null)).toBe(true);
    expect(transferAllowed(t, '2001:db9::5', null)).toBe(false);
    expect(transferAllowed(zone('').transfer, '127.0.0.1', 'xfr.')).toBe(false);
  });

  it('not allowed: REFUSED and one log line with the client, the key (or none) and the zone', () => {
    const lines: string[] = [];
    const out = [...transfers(zone(ALLOW), lines)(axfrQuery(), FROM('203.0.113.1'))!];
    expect(out).toHaveLength(1);
    expect(decodeMessage(out[0]!).flags & 0xf).toBe(RCODE.REFUSED);
    const refused = lines.filter((l) => l.includes('transfer-refused'));
    expect(refused).toHaveLength(1);
    expect(JSON.parse(refused[0]!)).toMatchObject({ client: '203.0.113.1', key: 'none', zone: 'example.com.' });
  });

  it('a name that is not the apex of one of our zones: NOTAUTH; other query types are not taken', () => {
    const t = transfers(zone(ALLOW));
    const [m] = [...t(axfrQuery('www.example.com.'), FROM('2001:db8::1'))!];
    expect(decodeMessage(m!).flags & 0xf).toBe(RCODE.NOTAUTH);
    expect(t(encodeQuery(parseName('example.com.'), T.SOA), FROM('2001:db8::1'))).toBeNull();
  });
});

describe('/metrics', () => {
  it('a transfer counts once, as an AXFR answer over TCP with its rcode; other queries are left to the handler', () => {
    const metrics = new Metrics();
    const t = metrics.wrapStream(transfers(zone(ALLOW)));
    expect([...t(axfrQuery(), FROM('2001:db8::1'))!].length).toBeGreaterThan(2);
    void [...t(axfrQuery(), FROM('203.0.113.1'))!];
    expect(t(encodeQuery(parseName('example.com.'), T.SOA), FROM('2001:db8::1'))).toBeNull();
    const text = metrics.render([], [], NOW_MS);
    expect(text).toContain('dane_ns_queries_total{transport="tcp",qtype="AXFR",rcode="NOERROR"} 1');
    expect(text).toContain('dane_ns_queries_total{transport="tcp",qtype="AXFR",rcode="REFUSED"} 1');
    expect(text).not.toContain('qtype="SOA"');
  });
});

describe('transfers counted for /metrics (transfer.ts decides kind and result)', () => {
  it('full once the last message is taken, refused, notauth for a bad TSIG; a zone we do not serve is not counted', () => {
    const counts: string[] = [];
    const t = transfers(zone(ALLOW), [], counts);
    const it = t(axfrQuery(), FROM('2001:db8::1'))![Symbol.iterator]();
    let n = 0;
    while (!it.next().done) {
      // Nothing is counted while the transfer is still going.
      expect(counts).toEqual([]);
      n++;
    }
    expect(n).toBeGreaterThan(2);
    void [...t(axfrQuery(), FROM('203.0.113.1'))!];
    void [...t(sign(axfrQuery(), { ...KEY, secret: new Uint8Array(32) }, { time: NOW }), FROM('203.0.113.1'))!];
    void [...t(sign(axfrQuery('www.example.com.'), OTHER, { time: NOW }), FROM('192.0.2.1'))!];
    void [
      ...t(sign(axfrQuery('example.net.'), { ...KEY, secret: new Uint8Array(32) }, { time: NOW }), FROM('192.0.2.1'))!,
    ];
    expect(counts).toEqual(['example.com. axfr full', 'example.com. axfr refused', 'example.com. axfr notauth']);
  });

  it('a stream closed before its last message counts as error, once', () => {
    const counts: string[] = [];
    const it = transfers(zone(ALLOW), [], counts)(axfrQuery(), FROM('2001:db8::1'))![Symbol.iterator]();
    expect(it.next().done).toBe(false);
    it.return?.();
    expect(counts).toEqual(['example.com. axfr error']);
    expect(it.next().done).toBe(true);
    expect(counts).toEqual(['example.com. axfr error']);
  });

  it('Metrics renders them as dane_ns_transfers_total{zone,kind,result}', () => {
    const metrics = new Metrics();
    const snap = makeSnapshot(new ZoneSet([zone(ALLOW)]));
    const logger = createLogger({ write: () => {} });
    const t = createTransfers({
      current: () => snap,
      lookup: () => RING.lookup,
      logger,
      now: () => NOW_MS,
      onCount: metrics.countTransfer.bind(metrics),
    });
    void [...t(axfrQuery(), FROM('2001:db8::1'))!];
    void [...t(axfrQuery(), FROM('2001:db8::1'))!];
    void [...t(axfrQuery(), FROM('203.0.113.1'))!];
    const lines = metrics
      .render([], [], NOW_MS)
      .split('\n')
      .filter((l) => l.startsWith('dane_ns_transfers_total'));
    expect(lines).toEqual([
      'dane_ns_transfers_total{zone="example.com.",kind="axfr",result="full"} 2',
      'dane_ns_transfers_total{zone="example.com.",kind="axfr",result="refused"} 1',
    ]);
  });
});

describe('TSIG-signed transfers', () => {
  it('every message is signed, the first chained to the request, each later one to the one before', () => {
    const q = sign(axfrQuery(), KEY, { time: NOW });
    const requestMac = verify(q, RING.lookup, NOW);
    expect(requestMac.ok).toBe(true);
    const msgs = [...transfers(zone(ALLOW))(q, FROM('203.0.113.1'))!];
    expect(msgs.length).toBeGreaterThan(2);
    let chain: TsigChain = { mac: requestMac.ok ? requestMac.mac : new Uint8Array() };
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE);
      const v = verify(m, RING.lookup, NOW, { chain });
      expect(v.ok).toBe(true);
      if (v.ok) chain = { mac: v.mac, subsequent: true };
    }
    // A message verified against the wrong place in the chain fails: the chaining is real.
    expect(
      verify(msgs[1]!, RING.lookup, NOW, { chain: { mac: requestMac.ok ? requestMac.mac : new Uint8Array() } }).ok,
    ).toBe(false);
  });

  it('a wrong MAC: one unsigned NOTAUTH message with BADSIG, no zone data', () => {
    const q = sign(axfrQuery(), { ...KEY, secret: new Uint8Array(32) }, { time: NOW });
    const msgs = [...transfers(zone(ALLOW))(q, FROM('203.0.113.1'))!];
    expect(msgs).toHaveLength(1);
    const d = decodeMessage(msgs[0]!);
    expect([d.flags & 0xf, d.answer.length]).toEqual([RCODE.NOTAUTH, 0]);
  });
});

describe('TSIG on queries (tsig-query.ts)', () => {
  const z = zone(ALLOW);

  it('a signed query gets a signed answer chained to it; it is neither cached nor served from the cache', () => {
    const snap = makeSnapshot(new ZoneSet([z]));
    const h = withTsig(
      createHandler(() => snap),
      () => RING.lookup,
      () => NOW_MS,
    );
    const plain = encodeQuery(parseName('example.com.'), T.SOA, { id: 1 });
    const unsigned = h(plain, 'udp', FROM('127.0.0.1'))!;
    expect(snap.cache.size).toBe(1);
    const q = sign(encodeQuery(parseName('example.com.'), T.SOA, { id: 2 }), KEY, { time: NOW });
    const req = verify(q, RING.lookup, NOW);
    const answer = h(q, 'udp', FROM('127.0.0.1'))!;
    expect(req.ok && verify(answer, RING.lookup, NOW, { chain: { mac: req.mac } }).ok).toBe(true);
    expect(snap.cache.size).toBe(1);
    // The unsigned query is still answered from the cache, unsigned (ID aside, byte for byte).
    const again = h(encodeQuery(parseName('example.com.'), T.SOA, { id: 1 }), 'udp', FROM('127.0.0.1'))!;
    expect(Buffer.from(again).equals(Buffer.from(unsigned))).toBe(true);
    expect(decodeMessage(again).additional).toHaveLength(0);
  });

  it('a signed query with EDNS (OPT, then TSIG last): the answer carries our OPT and is signed', () => {
    const snap = makeSnapshot(new ZoneSet([z]));
    const h = withTsig(
      createHandler(() => snap),
      () => RING.lookup,
      () => NOW_MS,
    );
    const q = sign(encodeQuery(parseName('example.com.'), T.SOA, { id: 4, edns: { dnssecOk: true } }), KEY, {
      time: NOW,
    });
    const req = verify(q, RING.lookup, NOW);
    const answer = h(q, 'udp', FROM('127.0.0.1'))!;
    expect(req.ok && verify(answer, RING.lookup, NOW, { chain: { mac: req.mac } }).ok).toBe(true);
    const d = decodeMessage(answer);
    expect([d.edns?.dnssecOk, d.answer[0]?.type, d.additional.at(-1)?.type]).toEqual([true, T.SOA, T.TSIG]);
  });

  it('a UDP answer that would not fit with its TSIG is truncated (TC) first, then signed', () => {
    const big = buildZone(
      parseZoneYaml(
        'big.yaml',
        `origin: big.test.\nsoa: { mname: ns1, rname: h, serial: 1 }\ndnssec: { enabled: false }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n  t:\n    TXT: [${Array.from({ length: 4 }, (_, i) => `"${String(i).repeat(100)}"`).join(', ')}]\n`,
        [],
      ),
      { defaultOrigin: 'big.test' },
      [],
    );
    const snap = makeSnapshot(new ZoneSet([big]));
    const h = withTsig(
      createHandler(() => snap),
      () => RING.lookup,
      () => NOW_MS,
    );
    const q = sign(encodeQuery(parseName('t.big.test.'), T.TXT, { id: 3 }), KEY, { time: NOW });
    // Unsigned, the four TXT records (479 octets in all) fit in 512; with a TSIG of 76 octets they do not.
    const unsigned = h(encodeQuery(parseName('t.big.test.'), T.TXT, { id: 3 }), 'udp', FROM('127.0.0.1'))!;
    expect(unsigned[2]! & (FLAG_TC >> 8)).toBe(0);
    const answer = h(q, 'udp', FROM('127.0.0.1'))!;
    expect(answer.length).toBeLessThanOrEqual(512);
    expect(answer[2]! & (FLAG_TC >> 8)).not.toBe(0);
    const req = verify(q, RING.lookup, NOW);
    expect(req.ok && verify(answer, RING.lookup, NOW, { chain: { mac: req.mac } }).ok).toBe(true);
  });

  it('an unknown key: NOTAUTH, BADKEY, unsigned; a query from the future: BADTIME signed with our time', () => {
    const snap = makeSnapshot(new ZoneSet([z]));
    const h = withTsig(
      createHandler(() => snap),
      () => RING.lookup,
      () => NOW_MS,
    );
    const stranger: TsigKey = { ...KEY, name: parseName('stranger.') };
    const badkey = decodeMessage(h(sign(axfrQuery(), stranger, { time: NOW }), 'udp', FROM('127.0.0.1'))!);
    expect(badkey.flags & 0xf).toBe(RCODE.NOTAUTH);
    const late = h(sign(axfrQuery(), KEY, { time: NOW + 600 }), 'udp', FROM('127.0.0.1'))!;
    expect(decodeMessage(late).flags & 0xf).toBe(RCODE.NOTAUTH);
    expect(Buffer.from(late).includes(Buffer.from([0, 18]))).toBe(true); // TSIG error 18, BADTIME
  });
});

describe('the server keyring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-keyring-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a broken key file is logged with file:line and the last good keyring keeps serving', () => {
    mkdirSync(join(dir, 'tsig'));
    const file = join(dir, 'tsig', 'xfr.key');
    writeFileSync(
      file,
      `key "xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${Buffer.from(SECRET).toString('base64')}";\n};\n`,
    );
    const lines: string[] = [];
    const ring = new ServerKeyring(dir, createLogger({ write: (l) => lines.push(l) }));
    expect(ring.lookup()(parseName('xfr.'))).toBeDefined();
    writeFileSync(file, 'key "xfr" {\n\talgorithm hmac-sha256;\n\tsecret "not base64!";\n};\n');
    expect(ring.reload('test')).toBe(false);
    expect(ring.lookup()(parseName('xfr.'))).toBeDefined();
    expect(lines.at(-1)).toContain(`${file}:3:`);
    expect(ring.missingKeys(zone('    - key: xfr\n    - key: gone\n')).map((p) => p.reason)).toEqual([
      `transfer.allow[1].key: no TSIG key "gone." (expected the file ${join(dir, 'tsig', 'gone.key')}; dane-ns tsig generate gone makes one)`,
    ]);
  });

  it('a transfer.notify key without a key file is a problem of the zone too, naming the entry', () => {
    const ring = new ServerKeyring(dir, createLogger({ write: () => {} }));
    const notify = '  notify:\n    - { address: 192.0.2.1, key: xfr }\n    - { address: 192.0.2.2, key: nokey }\n';
    const z = zone(`    - key: xfr\n${notify}`);
    expect(ring.missingKeys(z).map((p) => [p.line, p.reason])).toEqual([
      [
        9,
        `transfer.notify[1].key: no TSIG key "nokey." (expected the file ${join(dir, 'tsig', 'nokey.key')}; dane-ns tsig generate nokey makes one)`,
      ],
    ]);
  });
});
