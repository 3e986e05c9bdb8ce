#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The `dane-ns` command (package.json "bin", the Docker image's ENTRYPOINT): runs the command line (cli/main.ts)
 * with the process's arguments, output and environment, and sets the exit code. The node flags of the shebang
 * are those V8 only reads at start-up (cli/serve.ts sets the others); test/meta/launch.test.ts keeps every way of
 * starting dane-ns on the same flags.
 */
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`dane-ns: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
