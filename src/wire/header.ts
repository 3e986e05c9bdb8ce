/**
 * The 12-octet message header (RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2). decodeHeader() is cheap and
 * allocation-light so the server can decide from the header alone whether to answer at all (never a response).
 */

interface Header {
  id: number;
  /** The 16-bit flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and the low 4 bits of the rcode. */
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export const HEADER_SIZE = 12;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;

const OPCODE_SHIFT = 11;

/** The header of a message, or null when there are fewer than 12 octets. */
export function decodeHeader(buf: Uint8Array): Header | null {
  if (buf.length < HEADER_SIZE) return null;
  return {
    id: (buf[0]! << 8) | buf[1]!,
    flags: (buf[2]! << 8) | buf[3]!,
    qdcount: (buf[4]! << 8) | buf[5]!,
    ancount: (buf[6]! << 8) | buf[7]!,
    nscount: (buf[8]! << 8) | buf[9]!,
    arcount: (buf[10]! << 8) | buf[11]!,
  };
}

export function qr(flags: number): boolean {
  return (flags & FLAG_QR) !== 0;
}
export function opcode(flags: number): number {
  return (flags >>> OPCODE_SHIFT) & 0xf;
}
export function rd(flags: number): boolean {
  return (flags & FLAG_RD) !== 0;
}
/** The low 4 bits of the rcode (the upper 8 live in the OPT TTL, RFC 6891 §6.1.3). */
export function rcode(flags: number): number {
  return flags & 0xf;
}

/** A flags word from its parts (unnamed bits zero). */
export function makeFlags(parts: {
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
}): number {
  return (
    (parts.qr ? FLAG_QR : 0) |
    (((parts.opcode ?? 0) & 0xf) << OPCODE_SHIFT) |
    (parts.aa ? FLAG_AA : 0) |
    (parts.tc ? FLAG_TC : 0) |
    (parts.rd ? FLAG_RD : 0) |
    (parts.ra ? FLAG_RA : 0) |
    (parts.ad ? FLAG_AD : 0) |
    (parts.cd ? FLAG_CD : 0) |
    ((parts.rcode ?? 0) & 0xf)
  );
}
