/**
 * The signed version of a zone that the server serves, rebuilt offline from the state directory: the signatures
 * it kept (dnssec/sigstore.ts) and the serial and digest it recorded (state/serials.ts, serials.ts). It is made
 * the way the server makes it after a restart: the zone signed with the kept signatures put back in the cache,
 * then put under the recorded serial (the SOA RRSIG made for that serial is kept too). ECDSA signatures are random
 * (RFC 6605 §4), so only the kept ones give the octets the server sends; the recorded digest of everything a
 * zone transfer carries (RFC 5936 §2.2) says whether the result is that version, record for record.
 * For `dane-ns zone export --signed`. Reads the state directory, never writes it.
 */
import { nameToText } from '../wire/name.js';
import { SignatureCache } from '../dnssec/sigcache.js';
import { loadSignatures, signaturesFile } from '../dnssec/sigstore.js';
import { dnskeySigners, signedWithSerial, signZone, type SignedZone, type ZoneKeys } from '../dnssec/zonesign.js';
import { SerialStore } from '../state/serials.js';
import { soaSerial } from '../zone/build.js';
import { zoneWithSerial } from '../zone/reserial.js';
import type { Zone } from '../zone/zone.js';
import { versionDigest } from './serials.js';

export type PersistedVersion =
  | { readonly ok: true; readonly serial: number; readonly signed: SignedZone }
  | { readonly ok: false; readonly reason: string };

/**
 * The served version of `zone` (loaded as the server loads it) signed with `keys`, or why the state directory
 * does not hold it: nothing kept yet (the server has not served the zone), or the zone file, the certificates
 * or the keys changed since (the server serves a new version once it has read them), or signatures came due.
 */
export function persistedVersion(zone: Zone, keys: ZoneKeys, stateDir: string, nowSec: number): PersistedVersion {
  const name = nameToText(zone.origin);
  const recorded = new SerialStore(stateDir, undefined, true).previous(name.toLowerCase());
  if (recorded?.signed === undefined) return { ok: false, reason: 'the server has recorded none' };
  const cache = new SignatureCache();
  const kept = loadSignatures(stateDir, zone.origin, [...dnskeySigners(keys), keys.zsk], cache);
  if (!kept.ok)
    return { ok: false, reason: `its signatures (${signaturesFile(stateDir, zone.origin)}): ${kept.reason}` };
  const signed = signZone(zone, keys, nowSec, cache);
  const under = soaSerial(zone.soa.rdatas[0]!) === recorded.serial ? zone : zoneWithSerial(zone, recorded.serial);
  const version = signedWithSerial(signed, under, nowSec, cache);
  if (versionDigest(under, version) !== recorded.signed)
    return {
      ok: false,
      reason: `the zone as it is now is not the version served under serial ${recorded.serial}: a zone file, certificate or key changed since, or signatures came due`,
    };
  return { ok: true, serial: recorded.serial, signed: version };
}
