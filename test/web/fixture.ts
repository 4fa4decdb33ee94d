// A MemoryEngine filled with torrents in every state the list shows, with files, peers, trackers
// and pieces, behind a real RPC server serving the built web UI; and small helpers for pages.
import type { Page } from 'playwright-core';
import { startRpcServer, type RpcServer } from '../../src/rpc/index.js';
import type { Credentials } from '../../src/rpc/security.js';
import { webUiHandler } from '../../src/web/index.js';
import { makeTorrent, MemoryEngine, type MemoryTorrent } from '../rpc/memory-engine.js';

const MB = 1_000_000;

/** Sets verified bytes and the piece bitfield for `fraction` of a torrent, consistently. */
export function setProgress(t: MemoryTorrent, fraction: number): void {
  const have = Math.floor(t.pieceCount * fraction);
  t.pieces = new Uint8Array(Math.ceil(t.pieceCount / 8));
  for (let i = 0; i < have; i++) t.pieces[i >> 3]! |= 0x80 >> (i & 7);
  const bytes = Math.min(t.totalBytes, have * t.pieceLength);
  t.verifiedBytes = bytes;
  let left = bytes;
  for (const f of t.files) {
    f.verifiedBytes = Math.min(f.length, left);
    left -= f.verifiedBytes;
  }
  t.wantedVerifiedBytes = t.files.filter((f) => f.wanted).reduce((a, f) => a + f.verifiedBytes, 0);
  t.wantedBytes = t.files.filter((f) => f.wanted).reduce((a, f) => a + f.length, 0);
}

export function fillEngine(engine: MemoryEngine): void {
  const NOW = Math.floor(Date.now() / 1000);
  engine.settings.downloadDir = '/srv/downloads';
  engine.settings.peerPort = 51413;
  engine.settings.dhtNodes = 187;
  engine.free = 412_300_000_000;
  const pl = 1 << 20;
  const dvd = makeTorrent(1, {
    name: 'debian-12.8.0-amd64-DVD',
    pieceLength: pl,
    totalBytes: 1200 * pl,
    files: [
      { path: 'debian-12.8.0-amd64-DVD/debian-12.8.0-amd64-DVD-1.iso', length: 900 * pl, verifiedBytes: 0, wanted: true, priority: 'high' },
      { path: 'debian-12.8.0-amd64-DVD/debian-12.8.0-amd64-DVD-2.iso', length: 280 * pl, verifiedBytes: 0, wanted: true, priority: 'normal' },
      { path: 'debian-12.8.0-amd64-DVD/SHA512SUMS', length: 20 * pl, verifiedBytes: 0, wanted: true, priority: 'normal' },
    ],
    downloadRate: 3_240_000,
    uploadRate: 152_000,
    etaSeconds: 212,
    peersConnected: 14,
    peersSendingToUs: 9,
    peersGettingFromUs: 3,
    downloadedBytes: 520 * MB,
    uploadedBytes: 96 * MB,
    addedAt: NOW - 900,
    startedAt: NOW - 900,
    peers: [
      { address: '127.0.0.1', port: 6881, client: 'libtorrent 2.0.8', progress: 1, downloadRate: 1_900_000, uploadRate: 0, incoming: false, encrypted: true, utp: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false, source: 'tracker' },
      { address: '::1', port: 51413, client: 'Transmission 3.00', progress: 0.61, downloadRate: 1_340_000, uploadRate: 152_000, incoming: true, encrypted: false, utp: true, amChoking: false, amInterested: true, peerChoking: false, peerInterested: true, source: 'incoming' },
    ],
    trackers: [
      { url: 'http://127.0.0.1:6969/announce', tier: 0, lastAnnounce: { at: NOW - 95, ok: true, message: 'Success', peers: 31 }, seeders: 118, leechers: 23, nextAnnounceAt: NOW + 1705 },
      { url: 'udp://127.0.0.1:6970/announce', tier: 1, lastAnnounce: { at: NOW - 95, ok: false, message: 'Connection timed out', peers: 0, timedOut: true }, nextAnnounceAt: NOW + 205 },
    ],
  });
  setProgress(dvd, 0.42);
  engine.put(dvd);
  const bunny = makeTorrent(2, { name: 'Big_Buck_Bunny_1080p.mkv', pieceLength: pl, totalBytes: 691 * pl, state: 'seeding', uploadRate: 820_000, uploadedBytes: 1100 * MB, downloadedBytes: 725 * MB, peersConnected: 4, peersGettingFromUs: 2, addedAt: NOW - 86400 * 3, doneAt: NOW - 86400 });
  setProgress(bunny, 1);
  engine.put(bunny);
  const ubuntu = makeTorrent(3, { name: 'ubuntu-24.04.1-desktop-amd64.iso', pieceLength: pl, totalBytes: 5900 * pl, state: 'stopped', addedAt: NOW - 7200, downloadedBytes: 600 * MB, uploadedBytes: 12 * MB });
  setProgress(ubuntu, 0.1);
  engine.put(ubuntu);
  const archive = makeTorrent(4, { name: 'archive-2019.tar', pieceLength: pl, totalBytes: 300 * pl, state: 'error', error: 'No space left on device (writing piece 211)', addedAt: NOW - 3000 });
  setProgress(archive, 0.7);
  engine.put(archive);
  engine.put(makeTorrent(5, { name: 'Sintel.2010.1080p', totalBytes: 0, pieceCount: 0, files: [], fileCount: 0, wantedBytes: 0, state: 'metadata', metadataProgress: 0, pieces: new Uint8Array(0), addedAt: NOW - 60, peersConnected: 2 }));
  const photos = makeTorrent(6, { name: 'photos-2024', pieceLength: pl, totalBytes: 80 * pl, state: 'checking', checkProgress: 0.3, addedAt: NOW - 30 });
  setProgress(photos, 0.3);
  engine.put(photos);
  for (const t of engine.list) t.downloadDir = '/srv/downloads';
}

export interface UiServer {
  readonly engine: MemoryEngine;
  readonly server: RpcServer;
  readonly url: string;
  close(): Promise<void>;
}

export async function startUi(opts: { auth?: Credentials; filled?: boolean } = {}): Promise<UiServer> {
  const engine = new MemoryEngine();
  if (opts.filled !== false) fillEngine(engine);
  const server = await startRpcServer({ engine, port: 0, auth: opts.auth, staticHandler: webUiHandler() });
  return { engine, server, url: `http://127.0.0.1:${server.port}/`, close: () => server.close() };
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export const rowText = (page: Page, id: number) => page.locator(`tr[data-id="${id}"]`).innerText();

/** Presses Tab until the focused element's accessible name matches; fails after `max` presses. */
export async function tabTo(page: Page, name: RegExp, max = 80, key = 'Tab'): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const label = await page.evaluate(() => {
      const el = (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null; textContent: string | null } | null } }).document.activeElement;
      return el ? (el.getAttribute('aria-label') ?? el.textContent ?? '').trim() : '';
    });
    if (name.test(label)) return;
  }
  throw new Error(`no focusable element named ${name} within ${max} presses of ${key}`);
}
