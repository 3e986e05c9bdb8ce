/**
 * The catalog zone (RFC 9432, schema version 2) that lists the zones a server hands to its secondaries, so that
 * a new zone reaches them with no configuration edit there. Pure functions: the catalog's source (§4: an SOA, NS
 * `invalid.` (§4.1), `version` TXT "2" (§4.2.1), one `<id>.zones` PTR per member zone (§4.2)), its member IDs,
 * and who may transfer it (the union of the members' `transfer:` sections).
 *
 * Member IDs are derived from the member's name alone (the SHA-1 of its lower-case wire form, in hex, the form
 * of the IDs in RFC 9432's examples): the same zone always gets the same ID, across reloads and restarts, with
 * nothing to keep. Knot's generated catalogs also derive the ID from the member's name (with the time it was
 * added). §5.6 lets a producer change an ID to make consumers reset a zone's state; dane-ns never does: a zone
 * that is removed and comes back later is a new zone to the consumers only if it stayed away long enough to be
 * dropped from the catalog (server/catalog.ts, `serve --catalog-grace`).
 */
import { createHash } from 'node:crypto';
import { lowerWire, nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { buildZone } from './build.js';
import type { RecordInput, ZoneSource } from './yaml.js';
import {
  DNSSEC_DEFAULTS,
  TRANSFER_DEFAULTS,
  type NotifyTarget,
  type TransferAllow,
  type TransferSettings,
} from './settings.js';
import type { Zone } from './zone.js';

/** The catalog schema version published in `version.<catalog>` TXT (RFC 9432 §4.2.1). */
export const CATALOG_SCHEMA_VERSION = 2;

/**
 * SOA timers of the catalog. Refresh 300 s: a secondary that missed a NOTIFY learns of a new zone within five
 * minutes. Expire as long as the SOA allows (Knot's generated catalogs do the same): a consumer whose catalog
 * expired could stop serving every member zone, far worse than serving a list that is out of date.
 */
const SOA = { refresh: 300, retry: 60, expire: 0x7ffffffe, minimum: 0 } as const;

/** The member ID of a zone (RFC 9432 §4.2: a single label, unique within the catalog). */
export function memberId(member: Name): string {
  return createHash('sha1').update(lowerWire(member.wire)).digest('hex');
}

/** The member names as sorted, lower-case, absolute texts, without duplicates (the catalog's content). */
function memberTexts(members: Iterable<Name>): string[] {
  return [...new Set([...members].map((m) => nameToText(m).toLowerCase()))].sort();
}

/**
 * The catalog's zone source: its records in presentation form, unsigned (a catalog is not for resolution,
 * RFC 9432 §1, §7: only its consumers read it, by transfer, and its integrity comes from TSIG; BIND does not
 * validate transfers, Knot only where `dnssec-validation: on` is set for the catalog, docs/catalog.md), serial
 * `auto` (the server's serial rules: it rises on every change of the member list).
 */
export function catalogSource(catalog: Name, members: Iterable<Name>, transfer: TransferSettings): ZoneSource {
  const origin = nameToText(catalog);
  const rec = (owner: string, type: string, value: string): RecordInput => ({
    owner,
    type,
    ttl: undefined,
    value,
    line: 0,
  });
  const records: RecordInput[] = [
    rec('@', 'NS', 'invalid.'),
    rec('version', 'TXT', String(CATALOG_SCHEMA_VERSION)),
    ...memberTexts(members).map((m) => rec(`${memberId(parseName(m, ROOT))}.zones`, 'PTR', m)),
  ];
  return {
    file: `(catalog ${origin})`,
    origin,
    originLine: 1,
    // RFC 9432 §4: TTLs of a catalog have no meaning (it is not queried for resolution); 0 as Knot's.
    ttl: 0,
    soa: {
      mname: 'invalid.',
      rname: 'invalid.',
      serial: 'auto',
      ...SOA,
      ttl: 0,
      line: 1,
      lines: { mname: 1, rname: 1 },
    },
    dnssec: { ...DNSSEC_DEFAULTS, enabled: false },
    records,
    tlsa: [],
    transfer,
    update: [],
  };
}

/**
 * Builds the catalog zone; `autoSerial` gives the serial for its content hash (the server's serial store).
 * Throws ZoneError only on a bug: every record is made here.
 */
export function buildCatalog(
  catalog: Name,
  members: Iterable<Name>,
  transfer: TransferSettings,
  autoSerial?: (hash: string) => number,
): Zone {
  const origin = nameToText(catalog);
  return buildZone(catalogSource(catalog, members, transfer), {
    defaultOrigin: origin,
    ...(autoSerial ? { autoSerial } : {}),
  });
}

/**
 * Who may transfer the catalog and whom it NOTIFYs (RFC 9432 §4: the catalog goes to the members' secondaries):
 * every `transfer.allow` entry and every `transfer.notify` target of the members, each once. `check` servers
 * are not in it: they are public servers that are asked for a serial, not secondaries of ours.
 */
export function catalogTransfer(members: Iterable<TransferSettings>): TransferSettings {
  const allow = new Map<string, TransferAllow>();
  const notify = new Map<string, NotifyTarget>();
  for (const t of members) {
    for (const a of t.allow) allow.set(`${a.key ?? ''} ${a.address?.text ?? ''}`, a);
    for (const n of t.notify) notify.set(`${n.address} ${n.port} ${n.key ?? ''}`, n);
  }
  if (allow.size === 0 && notify.size === 0) return TRANSFER_DEFAULTS;
  return { allow: [...allow.values()], notify: [...notify.values()] };
}

/** A text that changes exactly when the catalog's content or its transfer settings change (to reuse a build). */
export function catalogKey(members: Iterable<Name>, transfer: TransferSettings): string {
  const allow = transfer.allow.map((a) => [a.key ?? null, a.address?.text ?? null]);
  const notify = transfer.notify.map((n) => [n.address, n.port, n.key ?? null]);
  return JSON.stringify([memberTexts(members), allow, notify]);
}
