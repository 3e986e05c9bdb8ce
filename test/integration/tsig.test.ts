/**
 * TSIG (src/dnssec/tsig.ts) against real implementations: kdig (Knot DNS) and dig (BIND 9) send signed queries
 * over UDP and TCP to a peer on 127.0.0.1 (tsigpeer.ts); our verify() must accept them, or reject them with
 * BADSIG, BADKEY or BADTIME (RFC 8945 §5.2) when the secret, key or clock is wrong (faketime shifts kdig's
 * clock). The peer's signed answers, single and an AXFR stream of three messages (§4.3.2, §4.3.3), must in turn
 * be accepted by the tools. Every positive check has a control: an answer with one MAC bit flipped, which the tool
 * must reject, so that "no complaint" means something.
 *
 * kdig 3.2 checks the TSIG of the first message of an AXFR only (a flipped MAC bit in the second or third
 * message went unnoticed when these tests were written), so dig, which checks every message and has a control
 * for each, is what proves the chaining of later messages (§4.3.3).
 *
 * The tools are required (Debian knot-dnsutils, bind9-dnsutils, faketime): a missing one fails the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BADKEY, BADSIG, BADTIME, TSIG_ALGORITHMS, type TsigKey } from '../../src/dnssec/tsig.js';
import { parseName } from '../../src/wire/name.js';
import { runTool, startPeer, type Peer, type PeerOptions, type ToolRun } from './helpers/tsigpeer.js';

const SECRET_B64 = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const SECRET = new Uint8Array(Buffer.from(SECRET_B64, 'base64'));
const KEY: TsigKey = { name: parseName('xfr-key.'), algorithm: 'hmac-sha256', secret: SECRET };
const Y = `hmac-sha256:xfr-key:${SECRET_B64}`;

let peer: Peer | null = null;
afterEach(async () => {
  await peer?.close();
  peer = null;
});

async function ask(
  tool: 'kdig' | 'dig',
  args: string[],
  opts: PeerOptions & { keys?: TsigKey[]; faketime?: string } = {},
): Promise<ToolRun & { peer: Peer }> {
  peer = await startPeer(opts.keys ?? [KEY], opts);
  const prefix = opts.faketime ? ['faketime', '-f', opts.faketime] : [];
  const run = await runTool(tool, ['@127.0.0.1', '-p', String(peer.port), '+timeout=5', ...args], '', prefix);
  return { ...run, peer };
}

/** What each tool prints when a TSIG of an answer does not verify. */
function complaint(tool: 'kdig' | 'dig', run: ToolRun): boolean {
  const all = run.stdout + run.stderr;
  return tool === 'kdig'
    ? /failed to verify TSIG|reply verification/.test(all)
    : /Couldn't verify signature|could not be validated/.test(all);
}

describe('kdig and dig queries', () => {
  for (const tool of ['kdig', 'dig'] as const)
    for (const tcp of [false, true]) {
      const transport = tcp ? 'tcp' : 'udp';
      it(`${tool} over ${transport}: we verify the query, ${tool} verifies our signed answer`, async () => {
        const run = await ask(tool, [...(tcp ? ['+tcp'] : []), '-y', Y, 'example.com', 'SOA']);
        expect(run.code).toBe(0);
        const [ex] = run.peer.exchanges;
        expect([ex?.transport, ex?.result.ok]).toEqual([transport, true]);
        expect(run.stdout).toMatch(/TSIG PSEUDOSECTION/);
        expect(run.stdout).toMatch(/status: NOERROR/);
        expect(run.stdout).toMatch(/SOA\s+ns1\.example\.com\. hostmaster\.example\.com\. 2026120201/);
        expect(complaint(tool, run)).toBe(false);
      });

      it(`${tool} over ${transport}: control, one flipped bit of our MAC is noticed`, async () => {
        const run = await ask(tool, [...(tcp ? ['+tcp'] : []), '-y', Y, 'example.com', 'SOA'], { tamper: 0 });
        expect(run.peer.exchanges[0]?.result.ok).toBe(true);
        expect(complaint(tool, run)).toBe(true);
      });
    }

  it('kdig with every algorithm of RFC 8945 §6', async () => {
    for (const algorithm of TSIG_ALGORITHMS) {
      const key: TsigKey = { name: parseName('alg-key.'), algorithm, secret: SECRET };
      const run = await ask('kdig', ['-y', `${algorithm}:alg-key:${SECRET_B64}`, 'example.com', 'SOA'], {
        keys: [key],
      });
      expect([algorithm, run.peer.exchanges[0]?.result.ok]).toEqual([algorithm, true]);
      expect(run.stdout).toContain(`TSIG\t${algorithm}.`);
      expect([algorithm, complaint('kdig', run)]).toEqual([algorithm, false]);
      await peer?.close();
      peer = null;
    }
  });
});

describe('rejections (RFC 8945 §5.2) and the answers kdig sees (§5.3.2)', () => {
  it('a wrong secret: BADSIG, answered unsigned with BADSIG', async () => {
    const run = await ask('kdig', [
      '-y',
      `hmac-sha256:xfr-key:${Buffer.alloc(32, 7).toString('base64')}`,
      'example.com',
    ]);
    const r = run.peer.exchanges[0]?.result;
    expect(r && !r.ok && r.error).toBe(BADSIG);
    expect(run.stdout).toMatch(/status: BADSIG/);
    expect(run.stdout).toMatch(/hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/); // MAC size 0
  });

  it('an unknown key: BADKEY, answered unsigned with BADKEY', async () => {
    const run = await ask('kdig', ['-y', `hmac-sha256:nobody:${SECRET_B64}`, 'example.com']);
    const r = run.peer.exchanges[0]?.result;
    expect(r && !r.ok && r.error).toBe(BADKEY);
    expect(run.stdout).toMatch(/nobody\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADKEY 0/);
  });

  it("kdig's clock 600 s ahead: BADTIME, answered signed with our time in Other Data", async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await ask('kdig', ['-y', Y, 'example.com', 'SOA'], { faketime: '+600s' });
    const r = run.peer.exchanges[0]?.result;
    expect(r && !r.ok && r.error).toBe(BADTIME);
    expect(Math.abs(r!.record!.timeSigned - before - 600)).toBeLessThanOrEqual(5);
    const m = /hmac-sha256\. (\d+) 300 32 \S+ \d+ BADTIME 6 (\d+)/.exec(run.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(r!.record!.timeSigned); // the request's Time Signed, as BIND does
    expect(Math.abs(Number(m![2]) - before)).toBeLessThanOrEqual(5); // our clock
  });
});

describe('a signed AXFR stream of three messages (RFC 8945 §4.3.3)', () => {
  const AXFR = ['-y', Y, 'example.com', 'AXFR'];

  it('kdig accepts it (it checks the first message)', async () => {
    const run = await ask('kdig', AXFR);
    expect(run.code).toBe(0);
    expect(run.peer.exchanges[0]).toMatchObject({ transport: 'tcp', result: { ok: true } });
    expect(run.stdout).toMatch(/\(3 messages, 7 records\)/);
    expect(complaint('kdig', run)).toBe(false);
  });

  it('kdig control: a flipped bit in the first MAC fails the transfer', async () => {
    const run = await ask('kdig', AXFR, { tamper: 0 });
    expect(run.code).not.toBe(0);
    expect(complaint('kdig', run)).toBe(true);
  });

  it('dig accepts it, checking every message', async () => {
    const run = await ask('dig', AXFR);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/XFR size: 7 records \(messages 3, bytes \d+\)/);
    expect(run.stdout.match(/TSIG\s+hmac-sha256\./g)).toHaveLength(3);
    expect(complaint('dig', run)).toBe(false);
  });

  for (const tamper of [1, 2])
    it(`dig control: a flipped bit in the MAC of message ${tamper + 1} is noticed`, async () => {
      const run = await ask('dig', AXFR, { tamper });
      expect(complaint('dig', run)).toBe(true);
    });
});
