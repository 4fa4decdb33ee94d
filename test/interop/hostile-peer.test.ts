// Hostile peers next to an honest libtorrent seeder: one answers every request with wrong
// bytes, one sends a 0xFFFFFFF0 length prefix, one answers the handshake with garbage, one
// sends garbage after a good handshake. pytor must drop or ban each of them and still finish
// with the right bytes. The hostile peers are small TCP servers speaking the wire protocol
// through pytor's own encoders; the honest seeder sits behind a throttle so the download
// lasts long enough to see what pytor does with the others while it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { Framer, decodeHandshake, encodeHandshake, encodeMessage, HANDSHAKE_LENGTH } from '../../src/wire/index.js';
import type { Torrent } from '../../src/metainfo/index.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { verifyPayload } from './harness/payload.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { MiB, makeFixture, parseSummary, spawnPytor, startThrottleProxy } from './pytor-helpers.js';

const CASE_MS = 150_000;
const PIECE = 256 * 1024;
const SIZE = 8 * MiB + 4097;
/** 8 MiB at 1 MiB/s: longer than pytor's 5 s reconnect delay, so a ban is observable. */
const HONEST_RATE = MiB;

type Behaviour = 'bad-data' | 'huge-length' | 'garbage-handshake' | 'garbage-messages';

interface HostilePeer {
  readonly port: number;
  /** Connections pytor made to it. */
  connections(): number;
  /** Blocks it answered with wrong bytes. */
  badBlocksSent(): number;
  /** For each connection, the `progress()` value when pytor closed it (undefined while open). */
  closedAt(): (number | undefined)[];
  stop(): Promise<void>;
}

/**
 * A peer that completes the handshake (or not) and then misbehaves. `progress` is sampled
 * when pytor closes a connection, to tell "dropped during the download" from "closed at exit".
 */
async function startHostilePeer(torrent: Torrent, behaviour: Behaviour, progress: () => number): Promise<HostilePeer> {
  const sockets = new Set<net.Socket>();
  const closed: (number | undefined)[] = [];
  let bad = 0;
  const pieceCount = torrent.pieces.length;
  const bitfield = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (let i = 0; i < pieceCount; i++) bitfield[i >> 3]! |= 0x80 >> (i & 7);

  const server = net.createServer((socket) => {
    sockets.add(socket);
    const slot = closed.push(undefined) - 1;
    socket.on('error', () => {});
    socket.on('close', () => {
      closed[slot] = progress();
      sockets.delete(socket);
    });
    let head = Buffer.alloc(0);
    let framer: Framer | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (!framer) {
        head = Buffer.concat([head, chunk]);
        if (head.length < HANDSHAKE_LENGTH) return;
        const hs = decodeHandshake(head);
        if (hs.kind !== 'handshake' || !hs.infoHash.equals(torrent.infoHash)) {
          socket.destroy();
          return;
        }
        if (behaviour === 'garbage-handshake') {
          // Not a handshake at all: something else answering on a peer port.
          socket.write(Buffer.concat([Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), randomBytes(200)]));
          framer = new Framer({ pieceCount });
          return;
        }
        socket.write(encodeHandshake({ infoHash: torrent.infoHash, peerId: randomBytes(20), extensionProtocol: false }));
        socket.write(encodeMessage({ type: 'bitfield', bitfield }));
        socket.write(encodeMessage({ type: 'unchoke' }));
        framer = new Framer({ pieceCount });
        if (behaviour === 'huge-length') {
          // A piece message claiming ~4 GiB; a reader that trusts it allocates before it reads.
          const prefix = Buffer.alloc(5 + 8);
          prefix.writeUInt32BE(0xfffffff0, 0);
          prefix[4] = 7;
          socket.write(prefix);
        } else if (behaviour === 'garbage-messages') {
          // A message with an id no BEP defines, then noise.
          const unknown = Buffer.alloc(5 + 3);
          unknown.writeUInt32BE(4, 0);
          unknown[4] = 0x63;
          socket.write(Buffer.concat([unknown, randomBytes(4096)]));
        }
        chunk = head.subarray(HANDSHAKE_LENGTH);
        if (chunk.length === 0) return;
      }
      if (behaviour !== 'bad-data') return;
      framer.push(chunk);
      for (;;) {
        const r = framer.next();
        if (r.kind !== 'message') break;
        if (r.msg.type !== 'request') continue;
        // Right length, wrong bytes: only the piece hash can tell.
        const block = Buffer.alloc(r.msg.length, 0xa5);
        socket.write(encodeMessage({ type: 'piece', index: r.msg.index, begin: r.msg.begin, block }));
        bad++;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    connections: () => closed.length,
    badBlocksSent: () => bad,
    closedAt: () => [...closed],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function honestSwarm(t: Parameters<typeof makeFixture>[0], seed: string) {
  const f = await makeFixture(t, { name: 'hostile.bin', spec: { files: [{ path: 'hostile.bin', size: SIZE }] }, seed, pieceLength: PIECE });
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const proxy = await startThrottleProxy(seeder.port, HONEST_RATE);
  t.after(() => proxy.stop());
  return { f, proxy, out: path.join(f.dir, 'out') };
}

async function runPytorWith(t: Parameters<typeof makeFixture>[0], torrentFile: string, out: string, ports: number[]) {
  const peers = ports.flatMap((p) => ['--peer', `${LOOPBACK}:${p}`]);
  // Plaintext only: the hand-made peers speak no MSE, and a failed MSE attempt would be a second connection.
  const child = spawnPytor(t, ['download', torrentFile, '-o', out, ...peers, '--no-trackers', '--port', '0', '--json', '--encryption', 'off'], {
    timeoutMs: 100_000,
    env: { DEBUG: 'pytor:session,pytor:peer,pytor:client' },
  });
  const exit = await child.exited;
  return { exit, stdout: child.stdout(), stderr: child.stderr() };
}

test('a peer that sends wrong data for every block is banned; the download completes', { timeout: CASE_MS }, async (t) => {
  const { f, proxy, out } = await honestSwarm(t, 'hostile-bad');
  const evil = await startHostilePeer(f.torrent, 'bad-data', () => proxy.forwarded());
  t.after(() => evil.stop());
  const r = await runPytorWith(t, f.torrentFile, out, [proxy.port, evil.port]);
  assert.equal(r.exit.code, 0, `exit ${JSON.stringify(r.exit)}\n${r.stdout}\n${r.stderr.slice(-6000)}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.equal(s.verified, SIZE);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  assert.ok(evil.badBlocksSent() > 0, 'pytor never asked the bad peer for anything');
  // Three strikes: at least three pieces failed, and the summary counts them.
  assert.ok(s.hashFailures >= 3, `hashFailures ${s.hashFailures}`);
  assert.match(r.stderr, new RegExp(`banned ${LOOPBACK}:${evil.port}`));
  // Banned for good: dropped while the honest data was still coming, and never dialled again
  // although the download outlasted the delay after which a dropped peer is retried.
  const closes = evil.closedAt();
  assert.equal(closes.length, 1, `pytor connected to the banned peer ${closes.length} times`);
  assert.ok(closes[0] !== undefined && closes[0] < 0.9 * SIZE, `bad peer closed at ${closes[0]} of ${SIZE} honest bytes`);
  // The honest seeder was never blamed for the bad peer's blocks.
  assert.doesNotMatch(r.stderr, new RegExp(`banned ${LOOPBACK}:${proxy.port}`));
});

test('a 0xFFFFFFF0 length prefix and garbage are dropped; the download completes', { timeout: CASE_MS }, async (t) => {
  const { f, proxy, out } = await honestSwarm(t, 'hostile-junk');
  const peers = {
    huge: await startHostilePeer(f.torrent, 'huge-length', () => proxy.forwarded()),
    garbageHandshake: await startHostilePeer(f.torrent, 'garbage-handshake', () => proxy.forwarded()),
    garbageMessages: await startHostilePeer(f.torrent, 'garbage-messages', () => proxy.forwarded()),
  };
  for (const p of Object.values(peers)) t.after(() => p.stop());
  const r = await runPytorWith(t, f.torrentFile, out, [proxy.port, ...Object.values(peers).map((p) => p.port)]);
  assert.equal(r.exit.code, 0, `exit ${JSON.stringify(r.exit)}\n${r.stdout}\n${r.stderr.slice(-6000)}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.equal(s.hashFailures, 0);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  for (const [name, p] of Object.entries(peers)) {
    const closes = p.closedAt();
    assert.ok(closes.length >= 1, `pytor never connected to the ${name} peer`);
    // pytor hung up on it at once, long before the honest data was all in; it did not wait
    // for 4 GiB to arrive nor choke on the noise.
    assert.ok(closes[0] !== undefined && closes[0] < 0.9 * SIZE, `${name} peer closed at ${closes[0]} of ${SIZE} honest bytes`);
  }
  assert.match(r.stderr, new RegExp(`${LOOPBACK}:${peers.huge.port} closed: .*4294967280`), 'the huge-length peer was not dropped for its length');
});
