import { createServer, type Server, type Socket } from 'node:net';
import createDebug from 'debug';
import { HANDSHAKE_LENGTH, decodeHandshake } from '../wire/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { Handshake } from '../peer/connection.js';

const log = createDebug('pytor:session');

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Incoming sockets still handshaking at once; more are refused, so a flood costs little. */
const MAX_PENDING = 64;

/** Where an incoming handshake is sent: the session serving that info-hash, if any. */
export type IncomingRoute = (infoHashHex: string) =>
  | ((socket: Socket, address: PeerAddress, handshake: Handshake, rest: Buffer) => void)
  | undefined;

/**
 * Accepts peer connections on one TCP port, reads the 68-byte handshake and hands the
 * socket to the session serving that torrent; anything else is closed.
 */
export class PeerListener {
  private server: Server | undefined;
  private pending = 0;
  port = 0;

  constructor(private readonly route: IncomingRoute) {}

  /** Listens on `port`; when it is taken (or 0), on a free one. Returns the port in use. */
  async listen(port: number, host?: string): Promise<number> {
    try {
      this.port = await this.tryListen(port, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
      this.port = await this.tryListen(0, host);
    }
    return this.port;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private tryListen(port: number, host: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.onConnection(socket));
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        server.on('error', (err) => log('listener error: %s', err.message));
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  private onConnection(socket: Socket): void {
    const host = socket.remoteAddress;
    const port = socket.remotePort;
    if (!host || !port || this.pending >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    this.pending++;
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = () => {
      if (settled) return false;
      settled = true;
      this.pending--;
      clearTimeout(timer);
      socket.off('data', onData);
      return true;
    };
    const drop = (why: string) => {
      if (!finish()) return;
      log('incoming %s:%d dropped: %s', host, port, why);
      socket.destroy();
    };
    const timer = setTimeout(() => drop('no handshake in time'), HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < HANDSHAKE_LENGTH) return;
      const result = decodeHandshake(buf);
      if (result.kind !== 'handshake') return drop(result.kind === 'error' ? result.err.message : 'short handshake');
      const deliver = this.route(result.infoHash.toString('hex'));
      if (!deliver) return drop('unknown torrent');
      finish();
      socket.pause();
      deliver(socket, { host: normalizeHost(host), port }, result, buf.subarray(result.consumed));
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => drop('socket error'));
    socket.on('close', () => drop('closed'));
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) -> `1.2.3.4`. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}
