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

export interface DirWatchOptions {
  readonly logger: Logger;
  readonly shutdown: Shutdown;
  /** Log event when the watch fails (e.g. `zones-watch-failed`) and what still picks changes up. */
  readonly failEvent: string;
  readonly note: string;
}

export function watchDirectory(dir: string, onChange: (reason: string) => void, o: DirWatchOptions): void {
  const watcher = new FileWatcher((reason) => {
    if (!o.shutdown.closed) onChange(reason);
  }, DIR_DEBOUNCE_MS);
  o.shutdown.add(() => watcher.close());
  try {
    watcher.setDirectories([dir]);
  } catch (e) {
    o.logger.error(o.failEvent, { dir, error: String(e), note: o.note });
  }
}
