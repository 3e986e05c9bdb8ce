/**
 * The TSIG algorithms (RFC 8945 §6) and keys: the HMAC-SHA family by the names BIND's key files use
 * (`hmac-sha256`) and their names on the wire (`hmac-sha256.`). HMAC-MD5 (`hmac-md5.sig-alg.reg.int.`), which
 * RFC 8945 §6 keeps only for old peers, is refused with an error that says so.
 */
import { createHmac, type Hmac } from 'node:crypto';
import { parseName, type Name } from '../wire/name.js';

/** Algorithms of RFC 8945 §6 we implement, by the name BIND's key files use; hash = node:crypto digest. */
const ALGORITHMS = {
  'hmac-sha1': { hash: 'sha1', size: 20 },
  'hmac-sha224': { hash: 'sha224', size: 28 },
  'hmac-sha256': { hash: 'sha256', size: 32 },
  'hmac-sha384': { hash: 'sha384', size: 48 },
  'hmac-sha512': { hash: 'sha512', size: 64 },
} as const;

export type TsigAlgorithm = keyof typeof ALGORITHMS;
export const TSIG_ALGORITHMS = Object.keys(ALGORITHMS) as TsigAlgorithm[];
export const DEFAULT_TSIG_ALGORITHM: TsigAlgorithm = 'hmac-sha256';

/** The algorithm names on the wire (RFC 8945 §6: `hmac-sha256.` etc.). */
const WIRE_NAMES = new Map<TsigAlgorithm, Name>(TSIG_ALGORITHMS.map((a) => [a, parseName(a + '.')]));

/** A TSIG key: its name (the TSIG owner name), algorithm and shared secret. */
export interface TsigKey {
  readonly name: Name;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Uint8Array;
}

export class TsigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TsigError';
  }
}

/** A fresh HMAC of an algorithm under a secret (node:crypto). */
export function hmacOf(algorithm: TsigAlgorithm, secret: Uint8Array): Hmac {
  return createHmac(ALGORITHMS[algorithm].hash, secret);
}

/** Output length in octets of an algorithm's HMAC. */
export function macLength(algorithm: TsigAlgorithm): number {
  return ALGORITHMS[algorithm].size;
}

export function algorithmName(algorithm: TsigAlgorithm): Name {
  return WIRE_NAMES.get(algorithm)!;
}

/** The algorithm of a wire name (case-insensitive), or null for one we do not implement. */
export function algorithmFromName(name: Name): TsigAlgorithm | null {
  for (const [a, n] of WIRE_NAMES) if (n.key === name.key) return a;
  return null;
}

/** An algorithm by its text name, with or without the trailing dot; throws TsigError naming what is accepted. */
export function parseTsigAlgorithm(text: string): TsigAlgorithm {
  const t = text.toLowerCase().replace(/\.$/, '');
  if (Object.hasOwn(ALGORITHMS, t)) return t as TsigAlgorithm;
  if (t === 'hmac-md5' || t === 'hmac-md5.sig-alg.reg.int')
    throw new TsigError(`TSIG algorithm ${text} (HMAC-MD5) is not supported; use one of ${TSIG_ALGORITHMS.join(', ')}`);
  throw new TsigError(`unknown TSIG algorithm "${text}"; use one of ${TSIG_ALGORITHMS.join(', ')}`);
}
