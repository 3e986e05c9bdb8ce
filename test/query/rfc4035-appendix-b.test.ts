/**
 * The DNSSEC answers of RFC 4035 Appendix B as a table, in process: the Appendix A zone
 * (test/fixtures/rfc4035.yaml) signed with two fixed P-256 keys at a pinned time, each query of B.1-B.8 sent
 * with DO=1 through the handler the server runs (src/server/handler.ts), the response decoded and its sections
 * compared with the RFC's. A proof regression fails as a named row in milliseconds, without a daemon.
 *
 * Rows write records in presentation form: data records whole, NSEC with owner, next name and type bitmap
 * (RFC 4034 §4.2), RRSIG with owner, type covered, algorithm, labels, original TTL and signer (RFC 4034 §3.2).
 * The RRSIG fields that vary (expiration, with its per-RRset jitter) or that the RFC's RSA keys fix otherwise
 * (key tag, signature) are checked by rule for every RRSIG: inception and expiration from the pinned time and
 * the zone's signature policy, the ZSK's key tag, and a signature that verifies with the ZSK (ECDSA signatures
 * are randomised, RFC 6605 §4, so their bytes cannot be written down).
 *
 * Where we differ from the RFC's text, by documented behaviour:
 *  - algorithm 13 (ECDSA P-256, RFC 6605) where the RFC signs with algorithm 5 (RSA/SHA-1); the DS at a.example.
 *    is the RFC's own record, served as data.
 *  - B.1 and B.6: the RFC's authority section carries the apex NS RRset and its RRSIG, and the additional
 *    section the addresses of ns1/ns2.example. with theirs. Our positive answers carry no authority data
 *    (README "How it answers": authority data only for negative answers and referrals, as Knot DNS does); the
 *    answer and, for B.6, the proof that no closer name exists are the RFC's.
 *  - NSEC TTLs are min(SOA TTL, SOA MINIMUM) (RFC 9077 §3.2): 3600 here, the same as the RFC's.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { makeZoneKey, privateKeyFromScalar, type ZoneKey } from '../../src/dnssec/keys.js';
import { SignatureCache } from '../../src/dnssec/sigcache.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { signZone } from '../../src/dnssec/zonesign.js';
import { createHandler, makeSnapshot } from '../../src/server/handler.js';
import { FLAG_AA, FLAG_TC } from '../../src/wire/header.js';
import { decodeMessage, encodeQuery, fullRcode, type RR } from '../../src/wire/message.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { RCODE, T, typeFromText, typeToText } from '../../src/wire/types.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import type { RRset } from '../../src/zone/zone.js';
import { fromHex } from '../support/hex.js';
import { LOOPBACK } from '../support/remote.js';

interface Row {
  name: string;
  qname: string;
  qtype: string;
  do: true;
  rcode: number;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
}

const SOA = 'example. 3600 SOA ns1.example. bugs.x.w.example. 1081539377 3600 300 3600000 3600';
const SOA_SIG = 'example. 3600 RRSIG SOA 13 1 3600 example.';

const ROWS: Row[] = [
  {
    name: 'B.1 answer',
    qname: 'x.w.example.',
    qtype: 'MX',
    do: true,
    rcode: RCODE.NOERROR,
    aa: true,
    answer: ['x.w.example. 3600 MX 1 xx.example.', 'x.w.example. 3600 RRSIG MX 13 3 3600 example.'],
    authority: [], // the RFC: example. NS and its RRSIG (see the file comment)
    additional: [
      'xx.example. 3600 A 192.0.2.10',
      'xx.example. 3600 RRSIG A 13 2 3600 example.',
      'xx.example. 3600 AAAA 2001:db8::f00:baaa',
      'xx.example. 3600 RRSIG AAAA 13 2 3600 example.',
      // the RFC: ns1.example. and ns2.example. A and their RRSIGs, for the NS RRset left out above
    ],
  },
  {
    name: 'B.2 name error',
    qname: 'ml.example.',
    qtype: 'A',
    do: true,
    rcode: RCODE.NXDOMAIN,
    aa: true,
    answer: [],
    authority: [
      SOA,
      SOA_SIG,
      // covers ml.example.: the name does not exist
      'b.example. 3600 NSEC ns1.example. NS RRSIG NSEC',
      'b.example. 3600 RRSIG NSEC 13 2 3600 example.',
      // covers *.example.: no wildcard could have matched
      'example. 3600 NSEC a.example. NS SOA MX RRSIG NSEC DNSKEY',
      'example. 3600 RRSIG NSEC 13 1 3600 example.',
    ],
    additional: [],
  },
  {
    name: 'B.3 no data',
    qname: 'ns1.example.',
    qtype: 'MX',
    do: true,
    rcode: RCODE.NOERROR,
    aa: true,
    answer: [],
    authority: [
      SOA,
      SOA_SIG,
      'ns1.example. 3600 NSEC ns2.example. A RRSIG NSEC',
      'ns1.example. 3600 RRSIG NSEC 13 2 3600 example.',
    ],
    additional: [],
  },
  {
    name: 'B.4 referral to a signed zone',
    qname: 'mc.a.example.',
    qtype: 'MX',
    do: true,
    rcode: RCODE.NOERROR,
    aa: false,
    answer: [],
    authority: [
      'a.example. 3600 NS ns1.a.example.',
      'a.example. 3600 NS ns2.a.example.',
      'a.example. 3600 DS 57855 5 1 B6DCD485719ADCA18E5F3D48A2331627FDD3636B',
      'a.example. 3600 RRSIG DS 13 2 3600 example.',
    ],
    // glue is not signed (RFC 4035 §2.2)
    additional: ['ns1.a.example. 3600 A 192.0.2.5', 'ns2.a.example. 3600 A 192.0.2.6'],
  },
  {
    name: 'B.5 referral to an unsigned zone',
    qname: 'mc.b.example.',
    qtype: 'MX',
    do: true,
    rcode: RCODE.NOERROR,
    aa: false,
    answer: [],
    authority: [
      'b.example. 3600 NS ns1.b.example.',
      'b.example. 3600 NS ns2.b.example.',
      // no DS at the cut: the NSEC of b.example. proves it (RFC 4035 §3.1.4)
      'b.example. 3600 NSEC ns1.example. NS RRSIG NSEC',
      'b.example. 3600 RRSIG NSEC 13 2 3600 example.',
    ],
    additional: ['ns1.b.example. 3600 A 192.0.2.7', 'ns2.b.example. 3600 A 192.0.2.8'],
  },
  {
    name: 'B.6 wildcard expansion',
    qname: 'a.z.w.example.',
    qtype: 'MX',
    do: true,
    rcode: RCODE.NOERROR,
    aa: true,
    // Labels 2: the signature is over *.w.example. (RFC 4035 §5.3.2)
    answer: ['a.z.w.example. 3600 MX 1 ai.example.', 'a.z.w.example. 3600 RRSIG MX 13 2 3600 example.'],
    authority: [
      // the RFC also: example. NS and its RRSIG (see the file comment)
      // covers a.z.w.example.: no closer match exists (RFC 4035 §3.1.3.3)
      'x.y.w.example. 3600 NSEC xx.example. MX RRSIG NSEC',
      'x.y.w.example. 3600 RRSIG NSEC 13 4 3600 example.',
    ],
    additional: [
      'ai.example. 3600 A 192.0.2.9',
      'ai.example. 3600 RRSIG A 13 2 3600 example.',
      'ai.example. 3600 AAAA 2001:db8::f00:baa9',
      'ai.example. 3600 RRSIG AAAA 13 2 3600 example.',
    ],
  },
  {
    name: 'B.7 wildcard no data',
    qname: 'a.z.w.example.',
    qtype: 'AAAA',
    do: true,
    rcode: RCODE.NOERROR,
    aa: true,
    answer: [],
    authority: [
      SOA,
      SOA_SIG,
      // no closer match (RFC 4035 §3.1.3.4) ...
      'x.y.w.example. 3600 NSEC xx.example. MX RRSIG NSEC',
      'x.y.w.example. 3600 RRSIG NSEC 13 4 3600 example.',
      // ... and the wildcard has no AAAA
      '*.w.example. 3600 NSEC x.w.example. MX RRSIG NSEC',
      '*.w.example. 3600 RRSIG NSEC 13 2 3600 example.',
    ],
    additional: [],
  },
  {
    name: 'B.8 DS child zone no data',
    qname: 'example.',
    qtype: 'DS',
    do: true,
    rcode: RCODE.NOERROR,
    aa: true,
    answer: [],
    authority: [
      SOA,
      SOA_SIG,
      'example. 3600 NSEC a.example. NS SOA MX RRSIG NSEC DNSKEY',
      'example. 3600 RRSIG NSEC 13 1 3600 example.',
    ],
    additional: [],
  },
];

/** The pinned signing time and the zone's default signature policy (zone-format defaults, src/zone/yaml.ts). */
const NOW = Date.UTC(2026, 0, 2) / 1000;
const DAY = 86_400;
const INCEPTION_OFFSET = 3600;
const VALIDITY = 14 * DAY;
/** Expirations are spread over one day below the full validity (src/dnssec/zonesign.ts policyOf). */
const JITTER_RANGE = DAY;

/** A key from a fixed private scalar (any value below the P-256 group order). */
function fixedKey(role: 'ksk' | 'zsk', scalarHex: string, origin: ReturnType<typeof parseName>): ZoneKey {
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

const zone = loadZoneFile(fileURLToPath(new URL('../fixtures/rfc4035.yaml', import.meta.url)));
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
