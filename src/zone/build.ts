/**
 * ZoneSource -> frozen Zone: presentation values to wire rdata, RRsets grouped by owner and type, the
 * zone-file semantic rules of docs/zone-format.md checked (each problem with file and line), and the name tree with
 * empty non-terminals, cuts and wildcard parents computed once.
 */
import { sortSteps } from './sortsteps.js';
import { createHash } from 'node:crypto';
import { WireError } from '../wire/errors.js';
import {
  compareNames,
  isSubdomain,
  isWildcard,
  labelCount,
  nameToText,
  parseName,
  ROOT,
  stripLabels,
  type Name,
} from '../wire/name.js';
import { rdataFromText } from '../wire/rdata.js';
import { storedRRset } from '../wire/rrset.js';
import { slabCopy } from '../wire/slab.js';
import { T, typeFromText, typeToText } from '../wire/types.js';
import { ZoneError, type ZoneProblem } from './errors.js';
import { didYouMean } from './typo.js';
import { grantOf, resolveUpdateRules } from './updatepolicy.js';
import type { RecordInput, ZoneSource } from './yaml.js';
import type { SoaInput } from './yamlsettings.js';
import { OneRRset, RRsetsByType, type RRset, type Zone, type ZoneNode } from './zone.js';

/** Types the server generates itself (docs/zone-format.md) and meta types that cannot be zone data. */
const GENERATED = new Set<number>([T.DNSKEY, T.RRSIG, T.NSEC, T.NSEC3, T.NSEC3PARAM]);
const META = new Set<number>([T.OPT, T.TKEY, T.TSIG, T.IXFR, T.AXFR, 253, 254, T.ANY, 0]);
/** What may sit at a delegation point besides NS/DS: addresses that serve as glue for an in-bailiwick NS. */
const AT_CUT = new Set<number>([T.NS, T.DS, T.A, T.AAAA]);
const GLUE = new Set<number>([T.A, T.AAAA]);

/**
 * A node of the name tree while it is built; frozen into the Zone's ZoneNode. A 100k-name zone keeps 100k of
 * them, so the three flags and the child count share one number (a field costs 8 bytes in node's V8).
 */
class MutableNode implements ZoneNode {
  rrsets: ReadonlyMap<number, RRset> = NO_RRSETS;
  cut: MutableNode | null = null;
  wildcardChild: MutableNode | null = null;
  /** isApex 1, isDelegation 2, belowCut 4; the child count from bit 3 up. */
  #bits: number;

  constructor(
    readonly name: Name,
    readonly parent: MutableNode | null,
  ) {
    this.#bits = parent ? 0 : 1;
  }

  get isApex(): boolean {
    return (this.#bits & 1) !== 0;
  }

  get isDelegation(): boolean {
    return (this.#bits & 2) !== 0;
  }

  set isDelegation(v: boolean) {
    this.#bits = v ? this.#bits | 2 : this.#bits & ~2;
  }

  get belowCut(): boolean {
    return (this.#bits & 4) !== 0;
  }

  set belowCut(v: boolean) {
    this.#bits = v ? this.#bits | 4 : this.#bits & ~4;
  }

  get childCount(): number {
    return this.#bits >>> 3;
  }

  addChild(): void {
    this.#bits += 8;
  }

  /** Adds an RRset, or replaces the one of its type in place. The read-only form is made for each change. */
  addRRset(rs: RRset): void {
    const items = [...this.rrsets.values()];
    const at = items.findIndex((x) => x.type === rs.type);
    if (at >= 0) items[at] = rs;
    else items.push(rs);
    // slice(): an array spread from an iterator keeps room for 17 elements (about 100 bytes per node unused).
    this.rrsets = items.length === 1 ? new OneRRset(rs) : new RRsetsByType(Object.freeze(items.slice()));
  }
}

/** The RRsets of an empty non-terminal (shared). */
const NO_RRSETS: ReadonlyMap<number, RRset> = new RRsetsByType(Object.freeze([]));

/** Converts the SOA `rname` (a name, or an e-mail address with `@`) to a mailbox name in presentation form. */
function rnameText(rname: string): string {
  const at = rname.indexOf('@');
  if (at < 0) return rname;
  const local = rname.slice(0, at).replace(/\\/g, '\\\\').replace(/\./g, '\\.');
  const domain = rname.slice(at + 1);
  return `${local}.${domain.endsWith('.') ? domain : domain + '.'}`;
}

/** TXT/SPF value: text not starting with `"` is one text, split into 255-octet character-strings. */
function literalText(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  const parts: number[] = [];
  if (bytes.length === 0) parts.push(0);
  for (let i = 0; i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(chunk.length, ...chunk);
  }
  return Uint8Array.from(parts);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface BuildOptions {
  /** Origin to use when the file sets none (from the file name). */
  readonly defaultOrigin: string;
  /** Serial to publish when the file says `serial: auto` (the state directory decides; default 1). */
  readonly autoSerial?: (contentHash: string) => number;
}

function errMsg(e: unknown): string {
  return e instanceof WireError || e instanceof Error ? e.message : String(e);
}

/** Builds a Zone or throws ZoneError listing every problem with its file and line. */
export function buildZone(src: ZoneSource, opts: BuildOptions, earlier: ZoneProblem[] = []): Zone {
  const steps = buildZoneSteps(src, opts, earlier);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Records or owners handled between two yields of buildZoneSteps. */
const PER_STEP = 256;

/**
 * buildZone as a generator that yields every few hundred records or owners, for a server that builds a
 * changed zone in slices and answers queries between them (server/slices.ts).
 */
export function* buildZoneSteps(
  src: ZoneSource,
  opts: BuildOptions,
  earlier: ZoneProblem[] = [],
): Generator<void, Zone, undefined> {
  let step = 0;
  const problems: ZoneProblem[] = [...earlier];
  const file = src.file;
  const problem = (line: number, reason: string): void => {
    problems.push({ file, line, reason });
  };

  let origin: Name = ROOT;
  const originText = src.origin ?? opts.defaultOrigin;
  try {
    origin = parseName(originText.endsWith('.') ? originText : originText + '.', ROOT);
  } catch (e) {
    problem(src.origin === undefined ? 1 : src.originLine, `origin "${originText}": ${errMsg(e)}`);
    throw new ZoneError(problems);
  }

  // ---- records -> RRsets ------------------------------------------------------------------------------------
  interface Pending {
    readonly owner: Name;
    readonly type: number;
    readonly ttl: number;
    readonly rdatas: Uint8Array[];
    /** Line of the RRset's first record. */
    readonly line: number;
  }
  /**
   * RRsets being collected, by owner key: the owner's one RRset, or its RRsets in order. No key string per
   * RRset: for a 100k-name zone this map is the largest thing alive while loading.
   */
  const pending = new Map<string, Pending | Pending[]>();
  const pendingOf = (v: Pending | Pending[] | undefined, type: number): Pending | undefined =>
    v === undefined ? undefined : Array.isArray(v) ? v.find((p) => p.type === type) : v.type === type ? v : undefined;

  // Records of one owner come one after another: its name is parsed once.
  let lastOwnerText: string | undefined;
  let lastOwner: Name | undefined;
  const add = (r: RecordInput): void => {
    let owner: Name;
    if (r.owner === lastOwnerText && lastOwner) owner = lastOwner;
    else {
      try {
        owner = parseName(r.owner, origin);
      } catch (e) {
        return problem(r.line, `owner "${r.owner}": ${errMsg(e)}`);
      }
      lastOwnerText = r.owner;
      lastOwner = owner;
    }
    if (!isSubdomain(owner, origin))
      return problem(r.line, `owner ${nameToText(owner)} is outside the zone ${nameToText(origin)}`);
    let type: number;
    try {
      type = typeFromText(r.type);
    } catch (e) {
      return problem(r.line, `${r.owner}: unknown type "${r.type}"${didYouMean(r.type)}`);
    }
    if (GENERATED.has(type))
      return problem(r.line, `${r.owner} ${typeToText(type)}: generated by the server, not allowed in zone files`);
    if (type === T.SOA) return problem(r.line, `${r.owner} SOA: the SOA is written in the "soa:" section`);
    if (META.has(type)) return problem(r.line, `${r.owner} ${typeToText(type)}: a meta type cannot be zone data`);
    let rdata: Uint8Array;
    try {
      // Copied into a shared slab (wire/slab.ts): a zone holds one small array per record.
      rdata = slabCopy(
        (type === T.TXT || type === T.SPF) && !r.value.startsWith('"')
          ? literalText(r.value)
          : rdataFromText(type, r.value, origin),
      );
    } catch (e) {
      return problem(r.line, `${r.owner} ${typeToText(type)} "${r.value}": ${errMsg(e)}`);
    }
    const ttl = r.ttl ?? src.ttl;
    const v = pending.get(owner.key);
    const p = pendingOf(v, type);
    if (!p) {
      const fresh: Pending = { owner, type, ttl, rdatas: [rdata], line: r.line };
      if (v === undefined) pending.set(owner.key, fresh);
      else if (Array.isArray(v)) v.push(fresh);
      else pending.set(owner.key, [v, fresh]);
      return;
    }
    if (p.ttl !== ttl) {
      // RFC 2181 §5.2: one TTL per RRset. Records written under two spellings of one owner can disagree.
      return problem(
        r.line,
        `${r.owner} ${typeToText(type)}: TTL ${ttl} differs from TTL ${p.ttl} of the same RRset (line ${p.line})`,
      );
    }
    // RFC 2181 §5: an RRset holds no duplicate records; a repeated value is dropped.
    if (!p.rdatas.some((x) => sameBytes(x, rdata))) p.rdatas.push(rdata);
  };
  /** Records that were not taken (a problem was reported for them). */
  const rejected = new Set<RecordInput>();
  for (const r of src.records) {
    const before = problems.length;
    add(r);
    if (problems.length > before) rejected.add(r);
    if (++step % PER_STEP === 0) yield;
  }
  // RFC 2136 §3.3: what `update:` allows is the update's alone; the same owner and type in `records:` would have
  // two sources, and an update could not tell which one it changes.
  const update = resolveUpdateRules(src.update, origin, src.tlsa, problem);
  if (update.length > 0)
    for (const r of src.records) {
      if (r.dynamic || rejected.has(r)) continue;
      const grant = grantOf(update, parseName(r.owner, origin), typeFromText(r.type));
      if (grant)
        problem(
          r.line,
          `${r.owner} ${r.type.toUpperCase()}: also allowed to dynamic update by update: (line ${grant.line}); ` +
            'write it in one place only',
        );
    }

  // ---- SOA ---------------------------------------------------------------------------------------------------
  const soaIn: SoaInput | undefined = src.soa;
  let soaRdata: Uint8Array | undefined;
  // A "soa:" section that was refused has its own problems already (soa.mname is required, ...).
  if (!soaIn) {
    if (!problems.some((p) => p.reason.startsWith('soa'))) problem(1, 'soa: the "soa:" section is required');
  } else {
    const serial = soaIn.serial === 'auto' ? 0 : soaIn.serial;
    // The names first, so that a bad one is reported with its key and line rather than as the SOA's.
    const badNames = (['mname', 'rname'] as const).filter((k) => {
      try {
        parseName(k === 'mname' ? soaIn.mname : rnameText(soaIn.rname), origin);
        return false;
      } catch (e) {
        problem(soaIn.lines[k], `soa.${k} "${soaIn[k]}": ${errMsg(e)}`);
        return true;
      }
    });
    if (badNames.length === 0)
      try {
        soaRdata = rdataFromText(
          T.SOA,
          `${soaIn.mname} ${rnameText(soaIn.rname)} ${serial} ${soaIn.refresh} ${soaIn.retry} ${soaIn.expire} ${soaIn.minimum}`,
          origin,
        );
      } catch (e) {
        problem(soaIn.line, `soa: ${errMsg(e)}`);
      }
  }

  // ---- the name tree ------------------------------------------------------------------------------------------
  const nodes = new Map<string, MutableNode>();
  const originLabels = labelCount(origin);
  const apex = new MutableNode(origin, null);
  nodes.set(origin.key, apex);
  const nodeFor = (name: Name): MutableNode => {
    const have = nodes.get(name.key);
    if (have) return have;
    const parent = nodeFor(stripLabels(name, 1));
    const n = new MutableNode(name, parent);
    parent.addChild();
    if (isWildcard(name)) parent.wildcardChild = n;
    nodes.set(name.key, n);
    return n;
  };
  // Each owner's entry is dropped once its RRsets are in the tree, so the collected RRsets and the tree are
  // not both whole at once.
  for (const [key, v] of pending) {
    const list = Array.isArray(v) ? v : [v];
    const node = nodeFor(list[0]!.owner);
    // Most RRsets hold one record: stored compactly (wire/rrset.ts).
    for (const p of list) node.addRRset(storedRRset(node.name, p.type, p.ttl, p.rdatas));
    pending.delete(key);
    if (++step % PER_STEP === 0) yield;
  }
  let soaRRset: RRset | undefined;
  if (soaIn && soaRdata) {
    soaRRset = Object.freeze({
      owner: origin,
      type: T.SOA,
      ttl: soaIn.ttl ?? src.ttl,
      rdatas: Object.freeze([soaRdata]),
    });
    apex.addRRset(soaRRset);
  }

  // ---- semantic checks and flags ----------------------------------------------------------------------------
  /**
   * Lines for the checks' messages: of the RRset's first record, else of the owner's first record. Found again
   * from the records when a check first needs one (the collected RRsets, which had them, are gone by now).
   */
  let lineIndex: Map<string, Map<number, number>> | undefined;
  const lineOf = (n: MutableNode, type?: number): number => {
    lineIndex ??= indexLines();
    const byType = lineIndex.get(n.name.key);
    return (type !== undefined ? byType?.get(type) : undefined) ?? byType?.get(-1) ?? 1;
  };
  /** Owner key -> type -> line of the first record taken (type -1: of the owner's first record). */
  function indexLines(): Map<string, Map<number, number>> {
    const index = new Map<string, Map<number, number>>();
    for (const r of src.records) {
      if (rejected.has(r)) continue;
      const key = parseName(r.owner, origin).key;
      const type = typeFromText(r.type);
      let byType = index.get(key);
      if (!byType) index.set(key, (byType = new Map([[-1, r.line]])));
      if (!byType.has(type)) byType.set(type, r.line);
    }
    return index;
  }
  if (!apex.rrsets.has(T.NS)) problem(soaIn?.line ?? 1, `the apex ${nameToText(origin)} needs NS records`);

  // Ancestors are visited before descendants when walking in canonical order. Sorted in steps: a large zone's
  // names take longer to sort than a query should wait.
  const ordered = yield* sortSteps([...nodes.values()], (a, b) => compareNames(a.name, b.name));
  for (const n of ordered) {
    const p = n.parent;
    if (p) {
      if (p.isDelegation || p.belowCut) {
        n.belowCut = true;
        n.cut = p.isDelegation ? p : p.cut;
      }
      const dnameAbove = p.rrsets.has(T.DNAME) ? p : null;
      if (dnameAbove && n.rrsets.size > 0)
        problem(
          lineOf(n),
          `${nameToText(n.name)} is below the DNAME at ${nameToText(dnameAbove.name)} (RFC 6672 §2.3): not allowed`,
        );
    }
    if (!n.isApex && !n.belowCut && n.rrsets.has(T.NS)) n.isDelegation = true;
    if (++step % PER_STEP === 0) yield;

    const types = [...n.rrsets.keys()];
    if (n.rrsets.has(T.CNAME)) {
      if (types.length > 1)
        problem(
          lineOf(n, T.CNAME),
          `${nameToText(n.name)}: CNAME cannot coexist with other data (${types
            .filter((t) => t !== T.CNAME)
            .map(typeToText)
            .join(', ')})`,
        );
      if (n.rrsets.get(T.CNAME)!.rdatas.length > 1)
        problem(lineOf(n, T.CNAME), `${nameToText(n.name)}: more than one CNAME`);
    }
    if (n.rrsets.has(T.DNAME) && n.rrsets.get(T.DNAME)!.rdatas.length > 1)
      problem(lineOf(n, T.DNAME), `${nameToText(n.name)}: more than one DNAME`);
    if (n.rrsets.has(T.DS) && !n.isDelegation)
      problem(
        lineOf(n, T.DS),
        `${nameToText(n.name)}: DS is only allowed at a delegation (a name with NS, not the apex)`,
      );
    if (isWildcard(n.name) && (n.rrsets.has(T.NS) || n.rrsets.has(T.DNAME)))
      problem(lineOf(n), `${nameToText(n.name)}: NS or DNAME at a wildcard is not allowed (RFC 4592 §4)`);
    if (n.isDelegation) {
      for (const t of types)
        if (!AT_CUT.has(t))
          problem(
            lineOf(n, t),
            `${nameToText(n.name)} ${typeToText(t)}: only NS, DS and glue addresses may be at a delegation`,
          );
    }
    if (n.belowCut) {
      for (const t of types)
        if (!GLUE.has(t))
          problem(
            lineOf(n, t),
            `${nameToText(n.name)} ${typeToText(t)}: below the delegation ${nameToText(n.cut!.name)}, only glue (A/AAAA) is allowed`,
          );
    }
  }
  void originLabels;
  if (problems.length > 0 || !soaRRset)
    throw new ZoneError(problems.length ? problems : [{ file, line: 1, reason: 'no SOA' }]);

  // ---- content hash (SOA serial excluded) and serial --------------------------------------------------------
  const h = createHash('sha256');
  for (const n of ordered) {
    for (const t of [...n.rrsets.keys()].sort((a, b) => a - b)) {
      const rs = n.rrsets.get(t)!;
      h.update(n.name.key).update(`/${t}/${rs.ttl}/`);
      for (const rd of rs.rdatas) {
        const d = t === T.SOA ? withSoaSerial(rd, 0) : rd;
        h.update(String(d.length)).update(d);
      }
    }
    if (++step % PER_STEP === 0) yield;
  }
  h.update(JSON.stringify(src.dnssec)).update(JSON.stringify(src.tlsa));
  const contentHash = h.digest('hex');
  const serial = soaIn!.serial === 'auto' ? (opts.autoSerial ? opts.autoSerial(contentHash) : 1) : soaIn!.serial;
  const finalSoa: RRset = Object.freeze({
    ...soaRRset,
    rdatas: Object.freeze([withSoaSerial(soaRRset.rdatas[0]!, serial)]),
  });
  apex.addRRset(finalSoa);
  // Frozen: the flag setters of MutableNode are only called above.
  for (const n of ordered) Object.freeze(n);
  const soaMinimum = readU32(finalSoa.rdatas[0]!, finalSoa.rdatas[0]!.length - 4);
  return Object.freeze({
    origin,
    file,
    apex: apex as ZoneNode,
    nodes: nodes as ReadonlyMap<string, ZoneNode>,
    ordered: Object.freeze(ordered) as readonly ZoneNode[],
    soa: finalSoa,
    negativeTtl: Math.min(finalSoa.ttl, soaMinimum),
    dnssec: src.dnssec,
    tlsa: src.tlsa,
    transfer: src.transfer,
    update,
    contentHash,
    serialSetting: soaIn!.serial,
  });
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

/** SOA rdata with the serial replaced (the serial is the first of the five trailing 32-bit fields). */
export function withSoaSerial(rdata: Uint8Array, serial: number): Uint8Array {
  const out = rdata.slice();
  const at = out.length - 20;
  out[at] = (serial >>> 24) & 0xff;
  out[at + 1] = (serial >>> 16) & 0xff;
  out[at + 2] = (serial >>> 8) & 0xff;
  out[at + 3] = serial & 0xff;
  return out;
}

/** The serial of a SOA rdata. */
export function soaSerial(rdata: Uint8Array): number {
  return readU32(rdata, rdata.length - 20);
}
