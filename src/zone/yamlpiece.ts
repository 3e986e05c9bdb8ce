/**
 * A fast reading of one piece of a large `records:` mapping (yaml.ts splitRecordsSteps) for the plain shape that
 * generated and hand-written zones use:
 *
 *       "host":                  owner key: plain, "double" or 'single' quoted, alone on its line
 *         A: "192.0.2.1"         type key, then one scalar: plain, "double" or 'single' quoted
 *         NS: ["ns1", ns2]       ... or a one-line flow sequence of such scalars
 *
 * with blank lines and comments anywhere. The `yaml` library parses a 100k-name zone in about 6 s and leaves
 * a few hundred MB of syntax trees to collect; this reads the same piece in a small fraction of that.
 *
 * Contract: the result is either undefined ("not understood here") or exactly what the library's reading of the
 * piece gives: the same owners, types, values and line numbers. Anything outside the shape above returns
 * undefined and the caller parses the piece with the library, whose results and messages are the reference:
 * escapes other than `\"` and `\\` (in a double-quoted scalar; `''` in a single-quoted one), multi-line scalars, block
 * sequences, `ttl:`/`values:` mappings, anchors, aliases, tags, tabs, characters outside printable ASCII,
 * duplicate type keys, an owner without types, empty lists. test/zone/yamlpiece.test.ts compares the two
 * readings over mutated zones.
 */

/** One value of a type, with the line of its scalar. */
interface PieceValue {
  readonly value: string;
  readonly line: number;
}

/** One type key of an owner and its values (one for a scalar, one or more for a flow sequence). */
interface PieceType {
  readonly key: string;
  readonly line: number;
  readonly values: readonly PieceValue[];
}

/** One owner entry of the piece, in file order. */
export interface PieceOwner {
  readonly key: string;
  readonly line: number;
  readonly types: readonly PieceType[];
}

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const COMMA = 0x2c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;

/** Thrown inside the reader when the piece is not of the plain shape; readPiece returns undefined. */
const NOT_PLAIN = Symbol('not plain');

/** Longer keys are left to the library (YAML limits implicit keys to 1024 characters). */
const MAX_KEY = 1000;

/** Characters that cannot start a plain scalar here (YAML 1.2 §7.3.3 c-indicator, plus space). */
const NOT_PLAIN_START = new Set(' -?:,[]{}#&*!|>\'"%@`'.split('').map((c) => c.charCodeAt(0)));

/** A plain key: [A-Za-z0-9_] then [A-Za-z0-9_.-] (no indicator, nothing the library could read otherwise). */
function isKeyChar(c: number, first: boolean): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) return true;
  return !first && (c === 0x2e || c === 0x2d);
}

/**
 * Reads one piece (whole lines of owner entries, its first line being line `firstLine` of the file). Returns
 * undefined when the piece is not of the plain shape described above.
 */
export function readPiece(text: string, firstLine: number): PieceOwner[] | undefined {
  try {
    return read(text, firstLine);
  } catch (e) {
    if (e === NOT_PLAIN) return undefined;
    throw e;
  }
}

function read(text: string, firstLine: number): PieceOwner[] {
  const owners: PieceOwner[] = [];
  let types: PieceType[] | undefined;
  let typeKeys: Set<string> | undefined;
  let entryIndent = -1;
  let typeIndent = -1;
  let lineNo = firstLine;
  let pos = 0;
  /** The line being read: text[pos, end). */
  let end = 0;

  const closeOwner = (): void => {
    if (types && types.length === 0) throw NOT_PLAIN; // "has no types": the library's message
  };

  while (pos < text.length) {
    end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let stop = end;
    if (stop > pos && text.charCodeAt(stop - 1) === 0x0d) stop--;
    for (let k = pos; k < stop; k++) {
      const c = text.charCodeAt(k);
      if (c < SPACE || c > 0x7e) throw NOT_PLAIN; // tabs, control characters, anything not ASCII
    }
    let i = pos;
    while (i < stop && text.charCodeAt(i) === SPACE) i++;
    if (i < stop && text.charCodeAt(i) !== HASH) {
      const col = i - pos;
      if (entryIndent < 0) entryIndent = col;
      if (col === entryIndent) {
        closeOwner();
        const k = readKey(text, i, stop);
        if (!onlyComment(text, k.next, stop)) throw NOT_PLAIN; // a value on the owner's line
        types = [];
        typeKeys = new Set();
        typeIndent = -1;
        owners.push({ key: k.key, line: lineNo, types });
      } else {
        if (!types || !typeKeys || col < entryIndent) throw NOT_PLAIN;
        if (typeIndent < 0) typeIndent = col;
        if (col !== typeIndent) throw NOT_PLAIN; // a continuation line or a deeper mapping
        const k = readKey(text, i, stop);
        if (typeKeys.has(k.key)) throw NOT_PLAIN; // a duplicate type: the library's message
        typeKeys.add(k.key);
        types.push({ key: k.key, line: lineNo, values: readValues(text, k.next, stop, lineNo) });
      }
    }
    pos = end + 1;
    lineNo++;
  }
  closeOwner();
  return owners;
}

/** True when text[at, stop) is spaces, then optionally a comment after at least one space. */
function onlyComment(text: string, at: number, stop: number): boolean {
  let i = at;
  while (i < stop && text.charCodeAt(i) === SPACE) i++;
  if (i === stop) return true;
  return text.charCodeAt(i) === HASH && i > at;
}

/** A mapping key and its `:` at text[at]: returns the key and the offset just past the colon. */
function readKey(text: string, at: number, stop: number): { key: string; next: number } {
  const c = text.charCodeAt(at);
  let key: string;
  let i: number;
  if (c === DQUOTE || c === SQUOTE) {
    const q = readQuoted(text, at, stop);
    key = q.value;
    i = q.next;
  } else {
    i = at;
    while (i < stop && isKeyChar(text.charCodeAt(i), i === at)) i++;
    if (i === at) throw NOT_PLAIN;
    key = text.slice(at, i);
  }
  // `key:` then a space or the end of the line (else the colon belongs to a scalar, or there is none). An
  // implicit key is at most 1024 characters (YAML 1.2 §7.4.2); owner names and types are far shorter.
  if (key.length > MAX_KEY || text.charCodeAt(i) !== COLON || (i + 1 < stop && text.charCodeAt(i + 1) !== SPACE))
    throw NOT_PLAIN;
  return { key, next: i + 1 };
}

/**
 * A one-line quoted scalar at text[at]: its content and the offset just past the closing quote. Of the escapes
 * only `\"` and `\\` in a double-quoted scalar are read here (TXT and CAA values use them); any other escape,
 * and `''` in a single-quoted scalar, is left to the library.
 */
function readQuoted(text: string, at: number, stop: number): { value: string; next: number } {
  if (text.charCodeAt(at) === SQUOTE) {
    const close = text.indexOf("'", at + 1);
    if (close < 0 || close >= stop || text.charCodeAt(close + 1) === SQUOTE) throw NOT_PLAIN; // multi-line, '' escape
    return { value: text.slice(at + 1, close), next: close + 1 };
  }
  let value = '';
  let from = at + 1;
  for (let i = from; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE) return { value: value + text.slice(from, i), next: i + 1 };
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (i + 1 >= stop || (e !== DQUOTE && e !== BACKSLASH)) throw NOT_PLAIN;
      value += text.slice(from, i);
      from = i + 1; // the escaped character starts the next run
      i++;
    }
  }
  throw NOT_PLAIN; // multi-line, or unterminated
}

/** The values after a type key's colon: one scalar, or a one-line flow sequence of scalars. */
function readValues(text: string, at: number, stop: number, line: number): PieceValue[] {
  let i = at;
  while (i < stop && text.charCodeAt(i) === SPACE) i++;
  if (i === stop || i === at) throw NOT_PLAIN; // no value on this line
  const c = text.charCodeAt(i);
  if (c === DQUOTE || c === SQUOTE) {
    const q = readQuoted(text, i, stop);
    if (!onlyComment(text, q.next, stop)) throw NOT_PLAIN;
    return [{ value: q.value, line }];
  }
  if (c === LBRACKET) return readFlowSequence(text, i, stop, line);
  return [{ value: readPlain(text, i, stop), line }];
}

/**
 * A plain scalar in block context running to the end of the line (YAML 1.2 §7.3.3): it ends at a comment (` #`),
 * loses trailing spaces, and may hold `:` only when no space follows it (`: ` would start a mapping).
 */
function readPlain(text: string, at: number, stop: number): string {
  if (NOT_PLAIN_START.has(text.charCodeAt(at))) throw NOT_PLAIN;
  let i = at;
  let last = at; // just past the last non-space character
  for (; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c === HASH && text.charCodeAt(i - 1) === SPACE) break;
    if (c === COLON && (i + 1 === stop || text.charCodeAt(i + 1) === SPACE)) throw NOT_PLAIN;
    if (c !== SPACE) last = i + 1;
  }
  return text.slice(at, last);
}

/** `[a, "b", 'c']` on one line: at least one item, no empty or trailing item, no nested collection. */
function readFlowSequence(text: string, at: number, stop: number, line: number): PieceValue[] {
  const values: PieceValue[] = [];
  let i = at + 1;
  for (;;) {
    while (i < stop && text.charCodeAt(i) === SPACE) i++;
    if (i >= stop) throw NOT_PLAIN;
    const c = text.charCodeAt(i);
    if (c === DQUOTE || c === SQUOTE) {
      const q = readQuoted(text, i, stop);
      values.push({ value: q.value, line });
      i = q.next;
    } else {
      // A plain item in flow context: no flow indicators, no comment, no `:` at all (it could start a pair).
      if (NOT_PLAIN_START.has(c)) throw NOT_PLAIN;
      const start = i;
      let last = i;
      for (; i < stop; i++) {
        const d = text.charCodeAt(i);
        if (d === COMMA || d === RBRACKET) break;
        if (d === HASH || d === COLON || d === LBRACKET || d === 0x7b || d === 0x7d || d === DQUOTE || d === SQUOTE)
          throw NOT_PLAIN;
        if (d !== SPACE) last = i + 1;
      }
      values.push({ value: text.slice(start, last), line });
    }
    while (i < stop && text.charCodeAt(i) === SPACE) i++;
    const d = text.charCodeAt(i);
    if (i < stop && d === COMMA) {
      i++;
      continue;
    }
    if (i < stop && d === RBRACKET) {
      if (!onlyComment(text, i + 1, stop)) throw NOT_PLAIN;
      return values;
    }
    throw NOT_PLAIN;
  }
}
