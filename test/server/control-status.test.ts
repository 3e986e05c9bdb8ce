/**
 * What the control socket reports (src/server/control-status.ts), from real zone files and fake signer, served
 * versions and TLSA history: serving / serving last good version / not served with the error, the served serial,
 * the earliest RRSIG expiration and next key event, TLSA records with their roles (a retired one as retiring
 * until its time, an expired one left out), one zone by name, and reload's per-zone result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { SignedZone } from '../../src/dnssec/zonesign.js';
import { controlCommands, zoneStatuses, type ControlSources } from '../../src/server/control-status.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import type { HostRollover } from '../../src/tlsa/rollover.js';
import { parseName } from '../../src/wire/name.js';
import { soaSerial } from '../../src/zone/build.js';
import { zoneText } from './zone-text.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const sec = (iso: string): number => Date.parse(iso) / 1000;

describe('control-status', () => {
  let dir: string;
  let files: ZoneFiles;
  let sources: ControlSources;
  let reloads: number;
  const a = parseName('a.example.').key;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-control-status-'));
    writeFileSync(join(dir, 'a.example.yaml'), zoneText('a.example.', 3));
    writeFileSync(join(dir, 'b.example.yaml'), zoneText('b.example.', 9));
    files = new ZoneFiles({ dir, logger: createLogger({ write: () => {} }), autoSerial: () => 1 });
    files.loadAll();
    reloads = 0;
    const rollover: HostRollover = {
      ttl: 300,
      records: [
        { rdata: '3 1 1 AA', roles: ['current'], since: 0 },
        { rdata: '3 1 1 BB', roles: ['next', 'issuer'], since: 0 },
        {
          rdata: '3 1 1 CC',
          roles: [],
          since: 0,
          retiredAt: sec('2026-11-30T00:00:00Z'),
          until: sec('2026-12-02T00:00:00Z'),
        },
        { rdata: '3 1 1 DD', roles: [], since: 0, retiredAt: 0, until: sec('2026-11-30T00:00:00Z') },
      ],
    };
    sources = {
      files,
      signer: {
        signed: (k) => (k === a ? ({ earliestExpiration: sec('2026-12-14T00:00:00Z') } as SignedZone) : undefined),
        nextKeyEvent: (k) => (k === a ? sec('2026-12-05T12:00:00Z') : undefined),
      },
      served: () => {
        const m = new Map<string, ZoneVersion>();
        for (const lf of files.loaded.values()) {
          const z = lf.plain;
          m.set(z.origin.key, {
            origin: '',
            serial: z.origin.key === a ? 2026120101 : 9,
            zone: z,
            signed: z.origin.key === a ? ({} as ZoneVersion['signed']) : undefined,
            at: 0,
          });
        }
        return m;
      },
      certificates: () => [
        { zone: 'a.example.', host: 'mail.a.example.', role: 'current', path: '/c', status: 'ok' },
        { zone: 'a.example.', host: 'mail.a.example.', role: 'next', path: '/n', status: 'ok' },
      ],
      tlsaState: (zone, host) => (zone === 'a.example.' && host === 'mail.a.example.' ? rollover : undefined),
      reload: (only) => {
        reloads++;
        files.reload(only);
      },
      now: () => NOW,
      startedAt: NOW - 90_000,
      version: '9.9.9',
      listen: ['127.0.0.1:5353'],
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each zone: state, serial, signatures, next key event and TLSA roles', () => {
    expect(zoneStatuses(sources)).toEqual([
      {
        zone: 'a.example.',
        file: 'a.example.yaml',
        state: 'serving',
        serial: 2026120101,
        signaturesExpire: '2026-12-14T00:00:00.000Z',
        nextKeyEvent: '2026-12-05T12:00:00.000Z',
        tlsa: [
          {
            host: 'mail.a.example.',
            records: [
              { rdata: '3 1 1 AA', role: 'current' },
              { rdata: '3 1 1 BB', role: 'next+issuer' },
              { rdata: '3 1 1 CC', role: 'retiring', until: '2026-12-02T00:00:00.000Z' },
            ],
          },
        ],
      },
      { zone: 'b.example.', file: 'b.example.yaml', state: 'serving', serial: 9, tlsa: [] },
    ]);
  });

  it('watched servers with serial and lag; a next record ready or not as the TLSA timing says', () => {
    const watched = {
      ...sources,
      secondaries: (zone: string) =>
        zone === 'a.example.'
          ? [
              { server: '192.0.2.53#53', serial: 2026120101, lagMs: 0, behind: false },
              { server: '192.0.2.54#53', lagMs: 12_500, behind: true, error: 'no answer within 2000 ms' },
            ]
          : [],
    };
    const ready = zoneStatuses({ ...watched, tlsaReadyAt: () => sec('2026-11-30T00:00:00Z') })[0]!;
    expect(ready.secondaries).toEqual([
      { server: '192.0.2.53#53', serial: 2026120101, lagSeconds: 0 },
      { server: '192.0.2.54#53', lagSeconds: 12, error: 'no answer within 2000 ms' },
    ]);
    expect(ready.tlsaNext).toEqual([
      { host: 'mail.a.example.', rdata: '3 1 1 BB', readyAt: '2026-11-30T00:00:00.000Z', ready: true },
    ]);
    expect(ready.tlsa[0]!.records[1]).toEqual({ rdata: '3 1 1 BB', role: 'next+issuer' });
    const lacking = zoneStatuses({ ...watched, tlsaReadyAt: () => Infinity })[0]!;
    expect(lacking.tlsaNext).toEqual([{ host: 'mail.a.example.', rdata: '3 1 1 BB', ready: false }]);
    expect(zoneStatuses(watched)[1]!.secondaries).toBeUndefined();
  });

  it('rollover steps that wait for watched servers, for the zone that has them only', () => {
    const wait = {
      key: 4242,
      role: 'ZSK',
      step: 'sign',
      at: '2026-12-01T00:10:00Z',
      servers: ['192.0.2.54#53'],
    } as const;
    const st = zoneStatuses({ ...sources, keyStepWaits: (zone) => (zone === 'a.example.' ? [wait] : []) });
    expect(st[0]!.keyStepWaits).toEqual([wait]);
    expect(st[1]!.keyStepWaits).toBeUndefined();
    expect(zoneStatuses(sources)[0]!.keyStepWaits).toBeUndefined();
  });

  it('a file that fails: serving last good version with the error; one that never loaded: not served', () => {
    writeFileSync(join(dir, 'b.example.yaml'), 'origin: [oops\n');
    writeFileSync(join(dir, 'c.example.yaml'), 'soa: {\n');
    files.reload();
    const [, b, c] = zoneStatuses(sources);
    expect(b).toMatchObject({ zone: 'b.example.', state: 'serving last good version', serial: 9 });
    expect(b!.error).toMatch(/b\.example\.yaml:1/);
    expect(c).toMatchObject({ zone: 'c.example.', file: 'c.example.yaml', state: 'not served' });
    expect(c!.error).toMatch(/c\.example\.yaml:\d+/);
    expect(c!.serial).toBeUndefined();
  });

  it('status of one zone (any case, with or without the dot), the server fields, an unknown zone an error', () => {
    const c = controlCommands(sources);
    const st = c.status('A.Example');
    expect(st).toMatchObject({
      version: '9.9.9',
      pid: process.pid,
      uptimeSeconds: 90,
      startedAt: new Date(NOW - 90_000).toISOString(),
      listen: ['127.0.0.1:5353'],
    });
    expect((st.zones as { zone: string }[]).map((z) => z.zone)).toEqual(['a.example.']);
    expect(() => c.status('nope.example')).toThrow('no zone nope.example in the zones directory');
    expect(c.zones()).toEqual({
      zones: [
        { zone: 'a.example.', file: 'a.example.yaml', state: 'serving', serial: 2026120101 },
        { zone: 'b.example.', file: 'b.example.yaml', state: 'serving', serial: 9 },
      ],
    });
  });

  it('reload reloads, then reports each zone; with one zone named, only its file is read', () => {
    const c = controlCommands(sources);
    writeFileSync(join(dir, 'b.example.yaml'), 'origin: [oops\n');
    const all = c.reload(undefined);
    expect(reloads).toBe(1);
    expect(all.note).toBeUndefined();
    expect(all.zones).toEqual([
      { zone: 'a.example.', file: 'a.example.yaml', state: 'serving', serial: 2026120101 },
      expect.objectContaining({ zone: 'b.example.', state: 'serving last good version', serial: 9 }),
    ]);
    const one = c.reload('b.example.');
    expect(reloads).toBe(2);
    expect(one.zones).toHaveLength(1);
    expect(one.note).toBeUndefined();
  });

  it("reload ZONE re-reads that zone's file only: another broken file is neither read nor reported", () => {
    const c = controlCommands(sources);
    writeFileSync(join(dir, 'a.example.yaml'), zoneText('a.example.', 4, '192.0.2.4'));
    writeFileSync(join(dir, 'b.example.yaml'), 'origin: [oops\n');
    const one = c.reload('A.Example');
    expect(one).toEqual({
      zones: [expect.objectContaining({ zone: 'a.example.', file: 'a.example.yaml', state: 'serving' })],
    });
    expect(soaSerial(files.loaded.get(join(dir, 'a.example.yaml'))!.plain.soa.rdatas[0]!)).toBe(4);
    // b.example.yaml was not read: not failing, its zone as loaded at start.
    expect(files.failing.size).toBe(0);
    expect(zoneStatuses(sources).find((z) => z.zone === 'b.example.')?.state).toBe('serving');
    const b = c.reload('b.example.');
    expect(b.zones).toEqual([expect.objectContaining({ zone: 'b.example.', state: 'serving last good version' })]);
    expect(files.failing.size).toBe(1);
  });

  it('reload of a zone no file is known for yet reads the whole directory, and says so', () => {
    const c = controlCommands(sources);
    writeFileSync(join(dir, 'c.example.yaml'), zoneText('c.example.', 7));
    const r = c.reload('c.example.');
    expect(r.zones).toEqual([expect.objectContaining({ zone: 'c.example.', file: 'c.example.yaml' })]);
    expect(r.note).toBe('no file served this zone: the whole directory was read');
    expect(() => c.reload('nope.example.')).toThrow('no zone nope.example. in the zones directory');
  });
});
