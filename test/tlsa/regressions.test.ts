/**
 * Regressions found by the first round of unit tests of the automatic-TLSA modules: a clear reason for
 * traditionally encrypted keys, failures reported again after a recovery, and other names below a
 * wildcard-only host's created names keeping the wildcard's answers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerQuery } from '../../src/query/answer.js';
import { RolloverStore } from '../../src/state/rollover.js';
import { withAutomaticTlsa } from '../../src/tlsa/augment.js';
import { TlsaManager, type TlsaEntryRef } from '../../src/tlsa/manager.js';
import { readTlsaSource, TlsaSourceError } from '../../src/tlsa/source.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { typeFromText } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { ZoneSet } from '../../src/zone/set.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { render } from '../query/render.js';
import { makeMaterial, type Material } from './material.js';

let m: Material;
beforeAll(() => {
  m = makeMaterial();
});
afterAll(() => m.cleanup());

describe('source.ts', () => {
  it('a traditionally encrypted PEM key (Proc-Type: 4,ENCRYPTED) gets a clear reason, not an OpenSSL code', () => {
    // made by `openssl ec -aes256`: -----BEGIN EC PRIVATE KEY----- / Proc-Type: 4,ENCRYPTED / DEK-Info: ...
    // Today: "PEM block 1 (EC PRIVATE KEY) does not parse: error:07880109:common libcrypto routines::interrupted
    // or cancelled". The ENCRYPTED PRIVATE KEY (PKCS#8) form already says "encrypted private key: give the
    // certificate or the public key instead"; the traditional form (also `openssl rsa -aes256`, old certbot
    // and many HOWTOs) should say the same.
    let e: unknown;
    try {
      readTlsaSource(m.path('enc-sec1.key'));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TlsaSourceError);
    expect((e as TlsaSourceError).reason).toMatch(/encrypted private key/);
  });
});

describe('manager.ts: an error that comes back after a recovery is reported again', () => {
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

describe('augment.ts: wildcard copies', () => {
  it('other names below a created intermediate name keep their wildcard answers', () => {
    // Host a.b.example.com. exists only through *.example.com.; augment copies the wildcard's records to a.b and
    // b (as specified), which keeps the answers for those two names. But b.example.com. now exists, so every
    // other name below it (x.b.example.com.) has closest encloser b.example.com., which has no wildcard:
    // before NOERROR with the wildcard's A, after NXDOMAIN. Copying the wildcard's records to *.b.example.com.
    // as well (for each created intermediate name) would keep those answers.
    const text = `origin: example.com.
soa: { mname: ns1, rname: hostmaster }
records:
  "@":
    NS: ns1
  ns1:
    A: 192.0.2.53
  "*":
    A: 192.0.2.80
`;
    const problems: ZoneProblem[] = [];
    const src = parseZoneYaml('z.yaml', text, problems);
    const plain = buildZone(src, { defaultOrigin: 'example.com' }, problems);
    const aug = withAutomaticTlsa(src, plain, [{ host: 'a.b', ports: [25], ttl: 300, rdatas: ['3 1 1 AB'], line: 10 }]);
    const z = buildZone(aug.source, { defaultOrigin: 'example.com' }, []);
    const ask = (zone: Zone, q: string) =>
      render(
        answerQuery(new ZoneSet([zone]), { qname: parseName(q, ROOT), qtype: typeFromText('A'), dnssecOk: false }),
      );
    expect(ask(plain, 'x.b.example.com.').answer).toEqual(['x.b.example.com. 3600 IN A 192.0.2.80']);
    expect(ask(z, 'x.b.example.com.')).toEqual(ask(plain, 'x.b.example.com.'));
  });
});
