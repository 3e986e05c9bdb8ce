/**
 * `dane-ns check --live`: what a sending MTA sees at each address of a TLSA host (RFC 7672 §2.2: a sender tries
 * the A and AAAA addresses of the MX host; each must present a key that a TLSA record names). Port 465 is
 * implicit TLS (RFC 8314 §3.3), any other port STARTTLS (RFC 3207). Each address gets its delivery class as the
 * senders report it (Exchange Online's 4.7.321-324, TLS-RPT result types of RFC 8460), plus `unreachable` for a
 * connection refused or not made in time, which senders retry later rather than report as a TLS failure.
 */
import type { Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import { spkiSha256 } from '../tlsa/source.js';
import type { Finding } from './audit.js';
import { dnsQuery, type DnsServer } from './dns.js';
import { probeSmtpTls } from './smtp.js';

export type Verdict =
  'ok' | 'unreachable' | 'starttls-not-supported' | 'certificate-expired' | 'tlsa-invalid' | 'dnssec-invalid';

/** The SMTP port with implicit TLS (RFC 8314 §3.3, submissions). */
const IMPLICIT_TLS_PORT = 465;

interface LiveOptions {
  readonly server: DnsServer;
  /** Asked for the host's addresses (RD set) when the server has none (a host outside its zones). */
  readonly resolver?: DnsServer;
  readonly host: Name;
  readonly hostText: string;
  readonly ownerText: string;
  /** The TLSA record's port (the owner _<port>._tcp). */
  readonly tlsaPort: number;
  /** The one address to connect to instead of the host's A and AAAA records. */
  readonly connect?: string;
  /** The port to connect to instead of the TLSA port. */
  readonly smtpPort?: number;
  /** The TLSA records the server publishes, as "u s m HEX". */
  readonly published: readonly string[];
  /** The TLSA, DNSKEY and SOA signatures verified. */
  readonly dnsOk: boolean;
  readonly now: number;
}

/** The A then AAAA addresses of `host` at `server`. */
async function addresses(server: DnsServer, host: Name, rd = false): Promise<string[]> {
  const out: string[] = [];
  const a = await dnsQuery(server, host, T.A, 2000, rd);
  for (const r of a.answer) if (r.type === T.A && r.name.key === host.key) out.push(Array.from(r.rdata).join('.'));
  const aaaa = await dnsQuery(server, host, T.AAAA, 2000, rd);
  for (const r of aaaa.answer)
    if (r.type === T.AAAA && r.name.key === host.key) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((r.rdata[i]! << 8) | r.rdata[i + 1]!).toString(16));
      out.push(new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)); // the compressed RFC 5952 form
    }
  return out;
}

/** One finding and one verdict per address of the TLSA host. */
export async function liveFindings(o: LiveOptions): Promise<{ findings: Finding[]; verdicts: Verdict[] }> {
  const findings: Finding[] = [];
  const verdicts: Verdict[] = [];
  let list = o.connect !== undefined ? [o.connect] : await addresses(o.server, o.host);
  if (list.length === 0 && o.resolver !== undefined)
    list = await addresses(o.resolver, o.host, true).catch(() => [] as string[]);
  if (list.length === 0) {
    findings.push({
      level: 'fail',
      what: `${o.ownerText} live`,
      detail: `${o.hostText} has no A or AAAA record at the server${o.resolver !== undefined ? ' or the resolver' : ''}: give --connect ADDR`,
    });
    return { findings, verdicts };
  }
  const port = o.smtpPort ?? o.tlsaPort;
  const implicit = port === IMPLICIT_TLS_PORT || o.tlsaPort === IMPLICIT_TLS_PORT;
  const name = o.hostText.replace(/\.$/, '');
  for (const address of list) {
    const at = `${address.includes(':') ? `[${address}]` : address}:${port}`;
    const what = `${o.ownerText} live ${at}`;
    const p = await probeSmtpTls(address, port, name, implicit);
    let verdict: Verdict;
    if (!p.connected) {
      verdict = 'unreachable';
      findings.push({
        level: 'fail',
        what,
        detail: `unreachable (${p.error ?? 'no connection'}): is the MTA listening on ${at}?`,
      });
    } else if (!p.offered || !p.established) {
      verdict = 'starttls-not-supported';
      const why = implicit
        ? 'TLS handshake failed (implicit TLS)'
        : p.offered
          ? 'TLS handshake failed'
          : 'STARTTLS not offered';
      findings.push({ level: 'fail', what, detail: p.error ?? why });
    } else {
      const leaf = p.chain[0]!;
      const leaf311 = `3 1 1 ${spkiSha256(leaf.publicKey)}`;
      const ta = p.chain.slice(1).map((c) => `2 1 1 ${spkiSha256(c.publicKey)}`);
      const matched = o.published.includes(leaf311) || ta.some((t) => o.published.includes(t));
      const expired = o.now > Date.parse(leaf.validTo) || o.now < Date.parse(leaf.validFrom);
      verdict = !o.dnsOk ? 'dnssec-invalid' : !matched ? 'tlsa-invalid' : expired ? 'certificate-expired' : 'ok';
      findings.push({
        level: verdict === 'ok' ? 'ok' : 'fail',
        what,
        detail: `${p.protocol ?? 'TLS'}${implicit ? ' (implicit)' : ''}, presented ${leaf311}${matched ? ' (matches)' : ' (matches no published TLSA)'}, valid until ${new Date(Date.parse(leaf.validTo)).toISOString()}: ${CLASS[verdict]}`,
      });
    }
    verdicts.push(verdict);
  }
  return { findings, verdicts };
}

/** What a sender reports for each class (Exchange Online's enhanced status codes). */
const CLASS: Record<Verdict, string> = {
  ok: 'ok',
  unreachable: 'unreachable',
  'starttls-not-supported': '4.7.321 starttls-not-supported',
  'certificate-expired': '4.7.322 certificate-expired',
  'tlsa-invalid': '4.7.323 tlsa-invalid',
  'dnssec-invalid': '4.7.324 dnssec-invalid',
};
