/**
 * A UDP and a TCP probe asking a server for a zone's SOA every 50 ms (a new socket or connection each time),
 * while a test does something to the server: each probe's wait is recorded, and one without a NOERROR answer
 * within UNANSWERED_MS counts as unanswered. Beside it, the server's resident memory sampled from /proc.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** A probe without an answer after this long is unanswered (the bound the tests assert; loaded CI machines). */
export const UNANSWERED_MS = 1000;
const EVERY_MS = 50;

/** RFC 1035 §4.1: header (one question, RD off), the name as labels, QTYPE SOA, QCLASS IN. */
function soaQuery(zone: string): Buffer {
  const labels = zone.split('.').filter(Boolean);
  return Buffer.concat([
    Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0, 0, 6, 0, 1]),
  ]);
}

/** NOERROR with at least one answer record. */
const answered = (m: Buffer): boolean => m.length >= 12 && (m[3]! & 0x0f) === 0 && m.readUInt16BE(6) > 0;

/** Resolves with the wait in ms, or undefined when unanswered. */
function udpProbe(port: number, q: Buffer): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.close();
      resolve(ok ? performance.now() - t0 : undefined);
    };
    const t = setTimeout(() => done(false), UNANSWERED_MS);
    s.on('message', (m) => done(answered(m)));
    s.on('error', () => done(false));
    s.send(q, port, '127.0.0.1');
  });
}

function tcpProbe(port: number, q: Buffer): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      clearTimeout(t);
      c.destroy();
      resolve(ok ? performance.now() - t0 : undefined);
    };
    const t = setTimeout(() => done(false), UNANSWERED_MS);
    c.on('connect', () => c.write(Buffer.concat([Buffer.from([0, q.length]), q])));
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(answered(buf.subarray(2)));
    });
    c.on('error', () => done(false));
  });
}

export interface ProbeResult {
  /** Probes sent (UDP and TCP together). */
  readonly sent: number;
  /** The probes not answered, as "udp|tcp <ISO time sent>". */
  readonly failed: string[];
  /** The longest wait for an answer, per transport (ms, rounded). */
  readonly longest: { readonly udp: number; readonly tcp: number };
}

/** Starts probing `zone` at 127.0.0.1:`port`; stop() ends it and resolves with what was seen. */
export function probe(port: number, zone: string): { stop(): Promise<ProbeResult> } {
  const q = soaQuery(zone);
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const longest = { udp: 0, tcp: 0 };
  const loop = (async () => {
    while (running) {
      const at = new Date().toISOString();
      const [u, t] = await Promise.all([
        udpProbe(port, q),
        tcpProbe(port, q),
        new Promise((r) => setTimeout(r, EVERY_MS)),
      ]);
      sent += 2;
      if (u === undefined) failed.push(`udp ${at}`);
      else longest.udp = Math.max(longest.udp, Math.round(u));
      if (t === undefined) failed.push(`tcp ${at}`);
      else longest.tcp = Math.max(longest.tcp, Math.round(t));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, failed, longest };
    },
  };
}

/** Samples the resident memory of process `pid` every 50 ms; stop() resolves with the largest seen (MB). */
export function rssSampler(pid: number): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* the process is gone */
    }
  };
  sample();
  const timer = setInterval(sample, EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Math.round(peak);
    },
  };
}
