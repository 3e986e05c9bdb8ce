/**
 * TSIG, secret key transaction authentication (RFC 8945): signing and verifying whole DNS messages with an HMAC,
 * for zone transfers, NOTIFY and dynamic updates between dane-ns and secondaries (NSD, Knot, BIND).
 *
 * Pure apart from node:crypto's HMAC. The MAC covers (§4.3):
 *   request (§4.3.1):            message + TSIG variables
 *   response (§4.3.2):           request MAC (MAC Size + MAC) + message + TSIG variables
 *   later message of a stream (§4.3.3, e.g. AXFR): prior MAC (MAC Size + MAC) + message + TSIG timers
 * where "message" is the message without its TSIG RR, with ARCOUNT one less and the Original ID as its ID.
 *
 * verify() follows the checks of RFC 8945 §5.2 in order: malformed or misplaced TSIG (FORMERR), unknown key or
 * algorithm (BADKEY), MAC size outside §5.2.2.1 (FORMERR), wrong MAC (BADSIG, compared in constant time), time
 * outside the fudge (BADTIME, §5.2.3), MAC shorter than local policy (BADTRUNC, §5.2.4); tsigerror.ts makes
 * the answer to each (§5.3.2). Only the HMAC-SHA algorithms of §6 are implemented; HMAC-MD5 is not.
 */
import { timingSafeEqual } from 'node:crypto';
import { WireError } from '../wire/errors.js';
import { HEADER_SIZE } from '../wire/header.js';
import type { Name } from '../wire/name.js';
import { algorithmFromName, algorithmName, hmacOf, macLength, TsigError, type TsigKey } from './tsigalg.js';
import {
  appendTsigRR,
  encodeTsigRR,
  findTsig,
  tsigTimers,
  tsigVariables,
  type FoundTsig,
  type TsigRecord,
} from './tsigrr.js';

export {
  algorithmFromName,
  algorithmName,
  DEFAULT_TSIG_ALGORITHM,
  macLength,
  parseTsigAlgorithm,
  TSIG_ALGORITHMS,
  TsigError,
  type TsigAlgorithm,
  type TsigKey,
} from './tsigalg.js';
export { findTsig, tsigRRSize, u48FromBytes, type FoundTsig, type TsigRecord } from './tsigrr.js';

/** TSIG error codes (RFC 8945 §5.2; IANA "DNS RCODEs"). */
export const TSIG_NOERROR = 0;
export const BADSIG = 16;
export const BADKEY = 17;
export const BADTIME = 18;
export const BADTRUNC = 22;

/** Header RCODEs a TSIG failure is answered with (RFC 8945 §5.2). */
export const RCODE_FORMERR = 1;
export const RCODE_REFUSED = 5;
export const RCODE_NOTAUTH = 9;

/** The fudge RFC 8945 §10 recommends: 300 seconds. */
export const DEFAULT_FUDGE = 300;

/** What a MAC is chained to: the request's (§4.3.2) or, in a stream, the previous message's (§4.3.3). */
export interface TsigChain {
  mac: Uint8Array;
  /** True for the second and later messages of a multi-message answer: only the timers are covered. */
  subsequent?: boolean;
}

function u16(v: number): Uint8Array {
  return new Uint8Array([(v >>> 8) & 0xff, v & 0xff]);
}

/** The message as the MAC sees it: `end` octets, ID replaced by the Original ID, ARCOUNT less `arLess`. */
function macMessage(msg: Uint8Array, end: number, originalId: number, arLess: number): Uint8Array {
  // A copy, never a view: Buffer#slice shares memory, and the received message must stay as it came.
  const m = new Uint8Array(msg.subarray(0, end));
  m[0] = originalId >>> 8;
  m[1] = originalId & 0xff;
  const ar = ((m[10]! << 8) | m[11]!) - arLess;
  m[10] = ar >>> 8;
  m[11] = ar & 0xff;
  return m;
}

/** The full-length MAC of a message (already in MAC form) under a TSIG record's variables (RFC 8945 §4.3). */
function computeMac(key: TsigKey, message: Uint8Array, record: TsigRecord, chain?: TsigChain): Uint8Array {
  const h = hmacOf(key.algorithm, key.secret);
  if (chain) h.update(u16(chain.mac.length)).update(chain.mac);
  h.update(message);
  h.update(chain?.subsequent ? tsigTimers(record) : tsigVariables(record));
  return new Uint8Array(h.digest());
}

export interface SignOptions {
  /** Time Signed, seconds since the epoch (default: now). */
  time?: number;
  fudge?: number;
  /** Set when signing a response (the request's MAC) or a later message of a stream (the prior MAC). */
  chain?: TsigChain;
  /** TSIG error to report in a signed error answer (BADTIME, BADTRUNC; §5.3.2). */
  error?: number;
  otherData?: Uint8Array;
  /** Truncate the MAC to this many octets (RFC 8945 §5.2.2.1 rule 4); default the full HMAC output. */
  macSize?: number;
}

/** Appends a TSIG RR to an encoded message (ARCOUNT + 1); returns the signed message and its MAC. */
export function signMessage(
  message: Uint8Array,
  key: TsigKey,
  opts: SignOptions = {},
): { bytes: Uint8Array; mac: Uint8Array } {
  if (message.length < HEADER_SIZE) throw new WireError('E_SHORT', `message of ${message.length} octets`);
  const full = macLength(key.algorithm);
  const size = opts.macSize ?? full;
  if (size > full || size < Math.max(10, full / 2))
    throw new TsigError(`MAC size ${size} is not allowed for ${key.algorithm} (RFC 8945 §5.2.2.1)`);
  const record: TsigRecord = {
    name: key.name,
    algorithm: algorithmName(key.algorithm),
    timeSigned: opts.time ?? Math.floor(Date.now() / 1000),
    fudge: opts.fudge ?? DEFAULT_FUDGE,
    mac: new Uint8Array(0),
    originalId: (message[0]! << 8) | message[1]!,
    error: opts.error ?? TSIG_NOERROR,
    otherData: opts.otherData ?? new Uint8Array(0),
  };
  record.mac = computeMac(key, message, record, opts.chain).subarray(0, size);
  return { bytes: appendTsigRR(message, encodeTsigRR(record)), mac: record.mac };
}

/** sign() of RFC 8945 §4.3: the message with its TSIG RR appended. */
export function sign(message: Uint8Array, key: TsigKey, opts: SignOptions = {}): Uint8Array {
  return signMessage(message, key, opts).bytes;
}

/**
 * Signs the messages of a multi-message answer (AXFR, IXFR over TCP): the first chained to the request's MAC
 * (§4.3.2), every later one to the MAC before it with only the timers (§4.3.3). Every message is signed, which
 * §5.3.1 allows (it requires at least the first, the last and every hundredth).
 */
export function signStream(
  messages: readonly Uint8Array[],
  key: TsigKey,
  requestMac: Uint8Array,
  opts: Omit<SignOptions, 'chain'> = {},
): Uint8Array[] {
  let chain: TsigChain = { mac: requestMac };
  return messages.map((m) => {
    const signed = signMessage(m, key, { ...opts, chain });
    chain = { mac: signed.mac, subsequent: true };
    return signed.bytes;
  });
}

/** Finds the key of a TSIG owner name (a keyring, tsigkey.ts). */
export type KeyLookup = (name: Name) => TsigKey | undefined;

export interface VerifyOptions {
  /** The request's MAC when verifying a response; the prior MAC (subsequent) in a stream. */
  chain?: TsigChain;
  /** Local policy (§5.2.4): MACs truncated below this many octets fail with BADTRUNC. Default: none. */
  minMacSize?: number;
}

export type VerifyResult =
  /** `mac` is the one to chain the answer to (§4.3.2); `offset` is where the TSIG RR starts. */
  | { ok: true; key: TsigKey; record: TsigRecord; mac: Uint8Array; offset: number }
  | {
      ok: false;
      /** The header RCODE to answer with: FORMERR, NOTAUTH, or REFUSED for an unsigned message. */
      rcode: number;
      /** The TSIG error (BADSIG, BADKEY, BADTIME, BADTRUNC), 0 for FORMERR and unsigned messages. */
      error: number;
      reason: string;
      key: TsigKey | null;
      record: TsigRecord | null;
    };

const ERROR_NAMES: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

export function tsigErrorName(error: number): string {
  return ERROR_NAMES[error] ?? `TSIG error ${error}`;
}

/**
 * Verifies the TSIG of a received message at time `now` (seconds since the epoch). ok only when the MAC is
 * right, the time within the fudge and the TSIG carries no error (an answer reporting BADTIME is authentic, but
 * not a success: it comes back with that error and its record).
 */
export function verify(message: Uint8Array, lookup: KeyLookup, now: number, opts: VerifyOptions = {}): VerifyResult {
  let found: FoundTsig | null;
  try {
    found = findTsig(message);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return fail(RCODE_FORMERR, 0, `malformed TSIG: ${e.message}`, null, null);
  }
  if (!found) return fail(RCODE_REFUSED, 0, 'the message is not signed', null, null);
  const { record, offset } = found;
  // §5.3.2: an answer to a request whose key or MAC failed carries the error and no MAC.
  if (opts.chain && record.mac.length === 0 && (record.error === BADKEY || record.error === BADSIG))
    return fail(RCODE_NOTAUTH, record.error, `the peer answered ${tsigErrorName(record.error)}`, null, record);
  const key = lookup(record.name);
  const alg = algorithmFromName(record.algorithm);
  if (!key) return fail(RCODE_NOTAUTH, BADKEY, 'unknown key', null, record);
  if (alg !== key.algorithm) return fail(RCODE_NOTAUTH, BADKEY, `the key is not for this algorithm`, null, record);
  // §5.2.2.1 rules 1 and 3: longer than the hash, or shorter than max(10, half of it), is malformed.
  const full = macLength(key.algorithm);
  const size = record.mac.length;
  if (size > full || size < Math.max(10, full / 2))
    return fail(RCODE_FORMERR, 0, `MAC size ${size} is not allowed for ${key.algorithm}`, key, record);
  const mac = computeMac(key, macMessage(message, offset, record.originalId, 1), record, opts.chain);
  if (!timingSafeEqual(mac.subarray(0, size), record.mac)) return fail(RCODE_NOTAUTH, BADSIG, 'wrong MAC', key, record);
  // §5.2.3, after the MAC so that an unauthenticated message learns nothing about the clock.
  if (Math.abs(now - record.timeSigned) > record.fudge)
    return fail(
      RCODE_NOTAUTH,
      BADTIME,
      `signed at ${record.timeSigned}, now ${now}, fudge ${record.fudge}`,
      key,
      record,
    );
  if (size < Math.min(opts.minMacSize ?? 0, full))
    return fail(RCODE_NOTAUTH, BADTRUNC, `MAC of ${size} octets, policy needs ${opts.minMacSize}`, key, record);
  if (record.error !== TSIG_NOERROR)
    return fail(RCODE_NOTAUTH, record.error, `the peer answered ${tsigErrorName(record.error)}`, key, record);
  return { ok: true, key, record, mac: record.mac, offset };
}

function fail(
  rcode: number,
  error: number,
  reason: string,
  key: TsigKey | null,
  record: TsigRecord | null,
): VerifyResult {
  return { ok: false, rcode, error, reason, key, record };
}
