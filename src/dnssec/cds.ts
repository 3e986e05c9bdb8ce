/**
 * Which keys the zone asks its parent to hold the DS of, as CDS and CDNSKEY records at the apex (RFC 7344 §4,
 * RFC 8078), and the records themselves. Pure functions of (keys, time, settings).
 *
 * RFC 7344 §4.1: the CDS/CDNSKEY RRsets say what the DS RRset at the parent should be, so they name the keys
 * whose DS may be there now. During a KSK or CSK rollover (lifecycle.ts: two 257 keys sign the DNSKEY RRset and
 * the older one has no end time yet) that is the new key alone, from the moment every cached DNSKEY RRset carries
 * its signature (its Activate + DNSKEY TTL + margin, or its SyncPublish when later: the running server sets that when
 * the watched secondaries lag) until the rollover's end gives the old key its end times
 * (the parent showed the new DS). With `cds: always`, the current key's records are published outside that
 * window too (the old key's while the new one may not go up yet). A CDS uses SHA-256 (digest type 2, RFC 8624
 * §3.3: MUST for DS), the digest `dane-ns ds` prints.
 */
import type { Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import type { RRset } from '../zone/zone.js';
import { dsRdata } from './ds.js';
import type { ZoneKey } from './keys.js';

export type CdsPolicy = 'rollover' | 'always' | 'never';

/** A key that signs the DNSKEY RRset, with its end time when a rollover's end has set one. */
export type SigningKey = ZoneKey & { readonly inactive?: Date | undefined; readonly syncPublish?: Date | undefined };

export interface ParentKeys {
  /** The keys whose DS the parent should publish now (empty: no CDS/CDNSKEY). */
  readonly keys: readonly ZoneKey[];
  /** A KSK or CSK rollover waits for the parent: `keys` (when published) is its new key. */
  readonly rollover?: { readonly newKey: ZoneKey; readonly old: readonly ZoneKey[]; readonly dsFrom: Date };
  /** When the answer changes by time alone (the new key's DS may go up then). */
  readonly changesAt?: Date;
}

/**
 * The keys to publish CDS/CDNSKEY for at `now`. `signers` are the keys that sign the DNSKEY RRset, newest first
 * (lifecycle.ts selectKeys); `dnskeyTtl` and `margin` in seconds.
 */
export function parentKeys(
  signers: readonly SigningKey[],
  policy: CdsPolicy,
  dnskeyTtl: number,
  margin: number,
  now: Date,
): ParentKeys {
  const [newest, ...older] = signers;
  if (!newest) return { keys: [] };
  const waiting = older.filter((k) => k.inactive === undefined);
  if (waiting.length > 0) {
    // Never before its SyncPublish: the running server sets it when the watched servers lag (server/rollover-hold.ts).
    const signedEverywhere = newest.activate.getTime() + (dnskeyTtl + margin) * 1000;
    const dsFrom = new Date(Math.max(signedEverywhere, newest.syncPublish?.getTime() ?? 0));
    const rollover = { newKey: newest, old: waiting, dsFrom };
    if (policy === 'never') return { keys: [], rollover };
    if (now.getTime() >= dsFrom.getTime()) return { keys: [newest], rollover };
    return { keys: policy === 'always' ? waiting : [], rollover, changesAt: dsFrom };
  }
  return { keys: policy === 'always' ? [newest] : [] };
}

/** RFC 8078 §4: the records that ask the parent to remove every DS (the zone goes insecure). */
export const CDS_DELETE: Uint8Array = new Uint8Array([0, 0, 0, 0, 0]);
export const CDNSKEY_DELETE: Uint8Array = new Uint8Array([0, 0, 3, 0, 0]);

/**
 * The CDS and CDNSKEY RRsets at the apex for `keys` (RFC 7344 §3.1: the DS and DNSKEY rdata formats), with the
 * DNSKEY RRset's TTL; `remove` gives the RFC 8078 §4 delete records instead. None for no keys.
 */
export function cdsRRsets(origin: Name, keys: readonly ZoneKey[], ttl: number, remove = false): RRset[] {
  const make = (type: number, rdatas: readonly Uint8Array[]): RRset =>
    Object.freeze({ owner: origin, type, ttl, rdatas: Object.freeze([...rdatas]) });
  if (remove) return [make(T.CDS, [CDS_DELETE]), make(T.CDNSKEY, [CDNSKEY_DELETE])];
  if (keys.length === 0) return [];
  return [
    make(
      T.CDS,
      keys.map((k) => dsRdata(origin, k.dnskeyRdata)),
    ),
    make(
      T.CDNSKEY,
      keys.map((k) => k.dnskeyRdata),
    ),
  ];
}
