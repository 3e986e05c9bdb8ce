/**
 * `dane-ns ds`, `dane-ns keys list` and `dane-ns keys generate`: the zone's DNSSEC keys (RFC 4034 §2) as files,
 * and the DS records (RFC 4034 §5, digest type 2: RFC 4509) that go to the parent. `keys rollover` is in
 * rollover.ts.
 */
import { nameToText, type Name } from '../wire/name.js';
import { loadZoneKeys, type StoredZoneKey } from '../dnssec/keyfile.js';
import { dsText } from '../dnssec/ds.js';
import { ensureZoneKeys } from '../dnssec/keystore.js';
import { loadPublicZoneKeys } from '../dnssec/publickeys.js';
import { recoverKeyChange } from '../dnssec/keyjournal.js';
import { iso, keyState } from '../dnssec/lifecycle.js';
import { domainName, onePositional, parseOptions, UsageError } from './args.js';
import { directory } from './env.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';
import { keysRollover } from './rollover.js';
import { loneKskProblem } from './dskeyset.js';

export function keysCmd(args: string[], io: Io): number {
  const sub = args[0];
  if (sub === undefined || sub === '--help' || sub === '-h') return printHelp(io, 'keys');
  if (sub === 'list') return keysList(args.slice(1), io);
  if (sub === 'generate') return keysGenerate(args.slice(1), io);
  if (sub === 'rollover') return keysRollover(args.slice(1), io);
  throw new UsageError(`unknown keys subcommand "${sub}" (list, generate, rollover)`);
}

/**
 * The keys of ZONE in --keys; null for --help. An interrupted key change (first start's generation, `keys
 * rollover`) is undone first (dnssec/keyjournal.ts), so `ds` never prints the DS of a key from an incomplete
 * set; one still being written is an error naming its files.
 */
function zoneKeys(
  args: string[],
  command: string,
  io: Io,
): { zone: Name; keys: StoredZoneKey[]; problems: string[]; json: boolean } | null {
  const r = keysDirectory(args, command, io);
  if (!r) return null;
  const { zone, dir, json } = r;
  const { keys, problems, denied } = loadZoneKeys(dir, zone);
  if (denied) throw unreadable(zone, dir, problems);
  if (keys.length === 0)
    throw new Error(
      `no DNSSEC keys for ${nameToText(zone)} in ${dir}${problems.length ? ` (${problems.join('; ')})` : ''}`,
    );
  return { zone, keys, problems, json };
}

/**
 * ZONE and --keys of `command` (and --zones for `ds`), after an interrupted key change was undone; null for
 * --help.
 */
function keysDirectory(
  args: string[],
  command: string,
  io: Io,
): { zone: Name; zoneArg: string; dir: string; zonesDir: string; json: boolean } | null {
  const a = parseOptions(
    args,
    command === 'ds' ? ['keys', 'zones'] : ['keys'],
    command === 'keys list' ? ['json'] : [],
  );
  if (a.has('help')) return null;
  const zoneArg = onePositional(a, command, 'ZONE');
  const zone = domainName('ZONE', zoneArg);
  const dir = directory(a, io.defaults, 'keys');
  const recovery = recoverKeyChange(dir, zone, new Date());
  if (!recovery.ok) throw new Error(recovery.error);
  if (recovery.undone) io.err(`warning: ${recovery.undone}\n`);
  return { zone, zoneArg, dir, zonesDir: directory(a, io.defaults, 'zones'), json: a.has('json') };
}

/** Key files this process may not read: an ownership problem (each file's fix), never lost keys. */
function unreadable(zone: Name, dir: string, problems: readonly string[]): Error {
  return new Error(
    `${nameToText(zone)}: the key files in ${dir} cannot be read by this process (${problems.join('; ')}); the keys are there: fix their ownership`,
  );
}

export function dsCmd(args: string[], io: Io): number {
  const d = keysDirectory(args, 'ds', io);
  if (!d) return printHelp(io, 'ds');
  // The public .key files only (publickeys.ts): the DS needs no private key, so a user who may not read the
  // .private files (or a copy of the public files alone) gets it too.
  const { keys, problems, denied } = loadPublicZoneKeys(d.dir, d.zone);
  if (denied) throw unreadable(d.zone, d.dir, problems);
  if (keys.length === 0)
    throw new Error(
      `no DNSSEC keys for ${nameToText(d.zone)} in ${d.dir}${problems.length ? ` (${problems.join('; ')})` : ''}`,
    );
  const r = { zone: d.zone, keys, problems };
  // A key file that does not load (a .private without its .key, say) means the set on disk is not whole, e.g.
  // left by a crash without a journal: no DS goes to the parent for a KSK of such a set.
  if (r.problems.length > 0)
    throw new Error(
      `${nameToText(r.zone)}: key files that do not load (${r.problems.join('; ')}); the key set is incomplete, so no DS is printed. Fix or remove them`,
    );
  // Key-signing keys without an active zone-signing key are a CSK set only for a zone with `keys: csk` (a legacy
  // KSK whose ZSK is gone is an incomplete set): the zone file says which (dskeyset.ts).
  const now = new Date();
  const incomplete = loneKskProblem(d, r.keys, now);
  if (incomplete)
    throw new Error(`${nameToText(r.zone)}: ${incomplete}; the key set is incomplete, so no DS is printed`);
  // Keys in the DNSKEY RRset that are not on their way out: during a KSK rollover, the old and the new one.
  const ksks = r.keys.filter((k) => k.flags === 257 && ['published', 'active'].includes(keyState(k, now)));
  if (ksks.length === 0) throw new Error(`no current key-signing key (flags 257) for ${nameToText(r.zone)}`);
  for (const k of ksks) io.out(dsText(r.zone, k.dnskeyRdata) + '\n');
  return 0;
}

function keysList(args: string[], io: Io): number {
  const r = zoneKeys(args, 'keys list', io);
  if (!r) return printHelp(io, 'keys');
  const day = (d: Date | undefined): string => (d ? iso(d) : '-'.padEnd(20));
  const now = new Date();
  if (r.json) {
    // The stable shape of docs/control.md ("dane-ns keys list --json"): fields are only ever added. The times
    // a key does not have (inactive, delete) are absent; a key file that does not load is one of `problems`.
    const keys = r.keys.map((k) => ({
      tag: k.tag,
      role: k.role,
      flags: k.flags,
      algorithm: k.algorithm,
      algorithmName: 'ECDSAP256SHA256',
      created: iso(k.created),
      publish: iso(k.publish),
      activate: iso(k.activate),
      ...(k.inactive ? { inactive: iso(k.inactive) } : {}),
      ...(k.delete ? { delete: iso(k.delete) } : {}),
      // A KSK or CSK DS step the running server postponed for lagging secondaries (server/rollover-hold.ts).
      ...(k.syncPublish ? { syncPublish: iso(k.syncPublish) } : {}),
      state: keyState(k, now),
    }));
    io.out(JSON.stringify({ zone: nameToText(r.zone), keys, problems: r.problems }, null, 2) + '\n');
    for (const p of r.problems) io.err(`warning: ${p}\n`);
    return 0;
  }
  io.out(
    'tag    role  algorithm            created               publish               activate              inactive              delete                state\n',
  );
  for (const k of r.keys)
    io.out(
      `${String(k.tag).padEnd(6)} ${k.role.padEnd(5)} 13 ECDSAP256SHA256   ${day(k.created)}  ${day(k.publish)}  ${day(k.activate)}  ${day(k.inactive)}  ${day(k.delete)}  ${keyState(k, now)}\n`,
    );
  for (const p of r.problems) io.err(`warning: ${p}\n`);
  return 0;
}

function keysGenerate(args: string[], io: Io): number {
  const a = parseOptions(args, ['keys', 'state'], ['csk']);
  if (a.has('help')) return printHelp(io, 'keys');
  const name = domainName('ZONE', onePositional(a, 'keys generate', 'ZONE'));
  const keysDir = directory(a, io.defaults, 'keys');
  const stateDir = directory(a, io.defaults, 'state');
  const r = ensureZoneKeys({
    zone: name,
    keysDir,
    stateDir,
    mode: a.has('csk') ? 'csk' : 'ksk-zsk',
    now: new Date(),
  });
  if (!r.ok) throw new Error(r.error);
  for (const w of r.warnings) io.err(`warning: ${w}\n`);
  const tags = r.ksk.tag === r.zsk.tag && r.ksk === r.zsk ? `CSK ${r.ksk.tag}` : `KSK ${r.ksk.tag}, ZSK ${r.zsk.tag}`;
  io.out(
    r.generated
      ? `; generated in ${keysDir}: ${tags}\n`
      : `; ${nameToText(name)} already has keys (${tags}): nothing generated\n`,
  );
  io.out(dsText(name, r.ksk.dnskeyRdata) + '\n');
  return 0;
}
