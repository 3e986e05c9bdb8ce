/**
 * The UDP sockets NOTIFYs leave from (RFC 1996 §3.1: NOTIFY goes over UDP): one per address family, bound to an
 * ephemeral port on first use, the answers handed to `onAnswer`. Unref'd: the sockets never keep the process
 * alive on their own; closed by the one shutdown.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../log.js';
import type { NotifyEndpoint } from './notify.js';

export class NotifySocket implements NotifyEndpoint {
  private readonly sockets = new Map<4 | 6, Socket>();

  constructor(
    private readonly onAnswer: (message: Uint8Array, address: string, port: number) => void,
    private readonly logger: Logger,
  ) {}

  send(message: Uint8Array, address: string, port: number): void {
    const family = address.includes(':') ? 6 : 4;
    let s = this.sockets.get(family);
    if (!s) {
      s = createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('message', (m, rinfo) => this.onAnswer(m, rinfo.address, rinfo.port));
      s.on('error', (e) => this.logger.warn('notify-socket-error', { family, error: e.message }));
      s.bind(0);
      s.unref();
      this.sockets.set(family, s);
    }
    s.send(message, port, address, (e) => {
      if (e) this.logger.warn('notify-send-failed', { target: `${address}#${port}`, error: e.message });
    });
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
