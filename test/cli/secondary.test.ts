/**
 * `dane-ns secondary-config ZONE --for nsd|knot|bind --primary ADDR[:PORT]`: the shape of each secondary's
 * configuration (key and zone, the primary's address and port, the secret of the key file that the zone's
 * transfer.allow names first), the configuration without TSIG for a zone allowed by address, and the errors.
 * test/integration/secondaries.test.ts runs NSD and BIND with what it prints.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, usageLine } from './run.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const base = mkdtempSync(join(tmpdir(), 'dane-ns-cli-secondary-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
mkdirSync(zones);
mkdirSync(join(keys, 'tsig'), { recursive: true });
const zone = (allow: string): string =>
  `soa: { mname: ns1, rname: h }\n${allow}records:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n`;
writeFileSync(
  join(zones, 'example.com.yaml'),
  zone('transfer:\n  allow:\n    - address: 10.0.0.0/8\n    - key: Knot-XFR\n    - key: other\n'),
);
writeFileSync(join(zones, 'byaddr.example.yaml'), zone('transfer:\n  allow:\n    - address: 192.0.2.0/24\n'));
writeFileSync(join(zones, 'closed.example.yaml'), zone(''));
writeFileSync(join(zones, 'nokey.example.yaml'), zone('transfer:\n  allow:\n    - key: missing\n'));
writeFileSync(
  join(keys, 'tsig', 'knot-xfr.key'),
  `key "knot-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`,
);

const cfg = (zoneName: string, kind: string, primary = '192.0.2.53', more: string[] = []) =>
  run(['secondary-config', zoneName, '--for', kind, '--primary', primary, '--zones', zones, '--keys', keys, ...more]);

describe('dane-ns secondary-config', () => {
  it('--for nsd: key: and zone: with request-xfr ADDR@PORT KEY and allow-notify', async () => {
    const r = await cfg('example.com', 'nsd');
    expect(r.code, r.stderr).toBe(0);
    const body = r.stdout.replace(/^#.*\n/gm, '');
    expect(body).toBe(
      `key:\n    name: "knot-xfr"\n    algorithm: hmac-sha256\n    secret: "${SECRET}"\n` +
        `zone:\n    name: "example.com"\n    zonefile: "example.com.zone"\n` +
        `    request-xfr: 192.0.2.53@53 knot-xfr\n    allow-notify: 192.0.2.53 knot-xfr\n`,
    );
  });

  it('--for knot: key:, remote:, acl: (notify) and zone: with master: and dnssec-validation', async () => {
    const r = await cfg('example.com.', 'knot', '192.0.2.53:5300');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/^#.*\n/gm, '')).toBe(
      `key:\n  - id: knot-xfr\n    algorithm: hmac-sha256\n    secret: ${SECRET}\n` +
        `remote:\n  - id: dane-ns\n    address: 192.0.2.53@5300\n    key: knot-xfr\n` +
        `acl:\n  - id: dane-ns-notify\n    address: 192.0.2.53\n    key: knot-xfr\n    action: notify\n` +
        `zone:\n  - domain: example.com\n    file: example.com.zone\n    master: dane-ns\n    acl: dane-ns-notify\n` +
        `    dnssec-validation: on\n`,
    );
  });

  it('--for bind: key and zone statements, type secondary, primaries port P { ADDR key K; }', async () => {
    const r = await cfg('example.com', 'bind', '[2001:db8::53]:5300');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/^\/\/.*\n/gm, '')).toBe(
      `key "knot-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n` +
        `zone "example.com" {\n\ttype secondary;\n\tprimaries port 5300 { 2001:db8::53 key "knot-xfr"; };\n` +
        `\tfile "example.com.zone";\n\tallow-notify { 2001:db8::53; };\n};\n`,
    );
  });

  it('a zone allowed by address only: no key, NOKEY for NSD, and a comment naming the prefixes', async () => {
    const n = await cfg('byaddr.example', 'nsd');
    expect(n.code, n.stderr).toBe(0);
    expect(n.stdout).not.toMatch(/^key:/m);
    expect(n.stdout).toContain('request-xfr: 192.0.2.53@53 NOKEY\n');
    expect(n.stdout).toMatch(/^# no TSIG: the primary allows transfers by address \(192\.0\.2\.0\/24\)/m);
    const b = await cfg('byaddr.example', 'bind');
    expect(b.stdout).not.toMatch(/^key|\skey "/m);
    expect(b.stdout).toContain('primaries port 53 { 192.0.2.53; };');
    const k = await cfg('byaddr.example', 'knot');
    expect(k.stdout).not.toMatch(/^key:|^ {4}key:/m);
  });

  it('errors (exit 1): an unknown zone, a zone without transfer.allow, a key without its key file', async () => {
    const unknown = await cfg('nowhere.example', 'nsd');
    expect([unknown.code, unknown.stdout]).toEqual([1, '']);
    expect(unknown.stderr).toContain('no zone nowhere.example');
    const closed = await cfg('closed.example', 'bind');
    expect([closed.code, closed.stdout]).toEqual([1, '']);
    expect(closed.stderr).toContain('zone closed.example allows no transfers');
    const nokey = await cfg('nokey.example', 'knot');
    expect([nokey.code, nokey.stdout]).toEqual([1, '']);
    expect(nokey.stderr).toContain(`"missing" and there is no key file ${join(keys, 'tsig', 'missing.key')}`);
  });

  it('usage errors (exit 2) name the flag', async () => {
    expect(usageLine(await cfg('example.com', 'unbound'))).toContain('--for: expected one of nsd, knot, bind');
    expect(usageLine(await run(['secondary-config', 'example.com', '--primary', '192.0.2.1']))).toContain(
      '--for is required',
    );
    expect(usageLine(await run(['secondary-config', 'example.com', '--for', 'nsd']))).toContain(
      '--primary is required',
    );
    expect(usageLine(await cfg('example.com', 'nsd', 'ns1.example:53'))).toContain('--primary: ');
    expect(usageLine(await cfg('example.com', 'nsd', '192.0.2.1:0'))).toContain('--primary: expected a port');
    expect(usageLine(await run(['secondary-config', '--for', 'nsd']))).toContain('needs exactly one ZONE');
  });
});
