/**
 * The one message for a zone file's YAML syntax errors (YAML 1.2 §6.1 indentation, §7.4 flow collections).
 * The `yaml` library goes on after the first error and reports what follows from it: one tab in an indentation
 * gives an error on nearly every later line, a dedented owner makes every later owner "not at the same
 * column". Those are one mistake; this reports it once, at the line and column that cause it:
 *
 * - the first error of the document (by position); the rest are its consequences, and the file is read again
 *   once the operator has fixed it;
 * - a tab in an indentation: at the tab itself;
 * - entries no longer at the same column because a line before them went to the left, out of the mapping they
 *   belong to (an owner of `records:` written at column 1 becomes a top-level key, and the entries after it are
 *   reported): at that line;
 * - an unclosed `[`, `{` or quote, which the library notices only where the entry should have ended: at the
 *   bracket or the opening quote.
 */
import type { YAMLError } from 'yaml';

/** One syntax problem: where (an offset into the parsed text, and its 1-based column) and why. */
export interface SyntaxProblem {
  readonly offset: number;
  readonly column: number;
  readonly reason: string;
}

interface Line {
  readonly start: number;
  readonly text: string;
  /** Leading spaces; -1 for a blank or comment-only line. */
  readonly indent: number;
}

function linesOf(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (const raw of text.split('\n')) {
    const t = raw.replace(/\r$/, '');
    const indent = t.length - t.trimStart().length;
    const rest = t.slice(indent);
    out.push({ start, text: t, indent: rest === '' || rest.startsWith('#') ? -1 : indent });
    start += raw.length + 1;
  }
  return out;
}

/** Index of the line holding `offset`. */
function lineIndex(lines: readonly Line[], offset: number): number {
  let i = 0;
  while (i + 1 < lines.length && lines[i + 1]!.start <= offset) i++;
  return i;
}

/**
 * The problem to report for `errors` (not empty) of the document parsed from `text`; `topKeys` are the keys a
 * zone file may have at column 1 (a line at column 1 with another key is taken to be a dedented entry).
 */
export function syntaxProblem(text: string, errors: readonly YAMLError[], topKeys: ReadonlySet<string>): SyntaxProblem {
  const lines = linesOf(text);
  const first = [...errors].sort((a, b) => a.pos[0] - b.pos[0])[0]!;
  const at = lineIndex(lines, first.pos[0]);
  const line = lines[at]!;
  const message = first.message.split('\n')[0]!;

  // A tab on that line's indentation (the library also reports what the tab did to the structure).
  const tab = /^[ \t]*/.exec(line.text)![0].indexOf('\t');
  if (first.code === 'TAB_AS_INDENT' || (tab >= 0 && errors.some((e) => e.code === 'TAB_AS_INDENT')))
    return {
      offset: line.start + Math.max(tab, 0),
      column: Math.max(tab, 0) + 1,
      reason: 'YAML: tab in indentation: YAML allows only spaces',
    };

  if (first.code === 'BAD_INDENT' && /same column/.test(message)) {
    const dedented = dedentedKey(lines, at, topKeys);
    if (dedented) return dedented;
    // At the entry's first character (the library points at the start of the line).
    return { offset: line.start + line.indent, column: line.indent + 1, reason: `YAML: ${message}` };
  }

  if (/^Flow (sequence|map|mapping) .*end with an? [\]}]/.test(message)) {
    const open = unclosedBracket(lines, at);
    if (open) return open;
  }

  // The library notices a missing closing quote where the scalar had to end; the opening quote is the spot.
  const quote = first.code === 'MISSING_CHAR' ? /^Missing closing (["'])quote/.exec(message)?.[1] : undefined;
  if (quote !== undefined) {
    const open = openingQuote(text, first.pos[0], quote);
    if (open >= 0) {
      const i = lineIndex(lines, open);
      return {
        offset: open,
        column: open - lines[i]!.start + 1,
        reason: `YAML: the quote ${quote} opened here is never closed`,
      };
    }
  }

  const column = first.pos[0] - line.start + 1;
  return { offset: first.pos[0], column, reason: `YAML: ${message}` };
}

/**
 * The offset of the quote that opens the scalar left open at `end`: the nearest `q` before it that is not
 * escaped (`\"` inside double quotes, `''` inside single quotes, YAML 1.2 §7.3.1-§7.3.2); -1 when none.
 */
function openingQuote(text: string, end: number, q: string): number {
  let k = text.lastIndexOf(q, end - 1);
  while (k >= 0) {
    if (q === '"' && text[k - 1] === '\\') k = text.lastIndexOf(q, k - 1);
    else if (q === "'" && text[k - 1] === "'") k = text.lastIndexOf(q, k - 2);
    else return k;
  }
  return -1;
}

/**
 * Entry line `at` is not at the column of the mapping it continues because an earlier line left it: the
 * nearest line above at a smaller indentation is a key at column 1 that is not a zone file key, and above that
 * key there are entries at `at`'s column. That key is the mistake (an owner or type written at column 1).
 */
function dedentedKey(lines: readonly Line[], at: number, topKeys: ReadonlySet<string>): SyntaxProblem | undefined {
  const col = lines[at]!.indent;
  let p = at - 1;
  while (p >= 0 && (lines[p]!.indent < 0 || lines[p]!.indent >= col)) p--;
  if (p < 0 || lines[p]!.indent !== 0) return undefined;
  const key = keyOf(lines[p]!.text);
  if (key === undefined || topKeys.has(key)) return undefined;
  let q = p - 1;
  while (q >= 0 && lines[q]!.indent !== 0 && lines[q]!.indent !== col) q--;
  if (q < 0 || lines[q]!.indent !== col) return undefined;
  let parent = q - 1;
  while (parent >= 0 && lines[parent]!.indent !== 0) parent--;
  const section = parent >= 0 ? keyOf(lines[parent]!.text) : undefined;
  return {
    offset: lines[p]!.start,
    column: 1,
    reason:
      `YAML: ${key} is at column 1, but the entries ${section ? `of "${section}:" ` : ''}before and after it ` +
      `are at column ${col + 1} (indent it like them)`,
  };
}

/** The key of a `key:` line at column 1 (plain, or quoted without escapes), unquoted. */
function keyOf(text: string): string | undefined {
  const m = /^(?:"([^"\\]*)"|'([^']*)'|([^\s"'#:][^:#]*?))\s*:(?:\s|$)/.exec(text);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The last `[` or `{` above or on line `at` that its line does not close (quotes are skipped). */
function unclosedBracket(lines: readonly Line[], at: number): SyntaxProblem | undefined {
  for (let i = at; i >= 0 && i > at - 50; i--) {
    const t = lines[i]!.text;
    const open: number[] = [];
    let quote = '';
    for (let k = 0; k < t.length; k++) {
      const c = t[k]!;
      if (quote) {
        if (c === quote) quote = '';
        else if (c === '\\' && quote === '"') k++;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (k === 0 || t[k - 1] === ' ')) break;
      else if (c === '[' || c === '{') open.push(k);
      else if ((c === ']' || c === '}') && open.length > 0) open.pop();
    }
    if (open.length > 0) {
      const k = open[0]!;
      const close = t[k] === '[' ? ']' : '}';
      return {
        offset: lines[i]!.start + k,
        column: k + 1,
        reason: `YAML: "${t[k]}" is never closed (a flow ${close === ']' ? 'sequence' : 'mapping'} must end with "${close}")`,
      };
    }
  }
  return undefined;
}
