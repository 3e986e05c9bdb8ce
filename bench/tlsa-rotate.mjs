#!/usr/bin/env node
// File change -> new TLSA visible over DNS (target: < 1 s). Starts the built dane-ns on a loopback port
// with a zone whose `mail` host takes its TLSA from a certificate file, then rotates that file ROTATIONS times
// (a new key written to a temporary file and renamed into place, as most tools do) and polls the server over UDP
// every 5 ms until the new 3 1 1 record is answered. Prints every latency, the median and the maximum.
//
//   node bench/tlsa-rotate.mjs            (npm run build first)
//   ROTATIONS=20 PORT=0 node bench/tlsa-rotate.mjs
//
// Bounded: each rotation gives up after 10 s; the server is stopped by PID on exit.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { decodeMessage, encodeQuery } = await import(join(ROOT, 'dist/wire/message.js'));
const { parseName } = await import(join(ROOT, 'dist/wire/name.js'));

const ROTATIONS = Number(process.env.ROTATIONS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'dane-ns-bench-tlsa-'));
for (const d of ['zones', 'certs', 'keys', 'state']) mkdirSync(join(dir, d));
const certPath = join(dir, 'certs', 'mail.pem');

/** A new P-256 key as a public-key PEM (a key file is a valid TLSA source) and its 3 1 1 data. */
function newKey() {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }),
    hex: createHash('sha256').update(der).digest('hex'),
  };
}
function install(pem) {
  const tmp = `${certPath}.tmp`;
  writeFileSync(tmp, pem);
  renameSync(tmp, certPath);
}

let key = newKey();
install(key.pem);
writeFileSync(
  join(dir, 'zones', 'bench.example.yaml'),
  `origin: bench.example.
ttl: 3600
soa: { mname: ns1, rname: h@bench.example, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
tlsa:
  - host: mail
    cert: ${certPath}
    ttl: 300
`,
);

const port = Number(process.env.PORT ?? 15390);
const server = spawn(
  process.execPath,
  [
    join(ROOT, 'dist/cli.js'),
    'serve',
    '--zones',
    join(dir, 'zones'),
    '--keys',
    join(dir, 'keys'),
    '--state',
    join(dir, 'state'),
    '--listen',
    `127.0.0.1:${port}`,
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let log = '';
server.stdout.on('data', (d) => (log += d));
const cleanup = () => {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

const sock = createSocket('udp4');
const owner = parseName('_25._tcp.mail.bench.example.');
let id = 1;
/** The 3 1 1 data (lower-case hex) the server answers now. */
function tlsaNow() {
  return new Promise((resolve) => {
    const q = encodeQuery(owner, 52, { id: (id = (id + 1) & 0xffff), edns: { udpSize: 1232 } });
    const timer = setTimeout(() => resolve(null), 200);
    sock.once('message', (m) => {
      clearTimeout(timer);
      try {
        resolve(
          decodeMessage(new Uint8Array(m))
            .answer.filter((r) => r.type === 52)
            .map((r) => Buffer.from(r.rdata.subarray(3)).toString('hex')),
        );
      } catch {
        resolve(null);
      }
    });
    sock.send(q, port, '127.0.0.1');
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
while (!log.includes('"event":"listening"')) {
  if (Date.now() - t0 > 20_000 || server.exitCode !== null) {
    console.error(`dane-ns did not start:\n${log}`);
    process.exit(1);
  }
  await sleep(50);
}
if (!(await tlsaNow())?.includes(key.hex)) {
  console.error('the initial TLSA is not served');
  process.exit(1);
}

const lat = [];
for (let i = 0; i < ROTATIONS; i++) {
  key = newKey();
  const start = performance.now();
  install(key.pem);
  for (;;) {
    const set = await tlsaNow();
    if (set?.includes(key.hex)) break;
    if (performance.now() - start > 10_000) {
      console.error(
        `rotation ${i + 1}: new TLSA not served after 10 s; server log tail:\n${log.split('\n').slice(-8).join('\n')}`,
      );
      process.exit(1);
    }
    await sleep(5);
  }
  lat.push(performance.now() - start);
  await sleep(150); // let the watcher's debounce window close before the next change
}
sock.close();
const sorted = [...lat].sort((a, b) => a - b);
const median =
  sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
console.log(`tlsa rotation latencies (ms): ${lat.map((x) => x.toFixed(0)).join(' ')}`);
console.log(
  `tlsa rotation: ${lat.length} rotations, median ${median.toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms (target < 1000 ms)`,
);
process.exit(0);
