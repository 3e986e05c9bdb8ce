/**
 * The validation table: questions asked through a validating resolver (Unbound, and delv on a subset) in front of
 * a signed authoritative server for the oracle zones (test/fixtures/oracle: example.com, example.net,
 * kids.example.com), with the rcode and the security status a correct server yields.
 *
 * Trust anchors: example.com and example.net (their DS). kids.example.com is signed with its own keys, but the
 * oracle fixture publishes no DS for it in example.com, so the parent proves an insecure delegation (NSEC at the
 * cut: NS, no DS) and everything in kids is `insecure` (AD=0), while the DS question at the cut itself is a secure
 * NODATA from the parent. (To make kids secure, add its DS to the fixture and flip these rows.)
 *
 * Every case of oracle-cases.ts that a resolver can answer is here; left out, because a resolver cannot answer
 * them with NOERROR/NXDOMAIN whatever the server does:
 *  - out-of-zone questions (example.org A, com SOA, . NS): REFUSED by the server, SERVFAIL through a resolver;
 *  - `loop1.example.com A`: Unbound stops a CNAME loop after its restart limit with SERVFAIL (by design);
 *  - anything at or below `sub.example.com` but its DS (NS, A, SOA at the cut, www.sub, ns1.sub): delegated to
 *    192.0.2.60 and ns.example.net (198.51.100.53), which do not exist; `insecure.example.com` NS and
 *    `host.insecure.example.com`: same (the DS at both cuts is what matters, and is here);
 *  - `example.com DS` and `example.net DS`: asked of the parent (com., net.), which no test server serves;
 *  - the no-EDNS transport variant (a client-side detail of the resolver, not of the server).
 * Also deliberately not here: qtype NSEC at a zone cut (parent and child both own an NSEC at kids.example.com;
 * which one a resolver returns depends on its cache) and qtype RRSIG (resolvers do not validate RRSIG answers:
 * Unbound answers them with AD=0).
 *
 * `alias-out.example.com` points to target.example.org: the harness gives the resolver a small unsigned
 * example.org (see OUT_OF_ZONE_TARGETS) so the chain resolves; it ends outside every trust anchor, so it is
 * `insecure` with a valid (secure) CNAME in front.
 */
export type ValidationRcode = 'NOERROR' | 'NXDOMAIN';
export type ValidationSecurity = 'secure' | 'insecure';

export interface ValidationCase {
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: ValidationRcode;
  /** secure: AD=1. insecure: AD=0 (answer below an insecure delegation or outside every anchor), never SERVFAIL. */
  readonly security: ValidationSecurity;
  /** Ask the resolver over TCP (default UDP, EDNS 1232). */
  readonly tcp?: boolean;
  readonly why: string;
}

const S = (
  qname: string,
  qtype: string,
  rcode: ValidationRcode,
  why: string,
  extra: Partial<ValidationCase> = {},
): ValidationCase => ({
  qname,
  qtype,
  rcode,
  security: 'secure',
  why,
  ...extra,
});
const I = (
  qname: string,
  qtype: string,
  rcode: ValidationRcode,
  why: string,
  extra: Partial<ValidationCase> = {},
): ValidationCase => ({
  qname,
  qtype,
  rcode,
  security: 'insecure',
  why,
  ...extra,
});

/**
 * Zones outside the fixture that the resolver needs so every CNAME target resolves on loopback (unsigned: give
 * them to startUnbound({ authZones })). RFC 1035 text; `$ORIGIN` is the zone.
 */
export const OUT_OF_ZONE_TARGETS: readonly { zone: string; text: string }[] = [
  {
    zone: 'example.org.',
    text: [
      '$TTL 300',
      '@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300',
      '@ IN NS ns.example.org.',
      'ns IN A 127.0.0.1',
      'target IN A 203.0.113.7',
      '',
    ].join('\n'),
  },
];

/** Zones with a trust anchor (their DS goes to the resolver); every other served zone hangs below one of them. */
export const ANCHORED_ZONES: readonly string[] = ['example.com.', 'example.net.'];
/** Every zone the authoritative server under test serves. */
export const SERVED_ZONES: readonly string[] = ['example.com.', 'example.net.', 'kids.example.com.'];

export const VALIDATION_CASES: readonly ValidationCase[] = [
  // apex data
  S('example.com.', 'SOA', 'NOERROR', 'apex SOA'),
  S('example.com.', 'NS', 'NOERROR', 'apex NS'),
  S('example.com.', 'MX', 'NOERROR', 'apex MX'),
  S('example.com.', 'A', 'NOERROR', 'apex A'),
  S('example.com.', 'AAAA', 'NOERROR', 'apex AAAA'),
  S('example.com.', 'TXT', 'NOERROR', 'apex TXT (SPF)'),
  S('example.com.', 'CAA', 'NOERROR', 'apex CAA'),
  S('example.com.', 'DNSKEY', 'NOERROR', 'DNSKEY at the apex, signed by the KSK the DS anchors'),
  // NODATA at existing names
  S('example.com.', 'SRV', 'NOERROR', 'apex NODATA: NSEC at the apex without SRV'),
  S('example.com.', 'TLSA', 'NOERROR', 'apex NODATA for TLSA'),
  S('example.com.', 'NSEC3PARAM', 'NOERROR', 'NSEC zone: NODATA for NSEC3PARAM'),
  S('ns1.example.com.', 'A', 'NOERROR', 'host A'),
  S('ns1.example.com.', 'AAAA', 'NOERROR', 'host AAAA'),
  S('ns1.example.com.', 'MX', 'NOERROR', 'host NODATA'),
  S('mail.example.com.', 'A', 'NOERROR', 'RRset with its own TTL (300) and two records'),
  S('mail.example.com.', 'AAAA', 'NOERROR', 'mail AAAA'),
  S('mail.example.com.', 'TXT', 'NOERROR', 'mail NODATA'),
  // TLSA and the ENT above it
  S('_25._tcp.mail.example.com.', 'TLSA', 'NOERROR', 'TLSA 3 1 1 of the MX host'),
  S('_25._tcp.mail.example.com.', 'A', 'NOERROR', 'NODATA at the TLSA name'),
  S('_tcp.mail.example.com.', 'TLSA', 'NOERROR', 'ENT _tcp.<mx-host>: NODATA, never NXDOMAIN'),
  S('_tcp.mail.example.com.', 'A', 'NOERROR', 'ENT NODATA for A'),
  S('_443._tcp.mail.example.com.', 'TLSA', 'NXDOMAIN', 'NXDOMAIN beside the TLSA name'),
  S('_25._tcp.ns1.example.com.', 'TLSA', 'NXDOMAIN', 'host without TLSA: NXDOMAIN'),
  // CNAME
  S('www.example.com.', 'A', 'NOERROR', 'CNAME to the apex'),
  S('www.example.com.', 'MX', 'NOERROR', 'CNAME followed to MX'),
  S('www.example.com.', 'CNAME', 'NOERROR', 'qtype CNAME'),
  S('www.example.com.', 'TLSA', 'NOERROR', 'CNAME followed to NODATA (NSEC at the apex)'),
  S('ftp.example.com.', 'A', 'NOERROR', 'CNAME chain of two'),
  S('ftp.example.com.', 'AAAA', 'NOERROR', 'CNAME chain to AAAA'),
  I('alias-out.example.com.', 'A', 'NOERROR', 'signed CNAME to an unsigned out-of-zone target: insecure, not bogus'),
  I('alias-out.example.com.', 'AAAA', 'NOERROR', 'signed CNAME to an unsigned out-of-zone NODATA'),
  S('dangling.example.com.', 'A', 'NXDOMAIN', 'CNAME to a nonexistent in-zone name: CNAME + NXDOMAIN proof'),
  // wildcards
  S('x.apps.example.com.', 'A', 'NOERROR', 'wildcard answer: RRSIG labels 3 + next-closer cover'),
  // Automatic TLSA (tlsa: in the fixture) for mx.apps, a host that existed only through *.apps.
  S('_25._tcp.mx.apps.example.com.', 'TLSA', 'NOERROR', 'automatic TLSA 3 1 1 from a certificate file'),
  S('_465._tcp.mx.apps.example.com.', 'TLSA', 'NOERROR', 'automatic TLSA on a second port'),
  S('_tcp.mx.apps.example.com.', 'A', 'NOERROR', 'ENT created by the automatic TLSA: NODATA'),
  S('mx.apps.example.com.', 'A', 'NOERROR', 'wildcard-only TLSA host keeps the wildcard A (copied)'),
  S('mx.apps.example.com.', 'TXT', 'NOERROR', 'wildcard-only TLSA host keeps the wildcard TXT (copied)'),
  S('other.mx.apps.example.com.', 'A', 'NOERROR', 'names below the TLSA host keep the wildcard answer'),
  S('_587._tcp.mx.apps.example.com.', 'TLSA', 'NXDOMAIN', 'no automatic TLSA on an unconfigured port'),
  S('x.apps.example.com.', 'TXT', 'NOERROR', 'wildcard answer TXT'),
  S('x.apps.example.com.', 'MX', 'NOERROR', 'wildcard NODATA: cover of qname + wildcard NSEC without MX'),
  S('x.apps.example.com.', 'AAAA', 'NOERROR', 'wildcard NODATA for AAAA'),
  S('y.z.apps.example.com.', 'A', 'NOERROR', 'wildcard several labels below'),
  S('apps.example.com.', 'A', 'NOERROR', 'wildcard parent is an ENT: NODATA'),
  S('*.apps.example.com.', 'A', 'NOERROR', 'the wildcard name itself'),
  S('*.apps.example.com.', 'MX', 'NOERROR', 'the wildcard name itself, NODATA'),
  S('*.apps.example.com.', 'NSEC', 'NOERROR', 'qtype NSEC at the wildcard owner'),
  S('other.wild.example.com.', 'MX', 'NOERROR', 'wildcard MX'),
  S('other.wild.example.com.', 'A', 'NOERROR', 'wildcard NODATA (*.wild has only MX)'),
  S('host.wild.example.com.', 'MX', 'NOERROR', 'name exists beside the wildcard: NODATA, no wildcard'),
  S('host.wild.example.com.', 'A', 'NOERROR', 'existing name beside a wildcard'),
  S('sub.host.wild.example.com.', 'MX', 'NXDOMAIN', 'below an existing name: no wildcard applies'),
  S('wild.example.com.', 'MX', 'NOERROR', 'wildcard parent ENT: NODATA'),
  S('X.Apps.Example.Com.', 'A', 'NOERROR', 'mixed-case wildcard question'),
  // empty non-terminals
  S('a.b.c.ent.example.com.', 'TXT', 'NOERROR', 'deep name'),
  S('b.c.ent.example.com.', 'TXT', 'NOERROR', 'ENT two levels up: NODATA'),
  S('c.ent.example.com.', 'A', 'NOERROR', 'ENT'),
  S('ent.example.com.', 'A', 'NOERROR', 'ENT at the top'),
  S('x.c.ent.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN below an ENT'),
  // SRV
  S('_sip._tcp.srv.example.com.', 'SRV', 'NOERROR', 'SRV'),
  S('_tcp.srv.example.com.', 'SRV', 'NOERROR', 'ENT above SRV'),
  // DNAME
  S('dn.example.com.', 'DNAME', 'NOERROR', 'the DNAME itself'),
  S('dn.example.com.', 'A', 'NOERROR', 'NODATA at the DNAME owner'),
  S('www.dn.example.com.', 'A', 'NOERROR', 'DNAME to example.net (its own anchor): synthesised CNAME, secure'),
  S('a.b.dn.example.com.', 'TXT', 'NXDOMAIN', 'DNAME substitution to a nonexistent name in example.net'),
  // DS at cuts
  S('sub.example.com.', 'DS', 'NOERROR', 'DS present at a cut (secure delegation)'),
  S('insecure.example.com.', 'DS', 'NOERROR', 'DS absent at a cut: secure NODATA (NSEC: NS, no DS)'),
  S('kids.example.com.', 'DS', 'NOERROR', 'DS at the served child apex, from the parent: secure NODATA'),
  // the child zone, insecurely delegated (no DS in the fixture)
  I('kids.example.com.', 'SOA', 'NOERROR', 'child apex SOA below an insecure delegation'),
  I('kids.example.com.', 'NS', 'NOERROR', 'child apex NS'),
  I('kids.example.com.', 'DNSKEY', 'NOERROR', 'child DNSKEY: signed, but no DS links it'),
  I('www.kids.example.com.', 'A', 'NOERROR', 'child zone data'),
  I('www.kids.example.com.', 'TXT', 'NOERROR', 'child zone NODATA'),
  I('nope.kids.example.com.', 'A', 'NXDOMAIN', 'child zone NXDOMAIN'),
  I('a.kids.example.com.', 'A', 'NXDOMAIN', 'child zone NXDOMAIN before the first name'),
  I('zzz.kids.example.com.', 'A', 'NXDOMAIN', 'child zone NXDOMAIN after the last name'),
  // NXDOMAIN before, between and after names
  S('!.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN sorting before every name (covered by the apex NSEC)'),
  S('0.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN before the first name'),
  S('aaa.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN near the start'),
  S('nonexistent.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN between names'),
  S('zzz.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN after the last name (covered by the last NSEC)'),
  S('~.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN with a high octet label, after the last name'),
  S('deep.under.nothing.example.com.', 'AAAA', 'NXDOMAIN', 'NXDOMAIN several labels down'),
  // letter case
  S('WWW.EXAMPLE.COM.', 'A', 'NOERROR', 'upper-case question'),
  S('MaIl.ExAmPlE.cOm.', 'A', 'NOERROR', 'mixed-case question'),
  S('EXAMPLE.COM.', 'SOA', 'NOERROR', 'upper-case apex'),
  S('_25._TCP.MAIL.EXAMPLE.COM.', 'TLSA', 'NOERROR', 'upper-case TLSA name'),
  S('_TCP.Mail.Example.Com.', 'TLSA', 'NOERROR', 'mixed-case ENT NODATA'),
  S('ZZZ.EXAMPLE.COM.', 'A', 'NXDOMAIN', 'upper-case NXDOMAIN'),
  S('mixed.example.com.', 'A', 'NOERROR', 'zone data with a mixed-case owner (MiXeD)'),
  S('MIXED.EXAMPLE.COM.', 'A', 'NOERROR', 'mixed-case owner asked in upper case'),
  // other types
  S('_dmarc.example.com.', 'TXT', 'NOERROR', 'DMARC TXT'),
  S('default._domainkey.example.com.', 'TXT', 'NOERROR', 'DKIM TXT of two strings'),
  S('svc.example.com.', 'HTTPS', 'NOERROR', 'HTTPS'),
  S('svc.example.com.', 'SSHFP', 'NOERROR', 'SSHFP'),
  S('svc.example.com.', 'NAPTR', 'NOERROR', 'NAPTR'),
  S('svc.example.com.', 'TYPE65400', 'NOERROR', 'RFC 3597 unknown type'),
  S('svc.example.com.', 'TLSA', 'NOERROR', 'NODATA at a name with an unknown type in its bitmap'),
  // qtype NSEC at existing names (not at cuts)
  S('example.com.', 'NSEC', 'NOERROR', 'qtype NSEC at the apex'),
  S('mail.example.com.', 'NSEC', 'NOERROR', 'qtype NSEC at a host'),
  S('_25._tcp.mail.example.com.', 'NSEC', 'NOERROR', 'qtype NSEC at the TLSA name'),
  S('example.net.', 'NSEC', 'NOERROR', 'qtype NSEC at the second apex'),
  // ANY (RFC 8482)
  S('example.com.', 'ANY', 'NOERROR', 'ANY at the apex'),
  S('mail.example.com.', 'ANY', 'NOERROR', 'ANY at a host'),
  // the second zone, its own anchor
  S('example.net.', 'SOA', 'NOERROR', 'second zone SOA'),
  S('example.net.', 'NS', 'NOERROR', 'second zone NS'),
  S('example.net.', 'DNSKEY', 'NOERROR', 'second zone DNSKEY'),
  S('www.example.net.', 'A', 'NOERROR', 'second zone data'),
  S('www.example.net.', 'TXT', 'NOERROR', 'second zone NODATA'),
  S('WwW.ExAmPlE.NeT.', 'A', 'NOERROR', 'second zone, mixed case'),
  S('nothere.example.net.', 'A', 'NXDOMAIN', 'second zone NXDOMAIN'),
  S('a.example.net.', 'A', 'NXDOMAIN', 'second zone NXDOMAIN before the first name'),
  S('zzz.example.net.', 'A', 'NXDOMAIN', 'second zone NXDOMAIN after the last name'),
  // sizes and transports (client to resolver)
  S('big.example.com.', 'A', 'NOERROR', '40 A records with EDNS 1232'),
  S('big.example.com.', 'A', 'NOERROR', '40 A records over TCP', { tcp: true }),
  S('example.com.', 'MX', 'NOERROR', 'MX over TCP', { tcp: true }),
  S('nonexistent.example.com.', 'A', 'NXDOMAIN', 'NXDOMAIN over TCP', { tcp: true }),
  S('x.apps.example.com.', 'A', 'NOERROR', 'wildcard over TCP', { tcp: true }),
];

/**
 * A subset for delv (BIND's validator) to agree on: one of each kind of proof, both anchors, the insecure child.
 * No chain that crosses from one anchored zone into another (www.dn.example.com): delv takes a single trust anchor.
 */
export const DELV_SUBSET: readonly ValidationCase[] = [
  ['_25._tcp.mail.example.com.', 'TLSA'],
  ['_tcp.mail.example.com.', 'TLSA'],
  ['x.apps.example.com.', 'A'],
  ['x.apps.example.com.', 'MX'],
  ['zzz.example.com.', 'A'],
  ['0.example.com.', 'A'],
  ['insecure.example.com.', 'DS'],
  ['dangling.example.com.', 'A'],
  ['other.wild.example.com.', 'A'],
  ['kids.example.com.', 'DS'],
  ['nothere.example.net.', 'A'],
  ['www.kids.example.com.', 'A'],
  ['WWW.EXAMPLE.COM.', 'A'],
].map(([qname, qtype]) => {
  const found = VALIDATION_CASES.find((v) => v.qname === qname && v.qtype === qtype && v.tcp !== true);
  if (found === undefined) throw new Error(`DELV_SUBSET: ${qname} ${qtype} is not in VALIDATION_CASES`);
  return found;
});

/**
 * The cases of oracle-cases.ts that are not in VALIDATION_CASES, with the reason (see the header). The suite
 * checks that every other oracle case is in the table, so a case added there shows up here or there.
 */
export const NOT_THROUGH_A_RESOLVER: readonly { qname: string; qtype: string; why: string }[] = [
  { qname: 'example.org.', qtype: 'A', why: 'outside every zone: REFUSED by the server, SERVFAIL through a resolver' },
  { qname: 'com.', qtype: 'SOA', why: 'outside every zone' },
  { qname: '.', qtype: 'NS', why: 'outside every zone' },
  { qname: 'loop1.example.com.', qtype: 'A', why: 'CNAME loop: Unbound answers SERVFAIL after its restart limit' },
  { qname: 'example.com.', qtype: 'DS', why: 'asked of the parent com., which no test server serves' },
  { qname: 'sub.example.com.', qtype: 'NS', why: 'delegated to servers that do not exist (192.0.2.60, 198.51.100.53)' },
  { qname: 'sub.example.com.', qtype: 'A', why: 'below a delegation to servers that do not exist' },
  { qname: 'sub.example.com.', qtype: 'SOA', why: 'below a delegation to servers that do not exist' },
  { qname: 'www.sub.example.com.', qtype: 'A', why: 'below a delegation to servers that do not exist' },
  { qname: 'ns1.sub.example.com.', qtype: 'A', why: 'below a delegation to servers that do not exist' },
  { qname: 'insecure.example.com.', qtype: 'NS', why: 'delegated to ns.example.net (198.51.100.53), not on loopback' },
  { qname: 'host.insecure.example.com.', qtype: 'A', why: 'below a delegation to a server not on loopback' },
];
