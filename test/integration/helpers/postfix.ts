/**
 * A private Postfix instance inside a test network namespace (helpers/netns.ts): smtpd on 127.0.0.1:25 (or a
 * given loopback address and port) offering STARTTLS with a given certificate and key file, and optionally a
 * second smtpd with implicit TLS (wrapper mode, as on port 465). Postfix 3.7 (Debian
 * 12). Nothing of the system's Postfix is used or touched (there need not be an /etc/postfix/main.cf).
 *
 * The instance lives in one directory (a temp dir by default, mode 0755 so the `postfix` user can enter it):
 *   etc/main.cf, etc/master.cf  config_directory (only the services smtpd needs; chroot off everywhere)
 *   queue/                      queue_directory, made by `postfix check`; queue/pid/master.pid
 *   data/                       data_directory, owned by the postfix user
 *   maillog                     maillog_file (logs(); via postlogd, so maillog_file_prefixes names the dir)
 * Every transport is `error:`, mydestination and relayhost are empty: it never delivers or relays anything.
 *
 * The master daemon is spawned directly (`ip netns exec NS .../master -d -c ETC`, detached so that it leads its
 * own process group: on SIGTERM it kills that group, i.e. its children, and exits), so its PID is known and
 * stop() needs no pid file. Postfix writes nothing useful to stderr when stderr is not a terminal: errors from
 * `postfix check` and the daemons are in maillog, which every error message here includes.
 *
 * Certificates: smtpd reads smtpd_tls_cert_file / smtpd_tls_key_file when a process starts, and after
 * `postfix reload` a still-running smtpd may present the old certificate once. So setCertificate() and restart()
 * stop the whole instance (master and its process group gone, port closed) and start it again, and then wait
 * until the certificate presented on the port (read with `openssl s_client -starttls smtp` inside the namespace)
 * is the configured one. smtpd also runs with max_use=1, so no smtpd serves two connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsa311 } from './certs.js';
import { requireTool } from './dig.js';
import { execInNetns, tcpOpenInNetns } from './netns.js';
import { delay } from '../../support/time.js';

export interface PostfixOptions {
  /** Network namespace name (createNetns().name). */
  netns: string;
  /** PEM certificate (chain) file smtpd presents. */
  certPath: string;
  /** PEM private key file for it. */
  keyPath: string;
  /** myhostname, used in the banner and EHLO (default `mail.example.com`). */
  myhostname?: string;
  /** Listening address, must exist on the namespace's lo (default 127.0.0.1). */
  address?: string;
  /** Listening port (default 25). */
  port?: number;
  /**
   * Also listen on this port with implicit TLS (a second smtpd service with `smtpd_tls_wrappermode = yes`, as
   * Postfix's `submissions`/`smtps` service on 465 does, RFC 8314 §3.3).
   */
  wrapperPort?: number;
  /** Instance directory (default: a new temp dir, removed by stop()). */
  dir?: string;
  /** Extra main.cf lines (`name = value`), appended last. */
  mainCf?: string[];
  /** Milliseconds for start-up / restart until the certificate is presented (default 20 s). */
  startTimeoutMs?: number;
}

export interface PostfixInstance {
  dir: string;
  /** config_directory (holds main.cf and master.cf). */
  configDir: string;
  logFile: string;
  address: string;
  port: number;
  /** PID of the running master daemon, or null while stopped. */
  masterPid(): number | null;
  /** The maillog so far, plus anything the master wrote to stdout/stderr. */
  logs(): string;
  /** TLSA 3 1 1 data (lower-case hex) of the certificate smtpd presents now, via openssl s_client -starttls smtp. */
  presentedTlsa311(): Promise<string>;
  /** Points smtpd_tls_cert_file/key_file at these files, restarts, waits until the new certificate is presented. */
  setCertificate(certPath: string, keyPath: string): Promise<void>;
  /** Stops and starts the instance (e.g. after the certificate files changed in place); waits as above. */
  restart(): Promise<void>;
  /** Stops the master and every Postfix process of this instance; removes a temp dir. Idempotent. */
  stop(): Promise<void>;
}

const SERVICES = `# service type private unpriv chroot wakeup maxproc command
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
`;

function postfixIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postfix:'));
  const parts = line?.split(':');
  if (parts === undefined || parts.length < 4)
    throw new Error('startPostfix: no postfix user in /etc/passwd (Debian package postfix)');
  return { uid: Number(parts[2]), gid: Number(parts[3]) };
}

/**
 * PIDs of the live (not zombie) processes in process group pgid, from /proc. Zombies are left out: the master's
 * children are reparented to PID 1 when it exits, and a container's PID 1 may reap them only after a while.
 */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === pgid) out.push(Number(entry));
  }
  return out;
}

/** Writes the config, creates the queue (`postfix check`), starts the master; resolves once smtpd presents certPath. */
export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  const postfixBin = requireTool('postfix');
  const postconf = requireTool('postconf');
  const openssl = requireTool('openssl');
  requireTool('ip');
  const daemonDir =
    (await execInNetns(opts.netns, postconf, ['-dh', 'daemon_directory'], { timeoutMs: 10_000 })).stdout.trim() ||
    '/usr/lib/postfix/sbin';
  const masterBin = join(daemonDir, 'master');
  const { uid, gid } = postfixIds();
  const address = opts.address ?? '127.0.0.1';
  const port = opts.port ?? 25;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dane-ns-postfix-')));
  // The postfix user must be able to enter every directory on the way to queue/ and data/.
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc');
  const queueDir = join(dir, 'queue');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'maillog');
  await mkdir(configDir, { recursive: true });
  await mkdir(queueDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  await chown(dataDir, uid, gid);
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const myhostname = opts.myhostname ?? 'mail.example.com';

  const mainCf = (certPath: string, keyPath: string): string =>
    [
      'compatibility_level = 3.6',
      `config_directory = ${configDir}`,
      `queue_directory = ${queueDir}`,
      `data_directory = ${dataDir}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      `myhostname = ${myhostname}`,
      `mydomain = ${myhostname.replace(/^[^.]+\./, '')}`,
      'myorigin = $myhostname',
      'mydestination =',
      'relayhost =',
      'mynetworks = 127.0.0.0/8',
      `inet_interfaces = ${address}`,
      'inet_protocols = ipv4',
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${logFile}`,
      'smtpd_banner = $myhostname ESMTP',
      'smtpd_tls_security_level = may',
      `smtpd_tls_cert_file = ${certPath}`,
      `smtpd_tls_key_file = ${keyPath}`,
      'smtpd_tls_loglevel = 1',
      'smtpd_tls_session_cache_database =',
      'smtpd_relay_restrictions = reject',
      'default_transport = error:test instance',
      'relay_transport = error:test instance',
      'local_transport = error:test instance',
      'virtual_transport = error:test instance',
      'alias_maps =',
      'alias_database =',
      'biff = no',
      'smtputf8_enable = no',
      ...(opts.mainCf ?? []),
      '',
    ].join('\n');
  // Postfix re-reads a config file whose mtime is within the last second or two, sleeping in between (about 2 s
  // for every command and daemon start): date the files back.
  const writeConf = async (name: string, text: string): Promise<void> => {
    const file = join(configDir, name);
    await writeFile(file, text);
    const past = new Date(Date.now() - 120_000);
    await utimes(file, past, past);
  };
  const writeMainCf = (certPath: string, keyPath: string): Promise<void> =>
    writeConf('main.cf', mainCf(certPath, keyPath));
  let certPath = opts.certPath;
  let keyPath = opts.keyPath;
  await writeMainCf(certPath, keyPath);
  const wrapper =
    opts.wrapperPort === undefined
      ? ''
      : `${address}:${opts.wrapperPort} inet n - n - - smtpd\n  -o max_use=1\n  -o smtpd_tls_wrappermode=yes\n`;
  await writeConf('master.cf', `${address}:${port} inet n - n - - smtpd\n  -o max_use=1\n${wrapper}${SERVICES}`);

  let lastLog = '';
  const readLog = (): string => {
    try {
      lastLog = readFileSync(logFile, 'utf8');
    } catch {
      // removed by stop(): keep the last copy
    }
    return lastLog;
  };
  let out = '';
  const logs = (): string => `${readLog()}${out === '' ? '' : `\n--- master stdout/stderr ---\n${out}`}`;

  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let exitedWith: string | null = null;

  let checked = false;
  const startMaster = async (): Promise<void> => {
    if (await tcpOpenInNetns(opts.netns, address, port, 2000))
      throw new Error(`startPostfix: ${address}:${port} in netns ${opts.netns} is already in use`);
    if (!checked) {
      // `postfix check` creates the queue directories and fixes their ownership; errors go to maillog only.
      const check = await execInNetns(opts.netns, postfixBin, ['-c', configDir, 'check'], { timeoutMs: 30_000 });
      if (check.code !== 0)
        throw new Error(
          `postfix -c ${configDir} check: exit ${String(check.code)}\n${check.stdout}${check.stderr}\nmaillog:\n${readLog()}`,
        );
      checked = true;
    }
    exitedWith = null;
    const p = spawn(requireTool('ip'), ['netns', 'exec', opts.netns, masterBin, '-d', '-c', configDir], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MAIL_CONFIG: configDir },
    });
    const append = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
    };
    p.stdout?.on('data', append);
    p.stderr?.on('data', append);
    exited = new Promise<void>((resolve) => {
      p.once('exit', (code, signal) => {
        exitedWith = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
        resolve();
      });
      p.once('error', (err) => {
        exitedWith = `spawn error: ${err.message}`;
        resolve();
      });
    });
    proc = p;
  };

  const stopMaster = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (p === null || p.pid === undefined) return;
    const pgid = p.pid;
    if (exitedWith === null) {
      p.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        if (exitedWith === null) p.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(killTimer);
    }
    // The master SIGTERMs its process group (its children) before it exits; wait for them, then SIGKILL the rest.
    const deadline = Date.now() + 5000;
    while (groupMembers(pgid).length > 0 && Date.now() < deadline) await delay(20);
    const left = groupMembers(pgid);
    if (left.length > 0) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      const hard = Date.now() + 3000;
      while (groupMembers(pgid).length > 0 && Date.now() < hard) await delay(20);
    }
  };

  const presentedTlsa311 = async (): Promise<string> => {
    const r = await execInNetns(
      opts.netns,
      openssl,
      ['s_client', '-starttls', 'smtp', '-connect', `${address}:${port}`, '-name', myhostname],
      {
        timeoutMs: 15_000,
        input: '',
      },
    );
    const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout);
    if (m === null)
      throw new Error(`${r.command}: no certificate presented (exit ${String(r.code)})\n${r.stdout}\n${r.stderr}`);
    return tlsa311(m[0]);
  };

  const waitPresented = async (what: string): Promise<void> => {
    const want = tlsa311(certPath);
    const deadline = Date.now() + startTimeoutMs;
    let last = '';
    for (;;) {
      if (exitedWith !== null)
        throw new Error(`postfix master exited (${exitedWith as string}) ${what}\nmaillog:\n${logs()}`);
      if (await tcpOpenInNetns(opts.netns, address, port, 2000)) {
        try {
          const got = await presentedTlsa311();
          if (got === want) return;
          last = `presents ${got}, want ${want} (${certPath})`;
        } catch (e) {
          last = (e as Error).message;
        }
      } else {
        last = `nothing listens on ${address}:${port}`;
      }
      if (Date.now() > deadline)
        throw new Error(
          `postfix ${what}: smtpd did not present ${certPath} within ${startTimeoutMs} ms: ${last}\nmaillog:\n${logs()}`,
        );
      await delay(100);
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await stopMaster();
      readLog();
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  const restart = async (): Promise<void> => {
    if (stopped) throw new Error('postfix: restart after stop');
    await stopMaster();
    // The listening socket is gone only when every process that held it is.
    const deadline = Date.now() + 5000;
    while ((await tcpOpenInNetns(opts.netns, address, port, 1000)) && Date.now() < deadline) await delay(50);
    await startMaster();
    await waitPresented('after restart');
  };

  const setCertificate = async (newCert: string, newKey: string): Promise<void> => {
    certPath = newCert;
    keyPath = newKey;
    await writeMainCf(certPath, keyPath);
    await restart();
  };

  try {
    await startMaster();
    await waitPresented('after start');
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    dir,
    configDir,
    logFile,
    address,
    port,
    masterPid: () => proc?.pid ?? null,
    logs,
    presentedTlsa311,
    setCertificate,
    restart,
    stop,
  };
}
