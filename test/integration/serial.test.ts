/**
 * Serials of the signed zone on the wire (RFC 1982, RFC 4035 §2): a signature refresh raises the SOA serial and
 * the served SOA RRSIG verifies over the new SOA; a restart with unchanged files serves the same serial and the
 * same octets (SOA, DNSKEY and an A record, each with its RRSIG) without signing again; an edit after the
 * restart raises the serial. The zone has a short signature validity (61 s, refreshed with 30 s left; the
 * expirations spread over 4 s: docs/zone-format.md), so a refresh comes in steps from 27 s after each signing
 * on: once the steps are over there is time enough for the restart to land before the next one is due, on a
 * busy machine too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { parseName } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ORIGIN = 'serial.example.';
const zone = (a: string): string => `origin: ${ORIGIN}
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
dnssec: { signature-validity: 61s, refresh-before: 30s }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${a} }
`;

describe('a serial per signed version', () => {
  let dir: string;
  let port: number;
  let server: DaneNsInstance | undefined;
  const dirs = (): { zonesDir: string; keysDir: string; stateDir: string } => ({
    zonesDir: join(dir, 'zones'),
    keysDir: join(dir, 'keys'),
    stateDir: join(dir, 'state'),
  });
  const ask = (name: string, type: string) => query({ host: '127.0.0.1', port }, name, type, { dnssec: true });
  const serial = async (): Promise<number> =>
    Number((await ask(ORIGIN, 'SOA')).answer.find((l) => l.includes(' SOA '))!.split(' ')[6]);
  /** The answers compared across the restart, as kdig prints them (RRSIG octets in base64). */
  const answers = async (): Promise<string[]> =>
    [
      ...(await ask(ORIGIN, 'SOA')).answer,
      ...(await ask(ORIGIN, 'DNSKEY')).answer,
      ...(await ask(`www.${ORIGIN}`, 'A')).answer,
    ].sort();
  /** Whether the served SOA RRSIG verifies over the served SOA with the zone signing key (flags 256). */
  const soaVerifies = async (): Promise<boolean> => {
    const origin = parseName(ORIGIN);
    const soa = (await ask(ORIGIN, 'SOA')).answer;
    const soaLine = soa.find((l) => l.includes(' SOA '))!.split(' ');
    const sigLine = soa.find((l) => l.includes(' RRSIG SOA '))!.split(' ');
    const zsk = (await ask(ORIGIN, 'DNSKEY')).answer.find((l) => / DNSKEY 256 /.test(l))!.split(' ');
    const rrset = {
      owner: origin,
      type: T.SOA,
      ttl: Number(soaLine[1]),
      rdatas: [rdataFromText(T.SOA, soaLine.slice(4).join(' '), origin)],
    };
    const key = rdataFromText(T.DNSKEY, zsk.slice(4).join(' '), origin).subarray(4);
    return verifyRRsig(rrset, rdataFromText(T.RRSIG, sigLine.slice(4).join(' '), origin), key);
  };
  const until = async (check: () => Promise<boolean>, ms: number): Promise<void> => {
    const t0 = Date.now();
    while (!(await check())) {
      if (Date.now() - t0 > ms) throw new Error(`condition never held\n${server?.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-serial-'));
    mkdirSync(dirs().zonesDir);
    writeFileSync(join(dirs().zonesDir, 'serial.example.yaml'), zone('192.0.2.1'));
    port = await freePort();
    server = await startDaneNs({ ...dirs(), port });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a refresh raises the serial; a restart serves the same serial and octets; an edit raises it', async () => {
    const s0 = await serial();
    expect(Math.abs(s0 - Date.now() / 1000)).toBeLessThan(60); // auto: the Unix time
    expect(await soaVerifies()).toBe(true);
    await until(async () => (await serial()) > s0, 50_000); // the refresh, 31 s after signing
    // The expirations are spread over up to 1/14 of the validity (4 s here), so the refresh comes in steps,
    // each a new serial: the restart is compared with the serial once no step has come for 5 s.
    let s1 = await serial();
    for (let settled = Date.now(); Date.now() - settled < 5000;) {
      await new Promise((r) => setTimeout(r, 250));
      const s = await serial();
      if (s !== s1) [s1, settled] = [s, Date.now()];
    }
    expect(await soaVerifies()).toBe(true);
    const before = await answers();
    expect(before.some((l) => l.includes(' RRSIG A '))).toBe(true);

    await server!.stop();
    server = await startDaneNs({ ...dirs(), port });
    expect(await serial()).toBe(s1);
    expect(await answers()).toEqual(before);
    expect(server.logs()).toContain('"event":"zone-signatures-restored"');
    expect(server.logs()).not.toContain('"event":"zone-signed"');

    writeFileSync(join(dirs().zonesDir, 'serial.example.yaml'), zone('192.0.2.2'));
    await until(async () => (await ask(`www.${ORIGIN}`, 'A')).answer.some((l) => l.includes('192.0.2.2')), 5000);
    expect(await serial()).toBeGreaterThan(s1);
    expect(await soaVerifies()).toBe(true);
  }, 120_000);
});
