/**
 * `dane-ns healthcheck`: is the running server answering, signed, for every zone it should serve? For each zone
 * file in the zones directory it asks the server for the apex DNSKEY and SOA (DO=1) and verifies that a current
 * RRSIG over the SOA verifies with a published DNSKEY (RFC 4035 §5.3). Meant for a container HEALTHCHECK: no dig
 * in the image, one line of output, exit status 0 or 1. A zone whose file says `dnssec: { enabled: false }` only
 * has to answer its SOA.
 */
import { listZoneFiles, readZoneSource } from '../zone/files.js';
import { nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import { fullRcode } from '../wire/message.js';
import { dnsQuery, type DnsServer } from './dns.js';
import { verifiedRRset } from './rrsig.js';

interface HealthOptions {
  readonly zonesDir: string;
  readonly server: DnsServer;
  readonly now: number;
  /** Per-try timeout of each query (dns.ts tries UDP twice), default 1000 ms. */
  readonly timeoutMs?: number;
}

/** `ok` with a one-line summary, or the first problem found as one line. */
type HealthResult = { readonly ok: true; readonly line: string } | { readonly ok: false; readonly line: string };

interface ZoneToCheck {
  readonly origin: Name;
  readonly signed: boolean;
}

/** The origins of the zone files in `dir` (parsed only, not built). Throws a one-line Error. */
function zoneOrigins(dir: string): ZoneToCheck[] {
  let files: string[];
  try {
    files = listZoneFiles(dir);
  } catch (e) {
    throw new Error(`zones directory ${dir}: ${(e as Error).message}`);
  }
  if (files.length === 0) throw new Error(`no zone files (*.yaml) in ${dir}`);
  return files.map((file) => {
    const src = readZoneSource(file); // throws ZoneError with file:line on a YAML syntax error
    const text = src.src.origin ?? src.defaultOrigin;
    return { origin: parseName(text.endsWith('.') ? text : text + '.', ROOT), signed: src.src.dnssec.enabled };
  });
}

/** Checks one zone; returns a problem line or the SOA serial. */
async function checkOne(
  o: HealthOptions,
  { origin, signed }: ZoneToCheck,
): Promise<{ problem: string } | { serial: number }> {
  const zone = nameToText(origin);
  const at = `${o.server.host}:${o.server.port}`;
  const timeout = o.timeoutMs ?? 1000;
  const serialOf = (rd: Uint8Array): number =>
    new DataView(rd.buffer, rd.byteOffset, rd.byteLength).getUint32(rd.length - 20);
  if (!signed) {
    const soa = await dnsQuery(o.server, origin, T.SOA, timeout);
    const rd = soa.answer.find((r) => r.type === T.SOA && r.name.key === origin.key)?.rdata;
    return rd ? { serial: serialOf(rd) } : { problem: `${zone} SOA: none from ${at} (rcode ${fullRcode(soa)})` };
  }
  const dk = await dnsQuery(o.server, origin, T.DNSKEY, timeout);
  const keys = dk.answer.filter((r) => r.type === T.DNSKEY && r.name.key === origin.key).map((r) => r.rdata);
  if (keys.length === 0) return { problem: `${zone} DNSKEY: none from ${at} (rcode ${fullRcode(dk)})` };
  const soa = await dnsQuery(o.server, origin, T.SOA, timeout);
  const s = verifiedRRset(soa.answer, origin, T.SOA, keys, o.now);
  if (s.rdatas.length === 0) return { problem: `${zone} SOA: none from ${at} (rcode ${fullRcode(soa)})` };
  if (s.signed !== 'valid') return { problem: `${zone} SOA: signature ${s.signed}` };
  return { serial: serialOf(s.rdatas[0]!) };
}

/** Runs the check over every zone file; stops at the first problem. Never throws. */
export async function healthCheck(o: HealthOptions): Promise<HealthResult> {
  let origins: ZoneToCheck[];
  try {
    origins = zoneOrigins(o.zonesDir);
  } catch (e) {
    return { ok: false, line: firstLine(e) };
  }
  const done: string[] = [];
  for (const z of origins) {
    try {
      const r = await checkOne(o, z);
      if ('problem' in r) return { ok: false, line: r.problem };
      done.push(`${nameToText(z.origin)} serial ${r.serial}${z.signed ? '' : ' (unsigned)'}`);
    } catch (e) {
      return { ok: false, line: `${nameToText(z.origin)}: ${o.server.host}:${o.server.port}: ${firstLine(e)}` };
    }
  }
  return { ok: true, line: `${origins.length} zone(s) answered with current signatures: ${done.join(', ')}` };
}

/** One line of an error (a ZoneError's message may list several problems). */
function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!;
}
