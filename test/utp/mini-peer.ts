// A minimal BitTorrent peer over any Duplex (a uTP stream or a TCP socket), built on the wire
// codec: enough to download a whole torrent from one seeder (checking every piece's SHA-1) or
// to serve one to a leecher. For the uTP interop test and the uTP bench, until the engine's
// peer layer runs over uTP.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Bitfield, Framer, encodeHandshake, encodeMessage, encodePieceHeader, type Message } from '../../src/wire/index.js';

export const BLOCK = 16 * 1024;

export interface TorrentGeometry {
  readonly infoHash: Buffer;
  readonly pieceLength: number;
  readonly length: number;
  /** SHA-1 of each piece (for the downloader). */
  readonly pieces?: readonly Buffer[];
}

export function pieceCountOf(g: TorrentGeometry): number {
  return Math.ceil(g.length / g.pieceLength);
}

function pieceSizeOf(g: TorrentGeometry, index: number): number {
  return Math.min(g.pieceLength, g.length - index * g.pieceLength);
}

/** Yields decoded messages (after the handshake) from a stream; rejects on a framing error. */
class Reader {
  private readonly framer: Framer;
  private handshaken = false;
  private readonly queue: Message[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private ended = false;

  constructor(
    private readonly stream: Duplex,
    pieceCount: number,
    private readonly onHandshake: (infoHash: Buffer) => void,
  ) {
    this.framer = new Framer({ pieceCount, maxBlockLength: BLOCK });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.finish(null));
    stream.on('close', () => this.finish(null));
    stream.on('error', (err: Error) => this.finish(err));
  }

  private finish(err: Error | null): void {
    if (err && !this.failure) this.failure = err;
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private onData(chunk: Buffer): void {
    this.framer.push(chunk);
    if (!this.handshaken) {
      const h = this.framer.nextHandshake();
      if (h.kind === 'need-more') return;
      if (h.kind === 'error') {
        // Not a plaintext handshake (libtorrent tries MSE first): close at once, as the peer
        // layer does, so the other side retries in plaintext instead of waiting.
        this.stream.destroy();
        return this.finish(h.err);
      }
      this.handshaken = true;
      this.onHandshake(h.infoHash);
    }
    for (;;) {
      const r = this.framer.next();
      if (r.kind === 'need-more') break;
      if (r.kind === 'error') {
        this.stream.destroy();
        return this.finish(r.err);
      }
      const m = r.msg;
      // Blocks are views into the chunk: copy what is kept.
      this.queue.push(m.type === 'piece' ? { ...m, block: Buffer.from(m.block) } : m);
    }
    this.wake();
  }

  async next(): Promise<Message> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('stream ended');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

function write(stream: Duplex, buf: Buffer): Promise<void> {
  if (stream.write(buf)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      stream.off('drain', onDrain);
      reject(new Error('stream closed while writing'));
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

export interface DownloadResult {
  readonly bytes: number;
  readonly piecesVerified: number;
  readonly badPieces: number[];
  readonly remoteBitfieldComplete: boolean;
  readonly seconds: number;
}

/**
 * Handshake, expect a full bitfield (or have-all), interested, wait for unchoke, request every
 * block with `pipeline` outstanding, hash each piece on completion against `g.pieces` (or
 * `expected`). The caller closes the stream.
 */
export async function downloadAll(
  stream: Duplex,
  g: TorrentGeometry,
  opts: { peerId: Buffer; pipeline?: number; onPiece?: (index: number, data: Buffer) => void },
): Promise<DownloadResult> {
  const t0 = performance.now();
  const count = pieceCountOf(g);
  let remoteInfoHash: Buffer | null = null;
  const reader = new Reader(stream, count, (h) => (remoteInfoHash = h));
  await write(stream, encodeHandshake({ infoHash: g.infoHash, peerId: opts.peerId, extensionProtocol: false }));
  let remote = new Bitfield(count);
  let unchoked = false;
  const blocks: { index: number; begin: number; length: number }[] = [];
  for (let i = 0; i < count; i++) {
    const size = pieceSizeOf(g, i);
    for (let b = 0; b < size; b += BLOCK) blocks.push({ index: i, begin: b, length: Math.min(BLOCK, size - b) });
  }
  const pieceBufs = new Map<number, { buf: Buffer; got: number }>();
  const badPieces: number[] = [];
  let verified = 0;
  let bytes = 0;
  let nextBlock = 0;
  let outstanding = 0;
  const pipeline = opts.pipeline ?? 64;
  let sentInterested = false;
  while (verified + badPieces.length < count) {
    const m = await reader.next();
    if (remoteInfoHash && !(remoteInfoHash as Buffer).equals(g.infoHash)) throw new Error('info-hash mismatch in handshake');
    switch (m.type) {
      case 'bitfield':
        remote = Bitfield.fromBuffer(m.bitfield, count);
        break;
      case 'have-all':
        remote = Bitfield.full(count);
        break;
      case 'have':
        remote.set(m.index);
        break;
      case 'unchoke':
        unchoked = true;
        break;
      case 'choke':
        unchoked = false;
        break;
      case 'piece': {
        outstanding--;
        bytes += m.block.length;
        let p = pieceBufs.get(m.index);
        if (!p) {
          p = { buf: Buffer.alloc(pieceSizeOf(g, m.index)), got: 0 };
          pieceBufs.set(m.index, p);
        }
        m.block.copy(p.buf, m.begin);
        p.got += m.block.length;
        if (p.got === p.buf.length) {
          pieceBufs.delete(m.index);
          const digest = createHash('sha1').update(p.buf).digest();
          if (g.pieces && !digest.equals(g.pieces[m.index]!)) badPieces.push(m.index);
          else verified++;
          opts.onPiece?.(m.index, p.buf);
        }
        break;
      }
      default:
        break;
    }
    if (!sentInterested && remote.isComplete()) {
      sentInterested = true;
      await write(stream, encodeMessage({ type: 'interested' }));
    }
    if (unchoked) {
      while (outstanding < pipeline && nextBlock < blocks.length) {
        const b = blocks[nextBlock++]!;
        outstanding++;
        await write(stream, encodeMessage({ type: 'request', ...b }));
      }
    }
  }
  return { bytes, piecesVerified: verified, badPieces, remoteBitfieldComplete: remote.isComplete(), seconds: (performance.now() - t0) / 1000 };
}

export interface ServeResult {
  readonly blocksServed: number;
  readonly bytes: number;
}

/**
 * Answers a leecher: checks its handshake, sends ours, a full bitfield and unchoke, then a
 * piece for every request until the stream closes. `read(offset, length)` gives payload bytes.
 */
export function serveAll(
  stream: Duplex,
  g: TorrentGeometry,
  opts: { peerId: Buffer; read: (offset: number, length: number) => Buffer },
): Promise<ServeResult> {
  const count = pieceCountOf(g);
  let served = 0;
  let bytes = 0;
  return new Promise<ServeResult>((resolve, reject) => {
    let handshakeOk = false;
    const reader = new Reader(stream, count, (h) => {
      if (!h.equals(g.infoHash)) {
        stream.destroy();
        reject(new Error('leecher asked for another info-hash'));
        return;
      }
      handshakeOk = true;
      stream.write(encodeHandshake({ infoHash: g.infoHash, peerId: opts.peerId, extensionProtocol: false }));
      stream.write(encodeMessage({ type: 'bitfield', bitfield: Bitfield.full(count).toBuffer() }));
      stream.write(encodeMessage({ type: 'unchoke' }));
    });
    void (async () => {
      for (;;) {
        let m: Message;
        try {
          m = await reader.next();
        } catch {
          if (handshakeOk) resolve({ blocksServed: served, bytes });
          else reject(new Error('stream ended before the handshake'));
          return;
        }
        if (m.type !== 'request') continue;
        if (m.begin + m.length > pieceSizeOf(g, m.index)) {
          stream.destroy();
          reject(new Error(`request out of range: ${m.index}/${m.begin}/${m.length}`));
          return;
        }
        const block = opts.read(m.index * g.pieceLength + m.begin, m.length);
        stream.write(encodePieceHeader(m.index, m.begin, m.length));
        const ok = stream.write(block);
        served++;
        bytes += m.length;
        if (!ok) {
          // Backpressure: wait until the stream drains (or closes; the next read ends the loop).
          await new Promise<void>((resolve) => {
            const done = () => {
              stream.off('drain', done);
              stream.off('close', done);
              resolve();
            };
            stream.on('drain', done);
            stream.on('close', done);
          });
        }
      }
    })();
  });
}
