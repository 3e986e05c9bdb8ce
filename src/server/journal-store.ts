/**
 * The IXFR journal on disk (RFC 1995 §4): one file per zone in `<state>/ixfr/`, the differences the journal
 * holds and the serial of the version they lead to, rewritten atomically (state/atomic.ts) whenever a version
 * is published, so that a restart serving the same serial goes on answering IXFR from the serials before it.
 * A file that cannot be read or is damaged is ignored with one log line: the journal starts over, and clients
 * get the whole zone until it has differences again. It is reported to `unreadable` too (the server makes it a
 * state fault: /healthz, /metrics); a damaged file is written over by the next version, a file that could not
 * be read at all (permissions, I/O error, not a regular file) is not, until it reads again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../state/atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from '../state/readfile.js';
import type { Difference } from './journal.js';

/** The directory under the state directory. */
export const JOURNAL_DIR = 'ixfr';

/** What is kept of a zone's journal. */
export interface StoredJournal {
  readonly serial: number;
  readonly chain: readonly Difference[];
}

export interface JournalStore {
  load(origin: string): StoredJournal | null;
  save(origin: string, journal: StoredJournal): void;
}

const b64 = (r: string): string => Buffer.from(r, 'latin1').toString('base64');
const unb64 = (s: unknown): string => {
  if (typeof s !== 'string') throw new Error('not a string');
  return Buffer.from(s, 'base64').toString('latin1');
};
const u32 = (n: unknown): number => {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error('not a serial');
  return n;
};

function decodeDifference(x: unknown): Difference {
  const d = x as Record<string, unknown>;
  if (!Array.isArray(d.deleted) || !Array.isArray(d.added)) throw new Error('no records');
  const deleted = d.deleted.map(unb64);
  const added = d.added.map(unb64);
  const fromSoa = unb64(d.fromSoa);
  const toSoa = unb64(d.toSoa);
  const size = [...deleted, ...added].reduce((n, r) => n + r.length, fromSoa.length + toSoa.length);
  return { from: u32(d.from), to: u32(d.to), fromSoa, toSoa, deleted, added, size };
}

/**
 * Runs a journal write. The default logs a failure (one line per failure); the server passes one that reports
 * it as a state fault (state-faults.ts: logged once, /healthz, /metrics, retried).
 */
export type JournalPersist = (path: string, write: () => void) => void;

/**
 * The journal files of `stateDir`; problems go to `logger`, write failures to `persist` and files that could not
 * be read or were damaged to `unreadable` when given.
 */
export function fileJournalStore(
  stateDir: string,
  logger: Logger,
  persist?: JournalPersist,
  unreadable?: (path: string, reason: string) => void,
): JournalStore {
  const path = (origin: string): string => join(stateDir, JOURNAL_DIR, `${encodeURIComponent(origin)}json`);
  /** Files that could not be read: why. Not written over while they still cannot be read. */
  const blocked = new Map<string, string>();
  return {
    load(origin) {
      const p = path(origin);
      if (!existsSync(p)) return null;
      try {
        let text: string;
        try {
          text = readRegularFile(p, STATE_FILE_MAX).toString('utf8');
        } catch (e) {
          if (e instanceof FileReadError && !e.missing) blocked.set(p, e.reason);
          throw e;
        }
        const j = JSON.parse(text) as Record<string, unknown>;
        if (j.origin !== origin || !Array.isArray(j.chain)) throw new Error('not a journal of this zone');
        const chain = j.chain.map(decodeDifference);
        // The differences must follow one another up to the stored serial.
        const serial = u32(j.serial);
        chain.forEach((d, i) => {
          if (d.to !== (chain[i + 1]?.from ?? serial)) throw new Error('the differences do not follow one another');
        });
        return { serial, chain };
      } catch (e) {
        const reason = e instanceof FileReadError ? e.reason : e instanceof Error ? e.message : String(e);
        logger.warn('ixfr-journal-ignored', { zone: origin, file: p, reason });
        unreadable?.(p, `read: ${reason}`);
        return null;
      }
    },
    save(origin, journal) {
      const chain = journal.chain.map((d) => ({
        from: d.from,
        to: d.to,
        fromSoa: b64(d.fromSoa),
        toSoa: b64(d.toSoa),
        deleted: d.deleted.map(b64),
        added: d.added.map(b64),
      }));
      const p = path(origin);
      const write = (): void => {
        const why = blocked.get(p);
        if (why !== undefined) {
          try {
            readRegularFile(p, STATE_FILE_MAX);
          } catch (e) {
            if (!(e instanceof FileReadError && e.missing))
              throw new Error(`cannot read: ${why}; not written over until it can be read`);
          }
          blocked.delete(p);
        }
        writeFileAtomic(p, JSON.stringify({ origin, serial: journal.serial, chain }));
      };
      if (persist) return persist(p, write);
      try {
        write();
      } catch (e) {
        logger.warn('ixfr-journal-write-failed', { zone: origin, reason: e instanceof Error ? e.message : String(e) });
      }
    },
  };
}
