/**
 * Rollovers by key lifetime (`dnssec.zsk-lifetime`, `dnssec.ksk-lifetime`) with real peers on loopback: the parent
 * zone `example.` on two Knot instances with BIND's `dnssec-cds` as the registry stand-in (helpers/parents.ts),
 * above them a fake root (helpers/fakeroot.ts) holding the parents' DS, and a validating Unbound anchored at the
 * fake root's key (so every link from the root down is checked) asking through the parent that follows the
 * registry late. TTLs of 2 s and a margin of 1 s make a rollover take seconds; nothing but the lifetime starts one.
 *   - A ZSK rollover by zsk-lifetime: MX, TLSA and an NXDOMAIN asked several times a second are secure
 *     throughout, and the old ZSK leaves the DNSKEY RRset with no manual step; one rollover, no KSK rollover.
 *   - A CSK rollover by ksk-lifetime (`keys: csk`): automatic to the end through the registry (CDS, both parents
 *     serve the new DS, `parent-ds-published`, the old CSK leaves), every answer secure throughout.
 *   - The control for the anchor: a wrong DS for `example.` at the fake root makes the children bogus.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool, type Answer, type Server } from './helpers/dig.js';
import { dsRdatas, startFakeRoot, type FakeRoot } from './helpers/fakeroot.js';
import { startParents, type Parents, type Registry } from './helpers/parents.js';
import { freePort } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { keyTag } from '../../src/dnssec/keys.js';
import { delay } from '../support/time.js';

const run = promisify(execFile);
const ZSK_ZONE = 'zsk.example.';
const CSK_ZONE = 'csk.example.';
const TLSA = '3 1 1 8CB0FC6C527506A053F4F14C8464BEBBD6DEDE2738D11468DD953D7D6A3021F1';
/** Seconds: the ZSK's lifetime; the CSK's is longer, so that its rollover comes during the second test. */
const ZSK_LIFETIME = 25;
const CSK_LIFETIME = 50;

const zoneText = (origin: string, dnssec: readonly string[], parents: readonly number[]): string =>
  [
    `origin: ${origin}`,
    'ttl: 2',
    'soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 2 }',
    'dnssec:',
    `  parent: [${parents.map((p) => `127.0.0.1@${p}`).join(', ')}]`,
    '  parent-check: 2s',
    '  margin: 1s',
    ...dnssec.map((l) => `  ${l}`),
    'records:',
    '  "@": { NS: ns1, MX: "10 mail" }',
    '  ns1: { A: 127.0.0.1 }',
    '  mail: { A: 192.0.2.25 }',
    `  _25._tcp.mail: { TLSA: "${TLSA}" }`,
    '',
  ].join('\n');

let dir: string;
let dane: DaneNsInstance;
let parents: Parents;
let root: FakeRoot;
let unbound: UnboundInstance;
let resolver: Server;
let registry: Registry;
let child: Server;

const secure = (a: Answer): boolean => a.flags.includes('ad');

/** One round of questions about `zone` through Unbound; a line per answer that is not secure or has the wrong rcode. */
async function ask(zone: string): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, type, rcode] of [
    [zone, 'MX', 'NOERROR'],
    [`_25._tcp.mail.${zone}`, 'TLSA', 'NOERROR'],
    [`nope.${zone}`, 'A', 'NXDOMAIN'],
  ] as const) {
    const a = await query(resolver, name, type, { dnssec: true, rd: true });
    if (a.rcode !== rcode || !secure(a))
      problems.push(`${new Date().toISOString()} ${name}/${type}: ${a.rcode} ${a.flags.join(' ')}`);
  }
  return problems;
}

/** The key tags of the zone's DNSKEY RRset as served, by flags (257: KSK or CSK, 256: ZSK). */
async function served(zone: string): Promise<{ ksk: number[]; zsk: number[] }> {
  const a = await query(child, zone, 'DNSKEY', { dnssec: true });
  const out = { ksk: [] as number[], zsk: [] as number[] };
  for (const l of a.answer) {
    const f = l.split(/\s+/);
    if (f[3] !== 'DNSKEY') continue;
    const flags = Number(f[4]);
    const key = Buffer.from(f.slice(7).join(''), 'base64');
    const rdata = Buffer.concat([Buffer.from([flags >> 8, flags & 255, Number(f[5]), Number(f[6])]), key]);
    (flags === 257 ? out.ksk : out.zsk).push(keyTag(rdata));
  }
  out.ksk.sort((x, y) => x - y);
  out.zsk.sort((x, y) => x - y);
  return out;
}

/** The tag of the key that signs `zone`'s MX RRset (the ZSK or the CSK). */
async function zoneSigner(zone: string): Promise<number> {
  const a = await query(child, zone, 'MX', { dnssec: true });
  const sig = a.answer.find((l) => / RRSIG MX /.test(l));
  return Number(sig!.split(/\s+/)[10]);
}

/** The `key-rollover-started` events of `zone` so far. */
interface Started {
  time: string;
  role: string;
  reason: string;
  old: number;
  key: number;
  lifetimeEnded: string;
}

function started(zone: string): Started[] {
  return dane
    .logs()
    .split('\n')
    .filter((l) => l.includes('"event":"key-rollover-started"') && l.includes(`"zone":"${zone}"`))
    .map((l) => JSON.parse(l) as Started);
}

beforeAll(async () => {
  for (const t of ['unbound', 'kdig', 'knotd', 'knotc', 'keymgr', 'dnssec-cds']) requireTool(t);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-lifetime-'));
  const zones = join(dir, 'zones');
  mkdirSync(zones);
  const keysDir = join(dir, 'keys');
  const stateDir = join(dir, 'state');
  // The children's keys first, so that the parents hold their DS before the children are served.
  const ds: Record<string, string[]> = {};
  for (const [zone, csk] of [
    [ZSK_ZONE, false],
    [CSK_ZONE, true],
  ] as const) {
    await run(process.execPath, [
      CLI,
      'keys',
      'generate',
      zone,
      '--keys',
      keysDir,
      '--state',
      stateDir,
      ...(csk ? ['--csk'] : []),
    ]);
    // `ds` tells a CSK from a KSK whose ZSK is missing by the zone file (`keys: csk`): a first version of it,
    // rewritten below with the parents' ports.
    writeFileSync(join(zones, `${zone}yaml`), zoneText(zone, csk ? ['keys: csk'] : [], [53]));
    const { stdout } = await run(process.execPath, [CLI, 'ds', zone, '--keys', keysDir, '--zones', zones]);
    ds[zone] = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(4).join(' '));
  }
  parents = await startParents(dir, ds);
  root = await startFakeRoot(dir, { 'example.': dsRdatas(await parents.anchors()) });
  writeFileSync(join(zones, `${ZSK_ZONE}yaml`), zoneText(ZSK_ZONE, [`zsk-lifetime: ${ZSK_LIFETIME}s`], parents.ports));
  writeFileSync(
    join(zones, `${CSK_ZONE}yaml`),
    zoneText(CSK_ZONE, ['keys: csk', `ksk-lifetime: ${CSK_LIFETIME}s`], parents.ports),
  );
  dane = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir, stateDir });
  child = { host: '127.0.0.1', port: dane.port };
  const port = await freePort();
  // Asked through the parent that follows the registry late: it serves the old DS longest.
  unbound = await startUnbound({
    port,
    stubs: [
      root.stub,
      { zone: 'example.', addr: `127.0.0.1@${parents.ports[1]}` },
      { zone: ZSK_ZONE, addr: `127.0.0.1@${dane.port}` },
      { zone: CSK_ZONE, addr: `127.0.0.1@${dane.port}` },
    ],
    trustAnchors: await root.anchors(),
  });
  resolver = { host: '127.0.0.1', port };
  registry = parents.registry(CSK_ZONE, child, ds[CSK_ZONE]!, 3000, dir);
}, 90_000);

afterAll(async () => {
  await registry?.stop();
  await unbound?.stop();
  await dane?.stop();
  await parents?.stop();
  await root?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rollovers by key lifetime', () => {
  it('a ZSK rollover by zsk-lifetime: secure throughout, the old ZSK gone with no manual step', async () => {
    const t0 = Date.now();
    const before = await served(ZSK_ZONE);
    expect(before.zsk).toHaveLength(1);
    const oldZsk = before.zsk[0]!;
    expect(await zoneSigner(ZSK_ZONE)).toBe(oldZsk);
    // `status` shows when the lifetime ends, as the zone's next key event.
    const status = JSON.parse(
      (await run(process.execPath, [CLI, 'status', ZSK_ZONE, '--state', dane.stateDir, '--json'])).stdout,
    ) as { zones: { nextKeyEvent?: string }[] };
    const lifetimeEnd = status.zones[0]!.nextKeyEvent;
    const problems: string[] = [];
    let asked = 0;
    let end: { ksk: number[]; zsk: number[] } | undefined;
    const deadline = Date.now() + (ZSK_LIFETIME + 40) * 1000;
    while (Date.now() < deadline) {
      problems.push(...(await ask(ZSK_ZONE)));
      asked++;
      const now = await served(ZSK_ZONE);
      if (now.zsk.length === 1 && now.zsk[0] !== oldZsk) {
        end = now;
        break;
      }
      await delay(150);
    }
    expect(problems, dane.logs().slice(-3000)).toEqual([]);
    expect(end, dane.logs().slice(-3000)).toBeDefined();
    const newZsk = end!.zsk[0]!;
    // Asked before the rollover started, and many times during it.
    const rolls = started(ZSK_ZONE);
    expect(rolls.map((r) => [r.role, r.reason, r.old, r.key])).toEqual([['zsk', 'lifetime', oldZsk, newZsk]]);
    expect(Date.parse(rolls[0]!.time)).toBeGreaterThan(t0);
    // Started when `status` said, within the refresh timer's second.
    expect(Date.parse(rolls[0]!.lifetimeEnded)).toBe(Date.parse(lifetimeEnd!));
    expect(Date.parse(rolls[0]!.time) - Date.parse(lifetimeEnd!)).toBeLessThan(2000);
    expect(asked).toBeGreaterThan(20);
    expect(await zoneSigner(ZSK_ZONE)).toBe(newZsk);
    // ksk-lifetime is 0 (the default): the KSK stays.
    expect(end!.ksk).toEqual(before.ksk);
    expect(await ask(ZSK_ZONE)).toEqual([]);
  }, 120_000);

  it('a CSK rollover by ksk-lifetime: automatic to the end through the registry, secure throughout', async () => {
    const before = await served(CSK_ZONE);
    expect(before).toMatchObject({ zsk: [] });
    expect(before.ksk).toHaveLength(1);
    const oldCsk = before.ksk[0]!;
    const problems: string[] = [];
    let asked = 0;
    let end: number[] | undefined;
    const deadline = Date.now() + (CSK_LIFETIME + 60) * 1000;
    while (Date.now() < deadline) {
      problems.push(...(await ask(CSK_ZONE)));
      asked++;
      const now = await served(CSK_ZONE);
      if (now.ksk.length === 1 && now.ksk[0] !== oldCsk) {
        end = now.ksk;
        break;
      }
      await delay(150);
    }
    expect(problems, dane.logs().slice(-3000)).toEqual([]);
    expect(end, JSON.stringify(registry.updates) + dane.logs().slice(-3000)).toBeDefined();
    const newCsk = end![0]!;
    const rolls = started(CSK_ZONE);
    expect(rolls.map((r) => [r.role, r.reason, r.old, r.key])).toEqual([['csk', 'lifetime', oldCsk, newCsk]]);
    expect(asked).toBeGreaterThan(20);
    // The registry moved the DS to the new CSK at both parents, and the rollover ended by itself after that.
    expect(registry.updates.map((u) => u.ds.length)).toEqual([1, 1]);
    expect(registry.updates[0]!.ds[0]!.startsWith(`${newCsk} `)).toBe(true);
    const ended = dane
      .logs()
      .split('\n')
      .filter((l) => l.includes('"event":"parent-ds-published"') && l.includes(`"zone":"${CSK_ZONE}"`))
      .map((l) => JSON.parse(l) as { time: string; key: number });
    expect(ended.map((e) => e.key)).toEqual([newCsk]);
    expect(Date.parse(ended[0]!.time)).toBeGreaterThanOrEqual(registry.updates[1]!.at - 1000);
    expect(await zoneSigner(CSK_ZONE)).toBe(newCsk);
    expect(await ask(CSK_ZONE)).toEqual([]);
  }, 150_000);

  it('the chain starts at the fake root: a wrong DS for example. there makes the children bogus', async () => {
    const good = dsRdatas(await parents.anchors());
    try {
      await root.setDs('example.', ['4711 13 2 ' + 'AB'.repeat(32)]);
      await unbound.flush();
      const a = await query(resolver, ZSK_ZONE, 'MX', { dnssec: true, rd: true });
      expect(a.rcode).toBe('SERVFAIL');
    } finally {
      await root.setDs('example.', good);
      await unbound.flush();
    }
    expect(await ask(ZSK_ZONE)).toEqual([]);
  }, 60_000);
});
