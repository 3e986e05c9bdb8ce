/**
 * message.ts, header.ts, edns.ts: golden bytes (layer 1), the hostile-input table (layer 3) and a small
 * deterministic mutation fuzz of decode -> encode -> decode.
 */
import { describe, expect, it } from 'vitest';
import { WireError } from '../../src/wire/errors.js';
import {
  decodeHeader,
  FLAG_AA,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  makeFlags,
  opcode,
  qr,
  rcode,
  rd,
} from '../../src/wire/header.js';
import { edeOption, makeEdns, optSize } from '../../src/wire/edns.js';
import { decodeMessage, encodeMessage, encodeQuery, fullRcode, type Message, type RR } from '../../src/wire/message.js';
import { parseName, type Name } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { CLASS_IN, T } from '../../src/wire/types.js';
import { HOSTILE } from './hostile-packets.js';
import { fromHex, toHex } from '../support/hex.js';

const EXAMPLE = parseName('example.com.');

function rrOf(owner: Name, type: number, text: string, ttl = 3600): RR {
  return { name: owner, type, class: CLASS_IN, ttl, rdata: rdataFromText(type, text, EXAMPLE) };
}

function response(answer: RR[], authority: RR[] = [], additional: RR[] = []): Message {
  return {
    id: 0x1234,
    flags: FLAG_QR | FLAG_AA,
    questions: [{ name: EXAMPLE, type: T.MX, class: CLASS_IN }],
    answer,
    authority,
    additional,
    edns: null,
  };
}

describe('golden messages', () => {
  const MX_ANSWER =
    '1234 8400 0001 0001 0000 0000' + // header
    '07 6578616d706c65 03 636f6d 00 000f 0001' + // example.com. MX IN
    'c00c 000f 0001 00000e10 0009 000a 04 6d61696c c00c'; // example.com. 3600 MX 10 mail.<ptr>

  it('compresses the MX exchange against the question', () => {
    const { bytes, truncated } = encodeMessage(response([rrOf(EXAMPLE, T.MX, '10 mail')]));
    expect(truncated).toBe(false);
    expect(toHex(bytes)).toBe(toHex(fromHex(MX_ANSWER)));
  });

  it('decodes it back to uncompressed rdata', () => {
    const m = decodeMessage(fromHex(MX_ANSWER));
    expect(m.id).toBe(0x1234);
    expect(m.flags).toBe(0x8400);
    expect(m.questions).toHaveLength(1);
    expect(m.questions[0]!.name.key).toBe(EXAMPLE.key);
    expect(toHex(m.answer[0]!.rdata)).toBe('000a046d61696c076578616d706c6503636f6d00');
  });

  it('never compresses SRV, KX or RRSIG names (RFC 3597 §4), but does compress NS and SOA', () => {
    const srv = rrOf(EXAMPLE, T.SRV, '0 0 25 example.com.');
    const kx = rrOf(EXAMPLE, T.KX, '1 example.com.');
    const ns = rrOf(EXAMPLE, T.NS, 'example.com.');
    const soa = rrOf(EXAMPLE, T.SOA, 'example.com. example.com. 1 2 3 4 5');
    const { bytes } = encodeMessage(response([srv, kx, ns, soa]));
    const h = toHex(bytes);
    expect(h).toContain('0000000000190' + '7' + '6578616d706c6503636f6d00'); // SRV target in full
    expect(h).toContain('0001076578616d706c6503636f6d00'); // KX exchanger in full
    expect(h).toContain('0002c00c'); // NS rdata: a bare pointer
    expect(h).toContain('0018c00cc00c0000000100000002'); // SOA: two pointers then the counters
  });

  it('encodes a query with EDNS and DO', () => {
    const q = encodeQuery(parseName('www.example.com.'), T.TLSA, {
      id: 7,
      rd: true,
      edns: { dnssecOk: true, udpSize: 1232 },
    });
    expect(toHex(q)).toBe(
      '0007 0100 0001 0000 0000 0001'.replace(/ /g, '') +
        '03777777076578616d706c6503636f6d00' +
        '00340001' +
        '00 0029 04d0 00008000 0000'.replace(/ /g, ''),
    );
    const m = decodeMessage(q);
    expect(m.edns).toEqual({ udpSize: 1232, extRcode: 0, version: 0, dnssecOk: true, flags: 0x8000, options: [] });
    expect(m.additional).toHaveLength(0);
    expect(rd(m.flags)).toBe(true);
  });

  it('splits the 12-bit rcode between header and OPT (BADVERS = 16)', () => {
    const msg: Message = {
      ...response([]),
      flags: FLAG_QR | 0,
      edns: makeEdns({ extRcode: 1, options: [edeOption(21, 'x')] }),
    };
    const back = decodeMessage(encodeMessage(msg).bytes);
    expect(fullRcode(back)).toBe(16);
    expect(back.edns!.options).toEqual([{ code: 15, data: Uint8Array.from([0, 21, 0x78]) }]);
  });
});

describe('truncation', () => {
  const owner = parseName('big.example.com.');
  const txt = (i: number): RR => rrOf(owner, T.TXT, `"${String(i).padStart(3, '0')}${'x'.repeat(97)}"`);

  it('cuts at an RRset boundary, keeps OPT, and counts what was written', () => {
    const a = rrOf(EXAMPLE, T.A, '192.0.2.1');
    const answer = [a, ...Array.from({ length: 10 }, (_, i) => txt(i))];
    const msg: Message = { ...response(answer, [rrOf(EXAMPLE, T.NS, 'ns1')]), edns: makeEdns({ dnssecOk: true }) };
    const { bytes, truncated } = encodeMessage(msg, 512);
    expect(truncated).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(512);
    const back = decodeMessage(bytes);
    expect(back.answer).toHaveLength(1); // the A RRset only; the TXT RRset did not fit whole
    expect(back.authority).toHaveLength(0);
    expect(back.edns?.dnssecOk).toBe(true);
    expect(bytes.length).toBe(12 + 17 + 16 + optSize(msg.edns!));
  });

  it('does not truncate when everything fits', () => {
    const { truncated, bytes } = encodeMessage(response([txt(1), txt(2)]), 512);
    expect(truncated).toBe(false);
    expect(decodeMessage(bytes).answer).toHaveLength(2);
    expect(bytes[2]! & (FLAG_TC >> 8)).toBe(0); // the caller sets TC
  });

  it('forgets compression targets written by a rolled-back RRset', () => {
    const other = parseName('zzz.other.example.');
    const big = Array.from({ length: 8 }, (_, i) => rrOf(other, T.TXT, `"${i}${'y'.repeat(99)}"`));
    const { bytes } = encodeMessage(
      response([rrOf(EXAMPLE, T.A, '192.0.2.1'), ...big], [], [rrOf(other, T.A, '192.0.2.9')]),
      300,
    );
    expect(decodeMessage(bytes).answer).toHaveLength(1);
  });
});

describe('hostile input table', () => {
  it('has at least 30 entries, all realistic queries when the header is readable', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(30);
    for (const h of HOSTILE) {
      const hdr = decodeHeader(h.bytes);
      expect(hdr !== null, h.name).toBe(h.headerReadable);
      if (hdr) {
        expect(qr(hdr.flags), h.name).toBe(false);
        expect(opcode(hdr.flags), h.name).toBe(0);
        expect(hdr.qdcount, h.name).toBeGreaterThanOrEqual(1);
      }
    }
  });

  for (const h of HOSTILE) {
    it(`rejects: ${h.name}`, () => {
      let err: unknown = null;
      try {
        decodeMessage(h.bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WireError);
    });
  }
});

/** xorshift32: deterministic fuzzing without a dependency. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('mutation fuzz', () => {
  it('decode never throws anything but WireError; what decodes re-encodes and decodes the same', () => {
    const base = encodeMessage({
      ...response(
        [rrOf(EXAMPLE, T.MX, '10 mail'), rrOf(EXAMPLE, T.SOA, 'ns1 hostmaster 1 2 3 4 5')],
        [rrOf(EXAMPLE, T.NSEC, 'a.example.com. A MX RRSIG NSEC')],
        [rrOf(parseName('mail.example.com.'), T.SVCB, '1 . alpn=h2 port=443'), rrOf(EXAMPLE, T.TXT, '"a" "b"')],
      ),
      edns: makeEdns({ dnssecOk: true }),
    }).bytes;
    const next = rng(0xdecade);
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const m = base.slice(0, i % 7 === 0 ? next() % base.length : base.length);
      const flips = 1 + (next() % 4);
      for (let k = 0; k < flips && m.length > 0; k++) m[next() % m.length] = next() & 0xff;
      let msg: Message;
      try {
        msg = decodeMessage(m);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        continue;
      }
      decoded++;
      const again = decodeMessage(encodeMessage(msg).bytes);
      expect(again.answer.map((r) => toHex(r.rdata))).toEqual(msg.answer.map((r) => toHex(r.rdata)));
      expect(again.additional.length).toBe(msg.additional.length);
    }
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('header', () => {
  it('decodes fields and flag helpers', () => {
    const h = decodeHeader(fromHex('abcd 8583 0001 0002 0003 0004'))!;
    expect(h).toEqual({ id: 0xabcd, flags: 0x8583, qdcount: 1, ancount: 2, nscount: 3, arcount: 4 });
    expect(qr(h.flags)).toBe(true);
    expect(rcode(h.flags)).toBe(3);
    expect(makeFlags({ qr: true, aa: true, rd: true, rcode: 3 })).toBe(FLAG_QR | FLAG_AA | FLAG_RD | 3);
    expect(decodeHeader(new Uint8Array(11))).toBeNull();
  });
});
