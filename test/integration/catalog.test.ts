/**
 * `serve --catalog` (RFC 9432 catalog zones, version 2) with real consumers: Knot (`catalog-role: interpret`,
 * `catalog-template`) and BIND (`catalog-zones`, `allow-new-zones yes`), each configured once, with the catalog
 * zone only, as the README shows. A new zone file with `transfer:` is served by both within 5 s with no edit of
 * their configuration; a removed one stays while the (short) grace runs and is dropped by both after it; the
 * catalog itself is REFUSED (SOA, AXFR, a name in it) to a client without the key, and transferred with it. A
 * restart of dane-ns during the grace does not start it again.
 *
 * The tools are required (knotd, named, kdig): a missing one fails.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';
import { requireTool } from './helpers/dig.js';
import { freePorts } from './helpers/ports.js';
import { startDaemon, type Daemon } from './helpers/secondaries.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool } from './helpers/tsigpeer.js';

const CATALOG = 'catalog.invalid.';
const KEY = 'cat-xfr';
/** Short, for the test: the default is an hour. */
const GRACE_S = 12;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-catalog-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
let server: DaneNsInstance;
let knot: Daemon;
let bind: Daemon;
let secret = '';
let knotPort = 0;
let bindPort = 0;

/** A zone file handed to both secondaries (transfer with the key, NOTIFY to both). */
const zoneText = (): string => `soa: { mname: ns1, rname: hostmaster }
transfer:
  allow:
    - key: ${KEY}
  notify:
    - { address: 127.0.0.1, port: ${knotPort}, key: ${KEY} }
    - { address: 127.0.0.1, port: ${bindPort}, key: ${KEY} }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

/**
 * Knot 3.2 reading the catalog: the catalog zone, and a template for every member it lists. The members are
 * validated (`dnssec-validation: on`); the catalog is unsigned, which Knot refuses to load with validation on
 * ("no keys for signing"), so it is turned off for the catalog alone.
 */
const knotConf = (dir: string): string => `server:
    listen: 127.0.0.1@${knotPort}
    rundir: ${dir}
log:
  - target: stderr
    any: info
database:
    storage: ${join(dir, 'db')}
key:
  - id: ${KEY}
    algorithm: hmac-sha256
    secret: ${secret}
remote:
  - id: dane-ns
    address: 127.0.0.1@${server.port}
    key: ${KEY}
acl:
  - id: notify-from-dane-ns
    address: 127.0.0.1
    key: ${KEY}
    action: notify
template:
  - id: default
    storage: ${dir}
    dnssec-validation: on
  - id: catalog-member
    storage: ${dir}
    dnssec-validation: on
    master: dane-ns
    acl: notify-from-dane-ns
zone:
  - domain: ${CATALOG}
    master: dane-ns
    acl: notify-from-dane-ns
    dnssec-validation: off
    catalog-role: interpret
    catalog-template: catalog-member
`;

/** BIND 9.18 reading the catalog: the catalog zone, `catalog-zones` naming its primary, `allow-new-zones`. */
const bindConf = (dir: string): string => `options {
\tdirectory "${dir}";
\tpid-file "${dir}/named.pid";
\tsession-keyfile "${dir}/session.key";
\tlisten-on port ${bindPort} { 127.0.0.1; };
\tlisten-on-v6 { none; };
\trecursion no;
\tdnssec-validation no;
\tnotify no;
\tallow-new-zones yes;
\tcatalog-zones {
\t\tzone "${CATALOG}" default-primaries port ${server.port} { 127.0.0.1 key "${KEY}"; } min-update-interval 1;
\t};
};
controls { };
key "${KEY}" { algorithm hmac-sha256; secret "${secret}"; };
zone "${CATALOG}" {
\ttype secondary;
\tfile "catalog.db";
\tprimaries port ${server.port} { 127.0.0.1 key "${KEY}"; };
};
`;

/** The status and whether the answer is authoritative, of `zone SOA` asked of 127.0.0.1:port. */
async function soa(port: number, zone: string, tsig = false): Promise<string> {
  const r = await runTool('kdig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+time=1',
    '+retry=0',
    ...(tsig ? ['-y', `hmac-sha256:${KEY}:${secret}`] : []),
    zone,
    'SOA',
  ]);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? 'no answer';
  return /;; Flags: [^;]*\baa\b/.test(r.stdout) ? `${status} aa` : status;
}

/** Waits until both secondaries answer `zone` as `want` says; returns the milliseconds it took. */
async function bothServe(zone: string, want: boolean, withinMs: number): Promise<number> {
  const start = Date.now();
  const ok = (s: string): boolean => (s === 'NOERROR aa') === want;
  let last = '';
  while (Date.now() - start < withinMs) {
    const [k, b] = [await soa(knotPort, zone), await soa(bindPort, zone)];
    last = `knot ${k}, bind ${b}`;
    if (ok(k) && ok(b)) return Date.now() - start;
    await delay(100);
  }
  throw new Error(`${zone} ${want ? 'not served' : 'still served'} after ${withinMs} ms: ${last}\n` + logs());
}

const logs = (): string =>
  `--- knot\n${knot?.log().slice(-3000)}\n--- bind\n${bind?.log().slice(-3000)}\n--- dane-ns\n${server?.logs().slice(-3000)}`;

/** dane-ns with the catalog and the short grace, on `port`, with the test's zones, keys and state. */
const startServer = (port: number): Promise<DaneNsInstance> =>
  startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: join(base, 'state'),
    port,
    extraArgs: ['--catalog', CATALOG, '--catalog-grace', `${GRACE_S}s`],
    startTimeoutMs: 60_000,
  });

beforeAll(async () => {
  mkdirSync(zones, { recursive: true });
  const printed = await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  secret = /secret "([^"]+)"/.exec(printed)![1]!;
  const [dnsPort, kp, bp] = await freePorts(3);
  [knotPort, bindPort] = [kp!, bp!];
  writeFileSync(join(zones, 'first.example.yaml'), zoneText());
  server = await startServer(dnsPort!);
  const kdir = join(base, 'knot');
  const bdir = join(base, 'bind');
  mkdirSync(join(kdir, 'db'), { recursive: true });
  mkdirSync(bdir, { recursive: true });
  writeFileSync(join(kdir, 'knot.conf'), knotConf(kdir));
  writeFileSync(join(bdir, 'named.conf'), bindConf(bdir));
  knot = startDaemon([requireTool('knotd'), '-c', join(kdir, 'knot.conf')]);
  bind = startDaemon([requireTool('named'), '-g', '-n', '1', '-c', join(bdir, 'named.conf')]);
  await bothServe('first.example.', true, 30_000);
}, 90_000);

afterAll(async () => {
  await knot?.stop();
  await bind?.stop();
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

describe('the catalog zone with Knot and BIND as its consumers', () => {
  it('is REFUSED without the key (SOA, AXFR, a name in it), transferred with it: version 2, one PTR per zone', async () => {
    expect(await soa(server.port, CATALOG)).toBe('REFUSED');
    expect(await soa(server.port, `version.${CATALOG}`)).toBe('REFUSED');
    expect(await soa(server.port, CATALOG, true)).toBe('NOERROR aa');
    const p = ['@127.0.0.1', '-p', String(server.port), '+time=5'];
    const refused = await runTool('kdig', [...p, CATALOG, 'AXFR']);
    expect(refused.stdout + refused.stderr).toMatch(/REFUSED/);
    expect(refused.stdout).not.toMatch(/\sPTR\s/);
    const axfr = await runTool('kdig', [...p, '-y', `hmac-sha256:${KEY}:${secret}`, CATALOG, 'AXFR']);
    expect(axfr.stdout).toMatch(/^version\.catalog\.invalid\.\s+0\s+IN\s+TXT\s+"2"$/m);
    expect(axfr.stdout).toMatch(/^[0-9a-f]{40}\.zones\.catalog\.invalid\.\s+0\s+IN\s+PTR\s+first\.example\.$/m);
  });

  it('a new zone file is served by both within 5 s; a removed one stays during the grace (across a restart), then goes', async () => {
    writeFileSync(join(zones, 'second.example.yaml'), zoneText());
    const took = await bothServe('second.example.', true, 5_000);
    expect(took).toBeLessThan(5_000);
    // From the catalog, and the catalog's change by IXFR from dane-ns's journal (Knot says which).
    expect(knot.log()).toMatch(/\[catalog\.invalid\.\] IXFR, incoming, remote 127\.0\.0\.1@\d+, finished/);
    expect(knot.log()).toMatch(/\[catalog\.invalid\.\] catalog reloaded/);
    expect(bind.log()).toContain("catz: adding zone 'second.example' from catalog 'catalog.invalid' - success");

    const removedAt = Date.now();
    unlinkSync(join(zones, 'second.example.yaml'));
    // dane-ns stops serving it at once; the secondaries keep it while the grace runs.
    await delay(1_000);
    expect(await soa(server.port, 'second.example.', true)).toBe('REFUSED');
    const stillServed = async (untilS: number): Promise<void> => {
      while (Date.now() - removedAt < untilS * 1000) {
        expect(await soa(knotPort, 'second.example.'), logs()).toBe('NOERROR aa');
        expect(await soa(bindPort, 'second.example.'), logs()).toBe('NOERROR aa');
        await delay(1_000);
      }
    };
    await stillServed(GRACE_S / 2);
    // A restart half way: the removal time is kept (catalog.json), so the grace does not start again.
    const port = server.port;
    await server.stop();
    server = await startServer(port);
    await stillServed(GRACE_S - 2);
    await bothServe('second.example.', false, 15_000);
    const gone = Date.now() - removedAt;
    expect(gone).toBeGreaterThanOrEqual(GRACE_S * 1000);
    // A grace started again at the restart would have ended after 1.5 graces.
    expect(gone).toBeLessThan(GRACE_S * 1000 + 4_000);
    // The other member is untouched.
    expect(await soa(knotPort, 'first.example.')).toBe('NOERROR aa');
    expect(await soa(bindPort, 'first.example.')).toBe('NOERROR aa');
  }, 60_000);
});
