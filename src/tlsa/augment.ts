/**
 * Puts the automatic TLSA records into a zone's source records, before the zone is built and signed. Pure.
 *
 * - Owners are `_<port>._tcp.<host>` for each configured port. Hand-written TLSA records at those owners are
 *   dropped: the automatic set wins and a warning names the line (docs/zone-format.md).
 * - Wildcard collision (PowerDNS issue 2432): when `<host>` exists only through a wildcard, adding names below
 *   it would make it (and any name between it and the wildcard's parent) an empty non-terminal, and the
 *   wildcard would stop answering for it. So the wildcard's records are copied to those names, and to a
 *   wildcard below each of them (so their other children keep the wildcard's answers too), which keeps every
 *   answer for `<host>` as it was, and a warning says so.
 * - A host outside the zone, at or below a delegation is a problem with the `tlsa:` entry's line.
 */
import { WireError } from '../wire/errors.js';
import { isSubdomain, labelCount, nameToText, parseName, stripLabels, type Name } from '../wire/name.js';
import { rdataNames, rdataToText } from '../wire/rdata.js';
import { T, typeToText } from '../wire/types.js';
import type { ZoneProblem } from '../zone/errors.js';
import type { RecordInput, ZoneSource } from '../zone/yaml.js';
import { locate, type Zone } from '../zone/zone.js';

export interface AutoTlsa {
  /** The host as written in the `tlsa:` entry (relative or absolute). */
  readonly host: string;
  readonly ports: readonly number[];
  readonly ttl: number;
  /** Presentation RDATA of the records to publish (empty: none). */
  readonly rdatas: readonly string[];
  /** Line of the `tlsa:` entry. */
  readonly line: number;
}

interface Augmented {
  readonly source: ZoneSource;
  readonly warnings: readonly ZoneProblem[];
  readonly problems: readonly ZoneProblem[];
}

/** Names walked between two yields of mxTargetsSteps. */
const NODES_PER_STEP = 4096;

/**
 * Names that are the exchange of an MX record in `zone` (lower-case keys), in steps that yield every few
 * thousand names (for the server's slices: a zone with a hundred thousand names takes tens of milliseconds).
 */
export function* mxTargetsSteps(zone: Zone): Generator<void, Set<string>, undefined> {
  const out = new Set<string>();
  let n = 0;
  for (const node of zone.ordered) {
    const mx = node.rrsets.get(T.MX);
    if (mx) for (const rd of mx.rdatas) for (const name of rdataNames(T.MX, rd)) out.add(name.key);
    if (++n % NODES_PER_STEP === 0) yield;
  }
  return out;
}

/** The absolute host name of a `tlsa:` entry, or a reason it is not usable in the zone. */
export function tlsaHost(host: string, origin: Name): Name | string {
  let name: Name;
  try {
    name = parseName(host, origin);
  } catch (e) {
    return `tlsa host "${host}": ${e instanceof WireError ? e.message : String(e)}`;
  }
  if (!isSubdomain(name, origin)) return `tlsa host ${nameToText(name)} is outside the zone ${nameToText(origin)}`;
  return name;
}

export function withAutomaticTlsa(src: ZoneSource, plain: Zone, sets: readonly AutoTlsa[]): Augmented {
  const origin = plain.origin;
  const warnings: ZoneProblem[] = [];
  const problems: ZoneProblem[] = [];
  const file = src.file;
  const automaticOwners = new Set<string>();
  const added: RecordInput[] = [];
  const hostLines = new Map<string, number>();

  for (const set of sets) {
    const host = tlsaHost(set.host, origin);
    if (typeof host === 'string') {
      problems.push({ file, line: set.line, reason: host });
      continue;
    }
    const dup = hostLines.get(host.key);
    if (dup !== undefined) {
      problems.push({
        file,
        line: set.line,
        reason: `tlsa host ${nameToText(host)} is already listed (line ${dup}): give one entry with every port`,
      });
      continue;
    }
    hostLines.set(host.key, set.line);
    const at = locate(plain, host);
    const node = at.exact ?? at.encloser;
    if (node.isDelegation || node.belowCut) {
      const cut = node.isDelegation ? node : node.cut!;
      problems.push({
        file,
        line: set.line,
        reason: `tlsa host ${nameToText(host)} is at or below the delegation ${nameToText(cut.name)}: its TLSA belongs in the child zone`,
      });
      continue;
    }
    // No records yet (no file readable since the first start): hand-written records, if any, stay.
    if (set.rdatas.length === 0) continue;
    for (const port of set.ports) automaticOwners.add(parseName(`_${port}._tcp`, host).key);

    const wildcard = at.exact ? null : at.encloser.wildcardChild;
    if (wildcard && wildcard.rrsets.size > 0) {
      // Names from just below the closest encloser down to the host: each answered by the wildcard until now.
      const copied: string[] = [];
      const encloserLabels = labelCount(at.encloser.name);
      for (let n = labelCount(host); n > encloserLabels; n--) {
        const name = stripLabels(host, labelCount(host) - n);
        // The name itself, and a wildcard below it so that its other children keep their answers too.
        for (const owner of [nameToText(name), `*.${nameToText(name)}`]) {
          copied.push(owner);
          for (const rs of wildcard.rrsets.values())
            for (const rd of rs.rdatas)
              added.push({
                owner,
                type: typeToText(rs.type),
                ttl: rs.ttl,
                value: rdataToText(rs.type, rd),
                line: set.line,
              });
        }
      }
      warnings.push({
        file,
        line: set.line,
        reason: `tlsa host ${nameToText(host)} exists only through the wildcard ${nameToText(wildcard.name)}: its records are copied to ${copied.join(', ')} so the answers for it do not change`,
      });
    }
    for (const port of set.ports) {
      const owner = nameToText(parseName(`_${port}._tcp`, host));
      for (const rdata of set.rdatas) added.push({ owner, type: 'TLSA', ttl: set.ttl, value: rdata, line: set.line });
    }
  }

  const kept = src.records.filter((r) => {
    if (r.type.toUpperCase() !== typeToText(T.TLSA)) return true;
    let key: string;
    try {
      key = parseName(r.owner, origin).key;
    } catch {
      return true; // the build reports it
    }
    if (!automaticOwners.has(key)) return true;
    warnings.push({
      file,
      line: r.line,
      reason: `${r.owner} TLSA: written by hand and also automatic (tlsa:); the automatic set wins`,
    });
    return false;
  });
  return { source: { ...src, records: [...kept, ...added] }, warnings, problems };
}
