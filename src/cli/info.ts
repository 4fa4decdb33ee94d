import type { Command } from 'commander';
import { isRenamed, type Torrent, type TorrentFile } from '../metainfo/index.js';
import { loadTorrent } from './load.js';
import { fetchMagnet, isMagnet, magnetJson, magnetOf, magnetText } from './magnet.js';
import { addDhtOptions, collectPeer, dhtSettings, portNumber, type DhtCliOptions } from './options.js';
import type { PeerAddress } from '../peer/address.js';
import { parseMagnet } from '../magnet/index.js';
import { InvalidArgumentError } from 'commander';
import { jsonText } from './json-text.js';
import { formatBytes, safeText } from './terminal.js';

export function registerInfo(program: Command): void {
  const command = program
    .command('info')
    .description('show what a .torrent file or magnet link holds')
    .argument('<torrent>', '.torrent file or magnet link')
    .option('--json', 'print one JSON object')
    .option('--magnet', 'print the magnet link of a .torrent file')
    .option('--fetch', 'magnet link: fetch the metadata from peers and show the full info')
    .option('-p, --peer <host:port>', 'with --fetch: ask this peer too (repeatable)', collectPeer, [])
    .option('--port <n>', 'with --fetch: TCP port to listen on', portNumber, 0)
    .option('--timeout <seconds>', 'with --fetch: give up after this long', secondsOption, 60);
  addDhtOptions(command)
    .action(async (source: string, opts: InfoOptions) => {
      if (isMagnet(source)) {
        if (!opts.fetch) {
          const magnet = parseMagnet(source);
          process.stdout.write(opts.magnet ? `${source.trim()}\n` : opts.json ? `${jsonText(magnetJson(magnet))}\n` : magnetText(magnet));
          return;
        }
        const torrent = await fetchMagnet(source, { peer: opts.peer, port: opts.port, timeoutS: opts.timeout, progress: !opts.json, dht: dhtSettings(opts) });
        process.stdout.write(opts.magnet ? `${magnetOf(torrent)}\n` : opts.json ? `${jsonText(infoJson(torrent))}\n` : infoText(torrent));
        return;
      }
      const torrent = await loadTorrent(source);
      if (opts.magnet) process.stdout.write(`${magnetOf(torrent)}\n`);
      else process.stdout.write(opts.json ? `${jsonText(infoJson(torrent))}\n` : infoText(torrent));
    });
}

interface InfoOptions extends DhtCliOptions {
  json?: boolean;
  magnet?: boolean;
  fetch?: boolean;
  peer: PeerAddress[];
  port: number;
  timeout: number;
}

function secondsOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('expected seconds between 0 and 86400');
  return n;
}

/**
 * Stable, camelCase fields for scripts; absent values are null. `name` and `files[].path` are
 * the safe on-disk names download and seed use; `originalName` / `files[].originalPath` are
 * there only when the torrent states something else.
 */
export function infoJson(t: Torrent) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    ...(t.originalName !== undefined && t.originalName !== t.name ? { originalName: t.originalName } : {}),
    length: t.length,
    pieceLength: t.pieceLength,
    pieceCount: t.pieces.length,
    private: t.private,
    announce: t.announce ?? null,
    announceList: t.announceList,
    urlList: t.urlList,
    // `index` is the 1-based number `download --select` takes (pad files keep theirs, unselectable).
    files: t.files.map((f, i) => ({
      index: i + 1,
      path: f.path.join('/'),
      length: f.length,
      padding: f.padding,
      ...(isRenamed(f) ? { originalPath: (f.originalPath ?? []).join('/') } : {}),
    })),
    symlinks: (t.symlinks ?? []).map((l) => ({
      path: l.path.join('/'),
      target: l.target.join('/'),
      ...(isRenamed(l) ? { originalPath: (l.originalPath ?? []).join('/') } : {}),
    })),
    comment: t.comment ?? null,
    createdBy: t.createdBy ?? null,
    creationDate: t.creationDate ?? null,
  };
}

export function infoText(t: Torrent): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(15)}${value}`);
  row('name', safeText(t.name));
  if (t.originalName !== undefined && t.originalName !== t.name) {
    row('stated name', t.originalName === '' ? '(none)' : safeText(t.originalName));
  }
  row('info hash', t.infoHashHex);
  row('size', `${formatBytes(t.length)} (${t.length} bytes)`);
  row('piece length', `${formatBytes(t.pieceLength)} (${t.pieceLength} bytes)`);
  row('pieces', String(t.pieces.length));
  row('private', t.private ? 'yes' : 'no');
  const tiers = t.announceList.length > 0 ? t.announceList : t.announce ? [[t.announce]] : [];
  if (tiers.length === 0) row('trackers', 'none');
  else {
    lines.push('trackers:');
    tiers.forEach((tier, i) => lines.push(`  tier ${i + 1}: ${tier.map(safeText).join(', ')}`));
  }
  if (t.urlList.length > 0) {
    lines.push('web seeds:');
    for (const url of t.urlList) lines.push(`  ${safeText(url)}`);
  }
  if (t.comment !== undefined) row('comment', safeText(t.comment));
  if (t.createdBy !== undefined) row('created by', safeText(t.createdBy));
  if (t.creationDate !== undefined) row('creation date', formatDate(t.creationDate));
  const shown = [...t.files.entries()].filter(([, f]) => !f.padding);
  lines.push(`files (${shown.length}):`);
  // A loop, not Math.max(...spread): a torrent may list up to a million files.
  let width = 0;
  for (const [, f] of shown) width = Math.max(width, formatBytes(f.length).length);
  // Numbered from 1 as `download --select` takes them (a pad file's number is skipped).
  const numberWidth = String(t.files.length).length;
  let renamed = 0;
  for (const [i, f] of shown) {
    const mark = isRenamed(f) ? '*' : ' ';
    if (mark === '*') renamed++;
    lines.push(` ${mark}${String(i + 1).padStart(numberWidth)}  ${formatBytes(f.length).padStart(width)}  ${safeText(f.path.join('/'))}`);
  }
  if (renamed > 0) {
    lines.push(`* name changed to be safe on disk; the torrent states:`);
    for (const [, f] of shown.filter(([, f]) => isRenamedFile(f))) lines.push(`  ${safeText(f.path.join('/'))}  <-  ${statedPath(f)}`);
  }
  const links = t.symlinks ?? [];
  if (links.length > 0) {
    lines.push(`symlinks (${links.length}, not created):`);
    for (const l of links) lines.push(`  ${safeText(l.path.join('/'))} -> ${safeText(l.target.join('/'))}`);
  }
  return `${lines.join('\n')}\n`;
}

function isRenamedFile(f: TorrentFile): boolean {
  return isRenamed(f);
}

/** The stated path, each component quoted so that separators and spaces inside one show. */
function statedPath(f: TorrentFile): string {
  return (f.originalPath ?? []).map((c) => `"${safeText(c)}"`).join(' / ');
}

function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : `${d.toISOString().replace('.000Z', 'Z')} (${seconds})`;
}
