/**
 * `dane-ns zone export` (a zone in RFC 1035 §5 master-file syntax, optionally with its DNSSEC records, RFC 4034),
 * `dane-ns zone import` (an RFC 1035 master file to the YAML zone format) and `dane-ns zone check` (one zone file
 * loaded as the server loads it, offline); `dane-ns zone list` asks the running server (control.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ZoneError } from '../zone/errors.js';
import { exportZone } from '../zone/export.js';
import { soaSerial } from '../zone/build.js';
import { notAZoneFile } from '../zone/files.js';
import { loadZoneForServing } from '../server/zone-files.js';
import { persistedVersion } from '../server/persisted-version.js';
import { importZone } from '../zone/import.js';
import { nameToText } from '../wire/name.js';
import { loadZoneKeys } from '../dnssec/keyfile.js';
import { ensureZoneKeys } from '../dnssec/keystore.js';
import { signZone } from '../dnssec/zonesign.js';
import { SignatureCache } from '../dnssec/sigcache.js';
import { domainName, onePositional, parseOptions, requires, UsageError } from './args.js';
import { zoneListCmd } from './control.js';
import { directory } from './env.js';
import { asServed, findZone } from './findzone.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

export function zoneCmd(args: string[], io: Io): number | Promise<number> {
  const sub = args[0];
  if (sub === undefined || sub === '--help' || sub === '-h') return printHelp(io, 'zone');
  if (sub === 'export') return zoneExport(args.slice(1), io);
  if (sub === 'import') return zoneImport(args.slice(1), io);
  if (sub === 'check') return zoneCheck(args.slice(1), io);
  if (sub === 'list') return zoneListCmd(args.slice(1), io);
  throw new UsageError(`unknown zone subcommand "${sub}" (export, import, check, list)`);
}

function zoneExport(args: string[], io: Io): number {
  const a = parseOptions(args, ['zones', 'state', 'keys'], ['signed']);
  if (a.has('help')) return printHelp(io, 'zone');
  const zone = onePositional(a, 'zone export', 'ZONE');
  requires(a, 'keys', 'signed');
  const want = domainName('ZONE', zone);
  const stateDir = directory(a, io.defaults, 'state');
  const zonesDir = directory(a, io.defaults, 'zones');
  const keysDir = a.has('signed') ? directory(a, io.defaults, 'keys') : '';
  const tlsaErrors: string[] = [];
  const z = findZone(zonesDir, zone, want, asServed(stateDir, tlsaErrors));
  for (const w of tlsaErrors) io.err(`warning: automatic TLSA: ${w}\n`);
  if (!a.has('signed')) {
    io.out(exportZone(z));
    return 0;
  }
  // Signed with the zone's existing keys (never generated here: the server owns key creation).
  if (loadZoneKeys(keysDir, z.origin).keys.length === 0)
    throw new Error(
      `no DNSSEC keys for ${nameToText(z.origin)} in ${keysDir} (the server creates them on its first start)`,
    );
  const keys = ensureZoneKeys({ zone: z.origin, keysDir, stateDir, mode: z.dnssec.keys, now: new Date() });
  if (!keys.ok) throw new Error(keys.error);
  const now = Math.floor(Date.now() / 1000);
  // What the server serves, from the signatures and serial it keeps in the state directory: the same octets as
  // its AXFR. Failing that, signed here, afresh: the same records, but other signatures (ECDSA is random) and a
  // serial of its own, so said on stderr.
  const served = persistedVersion(z, keys, stateDir, now);
  if (served.ok) {
    io.out(exportZone(served.signed.zone, served.signed.addedRRsets()));
    return 0;
  }
  io.err(
    `warning: the served version of ${nameToText(z.origin)} is not in ${stateDir} (${served.reason}): signed afresh, with a serial and signatures of its own\n`,
  );
  const signed = signZone(z, keys, now, new SignatureCache());
  io.out(exportZone(signed.zone, signed.addedRRsets()));
  return 0;
}

function zoneImport(args: string[], io: Io): number {
  const a = parseOptions(args, ['origin', 'out'], []);
  if (a.has('help')) return printHelp(io, 'zone');
  const file = onePositional(a, 'zone import', 'FILE');
  const origin = a.value('origin');
  if (origin !== undefined) domainName('--origin', origin);
  const out = a.value('out');
  if (out === '') throw new UsageError('--out: expected a file, not an empty value');
  const text = readFileSync(file, 'utf8');
  const res = importZone(text, { file, ...(origin !== undefined ? { origin } : {}) });
  for (const w of res.warnings) io.err(`warning: ${w}\n`);
  if (res.problems.length > 0) throw new ZoneError(res.problems);
  if (out !== undefined) writeFileSync(out, res.yaml);
  else io.out(res.yaml);
  return 0;
}

/**
 * Loads FILE exactly as the server does at start and on reload (server/zone-files.ts loadZoneForServing: parse,
 * build, the zone-file rules, the shape of the `tlsa:` entries), so that its messages are the ones the server
 * would log. Nothing else is read: no state directory (a `serial: auto` zone shows `serial auto`), no keys, no
 * certificate files. Problems go to stderr as file:line: reason (exit 1, from main.ts).
 */
function zoneCheck(args: string[], io: Io): number {
  const a = parseOptions(args, [], []);
  if (a.has('help')) return printHelp(io, 'zone');
  const file = onePositional(a, 'zone check', 'FILE');
  const { source, plain } = loadZoneForServing(file);
  const why = notAZoneFile(basename(file));
  if (why !== undefined)
    io.err(
      `warning: ${file}: the server does not read this file (${why || "a hidden file or an editor's working file"})\n`,
    );
  const serial = source.src.soa?.serial === 'auto' ? 'auto' : String(soaSerial(plain.soa.rdatas[0]!));
  io.out(`ok ${nameToText(plain.origin)} serial ${serial}, ${plain.nodes.size} names\n`);
  return 0;
}
