// A hand-made BitTorrent peer on 127.0.0.1 that serves (or mangles) BEP 9 metadata, for
// testing the metadata fetcher against misbehaviour real clients never show.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { encode } from '../../src/bencode/index.js';
import {
  decodeHandshake,
  decodeUtMetadata,
  encodeHandshake,
  encodeMessage,
  Framer,
  HANDSHAKE_LENGTH,
  METADATA_PIECE_LENGTH,
} from '../../src/wire/index.js';

export type FakeBehaviour =
  /** Serves the info dict honestly. */
  | 'good'
  /** Serves bytes of the right size that do not hash to the info-hash. */
  | 'wrong-hash'
  /** Announces metadata_size above the 8 MiB bound. */
  | 'huge-size'
  /** Answers every request with a data message for a piece past the end. */
  | 'out-of-range'
  /** Rejects every request. */
  | 'reject';

export interface FakePeer {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections the other side has closed. */
  closedByRemote(): number;
  /** ut_metadata requests received. */
  requests(): number;
  close(): Promise<void>;
}

const FAKE_UT_METADATA = 3;

/** A small but multi-piece info dict (two 16 KiB metadata pieces) and its info-hash. */
export function makeInfo(name = 'fake.bin'): { info: Buffer; infoHash: Buffer } {
  const pieceCount = 1000;
  const pieces = Buffer.alloc(20 * pieceCount);
  for (let i = 0; i < pieceCount; i++) createHash('sha1').update(`piece ${i}`).digest().copy(pieces, i * 20);
  const info = encode({ length: pieceCount * 16384, name, 'piece length': 16384, pieces });
  return { info, infoHash: createHash('sha1').update(info).digest() };
}

export async function startFakePeer(opts: { info: Buffer; infoHash: Buffer; behaviour: FakeBehaviour }): Promise<FakePeer> {
  const { info, infoHash, behaviour } = opts;
  let connections = 0;
  let closedByRemote = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const peerId = Buffer.from('-FK0001-' + 'x'.repeat(12));
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let ourClose = false;
    socket.on('close', () => {
      sockets.delete(socket);
      if (!ourClose) closedByRemote++;
    });
    socket.on('error', () => undefined);
    let hs: Buffer | undefined = Buffer.alloc(0);
    const framer = new Framer({ pieceCount: null });
    let theirId = 0;
    const send = (payload: Buffer) => socket.write(encodeMessage({ type: 'extended', id: theirId, payload }));
    socket.on('data', (chunk: Buffer) => {
      if (hs !== undefined) {
        hs = Buffer.concat([hs, chunk]);
        if (hs.length < HANDSHAKE_LENGTH) return;
        const r = decodeHandshake(hs);
        if (r.kind !== 'handshake' || !r.infoHash.equals(infoHash)) {
          ourClose = true;
          socket.destroy();
          return;
        }
        chunk = hs.subarray(HANDSHAKE_LENGTH);
        hs = undefined;
        socket.write(encodeHandshake({ infoHash, peerId, extensionProtocol: true }));
        const size = behaviour === 'huge-size' ? 9 * 1024 * 1024 : info.length;
        socket.write(encodeMessage({ type: 'extended', id: 0, payload: encode({ m: { ut_metadata: FAKE_UT_METADATA }, metadata_size: size, v: 'fake' }) }));
        if (chunk.length === 0) return;
      }
      framer.push(chunk);
      for (;;) {
        const r = framer.next();
        if (r.kind !== 'message') break;
        const msg = r.msg;
        if (msg.type !== 'extended') continue;
        if (msg.id === 0) {
          const m = /ut_metadatai(\d+)e/.exec(msg.payload.toString('latin1'));
          theirId = m ? Number(m[1]) : 0;
          continue;
        }
        if (msg.id !== FAKE_UT_METADATA) continue;
        const d = decodeUtMetadata(msg.payload);
        if (d.kind !== 'ok' || d.value.type !== 'request') continue;
        requests++;
        const piece = d.value.piece;
        if (behaviour === 'reject') {
          send(encode({ msg_type: 2, piece }));
          continue;
        }
        if (behaviour === 'out-of-range') {
          // Piece 7 of a 2-piece dict, with 16 KiB of junk.
          send(Buffer.concat([encode({ msg_type: 1, piece: 7, total_size: info.length }), Buffer.alloc(METADATA_PIECE_LENGTH, 1)]));
          continue;
        }
        const start = piece * METADATA_PIECE_LENGTH;
        let data = Buffer.from(info.subarray(start, Math.min(info.length, start + METADATA_PIECE_LENGTH)));
        if (behaviour === 'wrong-hash') data = Buffer.from(data.map((b) => b ^ 0x5a));
        send(Buffer.concat([encode({ msg_type: 1, piece, total_size: info.length }), data]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    connections: () => connections,
    closedByRemote: () => closedByRemote,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
