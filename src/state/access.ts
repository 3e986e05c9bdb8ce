/**
 * A permission problem said as one: which path the process may not read (the file, or the first directory on
 * the way to it that it may not search), the uid and gid the process runs as, that path's owner and mode, and
 * the chown that fixes it. A key file the server may not read is not a lost key: the message never suggests new
 * keys or a new DS, only the ownership change (POSIX.1 access checks: search permission on every directory of
 * the path, read permission on the file).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

/** The errno codes of a refused access (not a missing file, not an I/O error). */
export function isPermissionCode(code: string | undefined): boolean {
  return code === 'EACCES' || code === 'EPERM';
}

/** The first directory of `path` (from the root down) that the process may not search, if any. */
function unsearchable(path: string): string | undefined {
  const parts = resolve(path).split(sep).filter((p) => p !== '');
  let dir: string = sep;
  for (const part of parts.slice(0, -1)) {
    dir = dir === sep ? `${sep}${part}` : `${dir}${sep}${part}`;
    try {
      accessSync(dir, constants.X_OK);
    } catch {
      return dir;
    }
  }
  return undefined;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

/**
 * One sentence for a refused read of `path` (a file, or a directory to list): `<path>: permission denied: ...`.
 * Without getuid (not POSIX) the uid is said as unknown.
 */
export function permissionProblem(path: string, what: 'file' | 'directory' = 'file'): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const blocker = unsearchable(what === 'directory' ? `${path}${sep}.` : path) ?? resolve(path);
  const isDir = blocker !== resolve(path) || what === 'directory';
  let owner = 'owner unknown';
  try {
    const st = statSync(blocker);
    owner = `owned by uid ${st.uid} gid ${st.gid}, mode ${octal(st.mode)}`;
  } catch {
    // the parent cannot be searched either: said by the directory found above
  }
  const who = uid === undefined ? 'this process' : `uid ${uid} (gid ${gid})`;
  // The file, or its own directory (the keys, zones or state directory): the server's user should own it. A
  // directory further up only needs to let it pass.
  const own = !isDir || blocker === resolve(what === 'directory' ? path : dirname(path));
  const fix =
    uid === undefined
      ? `give the server's user access to ${blocker}`
      : !own
        ? `chmod o+x ${blocker}`
        : isDir
          ? `chown -R ${uid}:${gid} ${blocker}`
          : `chown ${uid}:${gid} ${blocker}`;
  const scope = blocker === resolve(path) ? '' : ` (on the way to ${path})`;
  return `${path}: permission denied: dane-ns runs as ${who} and may not ${isDir ? 'enter' : 'read'} ${blocker}${scope}, ${owner}; fix: ${fix} (or run dane-ns as its owner)`;
}
