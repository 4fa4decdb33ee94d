// A socket for PeerConnection tests: it records what is written and lets a test feed bytes in
// with emit('data', ...). Only what the peer layer uses of a net.Socket.
import { EventEmitter } from 'node:events';
import { decodeMessage, HANDSHAKE_LENGTH, type Message } from '../../src/wire/index.js';

export class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  destroyed = false;
  writableLength = 0;
  write(buf: Uint8Array): boolean {
    this.written.push(Buffer.from(buf));
    return true;
  }
  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  /** Messages written after the handshake, decoded. */
  messages(): Message[] {
    const all = Buffer.concat(this.written).subarray(HANDSHAKE_LENGTH);
    const out: Message[] = [];
    for (let at = 0; at < all.length; ) {
      const r = decodeMessage(all, at, { pieceCount: 8 });
      if (r.kind !== 'message') throw new Error(`undecodable write at ${at}`);
      out.push(r.msg);
      at += r.consumed;
    }
    return out;
  }
}
