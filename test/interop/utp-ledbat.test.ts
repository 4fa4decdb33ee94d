// LEDBAT on a real (kernel) bottleneck: a private network namespace (unshare -n, so nothing
// but its own loopback exists) whose loopback is shaped by a token bucket (8 Mbit/s, up to
// 600 ms of queue). A bulk uTP upload must keep the link busy while a small "user" datagram
// sent through the same queue waits no longer than about the target delay, and a lower target
// must give a shorter wait (LEDBAT, not luck, holds the queue). Needs root, unshare and the
// tbf qdisc; skipped otherwise. The run itself is test/utp/ledbat-netns.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.resolve(process.cwd(), 'dist', 'test', 'utp', 'ledbat-netns.js');
const SHAPE = 'ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 8mbit burst 16kb latency 600ms';

function unavailable(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a network namespace';
  const r = spawnSync('unshare', ['-n', 'sh', '-c', SHAPE], { timeout: 10_000, encoding: 'utf8' });
  if (r.status !== 0) return `no private namespace with tbf: ${(r.stderr || r.error?.message || '').trim()}`;
  return false;
}

interface Phase {
  mbps: number;
  medianDelayMs: number;
  p90DelayMs: number;
}

test('LEDBAT keeps a bottleneck queue at its target delay while filling the link', { skip: unavailable(), timeout: 120_000 }, async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile('unshare', ['-n', 'sh', '-c', `${SHAPE} && exec "${process.execPath}" "${SCRIPT}"`], { timeout: 100_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { idle: Phase; utp: Phase; utp25: Phase; tcp: Phase };
  console.log(JSON.stringify(r));
  const link = 1.0; // 8 Mbit/s in MB/s
  const all = JSON.stringify(r);
  // Loose bounds: the machine is shared, and a busy CPU adds its own delay to every sample.
  assert.ok(r.utp.mbps > 0.6 * link, `uTP used ${r.utp.mbps} MB/s of ${link}: ${all}`);
  assert.ok(r.utp.medianDelayMs < 200, `user traffic waited ${r.utp.medianDelayMs} ms (median) behind uTP; target 100, buffer 600: ${all}`);
  assert.ok(r.utp25.mbps > 0.6 * link, `uTP (25 ms target) used ${r.utp25.mbps} MB/s: ${all}`);
  assert.ok(r.utp25.medianDelayMs < 0.6 * r.utp.medianDelayMs, `25 ms target: ${r.utp25.medianDelayMs} ms vs ${r.utp.medianDelayMs} ms: ${all}`);
});
