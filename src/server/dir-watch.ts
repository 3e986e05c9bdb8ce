/**
 * Watching a directory whose files the server reads (the zones directory, the keys directory): any change is
 * collected for a moment, then one callback re-reads. When the watch cannot be set up the server still runs and
 * says what is left (SIGHUP, the next zone change).
 */
import type { Logger } from '../log.js';
import { FileWatcher } from '../tlsa/watch.js';
import type { Shutdown } from './shutdown.js';

/** Events in a watched directory are collected this long before it is read again. */
const DIR_DEBOUNCE_MS = 100;

/** What a watch needs from the server: the log, and the shutdown that stops it. */
export interface DirWatchContext {
  readonly logger: Logger;
  readonly shutdown: Shutdown;
}

/**
 * Calls `onChange` after changes in `dir` (never after the shutdown). When the watch fails, logs `failEvent`
 * with `note`, which says what still picks changes up.
 */
export function watchDirectory(
  dir: string,
  onChange: (reason: string) => void,
  ctx: DirWatchContext,
  failEvent: string,
  note: string,
): void {
  const watcher = new FileWatcher((reason) => {
    if (!ctx.shutdown.closed) onChange(reason);
  }, DIR_DEBOUNCE_MS);
  ctx.shutdown.add(() => watcher.close());
  try {
    watcher.setDirectories([dir]);
  } catch (e) {
    ctx.logger.error(failEvent, { dir, error: String(e), note });
  }
}
