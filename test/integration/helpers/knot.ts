/**
 * Knot DNS (knotd) as an oracle: serves RFC 1035 zone texts on a loopback port from a private temp directory.
 *
 * Written against Knot DNS 3.2 (Debian 12). Zones are loaded whole from the files, never written back
 * (`zonefile-sync: -1`), and no journal is kept, so the served data is exactly the zone text.
 *
 * With `dnssec: true` Knot signs every zone itself (automatic key management, ECDSA P-256, NSEC, no CDS/CDNSKEY,
 * which Knot would publish at the apex while the KSK awaits submission, changing the apex NSEC bitmap), keeps
 * its keys in `<dir>/keys`, and allows zone transfers (AXFR) from 127.0.0.1 so a test can read the whole signed
 * zone. Readiness then also waits until the apex answers with a DNSKEY RRset.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './dig.js';
import { delay } from '../../support/time.js';
import { absoluteName } from '../../support/names.js';

export interface KnotZone {
  /** Zone apex, e.g. `example.com.` (trailing dot optional). */
  origin: string;
  /** Zone text in RFC 1035 syntax. A `$ORIGIN` line for the apex is prepended. */
  text: string;
}

export interface KnotOptions {
  zones: KnotZone[];
  port: number;
  /** Directory to hold config, zone files, databases and the run dir (default: a new temp dir, removed on stop). */
  dir?: string;
  /** Also listen on [::1]:port. */
  ipv6?: boolean;
  /** UDP worker threads (default 1). */
  udpWorkers?: number;
  /** TCP worker threads (default 1). */
  tcpWorkers?: number;
  /** Background worker threads (zone loading; default 1). */
  backgroundWorkers?: number;
  /**
   * Have Knot sign the zones (policy `dane-ns-oracle`: ecdsap256sha256, NSEC, `cds-cdnskey-publish: none`, key
   * storage in `<dir>/keys`) and allow AXFR from 127.0.0.1 (ACL `local`). Default false: served unsigned.
   */
  dnssec?: boolean;
  /** Milliseconds to wait until every zone answers its SOA (default 15 s). */
  startTimeoutMs?: number;
}

export interface KnotInstance {
  port: number;
  /** Directory holding knot.conf, the zone files and Knot's state. */
  dir: string;
  proc: ChildProcess;
  /** What knotd has logged so far (stderr and stdout). */
  logs(): string;
  stop(): Promise<void>;
}

function zoneFileName(origin: string, index: number): string {
  const base = origin === '.' ? 'root' : origin.slice(0, -1).replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${String(index).padStart(2, '0')}-${base}.zone`;
}

/** YAML double-quoted scalar (paths from mkdtemp are plain, but be safe). */
function q(s: string): string {
  return JSON.stringify(s);
}

/** The knot.conf text for the given options (exported for debugging and for the bench's documentation). */
export function knotConfig(dir: string, opts: KnotOptions, files: readonly { origin: string; file: string }[]): string {
  const listen = [`127.0.0.1@${opts.port}`];
  if (opts.ipv6 === true) listen.push(`::1@${opts.port}`);
  const lines = [
    'server:',
    `    rundir: ${q(join(dir, 'run'))}`,
    `    pidfile: ${q(join(dir, 'run', 'knot.pid'))}`,
    `    udp-workers: ${opts.udpWorkers ?? 1}`,
    `    tcp-workers: ${opts.tcpWorkers ?? 1}`,
    `    background-workers: ${opts.backgroundWorkers ?? 1}`,
    `    listen: [ ${listen.join(', ')} ]`,
    '',
    'database:',
    `    storage: ${q(join(dir, 'db'))}`,
    '',
    'log:',
    '  - target: stderr',
    '    any: info',
    '',
  ];
  const signed = opts.dnssec === true;
  if (signed) {
    lines.push(
      'keystore:',
      '  - id: local-keys',
      '    backend: pem',
      `    config: ${q(join(dir, 'keys'))}`,
      '',
      'policy:',
      '  - id: dane-ns-oracle',
      '    keystore: local-keys',
      '    algorithm: ecdsap256sha256',
      '    nsec3: off',
      '    cds-cdnskey-publish: none',
      '',
      'acl:',
      '  - id: local',
      '    address: 127.0.0.1',
      '    action: transfer',
      '',
    );
  }
  lines.push(
    'template:',
    '  - id: default',
    `    storage: ${q(join(dir, 'zones'))}`,
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    ...(signed ? ['    dnssec-signing: on', '    dnssec-policy: dane-ns-oracle', '    acl: local'] : []),
    '',
    'zone:',
    ...files.flatMap((f) => [`  - domain: ${q(f.origin)}`, `    file: ${q(f.file)}`]),
    '',
  );
  return lines.join('\n');
}

/** Builds a query for `name` and `qtype` (default SOA; wire format) with the given ID. */
function soaQuery(name: string, id: number, qtype = 6): Buffer {
  const labels = name === '.' ? [] : name.slice(0, -1).split('.');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0, 2); // no RD
  header.writeUInt16BE(1, 4);
  parts.push(header);
  for (const label of labels) {
    const b = Buffer.from(label, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

/** One raw UDP probe (SOA unless `qtype`): true when the response is authoritative NOERROR with an answer. */
function probeSoa(port: number, origin: string, timeoutMs: number, qtype = 6): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 0x10000);
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('error', () => finish(false));
    sock.on('message', (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      const flags = msg.readUInt16BE(2);
      const aa = (flags & 0x0400) !== 0;
      const rcode = flags & 0x000f;
      const ancount = msg.readUInt16BE(6);
      finish(aa && rcode === 0 && ancount > 0);
    });
    sock.send(soaQuery(origin, id, qtype), port, '127.0.0.1', (err) => {
      if (err) finish(false);
    });
  });
}

/**
 * Starts knotd serving the zones on 127.0.0.1:port (and [::1]:port with ipv6) and resolves once every zone
 * answers its SOA authoritatively. Rejects with knotd's log when it exits or does not get ready in time.
 */
export async function startKnot(opts: KnotOptions): Promise<KnotInstance> {
  if (opts.zones.length === 0) throw new Error('startKnot: no zones');
  const knotd = requireTool('knotd');
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dane-ns-knot-')));
  const subs = opts.dnssec === true ? ['run', 'db', 'zones', 'keys'] : ['run', 'db', 'zones'];
  for (const sub of subs) await mkdir(join(dir, sub), { recursive: true });

  const files = opts.zones.map((z, i) => {
    const origin = absoluteName(z.origin);
    return { origin, file: join(dir, 'zones', zoneFileName(origin, i)), text: z.text };
  });
  for (const f of files) {
    const body = f.text.endsWith('\n') ? f.text : `${f.text}\n`;
    await writeFile(f.file, `$ORIGIN ${f.origin}\n${body}`);
  }
  const conf = join(dir, 'knot.conf');
  await writeFile(conf, knotConfig(dir, opts, files));

  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > 256 * 1024) log = log.slice(-128 * 1024);
  };
  const proc = spawn(knotd, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      resolve();
    });
    proc.once('error', (err) => {
      exited = `spawn error: ${err.message}`;
      resolve();
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (exited === null && proc.pid !== undefined) {
        proc.kill('SIGTERM');
        const killTimer = setTimeout(() => {
          if (exited === null) proc.kill('SIGKILL');
        }, 3000);
        await exitPromise;
        clearTimeout(killTimer);
      }
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  const pending = new Set(files.map((f) => f.origin));
  try {
    while (pending.size > 0) {
      if (exited !== null) throw new Error(`knotd exited before it was ready (${exited as string})`);
      if (Date.now() > deadline) {
        throw new Error(
          `knotd did not answer ${opts.dnssec === true ? 'SOA and DNSKEY' : 'SOA'} for ${[...pending].join(', ')} within ${opts.startTimeoutMs ?? 15_000} ms`,
        );
      }
      for (const origin of [...pending]) {
        // Signed zones: ready once the apex also answers its DNSKEY RRset (48), i.e. Knot has signed it.
        const ready =
          (await probeSoa(opts.port, origin, 200)) &&
          (opts.dnssec !== true || (await probeSoa(opts.port, origin, 200, 48)));
        if (ready) pending.delete(origin);
      }
      if (pending.size > 0) await delay(50);
    }
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\nconfig ${conf}:\n${knotConfig(dir, opts, files)}\nknotd log:\n${log}`);
  }

  return { port: opts.port, dir, proc, logs: () => log, stop };
}
