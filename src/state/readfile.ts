/**
 * The one way the server reads a file it is given (zone files, certificate and key files of `tlsa:`, DNSSEC and
 * TSIG key files, state files): only regular files, only up to a size cap per kind. A FIFO would block open()
 * and read() forever and a character device such as /dev/zero never ends, so the file is opened with O_NONBLOCK
 * (open returns at once even for a FIFO without a writer), the OPENED descriptor is checked with fstat (a
 * symlink swapped after a stat cannot slip a device in) and at most cap + 1 bytes are read (a file that grows
 * after fstat is still refused, and memory stays bounded).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/**
 * Zone files: a 100k-name zone is about 5 MB of YAML; 64 MiB is over a million names. A file at the limit is
 * read, checked and decoded in steps of tens of milliseconds (zone/files.ts).
 */
export const ZONE_FILE_MAX = 64 * 1024 * 1024;
/** Certificate and key files of `tlsa:`: a long chain is some tens of kilobytes. */
export const CERT_FILE_MAX = 1024 * 1024;
/** DNSSEC key files (BIND K*.key / K*.private) and TSIG key files: a few kilobytes at most. */
export const KEY_FILE_MAX = 64 * 1024;
/** State files (serials.json, tlsa.json, keys.json): one small entry per zone or host. */
export const STATE_FILE_MAX = 16 * 1024 * 1024;

/**
 * Why a file was not read; `code` is the errno code when the system refused (ENOENT for a missing file), absent
 * when the file was refused here (not a regular file, too large).
 */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly code?: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'FileReadError';
  }

  /** The file does not exist (as opposed to existing and being unreadable). */
  get missing(): boolean {
    return this.code === 'ENOENT';
  }
}

/** What a non-regular file is, for the message. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isDirectory()) return 'directory';
  if (st.isSocket()) return 'socket';
  return 'unknown type';
}

/**
 * Reads a regular file of at most `cap` bytes (symlinks followed). Throws FileReadError for anything else:
 * missing or unreadable, not a regular file, or larger than the cap.
 */
export function readRegularFile(path: string, cap: number): Buffer {
  const steps = readRegularFileSteps(path, cap, Infinity);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * readRegularFile in steps that yield after each read of at most `piece` bytes (for the server's slices: a
 * file of tens of MB is read a few MB at a time).
 */
export function* readRegularFileSteps(path: string, cap: number, piece: number): Generator<void, Buffer, undefined> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // open() of a Unix socket fails with ENXIO: say what it is rather than the errno text.
    if (code === 'ENXIO') {
      try {
        const st = statSync(path);
        if (!st.isFile()) throw new FileReadError(path, `not a regular file (${kindOf(st)})`);
      } catch (e2) {
        if (e2 instanceof FileReadError) throw e2;
      }
    }
    const reason = code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? (e as Error).message})`;
    throw new FileReadError(path, reason, code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(path, `not a regular file (${kindOf(st)})`);
    if (st.size > cap) throw new FileReadError(path, `${st.size} bytes is too large (the limit is ${cap} bytes)`);
    // Read up to cap + 1 bytes: reaching cap + 1 means the file grew past the cap after fstat. A file that grew
    // within the cap is read to its end (the buffer doubles), so a read never returns a cut file.
    let buf = Buffer.allocUnsafe(Math.min(st.size, cap) + 1);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > cap) throw new FileReadError(path, `grew too large while read (the limit is ${cap} bytes)`);
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, cap + 1));
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, len, Math.min(buf.length - len, piece), null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new FileReadError(path, `cannot read (${code ?? (e as Error).message})`, code);
      }
      if (n === 0) break;
      len += n;
      if (piece !== Infinity) yield;
    }
    return buf.subarray(0, len);
  } finally {
    closeSync(fd);
  }
}
