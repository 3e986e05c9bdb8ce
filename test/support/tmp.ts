/** Temporary directories for a test file: made on demand, all removed after the file's tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Call at the top level of a test file (it registers the cleanup hook). Returns a function that makes a fresh
 * directory named `<prefix>-[label-]XXXXXX` under the system temporary directory.
 */
export function tempDirs(prefix: string): (label?: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  return (label) => {
    const d = mkdtempSync(join(tmpdir(), label === undefined ? `${prefix}-` : `${prefix}-${label}-`));
    made.push(d);
    return d;
  };
}
