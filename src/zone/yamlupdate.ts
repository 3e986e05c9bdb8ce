/**
 * The `update:` section of a YAML zone file (docs/zone-format.md): which TSIG key (RFC 8945) may change which
 * exact names and types by dynamic update (RFC 2136 §3.3: the server's own permission check). This reader
 * checks the values only; build.ts checks the names against the zone and the types against what is never
 * updatable (updatepolicy.ts), and the server whether the key file exists.
 */
import { isSeq } from 'yaml';
import { nameToText, parseName, ROOT } from '../wire/name.js';
import { T, typeFromText } from '../wire/types.js';
import type { UpdateRule } from './settings.js';
import { fields, isEmpty, text, type Entry, type NodeReader } from './yamlsettings.js';

const UPDATE_KEYS = ['key', 'names', 'types'] as const;

/** The `update:` list; entries with a bad value are left out (with a problem), so they allow nothing. */
export function readUpdate(r: NodeReader, v: unknown, line: number): UpdateRule[] {
  if (isEmpty(v)) return [];
  if (!isSeq(v)) return (void r.problem(line, 'update: expected a list of entries'), []);
  const out: UpdateRule[] = [];
  v.items.forEach((item, i) => {
    const l = r.lineOf(item);
    const what = `update[${i}]`;
    const f = fields(r, item, l, what, UPDATE_KEYS);
    const ke = f.get('key');
    const ne = f.get('names');
    if (!ke) r.problem(l, `${what}.key is required`);
    if (!ne) r.problem(l, `${what}.names is required`);
    const key = ke ? keyName(r, ke, what) : undefined;
    const names = ne ? strings(r, ne, `${what}.names`) : undefined;
    const te = f.get('types');
    const typeTexts = te ? strings(r, te, `${what}.types`) : ['TXT'];
    const types: number[] = [];
    for (const t of typeTexts ?? []) {
      let code: number;
      try {
        code = typeFromText(t);
      } catch {
        r.problem(te?.line ?? l, `${what}.types: unknown type "${t}"`);
        continue;
      }
      if (!types.includes(code)) types.push(code);
    }
    if (key !== undefined && names !== undefined && typeTexts !== undefined && types.length === typeTexts.length)
      out.push({ key, names, types: types.length > 0 ? types : [T.TXT], line: l });
  });
  return out;
}

/** One value or a non-empty list of values. */
function strings(r: NodeReader, e: Entry, what: string): string[] | undefined {
  const items = isSeq(e.value) ? e.value.items : [e.value];
  if (items.length === 0) return (void r.problem(e.line, `${what}: expected at least one value`), undefined);
  const out: string[] = [];
  for (const it of items) {
    const s = text(r, it, e.line, what);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/** A key name is a domain name (RFC 8945 §4.2), always absolute: `acme` is the key `acme.`. */
function keyName(r: NodeReader, ke: Entry, what: string): string | undefined {
  const s = text(r, ke.value, ke.line, `${what}.key`);
  try {
    if (s !== undefined) return nameToText(parseName(s, ROOT)).toLowerCase();
  } catch (err) {
    r.problem(ke.line, `${what}.key: "${s}" is not a key name: ${(err as Error).message}`);
  }
  return undefined;
}
