/**
 * The control socket's protocol (src/server/control.ts) with a fake set of commands: requests parsed and
 * answered, errors as answers (never a throw), `starting` before the server is ready, and over a real Unix
 * socket: one line in, one line out, a request too long refused, a silent client dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answer, MAX_REQUEST_BYTES, serveControl, type ControlCommands } from '../../src/server/control.js';

/** Commands that report what they were asked, as the server's would report its zones. */
function fakeCommands(): ControlCommands & { reloads: (string | undefined)[] } {
  const reloads: (string | undefined)[] = [];
  return {
    reloads,
    pid: () => 4242,
    status: (zone) => ({ zones: [{ zone: zone ?? 'example.com.', serial: 7, state: 'serving' }] }),
    reload: (zone) => {
      reloads.push(zone);
      return { zones: [{ zone: 'example.com.', serial: 8 }] };
    },
    zones: () => {
      throw new Error('zones exploded');
    },
  };
}

describe('control protocol: answer()', () => {
  it('answers status, reload and ping with the commands results and ok: true', () => {
    const c = fakeCommands();
    expect(answer('{"command":"status"}', c)).toEqual({
      ok: true,
      zones: [{ zone: 'example.com.', serial: 7, state: 'serving' }],
    });
    expect(answer('{"command":"status","zone":"a.example"}', c)).toMatchObject({ zones: [{ zone: 'a.example' }] });
    expect(answer('{"command":"reload","zone":"example.com"}', c)).toEqual({
      ok: true,
      zones: [{ zone: 'example.com.', serial: 8 }],
    });
    expect(c.reloads).toEqual(['example.com']);
    expect(answer('{"command":"ping"}', c)).toEqual({ ok: true, pid: 4242, ready: true });
  });

  it('turns every bad request and every failing command into ok: false with a reason', () => {
    const c = fakeCommands();
    expect(answer('not json', c)).toEqual({ ok: false, error: 'request is not JSON' });
    expect(answer('[1]', c)).toEqual({ ok: false, error: 'request is not an object' });
    expect(answer('{"zone":"x"}', c)).toEqual({ ok: false, error: 'request has no "command" string' });
    expect(answer('{"command":"status","zone":5}', c)).toEqual({ ok: false, error: '"zone" is not a string' });
    expect(answer('{"command":"shutdown"}', c)).toMatchObject({ ok: false, error: /unknown command "shutdown"/ });
    expect(answer('{"command":"zones"}', c)).toEqual({ ok: false, error: 'zones exploded' });
  });

  it('while starting (no commands yet): ping says not ready with the pid, the rest says starting', () => {
    expect(answer('{"command":"ping"}', undefined, 99)).toEqual({ ok: true, pid: 99, ready: false });
    expect(answer('{"command":"status"}', undefined)).toMatchObject({ ok: false, error: /^starting/ });
  });
});

describe('control protocol over a Unix socket', () => {
  let dir: string;
  let server: Server;
  let path: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-control-'));
    path = join(dir, 'control.sock');
    server = createServer();
    serveControl(server, () => fakeCommands(), 200);
    await new Promise<void>((r) => server.listen(path, r));
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `data` (and ends the writing side when `end`), resolves with all the server wrote and whether it hung up. */
  function exchange(data: string, end = false): Promise<{ text: string; closed: boolean; ms: number }> {
    const t0 = Date.now();
    return new Promise((resolve) => {
      const s = connect(path);
      let text = '';
      s.setEncoding('utf8');
      s.on('connect', () => (end ? s.end(data) : s.write(data)));
      s.on('data', (c: string) => (text += c));
      s.on('close', () => resolve({ text, closed: true, ms: Date.now() - t0 }));
      s.on('error', () => undefined);
    });
  }

  it('one JSON line in, one JSON line out, then the connection is closed', async () => {
    const r = await exchange('{"command":"status"}\n');
    expect(r.text.endsWith('\n')).toBe(true);
    expect(r.text.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.text)).toMatchObject({ ok: true, zones: [{ serial: 7 }] });
  });

  it('a request without its newline is answered when the client ends its side', async () => {
    const r = await exchange('{"command":"ping"}', true);
    expect(JSON.parse(r.text)).toEqual({ ok: true, pid: 4242, ready: true });
  });

  it('refuses a request longer than the limit', async () => {
    const r = await exchange('x'.repeat(MAX_REQUEST_BYTES + 10));
    expect(JSON.parse(r.text)).toEqual({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
  });

  it('drops a client that does not finish its request in time, and still answers the next', async () => {
    const slow = await exchange('{"command":');
    expect(slow.text).toBe('');
    expect(slow.ms).toBeGreaterThanOrEqual(150);
    expect(slow.ms).toBeLessThan(2000);
    const next = await exchange('{"command":"status"}\n');
    expect(JSON.parse(next.text)).toMatchObject({ ok: true });
  });
});
