/**
 * The intent journal of a change to a zone's key files, so that a crash (kill -9, power loss) in the middle of
 * one leaves nothing half done: key generation on the first start, `dane-ns keys rollover` and its
 * `--ds-published` step each write several files (a key is a .private and a .key; a rollover also rewrites the
 * old keys' timing), and every write is atomic on its own (state/atomic.ts) but the set of them is not.
 *
 * Before the first file is written, `K<zone>+pending.json` (mode 0600: it holds the old .private texts) is
 * written atomically into the keys directory. It names the files the change creates and holds the text of the
 * files it rewrites, as they were before. Once the last file is written the journal is removed; only then are
 * the new tags recorded in keys.json and (for a rollover) the new DS printed.
 *
 * While the journal exists the change is incomplete. The next command or start that reads the zone's keys
 * (server start and reload, `ds`, `keys list|generate|rollover`) undoes it: it removes the created files, writes
 * the rewritten ones back, then removes the journal. Undoing, not finishing, is the safe direction, because no
 * DS can have been handed out for a key of an incomplete change: `ds` refuses (or first undoes) while the
 * journal exists, `keys rollover` prints the new DS only after removing it, and a first start serves a zone only
 * after its key set is complete. Finishing instead could let a new ZSK start signing before resolvers had its
 * DNSKEY (its times were planned for the moment of the interrupted command, RFC 7583 §3.2). The operator runs
 * the interrupted command again.
 *
 * A journal whose writer is still running (its pid is alive and it is less than STALE_MS old) is left alone:
 * the change is under way; the caller reports it as an error naming the journal and its files. A journal is
 * never trusted with a path: its file names must be key files of this zone, or it is refused.
 */
import { lstatSync, openSync, fsyncSync, closeSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { isPermissionCode, permissionProblem } from '../state/access.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from '../state/readfile.js';
import { nameToText, type Name } from '../wire/name.js';
import { zoneFileName } from './keyfile.js';

/** What the journal is for; named in messages. */
/** (`postpone`: the running server moves a rollover step that waits for the watched servers, server/rollover-hold.ts.) */
export type KeyChange = 'generate' | 'rollover' | 'ds-published' | 'postpone';

/** A key change takes milliseconds: an older journal is from a dead writer even if its pid was reused. */
const STALE_MS = 5 * 60 * 1000;

interface Journal {
  version: 1;
  zone: string;
  change: KeyChange;
  pid: number;
  started: string;
  /** File names (in the keys directory) that did not exist before: removed on undo. */
  created: string[];
  /** Files rewritten by the change, with their text and mode before it: written back on undo. */
  restore: { file: string; mode: number; text: string }[];
}

/** The journal's path: `K<zone>+pending.json`, next to the zone's key files (not matched as a key file). */
export function journalPath(keysDir: string, zone: Name): string {
  return join(keysDir, `K${zoneFileName(zone)}+pending.json`);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems refuse fsync on directories */
  }
}

/** A key file name of this zone and nothing else: no directory part, `K<zone>+013+<tag>.key|private`. */
function ownFile(zone: Name, file: string): boolean {
  const prefix = `K${zoneFileName(zone)}+`.toLowerCase();
  return (
    basename(file) === file && file.toLowerCase().startsWith(prefix) && /\+\d{3}\+\d{5}\.(key|private)$/i.test(file)
  );
}

/**
 * Writes the journal of a change about to start (atomically, before any key file). `created` are the file
 * names the change adds; `rewritten` those it will overwrite, whose current text is kept for an undo.
 */
export function beginKeyChange(
  keysDir: string,
  zone: Name,
  change: KeyChange,
  created: readonly string[],
  rewritten: readonly string[],
  now: Date,
): void {
  const restore = rewritten.map((file) => {
    const path = join(keysDir, file);
    return { file, mode: lstatSync(path).mode & 0o777, text: readRegularFile(path, STATE_FILE_MAX).toString('utf8') };
  });
  const j: Journal = {
    version: 1,
    zone: nameToText(zone),
    change,
    pid: process.pid,
    started: now.toISOString(),
    created: [...created],
    restore,
  };
  writeFileAtomic(journalPath(keysDir, zone), JSON.stringify(j, null, 2) + '\n', 0o600);
}

/** The change is complete: removes the journal (the directory synced, so the removal survives a power loss). */
export function endKeyChange(keysDir: string, zone: Name): void {
  unlinkSync(journalPath(keysDir, zone));
  syncDir(keysDir);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own changes are synchronous: a journal we see is a predecessor's
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(zone: Name, text: string): Journal | string {
  let d: Partial<Journal>;
  try {
    d = JSON.parse(text) as Partial<Journal>;
  } catch {
    return 'is not valid JSON';
  }
  if (
    d?.version !== 1 ||
    !Number.isInteger(d.pid) ||
    typeof d.started !== 'string' ||
    !Array.isArray(d.created) ||
    !Array.isArray(d.restore)
  )
    return 'is not a version 1 key change journal';
  for (const f of [...d.created, ...d.restore.map((r) => r?.file)])
    if (typeof f !== 'string' || !ownFile(zone, f)) return `names ${JSON.stringify(f)}, not a key file of the zone`;
  for (const r of d.restore) if (typeof r.text !== 'string' || !Number.isInteger(r.mode)) return 'is malformed';
  return d as Journal;
}

/** Undoes the journal's change, then removes it. Idempotent: a crash during the undo is undone again. */
function undo(keysDir: string, zone: Name, j: Journal): string[] {
  const touched: string[] = [];
  for (const r of j.restore) {
    const path = join(keysDir, r.file);
    let current: string | null = null;
    try {
      current = readRegularFile(path, STATE_FILE_MAX).toString('utf8');
    } catch {
      current = null;
    }
    if (current !== r.text) writeFileAtomic(path, r.text, r.mode);
    touched.push(`${path} restored`);
  }
  for (const f of j.created) {
    const path = join(keysDir, f);
    try {
      unlinkSync(path);
      touched.push(`${path} removed`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  syncDir(keysDir);
  endKeyChange(keysDir, zone);
  return touched;
}

export type Recovery = { ok: true; undone?: string } | { ok: false; error: string };

/**
 * Before the zone's keys are read: undoes an interrupted change (see the top), or reports one under way. Never
 * throws; `undone` is one line for the log saying what was undone.
 */
export function recoverKeyChange(keysDir: string, zone: Name, now: Date): Recovery {
  const path = journalPath(keysDir, zone);
  const z = nameToText(zone);
  let text: string;
  try {
    text = readRegularFile(path, STATE_FILE_MAX).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true };
    // The keys directory (or the journal) may not be read by this process: an ownership problem, said as one.
    if (isPermissionCode((e as NodeJS.ErrnoException).code))
      return { ok: false, error: `${z}: ${permissionProblem(path)}` };
    const why = e instanceof FileReadError ? e.reason : ((e as NodeJS.ErrnoException).code ?? 'error');
    return { ok: false, error: `${z}: the key change journal ${path} cannot be read (${why}); fix or remove it` };
  }
  const j = parse(zone, text);
  if (typeof j === 'string')
    return {
      ok: false,
      error: `${z}: the key change journal ${path} ${j}; not touching the key files. Fix or remove it`,
    };
  const files = [...j.created, ...j.restore.map((r) => r.file)].map((f) => join(keysDir, f)).join(', ');
  const age = now.getTime() - Date.parse(j.started);
  if (alive(j.pid) && age < STALE_MS)
    return {
      ok: false,
      error:
        `${z}: a key change (${j.change}) by process ${j.pid} is under way since ${j.started} (${path}); ` +
        `its key set is incomplete until it ends (${files}). No DS is printed for it`,
    };
  let touched: string[];
  try {
    touched = undo(keysDir, zone, j);
  } catch (e) {
    return {
      ok: false,
      error: `${z}: cannot undo the interrupted key change in ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)}); its files: ${files}`,
    };
  }
  return {
    ok: true,
    undone: `${z}: undid the key change (${j.change}) interrupted at ${j.started} (${path}): ${touched.join(', ') || 'no file had been written'}`,
  };
}
