import { describe, expect, it } from 'vitest';
import { hazardFindings, hostRollover, recordFindings, type RolloverView } from '../../src/check/rotation.js';
import { advance, type HostRollover } from '../../src/tlsa/rollover.js';

const A = '3 1 1 AAAA000011112222333344445555';
const B = '3 1 1 BBBB000011112222333344445555';
const T0 = 1_800_000_000;
const iso = (sec: number): string => new Date(sec * 1000).toISOString();

/** mail.example.com. renewed at T0 + 3600 to a key never pre-published (a cold rollover), TTL 300. */
const cold: HostRollover = advance(
  advance(undefined, [{ rdata: A, role: 'current' }], 300, T0),
  [{ rdata: B, role: 'current' }],
  300,
  T0 + 3600,
);
const view: RolloverView = { hosts: { 'example.com.|mail.example.com.': cold }, file: '/var/lib/dane-ns/tlsa.json' };

describe('check: rollover findings', () => {
  it('the host is found by its lower-case names; a missing host or an unusable file is one warn line', () => {
    expect(hostRollover(view, 'Example.COM.', 'MAIL.example.com.')).toEqual({ state: cold });
    expect(hostRollover(view, 'example.com.', 'mx.example.com.')).toEqual({
      finding: {
        level: 'warn',
        what: 'mx.example.com. rollover',
        detail:
          "records not labelled: no entry for this host (is /var/lib/dane-ns/tlsa.json the running server's state file?)",
      },
    });
    const bad = { hosts: {}, file: view.file, problem: `${view.file}: not JSON: oops` };
    expect(hostRollover(bad, 'example.com.', 'mail.example.com.')).toMatchObject({
      finding: { level: 'warn', detail: `records not labelled: ${view.file}: not JSON: oops` },
    });
  });

  it('each published record is labelled; one the state does not know is a warn line', () => {
    const lines = recordFindings(cold, '_25._tcp.mail.example.com.', [A, B, '3 1 1 CCCC'], (T0 + 3700) * 1000);
    expect(lines).toEqual([
      { level: 'ok', what: `_25._tcp.mail.example.com. TLSA ${A}`, detail: `retiring until ${iso(T0 + 4200)}` },
      { level: 'ok', what: `_25._tcp.mail.example.com. TLSA ${B}`, detail: 'current' },
      {
        level: 'warn',
        what: '_25._tcp.mail.example.com. TLSA 3 1 1 CCCC',
        detail: 'not in the rollover state (hand-written, or published by another server)',
      },
    ]);
  });

  it('a cold rollover is a warn line while it lasts, with its end and the fix', () => {
    const during = hazardFindings(cold, 'mail.example.com.', (T0 + 4199) * 1000);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ level: 'warn', what: 'mail.example.com. cold rollover' });
    expect(during[0]!.detail).toContain(`until ${iso(T0 + 4200)}`);
    expect(during[0]!.detail).toContain('certbot --reuse-key');
    expect(hazardFindings(cold, 'mail.example.com.', (T0 + 4200) * 1000)).toEqual([]);
  });

  it('next == current is a warn line asking for a new next key', () => {
    const both = advance(
      undefined,
      [
        { rdata: A, role: 'current' },
        { rdata: A, role: 'next' },
      ],
      300,
      T0,
    );
    expect(hazardFindings(both, 'mail.example.com.', T0 * 1000)).toEqual([
      {
        level: 'warn',
        what: 'mail.example.com. next key',
        detail: 'next key is in use (key aaaa000011112222), generate a new next key before the following renewal',
      },
    ]);
  });
});
