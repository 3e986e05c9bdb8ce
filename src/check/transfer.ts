/**
 * The transfer part of `dane-ns check ZONE`: the zone's `transfer:` settings as lines (who may AXFR/IXFR it,
 * RFC 5936 §6), and for each `transfer.notify` target (RFC 1996 §3.3) the SOA serial it serves, asked over UDP
 * with a short timeout and TSIG-signed with the target's key when it has one (RFC 8945 §5.1; the answer's TSIG
 * must verify, §5.3), beside the serial the running server serves: the same (current), older (behind), newer,
 * no answer, or the rcode of an error answer. The `transfer.check` servers (public name servers that are not
 * notified) are asked the same way; with the running server's view of them (its control socket status), a
 * server that is behind also shows how long it has been. A target
 * that is not current is a warning: a secondary catching up is not an outage.
 */
import { randomInt } from 'node:crypto';
import { signMessage, verify, type KeyLookup } from '../dnssec/tsig.js';
import { decodeMessage, encodeQuery, fullRcode } from '../wire/message.js';
import { nameEquals, nameToText, parseName, ROOT } from '../wire/name.js';
import { serialDiff } from '../wire/serial.js';
import { rcodeToText, RCODE, T } from '../wire/types.js';
import { soaSerial } from '../zone/build.js';
import type { NotifyTarget, TransferAllow } from '../zone/settings.js';
import type { Zone } from '../zone/zone.js';
import type { Finding } from './audit.js';
import { udpExchange } from './dns.js';

/** How long a target has to answer: a secondary on the path of a NOTIFY answers at once or not at all. */
export const TARGET_TIMEOUT_MS = 2000;

/** The smallest SOA rdata: two root names and five 32-bit fields (RFC 1035 §3.3.13). */
const MIN_SOA_RDATA = 22;

export interface TransferCheckOptions {
  readonly zone: Zone;
  /** The SOA serial the running server serves; undefined when it could not be read. */
  readonly served: number | undefined;
  /** The TSIG keys (`<keys>/tsig/`) the NOTIFY targets name. */
  readonly lookup: KeyLookup;
  /** Where the keys are, for the message when one is missing. */
  readonly keysDir: string;
  readonly timeoutMs?: number;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Seconds each watched server (`ADDRESS#PORT`) is behind, as the running server sees it; absent: unknown. */
  readonly lagSeconds?: ReadonlyMap<string, number>;
}

/** `key NAME from PREFIX`, `key NAME` or `from PREFIX`: one `transfer.allow` entry as the lines print it. */
export function allowText(a: TransferAllow): string {
  return [a.key !== undefined ? `key ${a.key}` : '', a.address ? `from ${a.address.text}` : '']
    .filter(Boolean)
    .join(' ');
}

/** ADDRESS:PORT, an IPv6 address in brackets. */
function targetText(t: NotifyTarget): string {
  return `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`;
}

/** The lines of the zone's transfer settings and of its notify targets; none for a zone without either. */
export async function transferFindings(o: TransferCheckOptions): Promise<Finding[]> {
  const { allow, notify } = o.zone.transfer;
  const out: Finding[] = allow.map((a) => ({ level: 'ok', what: 'transfer allow', detail: allowText(a) }));
  out.push(...(await Promise.all(notify.map((t) => targetFinding(o, t, 'notify')))));
  out.push(...(await Promise.all((o.zone.transfer.check ?? []).map((t) => targetFinding(o, t, 'check')))));
  return out;
}

/** What one notify target serves, against the served serial. */
async function targetFinding(o: TransferCheckOptions, t: NotifyTarget, kind: 'notify' | 'check'): Promise<Finding> {
  const what = `${kind} ${targetText(t)}${t.key !== undefined ? ` key ${t.key}` : ''}`;
  const warn = (detail: string): Finding => ({ level: 'warn', what, detail });
  const origin = o.zone.origin;
  let query = encodeQuery(origin, T.SOA, { id: randomInt(0x10000) });
  let mac: Uint8Array | null = null;
  if (t.key !== undefined) {
    const key = o.lookup(parseName(t.key, ROOT));
    if (!key) return warn(`not asked: no TSIG key "${t.key}" in ${o.keysDir}/tsig`);
    const s = signMessage(query, key, { time: Math.floor(o.now / 1000) });
    query = s.bytes;
    mac = s.mac;
  }
  let raw: Uint8Array;
  try {
    raw = await udpExchange({ host: t.address, port: t.port }, query, o.timeoutMs ?? TARGET_TIMEOUT_MS);
  } catch {
    return warn(`(no answer within ${o.timeoutMs ?? TARGET_TIMEOUT_MS} ms)`);
  }
  let msg;
  try {
    msg = decodeMessage(raw);
  } catch (e) {
    return warn(`(an answer that does not parse: ${(e as Error).message})`);
  }
  const rcode = fullRcode(msg);
  if (rcode !== RCODE.NOERROR) return warn(`(${rcodeToText(rcode)})`);
  if (mac) {
    // RFC 8945 §5.3: the answer to a signed request is signed in its chain; anything else is not the target's word.
    const v = verify(raw, o.lookup, Math.floor(o.now / 1000), { chain: { mac } });
    if (!v.ok) return warn(`(its answer's TSIG does not verify: ${v.reason})`);
  }
  const soa = msg.answer.find((r) => r.type === T.SOA && nameEquals(r.name, origin));
  if (!soa || soa.rdata.length < MIN_SOA_RDATA) return warn(`(no SOA of ${nameToText(origin)} in its answer)`);
  const serial = soaSerial(soa.rdata);
  if (o.served === undefined) return warn(`serial ${serial} (the served serial is unknown)`);
  const d = serialDiff(serial, o.served);
  if (d === 0) return { level: 'ok', what, detail: `serial ${serial} (current)` };
  if (d > 0) return warn(`serial ${serial} (newer than the served ${o.served})`);
  const lag = o.lagSeconds?.get(`${t.address}#${t.port}`);
  return warn(`serial ${serial} (behind the served ${o.served}${lag ? `; ${lag} s behind` : ''})`);
}
