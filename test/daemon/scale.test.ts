// 200 torrents in one pytor daemon (--no-dht, no trackers): half with their data present
// (seeding), half without (waiting for peers). torrent-get of all of them answers well under a
// second; memory is measured after 100 and after 200 (the cost per idle torrent should stay
// flat) and reported; a restart brings all 200 back. Numbers go to the test's diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTorrent } from '../../src/metainfo/create.js';
import { parseList, startDaemon, TR_BIN, waitFor, type DaemonProc } from './daemon-proc.js';

const skip = existsSync(TR_BIN) ? false : 'transmission-remote (transmission-cli) is not installed';
const COUNT = 200;
// What transmission-remote -l asks for, plus a few the web UIs list.
const LIST_FIELDS = ['id', 'name', 'status', 'percentDone', 'eta', 'rateDownload', 'rateUpload', 'sizeWhenDone', 'leftUntilDone', 'uploadRatio', 'error', 'errorString', 'peersConnected', 'addedDate', 'totalSize', 'haveValid', 'downloadDir', 'hashString'];

async function timedGet(d: DaemonProc): Promise<{ ms: number; count: number }> {
  const t0 = process.hrtime.bigint();
  const r = await d.rpc('torrent-get', { fields: LIST_FIELDS });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r.result, 'success');
  return { ms, count: r.arguments.torrents.length };
}

async function settled(d: DaemonProc, n: number): Promise<void> {
  await waitFor(
    `${n} torrents checked`,
    async () => {
      const r = await d.rpc('torrent-get', { fields: ['status'] });
      return r.arguments.torrents.length === n && r.arguments.torrents.every((x: any) => x.status === 4 || x.status === 6);
    },
    120_000,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test(`${COUNT} torrents in one daemon: torrent-get of all well under a second, memory per torrent flat`, { skip, timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-scale-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const downloads = path.join(dir, 'downloads');
  const sources = path.join(dir, 'sources');
  const home = path.join(dir, 'home');
  await mkdir(downloads, { recursive: true });
  await mkdir(sources, { recursive: true });
  await mkdir(home, { recursive: true });
  const metainfo: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const name = `t${String(i).padStart(3, '0')}.bin`;
    const data = randomBytes(32 * 1024 + i);
    // Even ones have their data in the download folder (they seed), odd ones do not.
    const where = i % 2 === 0 ? downloads : sources;
    await writeFile(path.join(where, name), data);
    const made = await createTorrent(path.join(where, name), { pieceLength: 16 * 1024, noDate: true });
    metainfo.push(made.torrent.toString('base64'));
  }

  const d = await startDaemon({ stateDir: path.join(dir, 'state'), downloadDir: downloads, home, extra: ['--max-connections', '100'] });
  t.after(() => d.stop());
  await new Promise((r) => setTimeout(r, 1000));
  const rssEmpty = d.rssBytes();

  const addAll = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const r = await d.rpc('torrent-add', { metainfo: metainfo[i] });
      assert.equal(r.result, 'success', `add ${i}`);
    }
  };
  const t0 = Date.now();
  await addAll(0, COUNT / 2);
  await settled(d, COUNT / 2);
  await new Promise((r) => setTimeout(r, 2000));
  const rssHalf = d.rssBytes();
  await addAll(COUNT / 2, COUNT);
  await settled(d, COUNT);
  const addMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const rssFull = d.rssBytes();

  const gets: number[] = [];
  for (let k = 0; k < 5; k++) {
    const g = await timedGet(d);
    assert.equal(g.count, COUNT);
    gets.push(g.ms);
  }
  const all = await d.rpc('torrent-get', { fields: ['status'] });
  const seeding = all.arguments.torrents.filter((x: any) => x.status === 6).length;
  assert.equal(seeding, COUNT / 2, 'the even half seeds');

  const tl0 = Date.now();
  const listed = await d.tr('-l');
  const listMs = Date.now() - tl0;
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(parseList(listed.stdout).length, COUNT);

  const perFirst = (rssHalf - rssEmpty) / (COUNT / 2);
  const perSecond = (rssFull - rssHalf) / (COUNT / 2);
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  t.diagnostic(`added ${COUNT} torrents (and checked them) in ${addMs} ms`);
  t.diagnostic(`torrent-get of ${COUNT} (${LIST_FIELDS.length} fields): median ${median(gets).toFixed(1)} ms, max ${Math.max(...gets).toFixed(1)} ms; transmission-remote -l ${listMs} ms`);
  t.diagnostic(`RSS: empty ${kib(rssEmpty)}, ${COUNT / 2} torrents ${kib(rssHalf)}, ${COUNT} torrents ${kib(rssFull)}; per torrent ${kib(perFirst)} (first half), ${kib(perSecond)} (second half)`);
  assert.ok(median(gets) < 500, `torrent-get of ${COUNT} took ${median(gets)} ms`);
  // Measured about 100 KiB per idle torrent (20 MiB for 200); fail well before anything per-torrent grows large.
  assert.ok(rssFull - rssEmpty < 64 * 1024 * 1024, `${COUNT} idle torrents cost ${kib(rssFull - rssEmpty)}`);

  // A clean restart brings all of them back, in the same states.
  assert.equal((await d.stop()).code, 0);
  const tr0 = Date.now();
  const again = await startDaemon({ stateDir: path.join(dir, 'state'), downloadDir: downloads, home });
  t.after(() => again.stop());
  await settled(again, COUNT);
  const back = await again.rpc('torrent-get', { fields: ['id', 'status'] });
  t.diagnostic(`restart with ${COUNT} torrents: all back and checked in ${Date.now() - tr0} ms`);
  assert.deepEqual(
    back.arguments.torrents.map((x: any) => x.id),
    Array.from({ length: COUNT }, (_, i) => i + 1),
  );
  assert.equal(back.arguments.torrents.filter((x: any) => x.status === 6).length, COUNT / 2);
  assert.equal((await again.stop()).code, 0);
});
