/**
 * Tests for src/server/key-lifetime.ts through the ZoneSigner that calls it, with an injected clock: the end of
 * a key's lifetime is the zone's next key event (what `status` shows and the refresh timer wakes for), a
 * rollover starts then as `keys rollover` would (the same key files), a restart in the middle starts no second
 * one, and a zone without lifetimes is never rolled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneSigner } from '../../src/server/signer.js';
import { rollByLifetime } from '../../src/server/key-lifetime.js';
import { loadZoneKeys, rewriteKeyTiming } from '../../src/dnssec/keyfile.js';
import { keyState } from '../../src/dnssec/lifecycle.js';
import { createLogger } from '../../src/log.js';
import { loadZoneFile } from '../../src/zone/files.js';
import type { SignedZone } from '../../src/dnssec/zonesign.js';
import type { Zone } from '../../src/zone/zone.js';

const root = mkdtempSync(join(tmpdir(), 'dane-ns-key-lifetime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const D = 86400;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function setup(name: string, dnssec: string): { zone: Zone; keysDir: string; stateDir: string } {
  const dir = join(root, name);
  const file = join(root, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'origin: example.com.',
      'ttl: 3600',
      'soa: { mname: ns1, rname: hostmaster, serial: 1 }',
      'dnssec:',
      '  margin: 1h',
      dnssec,
      'records:',
      '  "@": { NS: ns1, MX: "10 mail" }',
      '  ns1: { A: 192.0.2.53 }',
      '',
    ].join('\n'),
  );
  return { zone: loadZoneFile(file), keysDir: join(dir, 'keys'), stateDir: join(dir, 'state') };
}

function signerAt(s: { keysDir: string; stateDir: string }, clock: { ms: number }, events: string[]): ZoneSigner {
  const logger = createLogger({ write: (l) => events.push(l) });
  return new ZoneSigner(s.keysDir, s.stateDir, logger, () => clock.ms);
}

const startedEvents = (events: string[]): { role: string; reason: string; old: number; key: number }[] =>
  events.filter((l) => l.includes('"event":"key-rollover-started"')).map((l) => JSON.parse(l));

/** The roles of the zone's key files in a state at `ms`. */
function keysIn(s: { zone: Zone; keysDir: string }, ms: number, state: string): string[] {
  const { keys } = loadZoneKeys(s.keysDir, s.zone.origin);
  return keys
    .filter((k) => keyState(k, new Date(ms)) === state)
    .map((k) => k.role)
    .sort();
}

describe('rollovers by lifetime in the signer', () => {
  it('the lifetime end is the next key event; the ZSK rollover starts then, once, and a restart starts none', () => {
    const s = setup('zsk', '  zsk-lifetime: 30d');
    const clock = { ms: T0 };
    const events: string[] = [];
    let signer = signerAt(s, clock, events);
    const first = signer.secure([s.zone]);
    // Keys made now: the ZSK is rolled 30 days after its Activate, and the refresh timer wakes by then.
    expect(signer.nextKeyEvent(s.zone.origin.key)).toBe(T0 / 1000 + 30 * D);
    expect(first.nextDue).toBeLessThanOrEqual(T0 / 1000 + 30 * D);
    expect(startedEvents(events)).toEqual([]);

    clock.ms = T0 + 30 * D * 1000 - 1000;
    signer.secure([s.zone]);
    expect(startedEvents(events)).toEqual([]);

    clock.ms = T0 + 30 * D * 1000;
    const rolled = signer.secure([s.zone]);
    const started = startedEvents(events);
    expect(started.map((e) => [e.role, e.reason])).toEqual([['zsk', 'lifetime']]);
    // As `keys rollover` writes it: the new ZSK published now, signing after DNSKEY TTL + margin; served at once.
    expect(keysIn(s, clock.ms, 'published')).toEqual(['zsk']);
    const signed = [...rolled.security.values()][0] as SignedZone;
    expect(signed.keys.published!.map((k) => k.tag)).toContain(started[0]!.key);
    expect(signer.nextKeyEvent(s.zone.origin.key)).toBe(clock.ms / 1000 + 3600 + 3600);

    // A restart in the middle (a new signer over the same key files): no second rollover.
    signer = signerAt(s, clock, events);
    signer.secure([s.zone]);
    clock.ms += 3600_000;
    signer.secure([s.zone]);
    expect(startedEvents(events)).toHaveLength(1);

    // Once the new ZSK signs, its own lifetime is the next rollover, 30 days after its Activate.
    const activate = T0 / 1000 + 30 * D + 7200;
    clock.ms = (activate + 3 * 3600 + 60) * 1000; // the old ZSK is gone too (largest TTL + margin later)
    signer.secure([s.zone]);
    expect(keysIn(s, clock.ms, 'active')).toEqual(['ksk', 'zsk']);
    expect(keysIn(s, clock.ms, 'retired')).toEqual([]);
    expect(keysIn(s, clock.ms, 'removed')).toEqual(['zsk']);
    expect(signer.nextKeyEvent(s.zone.origin.key)).toBe(activate + 30 * D);
    expect(startedEvents(events)).toHaveLength(1);
  });

  it('with keys: csk the CSK follows ksk-lifetime, and its rollover waits for the parent (no second one)', () => {
    const s = setup('csk', '  keys: csk\n  ksk-lifetime: 1w');
    const clock = { ms: T0 };
    const events: string[] = [];
    const signer = signerAt(s, clock, events);
    signer.secure([s.zone]);
    expect(signer.nextKeyEvent(s.zone.origin.key)).toBe(T0 / 1000 + 7 * D);
    clock.ms = T0 + 7 * D * 1000;
    signer.secure([s.zone]);
    expect(startedEvents(events).map((e) => [e.role, e.reason])).toEqual([['csk', 'lifetime']]);
    // Months later, with the parent never having taken the new DS: both CSKs sign the DNSKEY RRset, no new rollover.
    clock.ms = T0 + 90 * D * 1000;
    signer.keysChanged();
    signer.secure([s.zone]);
    expect(startedEvents(events)).toHaveLength(1);
  });

  it('a rollover that cannot start (an Inactive time set by hand) is logged and tried again an hour later', () => {
    const s = setup('refused', '  zsk-lifetime: 30d');
    const clock = { ms: T0 };
    const events: string[] = [];
    const signer = signerAt(s, clock, events);
    signer.secure([s.zone]);
    const zsk = loadZoneKeys(s.keysDir, s.zone.origin).keys.find((k) => k.role === 'zsk')!;
    const due = new Date(T0 + 30 * D * 1000);
    // The ZSK stops signing a minute after its lifetime ends: before a new ZSK could start (TTL + margin).
    rewriteKeyTiming(s.keysDir, {
      ...zsk,
      inactive: new Date(due.getTime() + 60_000),
      delete: new Date(due.getTime() + 86400_000),
    });
    const logger = createLogger({ write: (l) => events.push(l) });
    const r = rollByLifetime(s.zone, { keysDir: s.keysDir, stateDir: s.stateDir, logger }, due);
    expect(r).toEqual({ started: false, next: new Date(due.getTime() + 3600_000) });
    const refused = events.filter((l) => l.includes('"event":"key-rollover-not-started"')).map((l) => JSON.parse(l));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'warn', role: 'zsk', reason: 'lifetime', retry: '2026-12-23T13:00:00Z' });
    expect(refused[0].error).toContain(`ZSK ${zsk.tag} stops signing at`);
    expect(startedEvents(events)).toEqual([]);
  });

  it('a zone without lifetimes (the default) is never rolled and plans no lifetime event', () => {
    const s = setup('none', '  cds: rollover');
    const clock = { ms: T0 };
    const events: string[] = [];
    const signer = signerAt(s, clock, events);
    signer.secure([s.zone]);
    expect(signer.nextKeyEvent(s.zone.origin.key)).toBeUndefined();
    expect(
      rollByLifetime(
        s.zone,
        { keysDir: join(root, 'absent'), stateDir: s.stateDir, logger: createLogger() },
        new Date(T0 + 3650 * D * 1000),
      ),
    ).toEqual({
      started: false,
      next: undefined,
    });
    clock.ms = T0 + 3650 * D * 1000;
    signer.keysChanged();
    signer.secure([s.zone]);
    expect(startedEvents(events)).toEqual([]);
  });
});
