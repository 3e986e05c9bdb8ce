/**
 * Hostile queries for the decoder (layer 3 of the codec tests, after miekg's
 * TestUnpackDomainName). Every entry must make decodeMessage throw a WireError, quickly.
 *
 * Shared with the server tests: when `headerReadable` is true the entry is a QUERY (QR=0, opcode 0,
 * qdcount >= 1) and the server must answer FORMERR; when false it must stay silent.
 */

export interface HostilePacket {
  name: string;
  bytes: Uint8Array;
  headerReadable: boolean;
}

type Part = number | readonly number[] | Uint8Array | string;

/** Concatenates octets, arrays and ASCII strings. */
function b(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

/** Header of a query: id 0xbeef, RD, QR=0, opcode QUERY. */
function hdr(qd: number, an = 0, ns = 0, ar = 0): number[] {
  return [0xbe, 0xef, 0x01, 0x00, qd >> 8, qd & 0xff, an >> 8, an & 0xff, ns >> 8, ns & 0xff, ar >> 8, ar & 0xff];
}

function u16(v: number): number[] {
  return [v >> 8, v & 0xff];
}

/** Uncompressed wire name from dotted ASCII ("" = root). */
function wname(s: string): number[] {
  const out: number[] = [];
  for (const l of s.split('.').filter((x) => x.length > 0)) {
    out.push(l.length);
    for (let i = 0; i < l.length; i++) out.push(l.charCodeAt(i));
  }
  out.push(0);
  return out;
}

const EXAMPLE = wname('example.com');
/** The question "example.com. A IN" starting at offset 12 (so c0 0c points at it). */
const Q = [...EXAMPLE, ...u16(1), ...u16(1)];
const AFTER_Q = 12 + Q.length; // 29

/** An RR whose owner points at the question. */
function rr(type: number, rdata: readonly number[], rdlength = rdata.length, cls = 1): number[] {
  return [0xc0, 0x0c, ...u16(type), ...u16(cls), 0, 0, 0x0e, 0x10, ...u16(rdlength), ...rdata];
}

/** A valid OPT RR (udp 1232, DO), optionally with rdata. */
function opt(rdata: readonly number[] = [], owner: readonly number[] = [0]): number[] {
  return [...owner, ...u16(41), ...u16(1232), 0, 0, 0x80, 0, ...u16(rdata.length), ...rdata];
}

const LABEL63 = [63, ...new Array<number>(63).fill(0x61)];

export const HOSTILE: HostilePacket[] = [
  // ---- header ------------------------------------------------------------------------------------------
  { name: 'empty datagram', bytes: b(), headerReadable: false },
  { name: 'one octet', bytes: b(0xbe), headerReadable: false },
  { name: 'header cut at 11 octets', bytes: b(hdr(1).slice(0, 11)), headerReadable: false },
  // ---- question ----------------------------------------------------------------------------------------
  { name: 'qdcount 1, no question', bytes: b(hdr(1)), headerReadable: true },
  { name: 'question name cut mid-label', bytes: b(hdr(1), 7, 'exam'), headerReadable: true },
  { name: 'question without root label', bytes: b(hdr(1), 7, 'example', 3, 'com'), headerReadable: true },
  { name: 'question missing QTYPE/QCLASS', bytes: b(hdr(1), EXAMPLE, 0, 1), headerReadable: true },
  { name: 'qdcount 2, one question', bytes: b(hdr(2), Q), headerReadable: true },
  { name: 'qdcount 65535', bytes: b(hdr(0xffff), Q), headerReadable: true },
  { name: 'all counts 65535', bytes: b(hdr(0xffff, 0xffff, 0xffff, 0xffff), Q), headerReadable: true },
  { name: 'trailing octets after the question', bytes: b(hdr(1), Q, 0, 0, 0), headerReadable: true },
  // ---- names: pointers ---------------------------------------------------------------------------------
  { name: 'self pointer in question', bytes: b(hdr(1), 0xc0, 0x0c, u16(1), u16(1)), headerReadable: true },
  { name: 'forward pointer in question', bytes: b(hdr(1), 0xc0, 0x12, u16(1), u16(1), EXAMPLE), headerReadable: true },
  { name: 'pointer past the end of the message', bytes: b(hdr(1), 0xff, 0xff, u16(1), u16(1)), headerReadable: true },
  {
    name: 'pointer loop A -> B -> A',
    bytes: b(hdr(1), 1, 'a', 0xc0, 0x14, u16(1), u16(1), 1, 'b', 0xc0, 0x0c),
    headerReadable: true,
  },
  { name: 'pointer cut short at the end', bytes: b(hdr(1), 1, 'a', 0xc0), headerReadable: true },
  {
    name: 'pointer into the header that points at itself',
    bytes: b([0xc0, 0x00, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0], 0xc0, 0x00, u16(1), u16(1)),
    headerReadable: true,
  },
  {
    name: 'answer owner pointing at itself',
    bytes: b(hdr(1, 1), Q, 0xc0, AFTER_Q, u16(1), u16(1), 0, 0, 0, 0, u16(4), 192, 0, 2, 1),
    headerReadable: true,
  },
  // ---- names: lengths and label types ------------------------------------------------------------------
  {
    name: 'label length 64',
    bytes: b(hdr(1), 64, new Array<number>(64).fill(0x61), 0, u16(1), u16(1)),
    headerReadable: true,
  },
  {
    name: 'reserved label type 0x40 (extended label)',
    bytes: b(hdr(1), 0x41, 0, 0, u16(1), u16(1)),
    headerReadable: true,
  },
  { name: 'reserved label type 0x80', bytes: b(hdr(1), 0x80, 0x01, 0, u16(1), u16(1)), headerReadable: true },
  {
    name: 'name of 257 octets inline',
    bytes: b(hdr(1), LABEL63, LABEL63, LABEL63, LABEL63, 0, u16(1), u16(1)),
    headerReadable: true,
  },
  {
    name: 'name over 255 octets via a pointer',
    // question: three 63-octet labels (193 octets); answer owner: one more 63-octet label + pointer to it.
    bytes: b(
      hdr(1, 1),
      LABEL63,
      LABEL63,
      LABEL63,
      0,
      u16(1),
      u16(1),
      LABEL63,
      0xc0,
      0x0c,
      u16(1),
      u16(1),
      0,
      0,
      0,
      0,
      u16(4),
      192,
      0,
      2,
      1,
    ),
    headerReadable: true,
  },
  {
    name: 'name of 128 one-letter labels',
    bytes: b(
      hdr(1),
      new Array<number>(128).fill(0).flatMap(() => [1, 0x61]),
      0,
      u16(1),
      u16(1),
    ),
    headerReadable: true,
  },
  // ---- records -----------------------------------------------------------------------------------------
  {
    name: 'answer RR cut inside RDLENGTH',
    bytes: b(hdr(1, 1), Q, new Array<number>(11).fill(0)).subarray(0, 12 + Q.length + 10),
    headerReadable: true,
  },
  {
    name: 'additional RR cut inside RDLENGTH',
    bytes: b(hdr(1, 0, 0, 1), Q, 0xc0, 0x0c, u16(1), new Array<number>(7).fill(0)).subarray(0, AFTER_Q + 11),
    headerReadable: true,
  },
  { name: 'RDLENGTH past the end', bytes: b(hdr(1, 1), Q, rr(1, [192, 0, 2, 1], 40)), headerReadable: true },
  { name: 'A rdata of 3 octets', bytes: b(hdr(1, 1), Q, rr(1, [192, 0, 2])), headerReadable: true },
  { name: 'A rdata of 5 octets', bytes: b(hdr(1, 1), Q, rr(1, [192, 0, 2, 1, 9])), headerReadable: true },
  {
    name: 'AAAA rdata of 15 octets',
    bytes: b(hdr(1, 1), Q, rr(28, new Array<number>(15).fill(0))),
    headerReadable: true,
  },
  {
    name: 'MX rdata with a trailing octet',
    bytes: b(hdr(1, 1), Q, rr(15, [0, 10, 0xc0, 0x0c, 0x00])),
    headerReadable: true,
  },
  {
    name: 'MX exchange runs past RDLENGTH',
    bytes: b(hdr(1, 1), Q, rr(15, [0, 10, 1, 0x61, 0], 4)),
    headerReadable: true,
  },
  {
    name: 'MX exchange self pointer',
    bytes: b(hdr(1, 1), Q, rr(15, [0, 10, 0xc0, AFTER_Q + 14])),
    headerReadable: true,
  },
  {
    name: 'SOA rdata missing its counters',
    bytes: b(hdr(1, 1), Q, rr(6, [0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1])),
    headerReadable: true,
  },
  { name: 'TXT string longer than its rdata', bytes: b(hdr(1, 1), Q, rr(16, [10, 0x61, 0x62])), headerReadable: true },
  { name: 'TXT with empty rdata', bytes: b(hdr(1, 1), Q, rr(16, [])), headerReadable: true },
  { name: 'NSEC next name compressed', bytes: b(hdr(1, 1), Q, rr(47, [0xc0, 0x0c, 0, 1, 0x40])), headerReadable: true },
  {
    name: 'NSEC bitmap window of 33 octets',
    bytes: b(hdr(1, 1), Q, rr(47, [0, 0, 33, ...new Array<number>(33).fill(1)])),
    headerReadable: true,
  },
  {
    name: 'NSEC bitmap windows out of order',
    bytes: b(hdr(1, 1), Q, rr(47, [0, 1, 1, 0x40, 0, 1, 0x40])),
    headerReadable: true,
  },
  {
    name: 'RRSIG signer compressed',
    bytes: b(hdr(1, 1), Q, rr(46, [0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0xc0, 0x0c, 1])),
    headerReadable: true,
  },
  {
    name: 'SVCB keys out of order',
    bytes: b(hdr(1, 1), Q, rr(64, [0, 1, 0, 0, 3, 0, 2, 0, 53, 0, 1, 0, 3, 2, 0x68, 0x32])),
    headerReadable: true,
  },
  {
    name: 'SVCB port of 3 octets',
    bytes: b(hdr(1, 1), Q, rr(64, [0, 1, 0, 0, 3, 0, 3, 0, 0, 53])),
    headerReadable: true,
  },
  { name: 'CAA with an empty tag', bytes: b(hdr(1, 1), Q, rr(257, [0, 0, 0x61])), headerReadable: true },
  // ---- EDNS --------------------------------------------------------------------------------------------
  { name: 'two OPT records', bytes: b(hdr(1, 0, 0, 2), Q, opt(), opt()), headerReadable: true },
  { name: 'OPT in the answer section', bytes: b(hdr(1, 1), Q, opt()), headerReadable: true },
  { name: 'OPT in the authority section', bytes: b(hdr(1, 0, 1), Q, opt()), headerReadable: true },
  { name: 'OPT owner not the root', bytes: b(hdr(1, 0, 0, 1), Q, opt([], [0xc0, 0x0c])), headerReadable: true },
  {
    name: 'OPT option longer than the rdata',
    bytes: b(hdr(1, 0, 0, 1), Q, opt([0, 10, 0, 8, 1, 2])),
    headerReadable: true,
  },
  { name: 'OPT option header cut short', bytes: b(hdr(1, 0, 0, 1), Q, opt([0, 10, 0])), headerReadable: true },
  {
    name: 'OPT RDLENGTH past the end',
    bytes: b(hdr(1, 0, 0, 1), Q, [0, ...u16(41), ...u16(1232), 0, 0, 0, 0, ...u16(20)]),
    headerReadable: true,
  },
  { name: 'OPT then trailing garbage', bytes: b(hdr(1, 0, 0, 1), Q, opt(), 0xde, 0xad), headerReadable: true },
];
