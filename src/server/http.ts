/**
 * The operator's HTTP endpoint (`--http ADDR:PORT`, off by default): `GET /healthz` (200 "ok" when every zone
 * is loaded, signed and its signatures fresh; 503 with one reason per line otherwise) and `GET /metrics`
 * (Prometheus text format). Nothing else: other paths 404, other methods 405.
 */
import { createServer } from 'node:http';
import type { Listener } from './transport.js';
import { stripBrackets } from './transport.js';

export interface HttpRoutes {
  health(): { ok: boolean; reasons: string[] };
  metrics(): string;
}

export async function listenHttp(
  host: string,
  port: number,
  routes: HttpRoutes,
  onError: (e: unknown) => void,
): Promise<Listener> {
  const server = createServer((req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (path === '/healthz') {
        const h = routes.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(h.ok ? 'ok\n' : h.reasons.join('\n') + '\n');
      } else if (path === '/metrics') {
        const body = routes.metrics();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(body);
      } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    } catch (e) {
      onError(e);
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, stripBrackets(host), () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  let closing: Promise<void> | null = null;
  return {
    address: { host, port: bound },
    close(): Promise<void> {
      closing ??= new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
