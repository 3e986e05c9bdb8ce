/**
 * src/check/chain.ts without a network: the system resolver read from a resolv.conf (first usable nameserver,
 * IPv6 zone index dropped, and a line saying why when there is none), the served DNSKEYs against key files, and
 * the next rollover by key lifetime.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFileFindings, lifetimeFindings, systemResolver } from '../../src/check/chain.js';
import { writeKeyFiles } from '../../src/dnssec/keyfile.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { parseName } from '../../src/wire/name.js';
import { DNSSEC_DEFAULTS, type DnssecSettings } from '../../src/zone/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('systemResolver', () => {
  it('the first nameserver that is an address, port 53; a zone index is dropped', () => {
    const p = join(dir, 'resolv.conf');
    writeFileSync(
      p,
      '# comment\nsearch example\nnameserver not-an-address\nnameserver fe80::1%eth0\nnameserver 192.0.2.1\n',
    );
    expect(systemResolver(p)).toEqual({ host: 'fe80::1', port: 53 });
  });

  it('no nameserver, or no file: the reason, as a string', () => {
    const p = join(dir, 'empty.conf');
    writeFileSync(p, 'search example\n');
    expect(systemResolver(p)).toBe(`no nameserver in ${p}`);
    expect(systemResolver(join(dir, 'missing.conf'))).toBe(`cannot read ${join(dir, 'missing.conf')} (ENOENT)`);
  });
});

describe('keyFileFindings', () => {
  const zone = parseName('chain.example.');
  const now = Date.now();
  const ksk = generateKey(zone, 'ksk', new Date(now - 1000));
  const zsk = generateKey(zone, 'zsk', new Date(now - 1000));
  const keys = join(dir, 'keys');
  writeKeyFiles(keys, ksk);
  writeKeyFiles(keys, zsk);

  it('served keys that are the key files: one ok line', () => {
    const f = keyFileFindings(zone, [ksk.dnskeyRdata, zsk.dnskeyRdata], keys, now);
    expect(f).toEqual([
      { level: 'ok', what: 'chain.example. DNSKEY', detail: `the 2 served keys are those of ${keys}` },
    ]);
  });

  it('a served key without a file fails by its tag; an active key file not served warns', () => {
    const stranger = generateKey(zone, 'ksk', new Date(now));
    const f = keyFileFindings(zone, [stranger.dnskeyRdata, zsk.dnskeyRdata], keys, now);
    expect(f).toContainEqual({
      level: 'fail',
      what: 'chain.example. DNSKEY',
      detail: `served key tag ${stranger.tag} is not in ${keys}`,
    });
    expect(f).toContainEqual({
      level: 'warn',
      what: 'chain.example. DNSKEY',
      detail: `key tag ${ksk.tag} of ${keys} is active but not served: is the server running with these keys?`,
    });
    expect(f.some((x) => x.level === 'ok')).toBe(false);
  });

  it('no key files of the zone: one warning, nothing compared', () => {
    const f = keyFileFindings(parseName('other.example.'), [ksk.dnskeyRdata], keys, now);
    expect(f).toHaveLength(1);
    expect(f[0]!.level).toBe('warn');
    expect(f[0]!.detail).toMatch(/^no key files of the zone in /);
  });
});

describe('lifetimeFindings', () => {
  const zone = parseName('life.example.');
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const keys = join(dir, 'life-keys');
  const ksk = generateKey(zone, 'ksk', new Date(now - 10 * 86400_000));
  const zsk = generateKey(zone, 'zsk', new Date(now - 10 * 86400_000));
  writeKeyFiles(keys, ksk);
  writeKeyFiles(keys, zsk);
  const settings = (life: { zskLifetime?: number; kskLifetime?: number }): DnssecSettings => ({
    ...DNSSEC_DEFAULTS,
    ...life,
  });

  it('the next rollover by lifetime, counted from the Activate time', () => {
    expect(lifetimeFindings(zone, settings({ zskLifetime: 30 * 86400 }), keys, now)).toEqual([
      {
        level: 'ok',
        what: 'life.example. key lifetime',
        detail: 'next rollover by lifetime at 2026-12-13T12:00:00Z (a key event)',
      },
    ]);
  });

  it('a lifetime already over warns (the server would have started the rollover)', () => {
    expect(lifetimeFindings(zone, settings({ zskLifetime: 30 * 86400, kskLifetime: 5 * 86400 }), keys, now)).toEqual([
      {
        level: 'warn',
        what: 'life.example. key lifetime',
        detail: `the lifetime of KSK ${ksk.tag} ended at 2026-11-18T12:00:00Z: is the server running? It starts the rollover then`,
      },
      {
        level: 'ok',
        what: 'life.example. key lifetime',
        detail: 'next rollover by lifetime at 2026-12-13T12:00:00Z (a key event)',
      },
    ]);
  });

  it('nothing for a zone without lifetimes', () => {
    expect(lifetimeFindings(zone, settings({}), keys, now)).toEqual([]);
  });
});
