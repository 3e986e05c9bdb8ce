#!/usr/bin/env node
// The longest wait for an answer, for bench/reload-gap.sh: asks 127.0.0.1:PORT for NAME's SOA every EVERY ms,
// over UDP and over TCP (a new connection per probe), until it reads a line on stdin or stdin closes; then
// prints one line "udp_max_ms tcp_max_ms probes unanswered" (a probe without an answer after 5 s counts as
// unanswered and as a 5000 ms wait). With PID, it also samples that process's resident memory (VmRSS in
// /proc/PID/status) at each probe and adds the largest, in MB, as a fifth field.
//
// Usage: node bench/gap-probe.mjs PORT NAME [EVERY] [PID]
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const [port, name, every = '50', pid = ''] = process.argv.slice(2).map(String);
let peakKb = 0;
const sampleRss = () => {
  if (!pid) return;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch {
    // the process is gone: the peak so far stands
  }
};
if (!port || !name) {
  process.stderr.write('usage: node bench/gap-probe.mjs PORT NAME [EVERY]\n');
  process.exit(2);
}
const LIMIT = 5000;

// RFC 1035 §4.1: header (id, RD off, one question), the name as labels, QTYPE SOA (6), QCLASS IN (1).
function query(id) {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, 0, 6, 0, 1]));
  return Buffer.concat(parts);
}

let id = 0;
const udp = () =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    const t0 = performance.now();
    const done = (ms) => {
      clearTimeout(timer);
      s.close();
      resolve(ms);
    };
    const timer = setTimeout(() => done(Infinity), LIMIT);
    s.on('message', () => done(performance.now() - t0));
    s.on('error', () => done(Infinity));
    s.send(query(++id & 0xffff), Number(port), '127.0.0.1');
  });
const tcp = () =>
  new Promise((resolve) => {
    const q = query(++id & 0xffff);
    const t0 = performance.now();
    const c = connect({ host: '127.0.0.1', port: Number(port) });
    let got = Buffer.alloc(0);
    const done = (ms) => {
      clearTimeout(timer);
      c.destroy();
      resolve(ms);
    };
    const timer = setTimeout(() => done(Infinity), LIMIT);
    c.on('connect', () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    c.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(performance.now() - t0);
    });
    c.on('error', () => done(Infinity));
  });

const waits = { udp: [], tcp: [] };
sampleRss();
const timer = setInterval(() => {
  sampleRss();
  waits.udp.push(udp());
  waits.tcp.push(tcp());
}, Number(every));
const finish = async () => {
  clearInterval(timer);
  const u = await Promise.all(waits.udp);
  const t = await Promise.all(waits.tcp);
  const max = (w) => Math.min(LIMIT, Math.max(0, ...w)).toFixed(0);
  const lost = [...u, ...t].filter((w) => w === Infinity).length;
  sampleRss();
  const rss = pid ? ` ${Math.round(peakKb / 1024)}` : '';
  process.stdout.write(`${max(u)} ${max(t)} ${u.length + t.length} ${lost}${rss}\n`);
  process.exit(0);
};
process.stdin.on('data', finish);
process.stdin.on('end', finish);
