/**
 * Domain names as wire labels (RFC 1035 §3.1), with presentation parse/print (RFC 1035 §5.1 escapes `\X` and
 * `\DDD`) and canonical ordering (RFC 4034 §6.1).
 *
 * A Name keeps the original letter case in `wire` (for output) and a lower-cased key (for lookup and
 * comparison). Never compare presentation strings: `a.`, `A.` and `\097.` are one name.
 */
import { WireError } from './errors.js';
import { slabCopy } from './slab.js';

export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;

/** An absolute domain name. Immutable. */
export interface Name {
  /** Uncompressed wire form, original letter case, ending with the root label (0). */
  readonly wire: Uint8Array;
  /** The wire form with ASCII letters lower-cased, as a latin1 string: the lookup and equality key. */
  readonly key: string;
  /** Offsets of each label's length octet in `wire`, leftmost first (the root label is not included). */
  readonly offsets: readonly number[];
}

function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** The lower-cased copy of a wire name (ASCII letters only, RFC 4343). */
export function lowerWire(wire: Uint8Array): Uint8Array {
  const out = new Uint8Array(wire.length);
  for (let i = 0; i < wire.length; i++) out[i] = lowerByte(wire[i]!);
  return out;
}

/**
 * The key of a wire name. Built in one call, so V8 stores it as one flat string: appending character by
 * character would leave a rope of one 32-byte cons cell per octet behind every Name (about 130 MB for a
 * 100k-name zone).
 */
function keyOf(wire: Uint8Array): string {
  return String.fromCharCode.apply(null, lowerWire(wire) as unknown as number[]);
}

/**
 * A Name of a zone or a message. A zone of 100k names holds well over 100k of them for as long as it serves, so
 * they are kept small: the wire octets sit in a shared slab (wire/slab.ts) and the Uint8Array view of them
 * (about 100 bytes of object) is made when `wire` is read; `offsets` arrays are shared between names with the
 * same label lengths (internOffsets). Together about 190 bytes less per name than a plain object with a view and
 * an array of its own.
 */
class StoredName implements Name {
  readonly key: string;
  readonly offsets: readonly number[];
  readonly #buffer: ArrayBufferLike;
  readonly #at: number;

  constructor(wire: Uint8Array, offsets: readonly number[]) {
    const copy = slabCopy(wire);
    this.key = keyOf(wire);
    this.offsets = offsets;
    this.#buffer = copy.buffer;
    this.#at = copy.byteOffset;
    Object.freeze(this);
  }

  get wire(): Uint8Array {
    return new Uint8Array(this.#buffer, this.#at, this.key.length);
  }
}

/**
 * Most names of a zone share a handful of label-length patterns (`www.example.com.` and `srv.example.com.` both
 * have offsets 0, 4, 12), so one frozen array per pattern serves them all. The table is bounded: names from
 * queries could otherwise grow it without end; past the bound a name gets an array of its own.
 */
const offsetArrays = new Map<string, readonly number[]>();
const MAX_OFFSET_PATTERNS = 4096;

function internOffsets(offsets: number[]): readonly number[] {
  const pattern = String.fromCharCode.apply(null, offsets);
  const have = offsetArrays.get(pattern);
  if (have) return have;
  // A copy, because an array grown by push keeps room for 17 elements; slice() sizes it exactly.
  const frozen = Object.freeze(offsets.slice());
  if (offsetArrays.size < MAX_OFFSET_PATTERNS) offsetArrays.set(pattern, frozen);
  return frozen;
}

/** Builds a Name from a validated, uncompressed wire form (the caller guarantees the layout). */
function make(wire: Uint8Array): Name {
  const offsets: number[] = [];
  for (let i = 0; wire[i] !== 0; i += wire[i]! + 1) offsets.push(i);
  return new StoredName(wire, internOffsets(offsets));
}

/** The root name ".". */
export const ROOT: Name = make(new Uint8Array([0]));

/** Builds a name from labels (leftmost first, without the root). Throws WireError on length violations. */
export function nameFromLabels(labels: readonly Uint8Array[]): Name {
  let len = 1;
  for (const l of labels) {
    if (l.length === 0) throw new WireError('E_EMPTY_LABEL', 'empty label');
    if (l.length > MAX_LABEL) throw new WireError('E_LABEL_TOO_LONG', `label of ${l.length} octets (max 63)`);
    len += l.length + 1;
  }
  if (len > MAX_NAME_WIRE) throw new WireError('E_NAME_TOO_LONG', `name of ${len} octets (max 255)`);
  const wire = new Uint8Array(len);
  let p = 0;
  for (const l of labels) {
    wire[p++] = l.length;
    wire.set(l, p);
    p += l.length;
  }
  wire[p] = 0;
  return make(wire);
}

/** Validates an uncompressed wire name that fills `wire` exactly, and returns it as a Name. */
export function nameFromWire(wire: Uint8Array): Name {
  if (wire.length > MAX_NAME_WIRE) throw new WireError('E_NAME_TOO_LONG', `name of ${wire.length} octets`);
  let i = 0;
  for (;;) {
    if (i >= wire.length) throw new WireError('E_SHORT', 'name runs past its buffer');
    const len = wire[i]!;
    if (len === 0) break;
    if (len > MAX_LABEL) throw new WireError('E_LABEL_TYPE', `label length octet 0x${len.toString(16)}`);
    i += len + 1;
  }
  if (i !== wire.length - 1) throw new WireError('E_TRAILING', 'bytes after the root label');
  return make(wire.slice());
}

/** The labels of a name, leftmost first, without the root label (views into `name.wire`). */
export function labels(name: Name): Uint8Array[] {
  return name.offsets.map((o) => name.wire.subarray(o + 1, o + 1 + name.wire[o]!));
}

/** Number of labels, not counting the root. */
export function labelCount(name: Name): number {
  return name.offsets.length;
}

export function nameEquals(a: Name, b: Name): boolean {
  return a.key === b.key;
}

/** True when `name` equals `ancestor` or is below it. */
export function isSubdomain(name: Name, ancestor: Name): boolean {
  const d = name.offsets.length - ancestor.offsets.length;
  if (d < 0) return false;
  const start = d === name.offsets.length ? name.wire.length - 1 : name.offsets[d]!;
  return name.key.length - start === ancestor.key.length && name.key.endsWith(ancestor.key);
}

/** The name with its `n` leftmost labels removed (n <= labelCount). */
export function stripLabels(name: Name, n: number): Name {
  if (n === 0) return name;
  if (n >= name.offsets.length) return ROOT;
  return make(name.wire.subarray(name.offsets[n]!));
}

/** `label` + "." + `name`. */
export function prependLabel(label: Uint8Array, name: Name): Name {
  return nameFromLabels([label, ...labels(name)]);
}

export const WILDCARD_LABEL = new Uint8Array([0x2a]);

/** True when the leftmost label is exactly `*` (RFC 4592 §2.1.1). */
export function isWildcard(name: Name): boolean {
  return name.wire[0] === 1 && name.wire[1] === 0x2a;
}

/** A name with every ASCII letter lower-cased (RFC 4034 §6.2 canonical form). */
export function toLower(name: Name): Name {
  return make(lowerWire(name.wire));
}

/**
 * Canonical DNS name order (RFC 4034 §6.1): compare labels from the rightmost, each as a lower-cased octet
 * string, a missing label sorting first.
 */
export function compareNames(a: Name, b: Name): number {
  const ka = a.key;
  const kb = b.key;
  let ia = a.offsets.length - 1;
  let ib = b.offsets.length - 1;
  while (ia >= 0 && ib >= 0) {
    const oa = a.offsets[ia]!;
    const ob = b.offsets[ib]!;
    const la = ka.charCodeAt(oa);
    const lb = kb.charCodeAt(ob);
    const n = Math.min(la, lb);
    for (let k = 1; k <= n; k++) {
      const d = ka.charCodeAt(oa + k) - kb.charCodeAt(ob + k);
      if (d !== 0) return d;
    }
    if (la !== lb) return la - lb;
    ia--;
    ib--;
  }
  return a.offsets.length - b.offsets.length;
}

/**
 * A string whose order (plain `<` on UTF-16 code units, a native comparison) is the canonical order of
 * `compareNames`, for names that share their rightmost `skip` labels (which are left out): the remaining labels
 * from the rightmost, lower-cased, joined by a 0x00 separator. Octets 0x00 and 0x01 inside a label are written
 * 0x01 0x01 and 0x01 0x02, so both the separator and the end of the string sort before every label octet, and a
 * label sorts before a longer one it begins (RFC 4034 §6.1: "a missing label sorts first", octets compared as
 * unsigned). Sorted arrays of these keys are binary-searched with native comparisons instead of `compareNames`.
 */
export function canonicalKey(name: Name, skip = 0): string {
  const { key, offsets } = name;
  let out = '';
  for (let i = offsets.length - 1 - skip; i >= 0; i--) {
    const o = offsets[i]!;
    let label = key.slice(o + 1, o + 1 + key.charCodeAt(o));
    if (label.indexOf('\x00') >= 0 || label.indexOf('\x01') >= 0)
      label = label.replace(/[\x00\x01]/g, (c) => (c === '\x00' ? '\x01\x01' : '\x01\x02'));
    out = out === '' ? label : out + '\x00' + label;
  }
  return out;
}

// ---- presentation format ---------------------------------------------------------------------------------

const DIGIT0 = 0x30;

function isDigit(c: number): boolean {
  return c >= DIGIT0 && c <= DIGIT0 + 9;
}

/**
 * Parses one label sequence in presentation format. `origin` completes relative names; `@` alone is the origin.
 * Throws WireError with a message that names the problem.
 */
export function parseName(text: string, origin: Name | null = null): Name {
  if (text === '@') {
    if (!origin) throw new WireError('E_SYNTAX', '"@" used without an origin');
    return origin;
  }
  if (text === '.') return ROOT;
  if (text.length === 0) throw new WireError('E_SYNTAX', 'empty name');
  const out: Uint8Array[] = [];
  let cur: number[] = [];
  let absolute = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (cur.length === 0) throw new WireError('E_EMPTY_LABEL', `empty label in "${text}"`);
      out.push(Uint8Array.from(cur));
      cur = [];
      i++;
      if (i === text.length) absolute = true;
      continue;
    }
    if (c === 0x5c /* \ */) {
      if (i + 1 >= text.length) throw new WireError('E_ESCAPE', `trailing backslash in "${text}"`);
      const c1 = text.charCodeAt(i + 1);
      if (isDigit(c1)) {
        if (i + 3 >= text.length) throw new WireError('E_ESCAPE', `short \\DDD in "${text}"`);
        const c2 = text.charCodeAt(i + 2);
        const c3 = text.charCodeAt(i + 3);
        if (!isDigit(c2) || !isDigit(c3)) throw new WireError('E_ESCAPE', `bad \\DDD escape in "${text}"`);
        const v = (c1 - DIGIT0) * 100 + (c2 - DIGIT0) * 10 + (c3 - DIGIT0);
        if (v > 255) throw new WireError('E_ESCAPE', `\\DDD value ${v} > 255 in "${text}"`);
        cur.push(v);
        i += 4;
      } else {
        if (c1 > 0x7e) throw new WireError('E_ESCAPE', `non-ASCII character in "${text}"`);
        cur.push(c1);
        i += 2;
      }
    } else {
      if (c > 0x7e || c < 0x21)
        throw new WireError('E_SYNTAX', `character U+${c.toString(16).padStart(4, '0')} in name "${text}" (use \\DDD)`);
      cur.push(c);
      i++;
    }
    if (cur.length > MAX_LABEL) throw new WireError('E_LABEL_TOO_LONG', `label longer than 63 octets in "${text}"`);
  }
  if (!absolute) {
    out.push(Uint8Array.from(cur));
    if (!origin) throw new WireError('E_SYNTAX', `relative name "${text}" without an origin`);
    for (const l of labels(origin)) out.push(l);
  }
  try {
    return nameFromLabels(out);
  } catch (e) {
    throw e instanceof WireError ? e.withContext(`"${text}"`) : e;
  }
}

/** Presentation form of one label, escaping what RFC 1035 §5.1 requires. */
function labelToText(label: Uint8Array): string {
  let s = '';
  for (const b of label) {
    if (b <= 0x20 || b >= 0x7f) s += '\\' + b.toString().padStart(3, '0');
    else if (
      b === 0x2e ||
      b === 0x5c ||
      b === 0x22 ||
      b === 0x28 ||
      b === 0x29 ||
      b === 0x3b ||
      b === 0x40 ||
      b === 0x24
    )
      s += '\\' + String.fromCharCode(b);
    else s += String.fromCharCode(b);
  }
  return s;
}

/** Absolute presentation form with a trailing dot, original case ("." for the root). */
export function nameToText(name: Name): string {
  if (name.offsets.length === 0) return '.';
  let s = '';
  for (const l of labels(name)) s += labelToText(l) + '.';
  return s;
}
