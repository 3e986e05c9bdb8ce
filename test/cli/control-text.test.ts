/**
 * Tests for src/cli/control-text.ts: the lines `dane-ns status` prints for a key rollover step that waits for
 * watched servers (the same text `check ZONE` reports).
 */
import { describe, expect, it } from 'vitest';
import { keyStepText, renderStatus } from '../../src/cli/control-text.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

describe('key rollover steps that wait for watched servers', () => {
  it('names the key, the step, its time and the servers, or says the wait counts from the last one', () => {
    const w = { key: 4242, role: 'ZSK', step: 'sign', at: '2026-12-01T00:10:00Z', servers: ['192.0.2.54#53'] };
    expect(keyStepText(w)).toBe('ZSK 4242 starts signing at 2026-12-01T00:10:00Z (waits for 192.0.2.54#53)');
    expect(keyStepText({ ...w, role: 'CSK', step: 'remove', servers: [] })).toBe(
      'CSK 4242 leaves the DNSKEY RRset at 2026-12-01T00:10:00Z (counted from the last watched server)',
    );
    const text = renderStatus(
      {
        version: '1',
        pid: 1,
        uptimeSeconds: 5,
        startedAt: '2026-11-30T23:59:55Z',
        listen: ['127.0.0.1:53'],
        zones: [{ zone: 'a.example.', file: 'a.example.yaml', state: 'serving', serial: 3, keyStepWaits: [w] }],
      },
      NOW,
    );
    expect(text).toContain('\n  ZSK 4242 starts signing at 2026-12-01T00:10:00Z (waits for 192.0.2.54#53)\n');
  });
});
