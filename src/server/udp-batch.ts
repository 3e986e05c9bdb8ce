/**
 * DNS over UDP through the optional native addon in native/ (recvmmsg/sendmmsg, one JS call per batch
 * of up to 64 datagrams instead of one libuv callback + one sendto per datagram). Same contract as `listenUdp`
 * in udp.ts, with these differences:
 *  - the query bytes handed to the handler are a view into a receive buffer that is reused for the next batch:
 *    they are valid only during the handler call (a handler that keeps them must copy them);
 *  - datagrams larger than `maxQueryBytes` (default 4096) are dropped unanswered;
 *  - IPv6 link-local sources are reported without a `%scope` suffix;
 *  - Linux only. The addon is built by `npm run build` (scripts/build-native.mjs); without it `listenUdpBatch`
 *    rejects and serve.ts falls back to node:dgram (udp.ts).
 *
 * The answers of a batch are copied into one shared send buffer and go out with a single sendmmsg once the whole
 * batch has been handled, so the handler's returned bytes are read exactly once and never modified.
 */
import { createRequire } from 'node:module';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ipv6Format } from '../wire/text.js';
import {
  safeReporter,
  stripBrackets,
  type Handler,
  type ListenOptions,
  type Listener,
  type Remote,
} from './transport.js';

/** The largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP); anything above cannot be sent. */
const MAX_UDP_PAYLOAD = 65507;
const META_INTS = 8; // per datagram: [len, port, family, 0] then 16 address bytes

interface NativeServer {
  handle: unknown;
  port: number;
  in: ArrayBuffer;
  meta: ArrayBuffer;
  out: ArrayBuffer;
  ctl: ArrayBuffer;
}

interface Addon {
  open(
    host: string,
    port: number,
    family: 4 | 6,
    batch: number,
    inSlot: number,
    outCap: number,
    mode: number,
    onBatch: ((count: number, queries?: (Buffer | null)[]) => unknown) | undefined,
  ): NativeServer;
  sendOne(handle: unknown, index: number, bytes: Uint8Array): boolean;
  stats(handle: unknown): [number, number, number, number, number, number, number];
  close(handle: unknown, done?: () => void): void;
}

const ADDON_PATH = '../../native/build/Release/udp_batch.node';
let addon: Addon | null = null;
let loadError: unknown = null;

function loadAddon(): Addon {
  if (addon) return addon;
  if (loadError === null) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
      return addon;
    } catch (err) {
      loadError = err;
    }
  }
  const why = loadError instanceof Error ? loadError.message : String(loadError);
  throw new Error(
    `udp-batch: the native addon is not available (${why}). ` +
      'It is optional and Linux-only: build it with `cd native && npx node-gyp rebuild` ' +
      '(needs python3, make, a C compiler and Node headers), or use the dgram transport (udp.ts).',
  );
}

/** True when the addon loads on this machine (the caller can fall back to `listenUdp` otherwise). */
export function udpBatchAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}

export interface UdpBatchOptions extends ListenOptions {
  /** Datagrams per recvmmsg/sendmmsg and per JS call; 1..256, default 64. */
  batch?: number;
  /** Receive slot per datagram; larger queries are dropped. 512..65536, default 4096. */
  maxQueryBytes?: number;
  /**
   * @internal For bench/udp-ceiling.sh only: 'array' hands the batch to JS as an array of fresh Buffers
   * (measures the alternative design), 'native' answers in C with the query echoed (no JS: the syscall ceiling).
   * Both exist only in an addon built with UDP_BATCH_MEASURE (the bench builds its own); `npm run build`'s addon
   * rejects them with a RangeError.
   */
  mode?: 'shared' | 'array' | 'native';
}

export interface UdpBatchListener extends Listener {
  /**
   * Counters since start: batches, datagrams, skipped datagrams (too large, source port 0), send errors, sends
   * dropped (send buffer full), exceptions that escaped the batch callback (a bug: they are swallowed), N-API
   * calls that failed in the event loop (each one cost its batch or a cleanup step; 0 unless the runtime is broken).
   */
  stats(): {
    batches: number;
    packets: number;
    skipped: number;
    sendErrors: number;
    sendDropped: number;
    jsErrors: number;
    napiErrors: number;
  };
}

async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const h = stripBrackets(host);
  const fam = isIP(h);
  if (fam === 4 || fam === 6) return { address: h, family: fam };
  // Like dgram on a udp4 socket (udp.ts picks udp6 only for IPv6 literals).
  const r = await lookup(h, { family: 4 });
  return { address: r.address, family: 4 };
}

/**
 * Binds a UDP socket on `host:port` (port 0: any free port, read back in `address`) and answers each datagram
 * through `handler`, in batches. Resolves once bound; rejects on a bind error (EADDRINUSE, EACCES...) or when
 * the addon is not built.
 */
export async function listenUdpBatch(opts: UdpBatchOptions): Promise<UdpBatchListener> {
  const native = loadAddon();
  const batch = opts.batch ?? 64;
  const slot = opts.maxQueryBytes ?? 4096;
  const mode = opts.mode === 'array' ? 1 : opts.mode === 'native' ? 2 : 0;
  if (!Number.isInteger(batch) || batch < 1 || batch > 256)
    throw new RangeError(`udp-batch: batch ${batch} out of 1..256`);
  if (!Number.isInteger(slot) || slot < 512 || slot > 65536) {
    throw new RangeError(`udp-batch: maxQueryBytes ${slot} out of 512..65536`);
  }
  const { address: host, family } = await resolveHost(opts.host);
  const handler: Handler = opts.handler;
  const onError = opts.onError;

  const report = safeReporter(onError);

  let srv: NativeServer | null = null;
  let closed = false;
  // Set once `open` returns; datagrams cannot arrive before (the callback runs from the event loop only).
  let handle: unknown = null;
  let meta32 = new Int32Array(0);
  let meta8 = new Uint8Array(0);
  let inBuf = new ArrayBuffer(0);
  let outBytes = new Uint8Array(0);
  let ctl = new Int32Array(0);
  let outCap = 0;

  // The same client shows up again and again under load: keep its address string.
  let lastV4 = -1;
  let lastV4Text = '';
  const lastV6 = new Uint8Array(16);
  let lastV6Text = '';

  const remoteOf = (i: number): Remote | null => {
    const m = i * META_INTS;
    const port = meta32[m + 1]!;
    const o = m * 4 + 16;
    if (meta32[m + 2] === 4) {
      const key = meta32[m + 4]!; // the 4 address bytes as one int
      if (key !== lastV4) {
        lastV4 = key;
        lastV4Text = `${meta8[o]}.${meta8[o + 1]}.${meta8[o + 2]}.${meta8[o + 3]}`;
      }
      return { address: lastV4Text, port, family: 'IPv4' };
    }
    let same = lastV6Text !== '';
    for (let k = 0; same && k < 16; k++) same = lastV6[k] === meta8[o + k];
    if (!same) {
      lastV6.set(meta8.subarray(o, o + 16));
      lastV6Text = ipv6Format(meta8, o);
    }
    return { address: lastV6Text, port, family: 'IPv6' };
  };

  const answer = (query: Uint8Array, i: number): Uint8Array | null => {
    const remote = remoteOf(i);
    if (!remote) return null;
    try {
      return handler(query, 'udp', remote);
    } catch (err) {
      report(err);
      return null;
    }
  };

  // Shared mode: queries are read from `in`, answers packed into `out` with [offset, length] in `ctl`.
  const onBatchShared = (count: number): void => {
    let pos = 0;
    for (let i = 0; i < count && !closed; i++) {
      const len = meta32[i * META_INTS]!;
      if (len < 0) continue;
      const out = answer(new Uint8Array(inBuf, i * slot, len), i);
      if (out === null || out.length === 0 || out.length > MAX_UDP_PAYLOAD) continue;
      if (pos + out.length <= outCap) {
        outBytes.set(out, pos);
        ctl[2 * i] = pos;
        ctl[2 * i + 1] = out.length;
        pos += out.length;
      } else {
        native.sendOne(handle, i, out); // rare: a batch of answers larger than `out`
      }
    }
  };

  // Array mode (measurement only): fresh Buffers in, an array of answers out.
  const onBatchArray = (count: number, queries?: (Buffer | null)[]): (Uint8Array | null)[] => {
    const res: (Uint8Array | null)[] = new Array<Uint8Array | null>(count).fill(null);
    if (!queries) return res;
    for (let i = 0; i < count && !closed; i++) {
      const q = queries[i];
      if (!q) continue;
      const out = answer(q, i);
      if (out !== null && out.length > 0 && out.length <= MAX_UDP_PAYLOAD) res[i] = out;
    }
    return res;
  };

  srv = native.open(
    host,
    opts.port,
    family,
    batch,
    slot,
    batch * 2048,
    mode,
    mode === 1 ? onBatchArray : onBatchShared,
  );
  handle = srv.handle;
  meta32 = new Int32Array(srv.meta);
  meta8 = new Uint8Array(srv.meta);
  inBuf = srv.in;
  outBytes = new Uint8Array(srv.out);
  outCap = outBytes.length;
  ctl = new Int32Array(srv.ctl);

  let closing: Promise<void> | null = null;
  return {
    address: { host, port: srv.port },
    close(): Promise<void> {
      closing ??= new Promise<void>((done) => {
        closed = true;
        try {
          native.close(handle, () => done());
        } catch (err) {
          report(err);
          done();
        }
      });
      return closing;
    },
    stats() {
      const [batches, packets, skipped, sendErrors, sendDropped, jsErrors, napiErrors] = native.stats(handle);
      return { batches, packets, skipped, sendErrors, sendDropped, jsErrors, napiErrors };
    },
  };
}
