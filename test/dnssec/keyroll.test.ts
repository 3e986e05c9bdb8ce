/**
 * Key rollovers against a model of resolver caches (RFC 7583 §3). An injected clock moves through a ZSK, a KSK
 * and a CSK rollover in one-minute steps; the zone is re-signed exactly when the server would (at `nextDue`,
 * and when the keys directory changes); the parent's DS is replaced when the command says it may be. At every
 * step, every combination a cache could hold is checked:
 *   - a DS set cached within the parent's DS TTL with a DNSKEY RRset cached within its TTL: one of the DNSKEY
 *     RRset's signatures is by a key in it whose DS is in the DS set;
 *   - a DNSKEY RRset with any RRset's signatures cached within that RRset's TTL: one of them is by a key in it.
 * A naive rollover (new key used at once, old key dropped at once) breaks both, which shows the model can fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneSigner } from '../../src/server/signer.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { createLogger } from '../../src/log.js';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { keyTag } from '../../src/dnssec/keys.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { loadZoneKeys, rewriteKeyTiming, writeKeyFiles } from '../../src/dnssec/keyfile.js';
import { dsPublished, startRollover } from '../../src/dnssec/keyroll.js';
import { rolloverTtls, type SignedZone } from '../../src/dnssec/zonesign.js';
import type { RolloverKind } from '../../src/dnssec/lifecycle.js';
import { T } from '../../src/wire/types.js';

const root = mkdtempSync(join(tmpdir(), 'dane-ns-rollover-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const STEP = 60; // seconds
const MARGIN = 600;
const DS_TTL = 7200;

function zoneFile(dir: string, csk: boolean): string {
  const file = join(dir, 'roll.example.yaml');
  writeFileSync(
    file,
    [
      'origin: roll.example.',
      'ttl: 3600',
      'soa: { mname: ns1, rname: hostmaster@roll.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }',
      ...(csk ? ['dnssec: { keys: csk }'] : []),
      'records:',
      '  "@": { NS: ns1, MX: "10 mail" }',
      '  ns1: { A: 192.0.2.53 }',
      '  mail: { A: { ttl: 300, values: [192.0.2.25] } }',
      '  long: { TXT: { ttl: 86400, values: [cached for a day] } }',
      '',
    ].join('\n'),
  );
  return file;
}

/** One version of what was served, from `start` (seconds) until the next version. */
interface Segment<T> {
  start: number;
  value: T;
}
interface DnskeyView {
  keys: Set<number>;
  signers: Set<number>;
}

class History<T> {
  readonly segments: Segment<T>[] = [];
  constructor(private readonly same: (a: T, b: T) => boolean) {}
  record(t: number, value: T): void {
    const last = this.segments.at(-1);
    if (!last || !this.same(last.value, value)) this.segments.push({ start: t, value });
  }
  /** Every version a cache may hold at `t` when it caches for `ttl` seconds: served at some time in (t - ttl, t]. */
  cached(t: number, ttl: number): T[] {
    const out: T[] = [];
    this.segments.forEach((s, i) => {
      const end = this.segments[i + 1]?.start ?? Infinity; // served during [start, end)
      if (s.start <= t && end > t - ttl + 1) out.push(s.value);
    });
    return out;
  }
}

const sameSet = (a: Set<number>, b: Set<number>): boolean => a.size === b.size && [...a].every((x) => b.has(x));

interface RunResult {
  violations: string[];
  first: DnskeyView;
  last: DnskeyView;
  lastZoneSigner: Set<number>;
  firstZoneSigner: Set<number>;
  rebuilds: number;
  /** When (seconds) the zone was first signed by a key other than the first zone signer. */
  switchedAt: number | undefined;
  plannedSwitch: number | undefined;
  log: string[];
}

/** Runs a rollover of `kind` through simulated time; `naive` swaps the ZSK at once instead. */
function run(kind: RolloverKind, naive = false): RunResult {
  const dir = mkdtempSync(join(root, `${kind}-`));
  const keysDir = join(dir, 'keys');
  const stateDir = join(dir, 'state');
  const zone = loadZoneFile(zoneFile(dir, kind === 'csk'));
  const log: string[] = [];
  let nowMs = T0;
  const signer = new ZoneSigner(keysDir, stateDir, createLogger({ write: (l) => log.push(l) }), () => nowMs);
  const ttls = rolloverTtls(zone);
  const timing = { ...ttls, margin: MARGIN, dsTtl: DS_TTL };

  const dnskeys = new History<DnskeyView>((a, b) => sameSet(a.keys, b.keys) && sameSet(a.signers, b.signers));
  const sigs = new Map<string, { ttl: number; h: History<Set<number>> }>();
  const ds = new History<Set<number>>(sameSet);
  const violations: string[] = [];

  let current = signer.secure([zone]);
  let keysDirty = false;
  let rebuilds = 1;
  const sec = (): number => Math.floor(nowMs / 1000);
  const view = (): SignedZone => [...current.security.values()][0] as SignedZone;

  const observe = (): void => {
    const s = view();
    const keys = new Map(s.dnskey.rdatas.map((rd) => [keyTag(rd), rd.subarray(4)]));
    const bySet = new Map<string, Set<number>>();
    for (const rr of s.addedRRsets()) {
      if (rr.type !== T.RRSIG) continue;
      for (const rd of rr.rdatas) {
        const f = parseRrsig(rd);
        const id = `${rr.owner.key}/${f.typeCovered}`;
        if (!bySet.has(id)) bySet.set(id, new Set());
        bySet.get(id)!.add(f.keyTag);
        if (!sigs.has(id)) sigs.set(id, { ttl: rr.ttl, h: new History(sameSet) });
      }
    }
    const signers = bySet.get(`${s.zone.origin.key}/${T.DNSKEY}`)!;
    dnskeys.record(sec(), { keys: new Set(keys.keys()), signers });
    for (const [id, tags] of bySet) sigs.get(id)!.h.record(sec(), tags);
    // Every RRSIG over the DNSKEY RRset verifies with the published key it names.
    const sigOverDnskey = s.signatures(s.dnskey, s.dnskey.ttl)!;
    for (const rd of sigOverDnskey.rdatas)
      expect(verifyRRsig(s.dnskey, rd, keys.get(parseRrsig(rd).keyTag)!)).toBe(true);
  };

  const check = (): void => {
    const t = sec();
    const cachedKeys = dnskeys.cached(t, ttls.dnskeyTtl);
    for (const d of ds.cached(t, DS_TTL))
      for (const k of cachedKeys)
        if (![...k.signers].some((tag) => d.has(tag) && k.keys.has(tag)))
          violations.push(
            `${new Date(nowMs).toISOString()}: DS {${[...d]}} validates no signature over DNSKEY {${[...k.keys]}} (signed by ${[...k.signers]})`,
          );
    for (const [id, { ttl, h }] of sigs)
      for (const tags of h.cached(t, ttl))
        for (const k of cachedKeys)
          if (![...tags].some((tag) => k.keys.has(tag)))
            violations.push(
              `${new Date(nowMs).toISOString()}: ${id} signed by ${[...tags]} but cached DNSKEY has {${[...k.keys]}}`,
            );
  };

  observe();
  const first = dnskeys.segments[0]!.value;
  const firstZoneSigner = sigs.get(`${zone.origin.key}/${T.SOA}`)!.h.segments[0]!.value;
  ds.record(sec(), new Set(first.signers));

  let dsFrom: number | undefined;
  let createdTag: number | undefined;
  let plannedSwitch: number | undefined;
  let switchedAt: number | undefined;
  const startAt = T0 + 3600_000;
  const end = T0 + 3 * 86400_000;
  for (; nowMs <= end; nowMs += STEP * 1000) {
    if (nowMs === startAt) {
      if (naive) {
        const old = loadZoneKeys(keysDir, zone.origin).keys.find((k) => k.flags === 256)!;
        writeKeyFiles(keysDir, generateKey(zone.origin, 'zsk', new Date(nowMs)));
        rewriteKeyTiming(keysDir, { ...old, inactive: new Date(nowMs), delete: new Date(nowMs) });
      } else {
        const r = startRollover({
          zone: zone.origin,
          keysDir,
          stateDir,
          mode: zone.dnssec.keys,
          timing,
          now: new Date(nowMs),
          kind,
        });
        if (!r.ok) throw new Error(r.error);
        expect(r.warnings).toEqual([]);
        dsFrom = r.plan.dsFrom && r.plan.dsFrom.getTime() / 1000;
        createdTag = r.created.tag;
        plannedSwitch = kind === 'ksk' ? undefined : r.created.activate.getTime() / 1000;
      }
      keysDirty = true; // the server's watcher on the keys directory
    }
    if (dsFrom !== undefined && sec() === dsFrom) {
      // The operator replaces the DS at the parent as soon as the command allows, then says so.
      ds.record(sec(), new Set([createdTag!]));
      const r = dsPublished({
        zone: zone.origin,
        keysDir,
        stateDir,
        mode: zone.dnssec.keys,
        timing,
        now: new Date(nowMs),
      });
      if (!r.ok) throw new Error(r.error);
      expect(r.warnings).toEqual([]);
      keysDirty = true;
    }
    // The server's timer fires at nextDue (at the step granularity), and the watcher right after a key write.
    if (keysDirty || sec() >= current.nextDue) {
      if (keysDirty) signer.keysChanged();
      keysDirty = false;
      current = signer.secure([zone]);
      rebuilds++;
      observe(); // what is served changes only here
    }
    const soaSigner = sigs.get(`${zone.origin.key}/${T.SOA}`)!.h.segments.at(-1)!.value;
    if (switchedAt === undefined && !sameSet(soaSigner, firstZoneSigner)) switchedAt = sec();
    check();
  }
  return {
    violations,
    first,
    last: dnskeys.segments.at(-1)!.value,
    firstZoneSigner,
    lastZoneSigner: sigs.get(`${zone.origin.key}/${T.SOA}`)!.h.segments.at(-1)!.value,
    rebuilds,
    switchedAt,
    plannedSwitch,
    log,
  };
}

describe('key rollovers against cached DS, DNSKEY and RRSIG sets', () => {
  it('ZSK pre-publish: no cache ever lacks a key, the switch happens on time, and the old ZSK leaves', () => {
    const r = run('zsk');
    expect(r.violations).toEqual([]);
    // Started with a KSK and a ZSK; ends with the same KSK and only the new ZSK.
    expect(r.first.keys.size).toBe(2);
    expect(r.last.keys.size).toBe(2);
    expect(sameSet(r.last.signers, r.first.signers)).toBe(true);
    expect(sameSet(r.lastZoneSigner, r.firstZoneSigner)).toBe(false);
    expect(r.last.keys.has([...r.lastZoneSigner][0]!)).toBe(true);
    // The zone switched to the new ZSK within a step of its planned time (the refresh timer follows key events).
    expect(r.switchedAt).toBeGreaterThanOrEqual(r.plannedSwitch!);
    expect(r.switchedAt! - r.plannedSwitch!).toBeLessThan(STEP);
    // Re-signing happened at events, not at every step.
    expect(r.rebuilds).toBeLessThan(20);
    expect(r.log.some((l) => l.includes('"zone-keys-changed"'))).toBe(true);
  });

  it('KSK double-KSK: both KSKs sign the DNSKEY RRset until the old DS is gone from caches', () => {
    const r = run('ksk');
    expect(r.violations).toEqual([]);
    expect(r.first.signers.size).toBe(1);
    expect(r.last.signers.size).toBe(1);
    expect(sameSet(r.last.signers, r.first.signers)).toBe(false);
    expect(r.last.keys.size).toBe(2);
    // The ZSK did not change.
    expect(sameSet(r.lastZoneSigner, r.firstZoneSigner)).toBe(true);
  });

  it('CSK: the new key signs after its pre-publication, the old one until the DS is replaced', () => {
    const r = run('csk');
    expect(r.violations).toEqual([]);
    expect(r.first.keys.size).toBe(1);
    expect(r.last.keys.size).toBe(1);
    expect(sameSet(r.last.keys, r.first.keys)).toBe(false);
    expect(sameSet(r.lastZoneSigner, r.last.signers)).toBe(true);
    expect(r.switchedAt! - r.plannedSwitch!).toBeLessThan(STEP);
  });

  it('a naive ZSK swap (new key used at once, old one dropped at once) is caught by the same model', () => {
    const r = run('zsk', true);
    expect(r.violations.length).toBeGreaterThan(0);
    expect(r.violations[0]).toContain('cached DNSKEY has');
  });
});
