import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { nodeTimers } from '../../src/server/clock.js';
import { watchDirectory } from '../../src/server/dir-watch.js';
import { Shutdown } from '../../src/server/shutdown.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('watchDirectory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('calls back after a change in the directory, and never after the shutdown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-dir-watch-'));
    dirs.push(dir);
    const shutdown = new Shutdown();
    const reasons: string[] = [];
    const ctx = { logger: createLogger({ write: () => {} }), shutdown };
    watchDirectory(dir, (reason) => reasons.push(reason), ctx, 'test-watch-failed', 'nothing');
    await sleep(300); // chokidar is ready
    writeFileSync(join(dir, 'a.yaml'), 'x');
    for (let i = 0; i < 100 && reasons.length === 0; i++) await sleep(30);
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons[0]).toContain('a.yaml');
    await shutdown.close();
    const seen = reasons.length;
    writeFileSync(join(dir, 'b.yaml'), 'y');
    await sleep(400);
    expect(reasons).toHaveLength(seen);
  });
});

describe('nodeTimers', () => {
  it('runs a timer once, and a cancelled one never', async () => {
    const ran: string[] = [];
    nodeTimers.after(10, () => ran.push('kept'));
    const cancel = nodeTimers.after(10, () => ran.push('cancelled'));
    cancel();
    await sleep(50);
    expect(ran).toEqual(['kept']);
  });
});
