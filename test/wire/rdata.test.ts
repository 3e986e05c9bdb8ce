/**
 * rdata.ts golden bytes (layer 1): RFC 4034 §4.3 NSEC bitmap, TLSA, the RFC 9460 Appendix D SVCB vectors,
 * plus canonical form (RFC 4034 §6.2 / RFC 6840 §5.1), embedded names and decompression rules (RFC 3597 §4).
 */
import { describe, expect, it } from 'vitest';
import { WireError } from '../../src/wire/errors.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { canonicalRdata, rdataFromText, rdataNames, rdataToText, readRdata, writeRdata } from '../../src/wire/rdata.js';
import { Reader } from '../../src/wire/reader.js';
import { T, typeFromText } from '../../src/wire/types.js';
import { Writer } from '../../src/wire/writer.js';
import { toHex } from '../support/hex.js';

function hex(s: string): string {
  return s.replace(/\s+/g, '').toLowerCase();
}
const ORIGIN = parseName('example.com.');

describe('golden rdata', () => {
  it('NSEC bitmap A MX RRSIG NSEC TYPE1234 (RFC 4034 §4.3)', () => {
    const w = rdataFromText(T.NSEC, 'host.example.com. A MX RRSIG NSEC TYPE1234', null);
    expect(toHex(w)).toBe(
      hex('04 686f7374 07 6578616d706c65 03 636f6d 00' + '00 06 40 01 00 00 00 03' + '04 1b' + '00'.repeat(26) + '20'),
    );
  });

  it('TLSA 3 1 1', () => {
    const w = rdataFromText(T.TLSA, '3 1 1 ( 0a1b2c3d4e5f6071 8293A4B5C6D7E8F9 )', null);
    expect(toHex(w)).toBe(hex('03 01 01 0a1b2c3d4e5f6071 8293a4b5c6d7e8f9'));
    expect(rdataToText(T.TLSA, w)).toBe('3 1 1 0A1B2C3D4E5F60718293A4B5C6D7E8F9');
  });

  it('RRSIG times as YYYYMMDDHHmmSS and seconds', () => {
    const w = rdataFromText(T.RRSIG, 'A 13 2 300 20240201000000 1704067200 1 example.com. AQID', null);
    expect(toHex(w.subarray(8, 16))).toBe(hex('65badf00 65920080'));
  });

  const FOO_COM = '03666f6f 076578616d706c65 03636f6d 00';
  const FOO_ORG = '03666f6f 076578616d706c65 036f7267 00';
  // RFC 9460 Appendix D (presentation -> wire).
  const SVCB: [string, string][] = [
    ['0 foo.example.com.', '0000' + FOO_COM],
    ['1 .', '0001 00'],
    ['16 foo.example.com. port=53', '0010' + FOO_COM + '0003 0002 0035'],
    ['1 foo.example.com. key667=hello', '0001' + FOO_COM + '029b 0005 68656c6c6f'],
    ['1 foo.example.com. key667="hello\\210qoo"', '0001' + FOO_COM + '029b 0009 68656c6c6fd2716f6f'],
    [
      '1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
      '0001' + FOO_COM + '0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001',
    ],
    [
      '1 example.com. ipv6hint="2001:db8:ffff:ffff:ffff:ffff:198.51.100.100"',
      '0001 076578616d706c6503636f6d00 0006 0010 20010db8ffffffffffffffffc6336464',
    ],
    [
      '16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)',
      '0010' + FOO_ORG + '0000 0004 0001 0004' + '0001 0009 02 6832 05 68332d3139' + '0004 0004 c0000201',
    ],
    ['16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"', '0010' + FOO_ORG + '0001 000c 08 665c6f6f2c626172 02 6832'],
    ['16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2', '0010' + FOO_ORG + '0001 000c 08 665c6f6f2c626172 02 6832'],
  ];
  for (const [text, wire] of SVCB) {
    it(`SVCB ${text}`, () => {
      expect(toHex(rdataFromText(T.SVCB, text, null))).toBe(hex(wire));
    });
  }

  it('unknown types print generically and accept only the generic form', () => {
    const w = rdataFromText(65400, '\\# 4 0A000001', null);
    expect(rdataToText(65400, w)).toBe('\\# 4 0A000001');
    expect(rdataToText(T.A, new Uint8Array([1, 2, 3]))).toBe('\\# 3 010203'); // malformed known type
  });
});

describe('canonical form', () => {
  const cases: [string, string, string][] = [
    ['MX', '10 Mail.Example.COM.', '10 mail.example.com.'],
    ['SOA', 'NS1.Example.com. Host.Example.com. 1 2 3 4 5', 'ns1.example.com. host.example.com. 1 2 3 4 5'],
    [
      'RRSIG',
      'A 13 2 300 20240201000000 20240101000000 1 Example.COM. AQID',
      'A 13 2 300 20240201000000 20240101000000 1 example.com. AQID',
    ],
    ['NSEC', 'A.Example.COM. A', 'A.Example.COM. A'], // RFC 6840 §5.1: NSEC names are not lower-cased
    ['SRV', '0 0 1 Target.Example.', '0 0 1 target.example.'],
    ['DNAME', 'X.Example.', 'x.example.'],
    ['HINFO', '"CPU" "OS"', '"CPU" "OS"'], // RFC 6840 §5.1: not HINFO
    ['SVCB', '1 Foo.Example.', '1 Foo.Example.'], // not in the list
    ['TXT', '"ABC"', '"ABC"'],
  ];
  for (const [t, input, want] of cases) {
    it(`${t} ${input}`, () => {
      const type = typeFromText(t);
      const w = rdataFromText(type, input, null);
      expect(rdataToText(type, canonicalRdata(type, w))).toBe(want);
      expect(rdataToText(type, w)).toBe(input); // the original keeps its case
    });
  }
  it('returns the same array when nothing changes', () => {
    const w = rdataFromText(T.MX, '10 mail.example.com.', null);
    expect(canonicalRdata(T.MX, w)).toBe(w);
  });
});

describe('rdataNames', () => {
  const cases: [string, string, string[]][] = [
    ['MX', '10 mail', ['mail.example.com.']],
    ['SOA', 'ns1 host 1 2 3 4 5', ['ns1.example.com.', 'host.example.com.']],
    ['SRV', '0 0 25 smtp', ['smtp.example.com.']],
    ['NS', 'ns2.example.net.', ['ns2.example.net.']],
    ['CNAME', 'www', ['www.example.com.']],
    ['DNAME', 'example.net.', ['example.net.']],
    ['HTTPS', '1 . alpn=h2', ['.']],
    ['A', '192.0.2.1', []],
    ['TXT', '"x"', []],
  ];
  for (const [t, text, names] of cases) {
    it(`${t} ${text}`, () => {
      const type = typeFromText(t);
      expect(rdataNames(type, rdataFromText(type, text, ORIGIN)).map(nameToText)).toEqual(names);
    });
  }
});

describe('readRdata / writeRdata', () => {
  // A buffer whose offset 0 holds "example.com." so pointers c0 00 can refer to it.
  const prefix = [7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x63, 0x6f, 0x6d, 0];

  function read(type: number, rdata: number[]): Uint8Array {
    const buf = Uint8Array.from([...prefix, ...rdata]);
    const r = new Reader(buf, prefix.length);
    const out = readRdata(r, type, rdata.length);
    expect(r.pos).toBe(buf.length);
    return out;
  }

  it('decompresses MX (RFC 1035 type)', () => {
    expect(rdataToText(T.MX, read(T.MX, [0, 10, 4, 0x6d, 0x61, 0x69, 0x6c, 0xc0, 0x00]))).toBe('10 mail.example.com.');
  });
  it('accepts compressed SRV, AFSDB, NAPTR targets on input (RFC 3597 §4 SHOULD)', () => {
    expect(rdataToText(T.SRV, read(T.SRV, [0, 1, 0, 2, 0, 3, 0xc0, 0x00]))).toBe('1 2 3 example.com.');
    expect(rdataToText(T.AFSDB, read(T.AFSDB, [0, 1, 0xc0, 0x00]))).toBe('1 example.com.');
  });
  it('rejects compression in newer types (DNAME, KX, SVCB, RRSIG, NSEC)', () => {
    for (const [type, rd] of [
      [T.DNAME, [0xc0, 0x00]],
      [T.KX, [0, 1, 0xc0, 0x00]],
      [T.SVCB, [0, 1, 0xc0, 0x00]],
      [T.NSEC, [0xc0, 0x00, 0, 1, 0x40]],
    ] as [number, number[]][]) {
      expect(() => read(type, rd)).toThrow(WireError);
    }
  });
  it('opaque types are copied as they are', () => {
    expect(toHex(read(65400, [1, 2, 3]))).toBe('010203');
  });
  it('writeRdata compresses only when asked and only RFC 1035 types', () => {
    const mx = rdataFromText(T.MX, '10 example.com.', null);
    const w = new Writer();
    w.name(ORIGIN, true);
    const at = w.pos;
    writeRdata(w, T.MX, mx, true);
    expect(toHex(w.view().subarray(at))).toBe('000ac000');
    const w2 = new Writer();
    w2.name(ORIGIN, true);
    writeRdata(w2, T.MX, mx, false);
    expect(w2.pos).toBe(13 + mx.length);
    const w3 = new Writer();
    w3.name(ORIGIN, true);
    writeRdata(w3, T.DNAME, rdataFromText(T.DNAME, 'example.com.', null), true);
    expect(w3.pos).toBe(26);
  });
});
