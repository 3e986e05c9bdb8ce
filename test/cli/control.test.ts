/**
 * `dane-ns status`, `reload` and `zone list` (src/cli/control.ts) against a fake server on a real control socket
 * in a temporary state directory: the request each sends, the answer printed as text or --json, --state and
 * DANE_NS_STATE choosing the directory, reload's exit code, the server's error, and no server at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveControl } from '../../src/server/control.js';
import { run, usageLine } from './run.js';

const ZONE = {
  zone: 'a.example.',
  file: 'a.example.yaml',
  state: 'serving',
  serial: 12,
  signaturesExpire: '2099-01-01T00:00:00.000Z',
  tlsa: [{ host: 'mail.a.example.', records: [{ rdata: '3 1 1 AB', role: 'current' }] }],
};

describe('dane-ns status, reload, zone list', () => {
  let state: string;
  let server: Server;
  let asked: unknown[];
  let reloadError: string | undefined;

  beforeEach(async () => {
    state = mkdtempSync(join(tmpdir(), 'dane-ns-cli-control-'));
    asked = [];
    reloadError = undefined;
    server = createServer();
    const record = (req: unknown): void => void asked.push(req);
    serveControl(server, () => ({
      pid: () => 77,
      status: (zone) => {
        record({ command: 'status', zone });
        if (zone === 'nope.example') throw new Error('no zone nope.example in the zones directory');
        return {
          version: '1.2.3',
          pid: 77,
          startedAt: '2026-12-01T00:00:00.000Z',
          uptimeSeconds: 3725,
          listen: ['127.0.0.1:5353'],
          zones: [ZONE],
        };
      },
      reload: (zone) => {
        record({ command: 'reload', zone });
        return {
          zones: [
            {
              zone: 'a.example.',
              file: 'a.example.yaml',
              state: 'serving',
              serial: 13,
              ...(reloadError ? { error: reloadError, state: 'serving last good version' } : {}),
            },
          ],
          ...(zone ? { note: 'all zone files were re-read, not only this one' } : {}),
        };
      },
      zones: () => {
        record({ command: 'zones' });
        return { zones: [{ zone: 'a.example.', file: 'a.example.yaml', state: 'serving', serial: 12 }] };
      },
    }));
    await new Promise<void>((r) => server.listen(join(state, 'control.sock'), r));
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(state, { recursive: true, force: true });
  });

  it('status prints the server and each zone as text; --json the answer without ok', async () => {
    const t = await run(['status', '--state', state]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('dane-ns 1.2.3 (pid 77), up 1h 2m 5s since 2026-12-01T00:00:00.000Z\n');
    expect(t.stdout).toContain('listening on 127.0.0.1:5353\n');
    expect(t.stdout).toContain('zone a.example. (a.example.yaml): serving\n  serial: 12\n');
    expect(t.stdout).toMatch(/signatures expire: 2099-01-01T00:00:00.000Z \(in \d+ days, earliest\)/);
    expect(t.stdout).toContain('  TLSA mail.a.example.\n    3 1 1 AB  current\n');
    const j = await run(['status', 'a.example', '--json'], { DANE_NS_STATE: state });
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      version: '1.2.3',
      pid: 77,
      startedAt: '2026-12-01T00:00:00.000Z',
      uptimeSeconds: 3725,
      listen: ['127.0.0.1:5353'],
      zones: [ZONE],
    });
    expect(asked).toEqual([
      { command: 'status', zone: undefined },
      { command: 'status', zone: 'a.example' },
    ]);
  });

  it('reload prints each serial (exit 0) or the error (exit 1); with ZONE the note', async () => {
    const ok = await run(['reload', 'a.example.', '--state', state]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      'a.example. (a.example.yaml): serial 13\nnote: all zone files were re-read, not only this one\n',
    );
    reloadError = 'a.example.yaml:3: bad';
    const bad = await run(['reload', '--state', state]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      'a.example. (a.example.yaml): FAILED: a.example.yaml:3: bad (serving the last good version, serial 13)\n',
    );
    const json = await run(['reload', '--state', state, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ zones: [{ error: 'a.example.yaml:3: bad' }] });
  });

  it('zone list prints a table; --json the zones', async () => {
    const t = await run(['zone', 'list', '--state', state]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe('ZONE        FILE            SERIAL  STATE\na.example.  a.example.yaml  12      serving\n');
    const j = await run(['zone', 'list', '--state', state, '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      zones: [{ zone: 'a.example.', file: 'a.example.yaml', state: 'serving', serial: 12 }],
    });
  });

  it("the server's error is printed and the exit code is 1", async () => {
    const r = await run(['status', 'nope.example', '--state', state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('dane-ns: the running server says: no zone nope.example in the zones directory\n');
  });

  it('usage errors: two zones, an invalid zone name, an argument to zone list', async () => {
    expect(usageLine(await run(['status', 'a.example', 'b.example', '--state', state]))).toMatch(
      /unexpected argument "b.example"/,
    );
    expect(usageLine(await run(['reload', 'a..example', '--state', state]))).toMatch(/ZONE/);
    expect(usageLine(await run(['zone', 'list', 'x', '--state', state]))).toMatch(/unexpected argument "x"/);
    expect(asked).toEqual([]);
  });

  it('without a server: no control.sock, exit 1 (the directory from --state or DANE_NS_STATE)', async () => {
    const empty = join(state, 'none');
    for (const [argv, env] of [
      [['status', '--state', empty], {}],
      [['reload'], { DANE_NS_STATE: empty }],
      [['zone', 'list'], { DANE_NS_STATE: empty }],
    ] as const) {
      const r = await run(argv, env);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`dane-ns: no dane-ns running with state directory ${empty} (no control.sock)\n`);
    }
  });
});
