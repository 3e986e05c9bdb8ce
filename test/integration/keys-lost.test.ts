/**
 * Lost keys: deleting the key files of a signed zone and restarting must not produce new keys (that would
 * break the DS at the parent): the server says so in a clear error, leaves that zone out (it has no signed
 * version in memory after a restart), and every other zone carries on, signed with its own keys.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { REPO_ROOT, startDaneNs } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-keys-lost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('key files lost between restarts', () => {
  it('no new keys, a clear error, the zone left out, other zones signed as before', async () => {
    requireTool('kdig');
    const zones = join(dir, 'zones');
    const keysDir = join(dir, 'keys');
    const stateDir = join(dir, 'state');
    cpSync(join(REPO_ROOT, 'test/fixtures/oracle/example.com.yaml'), join(zones, 'example.com.yaml'));
    cpSync(join(REPO_ROOT, 'test/fixtures/oracle/example.net.yaml'), join(zones, 'example.net.yaml'));

    const first = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir, stateDir });
    const server1 = { host: '127.0.0.1', port: first.port };
    expect(
      (await query(server1, 'example.com.', 'DNSKEY', { dnssec: true })).answer.some((l) =>
        / DNSKEY 257 3 13 /.test(l),
      ),
    ).toBe(true);
    const netKeys1 = (await query(server1, 'example.net.', 'DNSKEY')).answer.sort();
    await first.stop();

    const comKeys = readdirSync(keysDir).filter((f) => f.startsWith('Kexample.com.+013+'));
    expect(comKeys).toHaveLength(4); // KSK + ZSK, .key + .private
    for (const f of comKeys) unlinkSync(join(keysDir, f));

    const second = await startDaneNs({ zonesDir: zones, port: await freePort(), keysDir, stateDir });
    const server2 = { host: '127.0.0.1', port: second.port };
    try {
      const err = second
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; event: string; error?: string; zone?: string })
        .find((e) => e.event === 'zone-keys-missing');
      expect(err?.level).toBe('error');
      expect(err?.zone).toBe('example.com.');
      expect(err?.error).toMatch(/not generating new ones, because that would break the DS at the parent/);
      // No new key files for example.com.
      expect(readdirSync(keysDir).filter((f) => f.startsWith('Kexample.com.+013+'))).toEqual([]);
      // The zone is left out; the other zone is served with the same keys as before.
      expect((await query(server2, 'example.com.', 'SOA')).rcode).toBe('REFUSED');
      expect((await query(server2, 'example.net.', 'DNSKEY')).answer.sort()).toEqual(netKeys1);
      const soa = await query(server2, 'example.net.', 'SOA', { dnssec: true });
      expect(soa.answer.some((l) => / RRSIG SOA 13 /.test(l))).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
