/**
 * The rdata layout of every supported RR type: ONE declarative entry per type (after Knot's
 * descriptor.c and miekg's struct tags). An entry lists the fields in wire order and says what happens to the
 * domain names inside:
 *  - names 'compress': RFC 1035 types whose names may be compressed on output and are decompressed on input
 *    (RFC 3597 §4: NS MD MF CNAME SOA MB MG MR PTR MINFO MX);
 *  - names 'accept': never compressed on output, but compressed input is accepted, as RFC 3597 §4 says
 *    receivers SHOULD for RP, AFSDB, RT, SIG, PX, NXT, NAPTR and SRV (RFC 2052 once mandated it for SRV);
 *  - names 'plain': compression is an error on input (every newer type: RRSIG, NSEC, SVCB, KX, DNAME ...).
 *  - lower: names are lower-cased in the canonical form (RFC 4034 §6.2 item 3 as corrected by RFC 6840 §5.1:
 *    NS MD MF CNAME SOA MB MG MR PTR MINFO MX RP AFSDB RT SIG PX NXT NAPTR KX SRV DNAME A6 RRSIG; not NSEC,
 *    whose next name RFC 6840 §5.1 says is NOT lower-cased (validators compare it byte for byte, so the signer
 *    writes it in lower case instead, as Knot and BIND do); not HINFO; never SVCB/HTTPS targets).
 * Types without an entry are opaque (RFC 3597): generic `\# len hex` text, bytes copied as they are.
 */
import { T } from '../types.js';
import {
  base32Len8,
  base64ToEnd,
  caaTag,
  eui48,
  eui64,
  hexLen8,
  hexToEnd,
  ipv4,
  ipv6,
  name,
  rrtype,
  str,
  strs,
  textToEnd,
  time,
  typeBitmap,
  u16,
  u32,
  u8,
  type Kind,
} from './kinds.js';
import { loc } from './loc.js';
import { svcParams } from './svcb.js';

interface Field {
  readonly name: string;
  readonly kind: Kind;
}

type NameHandling = 'compress' | 'accept' | 'plain';

export interface Descriptor {
  readonly type: number;
  readonly mnemonic: string;
  readonly fields: readonly Field[];
  readonly names: NameHandling;
  readonly lower: boolean;
  /** True when any field is a domain name (derived). */
  readonly hasNames: boolean;
}

const DESCRIPTORS = new Map<number, Descriptor>();

function rr(
  type: number,
  mnemonic: string,
  opts: { names?: NameHandling; lower?: boolean },
  ...fields: [string, Kind][]
): void {
  for (let i = 0; i < fields.length - 1; i++) {
    if (fields[i]![1].toEnd) throw new Error(`descriptor ${mnemonic}: field ${fields[i]![0]} must be last`);
  }
  DESCRIPTORS.set(type, {
    type,
    mnemonic,
    fields: fields.map(([n, kind]) => ({ name: n, kind })),
    names: opts.names ?? 'plain',
    lower: opts.lower ?? false,
    hasNames: fields.some(([, k]) => k.isName === true),
  });
}

const C = { names: 'compress', lower: true } as const; // RFC 1035 types
const A = { names: 'accept', lower: true } as const; // decompressed on input, never compressed on output
const L = { lower: true } as const; // never compressed, lower-cased in canonical form
const P = {} as const; // opaque to case and compression

// RFC 1035 §3.3, §3.4
rr(T.A, 'A', P, ['address', ipv4]);
rr(T.NS, 'NS', C, ['nsdname', name]);
rr(T.MD, 'MD', C, ['madname', name]);
rr(T.MF, 'MF', C, ['madname', name]);
rr(T.CNAME, 'CNAME', C, ['cname', name]);
rr(
  T.SOA,
  'SOA',
  C,
  ['mname', name],
  ['rname', name],
  ['serial', u32],
  ['refresh', u32],
  ['retry', u32],
  ['expire', u32],
  ['minimum', u32],
);
rr(T.MB, 'MB', C, ['madname', name]);
rr(T.MG, 'MG', C, ['mgmname', name]);
rr(T.MR, 'MR', C, ['newname', name]);
rr(T.PTR, 'PTR', C, ['ptrdname', name]);
rr(T.HINFO, 'HINFO', P, ['cpu', str], ['os', str]);
rr(T.MINFO, 'MINFO', C, ['rmailbx', name], ['emailbx', name]);
rr(T.MX, 'MX', C, ['preference', u16], ['exchange', name]);
rr(T.TXT, 'TXT', P, ['text', strs]);
// RFC 1183, RFC 2163
rr(T.RP, 'RP', A, ['mbox', name], ['txt', name]);
rr(T.AFSDB, 'AFSDB', A, ['subtype', u16], ['hostname', name]);
rr(T.RT, 'RT', A, ['preference', u16], ['host', name]);
rr(T.PX, 'PX', A, ['preference', u16], ['map822', name], ['mapx400', name]);
// RFC 3596, RFC 1876, RFC 2782, RFC 3403, RFC 2230, RFC 4398, RFC 6672
rr(T.AAAA, 'AAAA', P, ['address', ipv6]);
rr(T.LOC, 'LOC', P, ['location', loc]);
rr(T.SRV, 'SRV', A, ['priority', u16], ['weight', u16], ['port', u16], ['target', name]);
rr(
  T.NAPTR,
  'NAPTR',
  A,
  ['order', u16],
  ['preference', u16],
  ['flags', str],
  ['services', str],
  ['regexp', str],
  ['replacement', name],
);
rr(T.KX, 'KX', L, ['preference', u16], ['exchanger', name]);
rr(T.CERT, 'CERT', P, ['type', u16], ['keytag', u16], ['algorithm', u8], ['certificate', base64ToEnd]);
rr(T.DNAME, 'DNAME', L, ['target', name]);
// DNSSEC: RFC 4034, RFC 5155, RFC 7344, RFC 2535 (SIG/KEY share the RRSIG/DNSKEY layouts)
rr(T.DS, 'DS', P, ['keytag', u16], ['algorithm', u8], ['digesttype', u8], ['digest', hexToEnd]);
rr(T.CDS, 'CDS', P, ['keytag', u16], ['algorithm', u8], ['digesttype', u8], ['digest', hexToEnd]);
rr(T.DLV, 'DLV', P, ['keytag', u16], ['algorithm', u8], ['digesttype', u8], ['digest', hexToEnd]);
rr(T.SSHFP, 'SSHFP', P, ['algorithm', u8], ['fptype', u8], ['fingerprint', hexToEnd]);
const SIG_FIELDS: [string, Kind][] = [
  ['typecovered', rrtype],
  ['algorithm', u8],
  ['labels', u8],
  ['origttl', u32],
  ['expiration', time],
  ['inception', time],
  ['keytag', u16],
  ['signer', name],
  ['signature', base64ToEnd],
];
rr(T.RRSIG, 'RRSIG', L, ...SIG_FIELDS);
rr(T.SIG, 'SIG', A, ...SIG_FIELDS);
rr(T.NSEC, 'NSEC', P, ['next', name], ['types', typeBitmap]);
const KEY_FIELDS: [string, Kind][] = [
  ['flags', u16],
  ['protocol', u8],
  ['algorithm', u8],
  ['publickey', base64ToEnd],
];
rr(T.DNSKEY, 'DNSKEY', P, ...KEY_FIELDS);
rr(T.CDNSKEY, 'CDNSKEY', P, ...KEY_FIELDS);
rr(T.KEY, 'KEY', P, ...KEY_FIELDS);
rr(T.DHCID, 'DHCID', P, ['digest', base64ToEnd]);
rr(
  T.NSEC3,
  'NSEC3',
  P,
  ['hashalg', u8],
  ['flags', u8],
  ['iterations', u16],
  ['salt', hexLen8],
  ['next', base32Len8],
  ['types', typeBitmap],
);
rr(T.NSEC3PARAM, 'NSEC3PARAM', P, ['hashalg', u8], ['flags', u8], ['iterations', u16], ['salt', hexLen8]);
// DANE and friends: RFC 6698, RFC 8162, RFC 7929
rr(T.TLSA, 'TLSA', P, ['usage', u8], ['selector', u8], ['matchingtype', u8], ['data', hexToEnd]);
rr(T.SMIMEA, 'SMIMEA', P, ['usage', u8], ['selector', u8], ['matchingtype', u8], ['data', hexToEnd]);
rr(T.OPENPGPKEY, 'OPENPGPKEY', P, ['publickey', base64ToEnd]);
// RFC 7477, RFC 8976, RFC 9460
rr(T.CSYNC, 'CSYNC', P, ['serial', u32], ['flags', u16], ['types', typeBitmap]);
rr(T.ZONEMD, 'ZONEMD', P, ['serial', u32], ['scheme', u8], ['hashalg', u8], ['digest', hexToEnd]);
rr(T.SVCB, 'SVCB', P, ['priority', u16], ['target', name], ['params', svcParams]);
rr(T.HTTPS, 'HTTPS', P, ['priority', u16], ['target', name], ['params', svcParams]);
// RFC 7208 (SPF), RFC 6742 (ILNP), RFC 7043, RFC 7553, RFC 8659
rr(T.SPF, 'SPF', P, ['text', strs]);
rr(T.L32, 'L32', P, ['preference', u16], ['locator32', ipv4]);
rr(T.LP, 'LP', P, ['preference', u16], ['fqdn', name]);
rr(T.EUI48, 'EUI48', P, ['address', eui48]);
rr(T.EUI64, 'EUI64', P, ['address', eui64]);
rr(T.URI, 'URI', P, ['priority', u16], ['weight', u16], ['target', textToEnd]);
rr(T.CAA, 'CAA', P, ['flags', u8], ['tag', caaTag], ['value', textToEnd]);

export function descriptorOf(type: number): Descriptor | undefined {
  return DESCRIPTORS.get(type);
}

/** Every type with a descriptor (for the round-trip test harness). */
export function describedTypes(): number[] {
  return [...DESCRIPTORS.keys()];
}
