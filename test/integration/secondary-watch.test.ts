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
 *  4. The README's certbot deploy hook, run as written (paths and names put in): zone hook.example. publishes
 *     the key of the copy Postfix (in S) reads (`cert:`) and of certbot's live file (`next:`). A validating
 *     Unbound in S that asks only NSD verifies Postfix with posttls-finger (its cache warm); a renewal to a new
 *     key runs the hook, which waits for the record on dane-ns and both watched servers, installs the copy and
 *     reloads Postfix; posttls-finger then verifies the new key.
 *
 * Needs root, ip, nsd, kdig, curl, openssl, unbound, postfix and posttls-finger: a missing one fails.
 */
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './helpers/dig.js';
import { makeCert, type CertPair } from './helpers/certs.js';
import { createNetns, linkNetns, type Netns, type VethPair } from './helpers/netns.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startPostfix, type PostfixInstance } from './helpers/postfix.js';
import { posttlsFinger, type PosttlsResult } from './helpers/posttls.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';

const KEY = 'nsd-watch';
const PRIMARY = '10.53.0.1';
const NOTIFIED = '10.53.0.2';
const CHECKED = '10.53.0.3';
const ZONE = 'watch.example.';
const TTL = 4;
const SERVERS = [`${NOTIFIED}#53`, `${CHECKED}#53`];
const HOOK_ZONE = 'hook.example.';

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
let unbound: UnboundInstance | undefined;
let postfix: PostfixInstance | undefined;
const live = join(base, 'live');
const tls = join(base, 'tls');
const pair: Record<string, CertPair> = {};

/** dane-ns's log lines (JSON objects on stdout). */
function events(): { event: string; [k: string]: unknown }[] {
  return (dane?.logs().split('\n--- stderr ---\n')[0] ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string });
}

/** `dane-ns tlsa wait` run inside P, with its exit code, output and how long it took. */
async function tlsaWait(file: string, timeout: number): Promise<{ code: number | null; out: string; ms: number }> {
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
  for (const tool of ['unbound', 'unbound-control', 'unbound-checkconf', 'postfix', 'postconf', 'posttls-finger'])
    requireTool(tool);
  for (const n of ['a', 'b', 'c']) pair[n] = await makeCert(join(base, 'pairs'), { name: n, cn: `mail.${ZONE}` });
  for (const n of ['h1', 'h2']) pair[n] = await makeCert(join(base, 'pairs'), { name: n, cn: `mail.${HOOK_ZONE}` });
  // certbot's lineage (the renewed files) and the copy Postfix reads, both the first key to begin with.
  for (const d of [live, tls]) {
    mkdirSync(d);
    writeFileSync(join(d, 'fullchain.pem'), pair.h1!.certPem);
    writeFileSync(join(d, 'privkey.pem'), pair.h1!.keyPem, { mode: 0o600 });
  }
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
  writeFileSync(
    join(zones, 'hook.example.yaml'),
    `origin: ${HOOK_ZONE}
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 2, retry: 1, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: ${NOTIFIED} }
  mail: { A: 127.0.0.1 }
tlsa:
  - host: mail
    cert: ${join(tls, 'fullchain.pem')}
    next: ${join(live, 'fullchain.pem')}
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
  // S's resolver is the validating Unbound of the deploy hook test (127.0.0.1:53).
  s = await createNetns();
  link = linkNetns(p, s, `${PRIMARY}/24`, `${NOTIFIED}/24`);
  await s.run(requireTool('ip'), ['addr', 'add', `${CHECKED}/24`, 'dev', link.b.ifname]);
  const config = (zone: string): Promise<string> =>
    exec(process.execPath, [
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
  // The key clause once, then each zone's clause.
  const printed = (await config(ZONE)) + (await config(HOOK_ZONE)).replace(/^key:\n(?: {4}.*\n)+/m, '');
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
  await postfix?.stop();
  await unbound?.stop();
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

describe('the README deploy hook: the MTA gets the new key once every name server serves its record', () => {
  const rr = (c: CertPair): string => `3 1 1 ${c.tlsa311}`;
  const context = (r: PosttlsResult): string =>
    `${r.command}\n${r.raw}\n--- unbound ---\n${unbound?.logs().slice(-3000)}`;

  beforeAll(async () => {
    await until(
      'NSD serves hook.example.',
      async () => {
        const r = await s!.exec(requireTool('kdig'), [
          `@${NOTIFIED}`,
          '+time=1',
          '+retry=0',
          '+short',
          HOOK_ZONE,
          'SOA',
        ]);
        return r.stdout.trim().split(/\s+/).length === 7;
      },
      30_000,
    );
    const anchors = (await exec(process.execPath, [CLI, 'ds', HOOK_ZONE, '--keys', keys])).trim().split('\n');
    // Unbound knows only the secondary: what it validates is NSD's copy.
    unbound = await startUnbound({
      port: 53,
      stubs: [{ zone: HOOK_ZONE, addr: `${NOTIFIED}@53` }],
      trustAnchors: anchors,
      netns: s!.name,
    });
    postfix = await startPostfix({
      netns: s!.name,
      certPath: join(tls, 'fullchain.pem'),
      keyPath: join(tls, 'privkey.pem'),
      myhostname: `mail.${HOOK_ZONE.slice(0, -1)}`,
    });
  }, 90_000);

  it('verifies before, runs the hook after a renewal to a new key, and verifies the new key after', async () => {
    const before = await posttlsFinger(s!.name, HOOK_ZONE.slice(0, -1));
    expect(before, context(before)).toMatchObject({ verified: true, matchedTlsa: rr(pair.h1!), dnssecFailure: false });
    // The hook of the README, as written, with this test's paths and commands put in.
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('#!/bin/sh\n  # /etc/letsencrypt/renewal-hooks/deploy/dane-ns');
    expect(start).toBeGreaterThan(0);
    const script = readme
      .slice(start, readme.indexOf('```', start))
      .replace(/^  /gm, '')
      .replaceAll('/etc/postfix/tls', tls)
      .replaceAll('dane-ns tlsa wait example.com mail', `${process.execPath} ${CLI} tlsa wait ${HOOK_ZONE} mail`)
      .replace('--timeout 3600', '--timeout 60')
      .replace(
        'postfix reload',
        s!.wrap(requireTool('postfix'), ['-c', postfix!.configDir, 'reload']).flat().join(' '),
      );
    expect(script).toContain(`tlsa wait ${HOOK_ZONE} mail --file "$RENEWED_LINEAGE/fullchain.pem"`);
    const hook = join(base, 'deploy-hook.sh');
    writeFileSync(hook, script);
    chmodSync(hook, 0o755);
    // certbot renews with a new key: the live files change, dane-ns publishes the key as next:.
    writeFileSync(join(live, 'privkey.pem'), pair.h2!.keyPem, { mode: 0o600 });
    writeFileSync(join(live, 'fullchain.pem'), pair.h2!.certPem);
    const t0 = Date.now();
    const env = {
      ...process.env,
      RENEWED_LINEAGE: live,
      DANE_NS_ZONES: zones,
      DANE_NS_STATE: join(base, 'state'),
      DANE_NS_KEYS: keys,
    };
    // The hook runs where dane-ns runs (P; its control socket names the address to ask), Postfix is in S.
    const r = await p!.exec('/bin/sh', [hook], { env, timeoutMs: 90_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}\n${dane!.logs().slice(-3000)}`).toBe(0);
    expect(r.stdout).toContain(`${rr(pair.h2!).toUpperCase().replace('3 1 1 ', '3 1 1 ')} is served by`);
    // It waited: at least one TTL after the record appeared.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TTL * 1000);
    expect(readFileSync(join(tls, 'fullchain.pem'), 'utf8')).toBe(pair.h2!.certPem);
    await until(
      'Postfix presents the new key',
      async () => (await postfix!.presentedTlsa311()) === pair.h2!.tlsa311,
      20_000,
    );
    const after = await posttlsFinger(s!.name, HOOK_ZONE.slice(0, -1));
    expect(after, context(after)).toMatchObject({ verified: true, matchedTlsa: rr(pair.h2!), dnssecFailure: false });
    // The renewal used the pre-published key: no cold rollover, nothing missing on a secondary.
    const cold = events().filter(
      (e) => (e.event === 'tlsa-cold-rollover' || e.event === 'tlsa-not-propagated') && e.zone === HOOK_ZONE,
    );
    expect(cold).toEqual([]);
  }, 120_000);
});
