/**
 * DS records for a zone's keys (RFC 4034 §5): what the operator gives the parent zone.
 *
 * RFC 4034 §5.1.4: "digest = digest_algorithm( DNSKEY owner name | DNSKEY RDATA)", where the owner name is in
 * canonical form (RFC 4034 §6.2: uncompressed, ASCII letters lower-cased). Digest types: 2 = SHA-256
 * (RFC 4509, mandatory), 4 = SHA-384 (RFC 6605 §2). SHA-1 (type 1) is not offered: RFC 8624 §3.3 says MUST NOT
 * for DS generation. Pure functions of their arguments.
 */
import { createHash } from 'node:crypto';
import { lowerWire, nameToText, type Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { T } from '../wire/types.js';
import { KeyError, keyTag } from './keys.js';

const DIGEST_SHA256 = 2;
const DIGEST_SHA384 = 4;

const HASHES: ReadonlyMap<number, string> = new Map([
  [DIGEST_SHA256, 'sha256'],
  [DIGEST_SHA384, 'sha384'],
]);

/**
 * DS rdata (RFC 4034 §5.1): key tag, algorithm (copied from the DNSKEY), digest type, digest over the canonical
 * owner name followed by the DNSKEY rdata. Throws KeyError E_KEY_ALGORITHM for an unsupported digest type and
 * E_KEY_INVALID for rdata too short to be a DNSKEY.
 */
export function dsRdata(zone: Name, dnskeyRdata: Uint8Array, digestType = DIGEST_SHA256): Uint8Array {
  const hash = HASHES.get(digestType);
  if (!hash)
    throw new KeyError(
      'E_KEY_ALGORITHM',
      `DS digest type ${digestType} is not supported (use 2 = SHA-256 or 4 = SHA-384)`,
    );
  if (dnskeyRdata.length < 5) throw new KeyError('E_KEY_INVALID', `DNSKEY rdata of ${dnskeyRdata.length} octets`);
  const digest = createHash(hash).update(lowerWire(zone.wire)).update(dnskeyRdata).digest();
  const tag = keyTag(dnskeyRdata);
  const out = new Uint8Array(4 + digest.length);
  out[0] = tag >> 8;
  out[1] = tag & 0xff;
  out[2] = dnskeyRdata[3]!;
  out[3] = digestType;
  out.set(digest, 4);
  return out;
}

/**
 * A zone-file line for the DS, as the parent would publish it: `example.com. 3600 IN DS 12345 13 2 ABCD...`
 * (digest in upper-case hex, as kdig and dnssec-dsfromkey print it).
 */
export function dsText(zone: Name, dnskeyRdata: Uint8Array, digestType = DIGEST_SHA256, ttl = 3600): string {
  return `${nameToText(zone)} ${ttl} IN DS ${rdataToText(T.DS, dsRdata(zone, dnskeyRdata, digestType))}`;
}
