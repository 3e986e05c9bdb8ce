/**
 * The keys directory is watched (a rollover or a restored key is picked up without a restart), and a change
 * there signs a zone again only when one of its keys changed in content or timing: touching the key files,
 * writing them again with the same content, or adding an unrelated file signs nothing (the same RRSIG served,
 * `dane_ns_zone_signings_total` unchanged); a key's new timing (a ZSK given an Inactive time) is signed within
 * seconds, and the next key event is that time.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZoneKeys, rewriteKeyTiming } from '../../src/dnssec/keyfile.js';
import { parseName } from '../../src/wire/name.js';
import { query, requireTool } from './helpers/dig.js';
import { freePorts } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'kw.example.';

describe('keys directory watched', () => {
  let dir: string;
  let keysDir: string;
  let server: DaneNsInstance;
  let dnsPort: number;
  let httpPort: number;
  const signings = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const m = new RegExp(`^dane_ns_zone_signings_total\\{zone="${ZONE.replace(/\./g, '\\.')}"\\} (\\d+)$`, 'm').exec(
      text,
    );
    if (!m) throw new Error(`no dane_ns_zone_signings_total for ${ZONE}`);
    return Number(m[1]);
  };
  const soaRrsig = async (): Promise<string> => {
    const r = await query({ host: '127.0.0.1', port: dnsPort }, ZONE, 'SOA', { dnssec: true });
    return r.answer.find((rr) => / RRSIG SOA /.test(rr))!;
  };

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-keys-watch-'));
    keysDir = join(dir, 'keys');
    mkdirSync(join(dir, 'zones'));
    writeFileSync(
      join(dir, 'zones', 'kw.example.yaml'),
      `origin: ${ZONE}\nttl: 300\nsoa: { mname: ns1, rname: h, serial: auto, minimum: 60 }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n`,
    );
    [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
    server = await startDaneNs({
      zonesDir: join(dir, 'zones'),
      keysDir,
      stateDir: join(dir, 'state'),
      port: dnsPort,
      extraArgs: ['--http', `127.0.0.1:${httpPort}`],
    });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('touching or rewriting the same key files signs nothing again; a timing change signs within seconds', async () => {
    const n0 = await signings();
    expect(n0).toBeGreaterThan(0);
    const sig0 = await soaRrsig();
    const files = readdirSync(keysDir).filter((f) => /^K.*\.(key|private)$/.test(f));
    expect(files).toHaveLength(4); // a KSK and a ZSK
    const t = new Date();
    for (const f of files) utimesSync(join(keysDir, f), t, t);
    for (const f of files) writeFileSync(join(keysDir, f), readFileSync(join(keysDir, f)));
    writeFileSync(join(keysDir, 'notes.txt'), 'not a key');
    // The directory's watch reacts within its 100 ms debounce: a second and a half is ample for a signing to show.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await signings()).toBe(n0);
    expect(await soaRrsig()).toBe(sig0);

    // The ZSK gets an Inactive time ten days ahead: a timing change, signed again.
    const zsk = loadZoneKeys(keysDir, parseName(ZONE)).keys.find((k) => k.flags === 256)!;
    rewriteKeyTiming(keysDir, { ...zsk, inactive: new Date(Date.now() + 10 * 86400_000) });
    const until = Date.now() + 5000;
    while ((await signings()) === n0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    // Exactly one more: the touches before signed nothing, even late.
    expect(await signings()).toBe(n0 + 1);
  }, 30_000);
});
