import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { SignedZone } from '../../src/dnssec/zonesign.js';
import type { CertHealth } from '../../src/tlsa/manager.js';
import { Metrics } from '../../src/server/metrics.js';
import { StateFaults } from '../../src/server/state-faults.js';
import type { ZoneSignStatus } from '../../src/server/signer.js';
import { health, scrape, type StatusSources } from '../../src/server/status.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import { parseName } from '../../src/wire/name.js';
import { FakeTime } from './fake-time.js';
import { zoneText } from './zone-text.js';

describe('status: /healthz and /metrics', () => {
  let dir: string;
  let time: FakeTime;
  let status: Map<string, ZoneSignStatus>;
  let expires: number;
  let sources: StatusSources;
  const key = parseName('a.example.').key;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-status-'));
    writeFileSync(join(dir, 'a.yaml'), zoneText('a.example.', 3)); // DNSSEC on (the default)
    const files = new ZoneFiles({ dir, logger: createLogger({ write: () => {} }), autoSerial: () => 1 });
    files.loadAll();
    time = new FakeTime();
    status = new Map([[key, { state: 'signed', signMs: 1500 }]]);
    expires = Math.floor(time.now() / 1000) + 30 * 86400;
    const metrics = new Metrics();
    metrics.setZoneSerial('a.example.', 3);
    sources = {
      files,
      signer: { status, signed: (k) => (k === key ? ({ earliestExpiration: expires } as SignedZone) : undefined) },
      served: () => {
        const zone = files.loaded.get(join(dir, 'a.yaml'))!.plain;
        return new Map([[key, { origin: 'a.example.', serial: 3, zone, signed: undefined, at: 0 }]]);
      },
      certificates: () => [],
      metrics,
      now: time.now,
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('healthy: every zone loads, is signed and fresh', () => {
    expect(health(sources)).toEqual({ ok: true, reasons: [] });
  });

  it('a watched server behind longer than --secondary-lag fails /healthz naming it; its serial and lag are metrics', () => {
    const lagging = [
      { server: '192.0.2.53#53', serial: 2, lagMs: 301_000, behind: true, error: 'no answer within 2000 ms' },
    ];
    const current = [{ server: '192.0.2.54#53', serial: 3, lagMs: 0, behind: false }];
    const watched = { ...sources, secondaries: () => [...lagging, ...current], secondaryLag: 300 };
    expect(health(watched)).toEqual({
      ok: false,
      reasons: [
        'zone a.example.: secondary 192.0.2.53#53 is behind for 301 s (serial 2, serving 3): no answer within 2000 ms',
      ],
    });
    expect(health({ ...watched, secondaryLag: 302 }).ok).toBe(true);
    const text = scrape(watched);
    expect(text).toContain('dane_ns_secondary_serial{zone="a.example.",server="192.0.2.53#53"} 2\n');
    expect(text).toContain('dane_ns_secondary_lag_seconds{zone="a.example.",server="192.0.2.53#53"} 301\n');
    expect(text).toContain('dane_ns_secondary_lag_seconds{zone="a.example.",server="192.0.2.54#53"} 0\n');
    expect(scrape(sources)).not.toContain('dane_ns_secondary_');
  });

  it('a failing state file is a reason and a metric until it clears; the series are one per kind', () => {
    const faults = new StateFaults(createLogger({ write: () => {} }), time);
    const withState = { ...sources, state: faults };
    faults.attempt('tlsa', '/state/tlsa.json', () => {
      throw new Error('ENOSPC: no space left on device, write');
    });
    expect(health(withState)).toEqual({
      ok: false,
      reasons: ['state file /state/tlsa.json (tlsa) fails: ENOSPC: no space left on device, write'],
    });
    const text = scrape(withState);
    expect(text).toContain('dane_ns_state_write_failures_total{file="tlsa"} 1\n');
    expect(text).toContain('dane_ns_state_ok{file="tlsa"} 0\n');
    expect(text).toContain('dane_ns_state_ok{file="serials"} 1\n');
    expect(text.match(/^dane_ns_state_ok\{/gm)).toHaveLength(8);
    faults.clear('/state/tlsa.json');
    expect(health(withState)).toEqual({ ok: true, reasons: [] });
    expect(scrape(withState)).toContain('dane_ns_state_ok{file="tlsa"} 1\n');
    faults.close();
  });

  it('a zone whose keys are missing is not healthy, with the reason', () => {
    status.set(key, { state: 'keys-missing', reason: 'no KSK' });
    expect(health(sources)).toEqual({ ok: false, reasons: ['zone a.example. is not signed: keys-missing (no KSK)'] });
  });

  it('signatures closer to expiry than half the refresh margin are reported', () => {
    expires = Math.floor(time.now() / 1000) + 3 * 86400 - 1; // refresh-before is 7 days
    expect(health(sources).reasons).toEqual(['zone a.example.: signatures expire in 72 h and were not refreshed']);
  });

  it('a failing zone file is reported with its first problem', () => {
    writeFileSync(join(dir, 'a.yaml'), 'records: [broken');
    (sources.files as ZoneFiles).reload();
    const h = health(sources);
    expect(h.ok).toBe(false);
    expect(h.reasons[0]).toMatch(
      /^zone file a\.yaml does not load \(serving its last good version\): \S*a\.yaml:\d+:\d+: YAML: /,
    );
  });

  it('the scrape has the published serial, the expiry from the clock and the signing time', () => {
    time.advance(86400_000);
    const text = scrape(sources);
    expect(text).toContain('dane_ns_zone_serial{zone="a.example."} 3\n');
    expect(text).toContain(`dane_ns_rrsig_expiry_seconds{zone="a.example."} ${29 * 86400}\n`);
    expect(text).toContain('dane_ns_signing_seconds{zone="a.example."} 1.500\n');
  });

  it('a current certificate that is expired or unreadable is a reason; expiring soon or a next file is not', () => {
    const base = { zone: 'a.example.', host: 'mail.a.example.' } as const;
    const certs: CertHealth[] = [
      { ...base, role: 'current', path: '/certs/old.pem', status: 'expired', notAfter: Date.UTC(2026, 0, 1) },
      { ...base, role: 'current', path: '/certs/bad.pem', status: 'unreadable', reason: 'empty file' },
      { ...base, role: 'current', path: '/certs/soon.pem', status: 'expiring', notAfter: Date.UTC(2026, 0, 1) },
      { ...base, role: 'next', path: '/certs/next.pem', status: 'unreadable', reason: 'empty file' },
    ];
    expect(health({ ...sources, certificates: () => certs })).toEqual({
      ok: false,
      reasons: [
        'certificate /certs/old.pem of TLSA host mail.a.example. is expired (not after 2026-01-01T00:00:00.000Z)',
        'certificate /certs/bad.pem of TLSA host mail.a.example. is unreadable: empty file',
      ],
    });
  });
});
