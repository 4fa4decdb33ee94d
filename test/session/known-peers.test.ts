import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TorrentSession } from '../../src/session/session.js';
import { makePeerId } from '../../src/tracker/index.js';
import { makeTorrent } from '../storage/fixture.js';

test('the peers a session remembers stay bounded however many it is told of', () => {
  const torrent = makeTorrent('x.bin', [{ path: ['x.bin'], data: Buffer.alloc(100) }], 16 * 1024, false);
  // Never started: nothing is dialled, only remembered.
  const session = new TorrentSession({ torrent, outDir: '.', peerId: makePeerId() });
  const addresses = Array.from({ length: 5000 }, (_, i) => ({ host: `127.0.${i >> 8}.${i & 255}`, port: 6881 }));
  session.addPeers(addresses);
  session.addPeers(addresses.slice(0, 10)); // repeats add nothing
  assert.equal(session.stats().peersKnown, 2000);
});
