// The announcer on a fake clock: one re-announce timer chain whatever the order of events,
// `completed` after an in-flight `started`, exactly one `stopped` (after a `completed` still on
// its way, bounded by the stop timeout), and nothing left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer } from '../../src/session/announcer.js';
import { TrackerTiers, type AnnounceParams, type AnnounceResult } from '../../src/tracker/index.js';

interface Call {
  readonly event: AnnounceParams['event'];
  answer(interval?: number): void;
  fail(): void;
}

/** A tracker whose answers the test releases by hand. */
function manualTracker() {
  const calls: Call[] = [];
  const tiers = new TrackerTiers([['http://tracker.test/announce']], () => 0, (_url, params, opts) =>
    new Promise<AnnounceResult>((resolve, reject) => {
      // Like the real clients: an aborted request ends at once.
      opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      calls.push({
        event: params.event,
        answer: (interval = 60) => resolve({ interval, peers: [] }),
        fail: () => reject(new Error('down')),
      });
    }),
  );
  return { tiers, calls };
}

const base = { infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2), port: 6881, key: 7 };
const hooks = { counters: () => ({ uploaded: 0, downloaded: 0, left: 1 }), onPeers: () => undefined, onError: () => undefined };

/** An announcer whose one tracker answers only when the test says so. */
function announcerOnManualTracker() {
  const { tiers, calls } = manualTracker();
  return { a: new Announcer(tiers, base, hooks), calls };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

test('completed while started is in flight: sent after it, and one re-announce per interval', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { a, calls } = announcerOnManualTracker();
  a.start();
  a.completed();
  await settle();
  assert.deepEqual(calls.map((c) => c.event), ['started'], 'completed waits for started');
  calls[0]!.answer(60);
  await settle();
  assert.deepEqual(calls.map((c) => c.event), ['started', 'completed']);
  calls[1]!.answer(60);
  await settle();
  t.mock.timers.tick(60_000);
  await settle();
  assert.deepEqual(calls.map((c) => c.event), ['started', 'completed', undefined], 'one regular announce after one interval');
  calls[2]!.answer(60);
  await settle();
  t.mock.timers.tick(60_000);
  await settle();
  assert.equal(calls.length, 4, 'still one chain');
  calls[3]!.answer(60);
  await settle();
  const stopping = a.stop();
  await settle();
  assert.equal(calls[4]?.event, 'stopped');
  calls[4]!.answer();
  await stopping;
  t.mock.timers.tick(3_600_000);
  await settle();
  assert.equal(calls.filter((c) => c.event === 'stopped').length, 1, 'exactly one stopped');
  assert.equal(calls.length, 5, 'no timer left after stop');
});

test('a failing tracker is retried with backoff; stop ends the retries', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { a, calls } = announcerOnManualTracker();
  a.start();
  await settle();
  calls[0]!.fail();
  await settle();
  t.mock.timers.tick(14_999);
  await settle();
  assert.equal(calls.length, 1, 'not before the first retry delay');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(calls.length, 2, 'first retry after 15 s');
  calls[1]!.fail();
  await settle();
  t.mock.timers.tick(29_999);
  await settle();
  assert.equal(calls.length, 2, 'the delay doubled');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(calls.length, 3);
  const stopping = a.stop();
  await settle();
  calls[3]?.answer();
  await stopping;
  t.mock.timers.tick(3_600_000);
  await settle();
  assert.equal(calls.filter((c) => c.event !== 'stopped').length, 3, 'no retry after stop');
});

test('stop lets a completed announce in flight finish first, bounded by the stop timeout', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // The tracker answers: completed is not cancelled, stopped follows it.
  {
    const { a, calls } = announcerOnManualTracker();
    a.completed();
    await settle();
    const stopping = a.stop(3000);
    await settle();
    assert.deepEqual(calls.map((c) => c.event), ['completed'], 'stopped waits for completed');
    calls[0]!.answer();
    await settle();
    assert.deepEqual(calls.map((c) => c.event), ['completed', 'stopped']);
    calls[1]!.answer();
    await stopping;
  }
  // The tracker never answers completed: after the stop timeout it is cancelled, stopped goes out.
  {
    const { a, calls } = announcerOnManualTracker();
    a.completed();
    await settle();
    const stopping = a.stop(3000);
    await settle();
    t.mock.timers.tick(2_999);
    await settle();
    assert.equal(calls.length, 1);
    t.mock.timers.tick(1);
    await settle();
    assert.deepEqual(calls.map((c) => c.event), ['completed', 'stopped']);
    calls[1]!.answer();
    await stopping;
  }
});

test('stop while completed waits behind started: started is cancelled, completed then stopped go out', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { a, calls } = announcerOnManualTracker();
  a.start();
  a.completed();
  await settle();
  const stopping = a.stop(3000);
  await settle();
  assert.deepEqual(calls.map((c) => c.event), ['started', 'completed']);
  calls[1]!.answer();
  await settle();
  assert.deepEqual(calls.map((c) => c.event), ['started', 'completed', 'stopped']);
  calls[2]!.answer();
  await stopping;
  t.mock.timers.tick(3_600_000);
  await settle();
  assert.equal(calls.length, 3, 'nothing after stopped');
});
