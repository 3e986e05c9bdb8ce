/**
 * src/server/starting.ts: what the sockets answer before the zones are served (SERVFAIL, RFC 1035 §4.1.1, with
 * the question; nothing for a response or a runt), /healthz 503 `starting`, and the held `listening` lines.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { held, StartingGate, STARTING_REASON } from '../../src/server/starting.js';
import { query } from '../support/transport.js';

const remote = { address: '127.0.0.1', port: 5353, family: 'IPv4' } as const;

describe('StartingGate', () => {
  it('answers SERVFAIL with the question until open, then hands everything to the real handlers', () => {
    const gate = new StartingGate();
    // ID 0x1234, RD, one question: a. SOA IN.
    const q = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0, 0, 6, 0, 1]);
    const r = gate.handle(q, 'udp', remote)!;
    expect(r[0]).toBe(0x12);
    expect(r[1]).toBe(0x34);
    expect(r[2]).toBe(0x81); // QR, RD kept
    expect(r[3]! & 0xf).toBe(2); // SERVFAIL
    expect([...r.subarray(4, 12)]).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(r.subarray(12))).toEqual(q.subarray(12));
    expect(gate.stream(q, remote)).toBeNull();
    expect(gate.http.health()).toEqual({ ok: false, reasons: [STARTING_REASON] });
    expect(gate.open).toBe(false);

    const answer = new Uint8Array([9]);
    const streamed = [new Uint8Array([8])];
    gate.openWith(
      () => answer,
      () => streamed,
      { health: () => ({ ok: true, reasons: [] }), metrics: () => 'm 1\n' },
    );
    expect(gate.open).toBe(true);
    expect(gate.handle(q, 'tcp', remote)).toBe(answer);
    expect(gate.stream(q, remote)).toBe(streamed);
    expect(gate.http.health().ok).toBe(true);
    expect(gate.http.metrics()).toBe('m 1\n');
  });

  it('stays silent for a response (QR set) and for a message shorter than a header', () => {
    const gate = new StartingGate();
    const response = Buffer.from(query(1));
    response[2] = response[2]! | 0x80;
    expect(gate.handle(response, 'udp', remote)).toBeNull();
    expect(gate.handle(new Uint8Array(11), 'udp', remote)).toBeNull();
  });
});

describe('held', () => {
  it('keeps the lines until release, in order, then passes them through', () => {
    const lines: string[] = [];
    const h = held(createLogger({ write: (l) => lines.push(JSON.parse(l).event as string) }));
    h.logger.info('listening', { port: 1 });
    h.logger.warn('udp-engine');
    expect(lines).toEqual([]);
    h.release();
    expect(lines).toEqual(['listening', 'udp-engine']);
    h.logger.error('handler-error');
    expect(lines).toEqual(['listening', 'udp-engine', 'handler-error']);
  });
});
