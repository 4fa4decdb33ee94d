import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRun, phaseRates, ratesBetween, type Marks } from './ledbat-compete-analysis.js';

test('compete analysis: samples and marks from JSON lines, junk skipped', () => {
  const rx = ['{"ready":6881}', '{"t":1500,"utp":500000,"tcp":0}', 'not json', '{"t":2000,"utp":1,"tcp":2}', '{"t":"x","utp":1,"tcp":2}', ''].join('\n');
  const tx = ['{"mark":"utp-start","t":1000}', '{"t":1200,"cwnd":5000}', '{"mark":"tcp-start","t":9000}', '{broken'].join('\n');
  const { samples, marks } = parseRun(rx, tx);
  assert.deepEqual(samples, [
    { t: 1500, utp: 500000, tcp: 0 },
    { t: 2000, utp: 1, tcp: 2 },
  ]);
  assert.deepEqual(marks, { 'utp-start': 1000, 'tcp-start': 9000 });
});

test('compete analysis: rates per window count only whole intervals inside it', () => {
  // 500 ms samples ending at 500, 1000, ... 10_000: uTP 0.5 MB each (1 MB/s) until 5 s, then
  // TCP 0.4 MB (0.8 MB/s) and uTP 0.05 MB (0.1 MB/s).
  const samples = [];
  for (let t = 500; t <= 10_000; t += 500) samples.push(t <= 5000 ? { t, utp: 500_000, tcp: 0 } : { t, utp: 50_000, tcp: 400_000 });
  const before = ratesBetween(samples, 1000, 5000, 500);
  assert.equal(before.samples, 8, 'intervals ending 1500..5000');
  assert.equal(before.utp, 1);
  assert.equal(before.tcp, 0);
  const after = ratesBetween(samples, 5200, 10_000, 500);
  assert.equal(after.samples, 9, 'the interval 5000-5500 starts before the window');
  assert.ok(Math.abs(after.utp - 0.1) < 1e-9 && Math.abs(after.tcp - 0.8) < 1e-9);
  assert.ok(Number.isNaN(ratesBetween(samples, 20_000, 30_000, 500).utp), 'an empty window is NaN, so no threshold passes on it');

  const m: Marks = { 'utp-start': 0, 'tcp-start': 5000, 'tcp-stop': 8000, end: 10_000 };
  const r = phaseRates(samples, m, 1000, 500);
  assert.deepEqual([r.alone.samples, r.early.samples, r.competing.samples, r.recovered.samples], [8, 3, 3, 2]);
  assert.equal(r.alone.utp, 1);
  assert.ok(Math.abs(r.competing.tcp - 0.8) < 1e-9);
});
