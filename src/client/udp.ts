/**
 * The client's UDP side: one port number for uTP and the DHT, as for TCP. An IPv4 socket (and,
 * when listening on all addresses, an IPv6-only one on the same port) each carry uTP; KRPC
 * datagrams (first byte 'd') go to the DHT node, which sends through the same sockets.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import createDebug from 'debug';
import { DhtNode, type DatagramTransport } from '../dht/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { PeerStream } from '../peer/stream.js';
import { UtpSocket } from '../utp/index.js';

const log = createDebug('pytor:client');

export interface UdpSideOptions {
  readonly port: number;
  /** One address to bind; absent: 0.0.0.0 and [::]. */
  readonly bind?: string;
  readonly utp: boolean;
  readonly dht?: { readonly bootstrap: readonly PeerAddress[]; readonly stateFile: string };
}

export class UdpSide {
  private constructor(
    private readonly sockets: readonly dgram.Socket[],
    private readonly utpSockets: readonly UtpSocket[],
    readonly dht: DhtNode | undefined,
  ) {}

  private socketFor(address: string): UtpSocket | undefined {
    return socketFor(this.sockets, this.utpSockets, address);
  }

  /** The UDP port in use (0 when there is no UDP socket at all). */
  get port(): number {
    return this.sockets[0]?.address().port ?? this.dht?.port ?? 0;
  }

  get utpEnabled(): boolean {
    return this.utpSockets.length > 0;
  }

  /** Incoming uTP connections. */
  onUtpConnection(handler: (stream: PeerStream & { remoteAddress?: string; remotePort?: number }) => void): void {
    for (const u of this.utpSockets) u.on('connection', handler);
  }

  /** An outgoing uTP stream, on the socket of the address's family. */
  connectUtp(address: PeerAddress, timeoutMs: number): Promise<PeerStream> {
    const socket = this.socketFor(address.host);
    if (!socket) return Promise.reject(new Error(`no uTP socket for ${address.host}`));
    return socket.connect(address, timeoutMs);
  }

  static async open(opts: UdpSideOptions): Promise<UdpSide> {
    if (!opts.utp) {
      // The DHT alone: it binds its own sockets.
      const dht = opts.dht ? await startDhtOwnSockets(opts) : undefined;
      return new UdpSide([], [], dht);
    }
    const sockets = await bindShared(opts.port, opts.bind);
    const utpSockets = sockets.map((s) => UtpSocket.wrap(s));
    let dht: DhtNode | undefined;
    if (opts.dht) {
      const transport: DatagramTransport = { send: (buf, port, address) => socketFor(sockets, utpSockets, address)?.send(buf, port, address) };
      try {
        dht = await DhtNode.start({
          port: sockets[0]!.address().port,
          bootstrap: opts.dht.bootstrap,
          stateFile: opts.dht.stateFile,
          transport,
          families: sockets.map((s) => (s.address().family === 'IPv6' ? 6 : 4)),
        });
      } catch (err) {
        await closeAll(utpSockets, sockets);
        throw err;
      }
      const node = dht;
      for (const u of utpSockets) u.onOtherDatagram = (buf, rinfo) => node.handleDatagram(buf, rinfo);
    }
    return new UdpSide(sockets, utpSockets, dht);
  }

  async close(): Promise<void> {
    await this.dht?.close();
    await closeAll(this.utpSockets, this.sockets);
  }
}

/** The uTP socket of the address's family (an IPv4-mapped address is IPv4). */
function socketFor(sockets: readonly dgram.Socket[], utpSockets: readonly UtpSocket[], address: string): UtpSocket | undefined {
  const v6 = isIPv6(address) && !address.startsWith('::ffff:');
  const i = sockets.findIndex((s) => (s.address().family === 'IPv6') === v6);
  return i >= 0 ? utpSockets[i] : undefined;
}

async function closeAll(utp: readonly UtpSocket[], sockets: readonly dgram.Socket[]): Promise<void> {
  await Promise.all(utp.map((u) => u.close()));
  // Let the RESETs just queued leave before the sockets go.
  await new Promise((r) => setImmediate(r));
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
}

function bindOne(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', reuseAddr: false });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      socket.on('error', (err) => log('udp socket error: %s', err.message));
      resolve(socket);
    });
  });
}

/** IPv4 (or the one bound address) on `port` (a free one when taken), then IPv6 on the same port when it can. */
async function bindShared(port: number, bind: string | undefined): Promise<dgram.Socket[]> {
  const firstType = bind !== undefined && isIPv6(bind) ? 'udp6' : 'udp4';
  const firstHost = bind ?? '0.0.0.0';
  let first: dgram.Socket;
  try {
    first = await bindOne(firstType, firstHost, port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    log('UDP port %d is taken: uTP and the DHT take a free one', port);
    first = await bindOne(firstType, firstHost, 0);
  }
  if (bind !== undefined) return [first];
  try {
    return [first, await bindOne('udp6', '::', first.address().port)];
  } catch (err) {
    log('no IPv6 UDP socket: %s', (err as Error).message);
    return [first];
  }
}

async function startDhtOwnSockets(opts: UdpSideOptions): Promise<DhtNode> {
  const base = { host: opts.bind, bootstrap: opts.dht!.bootstrap, stateFile: opts.dht!.stateFile };
  try {
    return await DhtNode.start({ ...base, port: opts.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port === 0) throw err;
    log('UDP port %d is taken: the DHT takes a free one', opts.port);
    return DhtNode.start({ ...base, port: 0 });
  }
}

export function dhtStateFile(stateDir: string): string {
  return join(stateDir, 'dht.dat');
}
