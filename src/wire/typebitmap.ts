/**
 * The type bitmap of RFC 4034 §4.1.2, shared by NSEC, NSEC3 (RFC 5155 §3.2.1) and CSYNC (RFC 7477 §2.1.2): per
 * window (the high octet of a type) that holds any type, the window number, the length of its bitmap (1-32
 * octets, trailing zero octets dropped) and the bitmap, most significant bit first; windows ascending. Used by
 * the rdata codec (rdata/kinds.ts) and by the NSEC chain builder (dnssec/nsec.ts).
 */

/**
 * The bitmap of a set of types. Order and duplicates do not matter. Throws RangeError for a value that is not an
 * integer in 0..65535.
 */
export function encodeTypeBitmap(types: Iterable<number>): Uint8Array {
  const present = new Set<number>();
  for (const t of types) {
    if (!Number.isInteger(t) || t < 0 || t > 0xffff)
      throw new RangeError(`type bitmap: ${String(t)} is not an RR type number`);
    present.add(t);
  }
  const sorted = [...present].sort((a, b) => a - b);
  const out: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = new Uint8Array(32);
    let used = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3] = bits[low >> 3]! | (0x80 >> (low & 7));
      used = (low >> 3) + 1;
    }
    out.push(window, used, ...bits.subarray(0, used));
  }
  return Uint8Array.from(out);
}

/**
 * What is wrong with the bitmap in b[pos, end), or null when it is well-formed (RFC 4034 §4.1.2): windows
 * ascending and unique, lengths 1-32, no trailing zero octet in a window, nothing past the last window.
 */
export function typeBitmapProblem(b: Uint8Array, pos: number, end: number): string | null {
  let previous = -1;
  while (pos < end) {
    if (pos + 2 > end) return 'type bitmap: truncated window header';
    const window = b[pos]!;
    const len = b[pos + 1]!;
    if (window <= previous) return `type bitmap: window ${window} out of order`;
    if (len < 1 || len > 32) return `type bitmap: window ${window} has ${len} octets (1-32)`;
    if (pos + 2 + len > end) return `type bitmap: window ${window} runs past the end`;
    if (b[pos + 1 + len] === 0) return `type bitmap: window ${window} ends with a zero octet`;
    previous = window;
    pos += 2 + len;
  }
  return null;
}

/**
 * The types of the bitmap in b[pos, end), ascending. Strict: throws RangeError naming the problem when
 * typeBitmapProblem finds one.
 */
export function decodeTypeBitmap(b: Uint8Array, pos = 0, end = b.length): number[] {
  const problem = typeBitmapProblem(b, pos, end);
  if (problem !== null) throw new RangeError(problem);
  const types: number[] = [];
  while (pos < end) {
    const window = b[pos]!;
    const len = b[pos + 1]!;
    for (let k = 0; k < len; k++) {
      const octet = b[pos + 2 + k]!;
      for (let bit = 0; bit < 8; bit++) if (octet & (0x80 >> bit)) types.push((window << 8) | (k * 8 + bit));
    }
    pos += 2 + len;
  }
  return types;
}
