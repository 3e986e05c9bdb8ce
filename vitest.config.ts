import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real daemons on fixed loopback ports: run files one at a time.
    fileParallelism: false,
    // Servers that tests start (directly or through the CLI) look up no parent name servers through the
    // machine's resolver: tests talk to loopback and their own namespaces only (serve --resolver).
    env: { DANE_NS_RESOLVER: 'none' },
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
