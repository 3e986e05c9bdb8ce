/**
 * A strict, allocation-light reader for the common query shape, used to serve response-cache hits without a
 * full decode: header with QDCOUNT=1, ANCOUNT=NSCOUNT=0, ARCOUNT<=1; one uncompressed question name; at most
 * one OPT RR with a root owner and no options; no trailing bytes.
 *
 * Anything else returns null and takes the full decoder's path, which makes every decision about malformed
 * input (FORMERR, BADVERS, ...). So this function never decides an error: it only recognises the easy case.
 * A test checks that whenever it accepts a message, decodeMessage accepts it too and agrees on every field.
 */

export interface SimpleQuery {
  /** Lower-cased wire form of the question name as a latin1 string (the same as Name.key). */
  readonly key: string;
  readonly qtype: number;
  readonly qclass: number;
  /** Offset just after the question section. */
  readonly questionEnd: number;
  readonly hasEdns: boolean;
  readonly udpSize: number;
  readonly dnssecOk: boolean;
  readonly ednsVersion: number;
}

/** The lower-cased question name of the query being read (255 octets, and room for a label too many). */
const keyScratch = Buffer.allocUnsafeSlow(256 + 64);

export function peekSimpleQuery(buf: Uint8Array): SimpleQuery | null {
  const len = buf.length;
  if (len < 17) return null;
  if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0)
    return null;
  const ar = buf[11]!;
  if (ar > 1) return null;
  // The key is written lower-cased into a scratch buffer and decoded in one call: a flat string, where
  // appending a character at a time builds a rope that every later charCodeAt (canonical comparisons) and hash
  // has to walk or flatten first.
  let p = 12;
  for (;;) {
    if (p >= len) return null;
    const l = buf[p]!;
    if (l === 0) break;
    if (l > 63 || p + 1 + l >= len) return null;
    keyScratch[p - 12] = l;
    for (let i = p + 1; i <= p + l; i++) {
      const b = buf[i]!;
      keyScratch[i - 12] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    }
    p += l + 1;
    if (p - 12 > 254) return null; // with the root label the name would exceed 255 octets
  }
  keyScratch[p - 12] = 0;
  p++;
  if (p + 4 > len) return null;
  const key = keyScratch.toString('latin1', 0, p - 12);
  const qtype = (buf[p]! << 8) | buf[p + 1]!;
  const qclass = (buf[p + 2]! << 8) | buf[p + 3]!;
  const questionEnd = p + 4;
  if (ar === 0) {
    if (questionEnd !== len) return null;
    return { key, qtype, qclass, questionEnd, hasEdns: false, udpSize: 512, dnssecOk: false, ednsVersion: 0 };
  }
  // Exactly one OPT RR: root owner (0), TYPE 41, CLASS = UDP size, TTL = ext-rcode, version, flags; RDLENGTH 0.
  if (questionEnd + 11 !== len) return null;
  const o = questionEnd;
  if (buf[o] !== 0 || buf[o + 1] !== 0 || buf[o + 2] !== 41) return null;
  if (buf[o + 9] !== 0 || buf[o + 10] !== 0) return null;
  return {
    key,
    qtype,
    qclass,
    questionEnd,
    hasEdns: true,
    udpSize: (buf[o + 3]! << 8) | buf[o + 4]!,
    dnssecOk: (buf[o + 7]! & 0x80) !== 0,
    ednsVersion: buf[o + 6]!,
  };
}
