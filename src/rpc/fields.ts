// pytor's snapshots in Transmission's words: field names, status numbers, KB/s, derived sizes
// and ratios (rpc-spec 3.3 and 4.1, as Transmission 3.00 fills them). Pure functions.
import { formatMagnet } from '../magnet/index.js';
import type { FilePriority, PeerSnapshot, RatioLimit, SessionSettings, SessionTotals, TorrentQuery, TorrentSnapshot, TorrentState, TrackerSnapshot, TransferTotals } from './engine.js';

/** The RPC version Transmission 3.00 speaks (rpc-spec 5.0); its oldest compatible one. */
export const RPC_VERSION = 16;
export const RPC_VERSION_MINIMUM = 1;

/** Transmission 3.00 counts speed limits in kB/s of 1000 bytes ("units"."speed-bytes"). */
export const SPEED_K = 1000;

/** tr_torrent_activity: 0 stopped, 1 check queued, 2 checking, 3 download queued, 4 downloading, 5 seed queued, 6 seeding. */
export const STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const;

export function statusNumber(state: TorrentState): number {
  switch (state) {
    case 'stopped':
    case 'error':
      return STATUS.stopped;
    case 'checking':
      return STATUS.check;
    case 'metadata':
    case 'downloading':
      return STATUS.download;
    case 'seeding':
      return STATUS.seed;
  }
}

/** tr_stat.error: 0 none, 1 tracker warning, 2 tracker error, 3 local error. */
export function errorNumber(t: TorrentSnapshot): number {
  return t.state === 'error' ? 3 : 0;
}

export function leftUntilDone(t: TorrentSnapshot): number {
  return Math.max(0, t.wantedBytes - t.wantedVerifiedBytes);
}

/** Fraction of the wanted bytes verified; 0 without metadata, 1 when nothing is wanted. */
export function percentDone(t: TorrentSnapshot): number {
  if (t.state === 'metadata' || t.pieceCount === 0) return 0;
  if (t.wantedBytes === 0) return 1;
  return Math.min(1, t.wantedVerifiedBytes / t.wantedBytes);
}

/** Transmission's TR_RATIO_NA (-1) and TR_RATIO_INF (-2). */
export const RATIO_NA = -1;
export const RATIO_INF = -2;

/** uploaded / downloaded, where a torrent that downloaded nothing counts what it verified (seeding from disk). */
export function uploadRatio(t: TorrentSnapshot): number {
  const down = t.downloadedBytes > 0 ? t.downloadedBytes : t.verifiedBytes;
  if (down > 0) return t.uploadedBytes / down;
  return t.uploadedBytes > 0 ? RATIO_INF : RATIO_NA;
}

/** TR_ETA_NOT_AVAIL (-1): nothing to wait for; TR_ETA_UNKNOWN (-2): waiting, rate 0. */
export function etaNumber(t: TorrentSnapshot): number {
  if (t.etaSeconds !== undefined && Number.isFinite(t.etaSeconds) && t.etaSeconds >= 0) return Math.round(t.etaSeconds);
  return t.state === 'downloading' || t.state === 'metadata' ? -2 : -1;
}

/** tr_ratiolimit: 0 the session's, 1 the torrent's own, 2 unlimited. */
export function ratioMode(limit: RatioLimit): number {
  if (limit === 'session') return 0;
  if (limit === 'unlimited') return 2;
  return 1;
}

export function ratioFromMode(mode: number, ratio: number | undefined, current: RatioLimit): RatioLimit | undefined {
  if (mode === 0) return 'session';
  if (mode === 2) return 'unlimited';
  if (mode === 1) return ratio ?? (typeof current === 'number' ? current : undefined);
  return undefined;
}

export function priorityNumber(priority: FilePriority): number {
  return priority === 'low' ? -1 : priority === 'high' ? 1 : 0;
}

/** Bytes per second -> whole kB/s as Transmission reports limits. */
export function toKBps(bytesPerSecond: number | null | undefined): number {
  return bytesPerSecond === null || bytesPerSecond === undefined ? 0 : Math.round(bytesPerSecond / SPEED_K);
}

/** Transmission's peer flag letters (tr_peer_stat.flagStr), in its order. */
export function peerFlags(p: PeerSnapshot): string {
  let s = '';
  if (p.amInterested && !p.peerChoking) s += 'D';
  else if (p.amInterested) s += 'd';
  if (p.peerInterested && !p.amChoking) s += 'U';
  else if (p.peerInterested) s += 'u';
  if (!p.peerChoking && !p.amInterested) s += 'K';
  if (!p.amChoking && !p.peerInterested) s += '?';
  if (p.encrypted) s += 'E';
  if (p.source === 'dht') s += 'H';
  if (p.source === 'pex') s += 'X';
  if (p.incoming) s += 'I';
  if (p.utp) s += 'T';
  return s;
}

export function peerObject(p: PeerSnapshot): Record<string, unknown> {
  return {
    address: p.address,
    clientName: p.client,
    clientIsChoked: p.amChoking,
    clientIsInterested: p.amInterested,
    flagStr: peerFlags(p),
    isDownloadingFrom: p.amInterested && !p.peerChoking,
    isEncrypted: p.encrypted,
    isIncoming: p.incoming,
    isUploadingTo: p.peerInterested && !p.amChoking,
    isUTP: p.utp,
    peerIsChoked: p.peerChoking,
    peerIsInterested: p.peerInterested,
    port: p.port,
    progress: p.progress,
    rateToClient: Math.round(p.downloadRate),
    rateToPeer: Math.round(p.uploadRate),
  };
}

/** The host part of a tracker URL ('' when it does not parse). */
function trackerHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '';
  }
}

/** The scrape URL by the convention of BEP 48: the last `announce` in the path becomes `scrape`. */
export function scrapeUrl(announce: string): string {
  const slash = announce.lastIndexOf('/');
  if (announce.startsWith('udp:')) return announce;
  if (slash >= 0 && announce.startsWith('announce', slash + 1)) return `${announce.slice(0, slash + 1)}scrape${announce.slice(slash + 9)}`;
  return '';
}

/** tr_tracker_state: 0 inactive, 1 waiting, 2 queued, 3 active. */
export function trackerStatsObject(tr: TrackerSnapshot, index: number): Record<string, unknown> {
  const last = tr.lastAnnounce;
  return {
    announce: tr.url,
    announceState: tr.announcing ? 3 : tr.nextAnnounceAt !== undefined ? 1 : 0,
    downloadCount: tr.downloads ?? -1,
    hasAnnounced: last !== undefined,
    hasScraped: false,
    host: trackerHost(tr.url),
    id: index,
    isBackup: false,
    lastAnnouncePeerCount: last?.peers ?? 0,
    lastAnnounceResult: last?.message ?? '',
    lastAnnounceStartTime: last?.at ?? 0,
    lastAnnounceSucceeded: last?.ok ?? false,
    lastAnnounceTime: last?.at ?? 0,
    lastAnnounceTimedOut: last?.timedOut ?? false,
    lastScrapeResult: '',
    lastScrapeStartTime: 0,
    lastScrapeSucceeded: false,
    lastScrapeTime: 0,
    lastScrapeTimedOut: false,
    leecherCount: tr.leechers ?? -1,
    nextAnnounceTime: tr.nextAnnounceAt ?? 0,
    nextScrapeTime: 0,
    scrape: scrapeUrl(tr.url),
    scrapeState: 0,
    seederCount: tr.seeders ?? -1,
    tier: tr.tier,
  };
}

/** What a torrent-get field costs beyond the basic snapshot. */
export function queryFor(fields: readonly string[]): TorrentQuery {
  const has = (...names: string[]) => names.some((n) => fields.includes(n));
  return {
    files: has('files', 'fileStats', 'priorities', 'wanted'),
    peers: has('peers', 'peersFrom'),
    trackers: has('trackerStats'),
    pieces: has('pieces'),
  };
}

export interface FieldContext {
  /** The session's defaults, for fields that fall back to them. */
  readonly session: SessionSettings;
  /** Position of the torrent in the list (queuePosition). */
  readonly position: number;
}

type Getter = (t: TorrentSnapshot, ctx: FieldContext) => unknown;

function flatTrackers(t: TorrentSnapshot): { url: string; tier: number }[] {
  const out: { url: string; tier: number }[] = [];
  (t.trackerUrls ?? []).forEach((tier, i) => tier.forEach((url) => out.push({ url, tier: i })));
  return out;
}

function peersFrom(t: TorrentSnapshot): Record<string, number> {
  const from = { fromCache: 0, fromDht: 0, fromIncoming: 0, fromLpd: 0, fromLtep: 0, fromPex: 0, fromTracker: 0 };
  for (const p of t.peers ?? []) {
    if (p.source === 'dht') from.fromDht++;
    else if (p.source === 'pex') from.fromPex++;
    else if (p.source === 'lsd') from.fromLpd++;
    else if (p.source === 'tracker') from.fromTracker++;
    else if (p.source === 'incoming' || p.incoming) from.fromIncoming++;
    else from.fromCache++;
  }
  return from;
}

/** Every torrent-get field pytor answers, by Transmission's name. Unknown names are left out, as Transmission does. */
export const TORRENT_FIELDS: Readonly<Record<string, Getter>> = {
  activityDate: (t) => t.activityAt ?? 0,
  addedDate: (t) => t.addedAt,
  bandwidthPriority: () => 0,
  comment: (t) => t.comment ?? '',
  corruptEver: (t) => t.corruptBytes ?? 0,
  creator: (t) => t.creator ?? '',
  dateCreated: (t) => t.createdAt ?? 0,
  desiredAvailable: (t) => t.availableBytes ?? 0,
  doneDate: (t) => t.doneAt ?? 0,
  downloadDir: (t) => t.downloadDir,
  downloadedEver: (t) => t.downloadedBytes,
  downloadLimit: (t) => toKBps(t.downloadLimit),
  downloadLimited: (t) => t.downloadLimit !== undefined,
  editDate: () => 0,
  error: (t) => errorNumber(t),
  errorString: (t) => (t.state === 'error' ? t.error ?? 'error' : ''),
  eta: (t) => etaNumber(t),
  etaIdle: () => -1,
  files: (t) => (t.files ?? []).map((f) => ({ bytesCompleted: f.verifiedBytes, length: f.length, name: f.path })),
  fileStats: (t) => (t.files ?? []).map((f) => ({ bytesCompleted: f.verifiedBytes, wanted: f.wanted, priority: priorityNumber(f.priority) })),
  hashString: (t) => t.infoHashHex,
  haveUnchecked: () => 0,
  haveValid: (t) => t.verifiedBytes,
  honorsSessionLimits: () => true,
  id: (t) => t.id,
  isFinished: (t) => t.finished ?? false,
  isPrivate: (t) => t.isPrivate ?? false,
  isStalled: () => false,
  labels: () => [],
  leftUntilDone: (t) => leftUntilDone(t),
  magnetLink: (t) => formatMagnet({ infoHashHex: t.infoHashHex, name: t.name, trackers: flatTrackers(t).map((x) => x.url) }),
  manualAnnounceTime: () => -1,
  maxConnectedPeers: (t, c) => t.peerLimit ?? c.session.peerLimitPerTorrent,
  metadataPercentComplete: (t) => (t.state === 'metadata' ? t.metadataProgress ?? 0 : 1),
  name: (t) => t.name,
  'peer-limit': (t, c) => t.peerLimit ?? c.session.peerLimitPerTorrent,
  peers: (t) => (t.peers ?? []).map(peerObject),
  peersConnected: (t) => t.peersConnected,
  peersFrom: (t) => peersFrom(t),
  peersGettingFromUs: (t) => t.peersGettingFromUs,
  peersSendingToUs: (t) => t.peersSendingToUs,
  percentDone: (t) => percentDone(t),
  pieces: (t) => Buffer.from(t.pieces ?? new Uint8Array(Math.ceil(t.pieceCount / 8))).toString('base64'),
  pieceCount: (t) => t.pieceCount,
  pieceSize: (t) => t.pieceLength,
  priorities: (t) => (t.files ?? []).map((f) => priorityNumber(f.priority)),
  queuePosition: (_t, c) => c.position,
  rateDownload: (t) => Math.round(t.downloadRate),
  rateUpload: (t) => Math.round(t.uploadRate),
  recheckProgress: (t) => (t.state === 'checking' ? t.checkProgress ?? 0 : 0),
  secondsDownloading: (t) => t.secondsDownloading ?? 0,
  secondsSeeding: (t) => t.secondsSeeding ?? 0,
  seedIdleLimit: () => 30,
  seedIdleMode: () => 0,
  seedRatioLimit: (t, c) => (typeof t.ratioLimit === 'number' ? t.ratioLimit : c.session.seedRatioLimit ?? 2),
  seedRatioMode: (t) => ratioMode(t.ratioLimit),
  sizeWhenDone: (t) => t.wantedBytes,
  startDate: (t) => t.startedAt ?? 0,
  status: (t) => statusNumber(t.state),
  trackers: (t) => flatTrackers(t).map((x, i) => ({ announce: x.url, id: i, scrape: scrapeUrl(x.url), tier: x.tier })),
  trackerStats: (t) => (t.trackers ?? []).map(trackerStatsObject),
  totalSize: (t) => t.totalBytes,
  torrentFile: () => '',
  uploadedEver: (t) => t.uploadedBytes,
  uploadLimit: (t) => toKBps(t.uploadLimit),
  uploadLimited: (t) => t.uploadLimit !== undefined,
  uploadRatio: (t) => uploadRatio(t),
  wanted: (t) => (t.files ?? []).map((f) => (f.wanted ? 1 : 0)),
  webseeds: (t) => [...(t.webSeeds ?? [])],
  webseedsSendingToUs: () => 0,
};

/** The requested fields that pytor knows, in request order, without repeats. */
export function knownFields(requested: readonly string[]): string[] {
  return [...new Set(requested)].filter((f) => Object.prototype.hasOwnProperty.call(TORRENT_FIELDS, f));
}

/** One torrent as a torrent-get object. */
export function torrentObject(t: TorrentSnapshot, fields: readonly string[], ctx: FieldContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = TORRENT_FIELDS[f]!(t, ctx);
  return out;
}

/** One torrent as a row of the `format: "table"` answer (the first row holds the field names). */
export function torrentRow(t: TorrentSnapshot, fields: readonly string[], ctx: FieldContext): unknown[] {
  return fields.map((f) => TORRENT_FIELDS[f]!(t, ctx));
}

/** session-get (spec 4.1), from the engine's settings. */
export function sessionArguments(s: SessionSettings, sessionId: string): Record<string, unknown> {
  return {
    'alt-speed-down': 50,
    'alt-speed-enabled': false,
    'alt-speed-time-begin': 540,
    'alt-speed-time-day': 127,
    'alt-speed-time-enabled': false,
    'alt-speed-time-end': 1020,
    'alt-speed-up': 50,
    'blocklist-enabled': false,
    'blocklist-size': 0,
    'blocklist-url': '',
    'cache-size-mb': 4,
    'config-dir': s.configDir,
    'dht-enabled': s.dhtEnabled,
    // Not in Transmission: the web UI shows it; other clients ignore unknown keys.
    ...(s.dhtNodes !== undefined ? { 'pytor-dht-nodes': s.dhtNodes } : {}),
    'download-dir': s.downloadDir,
    'download-queue-enabled': false,
    'download-queue-size': 5,
    encryption: s.encryption,
    'idle-seeding-limit': 30,
    'idle-seeding-limit-enabled': false,
    'incomplete-dir': s.downloadDir,
    'incomplete-dir-enabled': false,
    'lpd-enabled': s.lpdEnabled,
    'peer-limit-global': s.peerLimitGlobal,
    'peer-limit-per-torrent': s.peerLimitPerTorrent,
    'peer-port': s.peerPort,
    'peer-port-random-on-start': false,
    'pex-enabled': s.pexEnabled,
    'port-forwarding-enabled': false,
    'queue-stalled-enabled': false,
    'queue-stalled-minutes': 30,
    'rename-partial-files': false,
    'rpc-version': RPC_VERSION,
    'rpc-version-minimum': RPC_VERSION_MINIMUM,
    'script-torrent-done-enabled': false,
    'script-torrent-done-filename': '',
    'seed-queue-enabled': false,
    'seed-queue-size': 10,
    seedRatioLimit: s.seedRatioLimit ?? 2,
    seedRatioLimited: s.seedRatioLimit !== null,
    'session-id': sessionId,
    'speed-limit-down': toKBps(s.downloadLimit),
    'speed-limit-down-enabled': s.downloadLimit !== null,
    'speed-limit-up': toKBps(s.uploadLimit),
    'speed-limit-up-enabled': s.uploadLimit !== null,
    'start-added-torrents': s.startAddedTorrents,
    'trash-original-torrent-files': false,
    units: {
      'speed-units': ['kB/s', 'MB/s', 'GB/s', 'TB/s'],
      'speed-bytes': SPEED_K,
      'size-units': ['kB', 'MB', 'GB', 'TB'],
      'size-bytes': 1000,
      'memory-units': ['KiB', 'MiB', 'GiB', 'TiB'],
      'memory-bytes': 1024,
    },
    'utp-enabled': s.utpEnabled,
    version: `${s.version} (pytor)`,
  };
}

function transferObject(t: TransferTotals): Record<string, number> {
  return {
    uploadedBytes: t.uploadedBytes,
    downloadedBytes: t.downloadedBytes,
    filesAdded: t.filesAdded,
    sessionCount: t.sessionCount,
    secondsActive: t.secondsActive,
  };
}

/** session-stats (spec 4.2). Active means moving payload right now, as in Transmission. */
export function sessionStats(torrents: readonly TorrentSnapshot[], totals: SessionTotals): Record<string, unknown> {
  let down = 0;
  let up = 0;
  let active = 0;
  let paused = 0;
  for (const t of torrents) {
    down += t.downloadRate;
    up += t.uploadRate;
    if (t.state === 'stopped' || t.state === 'error') paused++;
    if (t.downloadRate > 0 || t.uploadRate > 0) active++;
  }
  return {
    activeTorrentCount: active,
    downloadSpeed: Math.round(down),
    pausedTorrentCount: paused,
    torrentCount: torrents.length,
    uploadSpeed: Math.round(up),
    'cumulative-stats': transferObject(totals.cumulative),
    'current-stats': transferObject(totals.current),
  };
}
