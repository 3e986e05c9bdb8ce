/**
 * The DNSSEC timestamp YYYYMMDDHHmmSS (src/wire/timestamp.ts, RFC 4034 §3.2), shared by RRSIG presentation
 * (wire/rdata/kinds.ts) and BIND key files (dnssec/keyfile.ts).
 */
import { describe, expect, it } from 'vitest';
import { rdataFromText, rdataToText } from '../../src/wire/rdata.js';
import { formatTimestamp, parseTimestamp } from '../../src/wire/timestamp.js';
import { T } from '../../src/wire/types.js';

describe('formatTimestamp / parseTimestamp', () => {
  it('formats and parses YYYYMMDDHHMMSS in UTC', () => {
    expect(formatTimestamp(new Date('2026-05-17T08:09:10.000Z'))).toBe('20260517080910');
    expect(parseTimestamp('20260517080910')?.toISOString()).toBe('2026-05-17T08:09:10.000Z');
    for (const bad of [
      '2026051708091',
      '202605170809100',
      '20261317080910',
      '20260431080910',
      '20260517250910',
      'x0260517080910',
      '',
    ])
      expect(parseTimestamp(bad), bad).toBeNull();
  });

  it.each(['20260017080910', '20260500080910', '20260229000000', '20260517086010', '20260517080960'])(
    'rejects %s',
    (bad) => expect(parseTimestamp(bad)).toBeNull(),
  );

  it('accepts 29 February in a leap year and the last second of a day', () => {
    expect(parseTimestamp('20240229235959')?.toISOString()).toBe('2024-02-29T23:59:59.000Z');
  });

  it('reads a leap second as second 59 only when asked (key files, as BIND does)', () => {
    expect(parseTimestamp('20161231235960')).toBeNull();
    expect(parseTimestamp('20161231235960', { leapSecond: true })?.toISOString()).toBe('2016-12-31T23:59:59.000Z');
    expect(parseTimestamp('20161231235961', { leapSecond: true })).toBeNull();
  });

  it('pads the year to four digits and round-trips every second of the 32-bit RRSIG range it is given', () => {
    expect(formatTimestamp(new Date(Date.UTC(999, 0, 2, 3, 4, 5)))).toBe('09990102030405');
    for (const s of [0, 1, 86399, 1_700_000_000, 2 ** 31, 2 ** 32 - 1]) {
      const text = formatTimestamp(new Date(s * 1000));
      expect(parseTimestamp(text)?.getTime()).toBe(s * 1000);
    }
  });

  it('is what RRSIG rdata prints and parses (kinds.ts time field)', () => {
    const w = rdataFromText(T.RRSIG, 'A 13 2 300 21060207062815 19700101000000 1 example.com. AQID', null);
    expect(Buffer.from(w.subarray(8, 16)).toString('hex')).toBe('ffffffff00000000');
    expect(rdataToText(T.RRSIG, w)).toBe('A 13 2 300 21060207062815 19700101000000 1 example.com. AQID');
    expect(() => rdataFromText(T.RRSIG, 'A 13 2 300 20260431080910 0 1 example.com. AQID', null)).toThrow(
      /not a valid YYYYMMDDHHmmSS time/,
    );
  });
});
