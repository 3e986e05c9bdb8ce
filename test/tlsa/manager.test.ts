import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloverStore } from '../../src/state/rollover.js';
import {
  EXPIRY_WARNING_MS,
  TlsaManager,
  type Propagation,
  type TlsaEntryRef,
  type TlsaEvent,
} from '../../src/tlsa/manager.js';
import type { TlsaEntry } from '../../src/zone/settings.js';
import { rotationWarnings } from '../../src/tlsa/labels.js';
import { makeMaterial, type Material } from './material.js';

let m: Material;
let rec: Record<string, string>;
beforeAll(() => {
  m = makeMaterial();
  rec = Object.fromEntries(Object.entries(m.spki).map(([k, v]) => [k, `3 1 1 ${v}`]));
});
afterAll(() => m.cleanup());

/** One test's world: a directory for the watched files, a state directory, a clock. */
let dir: string;
let stateDir: string;
let clock: number;
const T0 = (): number => m.validity['leaf-ec.crt']!.notBefore + 86400_000;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-mgr-'));
  stateDir = join(dir, 'state');
  clock = T0();
  return () => rmSync(dir, { recursive: true, force: true });
});

const put = (name: string, from: string): string => {
  const p = join(dir, name);
  copyFileSync(m.path(from), p);
  return p;
};
const garbage = (name: string, text = 'not a certificate at all\n'): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const manager = (): TlsaManager => new TlsaManager(new RolloverStore(stateDir), () => clock);
const ref = (
  e: Partial<TlsaEntry> & { cert: string },
  zone = 'example.com.',
  host = 'mail.example.com.',
  ttl = 300,
): TlsaEntryRef => ({
  zone,
  host,
  ttl,
  entry: { host: host.split('.')[0]!, next: undefined, ports: [25], ttl, issuer: false, line: 7, ...e },
});
const names = (events: readonly TlsaEvent[]): string[] => events.map((e) => e.event);
const rdatas = (mgr: TlsaManager, zone = 'example.com.'): readonly string[][] =>
  mgr.setsFor(zone).map((s) => [...s.rdatas]);
const sec = (ms: number): number => Math.floor(ms / 1000);

describe('TlsaManager: publication and rotation', () => {
  it('first reading publishes 3 1 1 and reports the zone changed; an unchanged re-read is quiet', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: put('cert.pem', 'chain-ec.pem') })]);
    const r1 = mgr.refresh();
    expect([...r1.changed]).toEqual(['example.com.']);
    expect(names(r1.events).sort()).toEqual(['certificate-ok', 'tlsa-published']);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
    expect(mgr.setsFor('example.com.')).toEqual([
      { host: 'mail.example.com.', ports: [25], ttl: 300, line: 7, rdatas: [rec.ec] },
    ]);
    expect(mgr.setsFor('other.org.')).toEqual([]);
    clock += 60_000;
    const r2 = mgr.refresh();
    expect(r2.changed.size).toBe(0);
    expect(r2.events).toEqual([]);
  });

  it('rotation: the new record is added, the old one kept until 2 x TTL after the change, then withdrawn', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    mgr.refresh();
    clock += 3600_000;
    const changedAt = clock;
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    const r = mgr.refresh();
    expect([...r.changed]).toEqual(['example.com.']);
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());
    const published = r.events.find((e) => e.event === 'tlsa-published')!;
    expect(published.fields.records).toContainEqual({
      rdata: rec.ec,
      roles: [],
      until: new Date((sec(changedAt) + 600) * 1000).toISOString(),
    });
    expect(mgr.nextWithdrawal()).toBe((sec(changedAt) + 600) * 1000);

    clock = (sec(changedAt) + 599) * 1000;
    const before = mgr.refresh();
    expect(before.changed.size).toBe(0);
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());

    clock = (sec(changedAt) + 600) * 1000;
    const at = mgr.refresh();
    expect(rdatas(mgr)).toEqual([[rec.rsa]]);
    // the withdrawal is a change of the published set: the zone must be rebuilt
    expect([...at.changed]).toEqual(['example.com.']);
    expect(names(at.events)).toEqual(['tlsa-published']);
    clock += 1000;
    expect(mgr.refresh().changed.size).toBe(0);
    expect(mgr.nextWithdrawal()).toBeUndefined();
    expect(mgr.state('example.com.', 'mail.example.com.')!.records.map((x) => x.rdata)).toEqual([rec.rsa]);
  });

  it('the rollover state is in the state directory after each refresh', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt') })]);
    mgr.refresh();
    const doc = JSON.parse(readFileSync(join(stateDir, 'tlsa.json'), 'utf8')) as {
      version: number;
      hosts: Record<string, { ttl: number; records: { rdata: string }[] }>;
    };
    expect(doc.version).toBe(1);
    expect(doc.hosts['example.com.|mail.example.com.']!.ttl).toBe(300);
    expect(doc.hosts['example.com.|mail.example.com.']!.records.map((r) => r.rdata)).toEqual([rec.ec]);
  });

  it('next becoming current keeps its record (no withdrawal), the old current retires', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    const next = put('next.pem', 'next.key');
    mgr.configure([ref({ cert, next })]);
    mgr.refresh();
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.next].sort());
    clock += 86400_000;
    copyFileSync(m.path('chain-int.pem'), cert); // the certificate for next.key
    unlinkSync(next);
    const r = mgr.refresh();
    const st = mgr.state('example.com.', 'mail.example.com.')!;
    expect(st.records.find((x) => x.rdata === rec.next)).toEqual({
      rdata: rec.next,
      roles: ['current'],
      since: sec(T0()),
    });
    expect(st.records.find((x) => x.rdata === rec.ec)!.until).toBe(sec(clock) + 600);
    // published set unchanged (old retained, next already there): nothing to rebuild
    expect(r.changed.size).toBe(0);
    expect(names(r.events)).toContain('tlsa-next-absent');
  });

  it('certificate == next key: one record with both roles', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt'), next: put('next.pem', 'ec.p8') })]);
    mgr.refresh();
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
    expect(mgr.state('example.com.', 'mail.example.com.')!.records[0]!.roles).toEqual(['current', 'next']);
  });

  it('issuer: true adds 2 1 1 for the issuing CA of the chain; without a chain it warns once', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'chain-int.pem');
    mgr.configure([ref({ cert, issuer: true })]);
    mgr.refresh();
    expect(rdatas(mgr)).toEqual([[`2 1 1 ${m.spki.int}`, rec.next]]);
    copyFileSync(m.path('leaf-int.crt'), cert);
    clock += 1000;
    const r = mgr.refresh();
    expect(r.events.filter((e) => e.event === 'tlsa-issuer-missing')).toHaveLength(1);
    expect(r.events.find((e) => e.event === 'tlsa-issuer-missing')!.level).toBe('warn');
    // the 2 1 1 record retires like any other
    expect(
      mgr.state('example.com.', 'mail.example.com.')!.records.find((x) => x.rdata.startsWith('2 1 1'))!.until,
    ).toBe(sec(clock) + 600);
    clock += 1000;
    expect(names(mgr.refresh().events)).not.toContain('tlsa-issuer-missing');
  });

  it('ports and TTL are passed to the zone sets; a TTL change is a change', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert, ports: [25, 465, 587] }, 'example.com.', 'mail.example.com.', 300)]);
    mgr.refresh();
    expect(mgr.setsFor('example.com.')[0]!.ports).toEqual([25, 465, 587]);
    mgr.configure([ref({ cert, ports: [25, 465, 587] }, 'example.com.', 'mail.example.com.', 900)]);
    clock += 1000;
    expect([...mgr.refresh().changed]).toEqual(['example.com.']);
    expect(mgr.setsFor('example.com.')[0]!.ttl).toBe(900);
  });

  it('`changed` holds only the zones whose published set changed', () => {
    const mgr = manager();
    const certA = put('a.pem', 'leaf-ec.crt');
    const certB = put('b.pem', 'leaf-ec.crt');
    mgr.configure([
      ref({ cert: certA }, 'example.com.', 'mail.example.com.'),
      ref({ cert: certB }, 'example.org.', 'mx.example.org.'),
    ]);
    expect([...mgr.refresh().changed].sort()).toEqual(['example.com.', 'example.org.']);
    copyFileSync(m.path('leaf-rsa.crt'), certB);
    clock += 1000;
    expect([...mgr.refresh().changed]).toEqual(['example.org.']);
    clock += 1000;
    expect([...mgr.refresh().changed]).toEqual([]);
    expect(mgr.paths().sort()).toEqual([certA, certB].sort());
  });

  it('removed entries report their zone as changed and publish nothing', () => {
    const mgr = manager();
    mgr.configure([
      ref({ cert: put('a.pem', 'leaf-ec.crt') }),
      ref({ cert: put('b.pem', 'leaf-rsa.crt') }, 'example.org.', 'mx.example.org.'),
    ]);
    mgr.refresh();
    mgr.configure([ref({ cert: join(dir, 'a.pem') })]);
    clock += 1000;
    const r = mgr.refresh();
    expect([...r.changed]).toEqual(['example.org.']);
    expect(mgr.setsFor('example.org.')).toEqual([]);
    expect(mgr.state('example.org.', 'mx.example.org.')).toBeUndefined();
    expect(mgr.paths()).toEqual([join(dir, 'a.pem')]);
  });

  it('paths: certificate and next files, each once', () => {
    const mgr = manager();
    const cert = join(dir, 'c.pem');
    const next = join(dir, 'n.pem');
    mgr.configure([ref({ cert, next }), ref({ cert }, 'example.org.', 'mx.example.org.')]);
    expect(mgr.paths().sort()).toEqual([cert, next].sort());
  });
});

describe('TlsaManager: a state directory that cannot be written', () => {
  it('the rotated certificate is published anyway; the save error is returned, and persist() saves once it can', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    expect(mgr.refresh().saveError).toBeUndefined();
    rmSync(stateDir, { recursive: true });
    writeFileSync(stateDir, 'not a directory'); // every write of tlsa.json fails
    clock += 3600_000;
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    const r = mgr.refresh();
    expect(r.saveError).toBeInstanceOf(Error);
    expect([...r.changed]).toEqual(['example.com.']);
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());
    expect(() => mgr.persist()).toThrow();
    unlinkSync(stateDir);
    mgr.persist();
    const doc = JSON.parse(readFileSync(join(stateDir, 'tlsa.json'), 'utf8')) as {
      hosts: Record<string, { records: { rdata: string }[] }>;
    };
    expect(doc.hosts['example.com.|mail.example.com.']!.records.map((x) => x.rdata).sort()).toEqual(
      [rec.ec, rec.rsa].sort(),
    );
  });
});

describe('TlsaManager: unreadable files never change what is published', () => {
  it('garbage after a good reading: published set unchanged, one error event, not repeated for the same garbage', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    mgr.refresh();
    garbage('cert.pem');
    clock += 1000;
    const r1 = mgr.refresh();
    expect(r1.changed.size).toBe(0);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
    expect(r1.events).toHaveLength(1);
    expect(r1.events[0]).toMatchObject({
      level: 'error',
      event: 'tlsa-source-error',
      fields: { path: cert, role: 'current', host: 'mail.example.com.', keeping: 'its last good reading' },
    });
    expect(String(r1.events[0]!.fields.reason)).toMatch(/neither PEM nor/);
    expect(mgr.health()).toEqual([expect.objectContaining({ path: cert, status: 'unreadable' })]);
    clock += 1000;
    const r2 = mgr.refresh();
    expect(r2.events).toEqual([]);
    expect(r2.changed.size).toBe(0);
    // a different failure is a new event
    writeFileSync(cert, '');
    clock += 1000;
    expect(mgr.refresh().events.map((e) => e.fields.reason)).toEqual(['empty file']);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
  });

  it('half-written PEM (the file being replaced) keeps the published set', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    mgr.refresh();
    writeFileSync(cert, readFileSync(m.path('leaf-rsa.crt'), 'latin1').slice(0, 300));
    clock += 1000;
    const r = mgr.refresh();
    expect(r.changed.size).toBe(0);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
    expect(names(r.events)).toEqual(['tlsa-source-error']);
  });

  it('a missing certificate (not next) is an error, and the published set stays', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    mgr.refresh();
    unlinkSync(cert);
    clock += 1000;
    const r = mgr.refresh();
    expect(r.events).toEqual([
      expect.objectContaining({
        level: 'error',
        event: 'tlsa-source-error',
        fields: expect.objectContaining({ reason: 'no such file' }),
      }),
    ]);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
  });

  it('never readable: nothing is published and the event says so', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: garbage('cert.pem') })]);
    const r = mgr.refresh();
    expect(rdatas(mgr)).toEqual([[]]);
    expect(r.events.find((e) => e.event === 'tlsa-source-error')!.fields.keeping).toBe('nothing (never read)');
  });

  it('after a restart with the certificate now garbage, the records from the state file stay published', () => {
    const cert = put('cert.pem', 'chain-ec.pem');
    const m1 = manager();
    m1.configure([ref({ cert, issuer: true })]);
    m1.refresh();
    expect(rdatas(m1)).toEqual([[`2 1 1 ${m.spki.ca}`, rec.ec]]);
    garbage('cert.pem', '-----BEGIN CERTIFICATE-----\nMIIB');
    clock += 60_000;
    const m2 = manager();
    m2.configure([ref({ cert, issuer: true })]);
    const r = m2.refresh();
    expect(rdatas(m2)).toEqual([[`2 1 1 ${m.spki.ca}`, rec.ec]]);
    // a new process has published nothing yet, so its first refresh names the zone; the next one does not
    expect([...r.changed]).toEqual(['example.com.']);
    clock += 1000;
    expect(m2.refresh().changed.size).toBe(0);
    const err = r.events.find((e) => e.event === 'tlsa-source-error')!;
    expect(err.fields.keeping).toBe('the published records');
    expect(err.fields.reason).toMatch(/truncated PEM/);
    // and they are still wanted, not retiring
    expect(m2.state('example.com.', 'mail.example.com.')!.records.every((x) => x.until === undefined)).toBe(true);
    clock += 86400_000;
    m2.refresh();
    expect(rdatas(m2)).toEqual([[`2 1 1 ${m.spki.ca}`, rec.ec]]);
  });

  it('restart inside the retention keeps the retired record; after the retention it is withdrawn', () => {
    const cert = put('cert.pem', 'leaf-ec.crt');
    const m1 = manager();
    m1.configure([ref({ cert }, 'example.com.', 'mail.example.com.', 3600)]);
    m1.refresh();
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    clock += 1000;
    const changedAt = sec(clock);
    m1.refresh();
    clock += 3600_000; // inside 2 x 3600 s
    const m2 = manager();
    m2.configure([ref({ cert }, 'example.com.', 'mail.example.com.', 3600)]);
    m2.refresh();
    expect(rdatas(m2)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());
    expect(m2.nextWithdrawal()).toBe((changedAt + 7200) * 1000);
    clock = (changedAt + 7200) * 1000;
    const m3 = manager();
    m3.configure([ref({ cert }, 'example.com.', 'mail.example.com.', 3600)]);
    m3.refresh();
    expect(rdatas(m3)).toEqual([[rec.rsa]]);
    expect(m3.nextWithdrawal()).toBeUndefined();
  });

  it('a corrupt state file is reported on the first refresh (moved aside) and the host starts afresh', () => {
    const cert = put('cert.pem', 'leaf-ec.crt');
    const m1 = manager();
    m1.configure([ref({ cert })]);
    m1.refresh();
    writeFileSync(join(stateDir, 'tlsa.json'), '{ broken');
    const m2 = manager();
    m2.configure([ref({ cert })]);
    const r = m2.refresh();
    const ev = r.events.find((e) => e.event === 'tlsa-state-unreadable')!;
    expect(ev.level).toBe('error');
    expect(String(ev.fields.problem)).toMatch(/tlsa\.json\.bad-\d+/);
    expect(rdatas(m2)).toEqual([[rec.ec]]);
    expect(names(m2.refresh().events)).not.toContain('tlsa-state-unreadable');
  });
});

describe('TlsaManager: next', () => {
  it('a missing next: is an info event and no record; when it appears its record is added', () => {
    const mgr = manager();
    const next = join(dir, 'next.pem');
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt'), next })]);
    const r1 = mgr.refresh();
    const absent = r1.events.filter((e) => e.event === 'tlsa-next-absent');
    expect(absent).toHaveLength(1);
    expect(absent[0]).toMatchObject({ level: 'info', fields: { path: next, role: 'next' } });
    expect(r1.events.some((e) => e.level === 'error')).toBe(false);
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
    expect(mgr.health().find((h) => h.role === 'next')!.status).toBe('absent');
    clock += 1000;
    expect(mgr.refresh().events).toEqual([]);

    copyFileSync(m.path('next.key'), next);
    clock += 1000;
    const r2 = mgr.refresh();
    expect([...r2.changed]).toEqual(['example.com.']);
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.next].sort());
    expect(mgr.state('example.com.', 'mail.example.com.')!.records.find((x) => x.rdata === rec.next)!.roles).toEqual([
      'next',
    ]);
  });

  it('a next file that disappears retires its record with the usual retention', () => {
    const mgr = manager();
    const next = put('next.pem', 'next.key');
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt'), next })]);
    mgr.refresh();
    unlinkSync(next);
    clock += 1000;
    mgr.refresh();
    expect(mgr.state('example.com.', 'mail.example.com.')!.records.find((x) => x.rdata === rec.next)!.until).toBe(
      sec(clock) + 600,
    );
    clock += 600_000;
    mgr.refresh();
    expect(rdatas(mgr)).toEqual([[rec.ec]]);
  });

  it('a garbage next after a restart keeps the next record from the state file', () => {
    const next = put('next.pem', 'next.key');
    const cert = put('cert.pem', 'leaf-ec.crt');
    const m1 = manager();
    m1.configure([ref({ cert, next })]);
    m1.refresh();
    garbage('next.pem');
    const m2 = manager();
    m2.configure([ref({ cert, next })]);
    const r = m2.refresh();
    expect(rdatas(m2)[0]!.sort()).toEqual([rec.ec, rec.next].sort());
    expect(r.events.find((e) => e.event === 'tlsa-source-error')!.fields.role).toBe('next');
  });
});

describe('TlsaManager: certificate health by the (injected) clock', () => {
  const v = (): { notBefore: number; notAfter: number } => m.validity['leaf-ec.crt']!;
  const cases: [string, () => number, string, string, 'info' | 'warn'][] = [
    ['just valid', () => v().notBefore, 'ok', 'certificate-ok', 'info'],
    ['more than 14 days left', () => v().notAfter - EXPIRY_WARNING_MS - 1000, 'ok', 'certificate-ok', 'info'],
    ['13 days left', () => v().notAfter - 13 * 86400_000, 'expiring', 'certificate-expiring', 'warn'],
    ['at notAfter', () => v().notAfter, 'expiring', 'certificate-expiring', 'warn'],
    ['one second after notAfter', () => v().notAfter + 1000, 'expired', 'certificate-expired', 'warn'],
    ['a day before notBefore', () => v().notBefore - 86400_000, 'not-yet-valid', 'certificate-not-yet-valid', 'warn'],
  ];
  for (const [why, at, status, event, level] of cases) {
    it(`${why}: ${status}`, () => {
      clock = at();
      const mgr = manager();
      const cert = put('cert.pem', 'leaf-ec.crt');
      mgr.configure([ref({ cert })]);
      const r = mgr.refresh();
      expect(mgr.health()).toEqual([
        {
          zone: 'example.com.',
          host: 'mail.example.com.',
          role: 'current',
          path: cert,
          status,
          notAfter: v().notAfter,
        },
      ]);
      const ev = r.events.find((e) => e.event.startsWith('certificate-'))!;
      expect(ev.event).toBe(event);
      expect(ev.level).toBe(level);
      expect(ev.fields.notAfter).toBe(new Date(v().notAfter).toISOString());
      // the record is published whatever the validity (the certificate in use is what DANE must match)
      expect(rdatas(mgr)).toEqual([[rec.ec]]);
    });
  }

  it('moving the clock: ok -> expiring -> expired, each reported once', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt') })]);
    const seen: string[] = [];
    for (const t of [
      v().notBefore + 1000,
      v().notBefore + 2000,
      v().notAfter - 86400_000,
      v().notAfter - 3600_000,
      v().notAfter + 1000,
      v().notAfter + 2000,
    ]) {
      clock = t;
      seen.push(...names(mgr.refresh().events).filter((e) => e.startsWith('certificate-')));
    }
    expect(seen).toEqual(['certificate-ok', 'certificate-expiring', 'certificate-expired']);
    expect(mgr.health()[0]!.status).toBe('expired');
  });

  it('a bare key has no validity: ok, and a tlsa-key-read event', () => {
    const mgr = manager();
    mgr.configure([ref({ cert: put('key.pem', 'rsa.pkcs1') })]);
    const r = mgr.refresh();
    expect(mgr.health()).toEqual([expect.objectContaining({ status: 'ok' })]);
    expect(mgr.health()[0]!.notAfter).toBeUndefined();
    expect(r.events.find((e) => e.event === 'tlsa-key-read')!.fields.kind).toBe('private-key');
    expect(rdatas(mgr)).toEqual([[rec.rsa]]);
  });

  it('next certificate health is reported too', () => {
    clock = m.validity['self.crt']!.notAfter + 1000;
    const mgr = manager();
    mgr.configure([ref({ cert: put('key.pem', 'ec.key'), next: put('next.pem', 'self.crt') })]);
    mgr.refresh();
    expect(mgr.health().find((h) => h.role === 'next')!.status).toBe('expired');
  });
});

describe('TlsaManager: an error that comes back after a recovery is reported again', () => {
  let dir: string;
  let clock: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-bugs-'));
    clock = m.validity['leaf-ec.crt']!.notBefore + 86400_000;
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const ref = (cert: string, next?: string): TlsaEntryRef => ({
    zone: 'example.com.',
    host: 'mail.example.com.',
    ttl: 300,
    entry: { host: 'mail', cert, next, ports: [25], ttl: 300, issuer: false, line: 7 },
  });

  it('good -> garbage -> good -> the same garbage: the second breakage is logged too', () => {
    // `reported` keeps "error:<reason>" for the slot after the file is good again, so the second identical
    // failure is silent: the operator never learns the renewal hook broke the file a second time.
    const mgr = new TlsaManager(new RolloverStore(join(dir, 'state')), () => clock);
    const cert = join(dir, 'cert.pem');
    copyFileSync(m.path('leaf-ec.crt'), cert);
    mgr.configure([ref(cert)]);
    mgr.refresh();
    writeFileSync(cert, 'garbage\n');
    clock += 1000;
    expect(mgr.refresh().events.map((e) => e.event)).toEqual(['tlsa-source-error']);
    copyFileSync(m.path('leaf-ec.crt'), cert);
    clock += 1000;
    mgr.refresh();
    writeFileSync(cert, 'garbage\n');
    clock += 1000;
    expect(mgr.refresh().events.map((e) => e.event)).toEqual(['tlsa-source-error']);
  });

  it('next absent -> present -> absent again: the second absence is reported too', () => {
    const mgr = new TlsaManager(new RolloverStore(join(dir, 'state')), () => clock);
    const cert = join(dir, 'cert.pem');
    const next = join(dir, 'next.pem');
    copyFileSync(m.path('leaf-ec.crt'), cert);
    mgr.configure([ref(cert, next)]);
    expect(mgr.refresh().events.map((e) => e.event)).toContain('tlsa-next-absent');
    copyFileSync(m.path('next.key'), next);
    clock += 1000;
    mgr.refresh();
    unlinkSync(next);
    clock += 1000;
    expect(mgr.refresh().events.map((e) => e.event)).toContain('tlsa-next-absent');
  });
});

describe('TlsaManager: rotation hazards (labels.ts) in the events', () => {
  it('a renewal with a key never pre-published: one tlsa-cold-rollover warn, until 2 x TTL after the change', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    expect(names(mgr.refresh().events)).not.toContain('tlsa-cold-rollover'); // first publication
    clock += 3600_000;
    const changedAt = sec(clock);
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    const cold = mgr.refresh().events.filter((e) => e.event === 'tlsa-cold-rollover');
    expect(cold).toHaveLength(1);
    expect(cold[0]!.level).toBe('warn');
    expect(cold[0]!.fields).toMatchObject({
      zone: 'example.com.',
      host: 'mail.example.com.',
      key: m.spki.rsa!.slice(0, 16).toLowerCase(),
      until: new Date((changedAt + 600) * 1000).toISOString(),
    });
    expect(String(cold[0]!.fields.message)).toContain('--reuse-key');
    clock += 1000;
    expect(names(mgr.refresh().events)).not.toContain('tlsa-cold-rollover');
  });

  it('a cold rollover is not reported again after a restart, while the state still shows it until its time', () => {
    const cert = put('cert.pem', 'leaf-ec.crt');
    const first = manager();
    first.configure([ref({ cert })]);
    first.refresh();
    clock += 3600_000;
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    expect(names(first.refresh().events)).toContain('tlsa-cold-rollover');
    first.persist();
    // The restart, 10 s later, the same certificate: nothing new happened, so nothing is said again.
    clock += 10_000;
    const again = manager();
    again.configure([ref({ cert })]);
    expect(names(again.refresh().events)).not.toContain('tlsa-cold-rollover');
    // What check reads (the state) still shows the hazard until 2 x TTL after the change.
    const state = again.state('example.com.', 'mail.example.com.')!;
    expect(rotationWarnings(state, sec(clock)).map((w) => w.event)).toContain('tlsa-cold-rollover');
    expect(rotationWarnings(state, sec(clock) + 600).map((w) => w.event)).not.toContain('tlsa-cold-rollover');
  });

  it('next ready after 2 x TTL (said once); renewal with it: no cold rollover, one tlsa-next-in-use while next == cert', () => {
    const mgr = manager();
    const cert = put('cert.pem', 'leaf-ec.crt');
    const next = put('next.pem', 'next.key');
    mgr.configure([ref({ cert, next })]);
    const first = mgr.refresh().events.find((e) => e.event === 'tlsa-published')!;
    expect([...(first.fields.labels as string[])].sort()).toEqual(
      [`current: ${rec.ec}`, `next (ready at ${new Date((sec(T0()) + 600) * 1000).toISOString()}): ${rec.next}`].sort(),
    );
    clock += 599_000; // not yet published for 2 x TTL
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-ready');
    clock += 1000;
    const ready = mgr.refresh().events.filter((e) => e.event === 'tlsa-next-ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.fields).toMatchObject({
      key: m.spki.next!.slice(0, 16).toLowerCase(),
      readyAt: new Date((sec(T0()) + 600) * 1000).toISOString(),
    });
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-ready'); // said once
    clock += 86400_000;
    copyFileSync(m.path('chain-int.pem'), cert); // the certificate for next.key; next.pem still holds it
    const r = mgr.refresh();
    expect(names(r.events)).not.toContain('tlsa-cold-rollover');
    const inUse = r.events.filter((e) => e.event === 'tlsa-next-in-use');
    expect(inUse).toHaveLength(1);
    expect(inUse[0]!.fields.message).toBe(
      `next key is in use (key ${m.spki.next!.slice(0, 16).toLowerCase()}), generate a new next key before the following renewal`,
    );
    clock += 60_000;
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-in-use'); // reported once
    copyFileSync(m.path('ec.p8'), next); // a new next key
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-in-use');
  });
});

describe('TlsaManager: timing counted from the last watched server', () => {
  /** A secondary's view: versions published (ms) and when it first served each; one server named ns2. */
  const secondary = (): Propagation & { publish(at: number): void; serve(upTo: number, at: number): void } => {
    const versions: { at: number; served?: number }[] = [];
    const find = (since: number) => versions.find((v) => v.at >= since);
    return {
      publish: (at) => void versions.push({ at }),
      serve: (upTo, at) => versions.forEach((v) => (v.at <= upTo && v.served === undefined ? (v.served = at) : 0)),
      watched: () => true,
      servedEverywhereAt: (_z, since) => find(since)?.served,
      lacking: (_z, since) => (find(since)?.served === undefined ? ['192.0.2.53#53'] : []),
    };
  };

  it('a next record is ready one TTL after the secondary serves it, not 2 x TTL after dane-ns did', () => {
    const ns2 = secondary();
    const mgr = new TlsaManager(new RolloverStore(stateDir), () => clock, ns2);
    mgr.configure([ref({ cert: put('cert.pem', 'leaf-ec.crt'), next: put('next.pem', 'next.key') })]);
    const first = mgr.refresh().events.find((e) => e.event === 'tlsa-published')!;
    expect(first.fields.labels).toContain(`next (not ready: not yet served by every watched server): ${rec.next}`);
    ns2.publish(clock);
    clock += 3600_000; // far past 2 x TTL, but the secondary still lacks it
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-ready');
    ns2.serve(clock, clock);
    const servedAt = sec(clock);
    clock += 299_000;
    expect(names(mgr.refresh().events)).not.toContain('tlsa-next-ready');
    clock += 1000;
    const ready = mgr.refresh().events.filter((e) => e.event === 'tlsa-next-ready');
    expect(ready[0]!.fields.readyAt).toBe(new Date((servedAt + 300) * 1000).toISOString());
  });

  it('a renewal to a key the secondary lacks is an error naming it; the retired record stays until it serves the change', () => {
    const ns2 = secondary();
    const mgr = new TlsaManager(new RolloverStore(stateDir), () => clock, ns2);
    const cert = put('cert.pem', 'leaf-ec.crt');
    mgr.configure([ref({ cert })]);
    mgr.refresh();
    ns2.publish(clock);
    ns2.serve(clock, clock);
    clock += 3600_000;
    copyFileSync(m.path('leaf-rsa.crt'), cert);
    const r = mgr.refresh();
    const err = r.events.filter((e) => e.event === 'tlsa-not-propagated');
    expect(err).toHaveLength(1);
    expect(err[0]!.level).toBe('error');
    expect(err[0]!.fields.servers).toEqual(['192.0.2.53#53']);
    expect(names(r.events)).not.toContain('tlsa-cold-rollover');
    ns2.publish(clock);
    clock += 3600_000; // long past the 2 x TTL retention: still held, the secondary never served the change
    mgr.refresh();
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());
    ns2.serve(clock, clock);
    const servedAt = sec(clock);
    clock += 599_000;
    mgr.refresh();
    expect(rdatas(mgr)[0]!.sort()).toEqual([rec.ec, rec.rsa].sort());
    clock += 1000;
    mgr.refresh();
    expect(mgr.nextWithdrawal()).toBeUndefined();
    expect(rdatas(mgr)).toEqual([[rec.rsa]]);
    expect(servedAt + 600).toBe(sec(clock));
  });
});
