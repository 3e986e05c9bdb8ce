/**
 * Address prefixes of `transfer.allow` (docs/zone-format.md): `198.51.100.0/24`, `2001:db8::/48` or a bare
 * address (a prefix of its full length), and whether a client address falls inside one. Addresses are read
 * with the wire module's parsers, so the same text is accepted here as in A and AAAA records (RFC 4291 §2.2).
 */
import { ipv4Format, ipv4Parse, ipv6Format, ipv6Parse } from '../wire/text.js';
import type { AddressPrefix } from './settings.js';

/** The octets of an IPv4 or IPv6 address, or null when it is neither. */
export function addressBytes(text: string): Uint8Array | null {
  try {
    return text.includes(':') ? ipv6Parse(text) : ipv4Parse(text);
  } catch {
    return null;
  }
}

/** Parses `ADDR` or `ADDR/LEN`; throws an Error saying what is wrong. Host bits must be zero. */
export function parsePrefix(text: string): AddressPrefix {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = addressBytes(addr);
  if (!bytes) throw new Error(`"${addr}" is not an IPv4 or IPv6 address`);
  const max = bytes.length * 8;
  let length = max;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    length = /^\d{1,3}$/.test(len) ? Number(len) : NaN;
    if (!(length <= max)) throw new Error(`"/${len}" is not a prefix length 0..${max}`);
  }
  for (let bit = length; bit < max; bit++)
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7)))
      throw new Error(`"${text}" has bits set past the prefix length (did you mean ${network(bytes, length)}?)`);
  return { family: bytes.length === 4 ? 4 : 6, bytes, length, text };
}

/** The prefix written with its host bits cleared, for the message above. */
function network(bytes: Uint8Array, length: number): string {
  const b = bytes.slice();
  for (let bit = length; bit < b.length * 8; bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${b.length === 4 ? ipv4Format(b) : ipv6Format(b)}/${length}`;
}

/**
 * Whether a client address (as a socket reports it) is inside the prefix. An IPv4 client on a dual-stack
 * socket is reported as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): it is matched as the IPv4 address it is.
 */
export function prefixContains(prefix: AddressPrefix, address: string): boolean {
  let bytes = addressBytes(address);
  if (bytes && bytes.length === 16 && prefix.family === 4 && isV4Mapped(bytes)) bytes = bytes.subarray(12);
  if (!bytes || bytes.length !== prefix.bytes.length) return false;
  for (let bit = 0; bit < prefix.length; bit += 8) {
    const bits = Math.min(8, prefix.length - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((bytes[bit >> 3]! & mask) !== prefix.bytes[bit >> 3]!) return false;
  }
  return true;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}
