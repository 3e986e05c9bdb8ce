#!/usr/bin/env node
// Generates a large, deterministic zone for the signing benchmark (bench/sign.sh), in both forms:
//   OUT/yaml/ZONE.yaml   dane-ns YAML zone (README "Zone format")
//   OUT/ZONE.zone        the same records in RFC 1035 master-file syntax (absolute names), for Knot DNS
//
// Usage: node bench/gen-zone.mjs [--names N] [--zone ZONE] [--seed S] --out DIR
//
// N (default 100000) is the number of host names. The mix, per host name: one A record; about 30 % also AAAA,
// 8 % MX (pointing at one of the mail hosts), 10 % TXT; about a fifth of the hosts sit one level deeper
// (`host.dept`), which gives empty non-terminals. Besides the hosts: apex NS/MX/TXT/CAA, 16 mail hosts with TLSA
// under `_25._tcp`, 24 delegations (NS plus in-zone glue, every other one with a DS), and a wildcard `*.apps`.
// The same seed always gives the same zone. Prints a one-line summary on stderr.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function usage(msg) {
  if (msg) process.stderr.write(`gen-zone: ${msg}\n`);
  process.stderr.write('usage: node bench/gen-zone.mjs [--names N] [--zone ZONE] [--seed S] --out DIR\n');
  process.exit(2);
}

const opts = { names: 100000, zone: 'bench.example', seed: 20240601, out: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = argv[i + 1];
  if (a === '--names') {
    opts.names = Number(v);
    i++;
  } else if (a === '--zone') {
    opts.zone = String(v);
    i++;
  } else if (a === '--seed') {
    opts.seed = Number(v);
    i++;
  } else if (a === '--out') {
    opts.out = String(v);
    i++;
  } else usage(`unknown argument '${a}'`);
}
if (!opts.out) usage('--out DIR is required');
if (!Number.isInteger(opts.names) || opts.names < 1) usage('--names must be a positive integer');
if (!Number.isInteger(opts.seed)) usage('--seed must be an integer');
const zone = opts.zone.replace(/\.$/, '').toLowerCase();
const origin = `${zone}.`;

// xorshift32: small, deterministic, good enough to pick a mix.
let state = opts.seed >>> 0 || 1;
function rnd() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
}
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
const hex = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Math.floor(rnd() * 256)
      .toString(16)
      .padStart(2, '0')
      .toUpperCase();
  return s;
};

const prefixes = [
  'www',
  'host',
  'srv',
  'db',
  'app',
  'api',
  'vpn',
  'cdn',
  'dev',
  'test',
  'web',
  'node',
  'gw',
  'proxy',
  'cache',
  'build',
  'git',
  'wiki',
  'shop',
  'blog',
  'static',
  'img',
  'auth',
  'sso',
  'ldap',
  'ntp',
  'log',
];
const depts = ['eng', 'ops', 'sales', 'hr', 'lab', 'corp', 'edu', 'fin', 'it', 'qa'];

// name -> { TYPE: [rdata...] } with relative owner names (YAML) and a parallel absolute form for RFC 1035.
/** @type {Map<string, Map<string, string[]>>} */
const records = new Map();
function add(owner, type, rdata) {
  let types = records.get(owner);
  if (!types) records.set(owner, (types = new Map()));
  let list = types.get(type);
  if (!list) types.set(type, (list = []));
  list.push(rdata);
}
const ipv4 = (i) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
const ipv6 = (i) => `2001:db8:${((i >>> 16) & 0xffff).toString(16)}::${(i & 0xffff).toString(16)}`;

// Apex (SOA comes from the `soa:` block).
add('@', 'NS', 'ns1');
add('@', 'NS', 'ns2');
add('@', 'MX', '10 mail0');
add('@', 'MX', '20 mail1');
add('@', 'A', '192.0.2.1');
add('@', 'AAAA', '2001:db8::1');
add('@', 'TXT', 'v=spf1 mx -all');
add('@', 'CAA', '0 issue "letsencrypt.org"');
add('ns1', 'A', '192.0.2.53');
add('ns2', 'A', '192.0.2.54');
add('ns2', 'AAAA', '2001:db8::54');
add('_dmarc', 'TXT', `v=DMARC1; p=reject; rua=mailto:dmarc@${zone}`);

// Mail hosts with DANE TLSA records.
const MAIL_HOSTS = 16;
for (let m = 0; m < MAIL_HOSTS; m++) {
  add(`mail${m}`, 'A', `192.0.2.${100 + m}`);
  add(`mail${m}`, 'AAAA', `2001:db8::${(0x100 + m).toString(16)}`);
  add(`_25._tcp.mail${m}`, 'TLSA', `3 1 1 ${hex(32)}`);
  if (m % 2 === 0) add(`_25._tcp.mail${m}`, 'TLSA', `2 1 1 ${hex(32)}`);
}

// Delegations with glue; every other one signed (DS).
const DELEGATIONS = 24;
for (let d = 0; d < DELEGATIONS; d++) {
  add(`deleg${d}`, 'NS', `ns1.deleg${d}`);
  add(`deleg${d}`, 'NS', `ns2.deleg${d}`);
  add(`ns1.deleg${d}`, 'A', `198.51.100.${((2 * d) % 250) + 1}`);
  add(`ns2.deleg${d}`, 'A', `198.51.100.${((2 * d + 1) % 250) + 1}`);
  add(`ns2.deleg${d}`, 'AAAA', `2001:db8:5100::${(d + 1).toString(16)}`);
  if (d % 2 === 0) add(`deleg${d}`, 'DS', `${10000 + d} 13 2 ${hex(32)}`);
}

// A wildcard.
add('*.apps', 'A', '192.0.2.80');
add('*.apps', 'TXT', 'wildcard');

// The hosts. Names are unique by construction (the index is part of them).
for (let i = 0; i < opts.names; i++) {
  const label = `${pick(prefixes)}${i.toString(36)}`;
  const owner = rnd() < 0.2 ? `${label}.${pick(depts)}` : label;
  add(owner, 'A', ipv4(i));
  if (rnd() < 0.3) add(owner, 'AAAA', ipv6(i));
  if (rnd() < 0.08) add(owner, 'MX', `10 mail${Math.floor(rnd() * MAIL_HOSTS)}`);
  if (rnd() < 0.1) add(owner, 'TXT', `site-verification=${hex(12).toLowerCase()}`);
}

// --- writers -------------------------------------------------------------------------------------------------
const TTL = 3600;
const SOA = {
  mname: 'ns1',
  rname: `hostmaster.${zone}.`,
  serial: 2024060101,
  refresh: 7200,
  retry: 3600,
  expire: 1209600,
  minimum: 300,
};
const abs = (name) => (name === '@' ? origin : name.endsWith('.') ? name : `${name}.${origin}`);
// RDATA fields that are domain names, by type (so the RFC 1035 form can write them absolute).
function absRdata(type, rdata) {
  switch (type) {
    case 'NS':
      return abs(rdata);
    case 'MX': {
      const [pref, host] = rdata.split(' ');
      return `${pref} ${abs(host)}`;
    }
    case 'TXT':
      return `"${rdata.replace(/["\\]/g, '\\$&')}"`;
    default:
      return rdata;
  }
}
const yamlStr = (s) => JSON.stringify(s); // JSON strings are valid YAML double-quoted scalars

const y = [];
y.push(`# Generated by bench/gen-zone.mjs --names ${opts.names} --seed ${opts.seed}; do not edit.`);
y.push(`origin: ${origin}`, `ttl: ${TTL}`, 'soa:');
for (const [k, v] of Object.entries(SOA)) y.push(`  ${k}: ${typeof v === 'string' ? yamlStr(v) : v}`);
y.push('records:');
const z = [];
z.push(`; Generated by bench/gen-zone.mjs --names ${opts.names} --seed ${opts.seed}; do not edit.`);
z.push(`$ORIGIN ${origin}`, `$TTL ${TTL}`);
z.push(
  `${origin} ${TTL} IN SOA ${abs(SOA.mname)} ${SOA.rname} ${SOA.serial} ${SOA.refresh} ${SOA.retry} ${SOA.expire} ${SOA.minimum}`,
);
let rrsets = 0;
let rrs = 0;
for (const [owner, types] of records) {
  y.push(`  ${yamlStr(owner)}:`);
  for (const [type, list] of types) {
    rrsets++;
    rrs += list.length;
    y.push(list.length === 1 ? `    ${type}: ${yamlStr(list[0])}` : `    ${type}: [${list.map(yamlStr).join(', ')}]`);
    for (const rdata of list) z.push(`${abs(owner)} ${TTL} IN ${type} ${absRdata(type, rdata)}`);
  }
}

mkdirSync(join(opts.out, 'yaml'), { recursive: true });
writeFileSync(join(opts.out, 'yaml', `${zone}.yaml`), y.join('\n') + '\n');
writeFileSync(join(opts.out, `${zone}.zone`), z.join('\n') + '\n');
process.stderr.write(
  `gen-zone: ${origin} ${records.size} owner names, ${rrsets + 1} RRsets, ${rrs + 1} records ` +
    `(${opts.names} hosts, ${MAIL_HOSTS} mail hosts with TLSA, ${DELEGATIONS} delegations, 1 wildcard) -> ${opts.out}\n`,
);
