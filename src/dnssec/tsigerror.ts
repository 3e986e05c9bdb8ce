/**
 * Answers to requests whose TSIG failed (RFC 8945 §5.3.2): NOTAUTH with a TSIG that carries the error; unsigned
 * when the key or the MAC was the problem (we may not hold the key, and a request MAC that failed is nothing to
 * chain a signature to), signed when only the time or the MAC length was.
 */
import { encodeTsigRR, appendTsigRR, u48Bytes } from './tsigrr.js';
import { BADKEY, BADSIG, BADTIME, RCODE_NOTAUTH, sign, TSIG_NOERROR, TsigError, type VerifyResult } from './tsig.js';

/**
 * The TSIG of an error answer to a request that failed verify() with a TSIG error (RFC 8945 §5.3.2): for BADKEY
 * and BADSIG an unsigned TSIG (MAC Size 0) with the request's key name and algorithm; for BADTIME and BADTRUNC a
 * TSIG signed with the request's key and chained to its MAC. BADTIME carries our time in Other Data and the
 * request's Time Signed (§5.2.3), so the client can check the answer with its own clock and see the skew. Sets
 * the header RCODE to NOTAUTH. `response` is the encoded answer without TSIG.
 */
export function errorResponse(
  response: Uint8Array,
  failed: Extract<VerifyResult, { ok: false }>,
  now: number,
): Uint8Array {
  const req = failed.record;
  if (!req || failed.error === TSIG_NOERROR) throw new TsigError('errorResponse needs a failure with a TSIG error');
  const msg = new Uint8Array(response); // a copy even of a Buffer (whose slice is a view)
  msg[3] = (msg[3]! & 0xf0) | RCODE_NOTAUTH;
  if (failed.error === BADKEY || failed.error === BADSIG || !failed.key) {
    const rr = encodeTsigRR({
      ...req,
      timeSigned: now,
      mac: new Uint8Array(0),
      originalId: (msg[0]! << 8) | msg[1]!,
      error: failed.error,
      otherData: new Uint8Array(0),
    });
    return appendTsigRR(msg, rr);
  }
  const badTime = failed.error === BADTIME;
  return sign(msg, failed.key, {
    time: badTime ? req.timeSigned : now,
    fudge: req.fudge,
    chain: { mac: req.mac },
    error: failed.error,
    otherData: badTime ? u48Bytes(now) : new Uint8Array(0),
  });
}
