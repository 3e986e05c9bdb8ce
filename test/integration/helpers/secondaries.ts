/**
 * Real secondaries of dane-ns for the integration tests (RFC 5936 AXFR, RFC 1995 IXFR, RFC 1996 NOTIFY, RFC 8945
 * TSIG): what `dane-ns secondary-config` prints, the daemon configuration around it (NSD, Knot, BIND: listen
 * address and port, their own directories, an ACL that lets the test read the zone back), starting and stopping
 * the daemons by PID, and the canonical form in which two copies of a zone are compared (ldns-read-zone -c, one
 * presentation per record, lines sorted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { exec } from '../../support/exec.js';
import { delay } from '../../support/time.js';
import { CLI } from './server.js';
import { runTool } from './tsigpeer.js';

export type SecondaryKind = 'nsd' | 'knot' | 'bind';

/** What `dane-ns secondary-config ZONE --for KIND --primary 127.0.0.1:PORT` prints. */
export function secondaryConfig(
  zone: string,
  kind: SecondaryKind,
  primaryPort: number,
  zonesDir: string,
  keysDir: string,
): Promise<string> {
  return exec(process.execPath, [
    CLI,
    'secondary-config',
    zone,
    '--for',
    kind,
    '--primary',
    `127.0.0.1:${primaryPort}`,
    '--zones',
    zonesDir,
    '--keys',
    keysDir,
  ]);
}

/**
 * nsd.conf: the server options around the printed clauses; provide-xfr (and outgoing-interface, the source
 * address of its transfers, when given) continue the printed zone: clause.
 */
export function nsdConf(dir: string, port: number, printed: string, source?: string): string {
  return (
    `server:\n    port: ${port}\n    ip-address: 127.0.0.1\n    zonesdir: "${dir}"\n    pidfile: "${dir}/nsd.pid"\n` +
    `    xfrdfile: "${dir}/xfrd.state"\n    xfrdir: "${dir}"\n    zonelistfile: "${dir}/zone.list"\n` +
    `    database: ""\n    username: ""\n    verbosity: 2\nremote-control:\n    control-enable: no\n` +
    printed +
    `    provide-xfr: 127.0.0.1 NOKEY\n` +
    (source === undefined ? '' : `    outgoing-interface: ${source}\n`)
  );
}

/**
 * named.conf: the options around the printed statements (no NOTIFY of its own to the zone's NS addresses; the
 * source address of its transfers when given).
 */
export function bindConf(dir: string, port: number, printed: string, source?: string): string {
  return (
    `options {\n\tdirectory "${dir}";\n\tpid-file "${dir}/named.pid";\n\tsession-keyfile "${dir}/session.key";\n` +
    `\tmanaged-keys-directory "${dir}";\n\tlisten-on port ${port} { 127.0.0.1; };\n\tlisten-on-v6 { none; };\n` +
    `\trecursion no;\n\tdnssec-validation no;\n\tnotify no;\n\tallow-transfer { 127.0.0.1; };\n` +
    (source === undefined ? '' : `\ttransfer-source ${source};\n`) +
    `};\ncontrols { };\n` +
    printed
  );
}

/**
 * knot.conf: server, log (stderr, info: one line per transfer) and storage sections before the printed ones,
 * and an ACL for unsigned AXFR from 127.0.0.1 added to the printed zone's; with a source address, the printed
 * remote transfers from it (via).
 */
export function knotConf(dir: string, port: number, printed: string, source?: string): string {
  const head =
    `server:\n    listen: 127.0.0.1@${port}\n    rundir: ${join(dir, 'run')}\n    pidfile: ${join(dir, 'run', 'knot.pid')}\n` +
    `log:\n  - target: stderr\n    any: info\n` +
    `database:\n    storage: ${join(dir, 'db')}\n` +
    `template:\n  - id: default\n    storage: ${dir}\n`;
  const body = printed
    .replace(/^acl:\n/m, `acl:\n  - id: local-xfr\n    address: 127.0.0.1\n    action: transfer\n`)
    .replace(/^ {4}acl: (\S+)$/m, '    acl: [ $1, local-xfr ]')
    .replace(/^( {4}address: \S+@\d+\n)/m, source === undefined ? '$1' : `$1    via: ${source}\n`);
  expect(body).toContain('local-xfr ]');
  if (source !== undefined) expect(body).toContain(`via: ${source}`);
  return head + body;
}

/**
 * A whole knot.conf written by hand (not from `secondary-config`): Knot on 127.0.0.1@`port` as a secondary of
 * `zone` from dane-ns at 127.0.0.1@`primaryPort`, transfers signed with the TSIG key `knot-xfr` (hmac-sha256,
 * `secret`), NOTIFY accepted from 127.0.0.1 with that key, logging to stderr.
 */
export function knotNotifiedConf(dir: string, port: number, primaryPort: number, zone: string, secret: string): string {
  return `server:
    listen: 127.0.0.1@${port}
    rundir: ${join(dir, 'run')}
log:
  - target: stderr
    any: info
database:
    storage: ${join(dir, 'db')}
key:
  - id: knot-xfr
    algorithm: hmac-sha256
    secret: ${secret}
remote:
  - id: dane-ns
    address: 127.0.0.1@${primaryPort}
    key: knot-xfr
acl:
  - id: notify-from-dane-ns
    address: 127.0.0.1
    key: knot-xfr
    action: notify
template:
  - id: default
    storage: ${join(dir, 'db')}
zone:
  - domain: ${zone}
    master: dane-ns
    acl: notify-from-dane-ns
`;
}

/** A daemon started by the test, with everything it wrote to stdout and stderr. */
export interface Daemon {
  readonly proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** Starts argv in the foreground (its own output captured); stop() ends it by its PID. */
export function startDaemon(argv: string[]): Daemon {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  return { proc, log: () => log, stop: () => stopProcess(proc) };
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([exited, delay(10_000)]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** The records of a kdig AXFR (comments, TSIG and the closing SOA left out). */
export function transferRecords(out: string): string[] {
  const rrs = wholeTransfer(out);
  expect(rrs, `not a whole AXFR:\n${out.slice(-2000)}`).toBeDefined();
  return rrs!;
}

/** transferRecords, or undefined when the output is not a whole transfer (it does not end with the SOA). */
export function wholeTransfer(out: string): string[] | undefined {
  const rrs = out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l));
  return rrs.length > 1 && /\sSOA\s/.test(rrs.at(-1)!) ? rrs.slice(0, -1) : undefined;
}

/**
 * Records in canonical form, through the file `file`: ldns-read-zone -c (one presentation per record), sorted.
 * With zeroSignatures (-0) the RRSIG times and signature octets are zeroed, for a copy signed at another time.
 */
export async function canonical(lines: string[], file: string, zeroSignatures = false): Promise<string[]> {
  writeFileSync(file, lines.join('\n') + '\n');
  const r = await runTool('ldns-read-zone', ['-c', ...(zeroSignatures ? ['-0'] : []), file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).join(' '))
    .sort();
}
