/** Paths of the shared test fixtures (test/fixtures/): zone files, keys and expected answers. */
import { fileURLToPath } from 'node:url';

/** The absolute path of test/fixtures/<file>. */
export const fixture = (file: string): string => fileURLToPath(new URL(`../fixtures/${file}`, import.meta.url));
