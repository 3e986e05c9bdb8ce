/**
 * The DNSSEC answers of RFC 4035 Appendix B, in process: the Appendix A zone (test/fixtures/rfc4035.yaml) signed
 * with two fixed P-256 keys at a pinned time, each query of B.1-B.8 (the rows of
 * test/fixtures/rfc4035-appendix-b.ts) sent with DO=1 through the handler the server runs
 * (src/server/handler.ts), the response decoded and its sections compared with the row. A proof regression
 * fails as a named row in milliseconds, without a daemon.
 *
 * The RRSIG fields a row does not write (expiration, with its per-RRset jitter; key tag; signature) are checked
 * by rule for every RRSIG: inception and expiration from the pinned time and the zone's signature policy, the
 * ZSK's key tag, and a signature that verifies with the ZSK over an RRset of the same section (ECDSA signatures
 * are randomised, RFC 6605 §4, so their bytes cannot be written down).
 */
import { describe, expect, it } from 'vitest';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { makeZoneKey, privateKeyFromScalar, type ZoneKey } from '../../src/dnssec/keys.js';
import { SignatureCache } from '../../src/dnssec/sigcache.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { signZone } from '../../src/dnssec/zonesign.js';
import { createHandler, makeSnapshot } from '../../src/server/handler.js';
import { FLAG_AA, FLAG_TC } from '../../src/wire/header.js';
import { decodeMessage, encodeQuery, fullRcode, type RR } from '../../src/wire/message.js';
import { nameToText, parseName, type Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { T, typeFromText, typeToText } from '../../src/wire/types.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { RRset } from '../../src/zone/zone.js';
import { APPENDIX_B as ROWS } from '../fixtures/rfc4035-appendix-b.js';
import { fixture } from '../support/fixtures.js';
import { fromHex } from '../support/hex.js';
import { LOOPBACK } from '../support/remote.js';

/** The pinned signing time and the zone's default signature policy (zone-format defaults, src/zone/yaml.ts). */
const NOW = Date.UTC(2026, 0, 2) / 1000;
const DAY = 86_400;
const INCEPTION_OFFSET = 3600;
const VALIDITY = 14 * DAY;
/** Expirations are spread over one day below the full validity (src/dnssec/zonesign.ts policyOf). */
const JITTER_RANGE = DAY;

/** A key from a fixed private scalar (any value below the P-256 group order). */
function fixedKey(role: 'ksk' | 'zsk', scalarHex: string, origin: Name): ZoneKey {
  const created = new Date((NOW - DAY) * 1000);
  return makeZoneKey({
    zone: origin,
    role,
    flags: role === 'ksk' ? 257 : 256,
    privateKey: privateKeyFromScalar(fromHex(scalarHex)),
    created,
    publish: created,
    activate: created,
  });
}

const zone = loadZoneFile(fixture('rfc4035.yaml'));
const ksk = fixedKey('ksk', 'a1'.repeat(32), zone.origin);
const zsk = fixedKey('zsk', 'c3'.repeat(32), zone.origin);
const signed = signZone(zone, { ksk, zsk }, NOW, new SignatureCache());
const snapshot = makeSnapshot(new ZoneSet([signed.zone]), new Map([[signed.zone, signed]]));
const handler = createHandler(() => snapshot);

/** One record as a row writes it. */
function show(rr: RR): string {
  const head = `${nameToText(rr.name)} ${rr.ttl}`;
  if (rr.type !== T.RRSIG) return `${head} ${typeToText(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
  const f = parseRrsig(rr.rdata);
  return `${head} RRSIG ${typeToText(f.typeCovered)} ${f.algorithm} ${f.labels} ${f.originalTtl} ${nameToText(f.signer)}`;
}

/** The RRsets of a section (RRSIGs left out), keyed as `owner type` in lower case. */
function rrsets(section: RR[]): Map<string, RRset> {
  const out = new Map<string, { owner: RR['name']; type: number; ttl: number; rdatas: Uint8Array[] }>();
  for (const rr of section) {
    if (rr.type === T.RRSIG) continue;
    const key = `${nameToText(rr.name).toLowerCase()} ${rr.type}`;
    const rs = out.get(key) ?? { owner: rr.name, type: rr.type, ttl: rr.ttl, rdatas: [] };
    rs.rdatas.push(rr.rdata);
    out.set(key, rs);
  }
  return out;
}

/** Every RRSIG of a section: times from the pinned clock, the ZSK's tag, and a signature over an RRset there. */
function checkSignatures(section: RR[], where: string): number {
  const sets = rrsets(section);
  let checked = 0;
  for (const rr of section) {
    if (rr.type !== T.RRSIG) continue;
    const f = parseRrsig(rr.rdata);
    const what = `${where}: ${show(rr)}`;
    expect(f.inception, what).toBe(NOW - INCEPTION_OFFSET);
    expect(f.expiration, what).toBeLessThanOrEqual(NOW + VALIDITY);
    expect(f.expiration, what).toBeGreaterThan(NOW + VALIDITY - JITTER_RANGE);
    expect(f.keyTag, what).toBe(zsk.tag);
    const covered = sets.get(`${nameToText(rr.name).toLowerCase()} ${f.typeCovered}`);
    expect(covered, `${what}: no RRset it covers in the section`).toBeDefined();
    expect(verifyRRsig(covered!, rr.rdata, zsk.publicKey), `${what}: does not verify with the ZSK`).toBe(true);
    expect(verifyRRsig(covered!, rr.rdata, ksk.publicKey), `${what}: verifies with the KSK`).toBe(false);
    checked++;
  }
  return checked;
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('RFC 4035 Appendix B responses (DO=1), in process', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const query = encodeQuery(parseName(row.qname), typeFromText(row.qtype), {
      id: 4035,
      edns: { udpSize: 4096, dnssecOk: row.do },
    });
    const bytes = handler(query, 'udp', LOOPBACK);
    expect(bytes).not.toBeNull();
    const msg = decodeMessage(bytes!);
    expect(fullRcode(msg)).toBe(row.rcode);
    expect((msg.flags & FLAG_AA) !== 0).toBe(row.aa);
    expect(msg.flags & FLAG_TC).toBe(0);
    expect(msg.edns?.dnssecOk).toBe(true);
    // The OPT RR is the message's EDNS, not a record of the additional section.
    expect(sorted(msg.answer.map(show))).toEqual(sorted(row.answer));
    expect(sorted(msg.authority.map(show))).toEqual(sorted(row.authority));
    expect(sorted(msg.additional.map(show))).toEqual(sorted(row.additional));
    const signatures =
      checkSignatures(msg.answer, 'answer') +
      checkSignatures(msg.authority, 'authority') +
      checkSignatures(msg.additional, 'additional');
    expect(signatures).toBe(
      [...row.answer, ...row.authority, ...row.additional].filter((s) => s.split(' ')[2] === 'RRSIG').length,
    );
    // Asked again, the response comes from the caches (response cache, NXDOMAIN fragments): the same bytes.
    expect(Buffer.from(handler(query, 'udp', LOOPBACK)!).equals(Buffer.from(bytes!))).toBe(true);
  });

  it('the keys sign what the RFC says: the DNSKEY RRset by the KSK, every other RRset by the ZSK', () => {
    const q = encodeQuery(parseName('example.'), T.DNSKEY, { id: 1, edns: { udpSize: 4096, dnssecOk: true } });
    const msg = decodeMessage(handler(q, 'udp', LOOPBACK)!);
    const dnskey = rrsets(msg.answer).get(`example. ${T.DNSKEY}`)!;
    expect(dnskey.rdatas.length).toBe(2);
    const sigs = msg.answer.filter((rr) => rr.type === T.RRSIG);
    expect(sigs.map((rr) => parseRrsig(rr.rdata).keyTag)).toEqual([ksk.tag]);
    expect(verifyRRsig(dnskey, sigs[0]!.rdata, ksk.publicKey)).toBe(true);
  });
});
