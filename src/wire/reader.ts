/**
 * A bounded cursor over untrusted bytes (anyone can send a query). Every read checks bounds and throws WireError; name
 * decompression (RFC 1035 §4.1.4) accepts only pointers that point strictly backwards, caps the number of
 * hops, and enforces the 63-octet label and 255-octet name limits on the expanded name.
 */
import { WireError } from './errors.js';
import { MAX_LABEL, MAX_NAME_WIRE, nameFromWire, type Name } from './name.js';

/**
 * Upper bound on pointers followed for one name: a legal name has at most 127 labels, and each hop must point
 * strictly backwards, so more hops than labels can only be an attack.
 */
const MAX_POINTERS = 127;

/** Scratch space for expanding one name; nameFromWire copies out of it, so reuse is safe (single-threaded). */
const scratch = new Uint8Array(MAX_NAME_WIRE);

export class Reader {
  readonly buf: Uint8Array;
  pos: number;
  /** Reads must not pass this offset (exclusive). */
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end)
      throw new WireError('E_SHORT', `need ${n} octet(s) at offset ${this.pos}, have ${this.end - this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    const v = ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
    this.pos += 4;
    return v;
  }

  /** A copy of the next n octets. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A copy of the remaining octets up to `end`. */
  rest(): Uint8Array {
    return this.bytes(this.end - this.pos);
  }

  /**
   * Reads a possibly compressed name. Pointers may target anything earlier in the whole message buffer
   * (not limited by `end`, which bounds only the uncompressed part read at the cursor).
   */
  name(allowCompression = true): Name {
    const out = scratch;
    let len = 0;
    let p = this.pos;
    let limit = this.end; // bound for the in-place part; after a jump, the whole buffer
    let jumped = false;
    let hops = 0;
    // Every label must start before this offset; a pointer must point strictly before the label it replaces.
    let lowestStart = p;
    for (;;) {
      if (p >= limit) throw new WireError('E_SHORT', `name runs past the end at offset ${p}`);
      const b = this.buf[p]!;
      if (b === 0) {
        out[len++] = 0;
        p++;
        break;
      }
      const kind = b & 0xc0;
      if (kind === 0xc0) {
        if (!allowCompression)
          throw new WireError('E_RDATA', `compression pointer where none is allowed at offset ${p}`);
        if (p + 1 >= limit) throw new WireError('E_SHORT', `pointer cut short at offset ${p}`);
        const target = ((b & 0x3f) << 8) | this.buf[p + 1]!;
        if (target >= lowestStart)
          throw new WireError('E_POINTER_FORWARD', `pointer at offset ${p} to ${target} does not point backwards`);
        if (++hops > MAX_POINTERS) throw new WireError('E_POINTER_LOOP', 'too many compression pointers');
        if (!jumped) {
          this.pos = p + 2;
          jumped = true;
        }
        limit = this.buf.length;
        lowestStart = target;
        p = target;
        continue;
      }
      if (kind !== 0) throw new WireError('E_LABEL_TYPE', `reserved label type 0x${b.toString(16)} at offset ${p}`);
      if (b > MAX_LABEL) throw new WireError('E_LABEL_TOO_LONG', `label of ${b} octets`);
      if (p + 1 + b > limit) throw new WireError('E_SHORT', `label runs past the end at offset ${p}`);
      if (len + b + 2 > MAX_NAME_WIRE) throw new WireError('E_NAME_TOO_LONG', 'name longer than 255 octets');
      out.set(this.buf.subarray(p, p + 1 + b), len);
      len += b + 1;
      if (p < lowestStart) lowestStart = p;
      p += b + 1;
    }
    if (!jumped) this.pos = p;
    return nameFromWire(out.subarray(0, len));
  }
}
