/**
 * A ZSK rollover that waits for a slow secondary (docs/zone-format.md "Key rollover"): dane-ns in namespace P on
 * 10.53.0.1:53, NSD in S (a `transfer.notify` target on 10.53.0.2, TSIG-keyed; also on 127.0.0.2 inside S), and
 * a validating Unbound in S that asks ONLY NSD (on 127.0.0.2, so it reaches NSD while the link is down). TTLs
 * of 2 s (one TXT of 4 s), `margin: 1s`: a new ZSK may sign 3 s after every watched server has its DNSKEY, an
 * old one may leave 5 s after every one serves a version without its signatures.
 *   1. Unbound's cache is warm: MX, TLSA and an NXDOMAIN are asked several times a second from before the
 *      rollover until after it, and every answer must be NOERROR/NXDOMAIN with AD.
 *   2. S's end of the link goes down, then `dane-ns keys rollover` starts a ZSK rollover. dane-ns publishes the
 *      new DNSKEY, NSD cannot have it; past the Activate the rollover planned, dane-ns still signs with the old
 *      ZSK (`rollover-step-postponed` names NSD, `dane-ns status` says the step waits for it).
 *   3. The link comes back: NSD catches up, the new ZSK signs no earlier than 3 s after NSD served its DNSKEY
 *      (within the watcher's polling), the old ZSK leaves, and NSD serves the final key set; no answer through
 *      NSD was ever bogus.
 *
 * Needs root, ip, nsd, kdig and unbound: a missing one fails.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kdigQueryArgs, parseKdig, requireTool } from './helpers/dig.js';
import { createNetns, linkNetns, type Netns, type VethPair } from './helpers/netns.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { dnskeyRdata, keyTag } from '../../src/dnssec/keys.js';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';

const KEY = 'nsd-roll';
const PRIMARY = '10.53.0.1';
const SECONDARY = '10.53.0.2';
const INSIDE = '127.0.0.2';
const ZONE = 'roll.example.';
const WATCHED = `${SECONDARY}#53`;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-rollover-wait-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const state = join(base, 'state');
const nsdDir = join(base, 'nsd');
let p: Netns | undefined;
let s: Netns | undefined;
let link: VethPair;
let dane: DaneNsInstance | undefined;
let unbound: UnboundInstance | undefined;
let nsdLog = '';

/** dane-ns's log lines (JSON objects on stdout). */
function events(): { event: string; [k: string]: unknown }[] {
  return (dane?.logs().split('\n--- stderr ---\n')[0] ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string });
}

/** The DNSKEY tags and the signers of the SOA's RRSIG that `host:53` serves, asked from inside ns. */
async function keysAt(ns: Netns, host: string): Promise<{ keys: number[]; soaSigners: number[]; serial: number }> {
  const ask = async (type: string): Promise<string[][]> => {
    const r = await ns.exec(requireTool('kdig'), kdigQueryArgs({ host, port: 53 }, ZONE, type, { dnssec: true }));
    return parseKdig(r.stdout).answer.map((l) => l.split(/\s+/));
  };
  const dnskey = await ask('DNSKEY');
  const soa = await ask('SOA');
  return {
    keys: dnskey
      .filter((f) => f[3] === 'DNSKEY')
      .map((f) => keyTag(dnskeyRdata(Number(f[4]), Buffer.from(f.slice(7).join(''), 'base64'))))
      .sort((a, b) => a - b),
    soaSigners: soa.filter((f) => f[3] === 'RRSIG' && f[4] === 'SOA').map((f) => Number(f[10])),
    serial: Number(soa.find((f) => f[3] === 'SOA')?.[6]),
  };
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\nNSD:\n${nsdLog}\n${dane?.logs()}`);
    await delay(200);
  }
}

/** Asks Unbound (in S, asking NSD only) MX, TLSA and an NXDOMAIN in a loop; every answer must be secure. */
class Asker {
  readonly problems: string[] = [];
  asked = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  constructor(ns: Netns) {
    this.done = (async () => {
      const until = Date.now() + 170_000; // bounded however the test goes
      while (!this.stopped && Date.now() < until) {
        for (const [name, type, rcode] of [
          [ZONE, 'MX', 'NOERROR'],
          [`_25._tcp.mail.${ZONE}`, 'TLSA', 'NOERROR'],
          [`nope.${ZONE}`, 'A', 'NXDOMAIN'],
        ] as const) {
          const args = kdigQueryArgs({ host: '127.0.0.1', port: 53 }, name, type, { dnssec: true, rd: true });
          const r = await ns.exec(requireTool('kdig'), args, { timeoutMs: 10_000 });
          let got: string;
          try {
            const a = parseKdig(r.stdout);
            got = `${a.rcode} ${a.flags.join(' ')}`;
            if (a.rcode === rcode && a.flags.includes('ad')) got = '';
          } catch {
            got = `no answer (${r.stderr.trim()})`;
          }
          this.asked++;
          if (got) this.problems.push(`${new Date().toISOString()} ${name}/${type}: ${got}`);
        }
        await delay(100);
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

beforeAll(async () => {
  for (const tool of ['ip', 'nsd', 'kdig', 'unbound', 'unbound-control', 'unbound-checkconf']) requireTool(tool);
  mkdirSync(zones);
  writeFileSync(
    join(zones, 'roll.example.yaml'),
    `origin: ${ZONE}
ttl: 2
soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 2, retry: 1, expire: 1209600, minimum: 2 }
dnssec: { margin: 1s }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: ${PRIMARY} }
  mail: { A: 192.0.2.25 }
  _25._tcp.mail: { TLSA: "3 1 1 ${'ab'.repeat(32)}" }
  txt: { TXT: { ttl: 4, values: [four seconds] } }
transfer:
  allow:
    - key: ${KEY}
  notify:
    - { address: ${SECONDARY}, key: ${KEY} }
`,
  );
  await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  p = await createNetns({ resolvConf: null });
  s = await createNetns({ addresses: [INSIDE] });
  link = linkNetns(p, s, `${PRIMARY}/24`, `${SECONDARY}/24`);
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
  writeFileSync(
    join(nsdDir, 'nsd.conf'),
    `server:\n    ip-address: ${SECONDARY}\n    ip-address: ${INSIDE}\n    port: 53\n    zonesdir: "${nsdDir}"\n` +
      `    pidfile: "${nsdDir}/nsd.pid"\n    xfrdfile: "${nsdDir}/xfrd.state"\n    xfrdir: "${nsdDir}"\n` +
      `    zonelistfile: "${nsdDir}/zone.list"\n    database: ""\n    username: ""\n    verbosity: 2\n` +
      `remote-control:\n    control-enable: no\n${printed}`,
  );
  const nsd = s.spawn(requireTool('nsd'), ['-d', '-c', join(nsdDir, 'nsd.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nsd.stdout!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  nsd.stderr!.on('data', (b: Buffer) => (nsdLog += b.toString()));
  dane = await startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: state,
    port: 53,
    extraArgs: ['--listen', `${PRIMARY}:53`, '--secondary-lag', '3'],
    netns: p.name,
  });
  const first = (await keysAt(p, PRIMARY)).serial;
  await until(
    'NSD serves the zone',
    async () => (await keysAt(s!, INSIDE).catch(() => null))?.serial === first,
    30_000,
  );
  const anchors = (await exec(process.execPath, [CLI, 'ds', ZONE, '--keys', keys])).trim().split('\n');
  unbound = await startUnbound({
    port: 53,
    stubs: [{ zone: ZONE, addr: `${INSIDE}@53` }],
    trustAnchors: anchors,
    netns: s.name,
  });
}, 90_000);

afterAll(async () => {
  await unbound?.stop();
  await dane?.stop();
  await s?.destroy();
  await p?.destroy();
  rmSync(base, { recursive: true, force: true });
});

describe('a ZSK rollover waits for the last watched server', () => {
  it('the new ZSK does not sign while NSD lacks its DNSKEY; no answer through NSD is ever bogus', async () => {
    const asker = new Asker(s!);
    try {
      await delay(2000);
      expect(asker.asked).toBeGreaterThan(3);
      expect(asker.problems).toEqual([]); // warm and secure before

      const before = await keysAt(p!, PRIMARY);
      const oldZsk = before.soaSigners[0]!;
      link.setUp('b', false);
      const out = await exec(process.execPath, [
        CLI,
        'keys',
        'rollover',
        ZONE,
        '--zones',
        zones,
        '--keys',
        keys,
        '--state',
        state,
      ]);
      const m = /ZSK (\d+) is published now and signs from (\S+)/.exec(out)!;
      const newZsk = Number(m[1]);
      const planned = Date.parse(m[2]!);
      await until(
        'dane-ns publishes the new DNSKEY',
        async () => (await keysAt(p!, PRIMARY)).keys.includes(newZsk),
        15_000,
      );

      // Past the planned Activate (+ 4 s), dane-ns still signs with the old ZSK: NSD does not have the new one.
      while (Date.now() < planned + 4000) {
        const [primary, secondary] = [await keysAt(p!, PRIMARY), await keysAt(s!, INSIDE)];
        expect(secondary.keys).not.toContain(newZsk);
        expect(primary.soaSigners, dane!.logs().slice(-3000)).toEqual([oldZsk]);
        await delay(250);
      }
      const held = events().filter((e) => e.event === 'rollover-step-postponed' && e.key === newZsk);
      expect(held.length).toBeGreaterThan(0);
      expect(held[0]).toMatchObject({ zone: ZONE, step: 'starts signing', servers: [WATCHED] });
      // Behind for more than --secondary-lag 3 s by now: a warning.
      expect(held.at(-1)).toMatchObject({ level: 'warn', servers: [WATCHED] });
      const st = await p!.run(process.execPath, [CLI, 'status', ZONE, '--state', state]);
      expect(st).toMatch(
        new RegExp(`ZSK ${newZsk} starts signing at \\S+ \\(waits for ${WATCHED.replace('.', '\\.')}`),
      );

      // `check ZONE` says so too (the running server's status, over its control socket).
      const chk = await p!.exec(process.execPath, [CLI, 'check', ZONE, '--zones', zones, '--keys', keys], {
        timeoutMs: 60_000,
        env: { ...process.env, DANE_NS_STATE: state },
      });
      expect(chk.stdout + chk.stderr).toMatch(
        new RegExp(`key rollover.*ZSK ${newZsk} starts signing at \\S+ \\(waits for ${WATCHED.replace('.', '\\.')}`),
      );

      // The link back: NSD catches up; the new ZSK signs only once NSD has served its DNSKEY for 3 s.
      link.setUp('b', true);
      let nsdHasKey = 0;
      let newSigns = 0;
      let done = false;
      const deadline = Date.now() + 60_000;
      while (!done && Date.now() < deadline) {
        const [primary, secondary] = [await keysAt(p!, PRIMARY), await keysAt(s!, INSIDE)];
        if (!nsdHasKey && secondary.keys.includes(newZsk)) nsdHasKey = Date.now();
        if (!newSigns && primary.soaSigners.includes(newZsk)) newSigns = Date.now();
        if (newSigns) expect(nsdHasKey, 'NSD had the new DNSKEY when the new ZSK started signing').toBeGreaterThan(0);
        done = !primary.keys.includes(oldZsk) && secondary.serial === primary.serial;
        await delay(250);
      }
      expect(done, `${nsdLog}\n${dane!.logs().slice(-4000)}`).toBe(true);
      // 3 s after NSD served it (the watcher asks a lagging server every 2 s, this loop every ~0.3 s).
      expect(newSigns - nsdHasKey).toBeGreaterThanOrEqual(2500);
      expect(newSigns).toBeGreaterThan(planned + 4000);
      await delay(3000); // the old key's absence reaches Unbound's cache too
    } finally {
      await asker.stop();
    }
    expect(asker.problems, unbound?.logs().slice(-3000)).toEqual([]);
    expect(asker.asked).toBeGreaterThan(60);
  }, 150_000);
});
