/**
 * parent-ds.ts: the parent's DS answers judged against the zone's keys (a DS for no published KSK, a rollover the
 * parent has followed on every server or not yet, servers without a DS or without an answer); and
 * parent-query.ts's discovery of the parent's servers through a resolver (a stand-in answering over UDP).
 */
import { createSocket } from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { dsRdata } from '../../src/dnssec/ds.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { dsMatches, judgeParent } from '../../src/server/parent-ds.js';
import { findParentServers, type ParentAnswer } from '../../src/server/parent-query.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { nameToText, parseName, ROOT } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';

const zone = parseName('child.example.', ROOT);
const now = new Date(Date.UTC(2026, 10, 1));
const oldKsk = generateKey(zone, 'ksk', now).dnskeyRdata;
const newKsk = generateKey(zone, 'ksk', now).dnskeyRdata;
const zsk = generateKey(zone, 'zsk', now).dnskeyRdata;
const ds = (k: Uint8Array, digest = 2): Uint8Array => dsRdata(zone, k, digest);
const answer = (server: string, rdatas: Uint8Array[], ttl = 3600): ParentAnswer => ({ server, ds: rdatas, ttl });

describe('dsMatches', () => {
  it('SHA-256 and SHA-384 by digest; another digest type by tag and algorithm', () => {
    expect(dsMatches(zone, ds(oldKsk), oldKsk)).toBe(true);
    expect(dsMatches(zone, ds(oldKsk, 4), oldKsk)).toBe(true);
    expect(dsMatches(zone, ds(oldKsk), newKsk)).toBe(false);
    const sha1 = Uint8Array.from([...ds(oldKsk).subarray(0, 3), 1, ...new Uint8Array(20)]);
    expect(dsMatches(zone, sha1, oldKsk)).toBe(true);
    expect(dsMatches(zone, sha1, newKsk)).toBe(false);
  });
});

describe('judgeParent', () => {
  const published = [oldKsk, zsk];

  it('a DS of the published KSK: nothing unmatched', () => {
    const v = judgeParent(zone, [answer('a', [ds(oldKsk)]), answer('b', [ds(oldKsk)])], published);
    expect(v).toMatchObject({ unmatched: [], complete: true, withoutDs: [], rolloverDone: false, dsTtl: 3600 });
  });

  it('a DS of a key that is not published (or of the ZSK) is unmatched, with its server', () => {
    const v = judgeParent(zone, [answer('a', [ds(oldKsk), ds(newKsk)]), answer('b', [ds(zsk)])], published);
    expect(v.unmatched.map((u) => u.server)).toEqual(['a', 'b']);
    expect(v.unmatched.map((u) => u.ds)).toEqual([ds(newKsk), ds(zsk)]);
  });

  it('a rollover is done only when every server serves the new DS and none the old one', () => {
    const roll = { newKey: newKsk, old: [oldKsk] };
    const keys = [oldKsk, newKsk, zsk];
    const both = judgeParent(zone, [answer('a', [ds(newKsk)], 60), answer('b', [ds(oldKsk)], 120)], keys, roll);
    expect(both.rolloverDone).toBe(false);
    expect(both.unmatched).toEqual([]);
    const overlap = judgeParent(zone, [answer('a', [ds(newKsk)]), answer('b', [ds(newKsk), ds(oldKsk)])], keys, roll);
    expect(overlap.rolloverDone).toBe(false);
    const silent = judgeParent(zone, [answer('a', [ds(newKsk)]), { ...answer('b', []), error: 'timeout' }], keys, roll);
    expect(silent).toMatchObject({ rolloverDone: false, complete: false });
    const done = judgeParent(zone, [answer('a', [ds(newKsk)], 60), answer('b', [ds(newKsk, 4)], 120)], keys, roll);
    expect(done).toMatchObject({ rolloverDone: true, dsTtl: 120 });
  });

  it('servers without a DS: an insecure delegation there', () => {
    expect(judgeParent(zone, [answer('a', []), answer('b', [ds(oldKsk)])], published).withoutDs).toEqual(['a']);
  });
});

describe('findParentServers', () => {
  const sock = createSocket('udp4');
  afterAll(() => sock.close());

  it("asks the resolver for the closest enclosing zone's NS, then their addresses", async () => {
    const asked: string[] = [];
    sock.on('message', (m, rinfo) => {
      const q = decodeMessage(new Uint8Array(m));
      const { name, type } = q.questions[0]!;
      const n = nameToText(name).toLowerCase();
      asked.push(`${n} ${type}`);
      const rr = (t: number, text: string) => ({
        name,
        type: t,
        class: 1,
        ttl: 60,
        rdata: rdataFromText(t, text, ROOT),
      });
      const answers =
        n === 'example.' && type === T.NS
          ? [rr(T.NS, 'ns1.example.'), rr(T.NS, 'ns2.example.')]
          : n === 'ns1.example.' && type === T.A
            ? [rr(T.A, '192.0.2.1')]
            : n === 'ns2.example.' && type === T.AAAA
              ? [rr(T.AAAA, '2001:db8::2')]
              : [];
      const out = encodeMessage({ ...q, flags: 0x8180, answer: answers, authority: [], additional: [] }).bytes;
      sock.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const servers = await findParentServers(parseName('a.child.example.', ROOT), {
      address: '127.0.0.1',
      port: sock.address().port,
    });
    expect(servers).toEqual([
      { address: '192.0.2.1', port: 53 },
      { address: '2001:db8::2', port: 53 },
    ]);
    expect(asked.slice(0, 2)).toEqual([`child.example. ${T.NS}`, `example. ${T.NS}`]);
  });
});
