import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/server/metrics.js';
import { T } from '../../src/wire/types.js';

/** A response header (QR set, rcode) with one question `a.` of type `qtype`. */
function response(qtype: number, rcode = 0): Uint8Array {
  return Uint8Array.from([0, 1, 0x84, rcode, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, qtype >> 8, qtype & 0xff, 0, 1]);
}

const series = (m: Metrics): string[] =>
  m
    .render([], [], 0)
    .split('\n')
    .filter((l) => l.startsWith('dane_ns_queries_total{'));

describe('Metrics: the qtype label comes from a fixed set', () => {
  it('known types are labelled by name', () => {
    const m = new Metrics();
    m.observe('udp', response(T.MX));
    m.observe('udp', response(T.MX));
    m.observe('tcp', response(T.TLSA, 3));
    expect(series(m)).toEqual([
      'dane_ns_queries_total{transport="udp",qtype="MX",rcode="NOERROR"} 2',
      'dane_ns_queries_total{transport="tcp",qtype="TLSA",rcode="NXDOMAIN"} 1',
    ]);
  });

  it('every qtype an attacker may send adds at most one series (`other`) per transport and rcode', () => {
    const m = new Metrics();
    let unknown = 0;
    const known = new Set<number>(Object.values(T));
    for (let q = 0; q <= 0xffff; q++) {
      m.observe('udp', response(q));
      if (!known.has(q)) unknown++;
    }
    const lines = series(m);
    expect(lines).toHaveLength(known.size + 1);
    expect(lines).toContain(`dane_ns_queries_total{transport="udp",qtype="other",rcode="NOERROR"} ${unknown}`);
    expect(lines.filter((l) => /qtype="TYPE\d+"/.test(l))).toEqual([]);
    expect(lines).toContain('dane_ns_queries_total{transport="udp",qtype="AAAA",rcode="NOERROR"} 1');
  });

  it('a response without a question is labelled none', () => {
    const m = new Metrics();
    const r = response(T.A);
    r[5] = 0;
    m.observe('udp', r);
    expect(series(m)).toEqual(['dane_ns_queries_total{transport="udp",qtype="none",rcode="NOERROR"} 1']);
  });
});

describe('Metrics: NOTIFY counters', () => {
  it('counts NOTIFYs sent and given up per zone, with HELP and TYPE', () => {
    const m = new Metrics();
    m.countNotifySent('example.com.');
    m.countNotifySent('example.com.');
    m.countNotifySent('b.example.');
    m.countNotifyFailed('example.com.');
    const text = m.render([], [], 0);
    expect(text.split('\n').filter((l) => l.includes('dane_ns_notify_'))).toEqual([
      '# HELP dane_ns_notify_sent_total NOTIFY messages sent to secondaries, retries included.',
      '# TYPE dane_ns_notify_sent_total counter',
      'dane_ns_notify_sent_total{zone="example.com."} 2',
      'dane_ns_notify_sent_total{zone="b.example."} 1',
      '# HELP dane_ns_notify_failed_total NOTIFY messages given up without an acknowledgement.',
      '# TYPE dane_ns_notify_failed_total counter',
      'dane_ns_notify_failed_total{zone="example.com."} 1',
    ]);
  });
});

describe('Metrics: transfer counters, NOTIFY acknowledgements, journal gauges', () => {
  it('one series per zone, kind and result; acked per zone; journal gauges only for zones that keep one', () => {
    const m = new Metrics();
    m.countTransfer('example.com.', 'ixfr', 'ok');
    m.countTransfer('example.com.', 'ixfr', 'ok');
    m.countTransfer('example.com.', 'axfr', 'error');
    m.countNotifyAcked('example.com.');
    const zones = [{ zone: 'example.com.', journal: { versions: 3, bytes: 1234 } }, { zone: 'b.example.' }];
    const text = m.render(zones, [], 0);
    const of = (prefix: string): string[] => text.split('\n').filter((l) => l.includes(prefix));
    expect(of('dane_ns_transfers_total')).toEqual([
      '# HELP dane_ns_transfers_total AXFR and IXFR requests for served zones, by kind and result.',
      '# TYPE dane_ns_transfers_total counter',
      'dane_ns_transfers_total{zone="example.com.",kind="ixfr",result="ok"} 2',
      'dane_ns_transfers_total{zone="example.com.",kind="axfr",result="error"} 1',
    ]);
    expect(of('dane_ns_notify_acked_total{')).toEqual(['dane_ns_notify_acked_total{zone="example.com."} 1']);
    expect(of('dane_ns_journal_versions{')).toEqual(['dane_ns_journal_versions{zone="example.com."} 3']);
    expect(of('dane_ns_journal_bytes{')).toEqual(['dane_ns_journal_bytes{zone="example.com."} 1234']);
  });
});

describe('Metrics: TLSA cold rollovers', () => {
  it('counted per host, with HELP and TYPE even before the first', () => {
    const m = new Metrics();
    expect(m.render([], [], 0)).toContain('# TYPE dane_ns_tlsa_cold_rollovers_total counter\n');
    m.countColdRollover('mail.example.com.');
    m.countColdRollover('mail.example.com.');
    m.countColdRollover('mx2.example.com.');
    const lines = m
      .render([], [], 0)
      .split('\n')
      .filter((l) => l.startsWith('dane_ns_tlsa_cold_rollovers_total'));
    expect(lines).toEqual([
      'dane_ns_tlsa_cold_rollovers_total{host="mail.example.com."} 2',
      'dane_ns_tlsa_cold_rollovers_total{host="mx2.example.com."} 1',
    ]);
  });
});

describe('Metrics: response cache', () => {
  it('renders its counters and entries when given, typed; nothing of it otherwise', () => {
    const m = new Metrics();
    const lines = (): string[] =>
      m
        .render([], [], 0)
        .split('\n')
        .filter((l) => l.includes('dane_ns_response_cache_'));
    expect(lines()).toEqual([]);
    m.responseCache = () => ({ hits: 5, misses: 4, admitted: 3, refused: 2, evicted: 1, entries: 7 });
    const text = lines();
    expect(text.filter((l) => !l.startsWith('#'))).toEqual([
      'dane_ns_response_cache_hits_total 5',
      'dane_ns_response_cache_misses_total 4',
      'dane_ns_response_cache_admissions_total 3',
      'dane_ns_response_cache_refused_total 2',
      'dane_ns_response_cache_evictions_total 1',
      'dane_ns_response_cache_entries 7',
    ]);
    expect(text).toContain('# TYPE dane_ns_response_cache_entries gauge');
    expect(text).toContain('# TYPE dane_ns_response_cache_hits_total counter');
  });
});
