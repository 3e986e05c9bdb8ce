/**
 * Verifying what a server answered: the RRs of one type at one owner, and whether a current RRSIG over them
 * verifies with one of the given DNSKEYs (RFC 4035 §5.3). Shared by `dane-ns check` (audit.ts) and
 * `dane-ns healthcheck` (health.ts).
 */
import type { Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import type { RR } from '../wire/message.js';
import { rrsigCurrent, verifyRRsig } from '../dnssec/sign.js';
import { parseRrsig } from '../dnssec/canonical.js';
import { keyTag } from '../dnssec/keys.js';

interface VerifiedRRset {
  readonly rdatas: Uint8Array[];
  /** `valid`: a current RRSIG verifies; `expired`: one verifies but is outside its validity; `bad`: none verifies. */
  readonly signed: 'valid' | 'missing' | 'bad' | 'expired';
  /** Expiration of the verifying RRSIG, in milliseconds (with `valid`). */
  readonly expires?: number;
}

/** RRs of `type` at `owner` in `answer`, and whether a current RRSIG over them verifies with one of `keys` (DNSKEY rdatas). */
export function verifiedRRset(
  answer: readonly RR[],
  owner: Name,
  type: number,
  keys: readonly Uint8Array[],
  now: number,
): VerifiedRRset {
  const rrs = answer.filter((r) => r.type === type && r.name.key === owner.key);
  const sigs = answer.filter(
    (r) => r.type === T.RRSIG && r.name.key === owner.key && ((r.rdata[0]! << 8) | r.rdata[1]!) === type,
  );
  const rdatas = rrs.map((r) => r.rdata);
  if (rrs.length === 0) return { rdatas, signed: 'missing' };
  if (sigs.length === 0) return { rdatas, signed: 'missing' };
  const rrset = { owner, type, ttl: rrs[0]!.ttl, rdatas };
  let sawExpired = false;
  for (const s of sigs) {
    const f = parseRrsig(s.rdata);
    const key = keys.find((k) => keyTag(k) === f.keyTag);
    if (!key || !verifyRRsig(rrset, s.rdata, key.subarray(4))) continue;
    if (!rrsigCurrent(s.rdata, Math.floor(now / 1000))) {
      sawExpired = true;
      continue;
    }
    return { rdatas, signed: 'valid', expires: f.expiration * 1000 };
  }
  return { rdatas, signed: sawExpired ? 'expired' : 'bad' };
}
