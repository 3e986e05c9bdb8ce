/**
 * canonical.ts: RRSIG header and signed-data bytes (RFC 4034 §3.1, §3.1.8.1, §6.2, §6.3; RFC 6840 §5.1):
 * golden hex for the RFC 6605 §6.1 RRset, the Labels field (RFC 4034 §3.1.3), canonical order and
 * duplicate removal, wildcard owners (RFC 4035 §5.3.2) and hostile RRSIG rdata.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalRdatas,
  canonicalRRsetBytes,
  compareOctets,
  parseRrsig,
  rrsigHeader,
  rrsigLabels,
  signedData,
  type RrsigFields,
} from '../../src/dnssec/canonical.js';
import { ALG_ECDSAP256SHA256 } from '../../src/dnssec/keys.js';
import { WireError } from '../../src/wire/errors.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { T, typeFromText } from '../../src/wire/types.js';
import type { RRset } from '../../src/zone/zone.js';
import { fromHex, toHex } from '../support/hex.js';

function rrset(owner: string, type: string, ttl: number, texts: string[]): RRset {
  const t = typeFromText(type);
  return { owner: parseName(owner), type: t, ttl, rdatas: texts.map((x) => rdataFromText(t, x, null)) };
}
function header(rs: RRset, over: Partial<RrsigFields> = {}): Uint8Array {
  return rrsigHeader({
    typeCovered: rs.type,
    algorithm: ALG_ECDSAP256SHA256,
    labels: rrsigLabels(rs.owner),
    originalTtl: rs.ttl,
    expiration: 1284026679,
    inception: 1281607479,
    keyTag: 55648,
    signer: parseName('example.net.'),
    ...over,
  });
}

// RFC 6605 §6.1: www.example.net. 3600 IN A 192.0.2.1, RRSIG A 13 3 3600 20100909100439 20100812100439 55648
// example.net. (20100909100439 = 0x4c88b137, 20100812100439 = 0x4c63c737, 55648 = 0xd960).
const RFC6605_HEADER = '0001 0d 03 00000e10 4c88b137 4c63c737 d960 076578616d706c65 036e6574 00';
const RFC6605_RR = '03777777 076578616d706c65 036e6574 00 0001 0001 00000e10 0004 c0000201';

describe('rrsigHeader', () => {
  it('lays out the RFC 6605 §6.1 RRSIG fields (RFC 4034 §3.1)', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    expect(toHex(header(rs))).toBe(toHex(fromHex(RFC6605_HEADER)));
  });

  it('lower-cases the signer name and never compresses it (RFC 4034 §3.1.7, §6.2)', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    expect(toHex(header(rs, { signer: parseName('EXAMPLE.Net.') }))).toBe(toHex(fromHex(RFC6605_HEADER)));
  });

  it.each<[keyof RrsigFields, number]>([
    ['typeCovered', 0x10000],
    ['algorithm', 256],
    ['labels', -1],
    ['originalTtl', 2 ** 32],
    ['expiration', 1.5],
    ['inception', -5],
    ['keyTag', 65536],
  ])('rejects %s = %d', (field, value) => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    expect(() => header(rs, { [field]: value })).toThrow(WireError);
  });
});

describe('rrsigLabels (RFC 4034 §3.1.3)', () => {
  it.each<[string, number]>([
    ['.', 0],
    ['*.', 0],
    ['example.', 1],
    ['www.example.net.', 3],
    ['*.a.example.', 2],
    ['*.example.', 1],
    ['a.*.example.', 3], // only a leftmost "*" is a wildcard label
    ['\\*.a.example.', 2], // "\*" presentation is still the one-octet label "*"
    ['**.a.example.', 3],
    ['_25._tcp.Mail.Example.', 4],
  ])('%s -> %d', (owner, n) => {
    expect(rrsigLabels(parseName(owner))).toBe(n);
  });
});

describe('signedData (RFC 4034 §3.1.8.1)', () => {
  it('is RRSIG_RDATA | RR for the RFC 6605 §6.1 RRset (golden bytes)', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    expect(toHex(signedData(header(rs), rs))).toBe(toHex(fromHex(RFC6605_HEADER + RFC6605_RR)));
  });

  it('lower-cases the owner and a received upper-case signer name', () => {
    const rs = rrset('WWW.Example.NET.', 'A', 3600, ['192.0.2.1']);
    const h = header(rs);
    const upper = h.slice();
    upper.set(fromHex('07 4558414d504c45 03 4e4554 00'), 18); // EXAMPLE.NET. as a peer might send it
    expect(toHex(signedData(upper, rs))).toBe(toHex(fromHex(RFC6605_HEADER + RFC6605_RR)));
  });

  it('uses the Original TTL of the header, not the TTL the RRset is served with', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    const served: RRset = { ...rs, ttl: 17 };
    expect(toHex(signedData(header(rs), served))).toBe(toHex(fromHex(RFC6605_HEADER + RFC6605_RR)));
  });

  it('refuses an RRset of another type than the header covers', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    const other = rrset('www.example.net.', 'AAAA', 3600, ['2001:db8::1']);
    expect(() => signedData(header(rs), other)).toThrow(/covers type 1/);
  });

  it('refuses a header with bytes after the signer name (e.g. a whole RRSIG)', () => {
    const rs = rrset('www.example.net.', 'A', 3600, ['192.0.2.1']);
    const withSig = new Uint8Array([...header(rs), 1, 2, 3]);
    expect(() => signedData(withSig, rs)).toThrow(WireError);
  });

  // Each row: the same RRset written in a different order and letter case, with duplicates; all rows of a group
  // must give identical signed data, with the canonical order shown (RFC 4034 §6.3: octet-wise over the
  // canonical RDATA, a missing octet sorting first; RFC 2181 §5: duplicates are one RR).
  const groups: { name: string; owner: string[]; type: string; variants: string[][]; order: string[] }[] = [
    {
      name: 'MX, names lower-cased before sorting',
      owner: ['example.', 'EXAMPLE.', 'Example.'],
      type: 'MX',
      variants: [
        ['10 mail.example.', '20 b.example.', '20 A.example.'],
        ['20 a.example.', '10 MAIL.example.', '20 b.EXAMPLE.'],
        ['20 B.example.', '20 a.example.', '10 mail.example.', '10 Mail.Example.', '20 A.EXAMPLE.'],
      ],
      order: ['10 mail.example.', '20 a.example.', '20 b.example.'],
    },
    {
      name: 'NS, wire order (length octet first), not presentation order',
      owner: ['example.', 'eXample.'],
      type: 'NS',
      variants: [
        ['ab.example.', 'b.example.', 'B.example.'],
        ['B.EXAMPLE.', 'AB.example.'],
      ],
      order: ['b.example.', 'ab.example.'],
    },
    {
      name: 'A, octet-wise (192.0.2.9 before 192.0.2.10)',
      owner: ['mail.example.', 'MAIL.example.'],
      type: 'A',
      variants: [
        ['192.0.2.10', '192.0.2.9', '10.0.0.1'],
        ['192.0.2.9', '10.0.0.1', '192.0.2.10', '192.0.2.9'],
      ],
      order: ['10.0.0.1', '192.0.2.9', '192.0.2.10'],
    },
    {
      name: 'TXT, a missing octet sorts before a zero octet; text keeps its case',
      owner: ['t.example.'],
      type: 'TXT',
      variants: [
        ['"a" ""', '"a"', '"A"'],
        ['"A"', '"a"', '"a" ""', '"a"'],
      ],
      order: ['"A"', '"a"', '"a" ""'],
    },
    {
      name: 'SRV target lower-cased (RFC 4034 §6.2 lists SRV)',
      owner: ['_xmpp._tcp.example.'],
      type: 'SRV',
      variants: [
        ['0 5 5269 XMPP.example.', '0 5 5269 xmpp.example.', '1 0 5269 b.example.'],
        ['1 0 5269 B.Example.', '0 5 5269 Xmpp.Example.'],
      ],
      order: ['0 5 5269 xmpp.example.', '1 0 5269 b.example.'],
    },
    {
      name: 'TLSA data is opaque hex',
      owner: ['_25._tcp.mail.example.'],
      type: 'TLSA',
      variants: [
        ['3 1 1 BB00', '3 1 1 aa00', '2 1 1 ff'],
        ['2 1 1 FF', '3 1 1 AA00', '3 1 1 bb00', '3 1 1 bb00'],
      ],
      order: ['2 1 1 ff', '3 1 1 aa00', '3 1 1 bb00'],
    },
  ];

  describe.each(groups)('$name', (g) => {
    const t = typeFromText(g.type);
    const reference = rrset(g.owner[0]!, g.type, 300, g.order);

    it('gives identical signed data for every order, case and duplicate', () => {
      const want = toHex(signedData(header(reference), reference));
      for (const owner of g.owner) {
        for (const v of g.variants) {
          const rs = rrset(owner, g.type, 300, v);
          expect(toHex(signedData(header(rs), rs)), `${owner} ${v.join(' | ')}`).toBe(want);
        }
      }
    });

    it('lists the RRs in canonical order', () => {
      const got = canonicalRdatas(t, reference.rdatas.slice().reverse());
      expect(got.map(toHex)).toEqual(g.order.map((x) => toHex(rdataFromText(t, x, null))));
      // and the order is what compareOctets says
      for (let i = 1; i < got.length; i++) expect(compareOctets(got[i - 1]!, got[i]!)).toBeLessThan(0);
    });
  });

  it('keeps the letter case of an NSEC next name (RFC 6840 §5.1)', () => {
    const rs = rrset('a.example.', 'NSEC', 300, ['B.Example. A RRSIG NSEC']);
    const bytes = canonicalRRsetBytes(rs, 300);
    expect(toHex(bytes)).toContain(toHex(fromHex('01 42 07 4578616d706c65 00')));
  });

  it('lower-cases names inside SOA, CNAME and DNAME rdata', () => {
    for (const [type, text, want] of [
      ['SOA', 'NS1.Example. Host.Example. 1 2 3 4 5', 'ns1.example. host.example. 1 2 3 4 5'],
      ['CNAME', 'Target.EXAMPLE.', 'target.example.'],
      ['DNAME', 'Target.EXAMPLE.', 'target.example.'],
    ] as const) {
      const a = rrset('x.example.', type, 60, [text]);
      const b = rrset('x.example.', type, 60, [want]);
      expect(toHex(canonicalRRsetBytes(a, 60)), type).toBe(toHex(canonicalRRsetBytes(b, 60)));
    }
  });
});

describe('wildcards (RFC 4035 §5.3.2)', () => {
  const stored = rrset('*.a.example.', 'A', 300, ['192.0.2.80']);
  const h = rrsigHeader({
    typeCovered: T.A,
    algorithm: 13,
    labels: rrsigLabels(stored.owner),
    originalTtl: 300,
    expiration: 2,
    inception: 1,
    keyTag: 1,
    signer: parseName('example.'),
  });

  it('signs the wildcard RRset at its *.x owner with Labels 2', () => {
    expect(h[3]).toBe(2);
    const data = signedData(h, stored);
    expect(toHex(data.subarray(h.length, h.length + 13))).toBe(toHex(fromHex('012a 0161 076578616d706c65 00')));
  });

  it.each(['x.a.example.', 'X.Y.A.example.', 'deep.er.x.a.Example.'])(
    'a validator rebuilds the same data for the expansion %s',
    (qname) => {
      const expanded: RRset = { ...stored, owner: parseName(qname) };
      expect(toHex(signedData(h, expanded))).toBe(toHex(signedData(h, stored)));
      // ownerForSigning does the same for a stored RRset
      expect(toHex(signedData(h, stored, parseName(qname)))).toBe(toHex(signedData(h, stored)));
    },
  );

  it('refuses an owner with fewer labels than the Labels field', () => {
    const short: RRset = { ...stored, owner: parseName('example.') };
    expect(() => signedData(h, short)).toThrow(/exceeds/);
  });
});

describe('parseRrsig', () => {
  it('round-trips the RFC 6605 §6.1 RRSIG', () => {
    const rdata = rdataFromText(
      T.RRSIG,
      'A 13 3 3600 20100909100439 20100812100439 55648 example.net. ' +
        'qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==',
      null,
    );
    const f = parseRrsig(rdata);
    expect({ ...f, signer: nameToText(f.signer), header: toHex(f.header), signature: f.signature.length }).toEqual({
      typeCovered: T.A,
      algorithm: 13,
      labels: 3,
      originalTtl: 3600,
      expiration: 1284026679,
      inception: 1281607479,
      keyTag: 55648,
      signer: 'example.net.',
      header: toHex(fromHex(RFC6605_HEADER)),
      signature: 64,
    });
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['shorter than the fixed fields', '0001 0d 03 00000e10 4c88b137 4c63c737 d9'],
    ['no signer name', '0001 0d 03 00000e10 4c88b137 4c63c737 d960'],
    ['signer name runs past the end', '0001 0d 03 00000e10 4c88b137 4c63c737 d960 07 6578616d'],
    ['compression pointer as signer', '0001 0d 03 00000e10 4c88b137 4c63c737 d960 c00c'],
    ['label of 64 octets', '0001 0d 03 00000e10 4c88b137 4c63c737 d960 40' + '61'.repeat(64) + '00'],
  ])('rejects %s', (_what, h) => {
    expect(() => parseRrsig(fromHex(h))).toThrow(WireError);
  });

  it('rejects a signer name over 255 octets', () => {
    const label = '3f' + '61'.repeat(63);
    expect(() => parseRrsig(fromHex('0001 0d 03 00000e10 4c88b137 4c63c737 d960' + label.repeat(4) + '00'))).toThrow(
      WireError,
    );
  });
});
