/**
 * `catalog.json` in the state directory: the member zones the catalog zone (RFC 9432) lists and, for each zone
 * whose file went away (or lost its `transfer:`), when it went (server/catalog-members.ts keeps it listed for
 * the grace delay), and the `transfer:` of such zones (their secondaries keep reading the catalog until they
 * have seen them go). Written atomically on every change, so that a restart neither forgets a removal time (the
 * grace would start again), a member whose file vanished while the server was down (it would be dropped at
 * once), nor who may still read the catalog. A file for another catalog name, or one that cannot be read, is not
 * used: the catalog starts from the zones loaded (and says why).
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

/**
 * The `transfer:` of a zone without its file, as text (the server turns it back into settings): `until` (ms)
 * for a zone already dropped from the catalog, whose secondaries keep their permission until then.
 */
export interface KeptTransfer {
  readonly allow: readonly { readonly key: string | null; readonly address: string | null }[];
  readonly notify: readonly { readonly address: string; readonly port: number; readonly key: string | null }[];
  readonly until?: number;
}

export type KeptTransfers = Readonly<Record<string, KeptTransfer>>;

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A kept entry as read, its malformed parts left out. */
function keptEntry(v: unknown): KeptTransfer | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { allow?: unknown; notify?: unknown; until?: unknown };
  const list = (x: unknown): Record<string, unknown>[] =>
    Array.isArray(x) ? x.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null) : [];
  const allow = list(o.allow).map((a) => ({ key: text(a.key), address: text(a.address) }));
  const notify = list(o.notify)
    .filter((n) => typeof n.address === 'string' && typeof n.port === 'number')
    .map((n) => ({ address: n.address as string, port: n.port as number, key: text(n.key) }));
  const until = typeof o.until === 'string' ? Date.parse(o.until) : NaN;
  return Number.isFinite(until) ? { allow, notify, until } : { allow, notify };
}

/** The stored state of catalog `catalog` (lower-case absolute text); `problem` says why it was not used. */
export function readCatalogState(
  stateDir: string,
  catalog: string,
): { state: CatalogState; kept?: KeptTransfers; problem?: string } {
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
    const doc = JSON.parse(text) as {
      version?: unknown;
      catalog?: unknown;
      members?: unknown;
      removed?: unknown;
      kept?: unknown;
    };
    if (doc.version !== 1) return { state: EMPTY_CATALOG_STATE, problem: `${file}: not a version 1 catalog file` };
    if (doc.catalog !== catalog)
      return { state: EMPTY_CATALOG_STATE, problem: `${file}: is the state of catalog ${String(doc.catalog)}` };
    const members = Array.isArray(doc.members) ? doc.members.filter((m) => typeof m === 'string') : [];
    const removed: Record<string, number> = {};
    if (typeof doc.removed === 'object' && doc.removed !== null)
      for (const [k, v] of Object.entries(doc.removed))
        if (typeof v === 'string' && Number.isFinite(Date.parse(v))) removed[k] = Date.parse(v);
    const kept: Record<string, KeptTransfer> = {};
    if (typeof doc.kept === 'object' && doc.kept !== null)
      for (const [k, v] of Object.entries(doc.kept)) {
        const e = keptEntry(v);
        if (e) kept[k] = e;
      }
    return { state: { members, removed }, kept };
  } catch (e) {
    return { state: EMPTY_CATALOG_STATE, problem: `${file}: ${(e as Error).message}` };
  }
}

/** Writes the state (throws the write's error); times as ISO 8601, for the operator who reads it. */
export function saveCatalogState(stateDir: string, catalog: string, state: CatalogState, kept: KeptTransfers = {}): void {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const removed = Object.fromEntries(Object.entries(state.removed).map(([k, v]) => [k, iso(v)] as const));
  const keptOut = Object.fromEntries(
    Object.entries(kept).map(([k, v]) => [k, v.until === undefined ? v : { ...v, until: iso(v.until) }] as const),
  );
  const doc = { version: 1, catalog, members: state.members, removed, kept: keptOut };
  writeFileAtomic(join(stateDir, CATALOG_FILE), JSON.stringify(doc, null, 2) + '\n');
}
