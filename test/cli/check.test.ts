/**
 * `dane-ns check` against the built server (dist/cli.js serve on loopback) and its flags: --server (else the
 * first DANE_NS_LISTEN address), --zones (else DANE_NS_ZONES), and --live with --connect and --smtp-port, shown
 * by a stand-in SMTP server without STARTTLS on a loopback port while the zone's A record points elsewhere.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../integration/helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from '../integration/helpers/server.js';
import { makeMaterial, type Material } from '../tlsa/material.js';
import { run, usageLine } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-cli-check-'));
let m: Material;
let inst: DaneNsInstance | undefined;
let port: number;
let smtp: Server;
let smtpPort: number;
let smtpConnections = 0;

beforeAll(async () => {
  m = makeMaterial();
  // mx has a documentation address (RFC 5737) nothing answers on: only --connect reaches the stand-in.
  writeFileSync(
    join(dir, 'check.example.yaml'),
    `origin: check.example.\nttl: 300\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 300 }\nrecords:\n  "@": { NS: ns1, MX: 10 mx }\n  ns1: { A: 192.0.2.53 }\n  mx: { A: 192.0.2.25 }\ntlsa:\n  - host: mx\n    cert: ${m.path('chain-ec.pem')}\n`,
  );
  port = await freePort();
  inst = await startDaneNs({ zonesDir: dir, port });
  smtp = createServer((sock) => {
    smtpConnections++;
    sock.write('220 stand-in ESMTP\r\n');
    sock.on('data', (d) => {
      if (/^EHLO/i.test(d.toString())) sock.write('250 stand-in\r\n');
      else sock.end('221 bye\r\n');
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  smtpPort = (smtp.address() as { port: number }).port;
});

afterAll(async () => {
  await inst?.stop();
  await new Promise((r) => smtp.close(r));
  m.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('dane-ns check', () => {
  it('--server and --zones: the zone is checked at that server, the TLSA matches the file', async () => {
    const r = await run(['check', 'check.example', '--zones', dir, '--server', `127.0.0.1:${port}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok {4}check\.example\. DNSKEY: /m);
    expect(r.stdout).toMatch(/^ok {4}_25\._tcp\.mx\.check\.example\. TLSA: 1 record\(s\) published and signed/m);
    expect(r.stdout).not.toMatch(/live/);
  });

  it('without --server and --zones: DANE_NS_LISTEN (a wildcard means loopback) and DANE_NS_ZONES', async () => {
    const r = await run(['check', 'check.example'], { DANE_NS_LISTEN: `0.0.0.0:${port}`, DANE_NS_ZONES: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok {4}check\.example\. SOA: /m);
    // --server wins over DANE_NS_LISTEN: nothing answers there.
    const other = await freePort();
    const f = await run(['check', 'check.example', '--server', `127.0.0.1:${other}`], {
      DANE_NS_LISTEN: `127.0.0.1:${port}`,
      DANE_NS_ZONES: dir,
    });
    expect(f.code).toBe(1);
    expect(f.stdout).toContain(`server: 127.0.0.1:${other}: no answer`);
  });

  it('--live --connect ADDR --smtp-port N: STARTTLS is tried at ADDR:N, and its absence classified', async () => {
    const before = smtpConnections;
    const r = await run([
      'check',
      'check.example',
      '--zones',
      dir,
      '--server',
      `127.0.0.1:${port}`,
      '--live',
      '--connect',
      '127.0.0.1',
      '--smtp-port',
      String(smtpPort),
    ]);
    expect(r.code).toBe(1);
    expect(smtpConnections).toBe(before + 1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^FAIL {2}_25\\._tcp\\.mx\\.check\\.example\\. live 127\\.0\\.0\\.1:${smtpPort}: STARTTLS not offered$`,
        'm',
      ),
    );
    expect(r.stdout).toMatch(/^result {2}_25\._tcp\.mx\.check\.example\. starttls-not-supported$/m);
  });

  it('--json: one object with the findings and results of the text output, and the same exit code', async () => {
    const base = ['check', 'check.example', '--zones', dir];
    const text = await run([...base, '--server', `127.0.0.1:${port}`]);
    const r = await run([...base, '--server', `127.0.0.1:${port}`, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as {
      zone: string;
      server: string;
      servedSerial: number;
      failed: boolean;
      findings: { level: string; what: string; detail: string }[];
      results: unknown[];
    };
    expect(o).toMatchObject({ zone: 'check.example.', server: `127.0.0.1:${port}`, failed: false, results: [] });
    expect(o.servedSerial).toBeGreaterThan(0);
    // The same findings, in the same order, as the text lines.
    const lines = text.stdout.trim().split('\n');
    expect(o.findings.map((f) => `${f.level.padEnd(4)}  ${f.what}: ${f.detail}`)).toEqual(
      lines.map((l) => l.replace(/^(ok {2}|warn|FAIL)/, (x) => x.trim().toLowerCase().padEnd(4))),
    );
    expect(o.findings).toContainEqual(
      expect.objectContaining({ level: 'ok', what: '_25._tcp.mx.check.example. TLSA' }),
    );
    // A failing check: exit 1 and `failed`, the findings still one JSON object on stdout.
    const other = await freePort();
    const f = await run([...base, '--server', `127.0.0.1:${other}`, '--json']);
    expect(f.code).toBe(1);
    const fo = JSON.parse(f.stdout) as { failed: boolean; findings: { level: string; detail: string }[] };
    expect(fo.failed).toBe(true);
    expect(fo.findings).toContainEqual(expect.objectContaining({ level: 'fail' }));
    expect(fo).not.toHaveProperty('servedSerial');
  });

  it.each([
    [['--connect', '127.0.0.1'], /^dane-ns: --connect only applies with --live /],
    [['--smtp-port', '2525'], /^dane-ns: --smtp-port only applies with --live /],
    [['--live', '--smtp-port', '0'], /^dane-ns: --smtp-port: expected a port number 1\.\.65535 \(got "0"\) /],
    [['--live', '--smtp-port', '25x'], /^dane-ns: --smtp-port: expected a port number 1\.\.65535 \(got "25x"\) /],
    [['--live', '--connect', 'mx.example'], /^dane-ns: --connect: expected an IPv4 or IPv6 address/],
    [['--server', 'nowhere'], /^dane-ns: --server: expected ADDR:PORT or \[IPV6\]:PORT \(got "nowhere"\) /],
    [['--server', '127.0.0.1:0'], /^dane-ns: --server: expected a port number 1\.\.65535 \(got "0"\) /],
    [['--resolver', 'nowhere'], /^dane-ns: --resolver: expected ADDR:PORT or \[IPV6\]:PORT \(got "nowhere"\) /],
    [['--resolver', '127.0.0.1:0'], /^dane-ns: --resolver: expected a port number 1\.\.65535 \(got "0"\) /],
    [['--state', 'x'], /^dane-ns: unknown option --state /],
    [['--live=1'], /^dane-ns: --live takes no value/],
    [['--json=1'], /^dane-ns: --json takes no value/],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    expect(usageLine(await run(['check', 'check.example', '--zones', dir, ...flags]))).toMatch(message);
  });

  it('a bad DANE_NS_LISTEN is a usage error naming it, unless --server is given', async () => {
    expect(usageLine(await run(['check', 'check.example'], { DANE_NS_LISTEN: 'nowhere' }))).toMatch(
      /^dane-ns: DANE_NS_LISTEN: expected ADDR:PORT or \[IPV6\]:PORT \(got "nowhere"\) /,
    );
    const r = await run(['check', 'check.example', '--zones', dir, '--server', `127.0.0.1:${port}`], {
      DANE_NS_LISTEN: 'nowhere',
    });
    expect(r.code, r.stderr).toBe(0);
  });
});
