/**
 * `dane-ns check ZONE`: the operator's doctor. Compares what is on disk (certificate files) with what the
 * running server publishes (TLSA over DNS, with signatures verified against the zone's DNSKEY), reports
 * certificate validity, the served DNSKEYs against the key files and the parent's DS (chain.ts), and with
 * `live` speaks SMTP to every address of each TLSA host (live.ts) and classifies the result the way sending
 * MTAs do (RFC 7672; Exchange Online's 4.7.321-324): unreachable, starttls-not-supported, certificate-expired,
 * tlsa-invalid, dnssec-invalid, or ok. With the server's rollover state, each published record is labelled and a
 * cold rollover or a `next:` key already in use is warned about (rotation.ts).
 */
import { dirname, resolve } from 'node:path';
import { nameToText, parseName } from '../wire/name.js';
import { RCODE, T } from '../wire/types.js';
import { fullRcode } from '../wire/message.js';
import { soaSerial } from '../zone/build.js';
import type { Zone } from '../zone/zone.js';
import type { TlsaEntry } from '../zone/settings.js';
import { tlsaHost } from '../tlsa/augment.js';
import { certStatus } from '../tlsa/manager.js';
import { readTlsaSource, TlsaSourceError, tlsa311 } from '../tlsa/source.js';
import { dnsQuery, type DnsServer } from './dns.js';
import { dsFindings, keyFileFindings, lifetimeFindings } from './chain.js';
import { liveFindings, type Verdict } from './live.js';
import { verifiedRRset as rrsetOf } from './rrsig.js';
import { hazardFindings, hostRollover, recordFindings, type RolloverView } from './rotation.js';

export interface Finding {
  readonly level: 'ok' | 'warn' | 'fail';
  readonly what: string;
  readonly detail: string;
}

interface CheckOptions {
  readonly zone: Zone;
  readonly entries: readonly TlsaEntry[];
  readonly server: DnsServer;
  /** The keys directory: the served DNSKEYs are compared with its key files. */
  readonly keysDir: string;
  /** Where to ask the parent's DS (a resolver, or why none can be asked). */
  readonly resolver: DnsServer | string;
  readonly live: boolean;
  /** Address to connect to for the live check (default: every A and AAAA address of the host at the server). */
  readonly connect?: string;
  /** SMTP port for the live check (default: the TLSA port, i.e. 25). */
  readonly smtpPort?: number;
  readonly now: number;
  /** The running server's TLSA rollover state: records are labelled and rotation hazards warned about. */
  readonly rollover?: RolloverView;
}

interface CheckReport {
  readonly findings: Finding[];
  /** One per TLSA owner checked live. */
  readonly verdicts: { owner: string; verdict: Verdict }[];
  /** The SOA serial the server serves, when its SOA was read (the notify targets are compared with it). */
  servedSerial?: number;
}

const DAY = 86400_000;

export async function checkZone(o: CheckOptions): Promise<CheckReport> {
  const findings: Finding[] = [];
  const verdicts: { owner: string; verdict: Verdict }[] = [];
  const add = (level: Finding['level'], what: string, detail: string): void =>
    void findings.push({ level, what, detail });
  const origin = o.zone.origin;
  const zoneText = nameToText(origin);

  // DNSKEY and SOA: the server answers, and its signatures verify and are current.
  let keys: Uint8Array[] = [];
  let dnssecOk = true;
  let served: number | undefined;
  try {
    const dk = await dnsQuery(o.server, origin, T.DNSKEY);
    keys = dk.answer.filter((r) => r.type === T.DNSKEY && r.name.key === origin.key).map((r) => r.rdata);
    if (keys.length === 0) {
      add(
        'fail',
        `${zoneText} DNSKEY`,
        `the server at ${o.server.host}:${o.server.port} publishes no DNSKEY (rcode ${fullRcode(dk)})`,
      );
      dnssecOk = false;
    } else {
      const s = rrsetOf(
        dk.answer,
        origin,
        T.DNSKEY,
        keys.filter((k) => (k[1]! & 1) === 1),
        o.now,
      );
      if (s.signed !== 'valid') {
        add('fail', `${zoneText} DNSKEY`, `signature ${s.signed}`);
        dnssecOk = false;
      } else
        add(
          s.expires! - o.now < 3 * DAY ? 'warn' : 'ok',
          `${zoneText} DNSKEY`,
          `${keys.length} keys, signature valid until ${new Date(s.expires!).toISOString()}`,
        );
    }
    if (keys.length > 0) {
      findings.push(...keyFileFindings(origin, keys, o.keysDir, o.now));
      findings.push(...lifetimeFindings(origin, o.zone.dnssec, o.keysDir, o.now));
      findings.push(await dsFindings(origin, keys, o.resolver));
    }
    const soa = await dnsQuery(o.server, origin, T.SOA);
    const s = rrsetOf(soa.answer, origin, T.SOA, keys, o.now);
    const soaRdata = soa.answer.find((r) => r.type === T.SOA && r.name.key === origin.key)?.rdata;
    if (soaRdata && soaRdata.length >= 20) served = soaSerial(soaRdata);
    if (s.signed !== 'valid') {
      add('fail', `${zoneText} SOA`, `signature ${s.signed}`);
      dnssecOk = false;
    } else
      add(
        'ok',
        `${zoneText} SOA`,
        `serial ${new DataView(s.rdatas[0]!.buffer, s.rdatas[0]!.byteOffset).getUint32(s.rdatas[0]!.length - 20)}, signature valid until ${new Date(s.expires!).toISOString()}`,
      );
  } catch (e) {
    add('fail', `${zoneText} server`, `${o.server.host}:${o.server.port}: ${(e as Error).message}`);
    return { findings, verdicts, ...(served !== undefined ? { servedSerial: served } : {}) };
  }
  if (o.entries.length === 0) add('warn', `${zoneText} tlsa`, 'no automatic TLSA entries in the zone file');

  for (const entry of o.entries) {
    const host = tlsaHost(entry.host, origin);
    if (typeof host === 'string') {
      add('fail', `tlsa line ${entry.line}`, host);
      continue;
    }
    const hostText = nameToText(host);
    const roll = o.rollover ? hostRollover(o.rollover, zoneText, hostText) : undefined;
    if (roll && 'finding' in roll) findings.push(roll.finding);
    if (roll && 'state' in roll) findings.push(...hazardFindings(roll.state, hostText, o.now));
    // Files on disk.
    const want: string[] = [];
    for (const [role, written] of [
      ['current', entry.cert],
      ['next', entry.next],
    ] as const) {
      if (written === undefined) continue;
      const path = resolve(dirname(resolve(o.zone.file)), written); // relative to the zone file, as the server reads it
      try {
        const src = readTlsaSource(path);
        want.push(tlsa311(src));
        const st = certStatus(src, o.now);
        const until = src.notAfter !== undefined ? `, valid until ${new Date(src.notAfter).toISOString()}` : '';
        const level = st === 'ok' || role === 'next' ? 'ok' : st === 'expiring' ? 'warn' : 'fail';
        add(level, `${hostText} ${role} ${path}`, `${src.kind}, ${st}${until}`);
      } catch (e) {
        if (!(e instanceof TlsaSourceError)) throw e;
        add(
          role === 'next' && e.missing ? 'ok' : 'fail',
          `${hostText} ${role} ${path}`,
          e.missing && role === 'next' ? 'not there (normal until the next key exists)' : e.reason,
        );
      }
    }
    for (const port of entry.ports) {
      const owner = parseName(`_${port}._tcp`, host);
      const ownerText = nameToText(owner);
      const ans = await dnsQuery(o.server, owner, T.TLSA);
      const s = rrsetOf(ans.answer, owner, T.TLSA, keys, o.now);
      const published = s.rdatas.map(
        (rd) => `${rd[0]} ${rd[1]} ${rd[2]} ${Buffer.from(rd.subarray(3)).toString('hex').toUpperCase()}`,
      );
      let tlsaOk = true; // the files' records are all published
      let dnsOk = dnssecOk;
      if (fullRcode(ans) !== RCODE.NOERROR || published.length === 0) {
        add(
          'fail',
          `${ownerText} TLSA`,
          `not published (rcode ${fullRcode(ans)}): is the server running with this zone's current file?`,
        );
        tlsaOk = false;
      } else {
        if (s.signed !== 'valid') {
          add('fail', `${ownerText} TLSA`, `signature ${s.signed}: validating senders report dnssec-invalid (4.7.324)`);
          dnsOk = false;
        }
        for (const w of want)
          if (!published.includes(w)) {
            add('fail', `${ownerText} TLSA`, `${w} from the files is not published (yet?)`);
            tlsaOk = false;
          }
        if (tlsaOk && s.signed === 'valid')
          add(
            'ok',
            `${ownerText} TLSA`,
            `${published.length} record(s) published and signed, until ${new Date(s.expires!).toISOString()}: ${published.join('; ')}`,
          );
        if (roll && 'state' in roll) findings.push(...recordFindings(roll.state, ownerText, published, o.now));
      }
      if (!o.live) continue;
      // Live: what a sending MTA sees at each address.
      const live = await liveFindings({
        server: o.server,
        ...(typeof o.resolver !== 'string' ? { resolver: o.resolver } : {}),
        host,
        hostText,
        ownerText,
        tlsaPort: port,
        ...(o.connect !== undefined ? { connect: o.connect } : {}),
        ...(o.smtpPort !== undefined ? { smtpPort: o.smtpPort } : {}),
        published,
        dnsOk,
        now: o.now,
      });
      findings.push(...live.findings);
      for (const verdict of live.verdicts) verdicts.push({ owner: ownerText, verdict });
    }
  }
  return { findings, verdicts, ...(served !== undefined ? { servedSerial: served } : {}) };
}
