// BEP 12 order with a fake per-tracker announce; peer ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePeerId, TrackerError, TrackerTiers, type AnnounceParams, type AnnounceResult } from '../../src/tracker/index.js';
import { shuffle } from '../../src/tracker/tiers.js';

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20), peerId: Buffer.alloc(20), port: 1, uploaded: 0, downloaded: 0, left: 0, key: 1,
};

function fakeAnnounce(answering: ReadonlySet<string>, asked: string[]) {
  return async (url: string): Promise<AnnounceResult> => {
    asked.push(url);
    if (!answering.has(url)) throw new TrackerError('ETRACKER_TIMEOUT', url, 'no reply');
    return { interval: 60, peers: [] };
  };
}

/** random() = 0 makes Fisher-Yates a fixed rotation; the test needs only determinism. */
const zero = () => 0;

test('tiers are shuffled with the injected random source, deduplicated, empty tiers dropped', () => {
  assert.deepEqual(shuffle(['a', 'b', 'c'], zero), ['b', 'c', 'a']);
  const ident = () => 0.999999;
  const t = new TrackerTiers([['a', 'b', 'c'], [], ['d', 'a']], ident);
  assert.deepEqual(t.list(), [['a', 'b', 'c'], ['d']]);
  assert.deepEqual(t.urls(), ['a', 'b', 'c', 'd']);
});

test('trackers are tried in order; the one that answers moves to the front of its tier', async () => {
  const asked: string[] = [];
  const ident = () => 0.999999; // no reordering
  const t = new TrackerTiers([['a', 'b', 'c'], ['d']], ident, fakeAnnounce(new Set(['c', 'd']), asked));
  const first = await t.announce(params);
  assert.equal(first.url, 'c');
  assert.deepEqual(asked, ['a', 'b', 'c']);
  assert.deepEqual(t.list(), [['c', 'a', 'b'], ['d']]);
  asked.length = 0;
  await t.announce(params);
  assert.deepEqual(asked, ['c']);
});

test('a tier that fails entirely falls through to the next tier', async () => {
  const asked: string[] = [];
  const t = new TrackerTiers([['a', 'b'], ['c', 'd']], () => 0.999999, fakeAnnounce(new Set(['d']), asked));
  assert.equal((await t.announce(params)).url, 'd');
  assert.deepEqual(asked, ['a', 'b', 'c', 'd']);
  assert.deepEqual(t.list(), [['a', 'b'], ['d', 'c']]);
});

test('when nobody answers, one error lists every failure', async () => {
  const t = new TrackerTiers([['a'], ['b']], zero, fakeAnnounce(new Set(), []));
  await assert.rejects(t.announce(params), (err: unknown) => {
    assert.ok(err instanceof TrackerError);
    assert.equal(err.code, 'ETRACKER_ALL_FAILED');
    assert.deepEqual(err.causes.map((c) => c.url), ['a', 'b']);
    return true;
  });
});

test('peer id: -PT0001- and 12 random bytes', () => {
  const id = makePeerId((n) => Buffer.alloc(n, 0xee));
  assert.equal(id.length, 20);
  assert.equal(id.subarray(0, 8).toString('latin1'), '-PT0001-');
  assert.deepEqual(id.subarray(8), Buffer.alloc(12, 0xee));
  assert.notDeepEqual(makePeerId(), makePeerId());
});
