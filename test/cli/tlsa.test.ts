/**
 * `dane-ns tlsa FILE` and its flags: --port and --host make the owner _PORT._tcp.HOST, --issuer adds the DANE-TA
 * 2 1 1 record of the issuing CA; digests compared with the openssl CLI's (test/tlsa/material.ts).
 */
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaterial, type Material } from '../tlsa/material.js';
import { run, usageLine } from './run.js';

let m: Material;
beforeAll(() => {
  m = makeMaterial();
});
afterAll(() => m.cleanup());

describe('dane-ns tlsa', () => {
  it('defaults: port 25 and the first DNS name of the certificate', async () => {
    const r = await run(['tlsa', m.path('chain-ec.pem')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^; CN=mail\.example\.com, valid \S+ to \S+$/),
      `_25._tcp.mail.example.com. IN TLSA 3 1 1 ${m.spki['leaf-ec']}`,
    ]);
  });

  it('--port and --host set the owner', async () => {
    const r = await run(['tlsa', m.path('chain-ec.pem'), '--port', '465', '--host', 'smtp.example.net']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')[1]).toBe(`_465._tcp.smtp.example.net. IN TLSA 3 1 1 ${m.spki['leaf-ec']}`);
  });

  it('--host gives a key file an owner; without it only the record data is printed', async () => {
    const bare = await run(['tlsa', m.path('ec.key')]);
    expect(bare.stdout.trim().split('\n')[1]).toBe(`3 1 1 ${m.spki.ec}`);
    const named = await run(['tlsa', m.path('ec.key'), '--host=mx.example.org.']);
    expect(named.stdout.trim().split('\n')[1]).toBe(`_25._tcp.mx.example.org. IN TLSA 3 1 1 ${m.spki.ec}`);
  });

  it('--issuer adds the 2 1 1 record of the issuing CA, with the same owner', async () => {
    const r = await run(['tlsa', m.path('chain-ec.pem'), '--issuer', '--port', '587']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').slice(1)).toEqual([
      `_587._tcp.mail.example.com. IN TLSA 3 1 1 ${m.spki['leaf-ec']}`,
      `_587._tcp.mail.example.com. IN TLSA 2 1 1 ${m.spki.ca}`,
    ]);
    const alone = await run(['tlsa', m.path('leaf-ec.crt'), '--issuer']);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/no issuing CA certificate .* for --issuer/);
  });

  it('-- ends the options: after it, a name starting with a dash is the FILE', async () => {
    expect(usageLine(await run(['tlsa', '-dash.key']))).toMatch(/^dane-ns: unknown option -d /);
    // Read as a file (relative to this process's directory, where there is none).
    const r = await run(['tlsa', '--', '-dash.key']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('dane-ns: -dash.key: no such file');
    copyFileSync(m.path('ec.key'), m.path('-dash.key'));
    const abs = await run(['tlsa', '--host', 'mx.example.org', '--', m.path('-dash.key')]);
    expect(abs.code, abs.stderr).toBe(0);
    expect(abs.stdout).toContain(`_25._tcp.mx.example.org. IN TLSA 3 1 1 ${m.spki.ec}`);
  });

  it.each([
    [['--port', '0'], '--port: expected a port number 1..65535 (got "0")'],
    [['--port', '65536'], '--port: expected a port number 1..65535 (got "65536")'],
    [['--port', 'smtp'], '--port: expected a port number 1..65535 (got "smtp")'],
    [['--port'], '--port needs a value'],
    [['--host', 'a..b'], '--host: empty label in "a..b."'],
    [['--issuer=yes'], '--issuer takes no value (got "yes")'],
    [['--ca'], 'unknown option --ca'],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    expect(usageLine(await run(['tlsa', m.path('chain-ec.pem'), ...flags]))).toContain(`dane-ns: ${message} (`);
  });
});
