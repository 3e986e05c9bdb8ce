/**
 * RR type and rcode numbers with their mnemonics, class and opcode numbers (IANA "Domain Name System (DNS)
 * Parameters"; RFC 1035 §3.2.2-§3.2.4, RFC 3597 §5 for the generic TYPEnnn form, RFC 6895 §2.3 for rcodes).
 */
import { WireError } from './errors.js';

export const T = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  SIG: 24,
  KEY: 25,
  PX: 26,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  SRV: 33,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  DLV: 32769,
} as const;

const TYPE_NAMES = new Map<number, string>();
const TYPE_NUMBERS = new Map<string, number>();
for (const [k, v] of Object.entries(T)) {
  TYPE_NAMES.set(v, k);
  TYPE_NUMBERS.set(k, v);
}

/** Parses the numeric suffix of the TYPEnnn form: decimal, 0..65535, no sign or spaces. */
function parseU16Suffix(s: string, prefixLen: number): number | null {
  if (s.length <= prefixLen || s.length > prefixLen + 5) return null;
  let v = 0;
  for (let i = prefixLen; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return v <= 0xffff ? v : null;
}

/** Mnemonic (case-insensitive) or `TYPEnnn` (RFC 3597 §5) -> type number. Throws WireError E_TYPE. */
export function typeFromText(s: string): number {
  const u = s.toUpperCase();
  const v = TYPE_NUMBERS.get(u);
  if (v !== undefined) return v;
  if (u.startsWith('TYPE')) {
    const n = parseU16Suffix(u, 4);
    if (n !== null) return n;
  }
  throw new WireError('E_TYPE', `unknown RR type "${s}"`);
}

/** Type number -> mnemonic, or `TYPEnnn` for types without one. */
export function typeToText(n: number): string {
  return TYPE_NAMES.get(n) ?? `TYPE${n}`;
}

/** Classes the codec needs (RFC 1035 §3.2.4, RFC 2136 §2.4 for NONE and ANY); zone files are IN only. */
export const CLASS_IN = 1;
export const CLASS_NONE = 254;
export const CLASS_ANY = 255;

/**
 * Response codes: every one in IANA's "DNS RCODEs" registry from 0 to 23 (RFC 6895 §2.3). 0-5 are RFC 1035
 * §4.1.1, 6-10 RFC 2136 §2.2, 11 RFC 8490 §10.2; 16-23 do not fit the header's 4 bits: they are extended rcodes
 * (upper 8 bits in the OPT record, RFC 6891 §6.1.3) or TSIG/TKEY errors (RFC 8945 §5.3.2, RFC 2930). 16 has
 * two names: BADVERS in OPT (RFC 6891 §9), BADSIG in TSIG; 12-15 are unassigned.
 */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
} as const;

/** Mnemonic per value; the first name listed wins (16 is BADVERS: this server speaks EDNS, not TSIG). */
const RCODE_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(RCODE)) if (!RCODE_NAMES.has(value)) RCODE_NAMES.set(value, name);

/** The mnemonic of a response code, or its decimal value when it has none (12-15, 24 and up). */
export function rcodeToText(n: number): string {
  return RCODE_NAMES.get(n) ?? String(n);
}

/** Opcodes (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE). */
export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;
