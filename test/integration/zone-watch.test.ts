/**
 * Zone files are live: the server watches its zones directory. An edited file is served within a second with a
 * higher serial, and only that zone is re-signed; a file edited into a broken state is logged as
 * file:line: reason while every query keeps its answer from the last good version; fixing it brings the new
 * data; an added file becomes a served zone and a removed one stops being served; a file that is not a zone file
 * is logged once by name and not served, an editor's backup not at all.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const zone = (origin: string, a: string, extra = ''): string => `origin: ${origin}
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${a} }
${extra}`;

describe('zones directory watched', () => {
  let dir: string;
  let server: DaneNsInstance;
  let port: number;
  const www = async (origin: string): Promise<{ rcode: string; a: string[] }> => {
    const r = await query({ host: '127.0.0.1', port }, `www.${origin}`, 'A');
    return { rcode: r.rcode, a: r.answer.map((x) => x.split(' A ')[1]!) };
  };
  const serial = async (origin: string): Promise<number> =>
    Number((await query({ host: '127.0.0.1', port }, origin, 'SOA')).answer[0]!.split(' ')[6]);
  /** Milliseconds until `check` holds (fails after 5 s). */
  const within = async (check: () => Promise<boolean>): Promise<number> => {
    const t0 = performance.now();
    while (!(await check())) {
      if (performance.now() - t0 > 5000) throw new Error(`condition never held\n${server.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return performance.now() - t0;
  };

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-zone-watch-'));
    writeFileSync(join(dir, 'one.example.yaml'), zone('one.example.', '192.0.2.1'));
    writeFileSync(join(dir, 'two.example.yaml'), zone('two.example.', '192.0.2.2'));
    port = await freePort();
    server = await startDaneNs({ zonesDir: dir, port });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an edited file is served within 1 s with a higher serial; only that zone is re-signed', async () => {
    const s0 = await serial('one.example.');
    const s2 = await serial('two.example.');
    const logBefore = server.logs().length;
    writeFileSync(join(dir, 'one.example.yaml'), zone('one.example.', '192.0.2.11'));
    const ms = await within(async () => (await www('one.example.')).a.join() === '192.0.2.11');
    expect(ms).toBeLessThan(1000);
    expect(await serial('one.example.')).toBeGreaterThan(s0);
    expect(await serial('two.example.')).toBe(s2);
    const newLogs = server
      .logs()
      .slice(logBefore)
      .split('\n')
      .filter((l) => l.includes('"event":"zone-signed"'));
    expect(newLogs.length).toBeGreaterThan(0);
    expect(newLogs.every((l) => l.includes('"zone":"one.example."'))).toBe(true);
  });

  it('a broken edit: every query keeps its answer, the error names file:line; the fix is served within 1 s', async () => {
    const queries: Promise<{ rcode: string; a: string[] }>[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        queries.push(www('one.example.'));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    writeFileSync(join(dir, 'one.example.yaml'), zone('one.example.', '192.0.2.11', '  bad: { A: 300.1.2.3 }\n'));
    await within(async () => server.logs().includes('"event":"zone-load-failed"'));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    const answers = await Promise.all(queries);
    expect(answers.length).toBeGreaterThan(5);
    for (const a of answers) expect(a).toEqual({ rcode: 'NOERROR', a: ['192.0.2.11'] });
    expect(server.logs()).toMatch(
      /"event":"zone-load-failed","file":"one\.example\.yaml","problems":\["[^"]*one\.example\.yaml:8: bad A \\"300\.1\.2\.3\\"/,
    );
    writeFileSync(join(dir, 'one.example.yaml'), zone('one.example.', '192.0.2.12'));
    expect(await within(async () => (await www('one.example.')).a.join() === '192.0.2.12')).toBeLessThan(1000);
  });

  it('an added file becomes a served zone; a removed file stops being served', async () => {
    writeFileSync(join(dir, 'three.example.yaml'), zone('three.example.', '192.0.2.3'));
    await within(async () => (await www('three.example.')).a.join() === '192.0.2.3');
    const dnskey = await query({ host: '127.0.0.1', port }, 'three.example.', 'DNSKEY', { dnssec: true });
    expect(dnskey.answer.some((r) => r.includes(' RRSIG DNSKEY '))).toBe(true);
    unlinkSync(join(dir, 'three.example.yaml'));
    await within(async () => (await www('three.example.')).rcode === 'REFUSED');
    expect((await www('two.example.')).a).toEqual(['192.0.2.2']);
  });

  it('a file not named <zone>.yaml is logged once as zone-file-ignored and not served; an editor backup silently', async () => {
    const logBefore = server.logs().length;
    writeFileSync(join(dir, 'four.example.yaml.good'), zone('four.example.', '192.0.2.4'));
    writeFileSync(join(dir, 'two.example.yaml~'), zone('two.example.', '192.0.2.99'));
    await within(async () => server.logs().slice(logBefore).includes('"event":"zone-file-ignored"'));
    // A change elsewhere makes the server read the directory again: the stray file is not logged a second time.
    writeFileSync(join(dir, 'one.example.yaml'), zone('one.example.', '192.0.2.13'));
    await within(async () => (await www('one.example.')).a.join() === '192.0.2.13');
    const ignored = [...server.logs().matchAll(/\{[^\n]*"event":"zone-file-ignored"[^\n]*\}/g)].map(
      (m) => JSON.parse(m[0]) as Record<string, unknown>,
    );
    expect(ignored.map((e) => [e.level, e.file, e.reason])).toEqual([
      ['warn', 'four.example.yaml.good', 'not a zone file: zone files must be named <zone>.yaml or <zone>.yml'],
    ]);
    expect((await www('four.example.')).rcode).toBe('REFUSED');
    expect((await www('two.example.')).a).toEqual(['192.0.2.2']);
  });
});
