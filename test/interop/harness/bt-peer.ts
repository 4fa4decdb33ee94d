// A minimal BitTorrent peer at the wire level over any stream (a socket or an MseStream),
// built on pytor's wire codec: enough to check that a real client talks BitTorrent to us
// through an encryption layer (handshake, bitfield, one block) or to serve it a torrent.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Framer, encodeHandshake, encodeMessage, type Message } from '../../../src/wire/index.js';

export interface WirePeerOptions {
  pieceCount: number;
  /** Bytes that already arrived (e.g. acceptIncoming's `rest`). */
  rest?: Buffer;
  timeoutMs?: number;
}

/** Reads a stream through the wire Framer; every wait has a deadline. */
export class WirePeer {
  private readonly framer: Framer;
  private wake: (() => void) | null = null;
  private ended: Error | null = null;
  readonly received: Message['type'][] = [];

  constructor(
    readonly stream: Duplex,
    private readonly opts: WirePeerOptions,
  ) {
    this.framer = new Framer({ pieceCount: opts.pieceCount });
    if (opts.rest && opts.rest.length > 0) this.framer.push(Buffer.from(opts.rest));
    stream.on('data', (c: Buffer) => {
      this.framer.push(c);
      this.poke();
    });
    stream.on('close', () => {
      this.ended ??= new Error('stream closed');
      this.poke();
    });
    stream.on('error', (err: Error) => {
      this.ended = err;
      this.poke();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async until<T>(what: string, step: () => T | undefined): Promise<T> {
    const deadline = Date.now() + (this.opts.timeoutMs ?? 30_000);
    for (;;) {
      const v = step();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`${what}: ${this.ended.message} (got ${this.received.join(', ')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out (got ${this.received.join(', ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  handshake(): Promise<{ infoHash: Buffer; peerId: Buffer; reserved: Buffer }> {
    return this.until('handshake', () => {
      const r = this.framer.nextHandshake();
      if (r.kind === 'error') throw r.err;
      return r.kind === 'handshake' ? r : undefined;
    });
  }

  /** The next message that satisfies `want`; others are recorded and skipped. */
  next<T extends Message['type']>(want: T | T[]): Promise<Extract<Message, { type: T }>> {
    const wanted = Array.isArray(want) ? want : [want];
    return this.until(`waiting for ${wanted.join('/')}`, () => {
      for (;;) {
        const r = this.framer.next();
        if (r.kind === 'error') throw r.err;
        if (r.kind === 'need-more') return undefined;
        this.received.push(r.msg.type);
        if ((wanted as string[]).includes(r.msg.type)) return r.msg as Extract<Message, { type: T }>;
      }
    });
  }

  send(msg: Message): void {
    this.stream.write(encodeMessage(msg));
  }

  sendHandshake(infoHash: Buffer): void {
    this.stream.write(encodeHandshake({ infoHash, peerId: Buffer.concat([Buffer.from('-PT0000-'), randomBytes(12)]), extensionProtocol: false }));
  }
}

/** A full bitfield for `pieceCount` pieces (spare bits clear). */
export function fullBitfield(pieceCount: number): Buffer {
  const bf = Buffer.alloc(Math.ceil(pieceCount / 8), 0xff);
  const spare = bf.length * 8 - pieceCount;
  if (spare > 0) bf[bf.length - 1] = (0xff << spare) & 0xff;
  return bf;
}

/**
 * Seeds `data` to the peer (after the handshakes): a full bitfield, unchoke, then every request
 * answered until the stream ends (a finished leecher hangs up on a seed) or `stop` resolves.
 * Returns the blocks served and why serving ended; the caller checks what the peer received.
 */
export async function serveAll(
  peer: WirePeer,
  data: Buffer,
  pieceLength: number,
  pieceCount: number,
  stop: Promise<void>,
): Promise<{ blocks: number; end: string }> {
  peer.send({ type: 'bitfield', bitfield: fullBitfield(pieceCount) });
  peer.send({ type: 'unchoke' });
  let served = 0;
  void stop.then(() => peer.stream.destroy());
  try {
    for (;;) {
      const req = await peer.next('request');
      const at = req.index * pieceLength + req.begin;
      peer.send({ type: 'piece', index: req.index, begin: req.begin, block: data.subarray(at, at + req.length) });
      served++;
    }
  } catch (err) {
    return { blocks: served, end: (err as Error).message };
  }
}
