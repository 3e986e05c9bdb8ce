/**
 * Serial number arithmetic (RFC 1982) with SERIAL_BITS = 32: for SOA serials (RFC 1035 §3.3.13, RFC 1982 §7)
 * and for the RRSIG inception and expiration fields, which RFC 4034 §3.1.5 compares the same way. Numbers are
 * plain JavaScript numbers holding 0..2^32-1.
 */

/** 2^32: a serial is a 32-bit field. */
const SERIAL_MODULUS = 0x1_0000_0000;
/** 2^31: two serials this far apart or further cannot be ordered (RFC 1982 §3.2). */
export const SERIAL_HALF = 0x8000_0000;

/** `n` modulo 2^32, in 0..2^32-1 also for negative integers (the 32-bit field that holds `n`). */
export function serialOf(n: number): number {
  return ((n % SERIAL_MODULUS) + SERIAL_MODULUS) % SERIAL_MODULUS;
}

/** RFC 1982 §3.1 addition: serial + n modulo 2^32 (n < 2^31). */
export function serialAdd(serial: number, n: number): number {
  return serialOf(serial + n);
}

/**
 * `a - b` in serial arithmetic (RFC 1982 §3.2): a value in [-2^31, 2^31). Positive means `a` is greater (later)
 * than `b`; -2^31 is the pair RFC 1982 leaves undefined, neither greater nor less.
 */
export function serialDiff(a: number, b: number): number {
  const d = serialOf(a - b);
  return d >= SERIAL_HALF ? d - SERIAL_MODULUS : d;
}

/** RFC 1982 §3.2: true when `a` is greater than `b` in serial arithmetic (false for the undefined pairs). */
export function serialGreater(a: number, b: number): boolean {
  return serialDiff(a, b) > 0;
}
