/**
 * YAML zone text -> ZoneSource: every record as presentation text with the line it came from
 * (docs/zone-format.md). Parsing only: no file I/O, no semantic checks beyond the file's shape and the values
 * of the settings keys (yamlsettings.ts).
 *
 * The YAML is read with the failsafe schema, so every scalar is the string the user wrote: `TXT: 0x1F`,
 * `A: 1e3` or `TXT: yes` are never silently turned into numbers or booleans.
 */
import {
  LineCounter,
  parseDocument,
  isMap,
  isSeq,
  isScalar,
  type Document,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { ZoneProblem } from './errors.js';
import {
  DNSSEC_DEFAULTS,
  TRANSFER_DEFAULTS,
  type DnssecSettings,
  type TlsaEntry,
  type TransferSettings,
  type UpdateRule,
} from './settings.js';
import {
  checkLifetimes,
  duration,
  isEmpty,
  readDnssec,
  readSoa,
  readTlsa,
  text,
  type NodeReader,
  type SoaInput,
} from './yamlsettings.js';
import { readPiece, type PieceOwner } from './yamlpiece.js';
import { syntaxProblem } from './yamlerrors.js';
import { readTransfer } from './yamltransfer.js';
import { readUpdate } from './yamlupdate.js';

export interface RecordInput {
  /** Owner as written ("@", relative or absolute). */
  readonly owner: string;
  /** Type mnemonic as written. */
  readonly type: string;
  /** TTL in seconds when the RRset sets one. */
  readonly ttl: number | undefined;
  /** One value in presentation format (or a TXT text, see docs/zone-format.md). */
  readonly value: string;
  readonly line: number;
  /** Written by dynamic update (RFC 2136), kept in the state directory: not in the file, line 0. */
  readonly dynamic?: boolean;
}

export interface ZoneSource {
  readonly file: string;
  readonly origin: string | undefined;
  /** Line of the `origin:` key (1 when the file sets none), for messages about the origin. */
  readonly originLine: number;
  readonly ttl: number;
  readonly soa: SoaInput | undefined;
  readonly dnssec: DnssecSettings;
  readonly records: readonly RecordInput[];
  readonly tlsa: readonly TlsaEntry[];
  /** Who may transfer the zone (RFC 5936 §6). */
  readonly transfer: TransferSettings;
  /** Who may change which names by dynamic update (RFC 2136); empty: nobody. */
  readonly update: readonly UpdateRule[];
}

const TOP_KEYS = new Set(['origin', 'ttl', 'soa', 'dnssec', 'records', 'tlsa', 'transfer', 'update']);

/** Owner entries per separately parsed piece of a large `records:` mapping (see splitRecordsSteps). */
const OWNERS_PER_PIECE = 300;

/**
 * A `records:` mapping cut into pieces of whole owner entries, each parsed as a YAML document of its own, and
 * the rest of the file without the mapping's lines (lineAt keeps every line's number).
 */
interface SplitRecords {
  /** The file without the records' entries' lines. */
  readonly outer: string;
  /** The line of `outer` where the entries were, and how many lines they had (outer's later lines move down). */
  readonly bodyLine: number;
  readonly bodyLines: number;
  /** Offset of the `records` key in `outer` (and in the file). */
  readonly keyOffset: number;
  /** Each piece: its text and the 1-based line its first line has in the file. */
  readonly pieces: readonly { readonly text: string; readonly line: number }[];
}

const RECORDS_LINE = /^records:(?:[ \t]+#.*)?[ \t\r]*$/;
/** Lines scanned by splitRecordsSteps between two yields (a 100k-name file has a few hundred thousand). */
const LINES_PER_STEP = 16384;

/**
 * Finds a block `records:` mapping at the top level (the `records:` line alone at column 0, entries indented
 * by spaces below it) and cuts its entries into pieces of OWNERS_PER_PIECE owners. Parsing a 100k-owner zone as
 * one YAML document holds the whole syntax tree and document (several hundred MB) at once; pieces keep that to
 * a few hundred KB at a time.
 *
 * Why a piece boundary cannot change the meaning: in block context every line that continues a scalar, a
 * flow collection or a block scalar inside an entry is indented more than the entry's key (YAML 1.2 §8.1,
 * §7.3, §7.4), so a non-comment line at exactly the entries' indentation starts the next entry. Input where
 * that reasoning does not hold is not valid YAML or is not understood here, and then some piece (or the rest
 * of the file) fails to parse, is not a mapping, or an anchor is missing: parseZoneYaml falls back to parsing the
 * whole file as one document, so messages and results are exactly those of the one-document parse.
 * Returns undefined when there is nothing to split (no such mapping, tabs in its indentation, an entry that
 * does not start like a plain or quoted key). Yields every LINES_PER_STEP lines (server/slices.ts).
 */
function* splitRecordsSteps(text: string): Generator<void, SplitRecords | undefined, undefined> {
  // Line starts.
  let keyOffset = -1;
  let pos = 0;
  let lineNo = 1;
  while (pos < text.length) {
    if (lineNo % LINES_PER_STEP === 0) yield;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (text.charCodeAt(pos) === 0x72 /* r */ && RECORDS_LINE.test(text.slice(pos, end))) {
      keyOffset = pos;
      pos = end + 1;
      lineNo++;
      break;
    }
    pos = end + 1;
    lineNo++;
  }
  if (keyOffset < 0 || pos >= text.length) return undefined;
  const bodyStart = pos;
  const bodyLine = lineNo;
  let indent = -1;
  let bodyEnd = text.length;
  let newlines = 0;
  const starts: { offset: number; line: number }[] = [];
  let entries = 0;
  while (pos < text.length) {
    if (newlines % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
    let end = text.indexOf('\n', pos);
    const last = end < 0;
    if (last) end = text.length;
    let i = pos;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    const c = i < end ? text.charCodeAt(i) : -1;
    const blank = c === -1 || c === 0x0d || c === 0x23; /* empty, CR, # comment */
    if (c === 0x09) return undefined; // a tab: leave this file to the full parser
    if (!blank) {
      const col = i - pos;
      if (indent < 0) {
        if (col === 0) return undefined; // no entries
        indent = col;
      }
      if (col < indent) {
        bodyEnd = pos;
        break;
      }
      if (col === indent) {
        // An entry's key: plain or quoted. Anything else (sequence, flow, complex key, anchor, tag, alias): bail.
        if ('-?[]{}&!*|>%@`,'.includes(text[i]!)) return undefined;
        if (entries % OWNERS_PER_PIECE === 0) starts.push({ offset: pos, line: bodyLine + newlines });
        entries++;
      }
    }
    if (last) break;
    newlines++;
    pos = end + 1;
  }
  if (entries === 0) return undefined;
  let bodyNewlines = 0;
  for (let k = text.indexOf('\n', bodyStart); k >= 0 && k < bodyEnd; k = text.indexOf('\n', k + 1)) bodyNewlines++;
  const pieces = starts.map((st, k) => ({
    text: text.slice(st.offset, k + 1 < starts.length ? starts[k + 1]!.offset : bodyEnd),
    line: st.line,
  }));
  // Blank lines before the first entry (comments) are dropped with the body. The lines are left out rather than
  // left blank: the library takes about half a second to read 150k blank lines.
  return {
    outer: text.slice(0, bodyStart) + text.slice(bodyEnd),
    bodyLine,
    bodyLines: bodyNewlines,
    keyOffset,
    pieces,
  };
}

const YAML_OPTIONS = { schema: 'failsafe', prettyErrors: false, uniqueKeys: false } as const;

/** A YAML document with the line numbers of its nodes in the zone file. */
interface Parsed {
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lineOf: (n: YamlNode | Pair | null | undefined) => number;
  readonly lineAt: (offset: number) => number;
}

/**
 * Parses `text` as one YAML document whose first line is line `firstLine` of the file; `gap` says that
 * `gap.lines` lines of the file were left out before line `gap.at` of the text.
 */
function parseYaml(text: string, firstLine = 1, gap = { at: Infinity, lines: 0 }): Parsed {
  const lc = new LineCounter();
  // uniqueKeys is off because the library checks each key against every earlier one (quadratic: minutes for a
  // 100k-name zone); duplicate keys are found here with a Set per mapping instead (mapEntries, TOP_KEYS loop).
  const doc = parseDocument(text, { lineCounter: lc, ...YAML_OPTIONS });
  const lineAt = (off: number): number => {
    const l = lc.linePos(off).line;
    return (l >= gap.at ? l + gap.lines : l) + firstLine - 1;
  };
  const lineOf = (n: YamlNode | Pair | null | undefined): number => {
    const node = n && 'range' in n ? n : n && 'key' in n ? (n.key as YamlNode | null) : null;
    const off = node && 'range' in node && node.range ? node.range[0] : 0;
    return lineAt(off);
  };
  return { text, doc, lineOf, lineAt };
}

/**
 * The split parse of a large zone (splitRecordsSteps): the rest of the file parsed, and the pieces of `records:` as
 * text, each parsed only when it is read (parsePiece) so that one piece's syntax tree is alive at a time.
 * Undefined when the rest of the file does not parse cleanly into what the one-document parse would give.
 */
function* parseSplitSteps(
  text: string,
): Generator<void, { outer: Parsed; pieces: SplitRecords['pieces'] } | undefined, undefined> {
  const split = yield* splitRecordsSteps(text);
  if (!split) return undefined;
  const outer = parseYaml(split.outer, 1, { at: split.bodyLine, lines: split.bodyLines });
  if (!clean(outer) || !isMap(outer.doc.contents)) return undefined;
  const first = outer.doc.contents.items.find((p) => isScalar(p.key) && String(p.key.value) === 'records');
  if (!first || !isScalar(first.key) || first.key.range?.[0] !== split.keyOffset) return undefined;
  if (!(first.value === null || (isScalar(first.value) && first.value.value === ''))) return undefined;
  return { outer, pieces: split.pieces };
}

const clean = (p: Parsed): boolean => p.doc.errors.length === 0 && p.doc.warnings.length === 0;

/** Thrown while reading a split zone when a piece does not parse cleanly: parseZoneYaml starts over unsplit. */
class SplitFallback extends Error {}

/** One piece of a split `records:` mapping, parsed; throws SplitFallback when it is not a clean mapping. */
function parsePiece(piece: SplitRecords['pieces'][number]): Parsed & { doc: { contents: YAMLMap } } {
  const p = parseYaml(piece.text, piece.line);
  if (!clean(p) || !isMap(p.doc.contents)) throw new SplitFallback();
  return p as Parsed & { doc: { contents: YAMLMap } };
}

/**
 * Parses zone YAML. Problems are appended to `problems`; the result is as complete as the input allows.
 *
 * A large `records:` mapping is read piece by piece (splitRecordsSteps). Parsing every piece before reading any
 * would hold all their syntax trees at once, which is the whole point of splitting lost (for a 100k-name zone,
 * a few hundred MB at the peak of the load); so pieces are parsed as they are read, and one that does not parse
 * cleanly discards what the split reading found and starts over with the one-document parse, whose results and
 * messages are the reference.
 */
export function parseZoneYaml(file: string, text: string, problems: ZoneProblem[]): ZoneSource {
  const steps = parseZoneYamlSteps(file, text, problems);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The one-document parse of a file the split reading does not apply to, done elsewhere (the server runs it on a
 * worker thread, server/yaml-aside.ts): the library parses a document in one piece, about a second for tens of
 * MB, which must not hold up the thread that answers queries. Gives parseZoneYaml's result and problems.
 */
export type WholeParse = (
  file: string,
  text: string,
  problems: ZoneProblem[],
) => Generator<void, ZoneSource, undefined>;

/** Texts up to this many characters are parsed as one document in place even when a WholeParse is given. */
export const WHOLE_PARSE_IN_PLACE_MAX = 512 * 1024;

/**
 * parseZoneYaml as a generator that yields after each piece of a large `records:` mapping (server/slices.ts).
 * A large text the split reading does not apply to goes to `whole` when given.
 */
export function* parseZoneYamlSteps(
  file: string,
  text: string,
  problems: ZoneProblem[],
  whole?: WholeParse,
): Generator<void, ZoneSource, undefined> {
  const split = yield* parseSplitSteps(text);
  if (split) {
    const mark = problems.length;
    try {
      return yield* readZoneYaml(file, split.outer, split.pieces, problems);
    } catch (e) {
      if (!(e instanceof SplitFallback)) throw e;
      problems.length = mark;
    }
  }
  if (whole && text.length > WHOLE_PARSE_IN_PLACE_MAX) return yield* whole(file, text, problems);
  return yield* readZoneYaml(file, parseYaml(text), undefined, problems);
}

/** Reads a parsed zone file: `pieces` are the split `records:` entries (parsed here one at a time), if split. */
function* readZoneYaml(
  file: string,
  main: Parsed,
  pieces: SplitRecords['pieces'] | undefined,
  problems: ZoneProblem[],
): Generator<void, ZoneSource, undefined> {
  const { doc, lineAt } = main;
  /** Line numbers of the document being read (the outer one, or the piece of `records:` being read). */
  let lineOf = main.lineOf;
  const problem = (line: number, reason: string): void => {
    problems.push({ file, line, reason });
  };
  // One syntax error, where it was made (yamlerrors.ts): the errors after it are its consequences.
  if (doc.errors.length > 0) {
    const e = syntaxProblem(main.text, doc.errors, TOP_KEYS);
    problems.push({ file, line: lineAt(e.offset), column: e.column, reason: e.reason });
  }
  for (const w of doc.warnings) problem(lineAt(w.pos[0]), `YAML: ${w.message.split('\n')[0]}`);

  const empty: ZoneSource = {
    file,
    origin: undefined,
    originLine: 1,
    ttl: 3600,
    soa: undefined,
    dnssec: DNSSEC_DEFAULTS,
    records: [],
    tlsa: [],
    transfer: TRANSFER_DEFAULTS,
    update: [],
  };
  if (doc.errors.length > 0) return empty;
  const root = doc.contents;
  if (!isMap(root)) {
    problem(1, 'the zone file must be a YAML mapping (origin, ttl, soa, records ...)');
    return empty;
  }

  const reader: NodeReader = {
    problem,
    lineOf: (n) => lineOf(n as YamlNode),
    entries: (v, line, what) => mapEntries(v, line, what),
  };

  let origin: string | undefined;
  let originLine = 1;
  let ttl = 3600;
  let soa: SoaInput | undefined;
  let dnssec = DNSSEC_DEFAULTS;
  const lifetimeLines = new Map<string, number>();
  const records: RecordInput[] = [];
  const tlsa: TlsaEntry[] = [];
  let transfer = TRANSFER_DEFAULTS;
  let update: UpdateRule[] = [];

  const topSeen = new Map<string, number>();
  for (const pair of (root as YAMLMap).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = lineOf(pair);
    const first = topSeen.get(key);
    if (first !== undefined) {
      problem(line, `duplicate key "${key}" (first at line ${first})`);
      continue;
    }
    topSeen.set(key, line);
    if (!TOP_KEYS.has(key)) {
      problem(line, `unknown key "${key}" (expected one of: ${[...TOP_KEYS].join(', ')})`);
      continue;
    }
    const v = pair.value;
    switch (key) {
      case 'origin':
        origin = text(reader, v, line, 'origin');
        originLine = line;
        break;
      case 'ttl':
        ttl = duration(reader, v, line, 'ttl') ?? ttl;
        break;
      case 'soa':
        soa = readSoa(reader, v, line);
        break;
      case 'dnssec':
        dnssec = readDnssec(reader, v, line, lifetimeLines);
        break;
      case 'records':
        if (pieces) {
          // The same reading as parseRecords over one mapping: one duplicate-key set across the pieces.
          const outerLineOf = lineOf;
          const seen = new Map<string, number>();
          for (const text of pieces) {
            yield;
            const plain = readPiece(text.text, text.line);
            if (plain) {
              readPlainOwners(plain, seen);
              continue;
            }
            const piece = parsePiece(text);
            lineOf = piece.lineOf;
            readOwners(mapEntries(piece.doc.contents, line, 'records', seen));
          }
          lineOf = outerLineOf;
        } else parseRecords(v, line);
        break;
      case 'tlsa':
        tlsa.push(...readTlsa(reader, v, line));
        break;
      case 'transfer':
        transfer = readTransfer(reader, v, line);
        break;
      case 'update':
        update = readUpdate(reader, v, line);
        break;
    }
  }
  // The DNSKEY RRset has the SOA's TTL: known once every section is read.
  if (lifetimeLines.size > 0) checkLifetimes(reader, dnssec, lifetimeLines, soa?.ttl ?? ttl);
  return { file, origin, originLine, ttl, soa, dnssec, records, tlsa, transfer, update };

  function mapEntries(
    v: unknown,
    line: number,
    what: string,
    seen = new Map<string, number>(),
  ): { key: string; value: unknown; line: number }[] {
    if (isEmpty(v)) return [];
    if (!isMap(v)) {
      problem(line, `${what}: expected a mapping`);
      return [];
    }
    const out: { key: string; value: unknown; line: number }[] = [];
    for (const p of v.items) {
      const e = { key: isScalar(p.key) ? String(p.key.value) : '', value: p.value, line: lineOf(p) };
      const first = seen.get(e.key);
      if (first !== undefined) problem(e.line, `${what}: duplicate key "${e.key}" (first at line ${first})`);
      else {
        seen.set(e.key, e.line);
        out.push(e);
      }
    }
    return out;
  }

  function parseRecords(v: unknown, line: number): void {
    readOwners(mapEntries(v, line, 'records'));
  }

  function readOwners(owners: readonly { key: string; value: unknown; line: number }[]): void {
    for (const owner of owners) {
      if (isEmpty(owner.value)) {
        problem(owner.line, `records: "${owner.key}" has no types`);
        continue;
      }
      // `host: {}` would publish nothing at all: as much a mistake as `host:` without types.
      if (isMap(owner.value) && owner.value.items.length === 0)
        problem(owner.line, `records: "${owner.key}" has no types`);
      for (const t of mapEntries(owner.value, owner.line, `records."${owner.key}"`)) {
        parseValues(owner.key, t.key, t.value, t.line);
      }
    }
  }

  /** readOwners for a piece read by readPiece (no values to check: it only reads single-string values). */
  function readPlainOwners(owners: readonly PieceOwner[], seen: Map<string, number>): void {
    for (const o of owners) {
      const first = seen.get(o.key);
      if (first !== undefined) {
        problem(o.line, `records: duplicate key "${o.key}" (first at line ${first})`);
        continue;
      }
      seen.set(o.key, o.line);
      for (const t of o.types)
        for (const v of t.values)
          records.push({ owner: o.key, type: t.key, ttl: undefined, value: v.value, line: v.line });
    }
  }

  function parseValues(owner: string, type: string, v: unknown, line: number): void {
    const push = (node: unknown, ttlValue: number | undefined, at = line): void => {
      // `A:` or `TXT:` with nothing after it is a forgotten value, not an empty text (`TXT: ""` is one).
      if (isEmpty(node)) problem(at, `${owner} ${type}: no value`);
      else if (isScalar(node)) {
        records.push({ owner, type, ttl: ttlValue, value: String(node.value), line: lineOf(node as YamlNode) });
      } else
        problem(
          isSeq(node) || isMap(node) ? lineOf(node as YamlNode) : line,
          `${owner} ${type}: each value must be a single string`,
        );
    };
    if (isScalar(v) || isEmpty(v)) return push(v, undefined);
    if (isSeq(v)) {
      if (v.items.length === 0) problem(line, `${owner} ${type}: empty list of values`);
      for (const item of v.items) push(item, undefined);
      return;
    }
    if (isMap(v)) {
      // Read with mapEntries like every other mapping, so that a repeated key is an error, not "the last wins".
      let ttlValue: number | undefined;
      let values: { key: string; value: unknown; line: number } | undefined;
      for (const e of mapEntries(v, line, `${owner} ${type}`)) {
        if (e.key === 'ttl') ttlValue = duration(reader, e.value, e.line, `${owner} ${type}: ttl`);
        else if (e.key === 'values' || e.key === 'value') {
          if (values) problem(e.line, `${owner} ${type}: "${e.key}" and "${values.key}" given, expected one of them`);
          else values = e;
        } else problem(e.line, `${owner} ${type}: unknown field "${e.key}" (expected ttl, value or values)`);
      }
      if (!values) return problem(line, `${owner} ${type}: "values" (or "value") is required`);
      if (isSeq(values.value)) {
        if (values.value.items.length === 0) problem(line, `${owner} ${type}: empty list of values`);
        for (const item of values.value.items) push(item, ttlValue);
      } else push(values.value, ttlValue, values.line);
      return;
    }
    problem(line, `${owner} ${type}: no value`);
  }
}
