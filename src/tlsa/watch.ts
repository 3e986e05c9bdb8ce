/**
 * Watches certificate/key files for change with chokidar, debounced. What is watched is each file's directory
 * and, when the file is a symlink, the directory of what it points to: certbot swaps `live/` symlinks to new
 * `archive/` files, many tools write a temporary file and rename it into place, others rewrite in place or
 * delete and re-create. Any event in those directories schedules one callback; the callback re-reads
 * everything, so a spurious event costs one cheap read. The server also re-reads periodically, which covers
 * what no watcher can see (a directory created later, a network file system).
 */
import { watch, type FSWatcher } from 'chokidar';
import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class FileWatcher {
  private watcher: FSWatcher | null = null;
  private dirs = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onChange: (reason: string) => void,
    private readonly debounceMs = 100,
  ) {}

  /** Last resolved directory of each path's symlink target (kept while the target is missing). */
  private readonly targets = new Map<string, string>();

  /**
   * The directories to watch for `paths`: their own and their symlink targets'. A target that is missing for a
   * moment (deleted, about to be re-created) keeps its directory watched, or its re-creation would go unseen.
   */
  directoriesOf(paths: readonly string[]): string[] {
    const dirs = new Set<string>();
    for (const p of paths) {
      const abs = resolve(p);
      dirs.add(dirname(abs));
      try {
        this.targets.set(abs, dirname(realpathSync(abs)));
      } catch {
        /* missing for now: keep the last known target directory */
      }
      const t = this.targets.get(abs);
      if (t !== undefined) dirs.add(t);
    }
    return [...dirs].sort();
  }

  /** Watches exactly the directories of `paths` (added and removed as needed). */
  setPaths(paths: readonly string[]): void {
    this.setDirectories(this.directoriesOf(paths));
  }

  /** Watches exactly `dirs` (their direct children: files added, changed, renamed, removed). */
  setDirectories(dirs: readonly string[]): void {
    const want = new Set(dirs.map((d) => resolve(d)));
    const add = [...want].filter((d) => !this.dirs.has(d));
    const drop = [...this.dirs].filter((d) => !want.has(d));
    this.dirs = want;
    if (!this.watcher) {
      if (want.size === 0) return;
      this.watcher = watch([...want], { depth: 0, ignoreInitial: true, followSymlinks: false, persistent: true });
      this.watcher.on('all', (event, path) => this.schedule(`${event} ${path}`));
      this.watcher.on('error', (err) => this.schedule(`watch error: ${String(err)}`));
      return;
    }
    if (add.length > 0) this.watcher.add(add);
    if (drop.length > 0) this.watcher.unwatch(drop);
  }

  private schedule(reason: string): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange(reason);
    }, this.debounceMs);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher?.close();
    this.watcher = null;
  }
}
