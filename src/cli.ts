#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The command line, a contract: tests, the Docker image and operators' scripts call it. Thin: parses flags,
 * calls modules, maps errors to one clear line and an exit code. Exit codes: 0 success; 1 the command failed
 * (bad zone, I/O, server error); 2 usage error (unknown command or flag, missing argument).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { createLogger } from './log.js';
import { ZoneError, formatProblem } from './zone/errors.js';
import { listZoneFiles } from './zone/files.js';
import { exportZone } from './zone/export.js';
import type { Zone } from './zone/zone.js';
import { importZone } from './zone/import.js';
import { nameToText, parseName, ROOT, type Name } from './wire/name.js';
import { loadZoneKeys, type StoredZoneKey } from './dnssec/keyfile.js';
import { dsText } from './dnssec/ds.js';
import { ensureZoneKeys } from './dnssec/keystore.js';
import { rolloverTtls, signZone } from './dnssec/zonesign.js';
import { iso, keyState } from './dnssec/lifecycle.js';
import { dsPublished, startRollover } from './dnssec/keyroll.js';
import { SignatureCache } from './dnssec/sigcache.js';
import { parseListen, startServer } from './server/serve.js';
import { checkZone } from './check/audit.js';
import { healthCheck } from './check/health.js';
import { loadZoneAsServed } from './tlsa/zone.js';
import { readTlsaSource, tlsa211, tlsa311, TlsaSourceError, type TlsaSource } from './tlsa/source.js';

class UsageError extends Error {}

interface Flags {
  positional: string[];
  values: Map<string, string[]>;
  switches: Set<string>;
}

/** Parses `--name value`, `--name=value` and bare switches; `known` maps flag -> takes a value. */
function parseFlags(args: string[], known: Record<string, boolean>): Flags {
  const f: Flags = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--') || a === '--') {
      f.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!(name in known)) throw new UsageError(`unknown option --${name}`);
    if (known[name]) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      f.values.set(name, [...(f.values.get(name) ?? []), v]);
    } else f.switches.add(name);
  }
  return f;
}

const one = (f: Flags, name: string, env: string | undefined, dflt: string): string =>
  f.values.get(name)?.at(-1) ?? (env !== undefined && env !== '' ? env : dflt);

const HELP: Record<string, string> = {
  main: `dane-ns: authoritative DNSSEC name server that keeps SMTP DANE TLSA records in step with certificates

usage: dane-ns <command> [options]

commands:
  serve                 serve the zones directory over UDP and TCP
  zone export ZONE      print a zone in RFC 1035 master-file syntax
  zone import FILE      convert an RFC 1035 zone file to the YAML zone format
  ds ZONE               print the DS records (SHA-256) of the zone's KSK/CSK, for the parent zone
  keys list ZONE        list the zone's DNSSEC keys: tag, role, algorithm, dates
  keys generate ZONE    create the zone's keys now (before the first start) and print the DS
  keys rollover ZONE    replace the zone's ZSK (or, with --ksk, its KSK) with the timing validators need
  tlsa FILE             print the TLSA 3 1 1 record for a certificate or key file
  check ZONE            audit a running server: signatures, certificates, TLSA vs files, live STARTTLS
  healthcheck           exit 0 when the running server answers every zone with a current signed SOA

Run 'dane-ns <command> --help' for a command's options.
Exit codes: 0 success, 1 failure (the message says why), 2 usage error.`,
  serve: `usage: dane-ns serve [--zones DIR] [--keys DIR] [--state DIR] [--listen ADDR:PORT]... [--http ADDR:PORT]

  --zones DIR          zone files (<zone>.yaml)           default ./zones  (env DANE_NS_ZONES)
  --keys DIR           DNSSEC key files                   default ./keys   (env DANE_NS_KEYS)
  --state DIR          serials and rollover state         default ./state  (env DANE_NS_STATE)
  --listen ADDR:PORT   address to serve UDP and TCP on; repeatable; [::1]:PORT for IPv6
                       default 127.0.0.1:5353  (env DANE_NS_LISTEN, comma-separated)
  --udp-engine E       auto (default): the native batched engine (recvmmsg/sendmmsg) when built, else
                       node:dgram; batch; dgram  (env DANE_NS_UDP_ENGINE)
  --http ADDR:PORT     HTTP endpoint: GET /healthz (200, or 503 with the reasons) and GET /metrics
                       (Prometheus text); off by default  (env DANE_NS_HTTP)
  --log-queries        one log line per query (client, qname, qtype, rcode, size); off by default
                       (env DANE_NS_LOG_QUERIES=1)

Logs one JSON object per line on stdout. The zones directory and the certificate files are watched; SIGHUP
also reloads the zones; SIGTERM/SIGINT stop.
A zone file with an error at start-up is reported as file:line: reason, and the server exits 1.`,
  ds: `usage: dane-ns ds ZONE [--keys DIR]

Prints the DS record (digest type 2, SHA-256) of each current key-signing key of ZONE in zone-file syntax
(during a KSK rollover the old and the new one; pending and retired keys not): give these to your registrar or
parent zone. Keys are read from DIR (default ./keys, env DANE_NS_KEYS); the server creates them on its first
start.`,
  keys: `usage: dane-ns keys list ZONE [--keys DIR]
       dane-ns keys generate ZONE [--keys DIR] [--state DIR] [--csk]
       dane-ns keys rollover ZONE [--ksk | --ds-published] [--zones DIR] [--keys DIR] [--state DIR]
                                  [--margin SECONDS] [--ds-ttl SECONDS]

  list      the DNSSEC keys of ZONE found in DIR (default ./keys, env DANE_NS_KEYS): tag, role, algorithm,
            created, publish, activate, inactive and delete times, and the key's state now (pending,
            published, active, retired, removed); unusable key files are reported
  generate  creates ZONE's keys now (a KSK and a ZSK, or one CSK with --csk), as the server does on its first
            start, so the DS can go to the registrar before the zone is served; prints the DS. Does nothing
            when the zone has keys, and refuses when the state directory (default ./state) remembers keys
            that are gone (new keys would break the DS at the parent).
  rollover  starts a key rollover by writing key files with the right times; a running server watches the
            keys directory and follows them (no restart, no reload). The zone file (--zones, default ./zones)
            gives the TTLs the times are computed from.
              (default)        ZSK (or with keys: csk, the CSK): the new key is published now and signs from
                               DNSKEY TTL + margin on; the old one stops then and leaves the DNSKEY RRset
                               once its last signatures have expired from caches (largest TTL + margin).
              --ksk            KSK: the new KSK is published and signs the DNSKEY RRset now, next to the old
                               one; prints its DS and from when to give it to the registrar.
              --ds-published   ends a KSK or CSK rollover once the parent publishes the new DS instead of the
                               old: the old key keeps signing until resolvers have let the old DS go (--ds-ttl,
                               the parent's DS TTL, default 86400 s, + margin), then leaves.
            --margin adds a safety interval to every wait (default 3600 s). Refuses, changing nothing, while a
            rollover of the same key is under way or when a key file does not load.`,
  tlsa: `usage: dane-ns tlsa FILE [--port 25] [--host NAME] [--issuer]

Prints the DANE-EE TLSA record (3 1 1: SHA-256 of the SubjectPublicKeyInfo) for FILE: a certificate or chain
(PEM or DER; the first certificate is the server's), a public key, or a private key (PEM/DER; PKCS#8, SEC1 or
PKCS#1; RSA or EC). The owner is _PORT._tcp.HOST; HOST defaults to the certificate's first DNS name (without
one and without --host only the record data is printed). --issuer also prints the 2 1 1 record of the issuing
CA (FILE must hold the chain). A comment line shows the certificate's subject and validity.`,
  check: `usage: dane-ns check ZONE [--zones DIR] [--server ADDR:PORT] [--live [--connect ADDR] [--smtp-port N]]

Compares the certificate files of ZONE's tlsa: entries with the TLSA records the running server publishes
(--server, default the first DANE_NS_LISTEN address or 127.0.0.1:5353), verifies the DNSKEY, SOA and TLSA
signatures and their validity, and reports certificates that are expired, not yet valid or expire within 14
days. With --live it connects to each TLSA host (its A record at the server, or --connect ADDR) on the TLSA
port (or --smtp-port), does STARTTLS, and classifies the result as senders do:
  ok                      the presented key matches a published TLSA and DNSSEC is valid
  starttls-not-supported  no STARTTLS or no TLS handshake (4.7.321)
  certificate-expired     the presented certificate is expired or not yet valid (4.7.322)
  tlsa-invalid            the presented key matches no published TLSA (4.7.323)
  dnssec-invalid          the TLSA (or DNSKEY/SOA) signatures do not validate (4.7.324)
Each line is ok, warn or FAIL with what and why; the exit code is 0 without FAIL lines, else 1.`,
  healthcheck: `usage: dane-ns healthcheck [--server ADDR:PORT] [--zones DIR]

For every zone file in DIR (default ./zones, env DANE_NS_ZONES) asks the running server (--server, default the
first DANE_NS_LISTEN address or 127.0.0.1:5353; 0.0.0.0 and [::] mean the loopback address) for the zone's
DNSKEY and SOA with DO=1, and verifies that a current RRSIG over the SOA verifies with a published DNSKEY.
Prints one line; exit 0 when every zone passes, 1 with the first problem otherwise. The Docker image's
HEALTHCHECK runs it.`,
  zone: `usage: dane-ns zone export ZONE [--zones DIR] [--state DIR] [--signed [--keys DIR]]
       dane-ns zone import FILE.zone [--origin NAME] [--out FILE.yaml]

  export  prints the zone (as loaded from DIR, default ./zones) in RFC 1035 syntax, absolute names;
          a 'serial: auto' zone shows the serial the server keeps in the state directory (default ./state);
          --signed adds DNSKEY, NSEC and RRSIG records made with the zone's keys (default ./keys)
  import  converts an RFC 1035 master file to the YAML zone format (stdout, or --out FILE)`,
};

async function serve(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    zones: true,
    keys: true,
    state: true,
    listen: true,
    'udp-engine': true,
    http: true,
    'log-queries': false,
    help: false,
  });
  if (f.switches.has('help')) return help('serve');
  if (f.positional.length > 0) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const env = process.env;
  const listen =
    f.values.get('listen') ??
    (env.DANE_NS_LISTEN
      ? env.DANE_NS_LISTEN.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : ['127.0.0.1:5353']);
  for (const spec of listen) {
    try {
      parseListen(spec);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const udpEngine = one(f, 'udp-engine', env.DANE_NS_UDP_ENGINE, 'auto');
  if (udpEngine !== 'auto' && udpEngine !== 'batch' && udpEngine !== 'dgram')
    throw new UsageError(`--udp-engine "${udpEngine}": expected auto, batch or dgram`);
  const http = one(f, 'http', env.DANE_NS_HTTP, '');
  if (http !== '') {
    try {
      parseListen(http);
    } catch (e) {
      throw new UsageError((e as Error).message.replace('--listen', '--http'));
    }
  }
  // V8 lets the old generation grow to about twice the live data before a full collection (its dynamic growing
  // factor, up to 4x). A server's live data is its signed zones: for a 100k-name zone that is about 130 MB, and
  // signing it at start peaked at ~350 MB of RSS, mostly garbage. Growing by 20 % instead keeps the peak near
  // 260 MB (bench/sign.sh), at the cost of more full collections while loading and signing: start-up sign time
  // of that zone about 10-15 % longer (5 runs 29.5-34.0 s against 27.3-29.1 s without, on a busy 2-core
  // machine). Answering queries allocates little, so query throughput is unchanged (bench/dnssec-dnsperf.sh).
  // The flag is read at every collection, so setting it here, before the zones are loaded, is enough.
  // --max-semi-space-size=4 (16 MB by default on 64-bit) cannot be set here: the young generation is sized when
  // the isolate starts. It is on node's command line wherever dane-ns is started (this file's shebang,
  // package.json start, the Dockerfile's ENTRYPOINT; test/meta/launch.test.ts): with 16 MB semi-spaces the
  // young generation alone stays at 32 MB after loading; 4 MB takes about 33 MB off the peak RSS of the 100k
  // bench zone with no change in sign time or query rate (measured runs in README "Memory").
  setFlagsFromString('--heap-growing-percent=20');
  const logger = createLogger();
  const server = await startServer({
    udpEngine,
    zonesDir: one(f, 'zones', env.DANE_NS_ZONES, './zones'),
    keysDir: one(f, 'keys', env.DANE_NS_KEYS, './keys'),
    stateDir: one(f, 'state', env.DANE_NS_STATE, './state'),
    listen,
    logger,
    ...(http !== '' ? { http } : {}),
    logQueries: f.switches.has('log-queries') || env.DANE_NS_LOG_QUERIES === '1',
  });
  process.on('SIGHUP', () => {
    logger.info('reload', { reason: 'SIGHUP' });
    server.reload();
  });
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info('stopping', { signal: sig });
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

/** Finds the zone whose origin is ZONE: `<ZONE>.yaml` first (its errors are reported), then any other file. */
/**
 * The zone ZONE as the server serves it: `serial: auto` from the state directory and the automatic TLSA the
 * certificate files and the rollover state give (both read, never written). `tlsaErrors` collects the
 * certificate problems, which do not stop the command.
 */
function findZone(zonesDir: string, zone: string, stateDir: string, tlsaErrors: string[] = []): Zone {
  const want = parseName(zone.endsWith('.') ? zone : zone + '.', ROOT);
  const direct = join(zonesDir, `${want.key.length > 1 ? zone.replace(/\.$/, '') : 'root'}.yaml`);
  const build = (file: string): Zone | null => {
    const r = loadZoneAsServed(file, stateDir);
    if (r.zone.origin.key !== want.key) return null;
    tlsaErrors.push(...r.tlsaErrors);
    return r.zone;
  };
  if (existsSync(direct)) {
    const z = build(direct);
    if (z) return z;
  }
  for (const file of listZoneFiles(zonesDir)) {
    if (file === direct) continue;
    try {
      const z = build(file);
      if (z) return z;
    } catch {
      /* another zone's broken file is not this command's business */
    }
  }
  throw new Error(`no zone ${zone} in ${zonesDir}`);
}

async function zoneCmd(args: string[]): Promise<number> {
  const sub = args[0];
  if (sub === undefined || sub === '--help') return help('zone');
  if (sub === 'export') {
    const f = parseFlags(args.slice(1), { zones: true, state: true, keys: true, signed: false, help: false });
    if (f.switches.has('help')) return help('zone');
    const zone = f.positional[0];
    if (!zone || f.positional.length > 1) throw new UsageError('zone export needs exactly one ZONE');
    const stateDir = one(f, 'state', process.env.DANE_NS_STATE, './state');
    const tlsaErrors: string[] = [];
    const z = findZone(one(f, 'zones', process.env.DANE_NS_ZONES, './zones'), zone, stateDir, tlsaErrors);
    for (const w of tlsaErrors) process.stderr.write(`warning: automatic TLSA: ${w}\n`);
    if (!f.switches.has('signed')) {
      process.stdout.write(exportZone(z));
      return 0;
    }
    // Signed with the zone's existing keys (never generated here: the server owns key creation).
    const keysDir = one(f, 'keys', process.env.DANE_NS_KEYS, './keys');
    if (loadZoneKeys(keysDir, z.origin).keys.length === 0)
      throw new Error(
        `no DNSSEC keys for ${nameToText(z.origin)} in ${keysDir} (the server creates them on its first start)`,
      );
    const keys = ensureZoneKeys({ zone: z.origin, keysDir, stateDir, mode: z.dnssec.keys, now: new Date() });
    if (!keys.ok) throw new Error(keys.error);
    const signed = signZone(z, keys, Math.floor(Date.now() / 1000), new SignatureCache());
    process.stdout.write(exportZone(signed.zone, signed.addedRRsets()));
    return 0;
  }
  if (sub === 'import') {
    const f = parseFlags(args.slice(1), { origin: true, out: true, help: false });
    if (f.switches.has('help')) return help('zone');
    const file = f.positional[0];
    if (!file || f.positional.length > 1) throw new UsageError('zone import needs exactly one FILE');
    const text = readFileSync(file, 'utf8');
    const origin = f.values.get('origin')?.at(-1);
    const res = importZone(text, { file, ...(origin !== undefined ? { origin } : {}) });
    for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
    if (res.problems.length > 0) throw new ZoneError(res.problems);
    const out = f.values.get('out')?.at(-1);
    if (out) writeFileSync(out, res.yaml);
    else process.stdout.write(res.yaml);
    return 0;
  }
  throw new UsageError(`unknown zone subcommand "${sub}" (export, import)`);
}

function zoneKeys(args: string[], topic: string): { zone: Name; keys: StoredZoneKey[]; problems: string[] } | null {
  const f = parseFlags(args, { keys: true, help: false });
  if (f.switches.has('help')) return null;
  const zone = f.positional[0];
  if (!zone || f.positional.length > 1) throw new UsageError(`${topic} needs exactly one ZONE`);
  const name = parseName(zone.endsWith('.') ? zone : zone + '.', ROOT);
  const dir = one(f, 'keys', process.env.DANE_NS_KEYS, './keys');
  const { keys, problems } = loadZoneKeys(dir, name);
  if (keys.length === 0)
    throw new Error(
      `no DNSSEC keys for ${nameToText(name)} in ${dir}${problems.length ? ` (${problems.join('; ')})` : ''}`,
    );
  return { zone: name, keys, problems };
}

function dsCmd(args: string[]): number {
  const r = zoneKeys(args, 'ds');
  if (!r) return help('ds');
  // Keys in the DNSKEY RRset that are not on their way out: during a KSK rollover, the old and the new one.
  const now = new Date();
  const ksks = r.keys.filter((k) => k.flags === 257 && ['published', 'active'].includes(keyState(k, now)));
  if (ksks.length === 0) throw new Error(`no current key-signing key (flags 257) for ${nameToText(r.zone)}`);
  for (const k of ksks) process.stdout.write(dsText(r.zone, k.dnskeyRdata) + '\n');
  return 0;
}

function keysGenerate(args: string[]): number {
  const f = parseFlags(args, { keys: true, state: true, csk: false, help: false });
  if (f.switches.has('help')) return help('keys');
  const zone = f.positional[0];
  if (!zone || f.positional.length > 1) throw new UsageError('keys generate needs exactly one ZONE');
  const name = parseName(zone.endsWith('.') ? zone : zone + '.', ROOT);
  const keysDir = one(f, 'keys', process.env.DANE_NS_KEYS, './keys');
  const stateDir = one(f, 'state', process.env.DANE_NS_STATE, './state');
  const r = ensureZoneKeys({
    zone: name,
    keysDir,
    stateDir,
    mode: f.switches.has('csk') ? 'csk' : 'ksk-zsk',
    now: new Date(),
  });
  if (!r.ok) throw new Error(r.error);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  const tags = r.ksk.tag === r.zsk.tag && r.ksk === r.zsk ? `CSK ${r.ksk.tag}` : `KSK ${r.ksk.tag}, ZSK ${r.zsk.tag}`;
  process.stdout.write(
    r.generated
      ? `; generated in ${keysDir}: ${tags}\n`
      : `; ${nameToText(name)} already has keys (${tags}): nothing generated\n`,
  );
  process.stdout.write(dsText(name, r.ksk.dnskeyRdata) + '\n');
  return 0;
}

function keysCmd(args: string[]): number {
  const sub = args[0];
  if (sub === undefined || sub === '--help') return help('keys');
  if (sub === 'generate') return keysGenerate(args.slice(1));
  if (sub === 'rollover') return keysRollover(args.slice(1));
  if (sub !== 'list') throw new UsageError(`unknown keys subcommand "${sub}" (list, generate, rollover)`);
  const r = zoneKeys(args.slice(1), 'keys list');
  if (!r) return help('keys');
  const day = (d: Date | undefined): string => (d ? iso(d) : '-'.padEnd(20));
  const now = new Date();
  process.stdout.write(
    'tag    role  algorithm            created               publish               activate              inactive              delete                state\n',
  );
  for (const k of r.keys)
    process.stdout.write(
      `${String(k.tag).padEnd(6)} ${k.role.padEnd(5)} 13 ECDSAP256SHA256   ${day(k.created)}  ${day(k.publish)}  ${day(k.activate)}  ${day(k.inactive)}  ${day(k.delete)}  ${keyState(k, now)}\n`,
    );
  for (const p of r.problems) process.stderr.write(`warning: ${p}\n`);
  return 0;
}

/** Reads a whole number of seconds from a flag. */
function seconds(f: Flags, name: string, dflt: number): number {
  const v = f.values.get(name)?.at(-1);
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v)) throw new UsageError(`--${name} must be a whole number of seconds (got "${v}")`);
  return Number(v);
}

function keysRollover(args: string[]): number {
  const f = parseFlags(args, {
    zones: true,
    keys: true,
    state: true,
    ksk: false,
    'ds-published': false,
    margin: true,
    'ds-ttl': true,
    help: false,
  });
  if (f.switches.has('help')) return help('keys');
  const zoneArg = f.positional[0];
  if (!zoneArg || f.positional.length > 1) throw new UsageError('keys rollover needs exactly one ZONE');
  if (f.switches.has('ksk') && f.switches.has('ds-published'))
    throw new UsageError('--ksk starts a KSK rollover and --ds-published ends one: give one of them');
  const stateDir = one(f, 'state', process.env.DANE_NS_STATE, './state');
  const keysDir = one(f, 'keys', process.env.DANE_NS_KEYS, './keys');
  const z = findZone(one(f, 'zones', process.env.DANE_NS_ZONES, './zones'), zoneArg, stateDir);
  if (!z.dnssec.enabled)
    throw new Error(`${nameToText(z.origin)} is not signed (dnssec: enabled: false in its zone file)`);
  const ttls = rolloverTtls(z);
  const timing = { ...ttls, margin: seconds(f, 'margin', 3600), dsTtl: seconds(f, 'ds-ttl', 86400) };
  const opts = { zone: z.origin, keysDir, stateDir, mode: z.dnssec.keys, timing, now: new Date() };
  const name = nameToText(z.origin);
  const out = (line: string): boolean => process.stdout.write(line + '\n');

  if (f.switches.has('ds-published')) {
    const r = dsPublished(opts);
    if (!r.ok) throw new Error(r.error);
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const x of r.plan.retire)
      out(
        `; ${name}: ${x.key.tag} signs the DNSKEY RRset until ${iso(x.inactive)} (the parent's DS TTL ${timing.dsTtl} s + margin ${timing.margin} s), then leaves it; ${r.plan.current.tag} stays`,
      );
    return 0;
  }
  const kind = z.dnssec.keys === 'csk' ? 'csk' : f.switches.has('ksk') ? 'ksk' : 'zsk';
  const r = startRollover({ ...opts, kind });
  if (!r.ok) throw new Error(r.error);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  const role = kind.toUpperCase();
  const fresh = r.created;
  if (kind === 'zsk') {
    out(
      `; ${name}: ZSK ${fresh.tag} is published now and signs from ${iso(fresh.activate)} (DNSKEY TTL ${ttls.dnskeyTtl} s + margin ${timing.margin} s)`,
    );
    for (const x of r.plan.retire)
      out(
        `; ZSK ${x.key.tag} stops signing then and leaves the DNSKEY RRset at ${iso(x.delete)} (largest TTL ${ttls.maxTtl} s + margin ${timing.margin} s)`,
      );
    out(`; a running server follows these times by itself (it watches ${keysDir}); nothing else to do`);
    return 0;
  }
  out(
    kind === 'ksk'
      ? `; ${name}: KSK ${fresh.tag} is published and signs the DNSKEY RRset now, next to the current KSK`
      : `; ${name}: CSK ${fresh.tag} is published now and signs from ${iso(fresh.activate)}, the DNSKEY RRset next to the current CSK`,
  );
  out(
    `; from ${iso(r.plan.dsFrom!)} on (when every cached DNSKEY RRset carries its signature), replace the ${role}'s DS at the parent with:`,
  );
  out(dsText(z.origin, fresh.dnskeyRdata));
  out(`; once the parent publishes it, run: dane-ns keys rollover ${name} --ds-published`);
  return 0;
}

function tlsaCmd(args: string[]): number {
  const f = parseFlags(args, { port: true, host: true, issuer: false, help: false });
  if (f.switches.has('help')) return help('tlsa');
  const file = f.positional[0];
  if (!file || f.positional.length > 1) throw new UsageError('tlsa needs exactly one FILE');
  const portText = f.values.get('port')?.at(-1) ?? '25';
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--port "${portText}": expected a port number`);
  let src: TlsaSource;
  try {
    src = readTlsaSource(file);
  } catch (e) {
    if (e instanceof TlsaSourceError) throw new Error(e.message);
    throw e;
  }
  const hostText = f.values.get('host')?.at(-1) ?? src.dnsNames?.find((n) => !n.startsWith('*.'));
  let owner = '';
  if (hostText !== undefined) {
    const host = parseName(hostText.endsWith('.') ? hostText : hostText + '.', ROOT);
    owner = `${nameToText(parseName(`_${port}._tcp`, host))} IN TLSA `;
  }
  if (src.kind === 'certificate')
    process.stdout.write(
      `; ${src.subject}, valid ${new Date(src.notBefore!).toISOString()} to ${new Date(src.notAfter!).toISOString()}\n`,
    );
  else process.stdout.write(`; ${src.kind} (${src.keyType})\n`);
  process.stdout.write(`${owner}${tlsa311(src)}\n`);
  if (f.switches.has('issuer')) {
    const ta = tlsa211(src);
    if (!ta) throw new Error(`${file}: no issuing CA certificate in the file (use the full chain) for --issuer`);
    process.stdout.write(`${owner}${ta}\n`);
  }
  return 0;
}

/**
 * The running server to ask: --server, else the first DANE_NS_LISTEN address, else 127.0.0.1:5353; a wildcard
 * listen address (0.0.0.0, [::]) means the loopback address of its family.
 */
function runningServer(f: Flags): { host: string; port: number } {
  const envListen = process.env.DANE_NS_LISTEN?.split(',')[0]?.trim();
  const spec = f.values.get('server')?.at(-1) ?? (envListen || '127.0.0.1:5353');
  let server: { host: string; port: number };
  try {
    server = parseListen(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (server.host === '0.0.0.0') return { ...server, host: '127.0.0.1' };
  if (server.host === '::') return { ...server, host: '::1' };
  return server;
}

async function checkCmd(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    zones: true,
    state: true,
    server: true,
    live: false,
    connect: true,
    'smtp-port': true,
    help: false,
  });
  if (f.switches.has('help')) return help('check');
  const zone = f.positional[0];
  if (!zone || f.positional.length > 1) throw new UsageError('check needs exactly one ZONE');
  const server = runningServer(f);
  const smtpText = f.values.get('smtp-port')?.at(-1);
  const smtpPort = smtpText === undefined ? undefined : Number(smtpText);
  if (smtpPort !== undefined && !(Number.isInteger(smtpPort) && smtpPort >= 1 && smtpPort <= 65535))
    throw new UsageError(`--smtp-port "${smtpText}": expected a port number`);
  const connectTo = f.values.get('connect')?.at(-1);
  const z = findZone(
    one(f, 'zones', process.env.DANE_NS_ZONES, './zones'),
    zone,
    one(f, 'state', process.env.DANE_NS_STATE, './state'),
  );
  const report = await checkZone({
    zone: z,
    entries: z.tlsa,
    server,
    live: f.switches.has('live'),
    ...(connectTo !== undefined ? { connect: connectTo } : {}),
    ...(smtpPort !== undefined ? { smtpPort } : {}),
    now: Date.now(),
  });
  const label = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
  for (const x of report.findings) process.stdout.write(`${label[x.level]}  ${x.what}: ${x.detail}\n`);
  for (const v of report.verdicts) process.stdout.write(`result  ${v.owner} ${v.verdict}\n`);
  return report.findings.some((x) => x.level === 'fail') ? 1 : 0;
}

// --- healthcheck (container HEALTHCHECK) ------------------------------------------------------------------------

async function healthcheckCmd(args: string[]): Promise<number> {
  const f = parseFlags(args, { server: true, zones: true, help: false });
  if (f.switches.has('help')) return help('healthcheck');
  if (f.positional.length > 0) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const server = runningServer(f);
  const r = await healthCheck({
    zonesDir: one(f, 'zones', process.env.DANE_NS_ZONES, './zones'),
    server,
    now: Date.now(),
  });
  (r.ok ? process.stdout : process.stderr).write(`${r.ok ? 'healthy' : 'unhealthy'}: ${r.line}\n`);
  return r.ok ? 0 : 1;
}

// ------------------------------------------------------------------------------------------------------------------

function help(topic: string): number {
  process.stdout.write(HELP[topic] + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return await serve(rest);
      case 'zone':
        return await zoneCmd(rest);
      case 'ds':
        return dsCmd(rest);
      case 'keys':
        return keysCmd(rest);
      case 'tlsa':
        return tlsaCmd(rest);
      case 'check':
        return await checkCmd(rest);
      case 'healthcheck':
        return await healthcheckCmd(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return help('main');
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dane-ns: ${e.message} (see 'dane-ns --help')\n`);
      return 2;
    }
    if (e instanceof ZoneError) {
      for (const p of e.problems) process.stderr.write(formatProblem(p) + '\n');
      return 1;
    }
    process.stderr.write(`dane-ns: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`dane-ns: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
