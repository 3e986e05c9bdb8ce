/**
 * Reading zone files from disk: `<zone>.yaml` in the zones directory. Parsing and checks are in yaml.ts and
 * build.ts; this module only reads files and turns every failure into ZoneError with file and line.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ZoneError, type ZoneProblem } from './errors.js';
import { buildZoneSteps } from './build.js';
import { parseZoneYamlSteps, type WholeParse, type ZoneSource } from './yaml.js';
import type { Zone } from './zone.js';
import { isPermissionCode, permissionProblem } from '../state/access.js';
import { FileReadError, readRegularFileSteps, ZONE_FILE_MAX } from '../state/readfile.js';

/**
 * Names editors and tools leave next to a file while it is edited or saved, and hidden files: never zone files,
 * ignored without a word. Emacs `file~` and `#file#`, vim swap files (`.file.swp`, and `.swo` ... `.swa` even
 * when not hidden) and its `4913` write probe, JetBrains' `___jb_tmp___`/`___jb_old___` safe-write copies.
 * A `*.bak` (or `.orig`, `.new`, ...) is a copy a person made, so it is reported like any other stray file.
 */
const EDITOR_DEBRIS = /^\.|~$|^#.*#$|\.sw[a-p]$|^4913$|___jb_(?:tmp|old)___$/;

/** A zone file's name: `<zone>.yaml` or `<zone>.yml` (docs/zone-format.md). */
const ZONE_FILE = /\.ya?ml$/;

/** Why `name` in the zones directory is not read: undefined for a zone file, '' to say nothing about it. */
export function notAZoneFile(name: string): string | undefined {
  if (EDITOR_DEBRIS.test(name)) return '';
  if (ZONE_FILE.test(name)) return undefined;
  return 'not a zone file: zone files must be named <zone>.yaml or <zone>.yml';
}

/**
 * A directory's zone files, sorted, and the files it has that are not zone files with the reason (for the
 * server's log); hidden files, editors' working files and subdirectories are left out of both.
 */
export function listZoneDirectory(dir: string): { files: string[]; ignored: { name: string; reason: string }[] } {
  const files: string[] = [];
  const ignored: { name: string; reason: string }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const reason = notAZoneFile(e.name);
    if (reason === undefined) files.push(join(dir, e.name));
    else if (reason !== '' && !e.isDirectory()) ignored.push({ name: e.name, reason });
  }
  return { files: files.sort(), ignored: ignored.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** The zone files of a directory, sorted (`*.yaml` and `*.yml`; hidden files and editors' files ignored). */
export function listZoneFiles(dir: string): string[] {
  return listZoneDirectory(dir).files;
}

/** A zone file parsed but not built: the source, problems found while parsing, and the origin from its name. */
export interface ZoneFileSource {
  readonly src: ZoneSource;
  readonly problems: readonly ZoneProblem[];
  readonly defaultOrigin: string;
}

/**
 * The system refused to open or read a zone file (an errno such as EACCES or EMFILE): unlike a parse error or a
 * file refused for what it is (not a regular file, too large), trying again may succeed with the file unchanged.
 */
export class ZoneReadError extends ZoneError {}

/** Reads and parses one zone file; throws ZoneError on unreadable files and YAML syntax errors. */
export function readZoneSource(path: string): ZoneFileSource {
  const steps = readZoneSourceSteps(path);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Bytes of a zone file read between two yields of readZoneSourceSteps. */
const READ_PIECE = 4 * 1024 * 1024;

/** readZoneSource in steps (yaml.ts parseZoneYamlSteps; a large file it cannot split goes to `whole`). */
export function* readZoneSourceSteps(path: string, whole?: WholeParse): Generator<void, ZoneFileSource, undefined> {
  let text: string;
  try {
    // Only a regular file up to ZONE_FILE_MAX: a FIFO or a link to /dev/zero must not stall the server.
    const bytes = yield* readRegularFileSteps(path, ZONE_FILE_MAX, READ_PIECE);
    // Only text: YAML is Unicode text (YAML 1.2 §5.1, §5.2), and a binary file of tens of MB would cost the
    // decoder and the YAML parser about a second each, in one piece. Both checks take milliseconds.
    const nul = bytes.indexOf(0);
    if (nul >= 0) throw new FileReadError(path, `not a text file (a NUL octet at offset ${nul})`);
    if (!isUtf8(bytes)) throw new FileReadError(path, 'not a text file (not UTF-8)');
    const ascii = isAscii(bytes);
    yield;
    // ASCII (nearly every zone file) decodes as Latin-1, a plain copy: 40% faster than the UTF-8 decoder.
    text = bytes.toString(ascii ? 'latin1' : 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A file the server's user may not read: whose it is, its mode and the chown (state/access.ts).
    const reason = isPermissionCode(code)
      ? permissionProblem(path).slice(path.length + 2)
      : e instanceof FileReadError
        ? e.reason
        : (e as Error).message;
    const problems = [{ file: path, line: 0, reason: `cannot read: ${reason}` }];
    const refused = e instanceof FileReadError && e.code === undefined;
    throw refused ? new ZoneError(problems) : new ZoneReadError(problems);
  }
  const problems: ZoneProblem[] = [];
  const src = yield* parseZoneYamlSteps(path, text, problems, whole);
  if (problems.some((p) => p.reason.startsWith('YAML:'))) throw new ZoneError(problems);
  return { src, problems, defaultOrigin: basename(path).replace(/\.ya?ml$/, '') };
}

/**
 * Builds a parsed zone file (optionally with its source records replaced, e.g. by the automatic TLSA);
 * throws ZoneError (file:line: reason) on any problem.
 */
export function buildZoneSource(
  f: ZoneFileSource,
  autoSerial?: (origin: string, hash: string) => number,
  src: ZoneSource = f.src,
): Zone {
  const steps = buildZoneSourceSteps(f, autoSerial, src);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** buildZoneSource in steps (zone/build.ts buildZoneSteps). */
export function buildZoneSourceSteps(
  f: ZoneFileSource,
  autoSerial?: (origin: string, hash: string) => number,
  src: ZoneSource = f.src,
): Generator<void, Zone, undefined> {
  return buildZoneSteps(
    src,
    {
      defaultOrigin: f.defaultOrigin,
      ...(autoSerial
        ? { autoSerial: (hash: string) => autoSerial(originKey(src.origin ?? f.defaultOrigin), hash) }
        : {}),
    },
    [...f.problems],
  );
}

/** Loads one zone file; throws ZoneError (file:line: reason) on any problem. */
export function loadZoneFile(path: string, autoSerial?: (origin: string, hash: string) => number): Zone {
  return buildZoneSource(readZoneSource(path), autoSerial);
}

/** The state-directory key of a zone: lower-case, absolute. */
function originKey(origin: string): string {
  const o = origin.toLowerCase();
  return o.endsWith('.') ? o : o + '.';
}
