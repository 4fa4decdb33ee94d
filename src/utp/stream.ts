/**
 * A uTP connection as a `stream.Duplex` with the face of a `net.Socket` that the peer layer
 * uses: 'data', 'drain', 'end', 'error', 'close', `write`, `end`, `destroy`, `writableLength`,
 * `remoteAddress`/`remotePort`, `setNoDelay()`. Backpressure both ways: a write completes
 * while the connection's send buffer is under its bound; received data is pulled from the
 * connection only as fast as the reader takes it, and what is not taken shrinks the receive
 * window advertised to the other side.
 */
import { Duplex } from 'node:stream';
import type { Connection } from './connection.js';
import type { UtpError } from './errors.js';

export interface RemoteInfo {
  readonly address: string;
  readonly port: number;
  readonly family?: string;
}

export class UtpStream extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  localAddress?: string;
  localPort?: number;
  /** Always 'utp', so logs and stats can tell transports apart. */
  readonly transport = 'utp' as const;
  private wantData = false;
  private pendingWrite: ((err?: Error | null) => void) | null = null;
  private pendingFinal: ((err?: Error | null) => void) | null = null;

  constructor(
    readonly connection: Connection,
    remote: RemoteInfo,
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = remote.family ?? (remote.address.includes(':') ? 'IPv6' : 'IPv4');
    connection.events.onReadable = () => this.pump();
    connection.events.onWritable = () => {
      const cb = this.pendingWrite;
      if (cb && connection.writableNow) {
        this.pendingWrite = null;
        cb();
      }
    };
    connection.events.onFinAcked = () => {
      const cb = this.pendingFinal;
      this.pendingFinal = null;
      cb?.();
    };
  }

  /** uTP has no Nagle to switch off: packets go out when the window allows. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this;
  }

  /** Called by the socket when the connection ends; err is undefined for an orderly close. */
  handleClose(err?: UtpError): void {
    if (err) {
      this.destroy(err);
      return;
    }
    // Orderly: whatever is still unread stays readable; the end follows it.
    this.pump();
    if (!this.destroyed) this.destroy();
  }

  override _read(): void {
    this.wantData = true;
    this.pump();
  }

  private pump(): void {
    while (this.wantData) {
      const chunk = this.connection.read();
      if (chunk === undefined) return;
      if (chunk === null) {
        this.wantData = false;
        this.push(null);
        return;
      }
      this.wantData = this.push(chunk);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.connection.closed) {
      cb(new Error('uTP connection is closed'));
      return;
    }
    this.connection.write(chunk);
    if (this.connection.writableNow) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connection.closed) {
      cb();
      return;
    }
    this.pendingFinal = cb;
    this.connection.end();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.connection.destroy();
    // A write or end waiting for room will never complete; the stream is gone.
    this.pendingWrite = null;
    this.pendingFinal = null;
    cb(err);
  }
}
