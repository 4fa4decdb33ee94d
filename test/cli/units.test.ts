import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { parseBytes, parseDuration, parseRate } from '../../src/cli/units.js';

test('rates: K, M, G are binary; KiB/KB spelled out mean the same; 0 is unlimited', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['4096', 4096],
    ['500K', 500 * 1024],
    ['800k', 800 * 1024],
    ['800KB', 800 * 1024],
    ['800kib', 800 * 1024],
    ['2M', 2 * 1024 ** 2],
    ['1.5MiB', 1.5 * 1024 ** 2],
    ['1.5 MiB', 1.5 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['100B', 100],
    ['500K/s', 500 * 1024],
    [' 2 M/s ', 2 * 1024 ** 2],
    ['.5K', 512],
    ['0.0', 0],
  ];
  for (const [text, bytes] of cases) assert.equal(parseRate(text), bytes, text);
});

test('rates: nonsense, negatives and sub-byte rates are refused with commander errors', () => {
  for (const bad of ['', 'fast', '-1', '-500K', '5X', '1e6', '5 K B', 'K', '2M/h', '0.0001', '2000P']) {
    assert.throws(() => parseRate(bad), (e: unknown) => e instanceof InvalidArgumentError && /rate|less than|larger/.test(e.message), bad);
  }
  assert.throws(() => parseRate('0.0001'), /less than 1 byte per second \(0 means no limit\)/);
  assert.throws(() => parseBytes('2000T'), /larger than 1 PiB/);
});

test('durations: ms units, bare numbers in seconds', () => {
  const cases: [string, number][] = [
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1.5h', 5_400_000],
    ['2 days', 172_800_000],
    ['90', 90_000],
    ['0', 0],
    ['250ms', 250],
  ];
  for (const [text, value] of cases) assert.equal(parseDuration(text), value, text);
});

test('durations: nonsense and negatives are refused with commander errors', () => {
  for (const bad of ['', 'soon', '-1h', '-5', '1e3', '5 parsecs', '1000000y']) {
    assert.throws(() => parseDuration(bad), InvalidArgumentError, bad);
  }
  assert.throws(() => parseDuration('soon'), /"soon" is not a duration \(e\.g\. 90s, 30m, 2h, 1d; a bare number is seconds\)/);
});
