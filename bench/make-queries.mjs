#!/usr/bin/env node
// Writes a dnsperf query file for the "mixed" workload from a zone export (RFC 1035 text on stdin):
// 70 % existing names and types, 20 % random nonexistent names (unique, so the response cache cannot help),
// 10 % NODATA and TLSA questions. Usage: node bench/make-queries.mjs ZONE COUNT < zone.txt > queries.txt
import { readFileSync } from 'node:fs';

const [zone = 'example.com', countArg = '200000'] = process.argv.slice(2);
const origin = zone.endsWith('.') ? zone : `${zone}.`;
const count = Number(countArg);
const existing = [];
const owners = new Set();
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const f = line.trim().split(/\s+/);
  if (f.length < 4 || f[0].startsWith(';') || f[0].startsWith('$')) continue;
  const owner = f[0].replace(/^\*\./, 'w.');
  owners.add(owner);
  existing.push(`${owner} ${f[3]}`);
}
const hits = [...new Set(existing)];
const names = [...owners];
let seed = 12345;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const out = [];
for (let i = 0; i < count; i++) {
  const r = i % 10;
  if (r < 7) out.push(hits[Math.floor(rand() * hits.length)]);
  else if (r < 9) out.push(`nx${i.toString(36)}-${Math.floor(rand() * 1e9).toString(36)}.${origin} A`);
  else
    out.push(
      i % 20 === 9
        ? `_25._tcp.${names[Math.floor(rand() * names.length)]} TLSA`
        : `${names[Math.floor(rand() * names.length)]} SRV`,
    );
}
process.stdout.write(out.join('\n') + '\n');
