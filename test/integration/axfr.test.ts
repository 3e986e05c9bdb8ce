/**
 * AXFR (RFC 5936) and TSIG (RFC 8945) of the running server against real clients on loopback: kdig (Knot DNS)
 * and dig (BIND 9, which checks the TSIG of every message of a transfer) get the whole signed zone, equal to
 * `dane-ns zone export ZONE --signed` (compared canonically: both through ldns-read-zone, lines sorted; and
 * exactly, the RRSIGs' times and signatures included, since the export prints the version the server serves) and
 * valid for ldns-verify-zone; refusals (no key, a key the zone does not allow, a prefix that does not match) are
 * REFUSED; TSIG failures are BADKEY, BADSIG and BADTIME (faketime moves the client's clock); AXFR over UDP is
 * NOTIMP; a signed SOA query over UDP gets a signed answer dig accepts. A real secondary, knotd with
 * `dnssec-validation: on` configured as in the README ("Hidden primary with secondaries"), pulls the zone.
 *
 * The tools are required (knot-dnsutils, bind9-dnsutils, ldnsutils, faketime, knot): a missing one fails.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';
import { requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool, type ToolRun } from './helpers/tsigpeer.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
/** Another valid secret of the same length (a wrong one must still be valid base64, or dig drops the key). */
const WRONG = Buffer.alloc(32, 7).toString('base64');
const Y = `hmac-sha256:knot-xfr:${SECRET}`;
const ZONE = 'example.com';

/** 300 TXT owners: the signed zone is well over 16 KiB, so a transfer takes several messages. */
const bulk = Array.from({ length: 300 }, (_, i) => `  host${i}:\n    TXT: "${'x'.repeat(60)} ${i}"\n`).join('');
const ZONE_TEXT = `soa: { mname: ns1, rname: hostmaster }
transfer:
  allow:
    - key: knot-xfr
    - { key: other-xfr, address: 192.0.2.0/24 }
    - address: 10.0.0.0/8
records:
  "@":
    NS: ns1
    MX: 10 mail
  ns1:
    A: 192.0.2.53
  mail:
    A: 192.0.2.25
  sub:
    NS: ns.sub
  ns.sub:
    A: 192.0.2.99
${bulk}`;

const KEY_FILE = (name: string, secret: string): string =>
  `key "${name}" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-axfr-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const state = join(base, 'state');
let server: DaneNsInstance;

beforeAll(async () => {
  mkdirSync(zones, { recursive: true });
  mkdirSync(join(keys, 'tsig'), { recursive: true });
  writeFileSync(join(zones, `${ZONE}.yaml`), ZONE_TEXT);
  writeFileSync(join(keys, 'tsig', 'knot-xfr.key'), KEY_FILE('knot-xfr', SECRET));
  writeFileSync(join(keys, 'tsig', 'other-xfr.key'), KEY_FILE('other-xfr', WRONG));
  server = await startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: state,
    port: await freePort(),
    startTimeoutMs: 60_000,
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

function ask(tool: 'kdig' | 'dig', args: string[], prefix: string[] = []): Promise<ToolRun> {
  return runTool(tool, ['@127.0.0.1', '-p', String(server.port), '+time=5', '+retry=0', ...args], '', prefix);
}

/** The records of a transfer as printed (comments, TSIG and the closing SOA left out). */
function records(out: string): string[] {
  const rrs = out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l));
  expect(rrs.at(-1)).toMatch(/\sSOA\s/);
  return rrs.slice(0, -1);
}

/**
 * A zone text in canonical form: ldns-read-zone -c (one presentation per record), lines sorted. Unless `exact`,
 * with -0: the RRSIG times and signature bytes zeroed (every other field of every record, RRSIGs included, is
 * compared; ldns-verify-zone checks the transferred signatures themselves). `zone export --signed` prints the
 * server's own signatures, so `exact` compares them too.
 */
async function canonical(text: string, name: string, exact = false): Promise<string[]> {
  const file = join(base, name);
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
  const r = await runTool('ldns-read-zone', exact ? ['-c', file] : ['-c', '-0', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).join(' '))
    .sort();
}

/** What `dane-ns zone export ZONE --signed` prints for the served zone (same keys and state directory). */
function exported(): Promise<string> {
  return exec(process.execPath, [
    CLI,
    'zone',
    'export',
    ZONE,
    '--zones',
    zones,
    '--state',
    state,
    '--signed',
    '--keys',
    keys,
  ]);
}

const status = (out: string): string | undefined => /status: ([A-Z]+)/.exec(out)?.[1];

describe('AXFR with TSIG from kdig and dig', () => {
  it('kdig -y gets the whole signed zone in several messages: equal to zone export --signed, valid', async () => {
    const run = await ask('kdig', ['-y', Y, ZONE, 'AXFR']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/failed|;; ERROR/i);
    const messages = Number(/Received \d+ B \((\d+) messages/.exec(run.stdout)?.[1]);
    expect(messages).toBeGreaterThan(2);
    const rrs = records(run.stdout);
    expect(rrs[0]).toMatch(/\sSOA\s/);
    expect(await canonical(rrs.join('\n'), 'kdig.zone')).toEqual(await canonical(await exported(), 'export.zone'));
    // Glue (below the cut, unsigned) travels too; the zone format allows no other data below a cut.
    expect(rrs.some((l) => /^ns\.sub\.example\.com\.\s.*\sA\s+192\.0\.2\.99/.test(l))).toBe(true);
    const zoneFile = join(base, 'axfr.zone');
    writeFileSync(zoneFile, rrs.join('\n') + '\n');
    const verify = await runTool('ldns-verify-zone', [zoneFile]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('zone export --signed prints exactly what the AXFR carries: the same serial, the same RRSIG octets', async () => {
    const run = await ask('kdig', ['-y', Y, ZONE, 'AXFR']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const rrs = records(run.stdout);
    const printed = await exported();
    const transferred = await canonical(rrs.join('\n'), 'kdig-exact.zone', true);
    expect(transferred.filter((l) => / RRSIG /.test(l)).length).toBeGreaterThan(300);
    expect(await canonical(printed, 'export-exact.zone', true)).toEqual(transferred);
    // The export is the server's version, not a fresh signing: the same text every time.
    expect(await exported()).toBe(printed);
  });

  it('dig -y checks the TSIG of every message and gets the same zone', async () => {
    const run = await ask('dig', ['-y', Y, ZONE, 'AXFR']);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/tsig verify failure|Couldn't verify|Transfer failed/i);
    const messages = Number(/XFR size: \d+ records \(messages (\d+),/.exec(run.stdout)?.[1]);
    expect(messages).toBeGreaterThan(2);
    // One TSIG line per message: every message is signed.
    expect(run.stdout.split('\n').filter((l) => /\sTSIG\s/.test(l))).toHaveLength(messages);
    expect(await canonical(records(run.stdout).join('\n'), 'dig.zone')).toEqual(
      await canonical(await exported(), 'export2.zone'),
    );
  });

  it('without a key: REFUSED, and one log line names the client, the key (none) and the zone', async () => {
    const run = await ask('kdig', [ZONE, 'AXFR']);
    expect(run.stdout + run.stderr).toMatch(/REFUSED/);
    expect(server.logs()).toMatch(
      /"event":"transfer-refused","client":"127\.0\.0\.1","key":"none","zone":"example\.com\."/,
    );
  });

  it('a key the zone allows only from another prefix: REFUSED (address and key are both required)', async () => {
    const run = await ask('kdig', ['-y', `hmac-sha256:other-xfr:${WRONG}`, ZONE, 'AXFR']);
    expect(run.stdout + run.stderr).toMatch(/REFUSED/);
    expect(server.logs()).toMatch(/"event":"transfer-refused","client":"127\.0\.0\.1","key":"other-xfr\.","zone"/);
  });

  it('an unknown key: NOTAUTH with BADKEY; a wrong secret: BADSIG; a clock 10 minutes ahead: BADTIME', async () => {
    const unknown = await ask('kdig', ['-y', `hmac-sha256:nobody:${SECRET}`, ZONE, 'AXFR']);
    expect(unknown.stdout + unknown.stderr).toMatch(/BADKEY/);
    const wrong = await ask('dig', ['-y', `hmac-sha256:knot-xfr:${WRONG}`, ZONE, 'AXFR']);
    expect(wrong.stdout + wrong.stderr).toMatch(/BADSIG|NOTAUTH/);
    expect(wrong.stdout).not.toMatch(/XFR size/);
    const late = await ask('kdig', ['-y', Y, ZONE, 'AXFR'], ['faketime', '-f', '+600s']);
    expect(late.stdout + late.stderr).toMatch(/BADTIME/);
  });

  it('AXFR over UDP: NOTIMP (RFC 5936 §4.2)', async () => {
    const run = await ask('kdig', ['+notcp', ZONE, 'AXFR']);
    expect(run.stdout + run.stderr).toMatch(/NOTIMP/);
  });

  it('a TSIG-signed SOA query over UDP: a signed answer that dig accepts', async () => {
    const run = await ask('dig', ['-y', Y, ZONE, 'SOA']);
    expect(run.code).toBe(0);
    expect(status(run.stdout)).toBe('NOERROR');
    expect(run.stdout).toMatch(/TSIG PSEUDOSECTION/);
    expect(run.stdout).toMatch(/\sTSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
    expect(run.stdout + run.stderr).not.toMatch(/tsig verify failure|Couldn't verify/i);
    // An unsigned query right after is not answered from anything the signed one left behind.
    const plain = await ask('dig', [ZONE, 'SOA']);
    expect(plain.stdout).not.toMatch(/TSIG/);
    expect(status(plain.stdout)).toBe('NOERROR');
  });
});

describe('the keyring follows <keys>/tsig while the server runs', () => {
  it('a new key file is used without a restart; a broken one is logged and the last good keys stay', async () => {
    const late = `hmac-sha256:late-xfr:${WRONG}`;
    const before = await ask('kdig', ['-y', late, ZONE, 'AXFR']);
    expect(before.stdout + before.stderr).toMatch(/BADKEY/);
    writeFileSync(join(keys, 'tsig', 'late-xfr.key'), KEY_FILE('late-xfr', WRONG));
    // Known now: verified, and refused only because the zone does not allow it.
    let out = '';
    for (let i = 0; i < 50 && !/REFUSED/.test(out); i++) {
      await delay(100);
      const r = await ask('kdig', ['-y', late, ZONE, 'AXFR']);
      out = r.stdout + r.stderr;
    }
    expect(out).toMatch(/REFUSED/);
    const broken = join(keys, 'tsig', 'broken.key');
    writeFileSync(broken, 'key "broken" {\n\talgorithm hmac-sha256;\n\tsecret "%%%";\n};\n');
    try {
      for (let i = 0; i < 50 && !server.logs().includes('tsig-keys-failed'); i++) await delay(100);
      expect(server.logs()).toMatch(new RegExp(`"event":"tsig-keys-failed","error":"${broken}:3: `));
      const run = await ask('kdig', ['-y', Y, ZONE, 'AXFR']);
      expect(run.stdout).toMatch(/Received \d+ B \(\d+ messages/);
      const still = await ask('kdig', ['-y', late, ZONE, 'AXFR']);
      expect(still.stdout + still.stderr).toMatch(/REFUSED/);
    } finally {
      rmSync(broken);
      rmSync(join(keys, 'tsig', 'late-xfr.key'));
    }
  }, 30_000);
});

describe('a zone added while the server runs, naming a key that is not there yet', () => {
  it('fails to load, naming the key; once `dane-ns tsig generate` writes the key, it loads and transfers', async () => {
    const file = join(zones, 'late.example.yaml');
    writeFileSync(
      file,
      `soa: { mname: ns1, rname: h }\ntransfer:\n  allow:\n    - key: new-xfr\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n`,
    );
    try {
      for (let i = 0; i < 100 && !server.logs().includes('no TSIG key \\"new-xfr.\\"'); i++) await delay(100);
      expect(server.logs()).toContain('late.example.yaml:4: transfer.allow[0].key: no TSIG key \\"new-xfr.\\"');
      const printed = await exec(process.execPath, [CLI, 'tsig', 'generate', 'new-xfr', '--keys', keys]);
      const secret = /secret "([^"]+)"/.exec(printed)![1]!;
      let out = '';
      for (let i = 0; i < 100 && !/Received \d+ B \(1 messages/.test(out); i++) {
        await delay(100);
        out = (await ask('kdig', ['-y', `hmac-sha256:new-xfr:${secret}`, 'late.example', 'AXFR'])).stdout;
      }
      expect(out).toMatch(/late\.example\.\s+\d+\s+IN\s+DNSKEY/);
    } finally {
      rmSync(file);
      rmSync(join(keys, 'tsig', 'new-xfr.key'), { force: true });
    }
  }, 40_000);
});

describe('transfer.allow by address', () => {
  it('an address entry allows unsigned AXFR from 127.0.0.1; a prefix that does not match refuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-axfr-addr-'));
    const z = join(dir, 'zones');
    mkdirSync(z);
    const zoneText = (prefix: string): string =>
      `soa: { mname: ns1, rname: h }\ntransfer:\n  allow:\n    - address: ${prefix}\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n`;
    writeFileSync(join(z, 'allowed.example.yaml'), zoneText('127.0.0.0/8'));
    writeFileSync(join(z, 'refused.example.yaml'), zoneText('::1'));
    const s = await startDaneNs({ zonesDir: z, port: await freePort(), startTimeoutMs: 60_000 });
    try {
      const args = ['@127.0.0.1', '-p', String(s.port), '+time=5', '+retry=0'];
      const ok = await runTool('kdig', [...args, 'allowed.example', 'AXFR']);
      expect(ok.stdout).toMatch(/Received \d+ B \(1 messages, \d+ records\)/);
      expect(ok.stdout).toMatch(/allowed\.example\.\s+\d+\s+IN\s+DNSKEY/);
      const no = await runTool('kdig', [...args, 'refused.example', 'AXFR']);
      expect(no.stdout + no.stderr).toMatch(/REFUSED/);

      // Only the transfer: sections change (the records and so the serial stay): access follows the reload.
      writeFileSync(join(z, 'allowed.example.yaml'), zoneText('::1'));
      writeFileSync(join(z, 'refused.example.yaml'), zoneText('127.0.0.0/8'));
      const t0 = Date.now();
      let revoked = '';
      while (!/REFUSED/.test(revoked) && Date.now() - t0 < 15_000) {
        await delay(200);
        const r = await runTool('kdig', [...args, 'allowed.example', 'AXFR']);
        revoked = r.stdout + r.stderr;
      }
      expect(revoked).toMatch(/REFUSED/);
      const granted = await runTool('kdig', [...args, 'refused.example', 'AXFR']);
      expect(granted.stdout).toMatch(/refused\.example\.\s+\d+\s+IN\s+DNSKEY/);
      // No new version for it: the same serial, the secondaries are not told of anything.
      expect(s.logs().match(/"event":"zone-published","zone":"allowed\.example\."/g)).toHaveLength(1);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a key that names no key file stops the start, naming the key and the file expected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-axfr-nokey-'));
    const z = join(dir, 'zones');
    mkdirSync(z);
    writeFileSync(
      join(z, 'x.example.yaml'),
      `soa: { mname: ns1, rname: h }\ntransfer:\n  allow:\n    - key: missing-key\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n`,
    );
    try {
      const err = await startDaneNs({
        zonesDir: z,
        keysDir: join(dir, 'keys'),
        port: await freePort(),
        startTimeoutMs: 60_000,
      }).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toContain('x.example.yaml:4: transfer.allow[0].key: no TSIG key "missing-key."');
      expect(err).toContain(join(dir, 'keys', 'tsig', 'missing-key.key'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** The knot.conf of the README's "Hidden primary with secondaries", as written there. */
function readmeKnotConf(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Hidden primary with secondaries'));
  const m = /```yaml\n((?: {3}server:\n)(?:.*\n)*?) {3}```/.exec(section);
  expect(m, 'the knot.conf block of the README').not.toBeNull();
  return m![1]!.replace(/^ {3}/gm, '');
}

describe('a real secondary: knotd with dnssec-validation, configured as the README says', () => {
  it('pulls the zone by AXFR with TSIG: same serial, same zone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-axfr-knot-'));
    const knotPort = await freePort();
    for (const sub of ['run', 'db']) mkdirSync(join(dir, sub));
    const readme = readmeKnotConf();
    for (const placeholder of ['0.0.0.0@53', '/run/knot', '/var/lib/knot', 'SECRET', '192.0.2.53@53'])
      expect(readme).toContain(placeholder);
    // The README's configuration with this test's addresses and directories, a log on stderr, and an ACL so
    // that the test can read the zone back from Knot.
    const conf =
      'log:\n  - target: stderr\n    any: info\nacl:\n  - id: test-reads\n    address: 127.0.0.1\n    action: transfer\n' +
      readme
        .replace('0.0.0.0@53', `127.0.0.1@${knotPort}`)
        .replace('/run/knot', join(dir, 'run'))
        .replaceAll('/var/lib/knot', join(dir, 'db'))
        .replace('SECRET', SECRET)
        .replace('192.0.2.53@53', `127.0.0.1@${server.port}`)
        .replace('    master: dane-ns', '    master: dane-ns\n    acl: test-reads');
    writeFileSync(join(dir, 'knot.conf'), conf);
    const knotd = spawn(requireTool('knotd'), ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    knotd.stdout.on('data', (b: Buffer) => (log += b.toString()));
    knotd.stderr.on('data', (b: Buffer) => (log += b.toString()));
    try {
      const ours = await ask('dig', ['+short', ZONE, 'SOA']);
      const serial = ours.stdout.trim().split(/\s+/)[2];
      expect(serial).toMatch(/^\d+$/);
      let theirs = '';
      for (let i = 0; i < 50 && knotd.exitCode === null && !theirs.includes(` ${serial} `); i++) {
        await delay(200);
        const r = await runTool('kdig', [
          '@127.0.0.1',
          '-p',
          String(knotPort),
          '+time=1',
          '+retry=0',
          '+short',
          ZONE,
          'SOA',
        ]);
        theirs = r.stdout;
      }
      expect(theirs, log).toContain(` ${serial} `);
      expect(log).toMatch(/AXFR, incoming, remote 127\.0\.0\.1@\d+, finished/);
      expect(log).toMatch(/DNSSEC, validation successful/);
      const fromKnot = await runTool('kdig', ['@127.0.0.1', '-p', String(knotPort), '+time=5', ZONE, 'AXFR']);
      const fromUs = await ask('kdig', ['-y', Y, ZONE, 'AXFR']);
      expect(await canonical(records(fromKnot.stdout).join('\n'), 'knot.zone')).toEqual(
        await canonical(records(fromUs.stdout).join('\n'), 'ours.zone'),
      );
    } finally {
      if (knotd.exitCode === null && knotd.signalCode === null) {
        const exited = new Promise((r) => knotd.once('exit', r));
        knotd.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
