/**
 * Who may change what by dynamic update (RFC 2136 §3.3, the server's own permission policy): the `update:`
 * rules of a zone file resolved against its origin, the types that are never updatable whatever a rule says,
 * and the question "may key K change type T at owner N". Used at load time (a rule that grants the impossible
 * is a load error) and for every UPDATE (server/update.ts).
 */
import { isSubdomain, nameToText, parseName, type Name } from '../wire/name.js';
import { T, typeToText } from '../wire/types.js';
import type { TlsaEntry, UpdateRule } from './settings.js';

/**
 * Never updatable: the SOA and the apex NS (the zone's own identity, RFC 2136 §3.4.2.3-4 protect them too),
 * everything DNSSEC generates or depends on (DNSKEY, CDS/CDNSKEY of RFC 7344, RRSIG, NSEC, NSEC3, NSEC3PARAM)
 * and meta types. TLSA at the automatic owners of `tlsa:` is checked by owner (automaticTlsaOwners).
 */
const NEVER = new Set<number>([
  T.SOA,
  T.DNSKEY,
  T.CDS,
  T.CDNSKEY,
  T.RRSIG,
  T.NSEC,
  T.NSEC3,
  T.NSEC3PARAM,
  T.OPT,
  T.TSIG,
  T.TKEY,
  T.AXFR,
  T.IXFR,
  T.ANY,
  253,
  254,
  0,
]);

/** One rule resolved: the key, the owners by lower-case key, the types. */
export interface UpdateGrant {
  readonly key: string;
  readonly owners: ReadonlySet<string>;
  readonly types: readonly number[];
  readonly line: number;
}

/** Why type `type` at `owner` can never be updated in a zone with `origin` and these TLSA owners, or null. */
export function neverUpdatable(
  type: number,
  owner: Name,
  origin: Name,
  tlsaOwners: ReadonlySet<string>,
): string | null {
  if (NEVER.has(type)) return `${typeToText(type)} is never updatable`;
  if (type === T.NS && owner.key === origin.key) return 'NS at the apex is never updatable';
  if (type === T.TLSA && tlsaOwners.has(owner.key))
    return `TLSA at ${nameToText(owner)} is the automatic TLSA of tlsa:, never updatable`;
  return null;
}

/** The owners of the automatic TLSA records (`_<port>._tcp.<host>`, RFC 6698 §3), by lower-case key. */
export function automaticTlsaOwners(tlsa: readonly TlsaEntry[], origin: Name): Set<string> {
  const out = new Set<string>();
  for (const e of tlsa)
    for (const port of e.ports)
      try {
        out.add(parseName(`_${port}._tcp.${e.host}`, origin).key);
      } catch {
        // a bad host is tlsa:'s own problem
      }
  return out;
}

/** Resolves the rules; each name outside the zone or grant of a never-updatable type is a problem. */
export function resolveUpdateRules(
  rules: readonly UpdateRule[],
  origin: Name,
  tlsa: readonly TlsaEntry[],
  problem: (line: number, reason: string) => void,
): UpdateGrant[] {
  const tlsaOwners = automaticTlsaOwners(tlsa, origin);
  const out: UpdateGrant[] = [];
  rules.forEach((rule, i) => {
    const owners = new Set<string>();
    let ok = true;
    for (const text of rule.names) {
      let owner: Name;
      try {
        owner = parseName(text, origin);
      } catch (e) {
        problem(rule.line, `update[${i}].names: "${text}": ${(e as Error).message}`);
        ok = false;
        continue;
      }
      if (!isSubdomain(owner, origin)) {
        problem(rule.line, `update[${i}].names: ${nameToText(owner)} is outside the zone ${nameToText(origin)}`);
        ok = false;
        continue;
      }
      for (const type of rule.types) {
        const never = neverUpdatable(type, owner, origin, tlsaOwners);
        if (never) {
          problem(rule.line, `update[${i}]: ${never}`);
          ok = false;
        }
      }
      owners.add(owner.key);
    }
    if (ok) out.push({ key: rule.key, owners, types: rule.types, line: rule.line });
  });
  return out;
}

/** The grant that allows `type` at `owner` to anyone, if any (the load-time check against `records:`). */
export function grantOf(grants: readonly UpdateGrant[], owner: Name, type: number): UpdateGrant | undefined {
  return grants.find((g) => g.owners.has(owner.key) && g.types.includes(type));
}

/** Whether key `key` (lower case, absolute) may change `type` at `owner` (T.ANY: every type it may change there). */
export function mayUpdate(grants: readonly UpdateGrant[], key: string, owner: Name, type: number): boolean {
  return grants.some((g) => g.key === key && g.owners.has(owner.key) && (type === T.ANY || g.types.includes(type)));
}
