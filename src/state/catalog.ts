/**
 * `catalog.json` in the state directory: the member zones the catalog zone (RFC 9432) lists and, for each zone
 * whose file went away (or lost its `transfer:`), when it went (server/catalog-members.ts keeps it listed for
 * the grace delay). Written atomically on every change, so that a restart neither forgets a removal time (the
 * grace would start again) nor a member whose file vanished while the server was down (it would be dropped at
 * once). A file for another catalog name, or one that cannot be read, is not used: the catalog starts from the
 * zones loaded (and says why).
 */
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from './readfile.js';

export const CATALOG_FILE = 'catalog.json';

/** The members listed (lower-case absolute names) and, for those without a file now, when it went (ms). */
export interface CatalogState {
  readonly members: readonly string[];
  readonly removed: Readonly<Record<string, number>>;
}

export const EMPTY_CATALOG_STATE: CatalogState = Object.freeze({ members: [], removed: {} });

/** The stored state of catalog `catalog` (lower-case absolute text); `problem` says why it was not used. */
export function readCatalogState(stateDir: string, catalog: string): { state: CatalogState; problem?: string } {
  const file = join(stateDir, CATALOG_FILE);
  let text: string;
  try {
    text = readRegularFile(file, STATE_FILE_MAX).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: EMPTY_CATALOG_STATE };
    const why = e instanceof FileReadError ? e.reason : (e as Error).message;
    return { state: EMPTY_CATALOG_STATE, problem: `${file}: cannot read: ${why}` };
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown; catalog?: unknown; members?: unknown; removed?: unknown };
    if (doc.version !== 1) return { state: EMPTY_CATALOG_STATE, problem: `${file}: not a version 1 catalog file` };
    if (doc.catalog !== catalog)
      return { state: EMPTY_CATALOG_STATE, problem: `${file}: is the state of catalog ${String(doc.catalog)}` };
    const members = Array.isArray(doc.members) ? doc.members.filter((m) => typeof m === 'string') : [];
    const removed: Record<string, number> = {};
    if (typeof doc.removed === 'object' && doc.removed !== null)
      for (const [k, v] of Object.entries(doc.removed))
        if (typeof v === 'string' && Number.isFinite(Date.parse(v))) removed[k] = Date.parse(v);
    return { state: { members, removed } };
  } catch (e) {
    return { state: EMPTY_CATALOG_STATE, problem: `${file}: ${(e as Error).message}` };
  }
}

/** Writes the state (throws the write's error); removal times as ISO 8601, for the operator who reads it. */
export function saveCatalogState(stateDir: string, catalog: string, state: CatalogState): void {
  const removed = Object.fromEntries(
    Object.entries(state.removed).map(([k, v]) => [k, new Date(v).toISOString()] as const),
  );
  const doc = { version: 1, catalog, members: state.members, removed };
  writeFileAtomic(join(stateDir, CATALOG_FILE), JSON.stringify(doc, null, 2) + '\n');
}
