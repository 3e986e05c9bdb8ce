/**
 * What the parent zone's servers last answered for each signed zone's DS (`parent-ds.json` in the state
 * directory, written atomically): the record of the checks server/parent-watch.ts makes (RFC 4035 §5.2,
 * RFC 7344 §4), for the operator and for a look after a restart. Only written here, never read back by the server.
 */
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

/** One zone's last check: when, and each parent server's DS rdata texts, TTL, or error. */
export interface ParentDsSeen {
  readonly checked: string;
  readonly servers: readonly { server: string; ds: string[]; ttl: number; error?: string }[];
}

export const PARENT_DS_FILE = 'parent-ds.json';

/** Writes every zone's last check (throws the write's error). */
export function saveParentDs(stateDir: string, zones: Readonly<Record<string, ParentDsSeen>>): void {
  writeFileAtomic(join(stateDir, PARENT_DS_FILE), JSON.stringify({ version: 1, zones }, null, 2) + '\n');
}
