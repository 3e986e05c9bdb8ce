/**
 * The control socket end to end (docs/control.md): the built server started for real, `dane-ns status`,
 * `status --json`, `reload` and `zone list` run as separate processes against its state directory. The serial
 * they report is the one kdig gets in the SOA; a broken zone file shows as `serving last good version` with its
 * error; `reload` after an edit prints the new serial; a second `serve` with the same state directory exits 1
 * naming the directory and the first one's pid; a SIGKILLed server's socket is replaced by the next start; with
 * no server the commands say so and exit 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from './helpers/certs.js';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';

const zone = (serial: number, a = '192.0.2.1'): string => `origin: ctl.example.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: ${serial}, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${a} }
`;

/** Runs `dane-ns ARGS` as its own process (no DANE_NS_* from the caller's environment). */
function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) env[k] = v;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('control socket: status, reload, zone list, one server per state directory', () => {
  let work: string;
  let zones: string;
  let state: string;
  let keys: string;
  let server: DaneNsInstance;
  let port: number;
  let tlsaCurrent: string;
  let tlsaNext: string;
  const file = (): string => join(zones, 'ctl.example.yaml');

  beforeAll(async () => {
    requireTool('kdig');
    work = mkdtempSync(join(tmpdir(), 'dane-ns-control-'));
    zones = join(work, 'zones');
    state = join(work, 'state');
    keys = join(work, 'keys');
    mkdirSync(zones, { recursive: true });
    writeFileSync(file(), zone(5));
    // A second zone with automatic TLSA: a current and a next certificate for mail.tlsa.example.
    const current = await makeCert(join(work, 'certs'), { name: 'current', cn: 'mail.tlsa.example' });
    const next = await makeCert(join(work, 'certs'), { name: 'next', cn: 'mail.tlsa.example' });
    tlsaCurrent = current.tlsa311.toUpperCase();
    tlsaNext = next.tlsa311.toUpperCase();
    writeFileSync(
      join(zones, 'tlsa.example.yaml'),
      `origin: tlsa.example.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1, MX: 10 mail }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
tlsa:
  - host: mail
    cert: ${current.certPath}
    next: ${next.certPath}
`,
    );
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port, stateDir: state, keysDir: keys });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates <state>/control.sock with mode 0600', () => {
    const st = statSync(join(state, 'control.sock'));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('status and status --json show the zone serving with the serial kdig gets, its signatures and the server', async () => {
    const soa = await query({ host: '127.0.0.1', port }, 'ctl.example.', 'SOA');
    expect(Number(soa.answer[0]!.split(' ')[6])).toBe(5);
    const text = cli(['status', '--state', state]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^zone ctl\.example\. \(ctl\.example\.yaml\): serving$/m);
    expect(text.stdout).toMatch(/^ {2}serial: 5$/m);
    expect(text.stdout).toMatch(/^ {2}signatures expire: \S+Z \(in \d+ days, earliest\)$/m);
    expect(text.stdout).toContain(`listening on 127.0.0.1:${port}`);
    expect(text.stdout).toContain(`(pid ${server.proc.pid})`);
    const json = cli(['status', 'ctl.example', '--state', state, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const o = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(o).toMatchObject({ pid: server.proc.pid, listen: [`127.0.0.1:${port}`] });
    expect(o.zones).toEqual([
      expect.objectContaining({ zone: 'ctl.example.', file: 'ctl.example.yaml', state: 'serving', serial: 5 }),
    ]);
    expect(typeof o.uptimeSeconds).toBe('number');
    const list = cli(['zone', 'list', '--state', state]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ctl\.example\. +ctl\.example\.yaml +5 +serving$/m);
  });

  it('status shows the TLSA records of an automatic host with their roles', () => {
    const text = cli(['status', 'tlsa.example', '--state', state]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^zone tlsa\.example\. \(tlsa\.example\.yaml\): serving$/m);
    expect(text.stdout).toContain('  TLSA mail.tlsa.example.\n');
    expect(text.stdout).toMatch(new RegExp(`^    3 1 1 ${tlsaCurrent}  current$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^    3 1 1 ${tlsaNext}  next$`, 'm'));
    const json = JSON.parse(cli(['status', 'tlsa.example.', '--state', state, '--json']).stdout) as {
      zones: { tlsa: unknown }[];
    };
    expect(json.zones[0]!.tlsa).toEqual([
      {
        host: 'mail.tlsa.example.',
        records: expect.arrayContaining([
          { rdata: `3 1 1 ${tlsaCurrent}`, role: 'current' },
          { rdata: `3 1 1 ${tlsaNext}`, role: 'next' },
        ]) as unknown,
      },
    ]);
  });

  it('status of a zone the server does not have fails with the reason', () => {
    const r = cli(['status', 'nope.example', '--state', state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no zone nope.example in the zones directory');
  });

  it('a broken file: status shows serving last good version and the error; reload exits 1; fixed: the new serial', async () => {
    writeFileSync(file(), zone(6) + 'records: [broken\n');
    const broken = cli(['reload', '--state', state]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^ctl\.example\. \(ctl\.example\.yaml\): FAILED: .*ctl\.example\.yaml:\d+/m);
    expect(broken.stdout).toContain('serving the last good version, serial 5');
    const st = cli(['status', '--state', state]);
    expect(st.stdout).toMatch(/^zone ctl\.example\. \(ctl\.example\.yaml\): serving last good version$/m);
    expect(st.stdout).toMatch(/^ {2}error: .*ctl\.example\.yaml:\d+/m);
    expect(st.stdout).toMatch(/^ {2}serial: 5$/m);

    writeFileSync(file(), zone(7, '192.0.2.7'));
    const fixed = cli(['reload', 'ctl.example.', '--state', state]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^ctl\.example\. \(ctl\.example\.yaml\): serial 7$/m);
    // Only ctl.example.yaml was read (reload ZONE): no note any more.
    expect(fixed.stdout).not.toMatch(/^note:/m);
    const www = await query({ host: '127.0.0.1', port }, 'www.ctl.example.', 'A');
    expect(www.answer.join('\n')).toContain('192.0.2.7');
  });

  it('a second serve with the same state directory exits 1 naming the directory and the pid', async () => {
    const other = await freePort();
    const r = cli(['serve', '--zones', zones, '--keys', keys, '--state', state, '--listen', `127.0.0.1:${other}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`another dane-ns is running with state directory ${state} (pid ${server.proc.pid})`);
    // The first server still answers through its socket.
    expect(cli(['zone', 'list', '--state', state]).code).toBe(0);
  });

  it('a SIGKILLed server leaves a stale socket: the commands say no server, the next start replaces it', async () => {
    server.proc.kill('SIGKILL');
    await new Promise<void>((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', () => r())));
    expect(existsSync(join(state, 'control.sock'))).toBe(true);
    const none = cli(['status', '--state', state]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no dane-ns running with state directory ${state}`);
    await server.stop();
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port, stateDir: state, keysDir: keys });
    const st = cli(['status', 'ctl.example', '--state', state, '--json']);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ pid: server.proc.pid, zones: [{ serial: 7, state: 'serving' }] });
  }, 60_000);

  it('with no server at all: no control.sock, exit 1', async () => {
    await server.stop();
    expect(existsSync(join(state, 'control.sock'))).toBe(false);
    for (const args of [['status'], ['reload'], ['zone', 'list']]) {
      const r = cli([...args, '--state', state]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`dane-ns: no dane-ns running with state directory ${state} (no control.sock)\n`);
    }
  });
});
