/**
 * pebble, Debian's local ACME CA (RFC 8555), for the ACME tests: its own TLS certificate (which the ACME clients
 * are told to trust: certbot's REQUESTS_CA_BUNDLE, lego's LEGO_CA_CERTIFICATES), validation without the usual
 * random sleep, no authorization reuse (every order is validated afresh), and DNS-01 validation (RFC 8555
 * §8.4) asking the one DNS server given (`-dnsserver`), inside a network namespace (helpers/netns.ts) or on the
 * host's loopback (`LOOPBACK`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../../support/exec.js';
import { requireTool } from './dig.js';
import type { Netns } from './netns.js';
import { stopProcess } from './secondaries.js';

/** Where pebble runs: a network namespace (a Netns), or the host's own loopback. */
export type PebblePlace = Pick<Netns, 'spawn' | 'waitTcp'>;

/** The host itself: pebble on its loopback, ready once its port accepts a connection. */
export const LOOPBACK: PebblePlace = {
  spawn: (cmd, args, opts) => spawn(cmd, args, opts ?? {}),
  waitTcp: async (host, port, timeoutMs = 15_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const c = connect({ host, port });
        c.once('connect', () => (c.destroy(), resolve(true)));
        c.once('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  },
};

export interface PebbleInstance {
  /** The ACME directory URL. */
  directory: string;
  /** pebble's TLS certificate (PEM), for the clients to trust. */
  cert: string;
  /** Everything pebble wrote so far. */
  logs(): string;
  /** Authorizations set valid by a completed challenge so far. */
  validations(): number;
  stop(): Promise<void>;
}

/**
 * Starts pebble in `ns` on 127.0.0.1:`port` (management on `mgmtPort`, by default port + 1), asking `dnsServer`
 * (ADDR:PORT).
 */
export async function startPebble(
  ns: PebblePlace,
  dir: string,
  port: number,
  dnsServer: string,
  mgmtPort = port + 1,
): Promise<PebbleInstance> {
  const cert = join(dir, 'pebble-cert.pem');
  const key = join(dir, 'pebble-key.pem');
  await exec(requireTool('openssl'), [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
    ...['-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
  ]);
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: cert,
      privateKey: key,
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config));
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
  const args = ['-config', join(dir, 'pebble.json'), '-dnsserver', dnsServer];
  const proc: ChildProcess = ns.spawn(requireTool('pebble'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const stop = (): Promise<void> => stopProcess(proc);
  try {
    await ns.waitTcp('127.0.0.1', port, 15_000);
  } catch (e) {
    await stop();
    throw new Error(`pebble did not listen on 127.0.0.1:${port}: ${(e as Error).message}\n${log}`);
  }
  return {
    directory: `https://127.0.0.1:${port}/dir`,
    cert,
    logs: () => log,
    validations: () => log.match(/set VALID by completed challenge/g)?.length ?? 0,
    stop,
  };
}
