/**
 * `dane-ns serve` end to end: the built CLI (dist/cli.js) serving the sample zone zones/example.com.yaml (plus a
 * small zone with one 40-record RRset for truncation) on 127.0.0.1 and [::1], checked with real clients (kdig and
 * dig over UDP and TCP, IPv4 and IPv6) and with raw packets written by hand (node:dgram, node:net): header echo,
 * EDNS, opcodes and classes, the hostile-packet corpus, seeded random garbage, and TCP framing.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { copyFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket as NetSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collapseWhitespace,
  dig,
  kdig,
  parseKdig,
  query,
  requireTool,
  type Answer,
  type Server,
} from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { HOSTILE } from '../wire/hostile-packets.js';
import { mulberry32 } from '../fixtures/rng.js';
import { delay } from '../support/time.js';

// ---------------------------------------------------------------------------------------------------------------
// Raw DNS messages
// ---------------------------------------------------------------------------------------------------------------

const TYPE = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, OPT: 41, DS: 43, AXFR: 252 } as const;
const CLASS_IN = 1;
const CLASS_CH = 3;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Uncompressed wire form of a presentation name (letter case kept; no escapes needed here). */
function wireName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

interface RawQuery {
  id: number;
  name: string;
  type: number;
  cls?: number;
  /** Header flags word without the opcode (e.g. 0x0100 = RD, 0x8000 = QR). */
  flags?: number;
  opcode?: number;
  /** EDNS OPT to add; omitted = no OPT. */
  edns?: { udp?: number; version?: number; do?: boolean; options?: { code: number; data: Buffer }[] };
}

function buildQuery(q: RawQuery): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id, 0);
  h.writeUInt16BE(((q.flags ?? 0) | ((q.opcode ?? 0) << 11)) & 0xffff, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(q.edns ? 1 : 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.cls ?? CLASS_IN, 2);
  const parts = [h, wireName(q.name), tail];
  if (q.edns) {
    const opts = Buffer.concat(
      (q.edns.options ?? []).map((o) => {
        const oh = Buffer.alloc(4);
        oh.writeUInt16BE(o.code, 0);
        oh.writeUInt16BE(o.data.length, 2);
        return Buffer.concat([oh, o.data]);
      }),
    );
    const opt = Buffer.alloc(11);
    opt[0] = 0; // root owner
    opt.writeUInt16BE(TYPE.OPT, 1);
    opt.writeUInt16BE(q.edns.udp ?? 1232, 3);
    opt[5] = 0; // extended rcode
    opt[6] = q.edns.version ?? 0;
    opt.writeUInt16BE(q.edns.do === true ? 0x8000 : 0, 7);
    opt.writeUInt16BE(opts.length, 9);
    parts.push(opt, opts);
  }
  return Buffer.concat(parts);
}

interface RawRR {
  type: number;
  cls: number;
  ttl: number;
  rdata: Buffer;
}

interface RawMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  /** The 4-bit header rcode. */
  rcode: number;
  counts: [number, number, number, number];
  /** The question section's bytes as sent (offset 12 up to after QCLASS), when qdcount is 1. */
  question: Buffer | null;
  answer: RawRR[];
  authority: RawRR[];
  additional: RawRR[];
}

/** Offset after a (possibly compressed) name; throws on a malformed one. */
function skipName(b: Buffer, p: number): number {
  for (let guard = 0; guard < 256; guard++) {
    if (p >= b.length) throw new Error('name runs past the end');
    const l = b[p]!;
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    if (l > 63) throw new Error(`bad label type ${l}`);
    p += l + 1;
  }
  throw new Error('name too long');
}

/** Strict enough parse of a response to check its header, question and sections. */
function parseResponse(b: Buffer): RawMessage {
  if (b.length < 12) throw new Error(`response of ${b.length} octets`);
  const flags = b.readUInt16BE(2);
  const counts: [number, number, number, number] = [
    b.readUInt16BE(4),
    b.readUInt16BE(6),
    b.readUInt16BE(8),
    b.readUInt16BE(10),
  ];
  let p = 12;
  let question: Buffer | null = null;
  for (let i = 0; i < counts[0]; i++) {
    const start = p;
    p = skipName(b, p) + 4;
    if (p > b.length) throw new Error('question cut short');
    if (i === 0) question = b.subarray(start, p);
  }
  const sections: RawRR[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      p = skipName(b, p);
      if (p + 10 > b.length) throw new Error('RR header cut short');
      const type = b.readUInt16BE(p);
      const cls = b.readUInt16BE(p + 2);
      const ttl = b.readUInt32BE(p + 4);
      const len = b.readUInt16BE(p + 8);
      p += 10;
      if (p + len > b.length) throw new Error('RDATA cut short');
      sections[s]!.push({ type, cls, ttl, rdata: b.subarray(p, p + len) });
      p += len;
    }
  }
  if (p !== b.length) throw new Error(`${b.length - p} trailing octets in the response`);
  return {
    id: b.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    rcode: flags & 0xf,
    counts,
    question,
    answer: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
  };
}

function optOf(m: RawMessage): RawRR | undefined {
  return m.additional.find((r) => r.type === TYPE.OPT);
}

// ---------------------------------------------------------------------------------------------------------------
// Raw clients
// ---------------------------------------------------------------------------------------------------------------

/** Something that carries one DNS message each way. */
interface Channel {
  send(msg: Buffer): void;
  /** The next message received, or null when none arrives within timeoutMs. */
  recv(timeoutMs: number): Promise<Buffer | null>;
  close(): void;
}

/** Queue of received messages with waiters; shared by the UDP and TCP clients. */
class Inbox {
  private readonly queue: Buffer[] = [];
  private waiter: ((b: Buffer | null) => void) | null = null;
  push(b: Buffer): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(b);
    } else this.queue.push(b);
  }
  recv(timeoutMs: number): Promise<Buffer | null> {
    const next = this.queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
  }
  get pending(): number {
    return this.queue.length;
  }
}

class UdpClient implements Channel {
  private readonly inbox = new Inbox();
  private constructor(
    private readonly sock: DgramSocket,
    private readonly host: string,
    private readonly port: number,
  ) {
    sock.on('message', (m: Buffer) => this.inbox.push(m));
  }
  static async open(host: string, port: number): Promise<UdpClient> {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: host, port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new UdpClient(sock, host, port);
  }
  send(msg: Buffer): void {
    this.sock.send(msg, this.port, this.host);
  }
  recv(timeoutMs: number): Promise<Buffer | null> {
    return this.inbox.recv(timeoutMs);
  }
  close(): void {
    this.sock.close();
  }
}

class TcpClient implements Channel {
  private readonly inbox = new Inbox();
  private buf = Buffer.alloc(0);
  closed = false;
  private constructor(readonly sock: NetSocket) {
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 2) {
        const len = this.buf.readUInt16BE(0);
        if (this.buf.length < 2 + len) break;
        this.inbox.push(Buffer.from(this.buf.subarray(2, 2 + len)));
        this.buf = this.buf.subarray(2 + len);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
    });
  }
  static open(host: string, port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new TcpClient(s));
      });
    });
  }
  static frame(msg: Buffer): Buffer {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length, 0);
    return Buffer.concat([len, msg]);
  }
  send(msg: Buffer): void {
    this.sock.write(TcpClient.frame(msg));
  }
  write(raw: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(raw, (err) => (err ? reject(err) : resolve())));
  }
  recv(timeoutMs: number): Promise<Buffer | null> {
    return this.inbox.recv(timeoutMs);
  }
  close(): void {
    this.sock.destroy();
  }
}

/** One query, one response (the first message with the query's ID). */
async function exchange(ch: Channel, msg: Buffer, timeoutMs = 2000): Promise<RawMessage> {
  const id = msg.readUInt16BE(0);
  ch.send(msg);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const b = left > 0 ? await ch.recv(left) : null;
    if (b === null) throw new Error(`no response to query id ${id} within ${timeoutMs} ms`);
    if (b.length >= 2 && b.readUInt16BE(0) === id) return parseResponse(b);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// dig (BIND) output in the same shape as helpers/dig.ts's Answer
// ---------------------------------------------------------------------------------------------------------------

type Sections = Pick<Answer, 'rcode' | 'flags' | 'answer' | 'authority' | 'additional'>;

/** Parses `dig +noall +comments +answer +authority +additional` output (the last response printed). */
function parseDig(out: string): Sections {
  const blocks = out.split(';; Got answer:');
  const last = blocks[blocks.length - 1] ?? '';
  const status = /status: ([A-Z0-9]+)/.exec(last);
  const flags = /flags:([^;]*);/.exec(last);
  if (!status || !flags) throw new Error(`dig output without a header:\n${out}`);
  const res: Sections = {
    rcode: status[1]!,
    flags: flags[1]!
      .trim()
      .split(/\s+/)
      .filter((f) => f !== ''),
    answer: [],
    authority: [],
    additional: [],
  };
  let section: 'answer' | 'authority' | 'additional' | null = null;
  for (const line of last.split('\n')) {
    const m = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (m) {
      section = m[1]!.toLowerCase() as 'answer' | 'authority' | 'additional';
      continue;
    }
    if (line.startsWith(';') || line.trim() === '') {
      if (line.startsWith(';; OPT') || line.startsWith(';; QUESTION')) section = null;
      continue;
    }
    if (section === null) continue;
    res[section].push(collapseWhitespace(line));
  }
  return res;
}

interface Client {
  tool: 'kdig' | 'dig';
  tcp: boolean;
  host: string;
}

/** One query through kdig (helpers' query(), +json) or dig; every RR lower-cased for comparison, sections sorted. */
async function ask(c: Client, port: number, qname: string, qtype: string): Promise<Sections> {
  let a: Sections;
  if (c.tool === 'kdig') {
    a = await query({ host: c.host, port }, qname, qtype, { tcp: c.tcp });
  } else {
    const out = await dig([
      `@${c.host}`,
      '-p',
      String(port),
      '+norec',
      '+noall',
      '+comments',
      '+answer',
      '+authority',
      '+additional',
      '+nosplit',
      '+time=2',
      '+tries=2',
      c.tcp ? '+tcp' : '+notcp',
      '+ignore',
      qname,
      qtype,
    ]);
    a = parseDig(out);
  }
  const norm = (xs: readonly string[]): string[] => xs.map((x) => x.toLowerCase()).sort();
  return {
    rcode: a.rcode,
    flags: [...a.flags].sort(),
    answer: norm(a.answer),
    authority: norm(a.authority),
    additional: norm(a.additional),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

const BIG_ZONE = `origin: big.example.
ttl: 3600
soa:
  mname: ns1
  rname: hostmaster
  serial: 7
  minimum: 300
records:
  "@":
    NS: ns1
  ns1:
    A: 192.0.2.1
  many:
    A:
${Array.from({ length: 40 }, (_, i) => `      - 198.51.100.${i + 1}`).join('\n')}
`;

let dir: string;
let inst: DaneNsInstance;
let port: number;
let v4: Server;
let serial: number;

/** UDP engine under test: the native batched engine by default; serve-dgram.test.ts sets dgram. */
const UDP_ENGINE = process.env.DANE_NS_TEST_UDP_ENGINE ?? 'batch';

beforeAll(async () => {
  requireTool('kdig');
  requireTool('dig');
  dir = await mkdtemp(join(tmpdir(), 'dane-ns-serve-'));
  copyFileSync(join(REPO_ROOT, 'zones', 'example.com.yaml'), join(dir, 'example.com.yaml'));
  await writeFile(join(dir, 'big.example.yaml'), BIG_ZONE);
  port = await freePort({ ipv6: true });
  inst = await startDaneNs({ zonesDir: dir, port, ipv6: true, extraArgs: ['--udp-engine', UDP_ENGINE] });
  v4 = { host: '127.0.0.1', port };
  // The whole file runs once per UDP engine (serve-dgram.test.ts re-runs it on node:dgram). A socket accepts
  // connections from its listen() on, a moment before its `listening` line reaches us: wait for both lines.
  const lines = (): Record<string, unknown>[] =>
    inst
      .logs()
      .split('\n')
      .filter((l) => l.includes('"event":"listening"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const t0 = Date.now(); lines().length < 2 && Date.now() - t0 < 5000;) await delay(50);
  const listening = lines();
  if (listening.length !== 2 || listening.some((e) => e.udpEngine !== UDP_ENGINE))
    throw new Error(`expected two listeners on the ${UDP_ENGINE} UDP engine:\n${inst.logs()}`);
  const loaded = inst
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.event === 'zone-published' && e.zone === 'example.com.');
  // The served serial is decided when the version is published (a second may have passed since the build).
  if (!loaded || typeof loaded.serial !== 'number')
    throw new Error(`no zone-published event for example.com.:\n${inst.logs()}`);
  serial = loaded.serial;
});

afterAll(async () => {
  await inst?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectAlive(): void {
  expect(inst.proc.exitCode, inst.logs()).toBeNull();
  expect(inst.proc.signalCode, inst.logs()).toBeNull();
}

/** A valid query answered correctly, over UDP and TCP: the server is still in shape. */
async function expectHealthy(): Promise<void> {
  expectAlive();
  const u = await UdpClient.open('127.0.0.1', port);
  try {
    const r = await exchange(u, buildQuery({ id: 0x4242, name: 'mail.example.com', type: TYPE.A }));
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.aa).toBe(true);
    expect(r.answer.map((x) => [...x.rdata].join('.')).sort()).toEqual(['192.0.2.25', '192.0.2.26']);
  } finally {
    u.close();
  }
  const t = await TcpClient.open('127.0.0.1', port);
  try {
    const r = await exchange(t, buildQuery({ id: 0x4243, name: 'example.com', type: TYPE.SOA }));
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answer.map((x) => x.type)).toEqual([TYPE.SOA]);
  } finally {
    t.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Answers through kdig and dig, UDP and TCP, IPv4 and IPv6
// ---------------------------------------------------------------------------------------------------------------

const soa = (ttl: number): string =>
  `example.com. ${ttl} in soa ns1.example.com. hostmaster.example.com. ${serial} 7200 3600 1209600 300`;

interface Case {
  what: string;
  qname: string;
  qtype: string;
  expect: () => Sections;
}

const CASES: Case[] = [
  {
    what: 'apex SOA',
    qname: 'example.com.',
    qtype: 'SOA',
    expect: () => ({ rcode: 'NOERROR', flags: ['aa', 'qr'], answer: [soa(3600)], authority: [], additional: [] }),
  },
  {
    what: 'apex MX with the addresses of mail in additional',
    qname: 'example.com.',
    qtype: 'MX',
    expect: () => ({
      rcode: 'NOERROR',
      flags: ['aa', 'qr'],
      answer: ['example.com. 3600 in mx 10 mail.example.com.'],
      authority: [],
      additional: [
        'mail.example.com. 300 in a 192.0.2.25',
        'mail.example.com. 300 in a 192.0.2.26',
        'mail.example.com. 3600 in aaaa 2001:db8::25',
      ],
    }),
  },
  {
    what: 'NXDOMAIN with the SOA (TTL min(SOA TTL, minimum) = 300) in authority',
    qname: 'nope.example.com.',
    qtype: 'A',
    expect: () => ({ rcode: 'NXDOMAIN', flags: ['aa', 'qr'], answer: [], authority: [soa(300)], additional: [] }),
  },
  {
    what: 'empty non-terminal _tcp.mail: NOERROR/NODATA with the SOA',
    qname: '_tcp.mail.example.com.',
    qtype: 'TLSA',
    expect: () => ({ rcode: 'NOERROR', flags: ['aa', 'qr'], answer: [], authority: [soa(300)], additional: [] }),
  },
  {
    what: 'wildcard *.apps for x.apps',
    qname: 'x.apps.example.com.',
    qtype: 'A',
    expect: () => ({
      rcode: 'NOERROR',
      flags: ['aa', 'qr'],
      answer: ['x.apps.example.com. 3600 in a 192.0.2.80'],
      authority: [],
      additional: [],
    }),
  },
  {
    what: 'referral for www.sub: AA clear, NS in authority, glue in additional',
    qname: 'www.sub.example.com.',
    qtype: 'A',
    expect: () => ({
      rcode: 'NOERROR',
      flags: ['qr'],
      answer: [],
      authority: ['sub.example.com. 3600 in ns ns.example.net.', 'sub.example.com. 3600 in ns ns1.sub.example.com.'],
      additional: ['ns1.sub.example.com. 3600 in a 192.0.2.60'],
    }),
  },
  {
    what: 'DS at the delegation sub: authoritative answer from the parent',
    qname: 'sub.example.com.',
    qtype: 'DS',
    expect: () => ({
      rcode: 'NOERROR',
      flags: ['aa', 'qr'],
      answer: [
        'sub.example.com. 3600 in ds 12345 13 2 3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809',
      ],
      authority: [],
      additional: [],
    }),
  },
  {
    what: 'out of zone example.org: REFUSED',
    qname: 'example.org.',
    qtype: 'A',
    expect: () => ({ rcode: 'REFUSED', flags: ['qr'], answer: [], authority: [], additional: [] }),
  },
];

const CLIENTS: Client[] = [];
for (const tool of ['kdig', 'dig'] as const)
  for (const tcp of [false, true]) for (const host of ['127.0.0.1', '::1']) CLIENTS.push({ tool, tcp, host });

describe.each(CLIENTS.map((c) => [`${c.tool} ${c.tcp ? 'TCP' : 'UDP'} ${c.host}`, c] as const))(
  'answers through %s',
  (_label, client) => {
    it.each(CASES.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
      const got = await ask(client, port, c.qname, c.qtype);
      expect(got).toEqual(c.expect());
    });
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Header echo: ID and the client's spelling of the question, also from the response cache
// ---------------------------------------------------------------------------------------------------------------

describe('echoes the ID and the question as the client wrote it', () => {
  it('dig shows the question in the client letter case, on the first and the second (cached) query', async () => {
    for (const tcp of [false, true]) {
      const args = [`@127.0.0.1`, '-p', String(port), '+norec', '+noall', '+question', tcp ? '+tcp' : '+notcp'];
      for (let i = 0; i < 2; i++) {
        const out = await dig([...args, 'ExAmPlE.CoM', 'SOA']);
        expect(collapseWhitespace(out)).toBe(';ExAmPlE.CoM. IN SOA');
      }
      // The lower-case query fills the cache; the mixed-case one is answered from it and must keep its spelling.
      expect(collapseWhitespace(await dig([...args, 'www.example.com', 'A']))).toBe(';www.example.com. IN A');
      expect(collapseWhitespace(await dig([...args, 'WWW.Example.COM', 'A']))).toBe(';WWW.Example.COM. IN A');
      expect(collapseWhitespace(await dig([...args, 'www.example.com', 'A']))).toBe(';www.example.com. IN A');
    }
  });

  it.each([
    ['UDP', false],
    ['TCP', true],
  ] as const)('raw %s: ID and question bytes echoed, fresh and from the cache', async (_l, tcp) => {
    const ch: Channel = tcp ? await TcpClient.open('127.0.0.1', port) : await UdpClient.open('127.0.0.1', port);
    try {
      let id = tcp ? 0x7100 : 0x7000;
      for (const [name, type] of [
        ['ExAmPlE.CoM', TYPE.SOA],
        ['ExAmPlE.CoM', TYPE.SOA],
        ['www.example.com', TYPE.A],
        ['WWW.Example.COM', TYPE.A],
        ['wWw.eXaMpLe.cOm', TYPE.A],
        ['NoPe.Example.Com', TYPE.A],
        ['NOPE.EXAMPLE.COM', TYPE.A],
      ] as const) {
        const q = buildQuery({ id: ++id, name, type, flags: 0x0100 });
        const r = await exchange(ch, q);
        expect(r.id).toBe(id);
        expect(r.qr).toBe(true);
        expect(r.rd, 'RD copied').toBe(true);
        expect(r.question?.toString('latin1'), `question of ${name}`).toBe(q.subarray(12).toString('latin1'));
        expect(r.rcode).toBe(name.toLowerCase().startsWith('nope') ? RCODE.NXDOMAIN : RCODE.NOERROR);
      }
    } finally {
      ch.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// EDNS
// ---------------------------------------------------------------------------------------------------------------

describe('EDNS', () => {
  it('advertises 1232 octets, version 0, when the query has EDNS (whatever size it asks for)', async () => {
    for (const bufsize of [512, 1232, 4096]) {
      for (const tcp of [false, true]) {
        const a = await query(v4, 'example.com.', 'A', { bufsize, tcp });
        expect(a.rcode).toBe('NOERROR');
        expect(a.edns).toEqual({ version: 0, udpSize: 1232, do: false, options: [] });
      }
    }
  });

  it('sends no OPT when the query has none', async () => {
    for (const tcp of [false, true]) {
      const a = await query(v4, 'example.com.', 'MX', { noEdns: true, tcp });
      expect(a.rcode).toBe('NOERROR');
      expect(a.edns).toBeNull();
      expect(a.answer).toEqual(['example.com. 3600 IN MX 10 mail.example.com.']);
    }
  });

  it('answers EDNS version 1 with BADVERS and an OPT of version 0', async () => {
    for (const tcp of [false, true]) {
      const a = await query(v4, 'example.com.', 'A', { ednsVersion: 1, tcp });
      expect(a.rcode).toBe('BADVERS');
      expect(a.edns).toMatchObject({ version: 0, udpSize: 1232 });
      expect(a.answer).toEqual([]);
    }
  });

  it('echoes the DO bit', async () => {
    const on = await query(v4, 'example.com.', 'SOA', { dnssec: true });
    expect(on.edns?.do).toBe(true);
    // The zone is signed (DNSSEC is on by default): DO=1 gets the SOA and its RRSIG (RFC 4035 §3.1.1).
    expect(on.answer).toHaveLength(2);
    expect(on.answer[0]).toBe(soa(3600).replace(' in soa ', ' IN SOA '));
    expect(on.answer[1]).toMatch(/^example\.com\. 3600 IN RRSIG SOA 13 2 3600 \d{14} \d{14} \d+ example\.com\. \S+$/);
    const off = await query(v4, 'example.com.', 'SOA');
    expect(off.edns?.do).toBe(false);
    expect(off.answer).toEqual([soa(3600).replace(' in soa ', ' IN SOA ')]);
    // and from the cache again, both ways
    expect((await query(v4, 'example.com.', 'SOA', { dnssec: true })).edns?.do).toBe(true);
    expect((await query(v4, 'example.com.', 'SOA', { tcp: true, dnssec: true })).edns?.do).toBe(true);
  });

  it('ignores an unknown EDNS option (answers normally, does not echo it)', async () => {
    const out = await kdig([
      '@127.0.0.1',
      '-p',
      String(port),
      '+json',
      '+norec',
      '+notcp',
      '+ignore',
      '+timeout=2',
      '+retry=1',
      '+ednsopt=65001:abcd',
      'example.com.',
      'MX',
    ]);
    const a = parseKdig(out);
    expect(a.rcode).toBe('NOERROR');
    expect(a.flags).toEqual(['qr', 'aa']);
    expect(a.answer).toEqual(['example.com. 3600 IN MX 10 mail.example.com.']);
    expect(a.edns).toEqual({ version: 0, udpSize: 1232, do: false, options: [] });
    // Raw, with two unknown options, one of them empty.
    const u = await UdpClient.open('127.0.0.1', port);
    try {
      const r = await exchange(
        u,
        buildQuery({
          id: 0x1e,
          name: 'example.com',
          type: TYPE.A,
          edns: {
            options: [
              { code: 65001, data: Buffer.from('abcd', 'hex') },
              { code: 65002, data: Buffer.alloc(0) },
            ],
          },
        }),
      );
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answer).toHaveLength(1);
      expect(optOf(r)?.rdata.length).toBe(0);
    } finally {
      u.close();
    }
  });

  describe('a 40-record RRset against the client buffer size', () => {
    const all = Array.from({ length: 40 }, (_, i) => `many.big.example. 3600 IN A 198.51.100.${i + 1}`).sort();

    it('UDP without EDNS (512 octets): TC=1 and the RRset is not cut', async () => {
      const a = await query(v4, 'many.big.example.', 'A', { noEdns: true });
      expect(a.flags).toContain('tc');
      expect(a.rcode).toBe('NOERROR');
      expect([0, 40]).toContain(a.answer.length);
      const u = await UdpClient.open('127.0.0.1', port);
      try {
        const r = await exchange(u, buildQuery({ id: 0x200, name: 'many.big.example', type: TYPE.A }));
        expect(r.tc).toBe(true);
        expect([0, 40]).toContain(r.answer.length);
        // cached: same again
        const r2 = await exchange(u, buildQuery({ id: 0x201, name: 'MANY.big.example', type: TYPE.A }));
        expect(r2.tc).toBe(true);
        expect(r2.id).toBe(0x201);
      } finally {
        u.close();
      }
    });

    it('UDP with EDNS 512: TC=1 and the RRset is not cut', async () => {
      const a = await query(v4, 'many.big.example.', 'A', { bufsize: 512 });
      expect(a.flags).toContain('tc');
      expect([0, 40]).toContain(a.answer.length);
      expect(a.edns).not.toBeNull();
    });

    it('UDP with +bufsize=1232: the whole RRset, no TC', async () => {
      const a = await query(v4, 'many.big.example.', 'A', { bufsize: 1232 });
      expect(a.flags).not.toContain('tc');
      expect([...a.answer].sort()).toEqual(all);
    });

    it('TCP (with and without EDNS): the whole RRset, no TC', async () => {
      for (const noEdns of [true, false]) {
        const a = await query(v4, 'many.big.example.', 'A', { tcp: true, noEdns });
        expect(a.flags).not.toContain('tc');
        expect([...a.answer].sort()).toEqual(all);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Opcodes, classes, QR=1, zone transfers
// ---------------------------------------------------------------------------------------------------------------

describe('what is not a plain IN query', () => {
  it('dig +opcode=status gets NOTIMP', async () => {
    const out = await dig([
      '@127.0.0.1',
      '-p',
      String(port),
      '+norec',
      '+noedns',
      '+noall',
      '+comments',
      '+opcode=status',
      'example.com',
      'A',
    ]);
    expect(parseDig(out).rcode).toBe('NOTIMP');
  });

  it.each([
    ['IQUERY', 1],
    ['STATUS', 2],
    ['NOTIFY', 4],
    ['UPDATE', 5],
    ['unassigned 15', 15],
  ] as const)('raw opcode %s over UDP and TCP: NOTIMP with the same ID and opcode', async (_name, opcode) => {
    for (const tcp of [false, true]) {
      const ch: Channel = tcp ? await TcpClient.open('127.0.0.1', port) : await UdpClient.open('127.0.0.1', port);
      try {
        const r = await exchange(ch, buildQuery({ id: 0x3300 + opcode, name: 'example.com', type: TYPE.SOA, opcode }));
        expect(r.id).toBe(0x3300 + opcode);
        expect(r.qr).toBe(true);
        expect(r.opcode).toBe(opcode);
        expect(r.rcode).toBe(RCODE.NOTIMP);
        expect(r.answer).toEqual([]);
      } finally {
        ch.close();
      }
    }
  });

  it('class CH gets REFUSED (kdig, UDP and TCP)', async () => {
    for (const tcp of [false, true]) {
      const out = await kdig([
        '@127.0.0.1',
        '-p',
        String(port),
        '+json',
        '+norec',
        '+noedns',
        tcp ? '+tcp' : '+notcp',
        '+timeout=2',
        '-c',
        'CH',
        'version.bind',
        'TXT',
      ]);
      const a = parseKdig(out);
      expect(a.rcode).toBe('REFUSED');
      expect(a.flags).not.toContain('aa');
      expect(a.answer).toEqual([]);
    }
  });

  // RFC 6891 §7: "If an OPT record is present in a received request, compliant responders MUST include an OPT
  // record in their respective responses." Holds for REFUSED too (only FORMERR may drop it).
  it('class CH with EDNS: REFUSED keeps an OPT record (RFC 6891 §7)', async () => {
    const u = await UdpClient.open('127.0.0.1', port);
    try {
      const r = await exchange(
        u,
        buildQuery({ id: 0x0c4, name: 'version.bind', type: TYPE.TXT, cls: CLASS_CH, edns: {} }),
      );
      expect(r.rcode).toBe(RCODE.REFUSED);
      expect(optOf(r), 'OPT in the REFUSED response').toBeDefined();
    } finally {
      u.close();
    }
  });

  it('a packet with QR=1 gets no answer, and the next query does', async () => {
    const u = await UdpClient.open('127.0.0.1', port);
    try {
      u.send(buildQuery({ id: 0x0bad, name: 'example.com', type: TYPE.SOA, flags: 0x8000 }));
      u.send(buildQuery({ id: 0x0bae, name: 'example.com', type: TYPE.SOA, flags: 0x8400, opcode: 2 }));
      expect(await u.recv(300)).toBeNull();
      const r = await exchange(u, buildQuery({ id: 0x0baf, name: 'example.com', type: TYPE.SOA }));
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answer).toHaveLength(1);
    } finally {
      u.close();
    }
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      t.send(buildQuery({ id: 0x0bad, name: 'example.com', type: TYPE.SOA, flags: 0x8000 }));
      expect(await t.recv(300)).toBeNull();
      const r = await exchange(t, buildQuery({ id: 0x0bb0, name: 'example.com', type: TYPE.SOA }));
      expect(r.rcode).toBe(RCODE.NOERROR);
    } finally {
      t.close();
    }
  });

  it('AXFR over TCP is REFUSED (kdig and raw)', async () => {
    await expect(
      kdig(['@127.0.0.1', '-p', String(port), '+tcp', '+timeout=2', 'example.com.', 'AXFR']),
    ).rejects.toThrow(/REFUSED/);
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      const r = await exchange(t, buildQuery({ id: 0xaf, name: 'example.com', type: TYPE.AXFR }));
      expect(r.rcode).toBe(RCODE.REFUSED);
      expect(r.answer).toEqual([]);
    } finally {
      t.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile and random packets
// ---------------------------------------------------------------------------------------------------------------

/** What the server must send back for a packet: the rcode with the packet's ID, or nothing (null). */
function expectedFor(bytes: Uint8Array, headerReadable: boolean): { id: number; rcode: number } | null {
  if (!headerReadable || bytes.length < 12) return null;
  if ((bytes[2]! & 0x80) !== 0) return null;
  const opcode = (bytes[2]! >>> 3) & 0xf;
  return { id: (bytes[0]! << 8) | bytes[1]!, rcode: opcode === 0 ? RCODE.FORMERR : RCODE.NOTIMP };
}

/**
 * Puts the corpus's question (example.com. A IN, without EDNS and with EDNS 1232 + DO) into the response cache
 * first, so a cache shortcut that skipped the strict decode would answer a malformed packet from the cache.
 */
async function primeCache(ch: Channel): Promise<void> {
  let id = 0x0e00;
  for (const edns of [undefined, { udp: 1232, do: true }]) {
    for (let i = 0; i < 2; i++) {
      const r = await exchange(
        ch,
        buildQuery({ id: ++id, name: 'example.com', type: TYPE.A, flags: 0x0100, ...(edns ? { edns } : {}) }),
      );
      expect(r.rcode).toBe(RCODE.NOERROR);
    }
  }
}

async function sendHostile(ch: Channel, transport: string): Promise<string[]> {
  await primeCache(ch);
  const failures: string[] = [];
  for (const h of HOSTILE) {
    const want = expectedFor(h.bytes, h.headerReadable);
    ch.send(Buffer.from(h.bytes));
    const got = await ch.recv(want === null ? 250 : 2000);
    if (want === null) {
      if (got !== null) failures.push(`${transport} ${h.name}: expected silence, got ${got.toString('hex')}`);
      continue;
    }
    if (got === null) {
      failures.push(`${transport} ${h.name}: no response`);
      continue;
    }
    try {
      const r = parseResponse(got);
      if (r.id !== want.id || !r.qr || r.rcode !== want.rcode) {
        failures.push(
          `${transport} ${h.name}: id ${r.id.toString(16)} qr ${r.qr} rcode ${r.rcode}, want id ${want.id.toString(16)} rcode ${want.rcode}`,
        );
      }
    } catch (e) {
      failures.push(`${transport} ${h.name}: unparseable response ${got.toString('hex')}: ${(e as Error).message}`);
    }
  }
  return failures;
}

describe('hostile packets (test/wire/hostile-packets.ts)', () => {
  it('UDP: FORMERR with the same ID when the header is readable, else silence; then still answers', async () => {
    const u = await UdpClient.open('127.0.0.1', port);
    try {
      expect(await sendHostile(u, 'UDP')).toEqual([]);
    } finally {
      u.close();
    }
    await expectHealthy();
  });

  it('TCP (length-prefixed, one connection): same, and the connection keeps working', async () => {
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      expect(await sendHostile(t, 'TCP')).toEqual([]);
      const r = await exchange(t, buildQuery({ id: 0x5151, name: 'example.com', type: TYPE.MX }));
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answer).toHaveLength(1);
    } finally {
      t.close();
    }
    await expectHealthy();
  });

  it('TCP: the whole corpus in one write, answers in order', async () => {
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      await primeCache(t);
      const wants = HOSTILE.map((h) => expectedFor(h.bytes, h.headerReadable)).filter((w) => w !== null);
      await t.write(
        Buffer.concat([
          ...HOSTILE.map((h) => TcpClient.frame(Buffer.from(h.bytes))),
          TcpClient.frame(buildQuery({ id: 0x6161, name: 'example.com', type: TYPE.SOA })),
        ]),
      );
      for (const w of wants) {
        const b = await t.recv(2000);
        expect(b, `response with id ${w.id.toString(16)}`).not.toBeNull();
        const r = parseResponse(b!);
        expect({ id: r.id, rcode: r.rcode }).toEqual(w);
      }
      const last = await t.recv(2000);
      expect(last).not.toBeNull();
      const r = parseResponse(last!);
      expect(r.id).toBe(0x6161);
      expect(r.rcode).toBe(RCODE.NOERROR);
    } finally {
      t.close();
    }
  });

  it('200 seeded random packets (0..600 octets) over UDP: only answers queries, then still answers', async () => {
    const rnd = mulberry32(0xda5e05);
    const u = await UdpClient.open('127.0.0.1', port);
    const eligible = new Set<number>();
    try {
      for (let i = 0; i < 200; i++) {
        const len = Math.floor(rnd() * 601);
        const p = Buffer.alloc(len);
        for (let j = 0; j < len; j++) p[j] = Math.floor(rnd() * 256);
        if (len >= 12 && (p[2]! & 0x80) === 0) eligible.add(p.readUInt16BE(0));
        u.send(p);
        if (i % 20 === 19) await delay(5);
      }
      await delay(300);
      const responses: Buffer[] = [];
      for (let b = await u.recv(50); b !== null; b = await u.recv(50)) responses.push(b);
      for (const b of responses) {
        expect(b.length).toBeGreaterThanOrEqual(12);
        expect(b[2]! & 0x80, 'QR set').toBe(0x80);
        expect(eligible.has(b.readUInt16BE(0)), `response id ${b.readUInt16BE(0)} belongs to a query with QR=0`).toBe(
          true,
        );
      }
    } finally {
      u.close();
    }
    await expectHealthy();
  });

  it('random framed messages and an unframed random stream over TCP, then still answers', async () => {
    const rnd = mulberry32(0x7c9);
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 10; i++) {
        const len = 1 + Math.floor(rnd() * 600);
        const p = Buffer.alloc(len);
        for (let j = 0; j < len; j++) p[j] = Math.floor(rnd() * 256);
        p[2] = p[2]! | 0x80; // QR=1: none of these may be answered, so the next answer is ours
        frames.push(TcpClient.frame(p));
      }
      frames.push(TcpClient.frame(buildQuery({ id: 0x7777, name: 'example.com', type: TYPE.SOA })));
      await t.write(Buffer.concat(frames));
      const r = parseResponse((await t.recv(2000)) ?? Buffer.alloc(0));
      expect(r.id).toBe(0x7777);
      expect(r.rcode).toBe(RCODE.NOERROR);
    } finally {
      t.close();
    }
    // Unframed garbage: the length prefixes are random; the server must not fall over.
    const g = await TcpClient.open('127.0.0.1', port);
    const junk = Buffer.alloc(3000);
    for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd() * 256);
    await g.write(junk);
    await delay(100);
    g.close();
    await expectHealthy();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// TCP framing
// ---------------------------------------------------------------------------------------------------------------

describe('TCP framing', () => {
  it('20 pipelined queries in one write: answered in order with matching IDs', async () => {
    const names = ['example.com', 'mail.example.com', 'nope.example.com', 'x.apps.example.com', 'www.sub.example.com'];
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      const qs = Array.from({ length: 20 }, (_, i) =>
        buildQuery({ id: 0x9000 + i, name: names[i % names.length]!, type: TYPE.A }),
      );
      await t.write(Buffer.concat(qs.map((q) => TcpClient.frame(q))));
      for (let i = 0; i < 20; i++) {
        const b = await t.recv(2000);
        expect(b, `answer ${i}`).not.toBeNull();
        const r = parseResponse(b!);
        expect(r.id).toBe(0x9000 + i);
        expect(r.question?.toString('hex')).toBe(qs[i]!.subarray(12).toString('hex'));
        const name = names[i % names.length]!;
        expect(r.rcode).toBe(name.startsWith('nope') ? RCODE.NXDOMAIN : RCODE.NOERROR);
        expect(r.aa).toBe(!name.startsWith('www.sub'));
      }
    } finally {
      t.close();
    }
  });

  it('one query written byte by byte', async () => {
    const t = await TcpClient.open('127.0.0.1', port);
    try {
      const framed = TcpClient.frame(buildQuery({ id: 0xb17e, name: 'Mail.Example.Com', type: TYPE.A }));
      for (const byte of framed) {
        await t.write(Buffer.from([byte]));
        await delay(2);
      }
      const b = await t.recv(2000);
      expect(b).not.toBeNull();
      const r = parseResponse(b!);
      expect(r.id).toBe(0xb17e);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answer).toHaveLength(2);
      expect(r.question?.toString('hex')).toBe(framed.subarray(14).toString('hex'));
    } finally {
      t.close();
    }
  });

  it('server process is alive at the end', async () => {
    await expectHealthy();
  });
});
