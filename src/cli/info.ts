import type { Command } from 'commander';
import type { Torrent } from '../metainfo/index.js';
import { loadTorrent } from './load.js';
import { fetchMagnet, isMagnet, magnetJson, magnetOf, magnetText } from './magnet.js';
import { collectPeer, portNumber } from './options.js';
import type { PeerAddress } from '../peer/address.js';
import { parseMagnet } from '../magnet/index.js';
import { InvalidArgumentError } from 'commander';
import { jsonText } from './json-text.js';
import { formatBytes, safeText } from './terminal.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show what a .torrent file or magnet link holds')
    .argument('<torrent>', '.torrent file or magnet link')
    .option('--json', 'print one JSON object')
    .option('--magnet', 'print the magnet link of a .torrent file')
    .option('--fetch', 'magnet link: fetch the metadata from peers and show the full info')
    .option('-p, --peer <host:port>', 'with --fetch: ask this peer too (repeatable)', collectPeer, [])
    .option('--port <n>', 'with --fetch: TCP port to listen on', portNumber, 0)
    .option('--timeout <seconds>', 'with --fetch: give up after this long', secondsOption, 60)
    .action(async (source: string, opts: InfoOptions) => {
      if (isMagnet(source)) {
        if (!opts.fetch) {
          const magnet = parseMagnet(source);
          process.stdout.write(opts.magnet ? `${source.trim()}\n` : opts.json ? `${jsonText(magnetJson(magnet))}\n` : magnetText(magnet));
          return;
        }
        const torrent = await fetchMagnet(source, { peer: opts.peer, port: opts.port, timeoutS: opts.timeout, progress: !opts.json });
        process.stdout.write(opts.magnet ? `${magnetOf(torrent)}\n` : opts.json ? `${jsonText(infoJson(torrent))}\n` : infoText(torrent));
        return;
      }
      const torrent = await loadTorrent(source);
      if (opts.magnet) process.stdout.write(`${magnetOf(torrent)}\n`);
      else process.stdout.write(opts.json ? `${jsonText(infoJson(torrent))}\n` : infoText(torrent));
    });
}

interface InfoOptions {
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

/** Stable, camelCase fields for scripts; absent values are null. */
export function infoJson(t: Torrent) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    length: t.length,
    pieceLength: t.pieceLength,
    pieceCount: t.pieces.length,
    private: t.private,
    announce: t.announce ?? null,
    announceList: t.announceList,
    urlList: t.urlList,
    // `index` is the 1-based number `download --select` takes (pad files keep theirs, unselectable).
    files: t.files.map((f, i) => ({ index: i + 1, path: f.path.join('/'), length: f.length, padding: f.padding })),
    comment: t.comment ?? null,
    createdBy: t.createdBy ?? null,
    creationDate: t.creationDate ?? null,
  };
}

export function infoText(t: Torrent): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(15)}${value}`);
  row('name', safeText(t.name));
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
  for (const [i, f] of shown) {
    lines.push(`  ${String(i + 1).padStart(numberWidth)}  ${formatBytes(f.length).padStart(width)}  ${safeText(f.path.join('/'))}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : `${d.toISOString().replace('.000Z', 'Z')} (${seconds})`;
}
