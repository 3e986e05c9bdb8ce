/**
 * The record type an unknown type mnemonic was probably meant to be (`AAA` -> `AAAA`), for the "unknown type"
 * message of the zone readers. Candidates are the mnemonics of the type table (RFC 1035 §3.2.2 and the IANA
 * registry, src/wire/types.ts) that can be written among a zone file's records: not the meta types (RFC 6895
 * §3.1), not those the server generates (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM: RFC 4035 §2) and not the SOA
 * (written in its own section).
 */
import { T } from '../wire/types.js';

/** Mnemonics that are never right among the records: meta types, the DNSSEC records the signer makes, SOA. */
const NOT_WRITTEN = new Set<string>([
  'SOA',
  'OPT',
  'TKEY',
  'TSIG',
  'IXFR',
  'AXFR',
  'MAILB',
  'MAILA',
  'ANY',
  'DNSKEY',
  'RRSIG',
  'NSEC',
  'NSEC3',
  'NSEC3PARAM',
]);

/** In table order (by type number), so that a tie lists the older, more common type first. */
const CANDIDATES = Object.keys(T).filter((k) => !NOT_WRITTEN.has(k));

/**
 * How many edits a suggestion may be away: at most 2, and one per three characters written, since a short word is
 * a few edits from many types (`FOO` is two from SOA, `X` one from A) and the guess would be noise.
 */
const maxDistance = (length: number): number => Math.min(2, Math.floor(length / 3));

/**
 * The edit distance of a and b: insertions, deletions, substitutions and swaps of two neighbours, one each
 * (optimal string alignment), so that `TLAS` is one edit from `TLSA`.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** How many leading characters a and b share. */
function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The known types nearest to `written` (case-insensitive), when they are close enough (maxDistance); none when
 * `written` is known or nothing is near. Of types equally near, those that begin like `written` win (a typo more
 * often drops or doubles a later letter than changes the first: `AAA` is AAAA rather than CAA); more than one
 * when that too is a tie (`XDS`: DS and CDS).
 */
export function nearestTypes(written: string): string[] {
  const w = written.toUpperCase();
  const max = maxDistance(w.length);
  if (w.length > 20 || max === 0) return [];
  let best: string[] = [];
  let bestRank = [max + 1, 0];
  for (const c of CANDIDATES) {
    const rank = [editDistance(w, c), commonPrefix(w, c)] as const;
    if (rank[0] > max) continue;
    if (rank[0] < bestRank[0]! || (rank[0] === bestRank[0] && rank[1] > bestRank[1]!)) {
      best = [c];
      bestRank = [...rank];
    } else if (rank[0] === bestRank[0] && rank[1] === bestRank[1]) best.push(c);
  }
  return bestRank[0] === 0 ? [] : best;
}

/** ` (did you mean AAAA?)` (or `DS or CDS?`) for an unknown type near known ones, else the empty string. */
export function didYouMean(written: string): string {
  const near = nearestTypes(written);
  return near.length === 0 ? '' : ` (did you mean ${near.join(' or ')}?)`;
}
