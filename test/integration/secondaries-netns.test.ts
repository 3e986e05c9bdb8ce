/**
 * dane-ns as a hidden primary with NSD as its secondary, each in its own network namespace (helpers/netns.ts)
 * joined by a veth pair: dane-ns in P on 10.53.0.1:53, NSD in S on 10.53.0.2:53, configured from what
 * `dane-ns secondary-config ZONE --for nsd --primary 10.53.0.1` prints (TSIG-keyed IXFR/AXFR, NOTIFY accepted
 * from the primary). The zones are the oracle zones (test/fixtures/oracle) with `transfer.allow` (the key) and
 * `transfer.notify` (NSD's address) added, SOA refresh and retry an hour: NSD's own polling cannot explain an
 * update within the test, only a NOTIFY (RFC 1996) can.
 *  1. Dropped path: S's end of the link goes down for 30 s (and until the retry due then is lost); meanwhile
 *     example.net is edited, dane-ns serves a new serial and its NOTIFYs go unanswered (logged as notify-sent,
 *     then notify-retry). Once the link is back, a later retry (RFC 1996 §3.6, the schedule of
 *     src/server/notify.ts, at most 60 s apart) reaches NSD, which transfers the new serial; its log shows the
 *     NOTIFY. A schedule that gave up within a minute of the first try would leave NSD on the old serial.
 *  2. A validating Unbound in S that knows only NSD's address (stub zones to 10.53.0.2, trust anchors from
 *     `dane-ns ds`), with dane-ns stopped: every case of validation-cases.ts comes back with its rcode and AD bit
 *     from NSD's copy of the signed zones, no SERVFAIL, no bogus answer.
 *
 * Needs root, ip, nsd, unbound (and its tools) and kdig: a missing one fails.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kdigQueryArgs, parseKdig, requireTool, type Answer } from './helpers/dig.js';
import { createNetns, linkNetns, type Netns, type VethPair } from './helpers/netns.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { ANCHORED_ZONES, OUT_OF_ZONE_TARGETS, SERVED_ZONES, VALIDATION_CASES } from './validation-cases.js';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';

const KEY = 'nsd-xfr';
const PRIMARY = '10.53.0.1';
const SECONDARY = '10.53.0.2';
const DROP_MS = 30_000;
const EDITED = 'example.net.';

const base = mkdtempSync(join(tmpdir(), 'dane-ns-secondaries-netns-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const nsdDir = join(base, 'nsd');
let p: Netns | undefined;
let s: Netns | undefined;
let link: VethPair;
let dane: DaneNsInstance | undefined;
let unbound: UnboundInstance | undefined;
let nsdLog = '';
let nsdExit: string | null = null;
const anchors: string[] = [];

/** dane-ns's log lines (JSON objects on stdout). */
function events(): { event: string; time: string; [k: string]: unknown }[] {
  const out = dane?.logs().split('\n--- stderr ---\n')[0] ?? '';
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; time: string });
}

/** The SOA serial `server` (host:port) answers for zone, asked from inside ns; null when it does not answer. */
async function serialOf(ns: Netns, host: string, zone: string): Promise<number | null> {
  const r = await ns.exec(requireTool('kdig'), [`@${host}`, '+time=1', '+retry=0', '+short', zone, 'SOA']);
  const f = r.stdout.trim().split(/\s+/);
  return r.code === 0 && f.length === 7 ? Number(f[2]) : null;
}

/** Polls NSD (from inside S, where its address is local even with the link down) until it serves `want`. */
async function nsdServes(zone: string, want: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && nsdExit === null) {
    if ((await serialOf(s!, SECONDARY, zone)) === want) return true;
    await delay(250);
  }
  return false;
}

beforeAll(async () => {
  for (const tool of ['ip', 'nsd', 'kdig', 'unbound', 'unbound-control', 'unbound-checkconf']) requireTool(tool);
  p = await createNetns({ resolvConf: null });
  s = await createNetns({ resolvConf: null });
  link = linkNetns(p, s, `${PRIMARY}/24`, `${SECONDARY}/24`);
  // The oracle zones, transferable with the key, NSD told of each new serial; timers of an hour (see the header).
  cpSync(join(REPO_ROOT, 'test/fixtures/oracle'), zones, { recursive: true });
  for (const f of readdirSync(zones).filter((n) => n.endsWith('.yaml'))) {
    const text = readFileSync(join(zones, f), 'utf8').replace(/^soa:\n/m, 'soa:\n  refresh: 3600\n  retry: 3600\n');
    const transfer = `transfer:\n  allow:\n    - key: ${KEY}\n  notify:\n    - { address: ${SECONDARY}, key: ${KEY} }\n`;
    writeFileSync(join(zones, f), `${text}${transfer}`);
  }
  await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  dane = await startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: join(base, 'state'),
    port: 53,
    extraArgs: ['--listen', `${PRIMARY}:53`, '--http', '127.0.0.1:8053'],
    netns: p.name,
    startTimeoutMs: 60_000,
  });
  for (const zone of ANCHORED_ZONES)
    anchors.push(...(await exec(process.execPath, [CLI, 'ds', zone, '--keys', keys])).trim().split('\n'));

  // NSD: the daemon around what secondary-config prints, for each zone (the key clause once).
  mkdirSync(nsdDir);
  let conf =
    `server:\n    ip-address: ${SECONDARY}\n    port: 53\n    zonesdir: "${nsdDir}"\n    pidfile: "${nsdDir}/nsd.pid"\n` +
    `    xfrdfile: "${nsdDir}/xfrd.state"\n    xfrdir: "${nsdDir}"\n    zonelistfile: "${nsdDir}/zone.list"\n` +
    `    database: ""\n    username: ""\n    verbosity: 2\nremote-control:\n    control-enable: no\n`;
  for (const [i, zone] of SERVED_ZONES.entries()) {
    const printed = await exec(process.execPath, [
      CLI,
      'secondary-config',
      zone,
      '--for',
      'nsd',
      '--primary',
      PRIMARY,
      '--zones',
      zones,
      '--keys',
      keys,
    ]);
    expect(printed).toContain(`request-xfr: ${PRIMARY}@53 ${KEY}\n`);
    expect(printed).toContain(`allow-notify: ${PRIMARY} ${KEY}\n`);
    conf += i === 0 ? printed : printed.replace(/^key:\n(?: {4}.*\n)+/m, '');
  }
  writeFileSync(join(nsdDir, 'nsd.conf'), conf);
  const nsd = s.spawn(requireTool('nsd'), ['-d', '-c', join(nsdDir, 'nsd.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nsd.stdout!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  nsd.stderr!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  nsd.once('exit', (code, signal) => (nsdExit = signal ?? String(code)));
  // NSD starts without a copy and transfers every zone at once.
  for (const zone of SERVED_ZONES) {
    const serial = await serialOf(p, PRIMARY, zone);
    expect(serial, zone).not.toBeNull();
    // REFRESH and RETRY of an hour (the fields after the serial), which NSD's own polling follows.
    const soa = await p.run(requireTool('kdig'), [`@${PRIMARY}`, '+short', zone, 'SOA']);
    expect(soa.trim().split(/\s+/).slice(3, 5), zone).toEqual(['3600', '3600']);
    expect(await nsdServes(zone, serial!, 30_000), `${zone} serial ${serial}\nNSD:\n${nsdLog}\nconf:\n${conf}`).toBe(
      true,
    );
  }
}, 120_000);

afterAll(async () => {
  await unbound?.stop();
  await dane?.stop();
  // NSD and anything else still inside the namespaces are stopped by destroy() (by PID).
  await s?.destroy();
  await p?.destroy();
  rmSync(base, { recursive: true, force: true });
});

describe('NSD in another namespace, as a secondary of dane-ns', () => {
  it('is told of a serial published while its path was down, by a NOTIFY retry once the path is back', async () => {
    const file = join(zones, 'example.net.yaml');
    const old = (await serialOf(p!, PRIMARY, EDITED))!;
    link.setUp('b', false);
    const downAt = Date.now();
    // The edit while the path is down: a new serial (7 in the fixture) and a new address for www.
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('serial: 7', 'serial: 8').replace('198.51.100.81', '198.51.100.82'));
    dane!.proc.kill('SIGHUP');
    let serial: number | null = old;
    for (let i = 0; i < 100 && serial === old; i++) {
      await delay(100);
      serial = await serialOf(p!, PRIMARY, EDITED);
    }
    expect(serial, dane!.logs()).not.toBe(old);
    const mine = (): { event: string; time: string; [k: string]: unknown }[] =>
      events().filter((e) => e.zone === EDITED && e.serial === serial && e.event.startsWith('notify-'));
    await delay(Math.max(0, DROP_MS - (Date.now() - downAt)));
    // The link comes back just after the next retry is lost (the one 30 s after the first NOTIFY), so that only a
    // schedule that goes on retrying past it tells NSD: the hardest moment for the path to return.
    const lost = mine().length;
    for (let i = 0; i < 300 && mine().length === lost; i++) await delay(100);
    // Lost for good: without an answer to ARP, the kernel holds the datagram for 3 s (3 solicitations, 1 s apart)
    // and would send it if the link came back meanwhile.
    await delay(4500);
    // Nothing got through: NSD still serves the old serial, and dane-ns has sent (and retried) the NOTIFY.
    expect(await serialOf(s!, SECONDARY, EDITED)).toBe(old);
    expect(mine().map((e) => e.event)).toEqual(expect.arrayContaining(['notify-sent', 'notify-retry']));
    expect(mine().length).toBeGreaterThan(lost);
    const nsdBefore = nsdLog.length;
    const upAt = Date.now();
    link.setUp('b', true);
    // The next retry comes at most 60 s after the last (NOTIFY_RETRY_MS); a few seconds more for the transfer.
    expect(await nsdServes(EDITED, serial!, 65_000), `NSD:\n${nsdLog}\ndane-ns:\n${dane!.logs()}`).toBe(true);
    expect(Date.now() - upAt).toBeLessThan(65_000);
    const www = parseKdig(await s!.run(requireTool('kdig'), [`@${SECONDARY}`, '+json', 'www.example.net.', 'A']));
    expect(www.answer.join('\n')).toContain('198.51.100.82');
    // It was a retry that did it: the first NOTIFY of this serial and the retries before the link came back were
    // lost, the last retry (the one answered: no more follow) was sent after it, none was given up; NSD logged
    // that NOTIFY after the link came back.
    const lines = mine();
    const context = JSON.stringify(lines, null, 1);
    expect(
      lines.filter((e) => e.event === 'notify-failed'),
      context,
    ).toEqual([]);
    const retries = lines.filter((e) => e.event === 'notify-retry');
    expect(retries.length, context).toBeGreaterThanOrEqual(5);
    expect(Date.parse(retries.at(-1)!.time), context).toBeGreaterThanOrEqual(upAt);
    expect(nsdLog.slice(nsdBefore), nsdLog).toContain(`notify for ${EDITED} from ${PRIMARY} serial ${serial}`);
    // /metrics counts every datagram: at least the notify lines of this serial.
    const metrics = await p!.run(requireTool('curl'), ['-s', 'http://127.0.0.1:8053/metrics']);
    const sent = Number(new RegExp(`dane_ns_notify_sent_total\\{zone="${EDITED}"\\} (\\d+)`).exec(metrics)?.[1]);
    expect(sent).toBeGreaterThanOrEqual(lines.length);
  }, 150_000);
});

describe('a validating Unbound that knows only the secondary, dane-ns stopped', () => {
  const port = 53;
  beforeAll(async () => {
    await dane!.stop();
    expect(await serialOf(s!, PRIMARY, EDITED)).toBeNull();
    unbound = await startUnbound({
      port,
      netns: s!.name,
      stubs: SERVED_ZONES.map((zone) => ({ zone, addr: `${SECONDARY}@53` })),
      trustAnchors: anchors,
      authZones: [...OUT_OF_ZONE_TARGETS],
    });
  }, 60_000);

  it.each(VALIDATION_CASES.map((v) => [`${v.qname} ${v.qtype}${v.tcp === true ? ' (TCP)' : ''}`, v] as const))(
    '%s',
    async (_l, v) => {
      const server = { host: '127.0.0.1', port };
      const args = kdigQueryArgs(server, v.qname, v.qtype, { rd: true, dnssec: true, tcp: v.tcp === true });
      const a: Answer = parseKdig(await s!.run(requireTool('kdig'), args));
      const got = { rcode: a.rcode, security: a.flags.includes('ad') ? 'secure' : 'insecure' };
      const context = `kdig ${args.join(' ')}\nflags: ${a.flags.join(' ')}\nanswer:\n  ${a.answer.join('\n  ')}`;
      expect(got, `${v.why}\n${context}`).toEqual({ rcode: v.rcode, security: v.security });
    },
  );

  it('answered with no bogus answer and no SERVFAIL, and the edited record as NSD holds it', async () => {
    const st = await unbound!.stats();
    expect(st['num.answer.bogus'] ?? 0, unbound!.logs()).toBe(0);
    expect(st['num.answer.rcode.SERVFAIL'] ?? 0, unbound!.logs()).toBe(0);
    const args = kdigQueryArgs({ host: '127.0.0.1', port }, 'www.example.net.', 'A', { rd: true, dnssec: true });
    const a = parseKdig(await s!.run(requireTool('kdig'), args));
    expect(a.flags).toContain('ad');
    expect(a.answer.join('\n')).toContain('198.51.100.82');
  });
});
