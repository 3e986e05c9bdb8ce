/**
 * The chain of trust of `dane-ns check`: the DNSKEY RRset the running server publishes against the key files of
 * the keys directory (BIND-style K<zone>+013+<tag>.key, timing per RFC 7583), and the DS the parent publishes
 * against the served KSKs (RFC 4035 §5.2: a DS must match a DNSKEY with the SEP bit that signs the DNSKEY RRset;
 * RFC 4509 SHA-256 and RFC 6605 SHA-384 digests). A missing link is what validating senders report as
 * dnssec-invalid (4.7.324), or, with no DS at all, an insecure delegation where DANE is not in effect
 * (RFC 7672 §2.2.2).
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { nameToText, type Name } from '../wire/name.js';
import { decodeMessage, encodeQuery, fullRcode } from '../wire/message.js';
import { RCODE, T } from '../wire/types.js';
import { bytesEqual, keyTag } from '../dnssec/keys.js';
import { loadZoneKeys } from '../dnssec/keyfile.js';
import { iso, keyState } from '../dnssec/lifecycle.js';
import { lifetimeRollovers } from '../dnssec/lifetime.js';
import type { DnssecSettings } from '../zone/settings.js';
import { dsRdata, dsText } from '../dnssec/ds.js';
import type { Finding } from './audit.js';
import { udpExchange, type DnsServer } from './dns.js';

const SEP = 1; // RFC 4034 §2.1.1: the Secure Entry Point bit of the DNSKEY flags (257 = KSK)
const DIGEST_SHA256 = 2;
const DIGEST_SHA384 = 4;

/**
 * The served DNSKEYs against the key files of `zone` in `keysDir`: a served key without a key file fails (the
 * server signs with keys this operator does not hold, so `dane-ns ds` gives the parent the wrong DS); a key file
 * whose timing says it is in the RRset now (published, active or retired) but that is not served warns. A
 * directory without any key file of the zone is one warning: the comparison is then not possible.
 */
export function keyFileFindings(zone: Name, served: readonly Uint8Array[], keysDir: string, now: number): Finding[] {
  const what = `${nameToText(zone)} DNSKEY`;
  const loaded = loadZoneKeys(keysDir, zone);
  const out: Finding[] = loaded.problems.map((p) => ({ level: 'warn', what: 'key file', detail: p }));
  if (loaded.keys.length === 0) {
    out.push({
      level: 'warn',
      what,
      detail: `no key files of the zone in ${keysDir} (--keys): the served keys are not compared with them`,
    });
    return out;
  }
  for (const rd of served)
    if (!loaded.keys.some((k) => bytesEqual(k.dnskeyRdata, rd)))
      out.push({ level: 'fail', what, detail: `served key tag ${keyTag(rd)} is not in ${keysDir}` });
  for (const k of loaded.keys) {
    const state = keyState(k, new Date(now));
    const due = state === 'published' || state === 'active' || state === 'retired';
    if (due && !served.some((rd) => bytesEqual(k.dnskeyRdata, rd)))
      out.push({
        level: 'warn',
        what,
        detail: `key tag ${k.tag} of ${keysDir} is ${state} but not served: is the server running with these keys?`,
      });
  }
  if (!out.some((f) => f.what === what))
    out.push({ level: 'ok', what, detail: `the ${served.length} served keys are those of ${keysDir}` });
  return out;
}

/**
 * The zone's rollovers by key lifetime (`dnssec.zsk-lifetime`, `dnssec.ksk-lifetime`; RFC 6781 §4.1): when the
 * next one starts (the server's next key event), a lifetime already over as a warning (a running server would
 * have started its rollover), or that none is planned while a rollover is under way. None for a zone without
 * lifetimes.
 */
export function lifetimeFindings(zone: Name, d: DnssecSettings, keysDir: string, now: number): Finding[] {
  if (!d.enabled || (!d.zskLifetime && !d.kskLifetime)) return [];
  const { keys } = loadZoneKeys(keysDir, zone);
  if (keys.length === 0) return [];
  const what = `${nameToText(zone)} key lifetime`;
  const r = lifetimeRollovers(keys, d.keys, { zsk: d.zskLifetime ?? 0, ksk: d.kskLifetime ?? 0 }, new Date(now));
  const out: Finding[] = r.start.map((x) => ({
    level: 'warn',
    what,
    detail: `the lifetime of ${x.kind.toUpperCase()} ${x.key.tag} ended at ${iso(x.due)}: is the server running? It starts the rollover then`,
  }));
  if (r.next) out.push({ level: 'ok', what, detail: `next rollover by lifetime at ${iso(r.next)} (a key event)` });
  else if (out.length === 0)
    out.push({ level: 'ok', what, detail: 'a rollover is under way: the next by lifetime is planned once it ends' });
  return out;
}

/** The first `nameserver` of /etc/resolv.conf (the system's resolver), port 53. */
export function systemResolver(path = '/etc/resolv.conf'): DnsServer | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const host = m?.[1]?.replace(/%.*$/, ''); // an IPv6 zone index is not usable by node:dgram's send
    if (host !== undefined && isIP(host) !== 0) return { host, port: 53 };
  }
  return `no nameserver in ${path}`;
}

/**
 * The DS RRset of `zone` as `resolver` (a recursive resolver, RD set, or the parent's authoritative server)
 * answers it, against the served KSKs: ok when a DS with digest type 2 or 4 matches one, fail when DS records
 * exist and none match, warn for no DS (insecure delegation) and when the resolver gives no usable answer.
 */
export async function dsFindings(
  zone: Name,
  served: readonly Uint8Array[],
  resolver: DnsServer | string,
  timeoutMs = 2000,
): Promise<Finding> {
  const what = `${nameToText(zone)} DS`;
  if (typeof resolver === 'string') return { level: 'warn', what, detail: `the parent's DS not asked: ${resolver}` };
  const at = `${resolver.host.includes(':') ? `[${resolver.host}]` : resolver.host}:${resolver.port}`;
  const query = encodeQuery(zone, T.DS, {
    id: randomInt(0, 65536),
    rd: true,
    edns: { udpSize: 1232, dnssecOk: true },
  });
  let answer;
  try {
    answer = decodeMessage(await udpExchange(resolver, query, timeoutMs));
  } catch (e) {
    return { level: 'warn', what, detail: `resolver ${at} not asked: ${(e as Error).message}` };
  }
  const rcode = fullRcode(answer);
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN)
    return { level: 'warn', what, detail: `resolver ${at} answered rcode ${rcodeName(rcode)}: the DS is unknown` };
  const ds = answer.answer.filter((r) => r.type === T.DS && r.name.key === zone.key).map((r) => r.rdata);
  const ksks = served.filter((k) => (k[1]! & SEP) === SEP);
  // What to hand to the registrar: the DS of every served KSK, as `dane-ns ds` prints it.
  const toGive = ksks.map((k) => dsText(zone, k)).join(' | ');
  if (ds.length === 0)
    return {
      level: 'warn',
      what,
      detail: `no DS at the parent (resolver ${at}): an insecure delegation, DANE is not in effect; give the parent \`dane-ns ds\`: ${toGive}`,
    };
  // The parent's DS next to the served keys.
  const beside = `; the parent's DS: ${ds.map((d) => `${(d[0]! << 8) | d[1]!} ${d[2]!} ${d[3]!}`).join(', ')}; served KSKs: ${ksks.map(keyTag).join(', ')}`;
  for (const d of ds) {
    const digestType = d[3]!;
    if (digestType !== DIGEST_SHA256 && digestType !== DIGEST_SHA384) continue;
    const k = ksks.find((key) => bytesEqual(dsRdata(zone, key, digestType), d));
    if (k !== undefined)
      return {
        level: 'ok',
        what,
        detail: `DS ${keyTag(k)} 13 ${digestType} at the parent (resolver ${at}) matches the served KSK${beside}`,
      };
  }
  const tags = ds.map((d) => `${(d[0]! << 8) | d[1]!}/${d[3]!}`).join(', ');
  return {
    level: 'fail',
    what,
    detail: `no DS at the parent (resolver ${at}; tag/digest ${tags}) matches a served KSK (${ksks.map(keyTag).join(', ') || 'none'}): validating senders report dnssec-invalid (4.7.324)`,
  };
}

function rcodeName(rcode: number): string {
  const name = Object.entries(RCODE).find(([, v]) => v === rcode)?.[0];
  return name ?? String(rcode);
}
