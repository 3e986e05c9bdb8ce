/**
 * RFC 2136 dynamic update against the real server with real clients: nsupdate (BIND 9) and knsupdate (Knot) over
 * UDP and TCP add and delete `_acme-challenge` TXT records signed with TSIG; the answers validate through
 * Unbound and the exported signed zone passes ldns-verify-zone. Every refusal leaves the serial as it was; each
 * prerequisite kind answers its rcode; a server killed (SIGKILL) as soon as NOERROR arrives has the record after a
 * restart, and its zone file is untouched; updates while the zone file is edited lose neither. An update with
 * OPT is answered with OPT (RFC 6891 §7), before the TSIG; /metrics counts updates by zone and result.
 */
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMessage, verify } from '../../src/dnssec/tsig.js';
import type { TsigKey } from '../../src/dnssec/tsigalg.js';
import { makeEdns, type Edns } from '../../src/wire/edns.js';
import { encodeMessage, decodeMessage } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { CLASS_IN, OPCODE, RCODE, T } from '../../src/wire/types.js';
import { requireTool } from './helpers/dig.js';
import { LOOPBACK, startPebble, type PebbleInstance } from './helpers/pebble.js';
import { freePort } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';

const run = promisify(execFile);
const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const WRONG = 'c2VjcmV0IHRoYXQgaXMgbm90IHRoZSByaWdodCBvbmUhIQ==';
const keyFile = (name: string, secret: string): string =>
  `key "${name}" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`;

const zoneYaml = (origin: string, extra = ''): string => `origin: ${origin}
soa: { mname: ns1, rname: hostmaster }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
${extra}transfer:
  allow:
    - key: acme
update:
  - key: acme
    names: [_acme-challenge, _acme-challenge.mail, ${Array.from({ length: 10 }, (_, i) => `c${i}`).join(', ')}]
`;
const OTHER_YAML = `origin: other.example.
soa: { mname: ns1, rname: hostmaster }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
update:
  - { key: other, names: [_acme-challenge] }
`;

let dir: string;
let zones: string;
let keys: string;
let state: string;

function setupDirs(): void {
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-update-'));
  zones = join(dir, 'zones');
  keys = join(dir, 'keys');
  state = join(dir, 'state');
  mkdirSync(zones);
  mkdirSync(join(keys, 'tsig'), { recursive: true });
  writeFileSync(join(zones, 'example.com.yaml'), zoneYaml('example.com.'));
  writeFileSync(join(zones, 'other.example.yaml'), OTHER_YAML);
  writeFileSync(join(keys, 'tsig', 'acme.key'), keyFile('acme', SECRET));
  writeFileSync(join(keys, 'tsig', 'other.key'), keyFile('other', SECRET));
}

interface Outcome {
  code: number;
  out: string;
}

/** Runs nsupdate or knsupdate with `lines` (after the server and zone lines) on stdin; bounded to 20 s. */
function nsupdate(
  port: number,
  lines: string[],
  o: { tool?: 'nsupdate' | 'knsupdate'; tcp?: boolean; key?: string | null; zone?: string } = {},
): Promise<Outcome> {
  const tool = o.tool ?? 'nsupdate';
  const key = o.key === undefined ? `hmac-sha256:acme:${SECRET}` : o.key;
  const args = [
    ...(key !== null ? ['-y', key] : []),
    ...(o.tcp ? ['-v'] : []),
    ...(tool === 'nsupdate' ? ['-t', '5'] : ['-t', '5', '-r', '0']),
  ];
  const script = [`server 127.0.0.1 ${port}`, `zone ${o.zone ?? 'example.com.'}`, ...lines, 'send', 'quit', ''].join(
    '\n',
  );
  return new Promise((resolve) => {
    const p = spawn(requireTool(tool), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
    p.stdin.end(script);
  });
}

async function kdig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(requireTool('kdig'), [
    '@127.0.0.1',
    '-p',
    String(port),
    '+timeout=3',
    '+retry=1',
    ...args,
  ]);
  return stdout;
}

async function serial(port: number, zone = 'example.com.'): Promise<number> {
  return Number((await kdig(port, '+short', zone, 'SOA')).trim().split(/\s+/)[2]);
}

async function txt(port: number, name: string): Promise<string[]> {
  return (await kdig(port, '+short', name, 'TXT'))
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

describe('nsupdate and knsupdate, validated by Unbound, verified by ldns-verify-zone', () => {
  let dane: DaneNsInstance | undefined;
  let unbound: UnboundInstance | undefined;

  beforeAll(async () => {
    for (const t of ['nsupdate', 'knsupdate', 'kdig', 'ldns-verify-zone']) requireTool(t);
    setupDirs();
    dane = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state });
    const { stdout: ds } = await run(process.execPath, [CLI, 'ds', 'example.com.', '--keys', keys]);
    unbound = await startUnbound({
      port: await freePort(),
      stubs: [{ zone: 'example.com.', addr: `127.0.0.1@${dane.port}` }],
      trustAnchors: ds.trim().split('\n'),
    });
  }, 60_000);

  afterAll(async () => {
    await unbound?.stop();
    await dane?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const tool of ['nsupdate', 'knsupdate'] as const)
    for (const tcp of [false, true])
      it(`${tool} over ${tcp ? 'TCP' : 'UDP'}: add, validated answer, delete, validated denial`, async () => {
        const port = dane!.port;
        const token = `${tool}-${tcp ? 'tcp' : 'udp'}-token`;
        const before = await serial(port);
        const added = await nsupdate(port, [`update add _acme-challenge.example.com. 60 TXT "${token}"`], {
          tool,
          tcp,
        });
        expect(added, added.out).toMatchObject({ code: 0 });
        const afterAdd = await serial(port);
        expect(afterAdd).toBeGreaterThan(before);
        expect(await txt(port, '_acme-challenge.example.com.')).toContain(`"${token}"`);
        await unbound!.flush();
        const validated = await kdig(unbound!.port, '+dnssec', '_acme-challenge.example.com.', 'TXT');
        expect(validated).toMatch(/Flags: qr rd ra ad;/);
        expect(validated).toContain(`"${token}"`);

        const deleted = await nsupdate(port, [`update delete _acme-challenge.example.com. TXT "${token}"`], {
          tool,
          tcp,
        });
        expect(deleted, deleted.out).toMatchObject({ code: 0 });
        expect(await serial(port)).toBeGreaterThan(afterAdd);
        expect(await txt(port, '_acme-challenge.example.com.')).not.toContain(`"${token}"`);
        await unbound!.flush();
        const denial = await kdig(unbound!.port, '+dnssec', '_acme-challenge.example.com.', 'TXT');
        expect(denial).toMatch(/Flags: qr rd ra ad;/);
        expect(denial).toMatch(/status: NXDOMAIN/);
      });

  it('the SOA lookup a client makes first is answered with AA, the SOA in the answer section, TSIG-signed', async () => {
    const out = await kdig(dane!.port, '-y', `hmac-sha256:acme:${SECRET}`, 'example.com.', 'SOA');
    expect(out).toMatch(/Flags: qr aa rd;/);
    expect(out).toMatch(/;; ANSWER SECTION:\nexample\.com\.\s+\d+\s+IN\s+SOA\s/);
    expect(out).toMatch(/;; TSIG PSEUDOSECTION:\nacme\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\./);
  });

  it('one update is one new version in the IXFR journal (RFC 1995): the difference is the record added', async () => {
    const before = await serial(dane!.port);
    const r = await nsupdate(dane!.port, ['update add _acme-challenge.example.com. 60 TXT "journal"']);
    expect(r, r.out).toMatchObject({ code: 0 });
    const after = await serial(dane!.port);
    const ixfr = await kdig(dane!.port, '-y', `hmac-sha256:acme:${SECRET}`, `IXFR=${before}`, 'example.com.');
    const soas = ixfr.split('\n').filter((l) => !l.startsWith(';') && l.trim().split(/\s+/)[3] === 'SOA');
    expect(soas.map((l) => Number(l.trim().split(/\s+/)[6]))).toEqual([after, before, after, after]);
    expect(ixfr).toMatch(/_acme-challenge\.example\.com\.\s+60\s+IN\s+TXT\s+"journal"/);
    const cleanup = await nsupdate(dane!.port, ['update delete _acme-challenge.example.com. TXT']);
    expect(cleanup, cleanup.out).toMatchObject({ code: 0 });
  });

  it('the exported signed zone holds the dynamic record, marked, and passes ldns-verify-zone', async () => {
    const added = await nsupdate(dane!.port, ['update add _acme-challenge.mail.example.com. 60 TXT "exported"']);
    expect(added, added.out).toMatchObject({ code: 0 });
    const args = ['zone', 'export', 'example.com.', '--zones', zones, '--keys', keys, '--state', state, '--signed'];
    const { stdout: signed, stderr } = await run(process.execPath, [CLI, ...args]);
    expect(stderr).toBe(''); // the served version, from the state directory: not signed afresh
    expect(signed).toMatch(
      /; dynamic update \(RFC 2136\), kept in the state directory:\n_acme-challenge\.mail\.example\.com\.\t60\tIN\tTXT\t"exported"/,
    );
    expect(signed).toMatch(new RegExp(`\\tSOA\\t\\S+ \\S+ ${await serial(dane!.port)} `));
    const file = join(dir, 'example.com.signed');
    writeFileSync(file, signed);
    const { stdout: ds } = await run(process.execPath, [CLI, 'ds', 'example.com.', '--keys', keys]);
    writeFileSync(join(dir, 'ds'), ds);
    const ldns = await run(requireTool('ldns-verify-zone'), ['-k', join(dir, 'ds'), file]);
    expect(ldns.stdout).toContain('Zone is verified and complete');
  });
});

describe('refusals, prerequisites, NOTZONE, FORMERR; OPT in answers; counted on /metrics', () => {
  let dane: DaneNsInstance | undefined;
  let port = 0;
  let httpPort = 0;

  beforeAll(async () => {
    setupDirs();
    httpPort = await freePort();
    const extraArgs = ['--http', `127.0.0.1:${httpPort}`];
    dane = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state, extraArgs });
    port = dane.port;
    const seeded = await nsupdate(port, ['update add _acme-challenge.example.com. 60 TXT "seed"']);
    expect(seeded, seeded.out).toMatchObject({ code: 0 });
  }, 60_000);

  afterAll(async () => {
    await dane?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusals: [string, string[], Parameters<typeof nsupdate>[2], RegExp][] = [
    ['another name', ['update add www.example.com. 60 TXT "x"'], {}, /REFUSED/],
    ...(['A 192.0.2.1', 'CNAME mail.example.com.', 'TLSA 3 1 1 AABBCCDD', 'NS ns2.example.com.'] as const).map(
      (rr): [string, string[], Parameters<typeof nsupdate>[2], RegExp] => [
        `another type (${rr.split(' ')[0]})`,
        [`update add _acme-challenge.example.com. 60 ${rr}`],
        { tool: 'knsupdate' },
        /REFUSED/,
      ],
    ),
    ['NS at the apex', ['update add example.com. 60 NS ns2.example.com.'], {}, /REFUSED/],
    ['DNSKEY at the apex', ['update add example.com. 60 DNSKEY 257 3 13 AAAA'], { tool: 'knsupdate' }, /REFUSED/],
    ['no TSIG', ['update add _acme-challenge.example.com. 60 TXT "x"'], { key: null }, /REFUSED/],
    [
      'an unknown key',
      ['update add _acme-challenge.example.com. 60 TXT "x"'],
      { key: `hmac-sha256:nokey:${SECRET}` },
      /NOTAUTH|BADKEY/,
    ],
    [
      'a wrong secret',
      ['update add _acme-challenge.example.com. 60 TXT "x"'],
      { key: `hmac-sha256:acme:${WRONG}` },
      /NOTAUTH|BADSIG/,
    ],
    [
      'the right key for another zone',
      ['update add _acme-challenge.example.com. 60 TXT "x"'],
      { key: `hmac-sha256:other:${SECRET}` },
      /REFUSED/,
    ],
    [
      'one message mixing an allowed and a refused change',
      ['update add _acme-challenge.example.com. 60 TXT "allowed"', 'update add www.example.com. 60 TXT "refused"'],
      {},
      /REFUSED/,
    ],
  ];
  for (const [what, lines, opts, said] of refusals)
    it(`refused, nothing changed: ${what}`, async () => {
      const before = await serial(port);
      const r = await nsupdate(port, lines, opts);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(said);
      expect(await serial(port)).toBe(before);
      expect(await txt(port, '_acme-challenge.example.com.')).toEqual(['"seed"']);
      expect(await txt(port, 'www.example.com.')).toEqual([]);
    });

  const prereqs: [string, string, RegExp][] = [
    ['yxrrset (RRset exists) that does not', 'prereq yxrrset _acme-challenge.mail.example.com. TXT', /NXRRSET/],
    ['yxrrset with a value that differs', 'prereq yxrrset _acme-challenge.example.com. TXT "other"', /NXRRSET/],
    ['nxrrset (RRset does not exist) that does', 'prereq nxrrset _acme-challenge.example.com. TXT', /YXRRSET/],
    ['yxdomain (name in use) that is not', 'prereq yxdomain nothing.example.com.', /NXDOMAIN/],
    ['nxdomain (name not in use) that is', 'prereq nxdomain mail.example.com.', /YXDOMAIN/],
  ];
  for (const [what, line, said] of prereqs)
    it(`prerequisite ${what}: ${said.source}, nothing changed`, async () => {
      const before = await serial(port);
      const r = await nsupdate(port, [line, 'update add _acme-challenge.example.com. 60 TXT "x"']);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(said);
      expect(await serial(port)).toBe(before);
    });

  it('prerequisites that hold let the update through', async () => {
    const lines = [
      'prereq yxrrset _acme-challenge.example.com. TXT "seed"',
      'prereq nxrrset _acme-challenge.mail.example.com. TXT',
      'prereq yxdomain mail.example.com.',
      'prereq nxdomain nothing.example.com.',
      'update add _acme-challenge.example.com. 60 TXT "second"',
    ];
    const r = await nsupdate(port, lines);
    expect(r, r.out).toMatchObject({ code: 0 });
    expect(await txt(port, '_acme-challenge.example.com.')).toEqual(['"second"', '"seed"']);
  });

  /** One UPDATE message over UDP (unsigned, or signed with `key`, with OPT when `edns`); the answer's bytes. */
  async function rawUpdateAnswer(
    questions: { name: string; type: number }[],
    owner = '_acme-challenge.example.com.',
    o: { edns?: Edns; key?: TsigKey; text?: string } = {},
  ): Promise<{ answer: Uint8Array; mac?: Uint8Array }> {
    const value = new TextEncoder().encode(o.text ?? 'x');
    let bytes = encodeMessage({
      id: 4242,
      flags: OPCODE.UPDATE << 11,
      questions: questions.map((q) => ({ name: parseName(q.name), type: q.type, class: CLASS_IN })),
      answer: [],
      authority: [
        {
          name: parseName(owner),
          type: T.TXT,
          class: CLASS_IN,
          ttl: 60,
          rdata: new Uint8Array([value.length, ...value]),
        },
      ],
      additional: [],
      edns: o.edns ?? null,
    }).bytes;
    let mac: Uint8Array | undefined;
    if (o.key) ({ bytes, mac } = signMessage(bytes, o.key));
    const sock = createSocket('udp4');
    try {
      const answer = new Promise<Uint8Array>((resolve, reject) => {
        sock.once('message', (m) => resolve(new Uint8Array(m)));
        setTimeout(() => reject(new Error('no answer in 3 s')), 3000);
      });
      sock.send(bytes, port, '127.0.0.1');
      return { answer: await answer, ...(mac ? { mac } : {}) };
    } finally {
      sock.close();
    }
  }

  /** One unsigned UPDATE message over UDP; the rcode of the answer. */
  async function rawUpdate(
    questions: { name: string; type: number }[],
    owner = '_acme-challenge.example.com.',
  ): Promise<number> {
    return decodeMessage((await rawUpdateAnswer(questions, owner)).answer).flags & 0xf;
  }

  /** The dane_ns_updates_total series of /metrics, by `zone result`. */
  async function updateCounters(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^dane_ns_updates_total\{zone="([^"]*)",result="([^"]+)"\} (\d+)$/gm))
      out.set(`${m[1]} ${m[2]}`, Number(m[3]));
    return out;
  }

  it('FORMERR for a bad zone section (two zones, a zone of type A), NOTAUTH for a zone not served', async () => {
    const before = await serial(port);
    const two = [
      { name: 'example.com.', type: T.SOA },
      { name: 'other.example.', type: T.SOA },
    ];
    expect(await rawUpdate(two)).toBe(RCODE.FORMERR);
    expect(await rawUpdate([{ name: 'example.com.', type: T.A }])).toBe(RCODE.FORMERR);
    expect(await rawUpdate([{ name: 'example.org.', type: T.SOA }])).toBe(RCODE.NOTAUTH);
    expect(await serial(port)).toBe(before);
  });

  it('an update with OPT is answered with OPT (RFC 6891 §7); signed, the OPT comes before the TSIG, which is last', async () => {
    const soa = [{ name: 'example.com.', type: T.SOA }];
    const edns = makeEdns({ udpSize: 1232, dnssecOk: true });
    const unsigned = decodeMessage((await rawUpdateAnswer(soa, undefined, { edns })).answer);
    expect([unsigned.flags & 0xf, unsigned.edns?.version, unsigned.edns?.dnssecOk]).toEqual([RCODE.REFUSED, 0, true]);
    const acme: TsigKey = { name: parseName('acme.'), algorithm: 'hmac-sha256', secret: Buffer.from(SECRET, 'base64') };
    const o = { edns, key: acme, text: 'with-opt' };
    const { answer, mac } = await rawUpdateAnswer(soa, undefined, o);
    const m = decodeMessage(answer);
    expect([m.flags & 0xf, m.edns?.version]).toEqual([RCODE.NOERROR, 0]);
    // ARCOUNT 2: the OPT and the TSIG; verify() finds the TSIG only as the last record (RFC 8945 §5.1).
    expect((answer[10]! << 8) | answer[11]!).toBe(2);
    const checked = verify(answer, () => acme, Math.floor(Date.now() / 1000), { chain: { mac: mac! } });
    expect(checked.ok).toBe(true);
    expect(await txt(port, '_acme-challenge.example.com.')).toContain('"with-opt"');
    // Without OPT, no OPT: the signed answer's additional section is the TSIG alone.
    const plain = await rawUpdateAnswer(soa, undefined, { key: acme, text: 'with-opt' });
    expect([decodeMessage(plain.answer).edns, (plain.answer[10]! << 8) | plain.answer[11]!]).toEqual([null, 1]);
    const cleanup = await nsupdate(port, ['update delete _acme-challenge.example.com. TXT "with-opt"']);
    expect(cleanup, cleanup.out).toMatchObject({ code: 0 });
  });

  it('/metrics counts each update by zone and result (dane_ns_updates_total)', async () => {
    const before = await updateCounters();
    const steps: [string[], Parameters<typeof nsupdate>[2]][] = [
      [['update add _acme-challenge.example.com. 60 TXT "counted"'], {}],
      [['update add _acme-challenge.example.com. 60 TXT "counted"'], {}],
      [['prereq nxdomain mail.example.com.', 'update add _acme-challenge.example.com. 60 TXT "y"'], {}],
      [['update add _acme-challenge.example.com. 60 TXT "y"'], { key: null }],
      [['update add www.example.com. 60 TXT "y"'], {}],
    ];
    for (const [lines, opts] of steps) await nsupdate(port, lines, opts);
    expect(await rawUpdate([{ name: 'example.org.', type: T.SOA }])).toBe(RCODE.NOTAUTH);
    expect(await rawUpdate([{ name: 'example.com.', type: T.A }])).toBe(RCODE.FORMERR);
    const after = await updateCounters();
    const delta = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const keys = [...new Set([...before.keys(), ...after.keys()])].filter((k) => delta(k) !== 0).sort();
    expect(Object.fromEntries(keys.map((k) => [k, delta(k)]))).toEqual({
      ' formerr': 1,
      ' notauth': 1,
      'example.com. applied': 1,
      'example.com. prereq-failed': 1,
      'example.com. refused': 2,
      'example.com. unchanged': 1,
    });
    const cleanup = await nsupdate(port, ['update delete _acme-challenge.example.com. TXT "counted"']);
    expect(cleanup, cleanup.out).toMatchObject({ code: 0 });
  });

  it('NOTZONE for an owner outside the zone', async () => {
    const before = await serial(port);
    const r = await nsupdate(port, ['update add _acme-challenge.other.example. 60 TXT "x"'], { tool: 'knsupdate' });
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/NOTZONE/);
    expect(await serial(port)).toBe(before);
  });
});

describe('durability and concurrency', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('kill -9 as soon as NOERROR arrives: after a restart the record is there, the serial not lower, the YAML untouched', async () => {
    setupDirs();
    const yamlBefore = readFileSync(join(zones, 'example.com.yaml'));
    const port = await freePort();
    const first = await startDaneNs({ zonesDir: zones, port, keysDir: keys, stateDir: state });
    let served = 0;
    let before = 0;
    try {
      before = await serial(port);
      const r = await nsupdate(port, ['update add _acme-challenge.example.com. 60 TXT "durable"'], {
        tool: 'knsupdate',
      });
      first.proc.kill('SIGKILL');
      expect(r, r.out).toMatchObject({ code: 0 });
    } finally {
      await first.stop();
    }
    const second = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state });
    try {
      expect(await txt(second.port, '_acme-challenge.example.com.')).toEqual(['"durable"']);
      served = await serial(second.port);
      expect(served).toBeGreaterThan(before);
      const { stdout } = await run(process.execPath, [
        CLI,
        'zone',
        'export',
        'example.com.',
        '--zones',
        zones,
        '--state',
        state,
      ]);
      expect(stdout).toMatch(new RegExp(`\\tSOA\\t\\S+ \\S+ ${served} `));
    } finally {
      await second.stop();
    }
    expect(readFileSync(join(zones, 'example.com.yaml')).equals(yamlBefore)).toBe(true);
  }, 60_000);

  it('50 updates while the zone file is edited 20 times: no update lost, no edit lost', async () => {
    setupDirs();
    const dane = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state });
    try {
      const lines: string[] = [];
      for (let i = 0; i < 50; i++) lines.push(`update add c${i % 10}.example.com. 60 TXT "u${i}"`, 'send');
      const updates = nsupdate(dane.port, lines.slice(0, -1));
      let extra = '';
      for (let e = 1; e <= 20; e++) {
        extra += `  e${e}: { A: 192.0.2.${e} }\n`;
        const text = zoneYaml('example.com.', extra);
        // An editor's atomic save: a new file renamed over the old one.
        const tmp = join(zones, `.example.com.yaml.swp`);
        writeFileSync(tmp, text);
        renameSync(tmp, join(zones, 'example.com.yaml'));
        await new Promise((r) => setTimeout(r, 60));
      }
      const r = await updates;
      expect(r, r.out).toMatchObject({ code: 0 });
      // The watcher settles: every edit and every update is served.
      const deadline = Date.now() + 15_000;
      let missing: string[] = [];
      do {
        missing = [];
        for (let e = 1; e <= 20; e++)
          if ((await kdig(dane.port, '+short', `e${e}.example.com.`, 'A')).trim() !== `192.0.2.${e}`)
            missing.push(`e${e}`);
        if (missing.length > 0) await new Promise((res) => setTimeout(res, 300));
      } while (missing.length > 0 && Date.now() < deadline);
      expect(missing).toEqual([]);
      for (let c = 0; c < 10; c++)
        expect(await txt(dane.port, `c${c}.example.com.`)).toEqual(
          [0, 1, 2, 3, 4].map((k) => `"u${k * 10 + c}"`).sort(),
        );
    } finally {
      await dane.stop();
    }
  }, 90_000);
});

describe('certbot certonly --dns-rfc2136 against pebble, validating against dane-ns', () => {
  let dane: DaneNsInstance | undefined;
  let pebble: PebbleInstance | undefined;

  afterAll(async () => {
    await pebble?.stop();
    await dane?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('certbot writes the challenge by RFC 2136, pebble finds it at dane-ns, the certificate is issued, the challenge removed', async () => {
    for (const t of ['certbot', 'pebble', 'openssl']) requireTool(t);
    setupDirs();
    dane = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state });
    // pebble's validation asks dane-ns itself for _acme-challenge.mail.example.com TXT; certbot trusts its cert.
    const [acmePort, mgmtPort] = [await freePort(), await freePort()];
    pebble = await startPebble(LOOPBACK, dir, acmePort, `127.0.0.1:${dane.port}`, mgmtPort);
    const cert = pebble.cert;
    const creds = join(dir, 'rfc2136.ini');
    writeFileSync(
      creds,
      [
        'dns_rfc2136_server = 127.0.0.1',
        `dns_rfc2136_port = ${dane.port}`,
        'dns_rfc2136_name = acme',
        `dns_rfc2136_secret = ${SECRET}`,
        'dns_rfc2136_algorithm = HMAC-SHA256',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const le = join(dir, 'le');
    const before = await serial(dane.port);
    const certbot = await run(
      requireTool('certbot'),
      [
        ...['certonly', '--non-interactive', '--agree-tos', '--register-unsafely-without-email'],
        ...['--server', pebble.directory, '--dns-rfc2136', '--dns-rfc2136-credentials', creds],
        ...['--dns-rfc2136-propagation-seconds', '1', '-d', 'mail.example.com'],
        ...['--config-dir', join(le, 'config'), '--work-dir', join(le, 'work'), '--logs-dir', join(le, 'logs')],
      ],
      { env: { ...process.env, REQUESTS_CA_BUNDLE: cert }, timeout: 120_000 },
    ).catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? '',
      stderr: `${e.stderr}\n${dane!.logs()}`,
    }));
    expect(certbot.stdout + certbot.stderr).toContain('Successfully received certificate');
    const issued = join(le, 'config', 'live', 'mail.example.com', 'cert.pem');
    const { stdout: text } = await run(requireTool('openssl'), [
      'x509',
      '-in',
      issued,
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(text).toContain('DNS:mail.example.com');
    // The challenge was added, then removed: two updates, two new versions; nothing left behind.
    expect(dane.logs().match(/"event":"update-applied"/g)).toHaveLength(2);
    expect(await serial(dane.port)).toBeGreaterThan(before);
    expect(await txt(dane.port, '_acme-challenge.mail.example.com.')).toEqual([]);
  }, 180_000);
});

describe('an update: key without its key file', () => {
  it('stops the start with file:line naming the key and the file expected', async () => {
    setupDirs();
    rmSync(join(keys, 'tsig', 'acme.key'));
    try {
      const err = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir: keys, stateDir: state }).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toContain('example.com.yaml:11: update[0].key: no TSIG key "acme."');
      expect(err).toContain(join(keys, 'tsig', 'acme.key'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
