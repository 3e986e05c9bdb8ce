/**
 * Response rate limiting over UDP, in the manner of NSD and Knot (after Vixie and Schryver's "DNS Response Rate
 * Limiting", ISC-TN-2012-1): a spoofed-source flood makes an authoritative server send the same few answers
 * to a victim, so identical answers to one client network are limited, not queries. A token bucket per
 * (source prefix, response class, name):
 *   answer    per qname and qtype          NODATA   per qname
 *   (an answer or NODATA synthesised from a wildcard: per wildcard owner, `*.example.`, as NSD and Knot do,
 *   so that a flood of random names under a wildcard shares one bucket)
 *   NXDOMAIN  per zone (the SOA's owner)   referral per delegation (the NS owner)
 *   error     per source prefix only (FORMERR, SERVFAIL, NOTIMP, REFUSED...)
 * The bucket holds `rate` tokens (one second's worth) and refills at `rate` per second. A response without a
 * token is dropped, except every `slip`-th one of its bucket, which is sent truncated (TC=1, no records): a real
 * client retries over TCP, which is never limited; a victim gets nothing larger than its query.
 * The buckets live in a fixed table (like Knot's): a bucket whose slot another flow takes starts afresh, and
 * the slot of a flow is picked with a hash seeded at random, so a client cannot aim at another's bucket.
 */
import { randomBytes } from 'node:crypto';
import { FLAG_AA, FLAG_TC } from '../wire/header.js';
import { RCODE } from '../wire/types.js';
import { firstQuestionEnd } from './handler.js';

export interface RrlOptions {
  /** Responses per second per bucket; 0 turns limiting off. */
  readonly rate: number;
  /** Every slip-th limited response is sent truncated, the others dropped; 0 drops them all, 1 slips all. */
  readonly slip: number;
  /** Prefix lengths that make a client network (Knot and NSD: /24; /56 as Knot, a site's usual IPv6 size). */
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  /** Buckets in the table (a power of two). */
  readonly tableSize?: number;
}

export type RrlAction = 'pass' | 'drop' | 'slip';

const Kind = { Answer: 1, Nodata: 2, Nxdomain: 3, Referral: 4, Error: 5 } as const;

const DEFAULT_TABLE = 1 << 17;

export class RateLimiter {
  private readonly mask: number;
  /** Per slot: the flow's fingerprint (0: free), tokens, the time they were counted (ms), limited responses. */
  private readonly flow: Uint32Array;
  private readonly tokens: Float64Array;
  private readonly stamp: Float64Array;
  private readonly limited: Uint32Array;
  private readonly seed: number;

  constructor(
    private readonly opts: RrlOptions,
    private readonly now: () => number,
  ) {
    const size = opts.tableSize ?? DEFAULT_TABLE;
    if (size < 1 || (size & (size - 1)) !== 0) throw new RangeError(`rrl: table size ${size} is not a power of two`);
    this.mask = size - 1;
    this.flow = new Uint32Array(size);
    this.tokens = new Float64Array(size);
    this.stamp = new Float64Array(size);
    this.limited = new Uint32Array(size);
    this.seed = randomBytes(4).readUInt32LE(0);
  }

  /**
   * What to do with `response` to a client at `ip` (4 or 16 octets). `wildcard`: the wire form of the wildcard
   * owner whose expansion answered the question (handler.ts's ResponseNote), which then names the flow.
   */
  decide(ip: Uint8Array, response: Uint8Array, wildcard: Uint8Array | null = null): RrlAction {
    const h = this.flowHash(ip, response, wildcard);
    if (h === 0) return 'pass';
    const slot = h & this.mask;
    const t = this.now();
    const rate = this.opts.rate;
    if (this.flow[slot] !== h) {
      this.flow[slot] = h;
      this.tokens[slot] = rate;
      this.stamp[slot] = t;
      this.limited[slot] = 0;
    } else {
      const elapsed = Math.max(0, t - this.stamp[slot]!);
      this.tokens[slot] = Math.min(rate, this.tokens[slot]! + (elapsed * rate) / 1000);
      this.stamp[slot] = t;
    }
    if (this.tokens[slot]! >= 1) {
      this.tokens[slot]! -= 1;
      return 'pass';
    }
    const n = ++this.limited[slot]!;
    return this.opts.slip > 0 && n % this.opts.slip === 0 ? 'slip' : 'drop';
  }

  /**
   * FNV-1a (seeded) over the client's prefix, the response class and its name (lower-cased; the qtype too for
   * answers; the wildcard's owner instead of the qname for answers and NODATA from a wildcard); never 0 (0 marks
   * a free slot), or 0 for a message too short to classify.
   */
  private flowHash(ip: Uint8Array, r: Uint8Array, wildcard: Uint8Array | null): number {
    if (r.length < 12) return 0;
    let h = (0x811c9dc5 ^ this.seed) >>> 0;
    const bits = ip.length === 4 ? this.opts.ipv4Prefix : this.opts.ipv6Prefix;
    for (let i = 0; i * 8 < bits; i++) h = fnv(h, ip[i]! & (0xff << Math.max(0, 8 - (bits - i * 8))));
    h = fnv(h, ip.length);
    const rcode = r[3]! & 0x0f;
    const an = (r[6]! << 8) | r[7]!;
    const ns = (r[8]! << 8) | r[9]!;
    const qEnd = firstQuestionEnd(r);
    let kind: number;
    if (rcode === RCODE.NOERROR && an > 0) kind = Kind.Answer;
    else if (rcode === RCODE.NOERROR && !(((r[2]! << 8) | r[3]!) & FLAG_AA) && ns > 0) kind = Kind.Referral;
    else if (rcode === RCODE.NOERROR) kind = Kind.Nodata;
    else if (rcode === RCODE.NXDOMAIN) kind = Kind.Nxdomain;
    else kind = Kind.Error;
    h = fnv(h, kind);
    if (qEnd > 12 && kind !== Kind.Error) {
      // NXDOMAIN and referrals are told apart by the authority's first owner (ANCOUNT is 0 for both).
      const byOwner = (kind === Kind.Nxdomain || kind === Kind.Referral) && ns > 0 && an === 0 && qEnd < r.length;
      const byWildcard = wildcard !== null && (kind === Kind.Answer || kind === Kind.Nodata);
      h = byWildcard ? hashName(wildcard, 0, h) : hashName(r, byOwner ? qEnd : 12, h);
      if (kind === Kind.Answer) h = fnv(fnv(h, r[qEnd - 4]!), r[qEnd - 3]!);
    }
    return h === 0 ? 1 : h;
  }
}

/** One FNV-1a step. */
function fnv(h: number, b: number): number {
  return Math.imul(h ^ b, 0x01000193) >>> 0;
}

/** `h` with the lower-cased labels of the name at `p` hashed in (compression followed, at most 128 hops). */
function hashName(m: Uint8Array, p: number, h: number): number {
  for (let hops = 0; p < m.length && hops < 128; hops++) {
    const l = m[p]!;
    if (l === 0) return h;
    if (l >= 0xc0) {
      if (p + 1 >= m.length) return h;
      p = ((l & 0x3f) << 8) | m[p + 1]!;
      continue;
    }
    h = fnv(h, l);
    for (let i = p + 1; i <= p + l && i < m.length; i++) {
      const b = m[i]!;
      h = fnv(h, b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
    }
    p += l + 1;
  }
  return h;
}

/**
 * The truncated stand-in for a limited response: its header (ID, flags, rcode) with TC set and the question,
 * no records and no OPT, so it is never larger than the query (no amplification), and a real client retries
 * over TCP (RFC 7766 §5).
 */
export function slipped(response: Uint8Array): Uint8Array {
  const qEnd = firstQuestionEnd(response);
  const out = Buffer.alloc(qEnd);
  out.set(response.subarray(0, qEnd));
  out[2] = out[2]! | (FLAG_TC >>> 8);
  out[4] = 0;
  out[5] = qEnd > 12 ? 1 : 0;
  out.fill(0, 6, 12);
  return out;
}
