/**
 * TSIG keys (RFC 8945) in BIND's key file format, the one `tsig-keygen -a hmac-sha256 NAME` prints and
 * `nsupdate -k FILE` and named.conf (directly or by `include`) read:
 *
 *   key "NAME" {
 *   	algorithm hmac-sha256;
 *   	secret "BASE64";
 *   };
 *
 * Reading is as tolerant as BIND's configuration parser: any whitespace, `#` and `//` comments to the end of
 * the line, `/* ... *\/` comments, quoted or bare name and algorithm, clauses in either order. Writing produces
 * tsig-keygen's exact layout. A keyring is the directory `<keys dir>/tsig/`, one `<name>.key` file per key whose
 * name must be the key's own; files are written atomically with mode 0600 (they hold the secret). Errors name
 * the file and line and never quote the secret.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { FileReadError, readRegularFile } from '../state/readfile.js';
import { WireError } from '../wire/errors.js';
import { nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { DEFAULT_TSIG_ALGORITHM, macLength, parseTsigAlgorithm, TsigError, type TsigKey } from './tsigalg.js';

export const TSIG_DIR = 'tsig';
const MODE_SECRET = 0o600;
/** Key files larger than this are not key files (one key is under 200 octets). */
const MAX_FILE_OCTETS = 64 * 1024;

export class TsigKeyError extends Error {
  constructor(file: string, line: number, message: string) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = 'TsigKeyError';
  }
}

interface Token {
  text: string;
  quoted: boolean;
  line: number;
}

/** Splits BIND configuration text into words, quoted strings and the punctuation `{ } ;`. */
function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new TsigKeyError(file, line, 'comment "/*" is not closed');
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
    } else if (c === '{' || c === '}' || c === ';') {
      out.push({ text: c, quoted: false, line });
      i++;
    } else if (c === '"') {
      const start = line;
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        if (text[i] === '\n') line++;
        s += text[i++];
      }
      if (i >= text.length) throw new TsigKeyError(file, start, 'quoted string is not closed');
      i++;
      out.push({ text: s, quoted: true, line: start });
    } else {
      let s = '';
      while (i < text.length && !/[\s{};"#]/.test(text[i]!) && !text.startsWith('//', i) && !text.startsWith('/*', i))
        s += text[i++];
      out.push({ text: s, quoted: false, line });
    }
  }
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses every `key` statement of a key file; `file` names it in errors. */
export function parseTsigKeys(text: string, file = 'key file'): TsigKey[] {
  const tokens = tokenize(text, file);
  const keys: TsigKey[] = [];
  let i = 0;
  const lastLine = (): number => tokens[tokens.length - 1]?.line ?? 1;
  const next = (what: string): Token => {
    const t = tokens[i++];
    if (!t) throw new TsigKeyError(file, lastLine(), `file ends where ${what} was expected`);
    return t;
  };
  const expect = (p: string): void => {
    const t = next(`"${p}"`);
    if (t.quoted || t.text !== p) throw new TsigKeyError(file, t.line, `expected "${p}", found "${t.text}"`);
  };
  while (i < tokens.length) {
    const kw = next('"key"');
    if (kw.quoted || kw.text.toLowerCase() !== 'key')
      throw new TsigKeyError(file, kw.line, `expected a "key" statement, found "${kw.text}"`);
    const nameTok = next('the key name');
    const name = keyName(nameTok, file);
    expect('{');
    let algorithm: TsigKey['algorithm'] | null = null;
    let secret: Uint8Array | null = null;
    for (;;) {
      const t = next('"algorithm", "secret" or "}"');
      if (!t.quoted && t.text === '}') break;
      const clause = t.text.toLowerCase();
      const value = next(`the value of "${t.text}"`);
      if (clause === 'algorithm') {
        try {
          algorithm = parseTsigAlgorithm(value.text);
        } catch (e) {
          throw new TsigKeyError(file, value.line, e instanceof TsigError ? e.message : String(e));
        }
      } else if (clause === 'secret') {
        if (!BASE64.test(value.text) || value.text === '')
          throw new TsigKeyError(file, value.line, 'the secret is not base64');
        secret = new Uint8Array(Buffer.from(value.text, 'base64'));
      } else throw new TsigKeyError(file, t.line, `unknown clause "${t.text}" in key "${nameTok.text}"`);
      expect(';');
    }
    expect(';');
    if (!algorithm) throw new TsigKeyError(file, nameTok.line, `key "${nameTok.text}" has no algorithm`);
    if (!secret) throw new TsigKeyError(file, nameTok.line, `key "${nameTok.text}" has no secret`);
    keys.push({ name, algorithm, secret });
  }
  return keys;
}

function keyName(t: Token, file: string): Name {
  if (!t.quoted && /^[{};]$/.test(t.text)) throw new TsigKeyError(file, t.line, 'the key has no name');
  try {
    const name = parseName(t.text, ROOT);
    if (name.offsets.length === 0) throw new TsigKeyError(file, t.line, 'a key cannot be named "."');
    return name;
  } catch (e) {
    if (e instanceof WireError) throw new TsigKeyError(file, t.line, `bad key name "${t.text}": ${e.message}`);
    throw e;
  }
}

/** One key file as tsig-keygen prints it (name without the trailing dot, a tab before each clause). */
export function formatTsigKey(key: TsigKey): string {
  const secret = Buffer.from(key.secret).toString('base64');
  return `key "${keyText(key.name)}" {\n\talgorithm ${key.algorithm};\n\tsecret "${secret}";\n};\n`;
}

function keyText(name: Name): string {
  return nameToText(name).replace(/\.$/, '');
}

/** The file name of a key in the keyring: `<name>.key`, lower case; only names safe as file names. */
export function tsigKeyFileName(name: Name): string {
  const text = keyText(name).toLowerCase();
  if (!/^[a-z0-9_-][a-z0-9_.-]*$/.test(text))
    throw new TsigError(`key name "${nameToText(name)}" cannot be a file name (use letters, digits, "-", "_", ".")`);
  return `${text}.key`;
}

/** A new key with a random secret as long as the hash output (RFC 8945 §6: no shorter than the MAC). */
export function generateTsigKey(name: Name | string, algorithm: string = DEFAULT_TSIG_ALGORITHM): TsigKey {
  const alg = parseTsigAlgorithm(algorithm);
  const n = typeof name === 'string' ? parseName(name, ROOT) : name;
  return { name: n, algorithm: alg, secret: new Uint8Array(randomBytes(macLength(alg))) };
}

/** Writes `<keysDir>/tsig/<name>.key` atomically with mode 0600; returns its path. */
export function writeTsigKey(keysDir: string, key: TsigKey): string {
  const dir = join(keysDir, TSIG_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, tsigKeyFileName(key.name));
  writeFileAtomic(path, formatTsigKey(key), MODE_SECRET);
  return path;
}

/** The keys of a keyring directory, found by TSIG owner name (case-insensitive, RFC 4343). */
export interface Keyring {
  readonly keys: readonly TsigKey[];
  readonly lookup: (name: Name) => TsigKey | undefined;
}

export function makeKeyring(keys: readonly TsigKey[]): Keyring {
  const byName = new Map(keys.map((k) => [k.name.key, k]));
  return { keys, lookup: (name) => byName.get(name.key) };
}

/** Reads `<keysDir>/tsig/*.key` (no directory: an empty keyring). Throws TsigKeyError for any bad file. */
export function readKeyring(keysDir: string): Keyring {
  const dir = join(keysDir, TSIG_DIR);
  if (!existsSync(dir)) return makeKeyring([]);
  const keys: TsigKey[] = [];
  const seen = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.key') || f.startsWith('.')) continue;
    const path = join(dir, f);
    const key = readKeyFile(path, f.slice(0, -'.key'.length));
    const other = seen.get(key.name.key);
    if (other !== undefined) throw new TsigKeyError(path, 0, `key "${keyText(key.name)}" is also in ${other}`);
    seen.set(key.name.key, f);
    keys.push(key);
  }
  return makeKeyring(keys);
}

/** One key file of a keyring (`base`: its name without `.key`, which must be the key's). Throws TsigKeyError. */
export function readKeyFile(path: string, base: string): TsigKey {
  // Only a regular file of at most MAX_FILE_OCTETS: a FIFO or a link to /dev/zero is refused, not read forever.
  let data: Buffer;
  try {
    data = readRegularFile(path, MAX_FILE_OCTETS);
  } catch (e) {
    if (e instanceof FileReadError) throw new TsigKeyError(path, 0, e.reason);
    throw e;
  }
  const keys = parseTsigKeys(data.toString('utf8'), path);
  if (keys.length !== 1) throw new TsigKeyError(path, 0, `holds ${keys.length} keys; a keyring file holds one`);
  const key = keys[0]!;
  let fileName: Name | null = null;
  try {
    fileName = parseName(base, ROOT);
  } catch {
    // not a name at all: reported below as a mismatch
  }
  if (!fileName || fileName.key !== key.name.key)
    throw new TsigKeyError(path, 0, `holds key "${keyText(key.name)}"; the file must be named after its key`);
  return key;
}
