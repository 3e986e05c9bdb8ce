import { describe, expect, it } from 'vitest';
import { encodeResponse, type ResponseSpec } from '../../src/server/respond.js';
import { decodeMessage } from '../../src/wire/message.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import type { Placed } from '../../src/query/answer.js';

const n = (s: string) => parseName(s, ROOT);
const rrset = (owner: string, type: number, texts: string[]): Placed => ({
  owner: n(owner),
  rrset: { owner: n(owner), type, ttl: 300, rdatas: texts.map((t) => rdataFromText(type, t, null)) },
});
const SIG = `A 13 3 300 20261207000000 20261123000000 12345 example.com. ${Buffer.alloc(64, 7).toString('base64')}`;

function spec(over: Partial<ResponseSpec>): ResponseSpec {
  return {
    id: 1,
    flags: 0x8400,
    rcode: 0,
    qname: n('example.com.'),
    qtype: T.MX,
    qclass: 1,
    answer: [],
    authority: [],
    additional: [],
    edns: null,
    limit: 512,
    ...over,
  };
}

describe('encodeResponse truncation', () => {
  const mx = rrset('example.com.', T.MX, ['10 mail.example.com.']);
  const addrs = rrset(
    'mail.example.com.',
    T.A,
    Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`),
  );
  const sig = rrset('mail.example.com.', T.RRSIG, [SIG]);

  it('an additional RRset and its RRSIG fit or go together, without TC (RFC 2181 §9, RFC 4035 §3.1.1)', () => {
    const full = encodeResponse(spec({ answer: [mx], additional: [addrs, sig], limit: 4096 }));
    const room = full.bytes.length - 20; // the RRSIG no longer fits, the A RRset would
    const cut = encodeResponse(spec({ answer: [mx], additional: [addrs, sig], limit: room }));
    const m = decodeMessage(cut.bytes);
    expect(cut.truncated).toBe(false);
    expect(m.answer).toHaveLength(1);
    expect(m.additional).toHaveLength(0);
  });

  it('an answer RRset that does not fit sets TC and is not cut', () => {
    const big = rrset(
      'example.com.',
      T.A,
      Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`),
    );
    const r = encodeResponse(spec({ qtype: T.A, answer: [big], limit: 512 }));
    const m = decodeMessage(r.bytes);
    expect(r.truncated).toBe(true);
    expect(m.flags & 0x0200).toBe(0x0200);
    expect(m.answer).toHaveLength(0);
  });

  it('a signed answer whose RRSIG does not fit sets TC and drops both', () => {
    const a = rrset(
      'example.com.',
      T.A,
      Array.from({ length: 25 }, (_, i) => `198.51.100.${i + 1}`),
    );
    const s = rrset('example.com.', T.RRSIG, [SIG]);
    const r = encodeResponse(spec({ qtype: T.A, answer: [a, s], limit: 512 }));
    const m = decodeMessage(r.bytes);
    expect(r.truncated).toBe(true);
    expect(m.answer).toHaveLength(0);
  });
});
