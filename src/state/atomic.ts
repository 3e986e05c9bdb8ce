/**
 * Atomic file writes: a temporary file in the same directory, fsync, rename over the target, fsync of the
 * directory. A crash leaves either the old or the new file, never a torn one, and perhaps the temporary file:
 * removeInterruptedWrites clears those at start (in the keys directory they may hold private keys).
 * Each completed write passes the crash-test hook of fault.ts (inert unless DANE_NS_FAULT_AFTER_WRITES is set).
 */
import { closeSync, fsync, fsyncSync, openSync, readdirSync, renameSync, writeSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAtomicWrite } from './fault.js';

/** The temporary files of writeFileAtomic: `.<target name>.<12 hex digits>.tmp`. */
export const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeFileAtomicWith(path, (write) => write(buf), mode);
}

/**
 * writeFileAtomic for content made piece by piece (a large zone's signatures): `produce` hands each piece to
 * `write` in order, so the whole content never has to be in memory at once.
 */
export function writeFileAtomicWith(
  path: string,
  produce: (write: (chunk: Uint8Array) => void) => void,
  mode = 0o644,
): void {
  const file = openAtomic(path, mode);
  try {
    produce((chunk) => file.write(chunk));
  } catch (e) {
    file.abandon();
    throw e;
  }
  file.commit();
}

/** An atomic write under way: its pieces written to the temporary file, the target untouched until commit(). */
export interface AtomicWrite {
  /** Appends a piece to the temporary file. */
  write(chunk: Uint8Array): void;
  /**
   * fsync of what was written so far, on another thread (for a caller that must not block the event loop):
   * the commit() that follows with no write in between skips its own fsync.
   */
  flush(): Promise<void>;
  /** fsync, rename over the target, fsync of the directory. On failure the temporary file is removed. */
  commit(): void;
  /** Removes the temporary file; the target stays as it was. Does nothing after commit() or abandon(). */
  abandon(): void;
}

/**
 * Starts an atomic write of `path`, for a writer that produces its content over several turns of the event loop
 * (work in slices) and decides at the end whether it stands (commit) or not (abandon).
 */
export function openAtomic(path: string, mode = 0o644): AtomicWrite {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  // The name TEMP_NAME matches: hidden, so nothing that lists the directory takes it for a key or zone file.
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  let open = true;
  /** Pieces written so far, and how many of them a finished flush() made durable. */
  let written = 0;
  let synced = -1;
  const abandon = (): void => {
    if (!open) return;
    open = false;
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  };
  return {
    write(chunk) {
      if (!open) throw new Error(`${path}: write after the atomic write ended`);
      try {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        written++;
      } catch (e) {
        abandon();
        throw e;
      }
    },
    flush() {
      if (!open) return Promise.reject(new Error(`${path}: flush after the atomic write ended`));
      const upTo = written;
      return new Promise((resolve, reject) =>
        fsync(fd, (e) => {
          if (e) return reject(e);
          synced = upTo;
          resolve();
        }),
      );
    },
    commit() {
      if (!open) throw new Error(`${path}: commit after the atomic write ended`);
      try {
        if (synced !== written) fsyncSync(fd);
      } catch (e) {
        abandon();
        throw e;
      }
      open = false;
      closeSync(fd);
      renameSync(tmp, path);
      try {
        const dfd = openSync(dir, 'r');
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      } catch {
        /* some file systems refuse fsync on directories; the rename is still atomic */
      }
      afterAtomicWrite(path);
    },
    abandon,
  };
}

/**
 * Removes from `dir` (not its subdirectories) the temporary files of atomic writes that never reached their
 * rename: the process was killed in between. Only regular files named like TEMP_NAME are touched. A missing
 * directory has none. Returns the paths removed and those that could not be (with the reason).
 */
export function removeInterruptedWrites(dir: string): { removed: string[]; failed: { path: string; error: string }[] } {
  const removed: string[] = [];
  const failed: { path: string; error: string }[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') failed.push({ path: dir, error: code ?? String(e) });
    return { removed, failed };
  }
  for (const ent of entries) {
    if (!ent.isFile() || !TEMP_NAME.test(ent.name)) continue;
    const path = join(dir, ent.name);
    try {
      unlinkSync(path);
      removed.push(path);
    } catch (e) {
      failed.push({ path, error: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  }
  return { removed, failed };
}
