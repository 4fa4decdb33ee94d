// --json-events: the life of a transfer as one JSON object per line on stdout, for scripts.
// Every line has `event` and `time` (ISO 8601, UTC); the other fields per event are listed in
// the README and never renamed. Text from outside (names, paths, tracker messages, peer
// addresses) goes through jsonText like every other JSON pytor prints.
import type { ClientTorrent } from '../client/index.js';
import type { Torrent } from '../metainfo/index.js';
import type { SessionStats } from '../session/session.js';
import { jsonText } from './json-text.js';

export type EventName =
  | 'started'
  | 'metadata'
  | 'checked'
  | 'peer'
  | 'progress'
  | 'piece-failed'
  | 'tracker'
  | 'warning'
  | 'complete'
  | 'error'
  | 'stopped';

export class JsonEvents {
  private started = Date.now();

  constructor(
    private readonly out: { write(text: string): unknown },
    private readonly now: () => Date = () => new Date(),
  ) {}

  write(event: EventName, fields: Record<string, unknown> = {}): void {
    this.out.write(`${jsonText({ event, time: this.now().toISOString(), ...fields }, 0)}\n`);
  }

  /** Listens to one engine torrent until it stops. */
  attach(t: ClientTorrent): void {
    this.started = this.now().getTime();
    this.write('started', { infoHash: t.infoHashHex, name: t.name ?? null, outDir: t.outDir });
    if (t.torrent) this.write('metadata', metadataFields(t.torrent));
    t.on('metadata', (torrent: Torrent) => this.write('metadata', metadataFields(torrent)));
    t.on('checked', (s: SessionStats) => this.write('checked', { length: s.length, verified: s.verified, piecesHave: s.piecesHave, pieceCount: s.pieceCount }));
    t.on('peer', (address: string, state: string, reason?: string) => this.write('peer', { address, state, reason: reason ?? null }));
    t.on('tick', (s: SessionStats) => this.write('progress', progressFields(s)));
    t.on('piece-failed', (piece: number, peers: string[]) => this.write('piece-failed', { piece, peers }));
    t.on('tracker', (r: { url?: string; ok: boolean; peers?: number; error?: string }) =>
      this.write('tracker', { url: r.url ?? null, ok: r.ok, peers: r.peers ?? null, message: r.error ?? null }),
    );
    t.on('warning', (message: string) => this.write('warning', { message }));
    t.on('complete', () => {
      const s = t.session?.stats();
      this.write('complete', { length: s?.length ?? null, downloaded: s?.downloaded ?? null, seconds: this.seconds() });
    });
    t.on('error', (err: Error) => this.write('error', { message: err.message }));
    t.on('stopped', () => {
      const s = t.session?.stats();
      this.write('stopped', {
        reason: t.finished ?? (t.error ? 'error' : 'interrupted'),
        length: s?.length ?? null,
        verified: s?.verified ?? null,
        downloaded: s?.downloaded ?? null,
        uploaded: s?.uploaded ?? null,
        seconds: this.seconds(),
      });
    });
  }

  private seconds(): number {
    return Math.round(this.now().getTime() - this.started) / 1000;
  }
}

function metadataFields(t: Torrent) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    length: t.length,
    pieceLength: t.pieceLength,
    pieceCount: t.pieces.length,
    files: t.files.flatMap((f, i) => (f.padding ? [] : [{ index: i + 1, path: f.path.join('/'), length: f.length }])),
  };
}

function progressFields(s: SessionStats) {
  const left = s.length - s.verified;
  return {
    state: s.state,
    length: s.length,
    verified: s.verified,
    progress: s.length > 0 ? Math.round((s.verified / s.length) * 10_000) / 10_000 : 1,
    downloaded: s.downloaded,
    uploaded: s.uploaded,
    downloadRate: Math.round(s.downloadRate),
    uploadRate: Math.round(s.uploadRate),
    peers: s.peersConnected,
    webSeeds: s.webSeeds,
    eta: left > 0 && s.downloadRate > 0 ? Math.round(left / s.downloadRate) : null,
  };
}
