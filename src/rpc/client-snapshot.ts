// The pure half of the daemon's adapter: engine status -> RPC snapshots, and file selections.
import type { ClientTorrent, PeerStatus } from '../client/index.js';
import type { Torrent } from '../metainfo/index.js';
import type { FileChanges, FileSnapshot, PeerSnapshot, TorrentState, TrackerSnapshot } from './engine.js';

export function rpcState(s: ClientTorrent['state']): TorrentState {
  return s === 'stopping' ? 'stopped' : s;
}

export function pieceBytes(torrent: Torrent, i: number): number {
  return Math.min(torrent.pieceLength, torrent.length - i * torrent.pieceLength);
}

export function bytesOfPieces(torrent: Torrent, has: (i: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < torrent.pieces.length; i++) if (has(i)) n += pieceBytes(torrent, i);
  return n;
}

export function bitfieldOf(pieceCount: number, has: (i: number) => boolean): Uint8Array {
  const out = new Uint8Array(Math.ceil(pieceCount / 8));
  for (let i = 0; i < pieceCount; i++) if (has(i)) out[i >> 3]! |= 0x80 >> (i & 7);
  return out;
}

/** The torrent's files (padding left out) with the bytes of each inside held pieces. */
export function filesOf(torrent: Torrent, has: (i: number) => boolean, unwanted: ReadonlySet<number>): FileSnapshot[] {
  const out: FileSnapshot[] = [];
  for (const [index, f] of torrent.files.entries()) {
    if (f.padding) continue;
    let verified = 0;
    if (f.length > 0) {
      const first = Math.floor(f.offset / torrent.pieceLength);
      const last = Math.floor((f.offset + f.length - 1) / torrent.pieceLength);
      for (let i = first; i <= last; i++) {
        if (!has(i)) continue;
        const start = Math.max(f.offset, i * torrent.pieceLength);
        const end = Math.min(f.offset + f.length, (i + 1) * torrent.pieceLength);
        verified += end - start;
      }
    }
    const shown = f.originalPath && f.originalPath.length > 0 ? f.originalPath : f.path;
    const path = (torrent.multiFile ? [torrent.name, ...shown] : shown).join('/');
    out.push({ path, length: f.length, verifiedBytes: verified, wanted: !unwanted.has(index), priority: 'normal' });
  }
  return out;
}

export function splitAddress(text: string): { address: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(text) ?? /^(.*):(\d+)$/.exec(text);
  return m ? { address: m[1]!, port: Number(m[2]) } : { address: text, port: 0 };
}

export function peerSnapshot(p: PeerStatus): PeerSnapshot {
  const { address, port } = splitAddress(p.address);
  return {
    address,
    port,
    client: p.client,
    progress: p.progress,
    downloadRate: p.downloadRate,
    uploadRate: p.uploadRate,
    incoming: p.incoming,
    encrypted: false,
    utp: false,
    amChoking: p.amChoking,
    // Not in the engine's peer status yet: interest is shown as "no".
    amInterested: false,
    peerChoking: p.peerChoking,
    peerInterested: false,
  };
}

export function trackerUrlsOf(t: ClientTorrent): string[][] {
  const torrent = t.torrent;
  if (torrent) {
    if (torrent.announceList.length > 0) return torrent.announceList.map((tier) => [...tier]);
    return torrent.announce ? [[torrent.announce]] : [];
  }
  const source = t.source;
  return 'magnet' in source ? source.magnet.trackers.map((u) => [u]) : [];
}

export function trackersOf(t: ClientTorrent, seen: ReturnType<ClientTorrent['status']>['trackers']): TrackerSnapshot[] {
  const byUrl = new Map(seen.map((s) => [s.url, s]));
  return trackerUrlsOf(t).flatMap((tier, i) =>
    tier.map((url) => {
      const s = byUrl.get(url);
      return {
        url,
        tier: i,
        ...(s && s.lastAnnounceAt !== undefined
          ? { lastAnnounce: { at: Math.floor(s.lastAnnounceAt / 1000), ok: s.ok ?? false, message: s.ok ? 'Success' : s.message ?? 'error', peers: s.peers } }
          : {}),
      };
    }),
  );
}

/** The engine's selection for a torrent with these unwanted files (undefined: every file). */
export function selectionOf(unwanted: readonly number[] | undefined): ((torrent: Torrent) => boolean[]) | undefined {
  if (!unwanted || unwanted.length === 0) return undefined;
  const skip = new Set(unwanted);
  return (torrent) => torrent.files.map((f, i) => !f.padding && !skip.has(i));
}

/**
 * Applies files-wanted / files-unwanted to a set of unwanted files. RPC indices count the
 * torrent's files without pad files (as `files` lists them); the result indexes all files.
 */
export function changeSelection(torrent: Torrent, unwanted: readonly number[], changes: Pick<FileChanges, 'wanted' | 'unwanted'>): number[] {
  const real = [...torrent.files.keys()].filter((i) => !torrent.files[i]!.padding);
  const toReal = (n: number): number => {
    const i = real[n];
    if (i === undefined) throw new Error(`no file ${n} in this torrent (it has ${real.length})`);
    return i;
  };
  const out = new Set(unwanted);
  for (const n of changes.unwanted ?? []) out.add(toReal(n));
  for (const n of changes.wanted ?? []) out.delete(toReal(n));
  if (out.size >= real.length) throw new Error('at least one file must stay wanted');
  return [...out].sort((a, b) => a - b);
}
