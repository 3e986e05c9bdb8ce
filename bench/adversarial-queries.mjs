#!/usr/bin/env node
// Writes the dnsperf query file of one bench/adversarial.sh workload for the zone ORIGIN (the zone that script
// writes). Names marked "random" are unique per line, so no response cache can hold them; COUNT lines.
// Usage: node bench/adversarial-queries.mjs WORKLOAD ORIGIN COUNT > queries.txt
const [workload, zone = 'adversarial.test', countArg = '200000'] = process.argv.slice(2);
const origin = zone.endsWith('.') ? zone : `${zone}.`;
const count = Number(countArg);

let seed = 0x5eed1234;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** A random label of 8-15 characters, unique per index (the index in base 36 is its prefix). */
const label = (i) => {
  let s = `q${i.toString(36)}-`;
  const len = 6 + Math.floor(rand() * 8);
  for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
};
/** A QTYPE with no data anywhere in the zone (and none of the meta or special ones). */
const randomType = () => `TYPE${1000 + Math.floor(rand() * 60000)}`;

const workloads = {
  // random nonexistent names
  nx: (i) => `${label(i)}.${origin} A`,
  // random query types at an existing name (NODATA)
  types: () => `${origin} ${randomType()}`,
  // random names under a wildcard: answer, and NODATA (the wildcard has no MX)
  wild: (i) => `${label(i)}.apps.${origin} A`,
  'wild-nodata': (i) => `${label(i)}.apps.${origin} MX`,
  // random names below a delegation
  referral: (i) => `${label(i)}.sub.${origin} A`,
  ds: () => `sub.${origin} DS`,
  cname: () => `chain.${origin} A`,
  any: () => `${origin} ANY`,
  dnskey: () => `${origin} DNSKEY`,
  // an answer larger than 1232 octets: truncated (TC) over UDP
  tc: () => `big.${origin} TXT`,
  // the flood: unique (name, type) pairs, half random names under the wildcard, half random types
  flood: (i) => (i % 2 ? `${label(i)}.apps.${origin} A` : `${origin} ${randomType()}`),
};
const make = workloads[workload];
if (!make) {
  process.stderr.write(`adversarial-queries: unknown workload ${workload} (${Object.keys(workloads).join(', ')})\n`);
  process.exit(2);
}
const out = [];
for (let i = 0; i < count; i++) out.push(make(i));
process.stdout.write(out.join('\n') + '\n');
