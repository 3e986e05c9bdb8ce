/**
 * `dane-ns check` (the operator's audit of a running server: signatures, the served DNSKEYs against the key files
 * and the parent's DS against them (check/chain.ts), certificates against the published TLSA records, and with
 * --live the handshake senders make at every address, RFC 7672 §2.2 (check/live.ts); the zone's transfer settings and
 * the serial each NOTIFY target serves, check/transfer.ts) and `dane-ns healthcheck` (the container HEALTHCHECK:
 * a current signed SOA for every zone).
 */
import { isIP } from 'node:net';
import { checkZone, type Finding } from '../check/audit.js';
import { systemResolver } from '../check/chain.js';
import type { RolloverView } from '../check/rotation.js';
import { RolloverStore } from '../state/rollover.js';
import type { HostRollover } from '../tlsa/rollover.js';
import type { KeyLookup } from '../dnssec/tsig.js';
import { healthCheck } from '../check/health.js';
import { nameToText } from '../wire/name.js';
import { transferFindings } from '../check/transfer.js';
import { readKeyring } from '../dnssec/tsigkey.js';
import {
  domainName,
  hostPort,
  ipAddress,
  noPositionals,
  onePositional,
  parseOptions,
  port,
  requires,
  type Args,
} from './args.js';
import { ask } from './control.js';
import { keyStepText, type KeyStepWaitJson } from './control-text.js';
import { directory } from './env.js';
import { asWritten, findZone } from './findzone.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

/**
 * The running server to ask: --server, else the first listen address (DANE_NS_LISTEN, else 127.0.0.1:5353); a
 * wildcard listen address (0.0.0.0, [::]) means the loopback address of its family.
 */
function runningServer(a: Args, io: Io): { host: string; port: number } {
  const flag = a.value('server');
  const server =
    flag !== undefined ? hostPort('--server', flag, 1) : hostPort('DANE_NS_LISTEN', io.defaults.listen()[0]!, 1);
  if (server.host === '0.0.0.0') return { ...server, host: '127.0.0.1' };
  if (server.host === '::') return { ...server, host: '::1' };
  return server;
}

export async function checkCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['zones', 'keys', 'server', 'resolver', 'connect', 'smtp-port'], ['live', 'json']);
  if (a.has('help')) return printHelp(io, 'check');
  const zone = onePositional(a, 'check', 'ZONE');
  requires(a, 'connect', 'live');
  requires(a, 'smtp-port', 'live');
  const want = domainName('ZONE', zone);
  const server = runningServer(a, io);
  const smtpText = a.value('smtp-port');
  const smtpPort = smtpText === undefined ? undefined : port('--smtp-port', smtpText, 1);
  const connectText = a.value('connect');
  const connect = connectText === undefined ? undefined : ipAddress('--connect', connectText);
  // Only the zone's origin, its tlsa: entries and its transfer: settings are compared with what the server
  // publishes; of the state directory only the TLSA rollover history is read (never written), to label records.
  const resolverText = a.value('resolver');
  const resolver = resolverText === undefined ? systemResolver() : resolverAddress(resolverText);
  const z = findZone(directory(a, io.defaults, 'zones'), zone, want, asWritten);
  const keysDir = directory(a, io.defaults, 'keys');
  const rollover = z.tlsa.length > 0 ? readRollover(io.defaults.state()) : undefined;
  const report = await checkZone({
    zone: z,
    entries: z.tlsa,
    server,
    keysDir,
    resolver,
    live: a.has('live'),
    ...(connect !== undefined ? { connect } : {}),
    ...(smtpPort !== undefined ? { smtpPort } : {}),
    now: Date.now(),
    ...(rollover ? { rollover } : {}),
  });
  const findings = [...report.findings];
  if (z.transfer.allow.length > 0 || z.transfer.notify.length > 0 || (z.transfer.check ?? []).length > 0) {
    const lagSeconds = await watchedLag(io.defaults.state(), nameToText(z.origin));
    // Rollover steps the running server postponed for lagging watched servers (server/rollover-hold.ts).
    for (const w of await keyStepWaits(io.defaults.state(), nameToText(z.origin)))
      findings.push({ level: w.servers.length > 0 ? 'warn' : 'ok', what: 'key rollover', detail: keyStepText(w) });
    findings.push(
      ...(await transferFindings({
        zone: z,
        served: report.servedSerial,
        lookup: tsigLookup(keysDir, findings),
        keysDir,
        now: Date.now(),
        ...(lagSeconds ? { lagSeconds } : {}),
      })),
    );
  }
  const failed = findings.some((x) => x.level === 'fail');
  if (a.has('json')) {
    // The stable shape of docs/control.md ("dane-ns check --json"): fields are only ever added.
    const served = report.servedSerial;
    const object = {
      zone: nameToText(want),
      server: server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`,
      ...(served !== undefined ? { servedSerial: served } : {}),
      failed,
      findings: findings.map((x) => ({ level: x.level, what: x.what, detail: x.detail })),
      results: report.verdicts.map((v) => ({ owner: v.owner, verdict: v.verdict })),
    };
    io.out(JSON.stringify(object, null, 2) + '\n');
    return failed ? 1 : 0;
  }
  const label = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
  for (const x of findings) io.out(`${label[x.level]}  ${x.what}: ${x.detail}\n`);
  for (const v of report.verdicts) io.out(`result  ${v.owner} ${v.verdict}\n`);
  return failed ? 1 : 0;
}

/** --resolver ADDR[:PORT]: an address alone means port 53. */
function resolverAddress(text: string): { host: string; port: number } {
  return isIP(text) !== 0 ? { host: text, port: 53 } : hostPort('--resolver', text, 1);
}

export async function healthcheckCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['server', 'zones'], []);
  if (a.has('help')) return printHelp(io, 'healthcheck');
  noPositionals(a);
  const server = runningServer(a, io);
  const r = await healthCheck({ zonesDir: directory(a, io.defaults, 'zones'), server, now: Date.now() });
  (r.ok ? io.out : io.err)(`${r.ok ? 'healthy' : 'unhealthy'}: ${r.line}\n`);
  return r.ok ? 0 : 1;
}

/** The server's TLSA rollover history in `<state>/tlsa.json` (DANE_NS_STATE, else ./state), read only. */
function readRollover(stateDir: string): RolloverView {
  const store = new RolloverStore(stateDir, true);
  const { hosts, problem } = store.load();
  return {
    hosts: hosts as Record<string, HostRollover>,
    file: store.file,
    ...(problem !== undefined ? { problem } : {}),
  };
}

/** The TSIG keys of `<keys>/tsig/`; a broken key file is a warning line, and the targets naming a key are not asked. */
function tsigLookup(keysDir: string, findings: Finding[]): KeyLookup {
  try {
    return readKeyring(keysDir).lookup;
  } catch (e) {
    findings.push({ level: 'warn', what: 'tsig keys', detail: (e as Error).message });
    return () => undefined;
  }
}

/** The zone's key rollover steps that wait for its watched servers, as the running server reports them. */
async function keyStepWaits(stateDir: string, zone: string): Promise<KeyStepWaitJson[]> {
  try {
    const a = await ask(stateDir, { command: 'status', zone });
    return (a.zones as { keyStepWaits?: KeyStepWaitJson[] }[] | undefined)?.[0]?.keyStepWaits ?? [];
  } catch {
    return [];
  }
}

/**
 * How long each watched server of `zone` has been behind, as the running server with state directory `stateDir`
 * sees it (its control socket status); undefined when no server answers there.
 */
async function watchedLag(stateDir: string, zone: string): Promise<Map<string, number> | undefined> {
  try {
    const a = await ask(stateDir, { command: 'status', zone });
    const z = (a.zones as { secondaries?: { server: string; lagSeconds: number }[] }[] | undefined)?.[0];
    return new Map((z?.secondaries ?? []).map((s) => [s.server, s.lagSeconds]));
  } catch {
    return undefined;
  }
}
