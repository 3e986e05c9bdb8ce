/**
 * CDS/CDNSKEY and the parent's DS, with real peers on loopback: the parent zone `example.` is served and signed by
 * two Knot instances (two parent name servers), a registry stand-in applies the child's CDS/CDNSKEY to the parent
 * zone with BIND's `dnssec-cds` and reloads each Knot (the second one seconds later, so it serves the old DS
 * longer; both in helpers/parents.ts), above them a fake root holding the parent's DS (helpers/fakeroot.ts), and a
 * validating Unbound anchored at the fake root's key asks through the slower parent. TTLs of 2 s and a margin of 1 s keep a whole KSK rollover under a minute.
 *   - An automatic KSK rollover from `keys rollover --ksk` to the old key's removal with no further step: every
 *     answer (MX, TLSA, NXDOMAIN) secure throughout; the CDS served equals what `dane-ns ds` prints for the new
 *     key; the rollover ends only after the second parent serves the new DS too.
 *   - A DS for an unknown key planted at the parent: `parent-ds-mismatch` (error), the metric and /healthz 503
 *     within one check.
 *   - Going insecure (`dnssec: { enabled: false }`): the zone stays signed with the RFC 8078 delete records until
 *     both parents have dropped the DS and its TTL has passed, then is served unsigned; no answer fails meanwhile.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { delay } from '../support/time.js';

const run = promisify(execFile);
const CHILD = 'cds.example.';
const TLSA = '3 1 1 8CB0FC6C527506A053F4F14C8464BEBBD6DEDE2738D11468DD953D7D6A3021F1';

const childZone = (parentPort: number, parentPort2: number): string =>
  [
    `origin: ${CHILD}`,
    'ttl: 2',
    'soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 2 }',
    'dnssec:',
    `  parent: [127.0.0.1@${parentPort}, 127.0.0.1@${parentPort2}]`,
    '  parent-check: 2s',
    '  margin: 1s',
    'records:',
    '  "@": { NS: ns1, MX: "10 mail" }',
    '  ns1: { A: 127.0.0.1 }',
    '  mail: { A: 192.0.2.25 }',
    `  _25._tcp.mail: { TLSA: "${TLSA}" }`,
    '',
  ].join('\n');

let dir: string;
let dane: DaneNsInstance;
let httpPort: number;
let parents: Parents;
let root: FakeRoot;
let unbound: UnboundInstance;
let resolver: Server;

/** `dane-ns ds CHILD`: the DS lines of the current KSKs. */
async function danesDs(): Promise<string[]> {
  const { stdout } = await run(process.execPath, [CLI, 'ds', CHILD, '--keys', dane.keysDir]);
  return stdout.trim().split('\n');
}
const rdataOf = (dsLine: string): string => dsLine.split(/\s+/).slice(4).join(' ');

/** The registry stand-in (helpers/parents.ts) following the child's CDS, the second parent `lateMs` late. */
const registry = (initial: readonly string[], lateMs: number): Registry =>
  parents.registry(CHILD, { host: '127.0.0.1', port: dane.port }, initial, lateMs, dir);

const secure = (a: Answer): boolean => a.flags.includes('ad');

/** One round of questions through Unbound; a line per answer that is not secure or has the wrong rcode. */
async function ask(): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, type, rcode] of [
    [CHILD, 'MX', 'NOERROR'],
    [`_25._tcp.mail.${CHILD}`, 'TLSA', 'NOERROR'],
    [`nope.${CHILD}`, 'A', 'NXDOMAIN'],
  ] as const) {
    const a = await query(resolver, name, type, { dnssec: true, rd: true });
    if (a.rcode !== rcode || !secure(a)) problems.push(`${name}/${type}: ${a.rcode} ${a.flags.join(' ')}`);
  }
  return problems;
}

async function dnskeyTags(): Promise<number[]> {
  const a = await query({ host: '127.0.0.1', port: dane.port }, CHILD, 'DNSKEY', { dnssec: true });
  return a.answer
    .filter((l) => / RRSIG DNSKEY /.test(l))
    .map((l) => Number(l.split(/\s+/)[10]))
    .sort((x, y) => x - y);
}

beforeAll(async () => {
  for (const t of ['unbound', 'kdig', 'knotd', 'knotc', 'keymgr', 'dnssec-cds']) requireTool(t);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-cds-'));
  const zones = join(dir, 'zones');
  mkdirSync(zones);
  const keysDir = join(dir, 'keys');
  const stateDir = join(dir, 'state');
  // The child's keys first, so that the parent can hold their DS before the child is served.
  await run(process.execPath, [CLI, 'keys', 'generate', CHILD, '--keys', keysDir, '--state', stateDir]);
  const initial = (await run(process.execPath, [CLI, 'ds', CHILD, '--keys', keysDir])).stdout.trim().split('\n');
  parents = await startParents(dir, { [CHILD]: initial.map(rdataOf) });
  const ports = parents.ports;
  writeFileSync(join(zones, `${CHILD}yaml`), childZone(ports[0]!, ports[1]!));
  httpPort = await freePort();
  dane = await startDaneNs({
    zonesDir: zones,
    port: await freePort(),
    keysDir,
    stateDir,
    extraArgs: ['--http', `127.0.0.1:${httpPort}`],
  });
  // Above the parents a fake root holding their DS: Unbound is anchored at the root, as a real resolver is.
  root = await startFakeRoot(dir, { 'example.': dsRdatas(await parents.anchors()) });
  const port = await freePort();
  // Asked through the parent that follows the registry late: it serves the old DS longest.
  unbound = await startUnbound({
    port,
    stubs: [
      root.stub,
      { zone: 'example.', addr: `127.0.0.1@${ports[1]}` },
      { zone: CHILD, addr: `127.0.0.1@${dane.port}` },
    ],
    trustAnchors: await root.anchors(),
  });
  resolver = { host: '127.0.0.1', port };
}, 90_000);

afterAll(async () => {
  await unbound?.stop();
  await dane?.stop();
  await parents?.stop();
  await root?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('CDS/CDNSKEY and the parent DS check', () => {
  it('an automatic KSK rollover: secure throughout, CDS = dane-ns ds, ends after both parents serve the new DS', async () => {
    expect(await ask()).toEqual([]);
    const oldDs = await danesDs();
    expect(oldDs).toHaveLength(1);
    const oldTag = Number(oldDs[0]!.split(/\s+/)[4]);
    // No rollover: no CDS (dnssec.cds: rollover).
    const none = await query({ host: '127.0.0.1', port: dane.port }, CHILD, 'CDS', { dnssec: true });
    expect(none.answer).toEqual([]);

    const reg = registry(oldDs.map(rdataOf), 5000);
    const out = await run(process.execPath, [
      CLI,
      'keys',
      'rollover',
      CHILD,
      '--ksk',
      '--zones',
      join(dir, 'zones'),
      '--keys',
      dane.keysDir,
      '--state',
      dane.stateDir,
    ]);
    const newDs = out.stdout.split('\n').find((l) => / IN DS /.test(l))!;
    const newTag = Number(newDs.split(/\s+/)[4]);

    const problems: string[] = [];
    let asked = 0;
    let cdsSeen: string[] | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      problems.push(...(await ask()));
      asked++;
      if (!cdsSeen) {
        const c = await query({ host: '127.0.0.1', port: dane.port }, CHILD, 'CDS', { dnssec: true });
        const lines = c.answer.filter((l) => l.split(/\s+/)[3] === 'CDS');
        if (lines.length > 0) cdsSeen = lines.map((l) => l.split(/\s+/).slice(4).join(' ').toUpperCase());
      }
      if ((await dnskeyTags()).join() === String(newTag)) break;
      await delay(200);
    }
    await reg.stop();
    expect(problems, dane.logs().slice(-3000)).toEqual([]);
    expect(asked).toBeGreaterThan(20);
    // What the registry got is what `dane-ns ds` printed for the new key.
    expect(cdsSeen).toEqual([rdataOf(newDs).toUpperCase()]);
    expect(await dnskeyTags()).toEqual([newTag]);
    expect(reg.updates.map((u) => u.ds)).toEqual([[rdataOf(newDs).toUpperCase()], [rdataOf(newDs).toUpperCase()]]);
    const ended = dane
      .logs()
      .split('\n')
      .filter((l) => l.includes('"event":"parent-ds-published"'))
      .map((l) => JSON.parse(l) as { time: string; key: number; retiring: { key: number }[] });
    expect(ended).toHaveLength(1);
    expect(ended[0]!.key).toBe(newTag);
    expect(ended[0]!.retiring.map((r) => r.key)).toEqual([oldTag]);
    // The second parent served the new DS only 5 s after the first: the rollover waited for it.
    expect(Date.parse(ended[0]!.time)).toBeGreaterThanOrEqual(reg.updates[1]!.at - 1000);
    // After the rollover: no CDS any more, and what was seen is kept in the state directory.
    const after = await query({ host: '127.0.0.1', port: dane.port }, CHILD, 'CDS', { dnssec: true });
    expect(after.answer).toEqual([]);
    const seen = JSON.parse(readFileSync(join(dane.stateDir, 'parent-ds.json'), 'utf8')) as {
      zones: Record<string, { servers: { ds: string[] }[] }>;
    };
    expect(seen.zones[CHILD]!.servers.map((s) => s.ds.length)).toEqual([1, 1]);
    expect(await ask()).toEqual([]);
  }, 120_000);

  it('a DS for an unknown key at the parent: parent-ds-mismatch, the metric and /healthz 503 within one check', async () => {
    const metric = async (): Promise<string | undefined> =>
      (await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text())
        .split('\n')
        .find((l) => l.startsWith(`dane_ns_parent_ds_mismatch{zone="${CHILD}"}`));
    expect(await metric()).toBe(`dane_ns_parent_ds_mismatch{zone="${CHILD}"} 0`);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const good = (await danesDs()).map(rdataOf);
    const planted = '4711 13 2 ' + 'AB'.repeat(32);
    const mismatches = (): string[] =>
      dane
        .logs()
        .split('\n')
        .filter((l) => l.includes('"event":"parent-ds-mismatch"'));
    expect(mismatches()).toEqual([]);
    await parents.publish(0, CHILD, [...good, planted]);
    const t0 = Date.now();
    // parent-check is 2 s: one check later (plus its answer), the error is out.
    while (Date.now() < t0 + 4000 && mismatches().length === 0) await delay(100);
    const line = mismatches()[0];
    expect(line, dane.logs().slice(-2000)).toBeDefined();
    const ev = JSON.parse(line!) as { level: string; zone: string; ds: string[] };
    expect(ev).toMatchObject({ level: 'error', zone: CHILD });
    expect(ev.ds).toEqual([`127.0.0.1@${parents.knots[0]!.port}: DS 4711 13 2`]);
    expect(await metric()).toBe(`dane_ns_parent_ds_mismatch{zone="${CHILD}"} 1`);
    const h = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(h.status).toBe(503);
    expect(await h.text()).toContain('DS 4711 13 2 matches no published KSK');
    // Taken away again: healthy once more.
    await parents.publish(0, CHILD, good);
    const t1 = Date.now();
    while (Date.now() < t1 + 4000 && (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status !== 200)
      await delay(200);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    expect(await metric()).toBe(`dane_ns_parent_ds_mismatch{zone="${CHILD}"} 0`);
  }, 60_000);

  it('going insecure: delete records while signed, unsigned only after both parents dropped the DS and its TTL', async () => {
    const zoneFile = join(dir, 'zones', `${CHILD}yaml`);
    const reg = registry((await danesDs()).map(rdataOf), 3000);
    writeFileSync(zoneFile, readFileSync(zoneFile, 'utf8').replace('dnssec:\n', 'dnssec:\n  enabled: false\n'));
    const child: Server = { host: '127.0.0.1', port: dane.port };
    const problems: string[] = [];
    const order: string[] = [];
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      const cds = await query(child, CHILD, 'CDS', { dnssec: true });
      const signed = (await query(child, CHILD, 'DNSKEY', { dnssec: true })).answer.length > 0;
      const deleting = cds.answer.some((l) => / CDS 0 0 0 00$/.test(l));
      const phase = signed ? (deleting ? 'signed, delete records' : 'signed') : 'unsigned';
      if (order.at(-1) !== phase) order.push(phase);
      // Secure while the DS is there, insecure after: never a failure.
      for (const [name, type, rcode] of [
        [CHILD, 'MX', 'NOERROR'],
        [`nope.${CHILD}`, 'A', 'NXDOMAIN'],
      ] as const) {
        const a = await query(resolver, name, type, { dnssec: true, rd: true });
        if (a.rcode !== rcode) problems.push(`${name}/${type}: ${a.rcode}`);
      }
      if (phase === 'unsigned') break;
      await delay(200);
    }
    await reg.stop();
    expect(problems, dane.logs().slice(-3000)).toEqual([]);
    expect(
      order.filter((p) => p !== 'signed'),
      JSON.stringify(reg.updates) +
        dane
          .logs()
          .split('\n')
          .filter((l) => /parent-ds|insecure|unsigned/.test(l))
          .join('\n'),
    ).toEqual(['signed, delete records', 'unsigned']);
    const logs = dane.logs();
    expect(logs).toContain('"event":"zone-going-insecure"');
    const gone = logs
      .split('\n')
      .filter((l) => l.includes('"event":"parent-ds-gone"'))
      .map((l) => JSON.parse(l) as { time: string });
    expect(gone).toHaveLength(1);
    // The second parent dropped the DS 3 s after the first: the zone stayed signed until then, and a TTL after.
    expect(Date.parse(gone[0]!.time)).toBeGreaterThanOrEqual(reg.updates.at(-1)!.at - 1000);
    expect(logs).toContain('"event":"zone-unsigned"');
    expect((await query(resolver, CHILD, 'MX', { dnssec: true, rd: true })).flags).not.toContain('ad');
  }, 60_000);
});
