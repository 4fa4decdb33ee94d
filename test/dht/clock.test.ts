// Time-driven parts with a fake clock: token rotation, peer-store expiry and bounds, the
// query rate limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_ROTATE_MS, TokenIssuer } from '../../src/dht/token.js';
import { PEER_TTL_MS, PeerStore } from '../../src/dht/peer-store.js';
import { RateLimiter } from '../../src/dht/rate-limit.js';
import { prng, randomBytes } from '../helpers/random.js';

const r = prng(3);
const rnd = (n: number) => randomBytes(r, n);

test('tokens: valid for the asker IP only, through one rotation, not two', () => {
  const tokens = new TokenIssuer(rnd, 0);
  const tok = tokens.issue('1.2.3.4', 0);
  assert.ok(tokens.check(tok, '1.2.3.4', 1000));
  assert.ok(!tokens.check(tok, '1.2.3.5', 1000));
  assert.ok(tokens.check(tok, '1.2.3.4', TOKEN_ROTATE_MS + 1), 'the previous secret is still accepted');
  const fresh = tokens.issue('1.2.3.4', TOKEN_ROTATE_MS + 1);
  assert.ok(!fresh.equals(tok), 'a new secret after rotation');
  assert.ok(!tokens.check(tok, '1.2.3.4', 2 * TOKEN_ROTATE_MS + 1), 'two rotations later the token is refused');
  assert.ok(tokens.check(fresh, '1.2.3.4', 2 * TOKEN_ROTATE_MS + 1));
  // A long sleep: everything issued before is refused.
  assert.ok(!tokens.check(fresh, '1.2.3.4', 10 * TOKEN_ROTATE_MS));
  assert.ok(!tokens.check(Buffer.alloc(3), '1.2.3.4', 10 * TOKEN_ROTATE_MS));
});

test('peer store: expiry after 30 minutes, re-announce extends it, sweep frees it', () => {
  const store = new PeerStore();
  const h = Buffer.alloc(20, 1);
  store.add(h, { host: '1.1.1.1', port: 1 }, 0);
  store.add(h, { host: '2.2.2.2', port: 2 }, 10 * 60_000);
  assert.equal(store.get(h, PEER_TTL_MS - 1).length, 2);
  assert.deepEqual(store.get(h, PEER_TTL_MS), [{ host: '2.2.2.2', port: 2 }]);
  store.add(h, { host: '2.2.2.2', port: 2 }, 35 * 60_000);
  assert.equal(store.get(h, 60 * 60_000).length, 1);
  store.sweep(60 * 60_000);
  assert.equal(store.size, 1);
  store.sweep(35 * 60_000 + PEER_TTL_MS);
  assert.equal(store.size, 0);
  assert.equal(store.infoHashCount, 0);
});

test('peer store: bounded per info-hash, in total, and in info-hashes', () => {
  const store = new PeerStore({ perHash: 5, total: 12, hashes: 3 });
  const h = (i: number) => Buffer.alloc(20, i);
  for (let i = 0; i < 50; i++) store.add(h(0), { host: '1.1.1.1', port: 1 + i }, i);
  assert.equal(store.size, 5);
  assert.deepEqual(store.get(h(0), 100).map((p) => p.port), [50, 49, 48, 47, 46], 'the oldest announces gave way');
  for (let i = 0; i < 50; i++) store.add(h(1), { host: '1.1.1.1', port: 1 + i }, i);
  for (let i = 0; i < 50; i++) store.add(h(2), { host: '1.1.1.1', port: 1 + i }, i);
  assert.ok(store.size <= 12);
  assert.equal(store.add(h(3), { host: '1.1.1.1', port: 1 }, 0), false);
  assert.equal(store.infoHashCount, 3);
});

test('rate limiter: per source and global, refilled over time, bounded table of sources', () => {
  const lim = new RateLimiter(0, { perSource: 10, perSourceBurst: 20, global: 100, globalBurst: 50, maxSources: 100 });
  let allowed = 0;
  for (let i = 0; i < 1000; i++) if (lim.allow('1.1.1.1', 0)) allowed++;
  assert.equal(allowed, 20, 'the burst, then nothing');
  assert.ok(!lim.allow('1.1.1.1', 50));
  assert.ok(lim.allow('1.1.1.1', 200), 'refilled after 100 ms at 10/s');
  // Many sources: the global bucket stops them (50 burst, 20 spent at 0 ms, +20 refilled by
  // 200 ms so full again, 1 spent just above).
  let others = 0;
  for (let i = 0; i < 1000; i++) if (lim.allow(`2.0.${i >> 8}.${i & 255}`, 200)) others++;
  assert.equal(others, 49);
  assert.ok(lim.trackedSources <= 100);
});
