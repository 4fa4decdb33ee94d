/**
 * A connected socket after the MSE handshake, with the face the peer layer uses of a socket:
 * a Duplex that encrypts what is written and decrypts what is read (or passes bytes through
 * when plaintext was negotiated), with setNoDelay(), remoteAddress/remotePort, destroy(),
 * writableLength, and the events 'data', 'drain', 'end', 'error' and 'close'.
 *
 * Writes are handed to the socket at once while it accepts them and held in this stream
 * while it does not, so `writableLength` counts what waits here; it undercounts the total in
 * flight by at most the socket's own buffer (its high-water mark plus one write).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Rc4 } from './rc4.js';

/** What the peer layer needs of a transport: a net.Socket, an MseStream (and a uTP stream) all fit. */
export interface PeerStream extends Duplex {
  setNoDelay(noDelay?: boolean): unknown;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** Receives reads from a socket that reads into a shared buffer (`chunk` valid during the call only). */
export interface BorrowedReader {
  receiveBorrowed(chunk: Buffer): void;
}

/**
 * Where a socket's bytes come from when it was opened with net's `onread` (no 'data' events):
 * the peer layer's read relay. attach() routes reads to a reader; detach() buffers them again.
 */
export interface ByteSource {
  attach(reader: BorrowedReader): void;
  detach(): void;
}

export interface MseStreamOptions {
  /** Cipher for outgoing bytes; null passes them through (crypto_select plaintext). */
  readonly encrypt: Rc4 | null;
  /** Cipher for incoming bytes; null passes them through. */
  readonly decrypt: Rc4 | null;
  /** Plaintext that arrived with the handshake: the first 'data' of this stream. */
  readonly pending?: Buffer;
  /** The socket reads through this source instead of emitting 'data'. */
  readonly source?: ByteSource;
}

export class MseStream extends Duplex implements PeerStream {
  readonly socket: Socket;
  private readonly encrypt: Rc4 | null;
  private readonly decrypt: Rc4 | null;
  /** The write callback held back until the socket drains. */
  private waitingWrite: ((err?: Error | null) => void) | null = null;
  private readonly source: ByteSource | undefined;

  constructor(socket: Socket, opts: MseStreamOptions) {
    // allowHalfOpen false: when the peer ends, we end too, as a net.Socket does by default.
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.encrypt = opts.encrypt;
    this.decrypt = opts.decrypt;
    if (opts.pending && opts.pending.length > 0) this.push(opts.pending);
    this.source = opts.source;
    // A borrowed chunk is the shared read buffer: decrypt and keep a copy of it.
    if (this.source) this.source.attach({ receiveBorrowed: (chunk) => this.onData(Buffer.from(chunk)) });
    else socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // Whatever the handshake left paused starts flowing as soon as someone reads.
    socket.pause();
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }
  /** Bytes received and sent on the wire, handshake included. */
  get bytesRead(): number {
    return this.socket.bytesRead;
  }
  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay);
    return this;
  }

  /**
   * In MSE's plaintext mode nothing is left to transform: the raw socket back, with the bytes
   * already received, so the connection runs without this stream in the way. Only before any
   * read or write of this stream; undefined when a cipher is in use.
   */
  detach(): { socket: Socket; pending: Buffer; source: ByteSource | undefined } | undefined {
    if (this.encrypt || this.decrypt || this.destroyed || this.writableLength > 0) return undefined;
    const chunks: Buffer[] = [];
    for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null) chunks.push(chunk);
    this.unhook();
    // read() may have resumed the socket: pause it in this same tick, before any 'data' fires.
    this.socket.pause();
    return { socket: this.socket, pending: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), source: this.source };
  }

  private unhook(): void {
    this.source?.detach();
    this.socket.off('data', this.onData);
    this.socket.off('drain', this.onDrain);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    // Each chunk is a fresh buffer from the socket, ours to decrypt in place.
    this.decrypt?.transform(chunk);
    if (!this.push(chunk)) this.socket.pause();
  };

  private readonly onDrain = (): void => {
    const cb = this.waitingWrite;
    this.waitingWrite = null;
    cb?.();
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  private readonly onClose = (): void => {
    if (!this.destroyed) this.destroy();
  };

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeOut(this.encrypt ? this.encrypt.transform(Buffer.from(chunk)) : chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    // One copy for the batch (the caller's buffers may be shared, e.g. cached piece data).
    const out = Buffer.concat(chunks.map((c) => c.chunk));
    this.writeOut(this.encrypt ? this.encrypt.transform(out) : out, cb);
  }

  private writeOut(bytes: Buffer, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb(new Error('socket closed'));
      return;
    }
    if (this.socket.write(bytes)) cb();
    else this.waitingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.unhook();
    // A late socket error must not go unhandled after we stopped listening.
    this.socket.on('error', () => {});
    this.socket.destroy();
    // Release a write held for 'drain' (without an error: the destroy already reports one).
    const pending = this.waitingWrite;
    this.waitingWrite = null;
    pending?.();
    cb(err);
  }
}
