/**
 * The zones directory: one zone per file. Loads every file at start (any problem stops the start), reloads on
 * change or SIGHUP, and keeps the last good version of each file: a file that fails to load is reported as
 * file:line: reason, listed as failing (for /healthz) and its last good version keeps serving. An unchanged
 * file (same inode, size and times) is not parsed again, so only the zone that changed is rebuilt and re-signed;
 * that holds for a file that failed too (a bad 50 MB file is parsed, and its problems logged, once per change).
 * A log line lists at most the first problems of a file, each clipped (zone/errors.ts listProblems).
 * Two files must not serve the same origin: which one answered would depend on the order files are read in.
 * Other files in the directory are logged once per name as `zone-file-ignored` (zone/files.ts says which).
 */
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { nameToText } from '../wire/name.js';
import { ZoneError, clip, listProblems, type ZoneProblem } from '../zone/errors.js';
import {
  buildZoneSourceSteps,
  listZoneDirectory,
  readZoneSourceSteps,
  ZoneReadError,
  type ZoneFileSource,
} from '../zone/files.js';
import { soaSerial } from '../zone/build.js';
import type { Zone } from '../zone/zone.js';
import { tlsaEntryProblems } from '../tlsa/zone.js';
import { wholeParseAside } from './yaml-aside.js';

/** A zone file as last loaded: its parsed source and the zone built without automatic TLSA records. */
export interface LoadedFile {
  /** The parsed file; without its records when the zone has no automatic TLSA (nothing rebuilds it then). */
  readonly source: ZoneFileSource;
  readonly plain: Zone;
  /** inode, size and times of the file when it was read: an unchanged file is not parsed again on reload. */
  readonly stamp: string;
}

export interface ZoneFilesOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** The serial of a zone whose SOA says `serial: auto` (persisted per content hash). */
  readonly autoSerial: (origin: string, hash: string) => number;
  /** Called once per file that fails to load on reload (the reload failure counter). */
  readonly onLoadFailed?: () => void;
  /** Problems only the server can see in a built zone (a `transfer.allow` key without a key file). */
  readonly check?: (zone: Zone) => readonly ZoneProblem[];
}

function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '';
  }
}

export class ZoneFiles {
  private readonly byFile = new Map<string, LoadedFile>();
  /** Zone files whose last load failed (file -> problems, bounded). */
  private readonly failures = new Map<string, string[]>();
  /** The stamp of a failed file when it was read: it is not read again until the stamp changes. */
  private readonly failedStamps = new Map<string, string>();
  /** Names of files already logged as not zone files: each is said once, not on every reload. */
  private readonly ignoredNames = new Set<string>();

  constructor(private readonly opts: ZoneFilesOptions) {}

  /** The last good version of each file, by path. */
  get loaded(): ReadonlyMap<string, LoadedFile> {
    return this.byFile;
  }

  /** Files whose last load failed, with their problems (file:line: reason). */
  get failing(): ReadonlyMap<string, readonly string[]> {
    return this.failures;
  }

  /** Loads every file at start. Throws one ZoneError with the problems of every file (nothing is kept then). */
  loadAll(): void {
    const steps = this.loadAllSteps();
    while (!steps.next().done);
  }

  /** loadAll() in steps that yield (server/slices.ts): the starting server answers SERVFAIL meanwhile. */
  *loadAllSteps(): Generator<void, void, undefined> {
    const problems: ZoneProblem[] = [];
    const byFile = new Map<string, LoadedFile>();
    for (const file of this.list()) {
      try {
        const lf = yield* this.loadOneSteps(file, fileStamp(file));
        const clash = sameOrigin(byFile, file, lf.plain);
        if (clash) problems.push(clash);
        else byFile.set(file, lf);
      } catch (e) {
        if (e instanceof ZoneError) problems.push(...e.problems);
        else throw e;
      }
    }
    if (problems.length > 0) throw new ZoneError(problems);
    for (const [file, lf] of byFile) {
      this.byFile.set(file, lf);
      this.logLoaded(lf.plain);
    }
  }

  /**
   * Re-reads the directory: new, changed and removed files; with `only` (a path), that file alone, the others
   * untouched (not read, not reported). Returns false when the directory itself cannot be read (every zone is
   * kept as it was, and there is nothing to rebuild).
   */
  reload(only?: string): boolean {
    const steps = this.reloadSteps(only);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /** reload() in steps: a changed file is built in steps that yield (server/slices.ts). */
  *reloadSteps(only?: string): Generator<void, boolean, undefined> {
    const { logger } = this.opts;
    let files: string[];
    try {
      files = this.list();
    } catch (e) {
      logger.error('reload-failed', {
        dir: this.opts.dir,
        error: (e as Error).message,
        keeping: 'every zone as it was',
      });
      return false;
    }
    const seen = new Set(files);
    if (only !== undefined) files = files.filter((f) => f === only);
    for (const file of files) {
      const have = this.byFile.get(file);
      const stamp = fileStamp(file);
      if (have && have.stamp !== '' && have.stamp === stamp) continue;
      if (stamp !== '' && this.failedStamps.get(file) === stamp) continue;
      this.failedStamps.delete(file);
      let loaded = false;
      try {
        const lf = yield* this.loadOneSteps(file, stamp);
        loaded = true;
        const clash = sameOrigin(this.byFile, file, lf.plain);
        if (clash) throw new ZoneError([clash]);
        if (have?.plain.contentHash !== lf.plain.contentHash) this.logLoaded(lf.plain);
        this.byFile.set(file, lf);
        this.failures.delete(file);
      } catch (e) {
        const reasons = e instanceof ZoneError ? listProblems(e.problems) : [clip(String(e))];
        this.failures.set(file, reasons);
        // A clash depends on the other files too, an errno (EACCES, EMFILE) may pass, and the server's own check
        // depends on files besides this one (a TSIG key file may appear): such a file is tried again on the next
        // reload. A parse error or a refused file (FIFO, device, too large) is not, until it changes.
        if (!loaded && !(e instanceof ZoneReadError) && !(e instanceof ZoneCheckError))
          this.failedStamps.set(file, stamp);
        this.opts.onLoadFailed?.();
        logger.error('zone-load-failed', {
          file: basename(file),
          problems: reasons,
          keeping: this.byFile.has(file) ? 'last good version' : 'nothing',
        });
      }
    }
    for (const file of [...this.failures.keys()])
      if (!seen.has(file) && (only === undefined || file === only)) {
        this.failures.delete(file);
        this.failedStamps.delete(file);
      }
    for (const file of [...this.byFile.keys()])
      if (!seen.has(file) && (only === undefined || file === only)) {
        logger.info('zone-removed', { file: basename(file) });
        this.byFile.delete(file);
      }
    return true;
  }

  /** The zone files of the directory; the other files' names are logged the first time they are seen. */
  private list(): string[] {
    const { files, ignored } = listZoneDirectory(this.opts.dir);
    for (const { name, reason } of ignored)
      if (!this.ignoredNames.has(name)) {
        this.ignoredNames.add(name);
        this.opts.logger.warn('zone-file-ignored', { file: name, reason });
      }
    return files;
  }

  private *loadOneSteps(file: string, stamp: string): Generator<void, LoadedFile, undefined> {
    const { source, plain } = yield* loadZoneForServingSteps(file, this.opts.autoSerial, this.opts.check);
    if (source.src.tlsa.length > 0 || source.src.update.length > 0) return { source, plain, stamp };
    // Only a zone with automatic TLSA or dynamic update is built again from its source (served-zones.ts,
    // dynamic-zones.ts); for the others the parsed records (about 20 MB for a 100k-name zone) are dropped once
    // the zone is built.
    return { source: { ...source, src: { ...source.src, records: [] } }, plain, stamp };
  }

  /** Zones with automatic TLSA get their serial when the TLSA is put in (served-zones.ts logs it). */
  private logLoaded(z: Zone): void {
    this.opts.logger.info('zone-loaded', {
      zone: nameToText(z.origin),
      file: basename(z.file),
      ...(z.tlsa.length === 0 ? { serial: soaSerial(z.soa.rdatas[0]!) } : {}),
      names: z.nodes.size,
    });
  }
}

/** Problems the server's own check found in a zone that parsed and built: they depend on files besides the zone's. */
class ZoneCheckError extends ZoneError {}

/**
 * Parses and builds one zone file as the server loads it (and `dane-ns zone check` checks it): every problem
 * is a ZoneError. A zone with automatic TLSA is built here without it (and without touching the serial state:
 * `autoSerial` is not called); the served version adds the records (served-zones.ts). Problems of the `tlsa:`
 * entries themselves (a host outside the zone, at a cut, twice) are load errors.
 */
export function loadZoneForServing(
  file: string,
  autoSerial?: (origin: string, hash: string) => number,
  /** The server's own checks of a built zone (a `transfer.allow` key that has no key file). */
  check?: (zone: Zone) => readonly ZoneProblem[],
): { source: ZoneFileSource; plain: Zone } {
  const steps = loadZoneForServingSteps(file, autoSerial, check);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** loadZoneForServing in steps: the build yields every few hundred records (zone/build.ts buildZoneSteps). */
function* loadZoneForServingSteps(
  file: string,
  autoSerial?: (origin: string, hash: string) => number,
  check?: (zone: Zone) => readonly ZoneProblem[],
): Generator<void, { source: ZoneFileSource; plain: Zone }, undefined> {
  const source = yield* readZoneSourceSteps(file, wholeParseAside);
  const auto = source.src.tlsa.length > 0;
  const plain = yield* buildZoneSourceSteps(source, auto ? undefined : autoSerial);
  const checked = check?.(plain) ?? [];
  if (checked.length > 0) throw new ZoneCheckError([...checked]);
  if (auto) {
    const problems = tlsaEntryProblems(source, plain);
    if (problems.length > 0) throw new ZoneError([...problems]);
  }
  return { source, plain };
}

/** A problem when another file already serves the origin of `z` (two files must not fight over one zone). */
function sameOrigin(byFile: ReadonlyMap<string, LoadedFile>, file: string, z: Zone): ZoneProblem | null {
  for (const [other, oz] of byFile)
    if (other !== file && oz.plain.origin.key === z.origin.key)
      return { file, line: 1, reason: `zone ${nameToText(z.origin)} is already served from ${basename(other)}` };
  return null;
}
