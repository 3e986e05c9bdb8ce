import { describe, expect, it } from 'vitest';
import { peekSimpleQuery } from '../../src/server/fastpath.js';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { HOSTILE } from '../wire/hostile-packets.js';
import { mulberry32 as rng } from '../fixtures/rng.js';

const VALID: Uint8Array[] = [
  encodeQuery(parseName('example.com.', ROOT), 1),
  encodeQuery(parseName('ExAmPlE.CoM.', ROOT), 15, { edns: { udpSize: 1232 } }),
  encodeQuery(parseName('_25._tcp.mail.example.com.', ROOT), 52, { edns: { udpSize: 4096, dnssecOk: true } }),
  encodeQuery(ROOT, 2, { edns: { udpSize: 512 } }),
  encodeQuery(parseName('a\\.b\\000.example.', ROOT), 16, { edns: { udpSize: 1400, version: 1 } }),
  encodeQuery(parseName(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`, ROOT), 1),
];

/** Whenever the fast path accepts, the full decoder must accept and agree on every field it reports. */
function agrees(buf: Uint8Array): boolean {
  const s = peekSimpleQuery(buf);
  if (!s) return false;
  const m = decodeMessage(buf); // throws -> test fails
  const q = m.questions[0]!;
  expect(m.questions.length).toBe(1);
  expect(m.answer.length + m.authority.length + m.additional.length).toBe(0);
  expect(s.key).toBe(q.name.key);
  expect(s.qtype).toBe(q.type);
  expect(s.qclass).toBe(q.class);
  expect(s.questionEnd).toBe(12 + q.name.wire.length + 4);
  expect(s.hasEdns).toBe(m.edns !== null);
  if (m.edns) {
    expect(s.udpSize).toBe(m.edns.udpSize);
    expect(s.dnssecOk).toBe(m.edns.dnssecOk);
    expect(s.ednsVersion).toBe(m.edns.version);
    expect(m.edns.options.length).toBe(0);
  }
  return true;
}

describe('peekSimpleQuery', () => {
  it('accepts the common query shapes and agrees with decodeMessage', () => {
    for (const v of VALID) expect(agrees(v)).toBe(true);
  });

  it('declines every hostile packet (they must take the full decoder and get FORMERR)', () => {
    for (const h of HOSTILE) expect(peekSimpleQuery(h.bytes), h.name).toBeNull();
  });

  it('declines a query with an EDNS option, a second question, or trailing bytes', () => {
    const withOpt = encodeQuery(parseName('example.com.', ROOT), 1, {
      edns: { udpSize: 1232, options: [{ code: 10, data: new Uint8Array(8) }] },
    });
    expect(peekSimpleQuery(withOpt)).toBeNull();
    const trailing = new Uint8Array([...VALID[0]!, 0]);
    expect(peekSimpleQuery(trailing)).toBeNull();
    const two = VALID[0]!.slice();
    two[5] = 2;
    expect(peekSimpleQuery(two)).toBeNull();
  });

  it('20,000 random mutations: accepted only when the full decoder agrees', () => {
    const r = rng(42);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = VALID[i % VALID.length]!;
      const m = base.slice(0, Math.max(0, base.length - (r() < 0.1 ? Math.floor(r() * 4) : 0)));
      const flips = 1 + Math.floor(r() * 3);
      for (let k = 0; k < flips && m.length > 0; k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      if (agrees(m)) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000); // the mutations exercise the accepting branch too
  });
});
