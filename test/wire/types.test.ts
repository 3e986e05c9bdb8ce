/**
 * The rcode table of src/wire/types.ts against IANA's "DNS RCODEs" registry, 0-23 (RFC 6895 §2.3): values,
 * mnemonics, the name shared by 16 (BADVERS in OPT, RFC 6891 §9; BADSIG in TSIG, RFC 8945) and the gaps.
 */
import { describe, expect, it } from 'vitest';
import { RCODE, rcodeToText } from '../../src/wire/types.js';

/** IANA's registry, by value (16 under its EDNS name). */
const IANA: [number, string][] = [
  [0, 'NOERROR'],
  [1, 'FORMERR'],
  [2, 'SERVFAIL'],
  [3, 'NXDOMAIN'],
  [4, 'NOTIMP'],
  [5, 'REFUSED'],
  [6, 'YXDOMAIN'],
  [7, 'YXRRSET'],
  [8, 'NXRRSET'],
  [9, 'NOTAUTH'],
  [10, 'NOTZONE'],
  [11, 'DSOTYPENI'],
  [16, 'BADVERS'],
  [17, 'BADKEY'],
  [18, 'BADTIME'],
  [19, 'BADMODE'],
  [20, 'BADNAME'],
  [21, 'BADALG'],
  [22, 'BADTRUNC'],
  [23, 'BADCOOKIE'],
];

describe('RCODE / rcodeToText (RFC 6895 §2.3)', () => {
  it.each(IANA)('%d is %s both ways', (value, name) => {
    expect(RCODE[name as keyof typeof RCODE]).toBe(value);
    expect(rcodeToText(value)).toBe(name);
  });

  it('16 has two names and prints as BADVERS', () => {
    expect(RCODE.BADSIG).toBe(16);
    expect(RCODE.BADVERS).toBe(16);
    expect(rcodeToText(16)).toBe('BADVERS');
  });

  it('holds the registry and nothing else', () => {
    expect(Object.keys(RCODE).sort()).toEqual([...IANA.map(([, n]) => n), 'BADSIG'].sort());
  });

  it('unassigned values print as numbers', () => {
    for (const n of [12, 13, 14, 15, 24, 3841, 4095]) expect(rcodeToText(n)).toBe(String(n));
  });
});
