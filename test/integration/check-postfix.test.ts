/**
 * `dane-ns check --live` against a real Postfix in a private network namespace (helpers/netns.ts, postfix.ts):
 * dane-ns (127.0.0.1:5353 in the namespace) serves example.com with a tlsa: entry for mail on ports 25 and 465;
 * Postfix listens on 127.0.0.1:25 with STARTTLS and on 127.0.0.1:465 with implicit TLS
 * (`smtpd_tls_wrappermode = yes`). check finds the address at the server and says ok for both: STARTTLS on 25,
 * a TLS handshake at once on 465 (before, it sent EHLO into the TLS port and reported starttls-not-supported).
 * A port nothing listens on is `unreachable`, not starttls-not-supported.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, type CertPair } from './helpers/certs.js';
import { requireTool } from './helpers/dig.js';
import { createNetns, execInNetns, waitTcpInNetns, type Netns } from './helpers/netns.js';
import { startPostfix, type PostfixInstance } from './helpers/postfix.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'example.com.';
const DANE_PORT = 5353;

let ns: Netns | undefined;
let dir: string;
let zonesDir: string;
let dane: DaneNsInstance | undefined;
let postfix: PostfixInstance | undefined;
let good: CertPair;

beforeAll(async () => {
  for (const tool of ['ip', 'postfix', 'postconf', 'openssl']) requireTool(tool);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-check-postfix-'));
  good = await makeCert(join(dir, 'certs'), { name: 'good', kind: 'ec' });
  ns = await createNetns();
  zonesDir = join(dir, 'zones');
  mkdirSync(zonesDir);
  writeFileSync(
    join(zonesDir, `${ZONE}yaml`),
    `origin: ${ZONE}\nttl: 300\nsoa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 60 }\nrecords:\n  "@": { NS: ns1, MX: 10 mail }\n  ns1: { A: 127.0.0.1 }\n  mail: { A: 127.0.0.1 }\ntlsa:\n  - host: mail\n    ports: [25, 465, 2465]\n    cert: ${good.certPath}\n`,
  );
  dane = await startDaneNs({
    zonesDir,
    port: DANE_PORT,
    keysDir: join(dir, 'keys'),
    stateDir: join(dir, 'state'),
    netns: ns.name,
  });
  postfix = await startPostfix({ netns: ns.name, certPath: good.certPath, keyPath: good.keyPath, wrapperPort: 465 });
  await waitTcpInNetns(ns.name, '127.0.0.1', 465);
});

afterAll(async () => {
  await postfix?.stop();
  await dane?.stop();
  await ns?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('dane-ns check --live against Postfix', () => {
  it('STARTTLS on 25 and implicit TLS on 465 are ok; 2465 (closed) is unreachable', async () => {
    const r = await execInNetns(ns!.name, process.execPath, [
      CLI,
      'check',
      ZONE,
      '--zones',
      zonesDir,
      '--keys',
      join(dir, 'keys'),
      '--server',
      `127.0.0.1:${DANE_PORT}`,
      '--resolver',
      `127.0.0.1:${DANE_PORT}`,
      '--live',
    ]);
    const context = `${r.stdout}${r.stderr}\n--- maillog ---\n${postfix?.logs().slice(-3000) ?? ''}`;
    expect(r.stdout, context).toMatch(
      new RegExp(
        `^ok {4}_25\\._tcp\\.mail\\.example\\.com\\. live 127\\.0\\.0\\.1:25: TLSv1\\.[23], presented 3 1 1 ${good.tlsa311} \\(matches\\)`,
        'im',
      ),
    );
    expect(r.stdout, context).toMatch(
      new RegExp(
        `^ok {4}_465\\._tcp\\.mail\\.example\\.com\\. live 127\\.0\\.0\\.1:465: TLSv1\\.[23] \\(implicit\\), presented 3 1 1 ${good.tlsa311} \\(matches\\)`,
        'im',
      ),
    );
    expect(r.stdout).toMatch(/^result {2}_25\._tcp\.mail\.example\.com\. ok$/m);
    expect(r.stdout).toMatch(/^result {2}_465\._tcp\.mail\.example\.com\. ok$/m);
    expect(r.stdout).toMatch(
      /^FAIL {2}_2465\._tcp\.mail\.example\.com\. live 127\.0\.0\.1:2465: unreachable \(.*ECONNREFUSED.*\): is the MTA listening on 127\.0\.0\.1:2465\?$/m,
    );
    expect(r.stdout).toMatch(/^result {2}_2465\._tcp\.mail\.example\.com\. unreachable$/m);
    expect(r.stdout).not.toMatch(/starttls-not-supported/);
    expect(r.code).toBe(1); // the closed port
  });
});
