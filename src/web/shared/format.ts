// What the web UI writes for numbers and states, as pure functions over torrent-get values
// (Transmission's field names and units), so they are tested without a browser.

/** The torrent-get fields the list needs. */
export const LIST_FIELDS = [
  'id', 'name', 'hashString', 'totalSize', 'sizeWhenDone', 'leftUntilDone', 'percentDone', 'status', 'error', 'errorString',
  'rateDownload', 'rateUpload', 'eta', 'peersConnected', 'peersSendingToUs', 'peersGettingFromUs', 'uploadRatio',
  'metadataPercentComplete', 'recheckProgress', 'addedDate', 'downloadDir', 'isFinished', 'uploadedEver', 'downloadedEver',
] as const;

export interface TorrentRow {
  id: number;
  name: string;
  hashString: string;
  totalSize: number;
  sizeWhenDone: number;
  leftUntilDone: number;
  percentDone: number;
  status: number;
  error: number;
  errorString: string;
  rateDownload: number;
  rateUpload: number;
  eta: number;
  peersConnected: number;
  peersSendingToUs: number;
  peersGettingFromUs: number;
  uploadRatio: number;
  metadataPercentComplete: number;
  recheckProgress: number;
  addedDate: number;
  downloadDir: string;
  isFinished: boolean;
  uploadedEver: number;
  downloadedEver: number;
}

/** The states a person filters by. */
export type StateName = 'downloading' | 'seeding' | 'stopped' | 'checking' | 'metadata' | 'error' | 'queued';

export const STATE_LABELS: Record<StateName, string> = {
  downloading: 'Downloading',
  seeding: 'Seeding',
  stopped: 'Stopped',
  checking: 'Checking',
  metadata: 'Fetching metadata',
  error: 'Error',
  queued: 'Queued',
};

/** tr_torrent_activity (0 stopped … 6 seeding) plus the error and metadata fields, as one state. */
export function stateOf(t: Pick<TorrentRow, 'status' | 'error' | 'metadataPercentComplete'>): StateName {
  if (t.error !== 0 && t.status === 0) return 'error';
  switch (t.status) {
    case 0:
      return 'stopped';
    case 1:
    case 2:
      return 'checking';
    case 3:
    case 5:
      return 'queued';
    case 4:
      return t.metadataPercentComplete < 1 ? 'metadata' : 'downloading';
    default:
      return 'seeding';
  }
}

/** The state as the list writes it: the error's text, the check's progress. */
export function stateText(t: Pick<TorrentRow, 'status' | 'error' | 'errorString' | 'metadataPercentComplete' | 'recheckProgress'>): string {
  const s = stateOf(t);
  if (s === 'error') return `Error: ${t.errorString || 'unknown'}`;
  if (s === 'checking') return `Checking ${percent(t.recheckProgress)}`;
  if (s === 'metadata') return t.metadataPercentComplete > 0 ? `Fetching metadata ${percent(t.metadataPercentComplete)}` : 'Fetching metadata';
  return STATE_LABELS[s];
}

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes with SI units (1 kB = 1000 B), as Transmission shows them. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < SIZE_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${SIZE_UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond <= 0 ? '0 B/s' : `${formatBytes(bytesPerSecond)}/s`;
}

/** 0..1 as a percentage; 99.95% stays below 100% until the last byte is there. */
export function percent(fraction: number): string {
  const p = Math.max(0, Math.min(1, fraction)) * 100;
  if (p >= 100) return '100%';
  if (p === 0) return '0%';
  return `${Math.min(p, 99.9).toFixed(1)}%`;
}

/** Transmission's eta: -1 unknown, -2 infinite/not applicable. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '∞';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${Math.round(seconds % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return d > 999 ? '∞' : `${d}d ${h % 24}h`;
}

/** Transmission's uploadRatio: -1 not available, -2 infinite. */
export function formatRatio(r: number): string {
  if (r === -2) return '∞';
  if (r < 0 || !Number.isFinite(r)) return '–';
  return r.toFixed(2);
}

/** A time in the future or past (seconds since the epoch) relative to `now`, e.g. "in 4m 10s". */
export function formatWhen(at: number, now: number): string {
  if (at <= 0) return '–';
  const d = at - now;
  return d >= 0 ? `in ${formatEta(d)}` : `${formatEta(-d)} ago`;
}

export type SortKey = 'name' | 'size' | 'progress' | 'state' | 'down' | 'up' | 'eta' | 'peers' | 'ratio' | 'added';

const STATE_ORDER: Record<StateName, number> = { error: 0, downloading: 1, metadata: 2, checking: 3, queued: 4, seeding: 5, stopped: 6 };

function sortValue(t: TorrentRow, key: SortKey): number | string {
  switch (key) {
    case 'name':
      return t.name.toLowerCase();
    case 'size':
      return t.sizeWhenDone;
    case 'progress':
      return t.percentDone;
    case 'state':
      return STATE_ORDER[stateOf(t)];
    case 'down':
      return t.rateDownload;
    case 'up':
      return t.rateUpload;
    case 'eta':
      // Unknown and infinite ETAs sort after every known one.
      return t.eta < 0 ? Number.MAX_SAFE_INTEGER : t.eta;
    case 'peers':
      return t.peersConnected;
    case 'ratio':
      return t.uploadRatio === -2 ? Number.MAX_SAFE_INTEGER : t.uploadRatio;
    case 'added':
      return t.addedDate;
  }
}

/** The torrents matching `text` (in name or hash) and `state`, sorted; ties keep id order. */
export function visibleRows(rows: readonly TorrentRow[], opts: { text: string; state: StateName | 'all'; key: SortKey; descending: boolean }): TorrentRow[] {
  const needle = opts.text.trim().toLowerCase();
  const out = rows.filter((t) => (opts.state === 'all' || stateOf(t) === opts.state) && (needle === '' || t.name.toLowerCase().includes(needle) || t.hashString.startsWith(needle)));
  const dir = opts.descending ? -1 : 1;
  return out.sort((a, b) => {
    const x = sortValue(a, opts.key);
    const y = sortValue(b, opts.key);
    if (x < y) return -dir;
    if (x > y) return dir;
    return a.id - b.id;
  });
}

/** Transmission file priorities: -1 low, 0 normal, 1 high. */
export const PRIORITY_NAMES: Record<number, 'low' | 'normal' | 'high'> = { [-1]: 'low', 0: 'normal', 1: 'high' };

/** Counts the set bits of a base64 piece bitfield, reading at most `pieceCount` bits. */
export function decodePieces(base64: string, pieceCount: number): Uint8Array {
  const bits = new Uint8Array(pieceCount);
  let raw: string;
  try {
    raw = atob(base64);
  } catch {
    return bits;
  }
  for (let i = 0; i < pieceCount; i++) {
    const byte = raw.charCodeAt(i >> 3);
    if (Number.isNaN(byte)) break;
    bits[i] = (byte >> (7 - (i & 7))) & 1;
  }
  return bits;
}
