/**
 * RFC 1035 master file reader (§5.1 "Format", §5.2 "Use of master files"), extended with what BIND and Knot
 * accept: `$TTL` (RFC 2308 §4), BIND TTL units (`1h30m`), TTL and class in either order, and the RFC 3597 §5
 * generic forms (`TYPE65400`, `CLASS1`, `\# 4 0A000001`).
 *
 * This file owns the TEXT level only: it splits the file into records and completes owner names, but it does
 * not decode rdata. Every rdata is handed on as the tokens the file wrote, re-joined with single spaces, with
 * quoted strings and escapes exactly as written. `dane-ns zone import` (./import.ts) turns the result into our
 * YAML format, whose loader does the real rdata parsing.
 *
 * Not supported (each reported as a problem with its line): `$INCLUDE` (RFC 1035 §5.1) and BIND's `$GENERATE`.
 */
import { parseName } from '../wire/name.js';
import { typeFromText } from '../wire/types.js';
import type { ZoneProblem } from './errors.js';
import { parseDuration } from './duration.js';
import { didYouMean } from './typo.js';

export interface MasterRecord {
  /** Absolute presentation name with trailing dot, original case, escapes as written. */
  readonly owner: string;
  readonly ttl: number;
  /** `IN` (also for `CLASS1`); other classes as upper-case mnemonic or `CLASSnnn`. */
  readonly class: string;
  /** Upper-case mnemonic or `TYPEnnn`, as written. */
  readonly type: string;
  /** Rdata tokens joined with single spaces; quoted strings and escapes as written, comments and parentheses gone. */
  readonly rdata: string;
  /** Line the record starts on (1-based). */
  readonly line: number;
  /**
   * The `$ORIGIN` in effect for this record (absolute, as written), or undefined when none was set. Relative names
   * inside `rdata` are relative to this.
   */
  readonly origin: string | undefined;
}

interface MasterFileOptions {
  /** Initial origin (RFC 1035 §5.1: the origin the file is loaded under); made absolute if it lacks the dot. */
  readonly origin?: string;
  /** File name used in problems. */
  readonly file: string;
  /** TTL for records that set none when neither `$TTL` nor an earlier record gives one. */
  readonly defaultTtl?: number;
}

interface MasterFileResult {
  readonly records: MasterRecord[];
  readonly problems: ZoneProblem[];
  /** The value of the first `$TTL` directive, if any. */
  readonly ttlDirective: number | undefined;
}

/** One token of a logical record. `quoted` tokens keep their quotes in `text`. */
interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/** A logical record: one line, or several joined by parentheses (RFC 1035 §5.1). */
interface Entry {
  readonly line: number;
  /** The entry's first line starts with a blank: the owner is the previous owner (RFC 1035 §5.1). */
  readonly blankOwner: boolean;
  readonly tokens: Token[];
}

const TTL_SHAPE = /^(?:\d+|(?:\d+[smhdw])+)$/i;
const CLASS_SHAPE = /^(?:IN|CS|CH|HS|CLASS\d+)$/i;
const CLASS_NUMBERS: Record<string, string> = { '1': 'IN', '2': 'CS', '3': 'CH', '4': 'HS' };

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';

/**
 * Splits the file into logical records. `;` starts a comment outside quotes; `(` ... `)` join lines; `\X` escapes
 * any character (so `\;`, `\(` and `\ ` are ordinary); a quoted string ends at the next unescaped `"` on the same
 * line.
 */
function tokenize(text: string, problem: (line: number, reason: string) => void): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let depth = 0;
  let parenLine = 0;
  let cur: { line: number; blankOwner: boolean; tokens: Token[]; broken: boolean } | null = null;
  let i = 0;
  const n = text.length;

  const finish = (): void => {
    if (cur && cur.tokens.length > 0 && !cur.broken)
      entries.push({ line: cur.line, blankOwner: cur.blankOwner, tokens: cur.tokens });
    cur = null;
  };

  while (i < n) {
    const c = text[i]!;
    if (cur === null) cur = { line, blankOwner: isBlank(c), tokens: [], broken: false };
    if (c === '\n') {
      line++;
      i++;
      if (depth === 0) finish();
      continue;
    }
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      if (depth > 0) problem(line, 'nested "(": parentheses cannot be nested');
      else parenLine = line;
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) problem(line, '")" without a matching "("');
      else depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < n && text[j] !== '\n') {
        if (text[j] === '\\' && j + 1 < n && text[j + 1] !== '\n') j += 2;
        else if (text[j] === '"') {
          closed = true;
          j++;
          break;
        } else j++;
      }
      if (!closed) {
        // The whole record is dropped rather than taken apart into nonsense tokens.
        problem(line, 'quoted string without its closing "');
        cur.broken = true;
        i = j;
        continue;
      }
      cur.tokens.push({ text: text.slice(i, j), quoted: true });
      i = j;
      continue;
    }
    let j = i;
    while (j < n) {
      const d = text[j]!;
      if (d === '\\') {
        if (j + 1 >= n || text[j + 1] === '\n') {
          problem(line, 'backslash at the end of a line');
          j++;
          break;
        }
        j += 2;
        continue;
      }
      if (d === '\n' || d === ';' || d === '(' || d === ')' || isBlank(d)) break;
      j++;
    }
    cur.tokens.push({ text: text.slice(i, j), quoted: false });
    i = j;
  }
  if (depth > 0) {
    problem(parenLine, '"(" without a matching ")" before the end of the file');
    cur = null; // the unfinished record is not used
  }
  finish();
  return entries;
}

/**
 * Splits a MasterRecord's `rdata` back into its tokens (quoted strings keep their quotes). Inverse of the
 * join done by parseMasterFile.
 */
export function splitRdata(rdata: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rdata.length) {
    if (isBlank(rdata[i])) {
      i++;
      continue;
    }
    let j = i;
    if (rdata[i] === '"') {
      j++;
      while (j < rdata.length && rdata[j] !== '"') j += rdata[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, rdata.length);
    } else {
      while (j < rdata.length && !isBlank(rdata[j])) j += rdata[j] === '\\' ? 2 : 1;
      j = Math.min(j, rdata.length);
    }
    out.push(rdata.slice(i, j));
    i = j;
  }
  return out;
}

/** True when a presentation name ends in an unescaped `.` (RFC 1035 §5.1: "domain names that end in a dot are called absolute"). */
export function isAbsoluteText(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let backslashes = 0;
  for (let k = name.length - 2; k >= 0 && name[k] === '\\'; k--) backslashes++;
  return backslashes % 2 === 0;
}

/** Completes a name with the origin by text: `@` is the origin, a relative name gets `.origin` appended. */
function absoluteText(name: string, origin: string): string {
  if (name === '@') return origin;
  if (isAbsoluteText(name)) return name;
  return origin === '.' ? `${name}.` : `${name}.${origin}`;
}

/** Checks the RFC 3597 §5 generic rdata `\# <length> <hex...>`; returns a reason when it is malformed. */
function genericRdataProblem(tokens: readonly string[]): string | undefined {
  const len = tokens[1];
  if (len === undefined || !/^\d+$/.test(len)) return '\\# needs the rdata length in octets (RFC 3597 §5)';
  const hex = tokens.slice(2).join('');
  if (!/^[0-9a-fA-F]*$/.test(hex)) return '\\# data must be hexadecimal';
  if (hex.length !== Number(len) * 2) return `\\# says ${len} octets but has ${hex.length / 2}`;
  return undefined;
}

/** Reads a master file. Never throws for bad input: each problem is returned with its line. */
export function parseMasterFile(text: string, opts: MasterFileOptions): MasterFileResult {
  const problems: ZoneProblem[] = [];
  const problem = (line: number, reason: string): void => {
    problems.push({ file: opts.file, line, reason });
  };
  const records: MasterRecord[] = [];

  let origin: string | undefined;
  if (opts.origin !== undefined && opts.origin !== '') {
    origin = isAbsoluteText(opts.origin) || opts.origin === '.' ? opts.origin : `${opts.origin}.`;
  }
  let ttlDirective: number | undefined;
  let currentTtl: number | undefined; // $TTL in effect
  let prevOwner: string | undefined;
  let prevTtl: number | undefined;
  let prevClass = 'IN';

  /** A name completed with the current origin and checked with the wire parser; undefined after a problem. */
  const complete = (name: string, line: number, what: string): string | undefined => {
    if (name !== '@' && !isAbsoluteText(name) && origin === undefined) {
      problem(line, `${what} "${name}" is relative but no $ORIGIN is set`);
      return undefined;
    }
    if (name === '@' && origin === undefined) {
      problem(line, `${what} "@" used but no $ORIGIN is set`);
      return undefined;
    }
    const abs = absoluteText(name, origin ?? '.');
    try {
      parseName(abs);
    } catch (e) {
      problem(line, `${what} "${name}": ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    return abs;
  };

  for (const e of tokenize(text, problem)) {
    const first = e.tokens[0]!;
    const rest = e.tokens.slice(1);

    // ---- directives (RFC 1035 §5.1 $ORIGIN / $INCLUDE, RFC 2308 §4 $TTL) -----------------------------------
    if (!first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      if (directive === '$ORIGIN' || directive === '$TTL') {
        const arg = rest[0];
        if (arg === undefined || arg.quoted) {
          problem(e.line, `${directive} needs one ${directive === '$TTL' ? 'TTL' : 'domain name'}`);
          continue;
        }
        if (rest.length > 1) problem(e.line, `${directive}: unexpected text after "${arg.text}"`);
        if (directive === '$ORIGIN') {
          const o = complete(arg.text, e.line, '$ORIGIN');
          if (o !== undefined) origin = o;
        } else {
          const v = TTL_SHAPE.test(arg.text) ? parseDuration(arg.text) : undefined;
          if (v === undefined) problem(e.line, `$TTL "${arg.text}" is not a TTL (seconds, or units like 1h30m)`);
          else {
            currentTtl = v;
            ttlDirective ??= v;
          }
        }
      } else if (directive === '$INCLUDE') {
        problem(e.line, '$INCLUDE is not supported: put the included records into this file');
      } else if (directive === '$GENERATE') {
        problem(e.line, '$GENERATE is not supported: write the generated records out');
      } else {
        problem(e.line, `unknown directive ${first.text}`);
      }
      continue;
    }

    // ---- owner ----------------------------------------------------------------------------------------------
    let k = 0;
    let owner: string | undefined;
    if (e.blankOwner) {
      owner = prevOwner;
      if (owner === undefined) {
        problem(e.line, 'the first record has no owner name (the line starts with a blank)');
        continue;
      }
    } else {
      k = 1;
      if (first.quoted) {
        problem(e.line, `owner ${first.text}: a name cannot be quoted`);
        continue;
      }
      owner = complete(first.text, e.line, 'owner');
      if (owner === undefined) continue;
    }

    // ---- [TTL] [class] or [class] [TTL] (RFC 1035 §5.1: "<blank>[<TTL>] [<class>] <type> <RDATA>") ------------
    let ttl: number | undefined;
    let cls: string | undefined;
    let bad = false;
    for (let m = 0; m < 2; m++) {
      const t = e.tokens[k];
      if (t === undefined || t.quoted) break;
      if (ttl === undefined && TTL_SHAPE.test(t.text)) {
        ttl = parseDuration(t.text);
        if (ttl === undefined) {
          problem(e.line, `TTL "${t.text}" is larger than 2147483647 (RFC 2181 §8)`);
          bad = true;
        }
        k++;
      } else if (cls === undefined && CLASS_SHAPE.test(t.text)) {
        const u = t.text.toUpperCase();
        cls = u.startsWith('CLASS') ? (CLASS_NUMBERS[String(Number(u.slice(5)))] ?? u) : u;
        k++;
      } else break;
    }
    if (bad) continue;

    // ---- type -------------------------------------------------------------------------------------------------
    const typeTok = e.tokens[k];
    if (typeTok === undefined) {
      problem(e.line, `${owner}: the record has no type`);
      continue;
    }
    const type = typeTok.text.toUpperCase();
    try {
      if (typeTok.quoted) throw new Error('quoted');
      typeFromText(type);
    } catch {
      problem(e.line, `${owner}: unknown type "${typeTok.text}"${typeTok.quoted ? '' : didYouMean(typeTok.text)}`);
      continue;
    }
    const rdataTokens = e.tokens.slice(k + 1).map((t) => t.text);
    if (rdataTokens.length === 0) {
      problem(e.line, `${owner} ${type}: the record has no rdata`);
      continue;
    }
    if (rdataTokens[0] === '\\#') {
      const why = genericRdataProblem(rdataTokens);
      if (why !== undefined) {
        problem(e.line, `${owner} ${type}: ${why}`);
        continue;
      }
    }

    // ---- TTL default ------------------------------------------------------------------------------------------
    // RFC 2308 §4: $TTL applies to records without one. RFC 1035 §5.1: otherwise the previous RR's TTL. BIND:
    // the first record (the SOA) falls back to the SOA MINIMUM when nothing else gives a TTL.
    if (ttl === undefined) {
      ttl = currentTtl ?? prevTtl;
      if (ttl === undefined && type === 'SOA' && rdataTokens[0] !== '\\#') {
        const min = rdataTokens[6];
        ttl = min !== undefined && TTL_SHAPE.test(min) ? parseDuration(min) : undefined;
      }
      ttl ??= opts.defaultTtl;
      if (ttl === undefined) {
        problem(e.line, `${owner} ${type}: no TTL (write one, or a $TTL line before the record)`);
        continue;
      }
    }
    cls ??= prevClass;

    records.push({ owner, ttl, class: cls, type, rdata: rdataTokens.join(' '), line: e.line, origin });
    prevOwner = owner;
    prevTtl = ttl;
    prevClass = cls;
  }
  return { records, problems, ttlDirective };
}
