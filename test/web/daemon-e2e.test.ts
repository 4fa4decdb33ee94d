// The web UI against the real `pytor daemon` (bin/pytor.js) in headless Chromium, with
// python3-libtorrent seeders on loopback: add a magnet link in the page and watch it reach
// 100% with the seeder in the peers tab; upload a .torrent with one file unticked and check that
// file is never written; pause and resume; remove with data; and no console errors.
// Skipped, saying why, when this build has no `pytor daemon` or no Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatMagnet } from '../../src/magnet/index.js';
import { startLibtorrentSeeder } from '../interop/harness/libtorrent.js';
import { verifyPayload, type PayloadSpec } from '../interop/harness/payload.js';
import { freePort } from '../interop/harness/ports.js';
import { startBittorrentTracker } from '../interop/harness/trackers.js';
import { makeFixture, spawnPytor, startThrottleProxy } from '../interop/pytor-helpers.js';
import { axeSerious, browserMissing, launchBrowser, newContext, screenshot, watchConsole } from './browser.js';
import { until } from './fixture.js';

const BIN = path.resolve(process.cwd(), 'bin', 'pytor.js');
const PIECE = 256 * 1024;

/** Why this test cannot run in this build, or undefined. */
function daemonMissing(): string | undefined {
  const r = spawnSync(process.execPath, [BIN, 'daemon', '--help'], { encoding: 'utf8', timeout: 30_000 });
  // commander answers an unknown command's --help with the general help and status 0.
  if (r.status !== 0 || !/Usage: pytor daemon/.test(r.stdout)) {
    return `this build has no \`pytor daemon\` (node bin/pytor.js daemon --help: status ${r.status}, no daemon usage): the end-to-end web UI test runs once the daemon is merged`;
  }
  return undefined;
}

const skip = browserMissing() ?? daemonMissing();

/** One RPC call from the test itself, with the session-id handshake, to check what the page did. */
async function rpc(base: string, method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  let id = '';
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${base}/transmission/rpc`, { method: 'POST', headers: { 'X-Transmission-Session-Id': id }, body: JSON.stringify({ method, arguments: args }) });
    if (res.status === 409) {
      id = res.headers.get('X-Transmission-Session-Id') ?? '';
      continue;
    }
    const body = (await res.json()) as { result: string; arguments: Record<string, unknown> };
    if (body.result !== 'success') throw new Error(`${method}: ${body.result}`);
    return body.arguments;
  }
  throw new Error(`${method}: no session id`);
}

test('the web UI drives the real daemon: magnet from a libtorrent seeder, .torrent upload with a file left out, pause/resume, remove with data', { skip, timeout: 300_000 }, async (t) => {
  // A tracker for the uploaded .torrent; the magnet names its seeder with x.pe only.
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());

  const magnetSpec: PayloadSpec = { files: [{ path: 'web-magnet.bin', size: 12 * 1024 * 1024 + 12345 }] };
  const mf = await makeFixture(t, { name: 'web-magnet.bin', spec: magnetSpec, seed: 'web-magnet', pieceLength: PIECE });
  const magnetSeeder = await startLibtorrentSeeder({ torrentFile: mf.torrentFile, dataDir: mf.seedDir, port: await freePort('both') });
  t.after(() => magnetSeeder.stop());
  // The magnet's x.pe names the seeder through a proxy passing 3 MB/s, so the transfer lasts a
  // few seconds whatever the machine: long enough to see the seeder in the peers tab (a seeder
  // and a finished leecher drop their connection).
  const proxy = await startThrottleProxy(magnetSeeder.port, 3_000_000);
  t.after(() => proxy.stop());

  // Files of whole pieces, so a piece of the unticked file never touches its neighbours.
  const uploadSpec: PayloadSpec = {
    files: [
      { path: 'web-upload/keep-1.bin', size: 4 * PIECE },
      { path: 'web-upload/skip.bin', size: 4 * PIECE },
      { path: 'web-upload/keep-2.bin', size: 2 * PIECE },
    ],
  };
  const uf = await makeFixture(t, { name: 'web-upload', spec: uploadSpec, seed: 'web-upload', pieceLength: PIECE, trackers: [tracker.httpUrl] });
  const uploadSeeder = await startLibtorrentSeeder({ torrentFile: uf.torrentFile, dataDir: uf.seedDir, port: await freePort('both'), trackers: [tracker.httpUrl] });
  t.after(() => uploadSeeder.stop());

  const work = await mkdtemp(path.join(tmpdir(), 'pytor-web-e2e-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const downloads = path.join(work, 'downloads');
  const rpcPort = await freePort('tcp');
  const daemon = spawnPytor(t, ['daemon', '--rpc-port', String(rpcPort), '--rpc-bind', '127.0.0.1', '--download-dir', downloads, '--state-dir', path.join(work, 'state'), '--port', '0', '--no-dht'], { timeoutMs: 280_000 });
  let exited = false;
  void daemon.exited.then(() => (exited = true));
  await until('the daemon to listen', () => {
    return exited || /RPC on http:\/\/127\.0\.0\.1:\d+\/transmission\/rpc/.test(daemon.stdout());
  }, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\n--- stdout ---\n${daemon.stdout()}\n--- stderr ---\n${daemon.stderr()}`);
  });
  if (exited) throw new Error(`the daemon exited before listening\n--- stdout ---\n${daemon.stdout()}\n--- stderr ---\n${daemon.stderr()}`);
  const base = /RPC on (http:\/\/127\.0\.0\.1:\d+)\//.exec(daemon.stdout())![1]!;

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: /Torrents/ }).waitFor();
  const row = (name: string) => page.locator('table.list tbody tr', { has: page.getByRole('button', { name, exact: true }) });

  // Global speed limits from the page reach the daemon (asked directly over the RPC).
  await page.getByLabel('Download limit').fill('1000');
  await page.getByLabel('Upload limit').fill('250');
  await page.getByRole('button', { name: 'Set limits' }).click();
  await until('the limits set in the daemon', async () => {
    const s = await rpc(base, 'session-get');
    return s['speed-limit-down-enabled'] === true && s['speed-limit-down'] === 1000 && s['speed-limit-up-enabled'] === true && s['speed-limit-up'] === 250;
  }, 15_000);
  // Wait until the page shows the limits it set (its edits are dropped once the session is read
  // again), so the edits below start from the daemon's values, not from a stale read.
  await until('the page showing the limits', async () => (await page.getByLabel('Download limit').inputValue()) === '1000' && (await page.getByLabel('Upload limit').inputValue()) === '250', 15_000);
  await page.getByLabel('Download limit').fill('');
  await page.getByLabel('Upload limit').fill('');
  await page.getByRole('button', { name: 'Set limits' }).click();
  await until('the limits lifted in the daemon', async () => {
    const s = await rpc(base, 'session-get');
    return s['speed-limit-down-enabled'] === false && s['speed-limit-up-enabled'] === false;
  }, 15_000).catch(async (err: Error) => {
    const shown = `page shows down "${await page.getByLabel('Download limit').inputValue()}", up "${await page.getByLabel('Upload limit').inputValue()}"`;
    throw new Error(`${err.message}; ${shown}; daemon: ${JSON.stringify(await rpc(base, 'session-get')).slice(0, 400)}; page said: ${await page.locator('[role=status]').allInnerTexts()}`);
  });
  await until('free space shown', async () => /B$/.test(await page.getByTestId('free-space').innerText()), 15_000);
  assert.equal(await page.getByTestId('dht').innerText(), 'off');
  // The peer port the page shows is the one the daemon printed.
  const peerPort = /peers on port (\d+)/.exec(daemon.stdout())?.[1];
  assert.ok(peerPort, daemon.stdout());
  await until('the peer port', async () => (await page.getByTestId('peer-port').innerText()) === peerPort, 10_000);

  // 1. A magnet link with the seeder as x.pe.
  const magnet = `${formatMagnet({ infoHashHex: mf.made.infoHash, name: 'web-magnet.bin' })}&x.pe=127.0.0.1:${proxy.port}`;
  await page.getByRole('button', { name: 'Add torrent' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a torrent' });
  await dialog.getByLabel('Magnet link or URL').fill(magnet);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  await row('web-magnet.bin').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'web-magnet.bin', exact: true }).click();
  await page.getByRole('tab', { name: 'Peers' }).click();
  const panel = page.locator('#detail').getByRole('tabpanel');
  await until('the seeder in the peers tab', async () => (await panel.innerText()).includes(`127.0.0.1:${proxy.port}`), 60_000);
  assert.match(await panel.innerText(), /libtorrent/i);
  await screenshot(page, 'e2e-peers-desktop');
  await until('the magnet at 100%', async () => (await row('web-magnet.bin').innerText()).includes('100%'), 120_000);
  assert.match(await row('web-magnet.bin').innerText(), /Seeding/);
  assert.deepEqual(await verifyPayload(downloads, magnetSpec, mf.seed), []);

  // 2. A .torrent by file upload, with skip.bin unticked before it starts.
  await page.getByRole('button', { name: 'Add torrent' }).click();
  await dialog.locator('input[type=file]').setInputFiles(uf.torrentFile);
  const files = dialog.getByRole('group', { name: /Files of web-upload/ });
  await files.getByLabel('skip.bin').uncheck();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  await until('the upload at 100%', async () => (await row('web-upload').count()) === 1 && (await row('web-upload').innerText()).includes('100%'), 120_000);
  assert.deepEqual(await verifyPayload(downloads, { files: uploadSpec.files.filter((f) => !f.path.endsWith('skip.bin')) }, uf.seed), []);
  assert.equal(existsSync(path.join(downloads, 'web-upload', 'skip.bin')), false, 'the unticked file was written');
  await page.getByRole('button', { name: 'web-upload', exact: true }).click();
  await until('files tab', async () => (await page.locator('#detail').getByRole('tabpanel').locator('tbody tr').count()) === 3);
  assert.equal(await page.getByLabel('Download web-upload/skip.bin').isChecked(), false);

  // 3. Pause and resume.
  await page.getByRole('button', { name: 'Pause web-upload' }).click();
  await until('stopped', async () => (await row('web-upload').innerText()).includes('Stopped'), 15_000);
  await page.getByRole('button', { name: 'Resume web-upload' }).click();
  await until('seeding again', async () => /Seeding|Checking/.test(await row('web-upload').innerText()), 15_000);

  // 4. Remove with its data.
  await page.getByRole('button', { name: 'Remove web-magnet.bin' }).click();
  const remove = page.getByRole('dialog', { name: /Remove/ });
  await remove.getByLabel('Also delete the downloaded data').check();
  await remove.getByRole('button', { name: 'Remove and delete data' }).click();
  await until('row gone', async () => (await row('web-magnet.bin').count()) === 0, 15_000);
  await until('data deleted', () => !existsSync(path.join(downloads, 'web-magnet.bin')), 15_000);
  assert.ok(existsSync(path.join(downloads, 'web-upload', 'keep-1.bin')), 'the other torrent lost its data');

  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(problems, [], 'the page logged console errors or warnings');
  await context.close();
});
