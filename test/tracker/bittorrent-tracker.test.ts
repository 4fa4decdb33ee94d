// pytor's tracker client against the npm `bittorrent-tracker` server on loopback, over HTTP
// (IPv4 and IPv6) and UDP. Fake peers are announced by hand-written requests at known ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { announce, formatPeer, scrape, TrackerTiers, type AnnounceParams } from '../../src/tracker/index.js';
import { ConnectionIdCache, udpAnnounce } from '../../src/tracker/udp.js';
import { leakedResources, makeTorrent, ourAnnounce, rawAnnounce, sorted, startBtTracker, startUdpRelay, V6, type BtTracker, type FakePeer } from './harness.js';

const FAKES: FakePeer[] = [
  { port: 41001, seeder: true },
  { port: 41002, seeder: true },
  { port: 41003, seeder: false },
];
const OUR_PORT = 41999;

let v4: BtTracker;
let v6: BtTracker;
const torrent = makeTorrent('bt', {});

const params = (over: Partial<AnnounceParams> = {}) => ourAnnounce({ infoHash: torrent.infoHash, port: OUR_PORT, key: 12345 }, over);

before(async () => {
  v4 = await startBtTracker();
  v6 = await startBtTracker(V6);
  for (const p of FAKES) {
    await rawAnnounce(v4.httpUrl, torrent.infoHash, p);
    await rawAnnounce(v6.httpUrl, torrent.infoHash, p);
  }
});

after(async () => {
  await v4.close();
  await v6.close();
  assert.deepEqual(await leakedResources(), []);
});

test('HTTP announce returns the announced peers and the swarm counts', async () => {
  const p = params();
  const r = await announce(v4.httpUrl, p);
  // bittorrent-tracker counts the announcing client and lists it among the peers.
  assert.deepEqual(sorted(r.peers.map(formatPeer)), sorted([...FAKES.map((f) => `127.0.0.1:${f.port}`), `127.0.0.1:${OUR_PORT}`]));
  assert.equal(r.complete, 2);
  assert.equal(r.incomplete, 2);
  assert.equal(r.interval, 600);
  await announce(v4.httpUrl, { ...p, event: 'stopped' });
  assert.deepEqual(v4.counts(torrent.hex), { complete: 2, incomplete: 1 });
});

test('UDP announce (BEP 15) returns the same swarm', async () => {
  const p = params();
  const r = await announce(v4.udpUrl, p);
  assert.deepEqual(sorted(r.peers.map(formatPeer)), sorted([...FAKES.map((f) => `127.0.0.1:${f.port}`), `127.0.0.1:${OUR_PORT}`]));
  assert.equal(r.complete, 2);
  assert.equal(r.incomplete, 2);
  await announce(v4.udpUrl, { ...p, event: 'stopped' });
  assert.deepEqual(v4.counts(torrent.hex), { complete: 2, incomplete: 1 });
});

test('HTTP from an IPv6 tracker: peers6 (BEP 7) parsed into IPv6 peers', async () => {
  const p = params();
  const r = await announce(v6.httpUrl, p);
  assert.deepEqual(sorted(r.peers.map(formatPeer)), sorted([...FAKES.map((f) => `[::1]:${f.port}`), `[::1]:${OUR_PORT}`]));
  await announce(v6.httpUrl, { ...p, event: 'stopped' });
  assert.deepEqual(v6.counts(torrent.hex), { complete: 2, incomplete: 1 });
});

test('scrape over HTTP (BEP 48) and UDP matches the tracker’s own counts', async () => {
  const other = makeTorrent('bt-unknown', {});
  const own = v4.counts(torrent.hex);
  const viaHttp = await scrape(v4.httpUrl, [torrent.infoHash, other.infoHash]);
  const viaUdp = await scrape(v4.udpUrl, [torrent.infoHash, other.infoHash]);
  for (const m of [viaHttp, viaUdp]) {
    assert.equal(m.get(torrent.hex)?.complete, own.complete);
    assert.equal(m.get(torrent.hex)?.incomplete, own.incomplete);
    assert.deepEqual(m.get(other.hex), { complete: 0, incomplete: 0, downloaded: 0 });
  }
  assert.deepEqual(own, { complete: 2, incomplete: 1 });
});

test('UDP connection id is reused for a minute, then fetched again', async () => {
  const relay = await startUdpRelay(Number(new URL(v4.udpUrl.replace('udp:', 'http:')).port));
  try {
    let now = 1_000_000;
    const cache = new ConnectionIdCache(60_000, () => now);
    const p = params({ event: undefined });
    await udpAnnounce(relay.url, p, {}, cache);
    await udpAnnounce(relay.url, p, {}, cache);
    now += 59_000;
    await udpAnnounce(relay.url, p, {}, cache);
    assert.equal(relay.counts.get(0), 1, 'one connect for three announces within the minute');
    now += 2_000;
    await udpAnnounce(relay.url, { ...p, event: 'stopped' }, {}, cache);
    assert.equal(relay.counts.get(0), 2, 'a new connect once the id is older than a minute');
    assert.equal(relay.counts.get(1), 4);
  } finally {
    await relay.close();
  }
});

test('tiers: a dead tracker is skipped and the live one moves to the front', async () => {
  const dead = 'udp://127.0.0.1:9/announce'; // discard port: nothing answers (refused or silent)
  const tiers = new TrackerTiers([[dead, v4.httpUrl]], () => 0.999999);
  const p = params();
  const { url, result } = await tiers.announce(p, { timeoutMs: 2000, udpRetryBaseMs: 200 });
  assert.equal(url, v4.httpUrl);
  assert.ok(result.peers.length >= FAKES.length);
  assert.deepEqual(tiers.list(), [[v4.httpUrl, dead]]);
  await announce(v4.httpUrl, { ...p, event: 'stopped' });
});
