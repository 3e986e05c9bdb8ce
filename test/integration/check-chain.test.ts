/**
 * `dane-ns check ZONE` follows the chain and speaks to every address (src/check/chain.ts, live.ts):
 *   a child dane-ns serves good.example., bad.example. and nods.example. (keys in its own keys directory);
 *   a parent dane-ns serves example. with delegations: good with the DS `dane-ns ds` prints for it, bad with the
 *   DS of another key set, nods without DS. The parent is asked as the "resolver" (--resolver 127.0.0.1:PORT): it
 *   gives an authoritative answer, not a recursive one, which is the same DS RRset for this purpose.
 * Then --live against good.example.'s mx host (A 127.0.0.1 and AAAA ::1, TLSA _465._tcp): a node:tls server that
 * speaks SMTP only after an implicit TLS handshake, as Postfix's `smtpd_tls_wrappermode = yes` service does (a
 * stand-in for Postfix on port 465; STARTTLS with a real Postfix is tested in dane-tlsa-e2e.test.ts), listening
 * on both loopback addresses -> two ok lines; a closed port -> two unreachable lines, quickly; far.example.'s
 * host has no address at the server, so its address comes from --resolver (the parent serves mx.far.example.).
 */
import { createServer, type Server } from 'node:tls';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../cli/run.js';
import { makeCert, type CertPair } from './helpers/certs.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-check-chain-'));
const zonesDir = join(dir, 'zones');
const parentZones = join(dir, 'parent-zones');
const keysDir = join(dir, 'keys');
const otherKeys = join(dir, 'other-keys');
let child: DaneNsInstance | undefined;
let parent: DaneNsInstance | undefined;
let cert: CertPair;
let tls: Server | undefined;
let tlsPort: number;
let tlsConnections = 0;

const childZone = (origin: string, tlsa: string): string =>
  `origin: ${origin}\nttl: 300\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 300 }\nrecords:\n  "@": { NS: ns1, MX: 10 mx }\n  ns1: { A: 127.0.0.1 }\n  mx: { A: 127.0.0.1, AAAA: "::1" }\n${tlsa}`;

/** The DS lines `dane-ns ds` prints, as the rdata text "tag 13 2 HEX". */
async function ds(zone: string, keys: string): Promise<string> {
  const r = await run(['ds', zone, '--keys', keys]);
  expect(r.code, r.stderr).toBe(0);
  const f = r.stdout.trim().split('\n')[0]!.trim().split(/\s+/);
  return f.slice(-4).join(' ');
}

beforeAll(async () => {
  mkdirSync(zonesDir);
  mkdirSync(parentZones);
  cert = await makeCert(join(dir, 'certs'), { name: 'mx', kind: 'ec' });
  writeFileSync(
    join(zonesDir, 'good.example.yaml'),
    childZone('good.example.', `tlsa:\n  - host: mx\n    ports: [465]\n    cert: ${cert.certPath}\n`),
  );
  writeFileSync(join(zonesDir, 'bad.example.yaml'), childZone('bad.example.', ''));
  writeFileSync(join(zonesDir, 'nods.example.yaml'), childZone('nods.example.', ''));
  writeFileSync(join(zonesDir, 'outside.test.yaml'), childZone('outside.test.', ''));
  // far.example.'s TLSA host has no address in far.example.: the parent serves it in a zone of its own.
  writeFileSync(
    join(zonesDir, 'far.example.yaml'),
    `origin: far.example.\nttl: 300\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 300 }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 127.0.0.1 }\ntlsa:\n  - host: mx\n    ports: [465]\n    cert: ${cert.certPath}\n`,
  );
  writeFileSync(
    join(parentZones, 'mx.far.example.yaml'),
    'origin: mx.far.example.\nttl: 300\nsoa: { mname: ns1.example., rname: h, serial: 1, minimum: 300 }\nrecords:\n  "@": { NS: ns1.example., A: 127.0.0.1 }\n',
  );
  for (const z of ['good.example', 'bad.example', 'nods.example', 'outside.test'])
    expect((await run(['keys', 'generate', z, '--keys', keysDir, '--state', join(dir, 'state')])).code).toBe(0);
  // Another key set for bad.example. (and good.example.): the DS at the parent and the --keys that do not match.
  for (const z of ['good.example', 'bad.example'])
    expect((await run(['keys', 'generate', z, '--keys', otherKeys, '--state', join(dir, 'other-state')])).code).toBe(0);
  const [port, parentPort] = [await freePort(), await freePort()];
  child = await startDaneNs({ zonesDir, port, keysDir, stateDir: join(dir, 'state') });
  writeFileSync(
    join(parentZones, 'example.yaml'),
    [
      'origin: example.',
      'ttl: 300',
      'soa: { mname: ns1, rname: h, serial: 1, minimum: 300 }',
      'records:',
      '  "@": { NS: ns1 }',
      '  ns1: { A: 127.0.0.1 }',
      `  good: { NS: ns1.good, DS: "${await ds('good.example', keysDir)}" }`,
      `  bad: { NS: ns1.bad, DS: "${await ds('bad.example', otherKeys)}" }`,
      '  nods: { NS: ns1.nods }',
      '',
    ].join('\n'),
  );
  parent = await startDaneNs({ zonesDir: parentZones, port: parentPort });
  // Implicit TLS: the handshake first, then the SMTP greeting inside it.
  tls = createServer({ cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) }, (s) => {
    s.on('error', () => undefined);
    s.write('220 implicit-tls stand-in ESMTP\r\n');
    s.on('data', () => s.end('221 bye\r\n'));
  });
  // Counted at accept: the server's own secureConnection may come after the client has its session and is gone.
  tls.on('connection', () => void tlsConnections++);
  await new Promise<void>((r) => tls!.listen(0, '::', r)); // dual stack: 127.0.0.1 and ::1
  tlsPort = (tls.address() as { port: number }).port;
});

afterAll(async () => {
  await child?.stop();
  await parent?.stop();
  if (tls) await new Promise((r) => tls!.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const check = (zone: string, ...flags: string[]) =>
  run(['check', zone, '--zones', zonesDir, '--server', `127.0.0.1:${child!.port}`, ...flags]);
const lines = (out: string): string[] => out.trim().split('\n');

describe('dane-ns check: the chain', () => {
  it('the served keys are the key files and the parent DS matches the served KSK: ok', async () => {
    const tag = (await ds('good.example', keysDir)).split(' ')[0];
    const r = await check('good.example', '--keys', keysDir, '--resolver', `127.0.0.1:${parent!.port}`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^ok {4}good\\.example\\. DNSKEY: the 2 served keys are those of ${keysDir}$`, 'm'),
    );
    expect(r.stdout).toContain(
      `ok    good.example. DS: DS ${tag} 13 2 at the parent (resolver 127.0.0.1:${parent!.port})`,
    );
    // The parent's DS next to the served KSKs.
    expect(r.stdout).toMatch(
      new RegExp(`matches the served KSK; the parent's DS: ${tag} 13 2; served KSKs: ${tag}$`, 'm'),
    );
  });

  it('--keys with other keys: every served key fails by its tag, the unserved key files warn', async () => {
    const r = await check('good.example', '--keys', otherKeys, '--resolver', `127.0.0.1:${parent!.port}`);
    expect(r.code).toBe(1);
    const fails = lines(r.stdout).filter((l) =>
      /^FAIL {2}good\.example\. DNSKEY: served key tag \d+ is not in /.test(l),
    );
    expect(fails, r.stdout).toHaveLength(2);
    expect(fails[0]).toMatch(new RegExp(`is not in ${otherKeys}$`));
    const warns = lines(r.stdout).filter((l) =>
      /^warn {2}good\.example\. DNSKEY: key tag \d+ of .* is active but not served/.test(l),
    );
    expect(warns, r.stdout).toHaveLength(2);
  });

  it('DS records at the parent that match no served KSK: FAIL naming dnssec-invalid', async () => {
    const r = await check('bad.example', '--keys', keysDir, '--resolver', `127.0.0.1:${parent!.port}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL {2}bad\.example\. DS: no DS at the parent \(resolver 127\.0\.0\.1:\d+; tag\/digest \d+\/2\) matches a served KSK \(\d+\): validating senders report dnssec-invalid \(4\.7\.324\)$/m,
    );
  });

  it('no DS at the parent: a warning (insecure delegation), exit 0', async () => {
    const r = await check('nods.example', '--keys', keysDir, '--resolver', `127.0.0.1:${parent!.port}`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(
      /^warn {2}nods\.example\. DS: no DS at the parent \(resolver 127\.0\.0\.1:\d+\): an insecure delegation, DANE is not in effect/m,
    );
    // The line to hand to the registrar is the one `dane-ns ds` prints.
    const line = (await run(['ds', 'nods.example', '--keys', keysDir])).stdout.trim();
    expect(r.stdout).toContain(`give the parent \`dane-ns ds\`: ${line}`);
  });

  it('a resolver that does not answer, and one that refuses: warnings that say which, exit 0', async () => {
    const silent = await freePort();
    const t0 = Date.now();
    const r = await check('nods.example', '--keys', keysDir, '--resolver', `127.0.0.1:${silent}`);
    expect(Date.now() - t0).toBeLessThan(4000); // one try of 2 s, not the DNS client's retry
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(
      `warn  nods.example. DS: resolver 127.0.0.1:${silent} not asked: no answer from 127.0.0.1:${silent} within 2000 ms`,
    );
    // An address alone means port 53 (whatever is or is not there, the line names where it asked).
    const p53 = await check('nods.example', '--keys', keysDir, '--resolver', '127.0.0.1');
    expect(p53.stdout).toMatch(/^(warn|ok) {2,4}nods\.example\. DS: .*resolver 127\.0\.0\.1:53\b/m);
    // The parent serves no zone above outside.test.: it refuses the question (RFC 1035 §4.1.1, rcode 5).
    const x = await check('outside.test', '--keys', keysDir, '--resolver', `127.0.0.1:${parent!.port}`);
    expect(x.code, x.stdout).toBe(0);
    expect(x.stdout).toContain(
      `warn  outside.test. DS: resolver 127.0.0.1:${parent!.port} answered rcode REFUSED: the DS is unknown`,
    );
  });
});

describe('dane-ns check --live: implicit TLS on 465, every address, unreachable', () => {
  it('a TLSA on port 465: TLS at once (no STARTTLS), one ok line and one result per address (A and AAAA)', async () => {
    const before = tlsConnections;
    const r = await check('good.example', '--keys', keysDir, '--live', '--smtp-port', String(tlsPort));
    expect(r.code, r.stdout).toBe(0);
    expect(tlsConnections).toBe(before + 2);
    for (const at of [`127.0.0.1:${tlsPort}`, `[::1]:${tlsPort}`])
      expect(r.stdout).toMatch(
        new RegExp(
          `^ok {4}_465\\._tcp\\.mx\\.good\\.example\\. live ${at.replace(/[.[\]]/g, '\\$&')}: TLSv1\\.3 \\(implicit\\), presented 3 1 1 ${cert.tlsa311} \\(matches\\), valid until .*: ok$`,
          'im',
        ),
      );
    expect(lines(r.stdout).filter((l) => l === 'result  _465._tcp.mx.good.example. ok')).toHaveLength(2);
  });

  it('a closed port: unreachable at each address, quickly, not starttls-not-supported', async () => {
    const closed = await freePort();
    const t0 = Date.now();
    const r = await check('good.example', '--keys', keysDir, '--live', '--smtp-port', String(closed));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^FAIL {2}_465\\._tcp\\.mx\\.good\\.example\\. live 127\\.0\\.0\\.1:${closed}: unreachable \\(.*ECONNREFUSED.*\\): is the MTA listening on 127\\.0\\.0\\.1:${closed}\\?$`,
        'm',
      ),
    );
    expect(r.stdout).toContain(`is the MTA listening on [::1]:${closed}?`);
    expect(lines(r.stdout).filter((l) => l === 'result  _465._tcp.mx.good.example. unreachable')).toHaveLength(2);
    expect(r.stdout).not.toMatch(/starttls-not-supported/);
  });

  it('a host without an address at the server: its addresses from --resolver', async () => {
    const r = await check(
      'far.example',
      '--keys',
      keysDir,
      '--live',
      '--smtp-port',
      String(tlsPort),
      '--resolver',
      `127.0.0.1:${parent!.port}`,
    );
    expect(r.stdout).toMatch(
      new RegExp(`^ok {4}_465\\._tcp\\.mx\\.far\\.example\\. live 127\\.0\\.0\\.1:${tlsPort}: TLS.*: ok$`, 'm'),
    );
    expect(lines(r.stdout).filter((l) => l.startsWith('result'))).toEqual(['result  _465._tcp.mx.far.example. ok']);
    // Without a resolver that knows it (a silent one), the line says where it looked.
    const silent = await check(
      'far.example',
      '--keys',
      keysDir,
      '--live',
      '--resolver',
      `127.0.0.1:${await freePort()}`,
    );
    expect(silent.code).toBe(1);
    expect(silent.stdout).toContain(
      'FAIL  _465._tcp.mx.far.example. live: mx.far.example. has no A or AAAA record at the server or the resolver: give --connect ADDR',
    );
  });

  it('--connect ADDR: only that address', async () => {
    const r = await check(
      'good.example',
      '--keys',
      keysDir,
      '--live',
      '--connect',
      '::1',
      '--smtp-port',
      String(tlsPort),
    );
    expect(r.code, r.stdout).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith('result'))).toEqual(['result  _465._tcp.mx.good.example. ok']);
    expect(r.stdout).toContain(`live [::1]:${tlsPort}: TLS`);
  });
});
