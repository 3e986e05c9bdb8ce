/**
 * The oracle query table: every answering case of the core issue. Each query goes to dane-ns and to Knot DNS
 * serving the same zones (exported by `dane-ns zone export`), and the answers must match (see oracle.test.ts).
 */
export interface OracleCase {
  readonly qname: string;
  readonly qtype: string;
  readonly tcp?: boolean;
  readonly noEdns?: boolean;
  readonly bufsize?: number;
  readonly why: string;
}

const c = (qname: string, qtype: string, why: string, extra: Partial<OracleCase> = {}): OracleCase => ({
  qname,
  qtype,
  why,
  ...extra,
});

export const ORACLE_CASES: readonly OracleCase[] = [
  // existing data at the apex
  c('example.com.', 'SOA', 'apex SOA'),
  c('example.com.', 'NS', 'apex NS with in-zone glue in additional'),
  c('example.com.', 'MX', 'apex MX, in-zone target addresses in additional'),
  c('example.com.', 'A', 'apex A'),
  c('example.com.', 'AAAA', 'apex AAAA'),
  c('example.com.', 'TXT', 'apex TXT'),
  c('example.com.', 'CAA', 'apex CAA'),
  // NODATA at existing names
  c('example.com.', 'SRV', 'apex NODATA'),
  c('example.com.', 'DS', 'DS at the apex: NODATA (no parent here)'),
  c('example.com.', 'TLSA', 'apex NODATA for TLSA'),
  c('ns1.example.com.', 'A', 'host A'),
  c('ns1.example.com.', 'AAAA', 'host AAAA'),
  c('ns1.example.com.', 'MX', 'host NODATA'),
  c('mail.example.com.', 'A', 'RRset with its own TTL and two records'),
  c('mail.example.com.', 'AAAA', 'mail AAAA'),
  c('mail.example.com.', 'TXT', 'mail NODATA'),
  // TLSA and the ENT above it
  c('_25._tcp.mail.example.com.', 'TLSA', 'TLSA 3 1 1'),
  c('_25._tcp.mail.example.com.', 'A', 'NODATA at the TLSA name'),
  c('_tcp.mail.example.com.', 'TLSA', 'ENT: NOERROR/NODATA, never NXDOMAIN'),
  c('_tcp.mail.example.com.', 'A', 'ENT NODATA for A'),
  c('_443._tcp.mail.example.com.', 'TLSA', 'NXDOMAIN beside the TLSA name'),
  c('_25._tcp.ns1.example.com.', 'TLSA', 'host without TLSA: NXDOMAIN'),
  // CNAME
  c('www.example.com.', 'A', 'CNAME to the apex, followed in zone'),
  c('www.example.com.', 'MX', 'CNAME followed, MX with additional'),
  c('www.example.com.', 'CNAME', 'qtype CNAME: just the CNAME'),
  c('www.example.com.', 'TLSA', 'CNAME followed to NODATA'),
  c('ftp.example.com.', 'A', 'CNAME chain of two'),
  c('ftp.example.com.', 'AAAA', 'CNAME chain to AAAA'),
  c('alias-out.example.com.', 'A', 'CNAME to an out-of-zone name'),
  c('dangling.example.com.', 'A', 'CNAME to a nonexistent in-zone name: NXDOMAIN (RFC 6604)'),
  c('loop1.example.com.', 'A', 'CNAME loop'),
  // wildcards
  c('x.apps.example.com.', 'A', 'wildcard answer'),
  c('x.apps.example.com.', 'TXT', 'wildcard answer TXT'),
  c('x.apps.example.com.', 'MX', 'wildcard NODATA'),
  c('y.z.apps.example.com.', 'A', 'wildcard several labels below'),
  c('apps.example.com.', 'A', 'wildcard parent is an ENT: NODATA'),
  c('*.apps.example.com.', 'A', 'the wildcard name itself'),
  c('*.apps.example.com.', 'MX', 'the wildcard name itself, NODATA'),
  c('other.wild.example.com.', 'MX', 'wildcard MX with additional'),
  c('host.wild.example.com.', 'MX', 'name exists: the wildcard must not match (NODATA)'),
  c('host.wild.example.com.', 'A', 'existing name beside a wildcard'),
  c('sub.host.wild.example.com.', 'MX', 'below an existing name: no wildcard there, NXDOMAIN'),
  c('wild.example.com.', 'MX', 'wildcard parent ENT: NODATA'),
  // empty non-terminals
  c('a.b.c.ent.example.com.', 'TXT', 'deep name'),
  c('b.c.ent.example.com.', 'TXT', 'ENT two levels up'),
  c('c.ent.example.com.', 'A', 'ENT'),
  c('ent.example.com.', 'A', 'ENT at the top'),
  c('x.c.ent.example.com.', 'A', 'NXDOMAIN below an ENT'),
  // SRV
  c('_sip._tcp.srv.example.com.', 'SRV', 'SRV with target address in additional'),
  c('_tcp.srv.example.com.', 'SRV', 'ENT above SRV'),
  // DNAME
  c('dn.example.com.', 'DNAME', 'the DNAME itself'),
  c('dn.example.com.', 'A', 'NODATA at the DNAME owner'),
  c('www.dn.example.com.', 'A', 'DNAME substitution to another served zone'),
  c('a.b.dn.example.com.', 'TXT', 'DNAME substitution, two labels'),
  // referrals and DS at cuts
  c('sub.example.com.', 'NS', 'referral at the cut'),
  c('sub.example.com.', 'A', 'referral for data at the cut'),
  c('sub.example.com.', 'DS', 'DS at a cut: answered from the parent'),
  c('www.sub.example.com.', 'A', 'referral below the cut, glue in additional'),
  c('ns1.sub.example.com.', 'A', 'glue name itself: referral'),
  c('sub.example.com.', 'SOA', 'SOA at a cut: referral'),
  c('insecure.example.com.', 'NS', 'referral without DS, out-of-zone NS'),
  c('insecure.example.com.', 'DS', 'DS absent at a cut: NODATA from the parent'),
  c('host.insecure.example.com.', 'A', 'referral below an insecure cut'),
  // parent and child zones on one server
  c('kids.example.com.', 'SOA', 'child zone apex: the child answers'),
  c('kids.example.com.', 'NS', 'child apex NS: the child answers'),
  c('kids.example.com.', 'DS', 'DS at a served child apex: the parent answers'),
  c('www.kids.example.com.', 'A', 'longest match: child zone data'),
  c('nope.kids.example.com.', 'A', 'NXDOMAIN in the child zone'),
  // NXDOMAIN before, between and after names
  c('0.example.com.', 'A', 'NXDOMAIN sorting before every name'),
  c('aaa.example.com.', 'A', 'NXDOMAIN near the start'),
  c('nonexistent.example.com.', 'A', 'NXDOMAIN between names'),
  c('zzz.example.com.', 'A', 'NXDOMAIN after the last name'),
  c('~.example.com.', 'A', 'NXDOMAIN with a high octet label'),
  c('deep.under.nothing.example.com.', 'AAAA', 'NXDOMAIN several labels down'),
  // letter case
  c('WWW.EXAMPLE.COM.', 'A', 'upper-case question'),
  c('MaIl.ExAmPlE.cOm.', 'A', 'mixed-case question'),
  c('mixed.example.com.', 'A', 'zone data with mixed case owner'),
  c('X.Apps.Example.Com.', 'A', 'mixed-case wildcard question'),
  // other types
  c('_dmarc.example.com.', 'TXT', 'DMARC TXT'),
  c('default._domainkey.example.com.', 'TXT', 'DKIM TXT split in 255-octet strings'),
  c('svc.example.com.', 'HTTPS', 'HTTPS record'),
  c('svc.example.com.', 'SSHFP', 'SSHFP'),
  c('svc.example.com.', 'NAPTR', 'NAPTR'),
  c('svc.example.com.', 'TYPE65400', 'RFC 3597 unknown type'),
  // ANY (RFC 8482: a minimal answer)
  c('example.com.', 'ANY', 'ANY at the apex'),
  c('mail.example.com.', 'ANY', 'ANY at a host'),
  // out of zone
  c('example.org.', 'A', 'outside every zone: REFUSED'),
  c('com.', 'SOA', 'parent of a served zone: REFUSED'),
  c('.', 'NS', 'the root: REFUSED'),
  // the second zone
  c('example.net.', 'SOA', 'second zone SOA'),
  c('example.net.', 'NS', 'second zone NS with glue'),
  c('www.example.net.', 'A', 'second zone data'),
  c('www.example.net.', 'TXT', 'second zone NODATA'),
  c('nothere.example.net.', 'A', 'second zone NXDOMAIN'),
  // sizes and transports
  c('big.example.com.', 'A', '40 A records without EDNS: TC over UDP', { noEdns: true }),
  c('big.example.com.', 'A', '40 A records with EDNS 1232: fits'),
  c('big.example.com.', 'A', '40 A records over TCP', { tcp: true, noEdns: true }),
  c('example.com.', 'MX', 'TCP answer', { tcp: true }),
  c('nonexistent.example.com.', 'A', 'NXDOMAIN over TCP', { tcp: true }),
  c('x.apps.example.com.', 'A', 'wildcard over TCP', { tcp: true }),
];
