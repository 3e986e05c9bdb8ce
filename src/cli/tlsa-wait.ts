/**
 * `dane-ns tlsa wait ZONE HOST [--file FILE] [--timeout S]`: waits until the DANE-EE TLSA record (RFC 6698 §2,
 * 3 1 1; RFC 7672 §3.1 for SMTP) of a certificate or key is served at every `_PORT._tcp.HOST` owner of the host's
 * `tlsa:` entry by dane-ns itself and by every watched server of the zone (`transfer.notify` and `transfer.check`),
 * and one TTL of the TLSA set has passed since the last of them started serving it: then a resolver's cached
 * set without it has expired (RFC 7671 §8.1), and the key may go into use. For a deploy hook that installs a
 * renewed certificate only once its record is published (README). Exits 0 then; 1 on timeout, naming the
 * servers that lag. The servers are asked over DNS (UDP, TCP on TC), TSIG-signed with an entry's key.
 */
import { nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { decodeMessage, encodeQuery, fullRcode } from '../wire/message.js';
import { FLAG_TC } from '../wire/header.js';
import { RCODE, T } from '../wire/types.js';
import { signMessage, verify, type KeyLookup } from '../dnssec/tsig.js';
import { readKeyring } from '../dnssec/tsigkey.js';
import { readTlsaSource, TlsaSourceError, tlsa311 } from '../tlsa/source.js';
import { tlsaEntryRefs } from '../tlsa/zone.js';
import { readZoneSource } from '../zone/files.js';
import { watchedServers, type NotifyTarget } from '../zone/settings.js';
import { nodeExchange } from '../server/soa-ask.js';
import { hostPort, parseOptions, seconds, UsageError, domainName } from './args.js';
import { ask } from './control.js';
import { directory } from './env.js';
import { asWritten, findZone } from './findzone.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

/** How long `tlsa wait` waits by default: a secondary's transfer after a NOTIFY retry schedule, and a TTL. */
const DEFAULT_TIMEOUT_S = 900;
/** Between two rounds of questions. */
const ROUND_MS = 1000;
/** How long one question may take. */
const QUESTION_MS = 2000;

export async function tlsaWaitCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['file', 'timeout', 'server', 'zones', 'keys', 'state'], []);
  if (a.has('help')) return printHelp(io, 'tlsa');
  if (a.positionals.length !== 2) throw new UsageError('tlsa wait: expected ZONE and HOST');
  const [zoneText, hostText] = a.positionals as [string, string];
  const timeoutS = seconds('--timeout', a.value('timeout') ?? String(DEFAULT_TIMEOUT_S));
  const serverFlag = a.value('server');
  const flagServer = serverFlag !== undefined ? hostPort('--server', serverFlag, 1) : undefined;
  const want = domainName('ZONE', zoneText);
  const z = findZone(directory(a, io.defaults, 'zones'), zoneText, want, asWritten);
  const refs = tlsaEntryRefs(readZoneSource(z.file), z);
  const host = hostText.endsWith('.') ? hostText : `${hostText}.`;
  const zone = nameToText(z.origin).toLowerCase();
  const ref = refs.find((r) => r.host === host.toLowerCase() || r.host === `${host}${zone}`.toLowerCase());
  if (!ref)
    throw new Error(
      `${zone} has no tlsa: entry for ${hostText} (entries: ${refs.map((r) => r.host).join(', ') || 'none'})`,
    );
  const file = a.value('file') ?? ref.entry.cert;
  let rdata: string;
  try {
    rdata = tlsa311(readTlsaSource(file));
  } catch (e) {
    if (e instanceof TlsaSourceError) throw new Error(e.message);
    throw e;
  }
  const stateDir = directory(a, io.defaults, 'state');
  const own = flagServer ?? (await runningAddress(stateDir)) ?? hostPort('DANE_NS_LISTEN', io.defaults.listen()[0]!, 1);
  const targets: NotifyTarget[] = [
    { address: loopback(own.host), port: own.port, key: undefined, line: 0 },
    ...watchedServers(z.transfer),
  ];
  const lookup = targets.some((t) => t.key !== undefined)
    ? readKeyring(directory(a, io.defaults, 'keys')).lookup
    : () => undefined;
  const owners = ref.entry.ports.map((p) => parseName(`_${p}._tcp`, parseName(ref.host, ROOT)));
  const name = (t: NotifyTarget): string => `${t.address}#${t.port}`;
  const wanted = hexOf(rdata);
  io.err(`waiting for ${rdata} at ${owners.map(nameToText).join(', ')} on ${targets.map(name).join(', ')}\n`);

  /** When each server was first seen serving the record at every owner (reset when it stops). */
  const since = new Map<string, number>();
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const now = Date.now();
    await Promise.all(
      targets.map(async (t) => {
        const ok = (await Promise.all(owners.map((o) => serves(t, o, wanted, lookup)))).every(Boolean);
        if (!ok) since.delete(name(t));
        else if (!since.has(name(t))) since.set(name(t), now);
      }),
    );
    const lacking = targets.filter((t) => !since.has(name(t))).map(name);
    const last = Math.max(...since.values());
    // dane-ns's own view, when it answers: a next record it holds is ready only when it says so (2 x TTL since it
    // published it), so that the key going into use is never a cold rollover in its log.
    const serverReady = await serverReadyAt(stateDir, zone, ref.host, rdata);
    const readyAt = Math.max(last + ref.ttl * 1000, serverReady ?? 0);
    if (lacking.length === 0 && Date.now() >= readyAt) {
      io.out(`${rdata} is served by ${targets.map(name).join(', ')} and a TTL (${ref.ttl} s) has passed\n`);
      return 0;
    }
    if (Date.now() + ROUND_MS > deadline) {
      io.err(
        lacking.length > 0
          ? `timed out after ${timeoutS} s: ${rdata} is not served by ${lacking.join(', ')}\n`
          : `timed out after ${timeoutS} s: ${rdata} is served everywhere, but only since ${new Date(last).toISOString()} (${readyAt === Infinity ? 'dane-ns does not count it ready yet' : `ready at ${new Date(readyAt).toISOString()}`})\n`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, ROUND_MS));
  }
}

/** dane-ns's first listen address, from its control socket status; undefined when none answers. */
async function runningAddress(stateDir: string): Promise<{ host: string; port: number } | undefined> {
  try {
    const a = await ask(stateDir, { command: 'status' });
    const first = (a.listen as string[] | undefined)?.[0];
    return first ? hostPort('listen', first, 1) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When the running server says its next record `rdata` of `host` is ready (ms; Infinity while it is not, e.g. a
 * watched server lacks it); undefined when no server answers or the record is not a next record there.
 */
async function serverReadyAt(stateDir: string, zone: string, host: string, rdata: string): Promise<number | undefined> {
  try {
    const a = await ask(stateDir, { command: 'status', zone });
    type Next = { host: string; rdata: string; readyAt?: string; ready: boolean };
    const z = (a.zones as { tlsaNext?: Next[] }[] | undefined)?.[0];
    const r = z?.tlsaNext?.find((x) => x.host === host && x.rdata === rdata);
    if (!r) return undefined;
    return r.readyAt !== undefined ? Date.parse(r.readyAt) : Infinity;
  } catch {
    return undefined;
  }
}

/** A wildcard listen address is asked on loopback. */
function loopback(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/** The RDATA octets of a `3 1 1 HEX` record, as hex (lower case). */
function hexOf(rdata: string): string {
  return `030101${rdata.split(' ')[3]!.toLowerCase()}`;
}

/** Whether `t` answers `owner` TLSA with the record (its answer's TSIG verified when signed); false on any failure. */
async function serves(t: NotifyTarget, owner: Name, wanted: string, lookup: KeyLookup): Promise<boolean> {
  try {
    let query = encodeQuery(owner, T.TLSA, { id: Math.floor(Math.random() * 0x10000) });
    let mac: Uint8Array | null = null;
    const nowSec = Math.floor(Date.now() / 1000);
    if (t.key !== undefined) {
      const key = lookup(parseName(t.key, ROOT));
      if (!key) return false;
      const s = signMessage(query, key, { time: nowSec });
      query = s.bytes;
      mac = s.mac;
    }
    let raw = await nodeExchange(t, query, 'udp', QUESTION_MS);
    if (((raw[2]! << 8) | raw[3]!) & FLAG_TC) raw = await nodeExchange(t, query, 'tcp', QUESTION_MS);
    const msg = decodeMessage(raw);
    if (fullRcode(msg) !== RCODE.NOERROR) return false;
    if (mac && !verify(raw, lookup, nowSec, { chain: { mac } }).ok) return false;
    return msg.answer.some((r) => r.type === T.TLSA && Buffer.from(r.rdata).toString('hex') === wanted);
  } catch {
    return false;
  }
}
