/**
 * The whole ACME DNS-01 loop (RFC 8555 §8.4) with real pieces only, in one private network namespace
 * (helpers/netns.ts), nothing but its loopback:
 *   dane-ns (127.0.0.1:5353) serves and signs example.com, takes `_acme-challenge` TXT records by RFC 2136
 *   dynamic update (`update:`), and publishes `_25._tcp.mail` TLSA 3 1 1 from the certificate files of `tlsa:`;
 *   NSD (127.0.0.2:53, the zone's only NS) is its secondary, configured from `dane-ns secondary-config`, fed by
 *   NOTIFY (RFC 1996) and IXFR (RFC 1995), its SOA timers an hour: only a NOTIFY explains a change in time;
 *   pebble (a local ACME CA) validates DNS-01 by asking NSD, never dane-ns (`-dnsserver 127.0.0.2:53`);
 *   Unbound (127.0.0.1:53, the namespace's resolver) validates from the DS of `dane-ns ds` and asks only NSD;
 *   Postfix smtpd (127.0.0.1:25) presents the certificate the zone's `tlsa:` entry reads (`cert:`).
 * 1. certbot certonly --dns-rfc2136 (the README's credentials file) obtains mail.example.com and *.example.com;
 *    its deploy hook (the README's, as written but for this test's paths) waits with `dane-ns tlsa wait` until
 *    the new key's record (`next:` = certbot's live file) is served by dane-ns and NSD, installs the copy Postfix
 *    reads and reloads Postfix; posttls-finger then verifies the new key through Unbound and NSD.
 * 2. lego --dns rfc2136 (the README's command line) does the same with a new key of its own, `next:` pointed at
 *    lego's certificate, the same hook run by `--run-hook`.
 * Every wait is bounded; the whole file takes about a minute.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, tlsa311, type CertPair } from './helpers/certs.js';
import { requireTool } from './helpers/dig.js';
import { createNetns, type Netns } from './helpers/netns.js';
import { startPebble, type PebbleInstance } from './helpers/pebble.js';
import { startPostfix, type PostfixInstance } from './helpers/postfix.js';
import { posttlsFinger, type PosttlsResult } from './helpers/posttls.js';
import { stopProcess } from './helpers/secondaries.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';

const ZONE = 'example.com.';
const DANE_PORT = 5353;
const SECONDARY = '127.0.0.2';
const XFR_KEY = 'nsd-xfr';
const TTL = 4;
const ACME_PORT = 14000;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-acme-loop-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const state = join(base, 'state');
const tls = join(base, 'tls');
const le = join(base, 'le');
const legoDir = join(base, 'lego');
const nsdDir = join(base, 'nsd');
const certbotLive = join(le, 'config', 'live', 'mail.example.com', 'fullchain.pem');
const legoCert = join(legoDir, 'certificates', 'mail.example.com.crt');
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

let ns: Netns | undefined;
let dane: DaneNsInstance | undefined;
let nsd: ChildProcess | undefined;
let nsdLog = '';
let pebble: PebbleInstance | undefined;
let unbound: UnboundInstance | undefined;
let postfix: PostfixInstance | undefined;
let initial: CertPair;
let acmeSecret = '';

function zoneYaml(next: string): string {
  return `origin: ${ZONE}
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 3600, retry: 3600, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: ${SECONDARY} }
  mail: { A: 127.0.0.1 }
tlsa:
  - host: mail
    cert: ${join(tls, 'fullchain.pem')}
    next: ${next}
    ttl: ${TTL}
transfer:
  allow:
    - key: ${XFR_KEY}
  notify:
    - { address: ${SECONDARY}, key: ${XFR_KEY} }
update:
  - key: acme
    names: [_acme-challenge, _acme-challenge.mail]
`;
}

/** The fenced block of the README that follows `marker` (its lines without the list's two-space indent). */
function readmeBlock(marker: string): string {
  const at = README.indexOf(marker);
  expect(at, marker).toBeGreaterThan(0);
  const open = README.indexOf('```', at);
  const start = README.indexOf('\n', open) + 1;
  return README.slice(start, README.indexOf('```', start)).replace(/^ {2}/gm, '');
}

/** The README's certbot deploy hook with this test's paths and commands put in (the cert and key files: args). */
function hook(name: string, certVar: string, keyVar: string): string {
  const start = README.indexOf('#!/bin/sh\n  # /etc/letsencrypt/renewal-hooks/deploy/dane-ns');
  expect(start).toBeGreaterThan(0);
  const script = README.slice(start, README.indexOf('```', start))
    .replace(/^ {2}/gm, '')
    .replaceAll('/etc/postfix/tls', tls)
    .replaceAll('dane-ns tlsa wait example.com mail', `${process.execPath} ${CLI} tlsa wait ${ZONE} mail`)
    .replace('--timeout 3600', '--timeout 60')
    .replaceAll('"$RENEWED_LINEAGE/fullchain.pem"', certVar)
    .replaceAll('"$RENEWED_LINEAGE/privkey.pem"', keyVar)
    .replace('postfix reload', `${requireTool('postfix')} -c ${postfix!.configDir} reload`);
  expect(script).toContain(`tlsa wait ${ZONE} mail --file ${certVar} --timeout 60`);
  expect(script).toContain(`install -m 0600 ${keyVar} ${tls}/privkey.pem.new`);
  const file = join(base, name);
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return file;
}

/** The environment the hook needs to find the running server (README: DANE_NS_ZONES, DANE_NS_STATE). */
const hookEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  DANE_NS_ZONES: zones,
  DANE_NS_STATE: state,
  DANE_NS_KEYS: keys,
});

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms\nNSD:\n${nsdLog}\ndane-ns:\n${dane?.logs().slice(-4000)}`);
    await delay(250);
  }
}

/** What NSD (the secondary) answers for `name` `type`, asked from inside the namespace (+short lines). */
async function atSecondary(name: string, type: string): Promise<string[]> {
  const r = await ns!.exec(requireTool('kdig'), [`@${SECONDARY}`, '+time=1', '+retry=0', '+short', name, type]);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '');
}

/** The TLSA 3 1 1 data NSD serves at _25._tcp.mail, lower-case. */
async function tlsaAtSecondary(): Promise<string[]> {
  return (await atSecondary('_25._tcp.mail.example.com.', 'TLSA')).map((l) => l.replace(/\s+/g, ' ').toLowerCase());
}

/** The DNS names of a certificate (its subjectAltName). */
function sanOf(file: string): string[] {
  const san = new X509Certificate(readFileSync(file)).subjectAltName ?? '';
  return san
    .split(', ')
    .map((s) => s.replace(/^DNS:/, ''))
    .sort();
}

const context = (r: PosttlsResult): string =>
  `${r.command}\n${r.raw}\n--- unbound ---\n${unbound?.logs().slice(-3000) ?? ''}\n--- NSD ---\n${nsdLog}`;

beforeAll(async () => {
  for (const tool of ['ip', 'nsd', 'kdig', 'openssl', 'pebble', 'certbot', 'lego']) requireTool(tool);
  for (const tool of ['unbound', 'unbound-control', 'unbound-checkconf', 'postfix', 'postconf', 'posttls-finger'])
    requireTool(tool);
  initial = await makeCert(join(base, 'pairs'), { name: 'initial', cn: 'mail.example.com' });
  mkdirSync(tls);
  writeFileSync(join(tls, 'fullchain.pem'), initial.certPem);
  writeFileSync(join(tls, 'privkey.pem'), initial.keyPem, { mode: 0o600 });
  mkdirSync(zones);
  writeFileSync(join(zones, 'example.com.yaml'), zoneYaml(certbotLive));
  await exec(process.execPath, [CLI, 'tsig', 'generate', XFR_KEY, '--keys', keys]);
  await exec(process.execPath, [CLI, 'tsig', 'generate', 'acme', '--keys', keys]);
  acmeSecret = /secret "([^"]+)"/.exec(readFileSync(join(keys, 'tsig', 'acme.key'), 'utf8'))![1]!;

  ns = await createNetns({ addresses: [SECONDARY] });
  dane = await startDaneNs({ zonesDir: zones, port: DANE_PORT, keysDir: keys, stateDir: state, netns: ns.name });

  // NSD: the daemon options around what secondary-config prints.
  const printed = await exec(process.execPath, [
    ...[CLI, 'secondary-config', ZONE, '--for', 'nsd', '--primary', `127.0.0.1:${DANE_PORT}`],
    ...['--zones', zones, '--keys', keys],
  ]);
  expect(printed).toContain(`request-xfr: 127.0.0.1@${DANE_PORT} ${XFR_KEY}\n`);
  mkdirSync(nsdDir);
  writeFileSync(
    join(nsdDir, 'nsd.conf'),
    `server:\n    ip-address: ${SECONDARY}\n    port: 53\n    zonesdir: "${nsdDir}"\n    pidfile: "${nsdDir}/nsd.pid"\n` +
      `    xfrdfile: "${nsdDir}/xfrd.state"\n    xfrdir: "${nsdDir}"\n    zonelistfile: "${nsdDir}/zone.list"\n` +
      `    database: ""\n    username: ""\n    verbosity: 2\nremote-control:\n    control-enable: no\n${printed}`,
  );
  nsd = ns.spawn(requireTool('nsd'), ['-d', '-c', join(nsdDir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  nsd.stdout!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  nsd.stderr!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  await until('NSD serves the zone', async () => (await atSecondary(ZONE, 'SOA')).length === 1, 30_000);
  expect(await tlsaAtSecondary()).toEqual([`3 1 1 ${initial.tlsa311}`]);

  // Unbound knows only the secondary: what it validates is NSD's copy.
  const anchors = (await exec(process.execPath, [CLI, 'ds', ZONE, '--keys', keys])).trim().split('\n');
  unbound = await startUnbound({
    port: 53,
    stubs: [{ zone: ZONE, addr: `${SECONDARY}@53` }],
    trustAnchors: anchors,
    netns: ns.name,
  });
  postfix = await startPostfix({
    netns: ns.name,
    certPath: join(tls, 'fullchain.pem'),
    keyPath: join(tls, 'privkey.pem'),
    myhostname: 'mail.example.com',
  });

  // pebble, validating at the secondary only.
  pebble = await startPebble(ns, base, ACME_PORT, `${SECONDARY}:53`);
}, 120_000);

afterAll(async () => {
  await pebble?.stop();
  await postfix?.stop();
  await unbound?.stop();
  if (nsd) await stopProcess(nsd);
  await dane?.stop();
  await ns?.destroy();
  rmSync(base, { recursive: true, force: true });
});

/** After a client's hook ran: NSD serves the new key's record, Postfix presents the key, posttls-finger verifies. */
async function verifiedThroughSecondary(cert: string, client: string): Promise<void> {
  const want = tlsa311(cert);
  expect(want).not.toBe(initial.tlsa311);
  // The hook installed the copy Postfix reads: it waited for the record at dane-ns and NSD first.
  expect(readFileSync(join(tls, 'fullchain.pem'), 'utf8'), client).toBe(readFileSync(cert, 'utf8'));
  expect(await tlsaAtSecondary()).toContain(`3 1 1 ${want}`);
  await until('Postfix presents the new key', async () => (await postfix!.presentedTlsa311()) === want, 20_000);
  await unbound!.flush();
  const r = await posttlsFinger(ns!.name, 'example.com');
  expect(r, context(r)).toMatchObject({ verified: true, matchedDane: true, dnssecFailure: false });
  expect(r.matchedTlsa, context(r)).toBe(`3 1 1 ${want}`);
  // The challenges were removed again, at the secondary too.
  for (const name of ['_acme-challenge.example.com.', '_acme-challenge.mail.example.com.'])
    await until(`no TXT left at ${name}`, async () => (await atSecondary(name, 'TXT')).length === 0, 10_000);
}

describe('ACME DNS-01 through dane-ns, validated at its secondary, TLSA to the secondary, DANE verified', () => {
  it('before: Postfix presents the first key, verified through Unbound and NSD', async () => {
    const r = await posttlsFinger(ns!.name, 'example.com');
    expect(r, context(r)).toMatchObject({ verified: true, matchedTlsa: `3 1 1 ${initial.tlsa311}` });
  });

  it('certbot certonly --dns-rfc2136: mail and wildcard issued, the deploy hook waits for NSD, DANE verifies', async () => {
    const creds = join(base, 'acme.ini');
    const ini = readmeBlock('- certbot (`apt install python3-certbot-dns-rfc2136`)')
      .replace('dns_rfc2136_server = 192.0.2.53', 'dns_rfc2136_server = 127.0.0.1')
      .replace('dns_rfc2136_port = 53', `dns_rfc2136_port = ${DANE_PORT}`)
      .replace('<the secret of keys/tsig/acme.key>', acmeSecret);
    expect(ini).toContain(`dns_rfc2136_secret = ${acmeSecret}\n`);
    writeFileSync(creds, ini, { mode: 0o600 });
    const before = pebble!.validations();
    const deploy = hook('certbot-deploy-hook.sh', '"$RENEWED_LINEAGE/fullchain.pem"', '"$RENEWED_LINEAGE/privkey.pem"');
    const r = await ns!.exec(
      requireTool('certbot'),
      [
        ...['certonly', '--non-interactive', '--agree-tos', '--register-unsafely-without-email'],
        ...['--server', pebble!.directory],
        ...['--dns-rfc2136', '--dns-rfc2136-credentials', creds, '--dns-rfc2136-propagation-seconds', '3'],
        ...['-d', 'mail.example.com', '-d', '*.example.com', '--deploy-hook', deploy],
        ...['--config-dir', join(le, 'config'), '--work-dir', join(le, 'work'), '--logs-dir', join(le, 'logs')],
      ],
      { env: { ...hookEnv(), REQUESTS_CA_BUNDLE: pebble!.cert }, timeoutMs: 120_000 },
    );
    const out = `${r.stdout}\n${r.stderr}\n--- pebble ---\n${pebble!.logs().slice(-3000)}\n--- dane-ns ---\n${dane!.logs().slice(-3000)}`;
    expect(r.code, out).toBe(0);
    expect(out).toContain('Successfully received certificate');
    // pebble validated both names (mail and the wildcard's _acme-challenge at the apex), asking NSD.
    expect(pebble!.validations() - before, out).toBe(2);
    expect(sanOf(certbotLive)).toEqual(['*.example.com', 'mail.example.com']);
    await verifiedThroughSecondary(certbotLive, out);
  }, 150_000);

  it('lego --dns rfc2136 (the README line): a new key, mail and wildcard, its run hook, DANE verifies', async () => {
    // The next key is lego's now: the zone file points next: at lego's certificate.
    writeFileSync(join(zones, 'example.com.yaml'), zoneYaml(legoCert));
    await delay(1000);
    const before = pebble!.validations();
    const runHook = hook('lego-run-hook.sh', '"$LEGO_CERT_PATH"', '"$LEGO_CERT_KEY_PATH"');
    const command = readmeBlock('- lego (`apt install lego`)')
      .replace('RFC2136_NAMESERVER=192.0.2.53', `RFC2136_NAMESERVER=127.0.0.1:${DANE_PORT}`)
      .replace('<the secret of keys/tsig/acme.key>', acmeSecret)
      .replace('lego --accept-tos', `lego --server ${pebble!.directory} --path ${legoDir} --accept-tos`)
      .replace(/ run\n$/, ` run --run-hook ${runHook}\n`);
    expect(command).toContain(`--run-hook ${runHook}`);
    const r = await ns!.exec('/bin/sh', ['-c', command], {
      // lego solves one challenge after the other, a minute apart unless told (RFC2136_SEQUENCE_INTERVAL).
      env: { ...hookEnv(), LEGO_CA_CERTIFICATES: pebble!.cert, RFC2136_SEQUENCE_INTERVAL: '1' },
      timeoutMs: 120_000,
    });
    const out = `${command}\n${r.stdout}\n${r.stderr}\n--- pebble ---\n${pebble!.logs().slice(-3000)}\n--- dane-ns ---\n${dane!.logs().slice(-3000)}`;
    expect(r.code, out).toBe(0);
    expect(pebble!.validations() - before, out).toBe(2);
    expect(sanOf(legoCert)).toEqual(['*.example.com', 'mail.example.com']);
    expect(tlsa311(legoCert)).not.toBe(tlsa311(certbotLive));
    await verifiedThroughSecondary(legoCert, out);
  }, 150_000);
});
