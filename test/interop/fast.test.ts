// The fast extension (BEP 6) with libtorrent, which speaks it: read from libtorrent's own peer
// log (test/interop/py/lt_fast_log.py). A libtorrent seed's have_all is accepted by a pytor
// download (which itself starts with have_none); a pytor seed sends have_all and exactly the
// allowed-fast set BEP 6 defines for 127.0.0.1, as libtorrent receives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { allowedFastSet } from '../../src/wire/fast.js';
import { runPytor } from '../helpers/cli.js';
import { PY_DIR, PYTHON } from './harness/libtorrent.js';
import { freePort } from './harness/ports.js';
import { pollUntil, spawnManaged, type ManagedProcess } from './harness/process.js';
import { LOCAL, MiB, makeFixture, spawnPytor } from './pytor-helpers.js';

const CASE_MS = 120_000;

interface Summary {
  seed: { in: Record<string, number>; out: Record<string, number> };
  leech: { in: Record<string, number>; out: Record<string, number> };
  allowedFast: Record<string, number[]>;
}

/** Starts lt_fast_log.py; `lines` collects its JSON lines. */
async function startLog(cfg: Record<string, unknown>, lines: Record<string, unknown>[]): Promise<ManagedProcess> {
  return spawnManaged({
    name: 'lt-fast-log',
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_fast_log.py'), JSON.stringify(cfg)],
    stdinPipe: true,
    readyLine: /"event": "listening"/,
    readyTimeoutMs: 30_000,
    hardTimeoutMs: 100_000,
    onStdoutLine: (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not one of ours */
      }
    },
  });
}

async function summaryOf(lines: Record<string, unknown>[], proc: ManagedProcess): Promise<Summary> {
  await pollUntil(() => lines.some((l) => l.event === 'summary'), 60_000, 200);
  const s = lines.find((l) => l.event === 'summary');
  assert.ok(s, `no summary from lt_fast_log.py\n${proc.output()}`);
  return s as unknown as Summary;
}

test('a libtorrent seed sends have_all (fast extension on both sides) and pytor downloads from it', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'fast.bin', spec: { files: [{ path: 'fast.bin', size: 4 * MiB + 5 }] }, seed: 'fast-seed', pieceLength: 64 * 1024 });
  const lines: Record<string, unknown>[] = [];
  // Runs 20 s, then reports; pytor is done long before.
  const lt = await startLog({ torrentFile: f.torrentFile, seedDir: f.seedDir, seconds: 20 }, lines);
  t.after(() => lt.stop());
  const port = (lines.find((l) => l.event === 'listening') as { port: number }).port;
  const r = await runPytor(['download', f.torrentFile, '-o', path.join(f.dir, 'out'), '--no-trackers', '--port', '0', '--peer', `${LOCAL}:${port}`, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const s = await summaryOf(lines, lt);
  assert.ok((s.seed.out.HAVE_ALL ?? 0) >= 1, `libtorrent sent no have_all: ${JSON.stringify(s.seed)}`);
  assert.equal(s.seed.out.BITFIELD ?? 0, 0, 'with the fast extension a full seed says have_all, not a bitfield');
  assert.ok((s.seed.in.HAVE_NONE ?? 0) >= 1, `pytor (empty) sent no have_none: ${JSON.stringify(s.seed)}`);
  assert.ok((s.seed.out.PIECE ?? 0) > 0);
});

test('a pytor seed sends libtorrent have_all and the BEP 6 allowed-fast set for its address', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'fast-up.bin', spec: { files: [{ path: 'fast-up.bin', size: 8 * MiB }] }, seed: 'fast-up', pieceLength: 64 * 1024 });
  const port = await freePort('tcp');
  const seed = spawnPytor(t, ['seed', f.torrentFile, '-d', f.seedDir, '--no-trackers', '--port', String(port), '--bind', LOCAL, '--json-events'], { timeoutMs: 90_000 });
  await pollUntil(() => seed.stdout().includes('"event":"checked"'), 30_000, 100);
  const lines: Record<string, unknown>[] = [];
  const lt = await startLog({ torrentFile: f.torrentFile, leechers: 3, leechDir: path.join(f.dir, 'lt'), connect: [LOCAL, port], seconds: 10 }, lines);
  t.after(() => lt.stop());
  const s = await summaryOf(lines, lt);
  seed.kill('SIGINT');
  await seed.exited;
  assert.equal(s.leech.in.HAVE_ALL, 3, JSON.stringify(s.leech));
  assert.equal(s.leech.in.BITFIELD ?? 0, 0);
  const expected = allowedFastSet(f.torrent.infoHash, LOCAL, f.torrent.pieces.length).sort((a, b) => a - b);
  assert.equal(expected.length, 10);
  assert.deepEqual(s.allowedFast['leech-in'], expected);
  assert.equal(s.leech.in.ALLOWED_FAST, 30);
  assert.ok((s.leech.in.PIECE ?? 0) > 0);
});
