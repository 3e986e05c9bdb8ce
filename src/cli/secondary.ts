/**
 * `dane-ns secondary-config ZONE --for nsd|knot|bind --primary ADDR[:PORT]`: the configuration a secondary
 * needs to copy ZONE from dane-ns by AXFR (RFC 5936) with the TSIG key (RFC 8945) that the zone's
 * `transfer.allow` names first, printed ready to paste: NSD's nsd.conf `key:` and `zone:` clauses, Knot's
 * knot.conf `key:`, `remote:`, `acl:` and `zone:` sections (the README's layout), BIND's named.conf `key` and
 * `zone` statements. Each also accepts NOTIFY (RFC 1996) from the primary. A zone that allows transfers only by
 * address gets a configuration without TSIG and a comment saying so.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { TsigKey } from '../dnssec/tsigalg.js';
import { readKeyFile, TSIG_DIR, tsigKeyFileName } from '../dnssec/tsigkey.js';
import { nameToText, parseName, ROOT } from '../wire/name.js';
import { domainName, hostPort, onePositional, parseOptions, UsageError } from './args.js';
import { directory } from './env.js';
import { asWritten, findZone } from './findzone.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

export const SECONDARY_KINDS = ['nsd', 'knot', 'bind'] as const;
type Kind = (typeof SECONDARY_KINDS)[number];

/** What every configuration is made of. */
interface Secondary {
  /** The zone's name without the final dot (`.` for the root). */
  readonly zone: string;
  /** The secondary's copy of the zone, relative to its zones directory. */
  readonly file: string;
  readonly host: string;
  readonly port: number;
  /** The key, or null when the primary allows the secondary by address only. */
  readonly key: { readonly name: string; readonly algorithm: string; readonly secret: string } | null;
  /** Comment lines (without the comment mark) that come first. */
  readonly notes: readonly string[];
}

export function secondaryCmd(args: string[], io: Io): number {
  const a = parseOptions(args, ['for', 'primary', 'zones', 'keys'], []);
  if (a.has('help')) return printHelp(io, 'secondary-config');
  const zoneArg = onePositional(a, 'secondary-config', 'ZONE');
  const want = domainName('ZONE', zoneArg);
  const kind = a.value('for');
  if (kind === undefined) throw new UsageError(`--for is required (${SECONDARY_KINDS.join(', ')})`);
  if (!(SECONDARY_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`--for: expected one of ${SECONDARY_KINDS.join(', ')} (got "${kind}")`);
  const primaryText = a.value('primary');
  if (primaryText === undefined) throw new UsageError('--primary is required (the address dane-ns serves on)');
  // A bare address means port 53; with a port, an IPv6 address is written in brackets.
  const primary = isIP(primaryText) !== 0 ? { host: primaryText, port: 53 } : hostPort('--primary', primaryText, 1);
  const zonesDir = directory(a, io.defaults, 'zones');
  const keysDir = directory(a, io.defaults, 'keys');

  const zone = findZone(zonesDir, zoneArg, want, asWritten);
  const allow = zone.transfer.allow;
  const zoneText = nameToText(zone.origin) === '.' ? '.' : nameToText(zone.origin).replace(/\.$/, '');
  if (allow.length === 0)
    throw new Error(`zone ${zoneText} allows no transfers: its zone file has no transfer.allow (docs/zone-format.md)`);
  const withKey = allow.find((e) => e.key !== undefined);
  const notes: string[] = [];
  let key: Secondary['key'] = null;
  if (withKey?.key !== undefined) {
    const tsig = keyFor(keysDir, withKey.key);
    key = {
      name: nameToText(tsig.name).replace(/\.$/, ''),
      algorithm: tsig.algorithm,
      secret: Buffer.from(tsig.secret).toString('base64'),
    };
    if (withKey.address !== undefined)
      notes.push(`the primary also requires that this secondary transfers from ${withKey.address.text}`);
  } else {
    const prefixes = allow.map((e) => e.address?.text).filter((t) => t !== undefined);
    notes.push(`no TSIG: the primary allows transfers by address (${prefixes.join(', ')}), not by key`);
  }
  const s: Secondary = {
    zone: zoneText,
    file: `${zoneText === '.' ? 'root' : zoneText}.zone`,
    host: primary.host,
    port: primary.port,
    key,
    notes,
  };
  io.out(FORMATS[kind as Kind](s));
  return 0;
}

/** The key `name` (lower case, absolute, as transfer.allow holds it) from its file in `<keys>/tsig/`. */
function keyFor(keysDir: string, name: string): TsigKey {
  const file = join(keysDir, TSIG_DIR, tsigKeyFileName(parseName(name, ROOT)));
  if (!existsSync(file))
    throw new Error(
      `transfer.allow names the TSIG key "${name.replace(/\.$/, '')}" and there is no key file ${file} ` +
        `(dane-ns tsig generate ${name.replace(/\.$/, '')})`,
    );
  return readKeyFile(file, tsigKeyFileName(parseName(name, ROOT)).slice(0, -'.key'.length));
}

const comments = (mark: string, s: Secondary, what: string): string =>
  [`dane-ns secondary-config: ${what} of a secondary of ${s.zone} (primary ${s.host} port ${s.port})`, ...s.notes]
    .map((l) => `${mark} ${l}\n`)
    .join('');

/** nsd.conf(5): `request-xfr` without `AXFR`, so NSD asks for IXFR (RFC 1995) first, as dane-ns answers it. */
function nsd(s: Secondary): string {
  const keyName = s.key?.name ?? 'NOKEY';
  const key = s.key
    ? `key:\n    name: "${s.key.name}"\n    algorithm: ${s.key.algorithm}\n    secret: "${s.key.secret}"\n`
    : '';
  return (
    comments('#', s, 'nsd.conf') +
    key +
    `zone:\n    name: "${s.zone}"\n    zonefile: "${s.file}"\n` +
    `    request-xfr: ${s.host}@${s.port} ${keyName}\n` +
    `    allow-notify: ${s.host} ${keyName}\n`
  );
}

/** knot.conf(5), in the layout of the README's block; Knot asks for IXFR first and falls back to AXFR. */
function knot(s: Secondary): string {
  const addr = `${s.host}@${s.port}`;
  const keyLine = s.key ? `    key: ${s.key.name}\n` : '';
  const key = s.key
    ? `key:\n  - id: ${s.key.name}\n    algorithm: ${s.key.algorithm}\n    secret: ${s.key.secret}\n`
    : '';
  return (
    comments('#', s, 'knot.conf') +
    key +
    `remote:\n  - id: dane-ns\n    address: ${addr}\n${keyLine}` +
    `acl:\n  - id: dane-ns-notify\n    address: ${s.host}\n${keyLine}    action: notify\n` +
    `zone:\n  - domain: ${s.zone}\n    file: ${s.file}\n    master: dane-ns\n    acl: dane-ns-notify\n` +
    `    dnssec-validation: on\n`
  );
}

/** named.conf(5) of BIND 9.18 (IXFR first, BIND's default). */
function bind(s: Secondary): string {
  const key = s.key ? `key "${s.key.name}" {\n\talgorithm ${s.key.algorithm};\n\tsecret "${s.key.secret}";\n};\n` : '';
  const keyRef = s.key ? ` key "${s.key.name}"` : '';
  return (
    comments('//', s, 'named.conf') +
    key +
    `zone "${s.zone}" {\n\ttype secondary;\n\tprimaries port ${s.port} { ${s.host}${keyRef}; };\n` +
    `\tfile "${s.file}";\n\tallow-notify { ${s.host}; };\n};\n`
  );
}

const FORMATS: Record<Kind, (s: Secondary) => string> = { nsd, knot, bind };
