/**
 * Three real secondaries follow a hidden primary through 50 changes by NOTIFY (RFC 1996) and IXFR (RFC 1995)
 * with TSIG (RFC 8945), and through a restart of the primary. NSD, Knot (`dnssec-validation: on`: it checks
 * every version it takes, RFC 4035 §5) and BIND named are each configured with what `dane-ns secondary-config`
 * prints (plus listen address, port and directories) and ask for IXFR first, as they do by default. The SOA
 * refresh is an hour, so only a NOTIFY explains a secondary that has a new version within seconds.
 *
 * The 50 changes, one after the other: YAML edits of the zone file (records of several types added, changed and
 * removed, a delegation with glue and a DS coming and going), two TLSA rotations (a new certificate for the MX
 * host), the three key events of a ZSK rollover (`dane-ns keys rollover` in a zone whose TTLs are 2 s and whose
 * `dnssec.margin` is 1 s: new key published, new key signs once every secondary serves its DNSKEY, old key gone)
 * and a signature refresh. The refresh stands for the week that a real zone waits: the zone's signatures are
 * valid for 61 s and refreshed with 30 s left (as in serial.test.ts), so the refresh timer re-signs during the
 * test, the way a 14-day validity does after a week.
 * Such refreshes also come between other steps; every check below waits for the version the step made.
 *
 * After every change: each secondary serves dane-ns's new serial within 2 s of dane-ns publishing it (SOA
 * polled every 50 ms), and the full zone it serves (AXFR from it) equals dane-ns's own AXFR, compared
 * canonically (ldns-read-zone -c, lines sorted); ldns-verify-zone checks the copies every 10th step. At the end
 * each secondary's log shows incoming IXFRs for (nearly) every change; the restart serves the same serial and
 * the same AXFR (byte for byte, as kdig prints it) from the signatures it kept, and the next change reaches
 * every secondary by IXFR again.
 *
 * The tools are required (nsd, knotd, named, kdig, ldns-read-zone, ldns-verify-zone, openssl).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';
import { makeCert } from './helpers/certs.js';
import { requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import {
  bindConf,
  canonical,
  knotConf,
  nsdConf,
  secondaryConfig,
  startDaemon,
  transferRecords,
  wholeTransfer,
  type Daemon,
  type SecondaryKind,
} from './helpers/secondaries.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool } from './helpers/tsigpeer.js';

const ZONE = 'changes.example';
const KEY = 'ixfr-xfr';

const base = mkdtempSync(join(tmpdir(), 'dane-ns-changes-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const state = join(base, 'state');
const certs = join(base, 'certs');
let server: DaneNsInstance;
let port = 0;
let secret = '';

interface Secondary {
  readonly kind: SecondaryKind;
  readonly port: number;
  /** The source address of its transfers: dane-ns's transfer log lines tell the three apart by it. */
  readonly source: string;
  daemon?: Daemon;
}
const secondaries: Secondary[] = [];

/** The zone's records, owner -> type -> values (or a mapping with ttl and values), written out as YAML. */
type Records = Record<string, Record<string, string[] | { ttl: number; values: string[] }>>;
const records: Records = {
  '@': { NS: ['ns1'], MX: ['10 mail'] },
  ns1: { A: ['192.0.2.53'] },
  mail: { A: ['127.0.0.1'] },
  www: { A: ['192.0.2.80'] },
  ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`h${i}`, { TXT: [`host ${i}`] }])),
};

function zoneText(): string {
  const notify = secondaries.map((s) => `    - { address: 127.0.0.1, port: ${s.port}, key: ${KEY} }\n`).join('');
  const recs = Object.entries(records)
    .map(([owner, rrsets]) => `  ${JSON.stringify(owner)}: ${JSON.stringify(rrsets)}\n`)
    .join('');
  return (
    `origin: ${ZONE}.\nttl: 2\n` +
    `soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 3600, retry: 3600, minimum: 2 }\n` +
    `dnssec: { signature-validity: ${validity}s, refresh-before: 30s, margin: 1s }\n` +
    `transfer:\n  allow:\n    - key: ${KEY}\n  notify:\n${notify}` +
    `tlsa:\n  - host: mail\n    cert: ${join(certs, 'mail.pem')}\n    ttl: 2\n` +
    `records:\n${recs}`
  );
}

/** Writes the zone file in one rename, as an editor that saves atomically does. */
function writeZone(): void {
  const tmp = join(zones, `.${ZONE}.yaml.tmp`);
  writeFileSync(tmp, zoneText());
  renameSync(tmp, join(zones, `${ZONE}.yaml`));
}

const kdig = (p: number, args: string[]): ReturnType<typeof runTool> =>
  runTool('kdig', ['@127.0.0.1', '-p', String(p), '+time=2', '+retry=1', ...args]);

/** The serial a server answers (NaN when it has none). */
async function serialAt(p: number): Promise<number> {
  const out = (await kdig(p, ['+short', ZONE, 'SOA'])).stdout.trim().split(/\s+/);
  return out.length >= 3 ? Number(out[2]) : NaN;
}

/** Our AXFR (with TSIG) as kdig prints it. */
const ourAxfr = async (): Promise<string> =>
  (await kdig(port, ['+time=5', '-y', `hmac-sha256:${KEY}:${secret}`, ZONE, 'AXFR'])).stdout;
/** The records of a transfer without kdig's comments, TSIG and timing lines: what must stay byte-identical. */
const rawRecords = (out: string): string =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .join('\n');
const serialOf = (rrs: string[]): number => Number(rrs[0]!.split(/\s+/)[6]);

/** The zone-published lines of dane-ns's log. */
function published(): { serial: number; reason: string; time: string }[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.includes('"event":"zone-published"'))
    .map((l) => JSON.parse(l) as { serial: number; reason: string; time: string });
}

/**
 * Waits for dane-ns to publish a version for `step` (its reason, a serial above `after`, and what the step
 * says holds then) and returns that version's serial and time. A refresh or a key event due meanwhile may
 * publish further versions: the one returned is the newest, which has the step's change too.
 */
async function publishedFor(step: Step, after: number): Promise<{ serial: number; at: number }> {
  const t0 = Date.now();
  for (;;) {
    const reasons = step.reasons ?? [step.reason];
    if (published().some((p) => reasons.includes(p.reason) && p.serial > after) && (await (step.holds?.() ?? true))) {
      // The newest version: the one served now, once its log line is in.
      const v = published().at(-1)!;
      if (v.serial === (await serialAt(port))) return { serial: v.serial, at: Date.parse(v.time) };
    }
    if (Date.now() - t0 > (step.waitMs ?? 10_000))
      throw new Error(`${step.label}: no such version after ${after}\n${server.logs().slice(-3000)}`);
    await delay(20);
  }
}

/** The key tags of the served RRSIGs over `type` at the apex. */
async function signers(type: 'SOA' | 'DNSKEY'): Promise<number[]> {
  const out = (await kdig(port, ['+dnssec', '+short', ZONE, type])).stdout.split('\n');
  return out.filter((l) => l.startsWith(`${type} `)).map((l) => Number(l.split(/\s+/)[6]));
}
/** How many DNSKEY records are served. */
const dnskeys = async (): Promise<number> =>
  (await kdig(port, ['+short', ZONE, 'DNSKEY'])).stdout.split('\n').filter((l) => /^\d+ 3 /.test(l)).length;

/**
 * Every secondary's full copy equals ours, taken when all four serve the same serial (a refresh may publish
 * another version meanwhile: then everyone is asked again). With verify, ldns-verify-zone checks each copy.
 */
async function compareAll(label: string, verify: boolean): Promise<void> {
  let last = '';
  // Up to 15 s: a version published after the step's (a refresh) may still be on its way, and a secondary that
  // dropped its NOTIFY is told again by dane-ns 4 s after it acknowledged.
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const ours = transferRecords(await ourAxfr());
    // A secondary may close a transfer it serves while it loads a new version (NSD's reload): no copy this
    // round, asked again.
    const theirs = await Promise.all(
      secondaries.map(async (s) => wholeTransfer((await kdig(s.port, ['+time=5', ZONE, 'AXFR'])).stdout)),
    );
    const serials = [ours, ...theirs].map((rrs) => (rrs ? String(serialOf(rrs)) : 'none'));
    if (serials.every((s) => s === serials[0])) {
      const want = await canonical(ours, join(base, 'ours.zone'));
      for (const [i, s] of secondaries.entries()) {
        const file = join(base, `${s.kind}.zone`);
        expect(await canonical(theirs[i]!, file), `${label}: ${s.kind}'s copy`).toEqual(want);
        if (verify) {
          const v = await runTool('ldns-verify-zone', [file]);
          expect(v.code, `${label}: ${s.kind}: ${v.stdout}${v.stderr}`).toBe(0);
        }
      }
      return;
    }
    last = serials.join(' ');
    await delay(100);
  }
  const notifies = server
    .logs()
    .split('\n')
    .filter((l) => /"event":"(notify|secondary)-/.test(l))
    .slice(-20)
    .join('\n');
  const tails = secondaries.map((s) => `--- ${s.kind}\n${s.daemon!.log().slice(-1500)}`).join('\n');
  throw new Error(
    `${label}: the serials never agreed (dane-ns, ${secondaries.map((s) => s.kind).join(', ')}): ${last}\n` +
      `${notifies}\n${tails}`,
  );
}

/** Milliseconds from `at` until every secondary serves `serial` or newer (polled every 50 ms, up to 10 s). */
async function lags(serial: number, at: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    secondaries.map(async (s) => {
      for (;;) {
        const theirs = await serialAt(s.port);
        if (theirs >= serial || Date.now() - at > 10_000) break;
        await delay(50);
      }
      out[s.kind] = Date.now() - at;
    }),
  );
  return out;
}

interface Step {
  readonly label: string;
  /** What dane-ns gives as the reason of the version the step makes (zone-published). */
  readonly reason: 'reload' | 'tlsa' | 'keys' | 'refresh';
  /** Other reasons that may stand for it: a key event falling due is published by the refresh timer. */
  readonly reasons?: string[];
  /** What the served zone shows once the step's version is out. */
  holds?(): Promise<boolean>;
  act(): void | Promise<void>;
  /** How long dane-ns may take to publish it (a refresh or a key event comes when its time is due). */
  readonly waitMs?: number;
}

const edit = (label: string, change: () => void): Step => ({
  label,
  reason: 'reload',
  act: () => {
    change();
    writeZone();
  },
});
const DS = (d: string): string => `12345 13 2 ${d.repeat(64)}`;

/** The zone's signature validity in seconds (the last change raises it: every RRset is signed afresh). */
let validity = 61;
let certCount = 0;
let oldZsk = 0;
let newZsk = 0;
async function rotateCert(): Promise<void> {
  const c = await makeCert(join(certs, 'pool'), { name: `mail${certCount++}`, cn: `mail.${ZONE}` });
  writeFileSync(join(certs, 'next.tmp'), c.certPem);
  renameSync(join(certs, 'next.tmp'), join(certs, 'mail.pem'));
}
const tlsaRotation = (label: string): Step => ({ label, reason: 'tlsa', act: rotateCert });

async function keysCli(...args: string[]): Promise<string> {
  return exec(process.execPath, [CLI, 'keys', ...args, '--zones', zones, '--keys', keys, '--state', state]);
}

/** The 50 changes, in order. */
const steps: Step[] = [
  edit('AAAA added to www', () => (records.www!.AAAA = ['2001:db8::80'])),
  edit('A of www changed', () => (records.www!.A = ['192.0.2.81'])),
  edit('CNAME ftp added', () => (records.ftp = { CNAME: ['www'] })),
  edit('delegation sub with glue', () => {
    records.sub = { NS: ['ns.sub'] };
    records['ns.sub'] = { A: ['192.0.2.99'] };
  }),
  edit('AAAA glue under sub', () => (records['ns.sub']!.AAAA = ['2001:db8::99'])),
  edit('second NS of sub, with glue', () => {
    records.sub!.NS = ['ns.sub', 'ns2.sub'];
    records['ns2.sub'] = { A: ['192.0.2.98'] };
  }),
  edit('DS of sub', () => (records.sub!.DS = [DS('a')])),
  edit('SRV added', () => (records['_sip._tcp'] = { SRV: ['10 5 5060 www'] })),
  edit('CAA at the apex', () => (records['@']!.CAA = ['0 issue "letsencrypt.org"'])),
  edit('second MX with its host', () => {
    records['@']!.MX = ['10 mail', '20 mx2'];
    records.mx2 = { A: ['192.0.2.26'] };
  }),
  edit('h3 removed', () => delete records.h3),
  edit('TXT of h5 changed', () => (records.h5!.TXT = ['host five'])),
  edit('TTL of www A raised', () => (records.www!.A = { ttl: 4, values: ['192.0.2.81'] })),
  edit('h7 has three TXT', () => (records.h7!.TXT = ['one', 'two', 'three'])),
  tlsaRotation('TLSA: a new certificate for mail'),
  edit('CNAME ftp removed', () => delete records.ftp),
  edit('wildcard added', () => (records['*.w'] = { A: ['192.0.2.70'], TXT: ['wildcard'] })),
  edit('AAAA glue removed', () => delete records['ns.sub']!.AAAA),
  edit('DS of sub changed', () => (records.sub!.DS = [DS('b')])),
  edit('ns2.sub and its glue removed', () => {
    records.sub!.NS = ['ns.sub'];
    delete records['ns2.sub'];
  }),
  edit('PTR added', () => (records.ptr = { PTR: [`www.${ZONE}.`] })),
  edit('SSHFP added to www', () => (records.www!.SSHFP = [`4 2 ${'c'.repeat(64)}`])),
  edit('delegation sub removed (NS, DS, glue)', () => {
    delete records.sub;
    delete records['ns.sub'];
  }),
  {
    label: 'ZSK rollover: new key published',
    reason: 'keys',
    act: async () => {
      oldZsk = (await signers('SOA'))[0]!;
      const out = await keysCli('rollover', ZONE);
      newZsk = Number(/ZSK (\d+) is published now/.exec(out)![1]);
    },
    holds: async () => (await dnskeys()) === 3 && (await signers('SOA'))[0] === oldZsk,
  },
  {
    label: 'ZSK rollover: new key signs',
    reason: 'keys',
    reasons: ['keys', 'refresh'],
    act: () => {},
    holds: async () => (await dnskeys()) === 3 && (await signers('SOA'))[0] === newZsk,
    waitMs: 20_000,
  },
  {
    label: 'ZSK rollover: old key gone',
    reason: 'keys',
    reasons: ['keys', 'refresh'],
    act: () => {},
    holds: async () => (await dnskeys()) === 2 && (await signers('SOA'))[0] === newZsk,
    waitMs: 20_000,
  },
  { label: 'signature refresh (stands for a week)', reason: 'refresh', act: () => {}, waitMs: 45_000 },
  edit('h0 removed', () => delete records.h0),
  edit('h1 gets an A', () => (records.h1!.A = ['192.0.2.101'])),
  edit('h2 TXT changed', () => (records.h2!.TXT = ['changed two'])),
  edit('h3 back', () => (records.h3 = { TXT: ['host 3 again'] })),
  edit('delegation deleg with in-zone glue', () => {
    records.deleg = { NS: ['ns.deleg', 'ns1'] };
    records['ns.deleg'] = { A: ['192.0.2.77'], AAAA: ['2001:db8::77'] };
  }),
  edit('h4 AAAA', () => (records.h4!.AAAA = ['2001:db8::4'])),
  edit('MX of the apex back to one', () => {
    records['@']!.MX = ['10 mail'];
    delete records.mx2;
  }),
  edit('h6 removed', () => delete records.h6),
  tlsaRotation('TLSA: another new certificate for mail'),
  edit('h8 TXT and A', () => (records.h8 = { TXT: ['eight'], A: ['192.0.2.108'] })),
  edit('CAA changed', () => (records['@']!.CAA = ['0 issue "example.org"'])),
  edit('glue of deleg changed', () => (records['ns.deleg']!.A = ['192.0.2.78'])),
  edit('SRV weight changed', () => (records['_sip._tcp']!.SRV = ['10 10 5060 www'])),
  edit('h9 removed', () => delete records.h9),
  edit('new name deep.a.b (empty non-terminals)', () => (records['deep.a.b'] = { TXT: ['deep'] })),
  edit('deep.a.b removed', () => delete records['deep.a.b']),
  edit('h10 TXT changed', () => (records.h10!.TXT = ['ten'])),
  edit('wildcard TXT removed', () => delete records['*.w']!.TXT),
  edit('PTR removed', () => delete records.ptr),
  edit('h11 and h12 removed', () => {
    delete records.h11;
    delete records.h12;
  }),
  edit('www AAAA changed', () => (records.www!.AAAA = ['2001:db8::81'])),
  edit('delegation deleg removed', () => {
    delete records.deleg;
    delete records['ns.deleg'];
  }),
  // Last: the validity policy changes, so every RRset is signed afresh at one instant; the next refresh is then
  // about half a minute away (less the spread), and the restart below falls between two refreshes.
  edit('signature-validity 61s -> 62s (the whole zone signed afresh)', () => (validity = 62)),
];

beforeAll(async () => {
  for (const t of ['nsd', 'knotd', 'named', 'kdig', 'ldns-read-zone', 'ldns-verify-zone', 'openssl']) requireTool(t);
  mkdirSync(zones, { recursive: true });
  mkdirSync(certs, { recursive: true });
  await rotateCert();
  const printed = await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  secret = /secret "([^"]+)"/.exec(printed)![1]!;
  for (const [i, kind] of (['nsd', 'knot', 'bind'] as const).entries())
    secondaries.push({ kind, port: await freePort(), source: `127.0.0.${i + 2}` });
  writeZone();
  port = await freePort();
  server = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: state, port, startTimeoutMs: 60_000 });
  for (const s of secondaries) {
    const dir = join(base, s.kind);
    mkdirSync(join(dir, 'run'), { recursive: true });
    mkdirSync(join(dir, 'db'), { recursive: true });
    const printed = await secondaryConfig(ZONE, s.kind, port, zones, keys);
    if (s.kind === 'nsd') {
      writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, s.port, printed, s.source));
      s.daemon = startDaemon([requireTool('nsd'), '-d', '-c', join(dir, 'nsd.conf')]);
    } else if (s.kind === 'knot') {
      writeFileSync(join(dir, 'knot.conf'), knotConf(dir, s.port, printed, s.source));
      s.daemon = startDaemon([requireTool('knotd'), '-c', join(dir, 'knot.conf')]);
    } else {
      writeFileSync(join(dir, 'named.conf'), bindConf(dir, s.port, printed, s.source));
      s.daemon = startDaemon([requireTool('named'), '-g', '-d', '3', '-n', '1', '-c', join(dir, 'named.conf')]);
    }
  }
}, 120_000);

afterAll(async () => {
  for (const s of secondaries) await s.daemon?.stop();
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** Runs one step: dane-ns publishes it, every secondary serves it within 2 s, and every copy equals ours. */
async function runStep(step: Step, label: string, verify: boolean): Promise<void> {
  const before = await serialAt(port);
  await step.act();
  const v = await publishedFor(step, before);
  const lag = await lags(v.serial, v.at);
  for (const s of secondaries) expect(lag[s.kind], `${label}: ${s.kind} ${JSON.stringify(lag)}`).toBeLessThan(2000);
  await compareAll(label, verify);
}

/** dane-ns's transfer log lines for the secondary transferring from `source`. */
function transfers(logs: string, source: string): { qtype?: string; answer?: string }[] {
  return logs
    .split('\n')
    .filter((l) => l.includes('"event":"transfer"') && l.includes(`"client":"${source}"`))
    .map((l) => JSON.parse(l) as { qtype?: string; answer?: string });
}

/**
 * Waits until the next signature refresh is at least 15 s away (the earliest RRSIG expiration of our AXFR,
 * less refresh-before), so that a restart lands between two refreshes.
 */
async function awayFromRefresh(): Promise<void> {
  for (;;) {
    const exps = transferRecords(await ourAxfr())
      .map((l) => l.split(/\s+/))
      .filter((f) => f[3] === 'RRSIG')
      .map((f) => f[8]!.replace(/^(....)(..)(..)(..)(..)(..)$/, '$1-$2-$3T$4:$5:$6Z'))
      .map((t) => Date.parse(t));
    const next = Math.min(...exps) - 30_000;
    if (next - Date.now() > 15_000) return;
    await delay(Math.max(0, next - Date.now()) + 5000);
  }
}

describe('NSD, Knot and BIND follow 50 changes by NOTIFY and IXFR, and a restart', () => {
  it('initial state: every secondary serves our serial and the same valid signed zone', async () => {
    const serial = await serialAt(port);
    const lag = await lags(serial, Date.now());
    for (const s of secondaries) expect(lag[s.kind], s.daemon!.log()).toBeLessThan(10_000);
    await compareAll('initial', true);
    // Our AXFR is what `zone export --signed` prints (which signs again: times and signature octets zeroed).
    const exported = await exec(process.execPath, [
      CLI,
      'zone',
      'export',
      ZONE,
      '--signed',
      '--zones',
      zones,
      '--keys',
      keys,
      '--state',
      state,
    ]);
    const lines = exported.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
    expect(await canonical(lines, join(base, 'export.zone'), true)).toEqual(
      await canonical(transferRecords(await ourAxfr()), join(base, 'ours0.zone'), true),
    );
  }, 60_000);

  it('50 changes: each one on every secondary within 2 s, and every copy equal to ours', async () => {
    expect(steps).toHaveLength(50);
    for (const [i, step] of steps.entries()) await runStep(step, `step ${i + 1} (${step.label})`, (i + 1) % 10 === 0);
  }, 240_000);

  it('by IXFR: the logs show an incremental transfer for (nearly) every change', () => {
    const changes = steps.length;
    for (const s of secondaries) {
      // dane-ns's side, by the secondary's source address: one AXFR (its first copy), then IXFR only. The
      // answers are the condensed difference, except where a version re-signed the whole zone (the ZSK
      // taking over, the new validity): that difference is larger than the journal keeps (about the zone's
      // size), and RFC 1995 §4 lets the primary send the zone instead.
      const t = transfers(server.logs(), s.source);
      const answered = (a: string): number => t.filter((x) => x.qtype === 'IXFR' && x.answer === a).length;
      const own = s.daemon!.log().split('\n');
      const why = `${s.kind}: ${own
        .filter((l) => /AXFR|IXFR|fail|error/i.test(l))
        .join('\n')
        .slice(-4000)}`;
      // NSD 4.6 may take a reload that raced the next transfer for a failed update and fetch the zone again by
      // AXFR ("update failed, restarting transfer" in its log, xfrd_check_failed_updates): one more AXFR each.
      const restarts = own.filter((l) => /update failed, restarting transfer/.test(l)).length;
      expect(t.filter((x) => x.qtype === undefined).length, why).toBeLessThanOrEqual(1 + restarts);
      expect(t.filter((x) => x.qtype === undefined).length, why).toBeGreaterThanOrEqual(1);
      expect(answered('ixfr'), s.kind).toBeGreaterThanOrEqual(changes - 5);
      expect(answered('axfr'), s.kind).toBeLessThanOrEqual(2);
    }
    const count = (log: string, re: RegExp): number => log.split('\n').filter((l) => re.test(l)).length;
    // NSD's log does not name the kind of transfer (only the serial it took): it took every change, and never
    // found an IXFR that did not apply.
    const nsd = secondaries[0]!.daemon!.log();
    expect(count(nsd, /received update to serial/)).toBeGreaterThanOrEqual(changes);
    expect(nsd).not.toMatch(/Failed to apply IXFR|starting AXFR/);
    // Knot: "[zone] IXFR, incoming, remote ..., finished"; AXFR only for its first copy and the whole-zone ones.
    const knot = secondaries[1]!.daemon!.log();
    expect(count(knot, /IXFR, incoming, .*finished/), knot.slice(-3000)).toBeGreaterThanOrEqual(changes - 5);
    expect(count(knot, /AXFR, incoming, .*finished/), knot.slice(-3000)).toBeLessThanOrEqual(3);
    expect(knot).not.toMatch(/fallback to AXFR/i);
    // BIND (-d 3): "requesting IXFR for serial N" each time, "got incremental response" when it got one; AXFR
    // asked only for its first copy ("no database exists yet"), never "retrying with AXFR".
    const bind = secondaries[2]!.daemon!.log();
    expect(count(bind, /got incremental response/), bind.slice(-3000)).toBeGreaterThanOrEqual(changes - 5);
    expect(count(bind, /got nonincremental response/)).toBeLessThanOrEqual(3);
    expect(count(bind, /requesting AXFR/)).toBe(1);
    expect(bind).toMatch(/no database exists yet, requesting AXFR of initial version/);
    expect(bind).not.toMatch(/retrying with AXFR/);
  });

  it('restart with unchanged input: same serial, same AXFR, signatures restored; the next change by IXFR', async () => {
    await awayFromRefresh();
    await compareAll('before the restart', false);
    const serial = await serialAt(port);
    const axfr = rawRecords(await ourAxfr());
    const logged = secondaries.map((s) => s.daemon!.log().length);
    await server.stop();
    server = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: state, port, startTimeoutMs: 60_000 });
    expect(await serialAt(port)).toBe(serial);
    expect(rawRecords(await ourAxfr())).toBe(axfr);
    expect(server.logs()).toContain('"event":"zone-signatures-restored"');
    expect(server.logs()).not.toContain('"event":"zone-signed"');

    await runStep(
      edit('after the restart: h14 TXT changed', () => (records.h14!.TXT = ['fourteen'])),
      'after the restart',
      true,
    );
    // Each secondary took it by IXFR from the journal kept in the state directory.
    for (const s of secondaries) {
      const t = transfers(server.logs(), s.source);
      expect(t.length, s.kind).toBeGreaterThan(0);
      expect(
        t.every((x) => x.qtype === 'IXFR' && x.answer === 'ixfr'),
        `${s.kind}: ${JSON.stringify(t)}`,
      ).toBe(true);
    }
    const [, knot, bind] = secondaries.map((s, i) => s.daemon!.log().slice(logged[i]));
    expect(knot).toMatch(/IXFR, incoming, .*finished/);
    expect(knot).not.toMatch(/AXFR, incoming/);
    expect(bind).toMatch(/got incremental response/);
    expect(bind).not.toMatch(/nonincremental|requesting AXFR/);
  }, 120_000);
});
