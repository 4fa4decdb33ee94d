// BEP 6 reject_request as libtorrent receives it from a pytor seed. A seed with one upload slot
// (--upload-slots 1, so one peer by rate plus the optimistic one) and three interested libtorrent
// leechers must choke one of them by its first optimistic rotation (30 s): the slot goes to the
// peer that has waited longest, so the peer that loses it is one being served, with requests in
// flight (--limit-up keeps libtorrent's queue full). BEP 6: every one of those requests is
// rejected. test/interop/py/lt_reject_log.py keeps, from libtorrent's own peer log, a ledger of
// the requests each leecher sent pytor and how each was answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PY_DIR, PYTHON } from './harness/libtorrent.js';
import { freePort } from './harness/ports.js';
import { pollUntil, spawnManaged } from './harness/process.js';
import { LOCAL, MiB, makeFixture, spawnPytor } from './pytor-helpers.js';

const CASE_MS = 120_000;

interface Ledger {
  owed: number;
  owedRejected: number;
  owedServed: number;
  owedServedWhileChoked: number;
  owedCancelled: number;
  owedAtClose: number;
  owedUnanswered: number;
  rejects: number;
  rejectsUnmatched: number;
  rejectsWhilePending: number;
  requests: number;
}

interface Summary {
  in: Record<string, number>;
  out: Record<string, number>;
  ledger: Ledger;
  chokes: { index: number; pending: number; owed: number }[];
}

test('a pytor seed that chokes a libtorrent leecher rejects each of its pending requests, once (BEP 6)', { timeout: CASE_MS }, async (t) => {
  // 16 MiB at 256 KiB/s: pytor cannot have sent the swarm every piece by the rotation, so all
  // three leechers are still interested then.
  const f = await makeFixture(t, { name: 'reject.bin', spec: { files: [{ path: 'reject.bin', size: 16 * MiB }] }, seed: 'fast-reject', pieceLength: 64 * 1024 });
  const port = await freePort('tcp');
  const seed = spawnPytor(
    t,
    ['seed', f.torrentFile, '-d', f.seedDir, '--no-trackers', '--no-dht', '--port', String(port), '--bind', LOCAL, '--upload-slots', '1', '--limit-up', '256K', '--json-events'],
    { timeoutMs: 100_000 },
  );
  await pollUntil(() => seed.stdout().includes('"event":"checked"'), 30_000, 100);

  const lines: Record<string, unknown>[] = [];
  const cfg = { torrentFile: f.torrentFile, leechers: 3, leechDir: path.join(f.dir, 'lt'), connect: [LOCAL, port], peerIdPrefix: '-PT', seconds: 75, untilRejects: 1 };
  const lt = await spawnManaged({
    name: 'lt-reject-log',
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_reject_log.py'), JSON.stringify(cfg)],
    stdinPipe: true,
    readyLine: /"event": "listening"/,
    readyTimeoutMs: 30_000,
    hardTimeoutMs: 95_000,
    onStdoutLine: (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not one of ours */
      }
    },
  });
  t.after(() => lt.stop());
  await pollUntil(() => lines.some((l) => l.event === 'summary'), 90_000, 200);
  seed.kill('SIGINT');
  await seed.exited;
  const s = lines.find((l) => l.event === 'summary') as unknown as Summary | undefined;
  assert.ok(s, `no summary from lt_reject_log.py\n${lt.output()}`);
  const l = s.ledger;
  const shown = JSON.stringify(s);
  t.diagnostic(shown);

  assert.ok(l.requests > 0, `libtorrent sent pytor no requests: ${shown}`);
  assert.ok((s.in.CHOKE ?? 0) >= 1, `pytor choked no leecher: ${shown}`);
  assert.ok(l.owed > 0, `no choke found requests pending: ${shown}`);
  // Each request the choke dropped got exactly one answer, and that answer was a reject.
  assert.equal(l.owedRejected, l.owed, `requests dropped by the choke vs rejected: ${shown}`);
  assert.equal(l.owedUnanswered, 0, shown);
  assert.equal(l.owedServed, 0, shown);
  assert.equal(l.owedCancelled, 0, shown);
  // No reject for a request already answered (or never made), and none beyond the dropped ones:
  // libtorrent asks a choking pytor only for allowed-fast pieces, which pytor serves.
  assert.equal(l.rejectsUnmatched, 0, shown);
  assert.equal(l.rejects, l.owed, `rejects libtorrent logged vs requests the choke dropped: ${shown}`);
  assert.equal(s.in.REJECT_PIECE, l.rejects, shown);
});
