/**
 * `dane-ns zone check` (one file, the server's messages), `dane-ns zone import` and `dane-ns zone export` and
 * their flags: --origin (the zone origin of a master file
 * whose SOA owner is relative), --out, --zones, --state (the `serial: auto` the server keeps), --signed with
 * --keys (DNSKEY, RRSIG and NSEC records, RFC 4034), and the environment variables that give the same.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startServer } from '../../src/server/serve.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import { formatProblem, type ZoneError } from '../../src/zone/errors.js';
import { run, usageLine } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-cli-zone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// No $ORIGIN and relative owners: the origin must come from --origin.
const MASTER = `$TTL 600
@    IN SOA ns1 hostmaster 7 7200 3600 1209600 300
     IN NS  ns1
ns1  IN A   192.0.2.53
`;

const ZONE = `origin: auto.example.
ttl: 600
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 300 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

const types = (zone: string): string[] =>
  [
    ...new Set(
      zone
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith(';') && !l.startsWith('$'))
        .map((l) => l.split(/\s+/)[3]!),
    ),
  ].sort();

describe('dane-ns zone import', () => {
  const file = join(dir, 'plain.zone');
  writeFileSync(file, MASTER);

  it('--origin gives the origin of a file written relative to it; without it the import fails', async () => {
    const without = await run(['zone', 'import', file]);
    expect(without.code).toBe(1);
    expect(without.stdout).toBe('');
    const r = await run(['zone', 'import', file, '--origin', 'plain.example']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^origin: plain\.example\.$/m);
    expect(r.stdout).toMatch(/192\.0\.2\.53/);
  });

  it('--out writes the YAML to the file instead of stdout', async () => {
    const out = join(dir, 'plain.example.yaml');
    const printed = await run(['zone', 'import', file, '--origin', 'plain.example.']);
    const r = await run(['zone', 'import', file, '--origin', 'plain.example.', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(printed.stdout);
  });

  it.each([
    [['--origin', 'a..b'], /^dane-ns: --origin: empty label/],
    [['--out='], /^dane-ns: --out: expected a file, not an empty value /],
    [['--out'], /^dane-ns: --out needs a value /],
    [['--signed'], /^dane-ns: unknown option --signed /],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    expect(usageLine(await run(['zone', 'import', file, ...flags]))).toMatch(message);
  });
});

describe('dane-ns zone export', () => {
  const zones = join(dir, 'zones');
  const keys = join(dir, 'keys');
  mkdirSync(zones);
  writeFileSync(join(zones, 'auto.example.yaml'), ZONE);

  const soaSerial = (out: string): number =>
    Number(
      out
        .split('\n')
        .find((l) => /\sSOA\s/.test(l))!
        .split(/\s+/)[6],
    );

  it('--state: a serial: auto zone shows the serial kept there (and the state is not written)', async () => {
    const state = join(dir, 'state');
    mkdirSync(state);
    const fresh = await run(['zone', 'export', 'auto.example', '--zones', zones, '--state', state]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(Math.abs(soaSerial(fresh.stdout) - Date.now() / 1000)).toBeLessThan(60); // a new zone: the time
    // A kept serial for other content: the next one (it is ahead of the clock in RFC 1982 arithmetic).
    const kept = JSON.stringify({ 'auto.example.': { serial: 3_000_000_000, hash: 'older content' } });
    writeFileSync(join(state, 'serials.json'), kept);
    const r = await run(['zone', 'export', 'auto.example', '--zones', zones, '--state', state]);
    expect(soaSerial(r.stdout)).toBe(3_000_000_001);
    expect(readFileSync(join(state, 'serials.json'), 'utf8')).toBe(kept);
    // The same from DANE_NS_ZONES and DANE_NS_STATE.
    const env = await run(['zone', 'export', 'auto.example'], { DANE_NS_ZONES: zones, DANE_NS_STATE: state });
    expect(env.stdout).toBe(r.stdout);
  });

  it('--signed adds DNSKEY, NSEC and RRSIG made with the keys in --keys (or DANE_NS_KEYS)', async () => {
    const state = join(dir, 'state-signed');
    const gen = await run(['keys', 'generate', 'auto.example', '--keys', keys, '--state', state]);
    expect(gen.code, gen.stderr).toBe(0);
    const dirs = ['--zones', zones, '--state', state];
    const plain = await run(['zone', 'export', 'auto.example', ...dirs]);
    expect(types(plain.stdout)).toEqual(['A', 'NS', 'SOA']);
    const signed = await run(['zone', 'export', 'auto.example', ...dirs, '--signed', '--keys', keys]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(types(signed.stdout)).toEqual(['A', 'DNSKEY', 'NS', 'NSEC', 'RRSIG', 'SOA']);
    const env = await run(['zone', 'export', 'auto.example', ...dirs, '--signed'], { DANE_NS_KEYS: keys });
    expect(types(env.stdout)).toEqual(types(signed.stdout));
    // --keys names where the keys are: elsewhere there are none.
    const none = await run(['zone', 'export', 'auto.example', ...dirs, '--signed', '--keys', join(dir, 'nokeys')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no DNSSEC keys for auto\.example\. in .*nokeys/);
  });

  it('--signed prints the version the server served, from the state directory; else warns and signs afresh', async () => {
    const state = join(dir, 'state-served');
    const served = join(dir, 'zones-served');
    const keys = join(dir, 'keys-served'); // its own, so that the test does not depend on the one before it
    mkdirSync(served);
    writeFileSync(join(served, 'auto.example.yaml'), ZONE);
    const gen = await run(['keys', 'generate', 'auto.example', '--keys', keys, '--state', join(dir, 'state-gen')]);
    expect(gen.code, gen.stderr).toBe(0);
    const dirs = ['--zones', served, '--state', state, '--keys', keys, '--signed'];
    const quiet = createLogger({ level: 'error', write: () => {} });
    const serve = (): Promise<{ close(): Promise<void> }> =>
      startServer({
        zonesDir: served,
        keysDir: keys,
        stateDir: state,
        listen: ['127.0.0.1:0'],
        udpEngine: 'dgram',
        logger: quiet,
      });
    // Never served with this state directory: said on stderr, signed here.
    const before = await run(['zone', 'export', 'auto.example', ...dirs]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stderr).toMatch(
      /^warning: the served version of auto\.example\. is not in .*state-served \(the server has recorded none\): signed afresh/,
    );
    expect(types(before.stdout)).toEqual(['A', 'DNSKEY', 'NS', 'NSEC', 'RRSIG', 'SOA']);
    // Served (and stopped): every export prints that version, the same octets each time (ECDSA is random: a
    // fresh signing never repeats an RRSIG), under the serial the server recorded.
    await (await serve()).close();
    const recorded = (
      JSON.parse(readFileSync(join(state, 'serials.json'), 'utf8')) as Record<string, { serial: number }>
    )['auto.example.']!.serial;
    const first = await run(['zone', 'export', 'auto.example', ...dirs]);
    const second = await run(['zone', 'export', 'auto.example', ...dirs]);
    expect(first.stderr).toBe('');
    expect(second.stdout).toBe(first.stdout);
    expect(soaSerial(first.stdout)).toBe(recorded);
    const rrsigs = (out: string): string[] => out.split('\n').filter((l) => /\sIN\s+RRSIG\s/.test(l));
    expect(rrsigs(first.stdout).length).toBeGreaterThan(2);
    expect(rrsigs(first.stdout).filter((l) => rrsigs(before.stdout).includes(l))).toEqual([]);
    // A zone file changed since: not what the server served; warned, signed afresh again.
    writeFileSync(join(served, 'auto.example.yaml'), `${ZONE}  www: { A: 192.0.2.80 }\n`);
    const changed = await run(['zone', 'export', 'auto.example', ...dirs]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(
      /is not in .* \(the zone as it is now is not the version served under serial \d+: a zone file/,
    );
    expect(changed.stdout).toMatch(/^www\.auto\.example\.\s.*\sA\s+192\.0\.2\.80$/m);
    // Once the server has served the new file, it is its version again.
    await (await serve()).close();
    const again = await run(['zone', 'export', 'auto.example', ...dirs]);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/192\.0\.2\.80/);
    expect((await run(['zone', 'export', 'auto.example', ...dirs])).stdout).toBe(again.stdout);
  }, 30_000);

  it('--zones names where the zone files are', async () => {
    const r = await run(['zone', 'export', 'auto.example', '--zones', join(dir, 'elsewhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/elsewhere/);
  });

  it.each([
    [['--keys', 'k'], /^dane-ns: --keys only applies with --signed /],
    [['--zones='], /^dane-ns: --zones: expected a directory, not an empty value /],
    [['--state'], /^dane-ns: --state needs a value /],
    [['--out', 'x'], /^dane-ns: unknown option --out /],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    expect(usageLine(await run(['zone', 'export', 'auto.example', ...flags]))).toMatch(message);
  });
});

describe('dane-ns zone check', () => {
  const check = join(dir, 'check');
  mkdirSync(check);
  const file = (name: string, text: string): string => {
    const p = join(check, name);
    writeFileSync(p, text);
    return p;
  };
  const numbered = ZONE.replace('serial: auto', 'serial: 2024010101');

  it('a good zone: one line "ok ZONE serial N, M names" on stdout, exit 0', async () => {
    const r = await run(['zone', 'check', file('auto.example.yaml', numbered)]);
    expect(r).toEqual({ code: 0, stdout: 'ok auto.example. serial 2024010101, 2 names\n', stderr: '' });
  });

  it('serial: auto is shown as auto (no state directory is read)', async () => {
    const r = await run(['zone', 'check', file('auto.example.yaml', ZONE)], { DANE_NS_STATE: join(dir, 'none') });
    expect(r).toEqual({ code: 0, stdout: 'ok auto.example. serial auto, 2 names\n', stderr: '' });
  });

  it('every problem as file:line: reason on stderr, exactly what the server logs for the file; exit 1', async () => {
    const p = file(
      'auto.example.yaml',
      `${ZONE}  mail: { AAA: 2001:db8::25, A: 300.1.2.3 }\n  www: { CNAME: mail, A: 192.0.2.80 }\ntlsa:\n  - { host: mx.other.example., cert: c.pem }\n`,
    );
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(`${p}:7: mail: unknown type "AAA" (did you mean AAAA?)`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${p}:7: mail A "300\\.1\\.2\\.3"`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${p}:8: .*CNAME cannot coexist`)));
    // The server, loading the same directory, reports the same lines.
    const zf = new ZoneFiles({ dir: check, logger: createLogger({ write: () => {} }), autoSerial: () => 1 });
    let server: string[] = [];
    try {
      zf.loadAll();
    } catch (e) {
      server = (e as ZoneError).problems.map(formatProblem);
    }
    expect(server.length).toBeGreaterThan(0);
    expect(lines).toEqual(server);
  });

  it('the tlsa: entries are checked for shape (a host outside the zone), not their certificate files', async () => {
    const p = file('auto.example.yaml', `${numbered}tlsa:\n  - { host: mx.other.example., cert: missing.pem }\n`);
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${p}:8: .*outside the zone`, 'm'));
    const ok = await run([
      'zone',
      'check',
      file('auto.example.yaml', `${numbered}tlsa:\n  - { host: mx, cert: gone.pem }\n`),
    ]);
    expect(ok).toEqual({ code: 0, stdout: 'ok auto.example. serial 2024010101, 2 names\n', stderr: '' });
  });

  it('a YAML syntax error: exit 1, one line with the file, line and column of the cause', async () => {
    const p = file('auto.example.yaml', `${numbered}  bad: [unclosed\n`);
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${p}:7:8: YAML: "[" is never closed (a flow sequence must end with "]")\n`);
  });

  it('a file the server would not read is checked, with a warning saying so', async () => {
    const p = file('auto.example.yaml.new', numbered);
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok auto.example. serial 2024010101, 2 names\n');
    expect(r.stderr).toBe(
      `warning: ${p}: the server does not read this file (not a zone file: zone files must be named <zone>.yaml or <zone>.yml)\n`,
    );
  });

  it("an editor's backup is checked, with a warning that the server does not read it", async () => {
    const p = file('auto.example.yaml~', numbered);
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: ${p}: the server does not read this file (a hidden file or an editor's working file)\n`,
    );
  });

  it('a missing file: exit 1 with the file', async () => {
    const p = join(check, 'missing.yaml');
    const r = await run(['zone', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${p}:0: cannot read: no such file\n`);
  });

  it('needs exactly one FILE and takes no options', async () => {
    expect(usageLine(await run(['zone', 'check']))).toBe(
      "dane-ns: zone check needs exactly one FILE (see 'dane-ns zone --help')",
    );
    expect(usageLine(await run(['zone', 'check', 'a.yaml', 'b.yaml']))).toMatch(/needs exactly one FILE/);
    expect(usageLine(await run(['zone', 'check', '--zones', 'z', 'a.yaml']))).toMatch(/unknown option --zones/);
  });
});
