// The pure parts of `npm run bench`: sizes, rates for the chart, medians and ratios, the SVG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, sizeLabel, median, shebangNodeFlags } from '../../../bench/util.js';
import { readFileSync } from 'node:fs';
import { ratesOf, renderChart } from '../../../bench/chart.js';
import { fairness, summarize, ratios, renderTable, medianRun, type RunResult } from '../../../bench/table.js';

const run = (wallSec: number, cpuSec: number, peakRssKb: number, ok = true): RunResult => ({ ok, wallSec, cpuSec, peakRssKb, bytes: 2 ** 30, series: [] });

test('sizes parse and print both ways', () => {
  assert.equal(parseSize('256M'), 256 * 2 ** 20);
  assert.equal(parseSize('1G'), 2 ** 30);
  assert.equal(parseSize('1.5k'), 1536);
  assert.throws(() => parseSize('lots'), /cannot parse/);
  assert.throws(() => parseSize('0'), /not a positive size/);
  assert.equal(sizeLabel(4 * 2 ** 30), '4G');
  assert.equal(sizeLabel(256 * 2 ** 20), '256M');
  assert.equal(sizeLabel(1000), '1000');
});

test('median ignores NaN and averages the middle pair', () => {
  assert.equal(median([3, 1, NaN, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([NaN])));
});

test('rates over a 1 s window from cumulative bytes', () => {
  // 100 MB per second, sampled every 0.25 s.
  const pts: [number, number][] = [];
  for (let i = 1; i <= 12; i++) pts.push([i / 4, i * 25e6]);
  const r = ratesOf(pts);
  assert.deepEqual(r[0], [0, 0]);
  for (const [t, mbps] of r.slice(1)) assert.ok(Math.abs(mbps - 100) < 1e-6, `rate at ${t} is ${mbps}`);
  // A stall shows as zero, never negative.
  assert.deepEqual(ratesOf([[1, 5e6], [2, 5e6]]).at(-1), [2, 0]);
});

test('summary takes medians of the good runs only; ratios pick the best other', () => {
  const p = summarize('pytor', [run(4, 4, 100 * 1024), run(5, 5, 120 * 1024), run(NaN, NaN, NaN, false)]);
  assert.equal(p.ok, 2);
  assert.equal(p.runs, 3);
  assert.equal(p.wallSec, 4.5);
  assert.equal(p.rssMb, 110);
  const lt = summarize('libtorrent', [run(2, 2, 1000 * 1024)]);
  const a2 = summarize('aria2', [run(8, 1, 20 * 1024)]);
  const q = ratios([p, lt, a2]);
  assert.ok(q);
  assert.equal(q.bestMbps?.client, 'libtorrent');
  assert.equal(q.lowRss?.client, 'aria2');
  assert.equal(q.lowCpu?.client, 'aria2');
  assert.ok(Math.abs(q.mbps - (2 ** 30 / 4.5 / 1e6 / (2 ** 30 / 2 / 1e6))) < 0.05);
  assert.equal(q.rss, 110 / 20);
  const table = renderTable([p, lt, a2], { role: 'leecher' });
  assert.match(table, /^\| leecher \| ok runs \|/);
  assert.match(table, /\| pytor \| 2\/3 \|/);
  assert.match(table, /pytor vs the best other: MB\/s 0\.4\dx \(best libtorrent/);
  assert.equal(ratios([p]), undefined);
  assert.equal(medianRun([run(5, 1, 1), run(3, 1, 1), run(4, 1, 1)])?.wallSec, 4);
});

test('the chart is one SVG with a line and a legend entry per client', () => {
  const svg = renderChart('t <1>', [
    { name: 'pytor', points: [[0.5, 50e6], [1, 100e6]] },
    { name: 'aria2', points: [[0.5, 10e6], [1, 20e6]] },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.match(svg, />pytor<\/text>/);
  assert.match(svg, /t &lt;1&gt;/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test("the bench runs pytor with the node flags of bin/pytor.js's own #! line", () => {
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env node\nimport x;'), []);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --max-semi-space-size=2 --foo\n'), ['--max-semi-space-size=2', '--foo']);
  assert.deepEqual(shebangNodeFlags('// not a shebang\n'), []);
  const bin = readFileSync(new URL('../../../../bin/pytor.js', import.meta.url), 'utf8');
  assert.deepEqual(shebangNodeFlags(bin), ['--max-semi-space-size=2']);
});

test("fairness: Jain's index over the leechers' mean rates, from their finish times", () => {
  const even = fairness([4, 4, 4, 4])!;
  assert.equal(even.jain, 1);
  assert.deepEqual([even.firstSec, even.lastSec], [4, 4]);
  // Rates 1/2 and 1/4: (3/4)^2 / (2 * (1/4 + 1/16)) = 0.9.
  assert.ok(Math.abs(fairness([2, 4])!.jain - 0.9) < 1e-12);
  // One leecher served far faster than three others tends to 1/n.
  assert.ok(fairness([1, 1000, 1000, 1000])!.jain < 0.26);
  assert.equal(fairness([]), undefined);
  assert.equal(fairness([3, 0]), undefined, 'a leecher that never finished');
});
