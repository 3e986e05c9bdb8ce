/**
 * A tiny TSIG-speaking DNS peer for the tests of src/dnssec/tsig.ts and tsigkey.ts: UDP and TCP on one
 * 127.0.0.1 port, every message verified with verify() (RFC 8945 §5.2) and recorded, and answered the way a
 * primary would: an SOA query with the SOA, AXFR with a stream of three messages (SOA ... SOA, RFC 5936 §2.2)
 * signed per RFC 8945 §4.3.2/§4.3.3, UPDATE with NOERROR, and a TSIG failure with errorResponse() (§5.3.2).
 * kdig, dig and nsupdate are the clients; they check our signatures and print what they think of them.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { signMessage, signStream, verify, type TsigKey, type VerifyResult } from '../../../src/dnssec/tsig.js';
import { errorResponse } from '../../../src/dnssec/tsigerror.js';
import { makeFlags, opcode } from '../../../src/wire/header.js';
import { decodeMessage, encodeMessage, type Message, type RR } from '../../../src/wire/message.js';
import { parseName } from '../../../src/wire/name.js';
import { rdataFromText } from '../../../src/wire/rdata.js';
import { CLASS_IN, T } from '../../../src/wire/types.js';
import { requireTool } from './dig.js';

export const ZONE = parseName('example.com.');

export interface Exchange {
  transport: 'udp' | 'tcp';
  query: Uint8Array;
  result: VerifyResult;
  answers: Uint8Array[];
}

export interface PeerOptions {
  /** Flip one bit of the MAC of the answer message with this index (0 = the first), to check that clients notice. */
  tamper?: number;
}

export interface Peer {
  port: number;
  exchanges: Exchange[];
  close(): Promise<void>;
}

function rr(owner: string, type: number, rdata: string): RR {
  return { name: parseName(owner, ZONE), type, class: CLASS_IN, ttl: 300, rdata: rdataFromText(type, rdata, ZONE) };
}

const SOA = rr('@', T.SOA, 'ns1 hostmaster 2026120201 7200 3600 1209600 300');
/** The zone as three AXFR messages: SOA first and last (RFC 5936 §2.2). */
const AXFR_PARTS: RR[][] = [
  [SOA, rr('@', T.NS, 'ns1'), rr('ns1', T.A, '192.0.2.53')],
  [rr('www', T.A, '192.0.2.80'), rr('www', T.TXT, '"second message"')],
  [rr('mail', T.A, '192.0.2.25'), SOA],
];

/** The request without its TSIG, decoded (the TSIG offset is where the MAC input stops). */
function requestOf(query: Uint8Array, result: VerifyResult): Message {
  const offset = result.ok ? result.offset : query.length;
  const bare = query.slice(0, offset);
  if (result.ok) bare[11]! -= 1; // ARCOUNT without the TSIG (fewer than 256 additional records here)
  return decodeMessage(bare);
}

function reply(req: Message, answer: RR[], rcode = 0): Uint8Array {
  const msg: Message = {
    id: req.id,
    flags: makeFlags({ qr: true, aa: true, opcode: opcode(req.flags), rcode }),
    questions: req.questions,
    answer,
    authority: [],
    additional: [],
    edns: null,
  };
  return encodeMessage(msg).bytes;
}

function answer(query: Uint8Array, result: VerifyResult, now: number): Uint8Array[] {
  if (!result.ok) {
    if (result.error === 0 || !result.record) return [];
    return [errorResponse(reply(decodeMessage(query), []), result, now)];
  }
  const req = requestOf(query, result);
  const chain = { mac: result.record.mac };
  const q = req.questions[0];
  if (q?.type === T.AXFR)
    return signStream(
      AXFR_PARTS.map((p) => reply(req, p)),
      result.key,
      result.record.mac,
    );
  const body = q?.type === T.SOA ? [SOA] : [];
  return [signMessage(reply(req, body), result.key, { chain }).bytes];
}

/** Starts the peer on a free port with UDP and TCP; `keys` is its keyring. */
export async function startPeer(keys: readonly TsigKey[], opts: PeerOptions = {}): Promise<Peer> {
  const lookup = (n: { key: string }) => keys.find((k) => k.name.key === n.key);
  const exchanges: Exchange[] = [];
  const handle = (transport: 'udp' | 'tcp', query: Uint8Array): Uint8Array[] => {
    const now = Math.floor(Date.now() / 1000);
    const result = verify(query, lookup, now);
    const answers = answer(query, result, now);
    const t = opts.tamper === undefined ? undefined : answers[opts.tamper];
    // The last MAC octet sits before Original ID, Error and Other Len (Other Data is empty in these answers).
    if (t) t[t.length - 7]! ^= 1;
    exchanges.push({ transport, query, result, answers });
    return answers;
  };
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4');
    udp.on('message', (m, rinfo) => {
      for (const a of handle('udp', new Uint8Array(m))) udp.send(a, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const tcp = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const query = new Uint8Array(buf.subarray(2, 2 + len));
          buf = buf.subarray(2 + len);
          for (const a of handle('tcp', query))
            sock.write(Buffer.concat([Buffer.from([a.length >> 8, a.length & 0xff]), a]));
        }
      });
      sock.on('error', () => sock.destroy());
    });
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return { port, exchanges, close: () => closeBoth(udp, tcp) };
    udp.close();
    if (attempt > 5) throw new Error('no port free for both UDP and TCP');
  }
}

function closeBoth(udp: Socket, tcp: Server): Promise<void> {
  udp.close();
  return new Promise((resolve) => tcp.close(() => resolve()));
}

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool (required: a missing one fails the test), with stdin; resolves with exit code and output. */
export function runTool(tool: string, args: readonly string[], input = '', prefix: string[] = []): Promise<ToolRun> {
  const bin = requireTool(tool);
  const [cmd, ...rest] =
    prefix.length > 0 ? [requireTool(prefix[0]!), ...prefix.slice(1), bin, ...args] : [bin, ...args];
  return new Promise((resolve) => {
    const child = execFile(cmd!, rest, { timeout: 20_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    // A tool that exits before reading its input (kdig, most of the time) must not fail the test with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}
