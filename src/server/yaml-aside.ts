/**
 * The one-document parse of a large zone file on a worker thread (zone/yaml.ts WholeParse): a file the split
 * reading does not apply to (a hostile or unusual one, tens of MB) would otherwise hold the thread that answers
 * queries for about a second. The worker's heap is capped (PARSE_HEAP_MB): a file whose syntax tree does not
 * fit is refused with that reason instead of taking the server's memory.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ZoneError, type ZoneProblem } from '../zone/errors.js';
import { ZoneReadError } from '../zone/files.js';
import { parseZoneYaml, type WholeParse, type ZoneSource } from '../zone/yaml.js';
import { awaitSteps, inSlices } from './slices.js';

/** Old-generation heap of the parsing worker, in MB. */
export const PARSE_HEAP_MB = 512;

const WORKER = fileURLToPath(new URL('./yaml-worker.js', import.meta.url));

/** The worker ran out of its heap: the file's syntax tree does not fit. */
class TooLarge extends Error {}

/** Parses `text` on a worker thread; rejects with the reason the worker failed. */
export function parseOnWorker(file: string, text: string): Promise<{ src: ZoneSource; problems: ZoneProblem[] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, {
      workerData: { file, text },
      resourceLimits: { maxOldGenerationSizeMb: PARSE_HEAP_MB },
      stdout: true, // nothing of the worker reaches the server's log
      stderr: true,
    });
    // A parse under way does not keep a stopping server alive (the sockets keep a running one so).
    w.unref();
    let settled = false;
    w.once('message', (m: { src: ZoneSource; problems: ZoneProblem[] }) => {
      settled = true;
      resolve(m);
      void w.terminate();
    });
    w.once('error', (e: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      reject(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new TooLarge(`too large to parse as one YAML document (over ${PARSE_HEAP_MB} MB of syntax tree)`)
          : e,
      );
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`the parsing worker stopped (exit code ${code})`));
      settled = true;
    });
  });
}

/**
 * WholeParse for the server: on a worker thread while the slice queue waits (server/slices.ts awaitSteps), in
 * place when not run by the queue (the first load) or when the worker's script is not there (the sources run
 * without a build, as the unit tests do). A file too large for the worker's heap is the file's problem (a
 * ZoneError); a worker that failed otherwise makes a ZoneReadError, tried again at the next reload.
 */
export const wholeParseAside: WholeParse = function* (file, text, problems) {
  if (!inSlices() || !existsSync(WORKER)) return parseZoneYaml(file, text, problems);
  let r: { src: ZoneSource; problems: ZoneProblem[] };
  try {
    r = yield* awaitSteps(parseOnWorker(file, text));
  } catch (e) {
    const problems = [{ file, line: 0, reason: e instanceof Error ? e.message : String(e) }];
    // Too large is the file's fault (not tried again until it changes); a worker that could not run is not.
    throw e instanceof TooLarge ? new ZoneError(problems) : new ZoneReadError(problems);
  }
  problems.push(...r.problems);
  return r.src;
};
