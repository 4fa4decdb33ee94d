// pytor's tracker client against Debian's opentracker on loopback, over HTTP and UDP.
// What this build does (found by running it): IPv4 only; only whitelisted info-hashes are
// tracked, others get a `failure reason` over HTTP and an empty announce reply over UDP; the announcing client is counted and listed among
// the peers; peers are told apart by ip:port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { announce, formatPeer, scrape, TrackerError, type AnnounceParams } from '../../src/tracker/index.js';
import { leakedResources, makeTorrent, ourAnnounce, rawAnnounce, rawScrape, sorted, startOpentracker, type FakePeer, type OpenTracker } from './harness.js';

const FAKES: FakePeer[] = [
  { port: 42001, seeder: true },
  { port: 42002, seeder: false },
  { port: 42003, seeder: false },
];
const OUR_PORT = 42999;
const torrent = makeTorrent('ot', {});
const notListed = makeTorrent('ot-not-whitelisted', {});
let ot: OpenTracker;

const params = (over: Partial<AnnounceParams> = {}) => ourAnnounce({ infoHash: torrent.infoHash, port: OUR_PORT, key: 777 }, over);
const fakeSet = FAKES.map((f) => `127.0.0.1:${f.port}`);
const scrapeUrl = () => ot.httpUrl.replace(/announce$/, 'scrape');

before(async () => {
  ot = await startOpentracker([torrent.hex]);
  for (const p of FAKES) await rawAnnounce(ot.httpUrl, torrent.infoHash, p);
});

after(async () => {
  await ot.close();
  assert.deepEqual(await leakedResources(), []);
});

for (const scheme of ['http', 'udp'] as const) {
  test(`${scheme.toUpperCase()} announce lists the announced peers (and, as opentracker does, us)`, async () => {
    const url = scheme === 'http' ? ot.httpUrl : ot.udpUrl;
    const p = params();
    const r = await announce(url, p);
    assert.deepEqual(sorted(r.peers.map(formatPeer)), sorted([...fakeSet, `127.0.0.1:${OUR_PORT}`]));
    assert.equal(r.complete, 1);
    assert.equal(r.incomplete, 3);
    assert.ok(r.interval > 0);
    if (scheme === 'http') assert.ok(r.minInterval !== undefined && r.minInterval > 0);
    // `stopped` takes us out of the swarm again.
    await announce(url, { ...p, event: 'stopped' });
    assert.deepEqual(await rawScrape(scrapeUrl(), torrent.infoHash), { complete: 1, incomplete: 2 });
  });
}

test('scrape over HTTP and UDP matches opentracker’s own counts', async () => {
  const own = await rawScrape(scrapeUrl(), torrent.infoHash);
  assert.deepEqual(own, { complete: 1, incomplete: 2 });
  for (const url of [ot.httpUrl, ot.udpUrl]) {
    const m = await scrape(url, [torrent.infoHash]);
    const got = m.get(torrent.hex);
    assert.equal(got?.complete, own.complete, url);
    assert.equal(got?.incomplete, own.incomplete, url);
  }
});

test('a hash outside the whitelist is refused over HTTP and UDP, as a failure', async () => {
  for (const url of [ot.httpUrl, ot.udpUrl]) {
    await assert.rejects(announce(url, params({ infoHash: notListed.infoHash }), { timeoutMs: 5000, udpRetryBaseMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof TrackerError, String(err));
      assert.equal(err.url, url);
      assert.equal(err.code, 'ETRACKER_FAILURE', `${url}: ${err.message}`);
      // HTTP carries its reason; over UDP it answers with a bare 8-byte announce header.
      assert.match(err.detail, url.startsWith('http') ? /not authorized/ : /refused the announce/);
      return true;
    });
  }
});
