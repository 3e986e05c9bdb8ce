/**
 * Watched secondaries (docs/zone-format.md "Watched servers"): dane-ns in namespace P on 10.53.0.1:53, NSD in S
 * answering on 10.53.0.2 (a `transfer.notify` target, TSIG-keyed transfers) and on 10.53.0.3 (a `transfer.check`
 * server: the same NSD, never notified), joined by a veth pair. The zone's TLSA host has a 4 s TTL, the SOA a
 * 2 s refresh, so NSD catches up by itself once the path is back. dane-ns runs with --secondary-lag 3.
 *  1. With NSD current, `dane-ns tlsa wait` for the next key's record returns 0 (and /healthz is 200).
 *  2. S's end of the link goes down; a new next key is published by dane-ns only: `tlsa wait` for it times out
 *     naming both watched servers, /healthz names them after 3 s, the lag metric grows, and switching the
 *     current certificate to that key logs the `tlsa-not-propagated` error naming them (and counts it).
 *  3. The link comes back: NSD transfers the new serial, and `tlsa wait` returns 0, one TTL after NSD served it.
 *
 * Needs root, ip, nsd, kdig, curl and openssl: a missing one fails.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './helpers/dig.js';
import { makeCert, type CertPair } from './helpers/certs.js';
import { createNetns, linkNetns, type Netns, type VethPair } from './helpers/netns.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';

const KEY = 'nsd-watch';
const PRIMARY = '10.53.0.1';
const NOTIFIED = '10.53.0.2';
const CHECKED = '10.53.0.3';
const ZONE = 'watch.example.';
const TTL = 4;
const SERVERS = [`${NOTIFIED}#53`, `${CHECKED}#53`];

const base = mkdtempSync(join(tmpdir(), 'dane-ns-secondary-watch-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const certs = join(base, 'certs');
const nsdDir = join(base, 'nsd');
let p: Netns | undefined;
let s: Netns | undefined;
let link: VethPair;
let dane: DaneNsInstance | undefined;
let nsdLog = '';
const pair: Record<string, CertPair> = {};

/** dane-ns's log lines (JSON objects on stdout). */
function events(): { event: string; [k: string]: unknown }[] {
  return (dane?.logs().split('\n--- stderr ---\n')[0] ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string });
}

/** `dane-ns tlsa wait` run inside P, with its exit code, output and how long it took. */
async function tlsaWait(file: string, timeout: number): Promise<{ code: number; out: string; ms: number }> {
  const t0 = Date.now();
  const r = await p!.exec(process.execPath, [
    CLI,
    'tlsa',
    'wait',
    ZONE,
    'mail',
    '--file',
    file,
    '--timeout',
    String(timeout),
    '--server',
    `${PRIMARY}:53`,
    '--zones',
    zones,
    '--keys',
    keys,
    '--state',
    join(base, 'state'),
  ]);
  return { code: r.code, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

async function http(path: string): Promise<{ code: string; body: string }> {
  const out = await p!.run(requireTool('curl'), ['-s', '-w', '\n%{http_code}', `http://127.0.0.1:8053${path}`]);
  const i = out.lastIndexOf('\n');
  return { body: out.slice(0, i), code: out.slice(i + 1) };
}

/** The SOA serial `host` answers, asked from inside ns; null when it does not answer. */
async function serialOf(ns: Netns, host: string): Promise<number | null> {
  const r = await ns.exec(requireTool('kdig'), [`@${host}`, '+time=1', '+retry=0', '+short', ZONE, 'SOA']);
  const f = r.stdout.trim().split(/\s+/);
  return r.code === 0 && f.length === 7 ? Number(f[2]) : null;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\nNSD:\n${nsdLog}\n${dane?.logs()}`);
    await delay(250);
  }
}

beforeAll(async () => {
  for (const tool of ['ip', 'nsd', 'kdig', 'curl', 'openssl']) requireTool(tool);
  for (const n of ['a', 'b', 'c']) pair[n] = await makeCert(join(base, 'pairs'), { name: n, cn: `mail.${ZONE}` });
  mkdirSync(certs);
  writeFileSync(join(certs, 'cert.pem'), pair.a!.certPem);
  writeFileSync(join(certs, 'next.pem'), pair.b!.certPem);
  mkdirSync(zones);
  writeFileSync(
    join(zones, 'watch.example.yaml'),
    `origin: ${ZONE}
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 2, retry: 1, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: ${PRIMARY} }
  mail: { A: 192.0.2.25 }
tlsa:
  - host: mail
    cert: ${join(certs, 'cert.pem')}
    next: ${join(certs, 'next.pem')}
    ttl: ${TTL}
transfer:
  allow:
    - key: ${KEY}
  notify:
    - { address: ${NOTIFIED}, key: ${KEY} }
  check: [${CHECKED}]
`,
  );
  await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  p = await createNetns({ resolvConf: null });
  s = await createNetns({ resolvConf: null });
  link = linkNetns(p, s, `${PRIMARY}/24`, `${NOTIFIED}/24`);
  await s.run(requireTool('ip'), ['addr', 'add', `${CHECKED}/24`, 'dev', link.b.ifname]);
  const printed = await exec(process.execPath, [
    CLI,
    'secondary-config',
    ZONE,
    '--for',
    'nsd',
    '--primary',
    PRIMARY,
    '--zones',
    zones,
    '--keys',
    keys,
  ]);
  mkdirSync(nsdDir);
  const conf =
    `server:\n    ip-address: ${NOTIFIED}\n    ip-address: ${CHECKED}\n    port: 53\n    zonesdir: "${nsdDir}"\n` +
    `    pidfile: "${nsdDir}/nsd.pid"\n    xfrdfile: "${nsdDir}/xfrd.state"\n    xfrdir: "${nsdDir}"\n` +
    `    zonelistfile: "${nsdDir}/zone.list"\n    database: ""\n    username: ""\n    verbosity: 2\n` +
    `remote-control:\n    control-enable: no\n${printed}`;
  writeFileSync(join(nsdDir, 'nsd.conf'), conf);
  const nsd = s.spawn(requireTool('nsd'), ['-d', '-c', join(nsdDir, 'nsd.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nsd.stdout!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  nsd.stderr!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  dane = await startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: join(base, 'state'),
    port: 53,
    extraArgs: ['--listen', `${PRIMARY}:53`, '--http', '127.0.0.1:8053', '--secondary-lag', '3'],
    netns: p.name,
  });
}, 90_000);

afterAll(async () => {
  await dane?.stop();
  await s?.destroy();
  await p?.destroy();
  rmSync(base, { recursive: true, force: true });
});

describe('watched secondaries', () => {
  it('with NSD current, tlsa wait for the next key returns; /healthz is 200 and both servers are at lag 0', async () => {
    const served = (await serialOf(p!, PRIMARY))!;
    expect(served).not.toBeNull();
    await until('NSD serves the zone', async () => (await serialOf(s!, NOTIFIED)) === served, 30_000);
    await until(
      'both servers at lag 0 in /metrics',
      async () => {
        const m = (await http('/metrics')).body;
        return SERVERS.every(
          (sv) =>
            m.includes(`dane_ns_secondary_serial{zone="${ZONE}",server="${sv}"} ${served}`) &&
            m.includes(`dane_ns_secondary_lag_seconds{zone="${ZONE}",server="${sv}"} 0`),
        );
      },
      15_000,
    );
    expect((await http('/healthz')).code).toBe('200');
    const w = await tlsaWait(join(certs, 'next.pem'), 30);
    expect(w.code, w.out).toBe(0);
    expect(w.out).toContain(`3 1 1 ${pair.b!.tlsa311.toUpperCase()} is served by ${PRIMARY}#53, ${SERVERS.join(', ')}`);
    // The status of the control socket lists them too.
    const st = await p!.run(process.execPath, [CLI, 'status', ZONE, '--state', join(base, 'state')]);
    for (const sv of SERVERS) expect(st).toContain(`secondary ${sv}: serial ${served}, current`);
  }, 60_000);

  it('the path blocked: tlsa wait times out naming both, /healthz names them, a switch to the key is an error', async () => {
    const before = (await serialOf(p!, PRIMARY))!;
    link.setUp('b', false);
    writeFileSync(join(certs, 'next.pem'), pair.c!.certPem);
    await until('dane-ns publishes the new next key', async () => (await serialOf(p!, PRIMARY)) !== before, 15_000);
    const w = await tlsaWait(join(certs, 'next.pem'), 6);
    expect(w.code, w.out).toBe(1);
    expect(w.out).toContain(`timed out after 6 s: 3 1 1 ${pair.c!.tlsa311.toUpperCase()} is not served by`);
    for (const sv of SERVERS) expect(w.out).toMatch(new RegExp(`not served by .*${sv.replace('.', '\\.')}`));
    expect(w.out).not.toMatch(new RegExp(`not served by .*${PRIMARY}#53`));
    // More than --secondary-lag 3 s behind by now: /healthz is 503 and names the zone and each server.
    const h = await http('/healthz');
    expect(h.code, h.body).toBe('503');
    for (const sv of SERVERS) expect(h.body).toContain(`zone ${ZONE}: secondary ${sv} is behind for`);
    const lag = Number(
      new RegExp(`dane_ns_secondary_lag_seconds\\{zone="${ZONE}",server="${SERVERS[0]}"\\} (\\d+)`).exec(
        (await http('/metrics')).body,
      )?.[1],
    );
    expect(lag).toBeGreaterThanOrEqual(4);
    // The certificate switched to the key the secondaries lack: an error naming them.
    writeFileSync(join(certs, 'cert.pem'), pair.c!.certPem);
    await until('tlsa-not-propagated', () => events().some((e) => e.event === 'tlsa-not-propagated'), 15_000);
    const err = events().find((e) => e.event === 'tlsa-not-propagated')!;
    expect(err).toMatchObject({ level: 'error', zone: ZONE, host: `mail.${ZONE}`, servers: SERVERS });
    expect((await http('/metrics')).body).toContain(`dane_ns_tlsa_unpropagated_in_use_total{host="mail.${ZONE}"} 1`);
  }, 60_000);

  it('the path back: NSD catches up and tlsa wait returns one TTL after', async () => {
    link.setUp('b', true);
    const served = (await serialOf(p!, PRIMARY))!;
    const w = tlsaWait(join(certs, 'cert.pem'), 60);
    let caughtUp = 0;
    await until(
      'NSD serves the newest serial',
      async () => ((await serialOf(s!, NOTIFIED)) === served ? ((caughtUp = Date.now()), true) : false),
      45_000,
    );
    const r = await w;
    expect(r.code, r.out).toBe(0);
    // Not before one TTL after NSD served it (the wait saw it within a second of that).
    expect(Date.now() - caughtUp).toBeGreaterThanOrEqual((TTL - 1.5) * 1000);
    await until('/healthz is 200 again', async () => (await http('/healthz')).code === '200', 15_000);
    expect(events().some((e) => e.event === 'secondary-caught-up' && e.server === SERVERS[1])).toBe(true);
  }, 90_000);
});
