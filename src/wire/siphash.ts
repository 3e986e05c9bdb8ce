/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the keyed hash RFC 9018 §4.2
 * builds DNS server cookies from. 64-bit words are kept as pairs of 32-bit halves (no BigInt on the query path).
 * Input words and the output are little-endian, as in the reference implementation: the output octets are those
 * of the paper's test vectors and of RFC 9018 Appendix A.
 */

/** v0..v3 as [hi, lo] pairs: v[0] v[1] = v0, v[2] v[3] = v1, ... (reused: hashing is synchronous). */
const v = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = v[a + 1]! + v[b + 1]!;
  v[a] = v[a]! + v[b]! + (lo > 0xffffffff ? 1 : 0);
  v[a + 1] = lo;
}

function rotl(a: number, n: number): void {
  const hi = v[a]!;
  const lo = v[a + 1]!;
  if (n === 32) {
    v[a] = lo;
    v[a + 1] = hi;
  } else if (n < 32) {
    v[a] = (hi << n) | (lo >>> (32 - n));
    v[a + 1] = (lo << n) | (hi >>> (32 - n));
  } else {
    v[a] = (lo << (n - 32)) | (hi >>> (64 - n));
    v[a + 1] = (hi << (n - 32)) | (lo >>> (64 - n));
  }
}

function xor(a: number, b: number): void {
  v[a] = v[a]! ^ v[b]!;
  v[a + 1] = v[a + 1]! ^ v[b + 1]!;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function le32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** One message word (hi, lo) into the state: v3 ^= m, two rounds (the "2" of 2-4), v0 ^= m. */
function compress(hi: number, lo: number): void {
  v[V3] = v[V3]! ^ hi;
  v[V3 + 1] = v[V3 + 1]! ^ lo;
  sipRound();
  sipRound();
  v[V0] = v[V0]! ^ hi;
  v[V0 + 1] = v[V0 + 1]! ^ lo;
}

/** SipHash-2-4 of `msg` under the 16-octet `key`: 8 octets. */
export function sipHash24(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 octets (got ${key.length})`);
  const k0lo = le32(key, 0);
  const k0hi = le32(key, 4);
  const k1lo = le32(key, 8);
  const k1hi = le32(key, 12);
  // "somepseudorandomlygeneratedbytes" (the paper's initialisation constants)
  v[V0] = k0hi ^ 0x736f6d65;
  v[V0 + 1] = k0lo ^ 0x70736575;
  v[V1] = k1hi ^ 0x646f7261;
  v[V1 + 1] = k1lo ^ 0x6e646f6d;
  v[V2] = k0hi ^ 0x6c796765;
  v[V2 + 1] = k0lo ^ 0x6e657261;
  v[V3] = k1hi ^ 0x74656462;
  v[V3 + 1] = k1lo ^ 0x79746573;
  const whole = msg.length - (msg.length % 8);
  for (let p = 0; p < whole; p += 8) compress(le32(msg, p + 4), le32(msg, p));
  // The last word: the remaining octets, and the message length mod 256 in the top octet.
  const tail = new Uint8Array(8);
  tail.set(msg.subarray(whole));
  tail[7] = msg.length & 0xff;
  compress(le32(tail, 4), le32(tail, 0));
  v[V2 + 1] = v[V2 + 1]! ^ 0xff;
  for (let i = 0; i < 4; i++) sipRound();
  const hi = (v[V0]! ^ v[V1]! ^ v[V2]! ^ v[V3]!) >>> 0;
  const lo = (v[V0 + 1]! ^ v[V1 + 1]! ^ v[V2 + 1]! ^ v[V3 + 1]!) >>> 0;
  const out = new Uint8Array(8);
  for (let i = 0; i < 4; i++) {
    out[i] = (lo >>> (8 * i)) & 0xff;
    out[4 + i] = (hi >>> (8 * i)) & 0xff;
  }
  return out;
}
