// Builds Torrent values directly (no .torrent parsing) so storage tests stand on their own.
import { createHash } from 'node:crypto';
import type { Torrent, TorrentFile } from '../../src/metainfo/types.js';

export interface FileSpec {
  readonly path: readonly string[];
  readonly data: Buffer;
  readonly padding?: boolean;
}

/** A torrent over `specs` (pad files' data must be zeros) with real piece hashes. */
export function makeTorrent(name: string, specs: readonly FileSpec[], pieceLength: number, multiFile = true): Torrent {
  const files: TorrentFile[] = [];
  let offset = 0;
  for (const s of specs) {
    files.push({ path: s.path, length: s.data.length, offset, padding: s.padding ?? false });
    offset += s.data.length;
  }
  const stream = Buffer.concat(specs.map((s) => s.data));
  const pieces: Buffer[] = [];
  for (let at = 0; at < stream.length; at += pieceLength) {
    pieces.push(createHash('sha1').update(stream.subarray(at, at + pieceLength)).digest());
  }
  const infoHash = createHash('sha1').update(name).digest();
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    infoBytes: Buffer.alloc(0),
    name,
    pieceLength,
    pieces,
    length: stream.length,
    files,
    multiFile,
    announce: undefined,
    announceList: [],
    urlList: [],
    private: false,
    comment: undefined,
    createdBy: undefined,
    creationDate: undefined,
  };
}

/** The whole byte stream of a torrent built by makeTorrent. */
export function streamOf(specs: readonly FileSpec[]): Buffer {
  return Buffer.concat(specs.map((s) => s.data));
}

export function pieceOf(t: Torrent, stream: Buffer, index: number): Buffer {
  return stream.subarray(index * t.pieceLength, Math.min(t.length, (index + 1) * t.pieceLength));
}
