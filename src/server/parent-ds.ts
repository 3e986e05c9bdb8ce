/**
 * The parent's DS RRsets against the zone's keys (pure): a DS that matches no published KSK is the classic
 * DNSSEC outage (RFC 4035 §5.2: validators follow the DS to a DNSKEY with the SEP bit; RFC 6781 §4.1.2: a DS
 * must not point at a key that is gone), and a KSK or CSK rollover is done with the parent once every parent
 * server serves the new key's DS and none the old one's (RFC 7344 §4: the parent follows the CDS; RFC 7583 §3.3:
 * the old key stays for the DS TTL after that).
 */
import { dsRdata } from '../dnssec/ds.js';
import { bytesEqual, keyTag } from '../dnssec/keys.js';
import type { Name } from '../wire/name.js';
import type { ParentAnswer } from './parent-query.js';

const SEP = 1; // RFC 4034 §2.1.1: the Secure Entry Point bit of the DNSKEY flags (257 = KSK)

/** Whether a DS rdata points at a DNSKEY rdata: the digest for SHA-256 and SHA-384, else tag and algorithm. */
export function dsMatches(zone: Name, ds: Uint8Array, dnskey: Uint8Array): boolean {
  const digestType = ds[3]!;
  if (digestType === 2 || digestType === 4) return bytesEqual(dsRdata(zone, dnskey, digestType), ds);
  // A digest type dane-ns does not compute (SHA-1, RFC 8624 §3.3: MUST NOT for new DS): tag and algorithm.
  return ((ds[0]! << 8) | ds[1]!) === keyTag(dnskey) && ds[2] === dnskey[3];
}

/** A DS as its parts read: `tag algorithm digest-type`. */
export const dsLabel = (ds: Uint8Array): string => `${(ds[0]! << 8) | ds[1]!} ${ds[2]} ${ds[3]}`;

export interface ParentVerdict {
  /** DS records at a parent server that match no published KSK. */
  readonly unmatched: readonly { readonly server: string; readonly ds: Uint8Array }[];
  /** Every server answered. */
  readonly complete: boolean;
  /** Servers that answered, without any DS (an insecure delegation there). */
  readonly withoutDs: readonly string[];
  /** A rollover waiting for the parent: every server serves the new key's DS and none of the old keys'. */
  readonly rolloverDone: boolean;
  /** The largest DS TTL the servers reported. */
  readonly dsTtl: number;
}

/**
 * Judges the parent's answers. `published` are the DNSKEY rdatas of the zone's DNSKEY RRset (the KSKs among them
 * count); `rollover`, when one waits for the parent, its new key's and old keys' DNSKEY rdatas.
 */
export function judgeParent(
  zone: Name,
  answers: readonly ParentAnswer[],
  published: readonly Uint8Array[],
  rollover?: { readonly newKey: Uint8Array; readonly old: readonly Uint8Array[] },
): ParentVerdict {
  const ksks = published.filter((k) => (k[1]! & SEP) === SEP);
  const ok = answers.filter((a) => a.error === undefined);
  const unmatched = ok.flatMap((a) =>
    a.ds.filter((d) => !ksks.some((k) => dsMatches(zone, d, k))).map((ds) => ({ server: a.server, ds })),
  );
  const complete = answers.length > 0 && ok.length === answers.length;
  const shows = (a: ParentAnswer, key: Uint8Array): boolean => a.ds.some((d) => dsMatches(zone, d, key));
  const rolloverDone =
    rollover !== undefined &&
    complete &&
    ok.every((a) => shows(a, rollover.newKey) && !rollover.old.some((k) => shows(a, k)));
  return {
    unmatched,
    complete,
    withoutDs: ok.filter((a) => a.ds.length === 0).map((a) => a.server),
    rolloverDone,
    dsTtl: Math.max(0, ...ok.map((a) => a.ttl)),
  };
}
