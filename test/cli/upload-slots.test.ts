// --upload-slots: offered by download and seed, and only a positive whole number is taken.
// (That it reaches the choker is shown by test/interop/fast-reject.test.ts: with 1 slot a seed
// chokes one of three libtorrent leechers, which the default 4 never would.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPytor } from '../helpers/cli.js';

test('download and seed both list --upload-slots', async () => {
  for (const command of ['download', 'seed']) {
    const r = await runPytor([command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--upload-slots <n>/);
    assert.match(r.stdout.replace(/\s+/g, ' '), /plus one that rotates every 30 s \(default 4\)/);
  }
});

test('--upload-slots refuses 0 and fractions before anything starts', async () => {
  for (const value of ['0', '1.5', 'many']) {
    const r = await runPytor(['seed', 'missing.torrent', '--upload-slots', value]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--upload-slots <n>.*expected a positive whole number/);
  }
});
