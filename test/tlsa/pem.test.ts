import { describe, expect, it } from 'vitest';
import { pemBlocks } from '../../src/tlsa/pem.js';
import { parseTlsaSource, TlsaSourceError } from '../../src/tlsa/source.js';
import { LISTED_REASON_MAX } from '../../src/zone/errors.js';

const block = (label: string, body: string): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

describe('pemBlocks', () => {
  it('finds the blocks in order, with their labels and whole text', () => {
    const text = `junk\n${block('CERTIFICATE', 'AAAA')}between\n${block('PRIVATE KEY', 'BBBB')}`;
    expect(pemBlocks(text)).toEqual([
      { label: 'CERTIFICATE', text: block('CERTIFICATE', 'AAAA').trimEnd() },
      { label: 'PRIVATE KEY', text: block('PRIVATE KEY', 'BBBB').trimEnd() },
    ]);
  });

  it('an END line must carry the label of its BEGIN line (RFC 7468 §2)', () => {
    const text = '-----BEGIN CERTIFICATE-----\nAA\n-----END PUBLIC KEY-----\nBB\n-----END CERTIFICATE-----\n';
    expect(pemBlocks(text)).toEqual([{ label: 'CERTIFICATE', text: text.trimEnd() }]);
  });

  it('skips a BEGIN line without its END line and keeps the blocks after it', () => {
    const text = `-----BEGIN PUBLIC KEY-----\nAA\n${block('CERTIFICATE', 'CC')}`;
    expect(pemBlocks(text).map((b) => b.label)).toEqual(['CERTIFICATE']);
  });

  it('1 MB of unterminated BEGIN lines: a number of steps linear in the markers, and 4x the input 4x the steps', () => {
    const line = '-----BEGIN CERTIFICATE-----\n';
    const steps = (n: number): number => {
      const work = { steps: 0 };
      expect(pemBlocks(line.repeat(n), work)).toEqual([]);
      return work.steps;
    };
    const n = Math.ceil((1024 * 1024) / line.length);
    // Three passes over the markers: found, linked, walked. A rescan per BEGIN line would be n * n / 2.
    expect(steps(n)).toBe(3 * n);
    expect(steps(4 * n)).toBe(12 * n);
    // Distinct labels (one END search each in a naive scanner) cost the same.
    const work = { steps: 0 };
    const distinct = Array.from({ length: n }, (_, i) => `-----BEGIN L${i}-----\n`).join('');
    expect(pemBlocks(distinct, work)).toEqual([]);
    expect(work.steps).toBe(3 * n);
  });

  it('a certificate file of 4 MB of unterminated BEGIN lines is reported as truncated PEM', () => {
    const bytes = Buffer.from('-----BEGIN CERTIFICATE-----\n'.repeat((4 * 1024 * 1024) / 28));
    expect(() => parseTlsaSource('/x.pem', bytes)).toThrow(TlsaSourceError);
    expect(() => parseTlsaSource('/x.pem', bytes)).toThrow('/x.pem: truncated PEM: a BEGIN line without its END line');
  });
  it('the reason for a file of many unknown PEM labels is one clipped line', () => {
    const text = Array.from({ length: 5000 }, (_, i) => block(`THING ${i}`, 'AA')).join('');
    let reason = '';
    try {
      parseTlsaSource('/x.pem', Buffer.from(text));
    } catch (e) {
      reason = (e as TlsaSourceError).reason;
    }
    expect(reason).toMatch(/^no certificate or key in the PEM blocks \(THING 0, THING 1, .*…$/);
    expect(reason.length).toBe(LISTED_REASON_MAX + 1);
  });
});
