/**
 * `dane-ns status`, `dane-ns reload` and `dane-ns zone list`: ask the running server through its control socket
 * (`<state>/control.sock`, server/control.ts; the protocol is in docs/control.md) and print the answer as text
 * (control-text.ts) or, with --json, as the server's JSON object.
 */
import { connect } from 'node:net';
import type { ControlRequest } from '../server/control.js';
import { controlSocketPath } from '../server/control-lock.js';
import { domainName, noPositionals, parseOptions, UsageError, type Args } from './args.js';
import { renderReload, renderStatus, renderZoneList } from './control-text.js';
import { directory } from './env.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

/** How long the command waits for the server's answer (a reload signs what changed, which may take a while). */
const ANSWER_TIMEOUT_MS = 120_000;

/** The server's answer: `ok` and the command's fields, or `ok: false` with `error`. */
type Answer = Record<string, unknown> & { ok: boolean; error?: string };

/** Sends one request to the server of `stateDir` and resolves with its answer; rejects with a sentence. */
export function ask(stateDir: string, req: ControlRequest): Promise<Answer> {
  const path = controlSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    let text = '';
    s.setEncoding('utf8');
    s.setTimeout(ANSWER_TIMEOUT_MS, () => {
      s.destroy();
      reject(new Error(`the dane-ns with state directory ${stateDir} did not answer within ${ANSWER_TIMEOUT_MS} ms`));
    });
    s.on('connect', () => s.write(JSON.stringify(req) + '\n'));
    s.on('data', (c: string) => (text += c));
    s.on('end', () => {
      try {
        resolve(JSON.parse(text) as Answer);
      } catch {
        reject(new Error(`the dane-ns with state directory ${stateDir} sent no valid answer`));
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT'
          ? 'no control.sock'
          : e.code === 'ECONNREFUSED'
            ? 'control.sock refuses connections: left by a server that was stopped'
            : `control.sock: ${e.message}`;
      reject(new Error(`no dane-ns running with state directory ${stateDir} (${why})`));
    });
  });
}

/** Asks, and turns an error answer into a failure with the server's reason. */
async function askOk(stateDir: string, req: ControlRequest): Promise<Answer> {
  const a = await ask(stateDir, req);
  if (!a.ok) throw new Error(`the running server says: ${a.error ?? 'failed'}`);
  return a;
}

/** `dane-ns status [ZONE] [--state DIR] [--json]` */
export async function statusCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['state'], ['json']);
  if (a.has('help')) return printHelp(io, 'status');
  const zone = zoneArg(a);
  const answer = await askOk(
    directory(a, io.defaults, 'state'),
    zone === undefined ? { command: 'status' } : { command: 'status', zone },
  );
  io.out(a.has('json') ? JSON.stringify(strip(answer), null, 2) + '\n' : renderStatus(answer, Date.now()));
  return 0;
}

/** `dane-ns reload [ZONE] [--state DIR] [--json]`: exit 1 when a zone did not load. */
export async function reloadCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['state'], ['json']);
  if (a.has('help')) return printHelp(io, 'reload');
  const zone = zoneArg(a);
  const answer = await askOk(
    directory(a, io.defaults, 'state'),
    zone === undefined ? { command: 'reload' } : { command: 'reload', zone },
  );
  io.out(a.has('json') ? JSON.stringify(strip(answer), null, 2) + '\n' : renderReload(answer));
  const zones = (answer.zones ?? []) as { error?: string }[];
  return zones.some((z) => z.error !== undefined) ? 1 : 0;
}

/** `dane-ns zone list [--state DIR] [--json]` */
export async function zoneListCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(args, ['state'], ['json']);
  if (a.has('help')) return printHelp(io, 'zone');
  noPositionals(a);
  const answer = await askOk(directory(a, io.defaults, 'state'), { command: 'zones' });
  io.out(a.has('json') ? JSON.stringify(strip(answer), null, 2) + '\n' : renderZoneList(answer));
  return 0;
}

/** The optional ZONE argument, checked as a domain name. */
function zoneArg(a: Args): string | undefined {
  if (a.positionals.length > 1) throw new UsageError(`unexpected argument "${a.positionals[1]}"`);
  const zone = a.positionals[0];
  if (zone !== undefined) domainName('ZONE', zone);
  return zone;
}

/** The answer without its `ok` (a printed answer is always a successful one). */
function strip(a: Answer): Record<string, unknown> {
  const { ok: _ok, ...rest } = a;
  return rest;
}
