// ClientOptions.maxConnections: one limit shared by every torrent of the client. Peers here
// are local TCP servers that accept and stay silent, so each connection holds its slot until
// the handshake times out; the most open at once is counted on their side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '../../src/client/index.js';
import { makeTorrent } from '../storage/fixture.js';

interface Silent {
  server: Server;
  port: number;
}

test('the global connection limit is shared: two torrents never hold more than it together, and a stopped one frees its slots', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-conn-limit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const open = new Set<Socket>();
  let peak = 0;
  const byServer = new Map<number, number>();
  const servers: Silent[] = [];
  for (let i = 0; i < 12; i++) {
    const server = createServer((socket) => {
      open.add(socket);
      peak = Math.max(peak, open.size);
      const port = (server.address() as { port: number }).port;
      byServer.set(port, (byServer.get(port) ?? 0) + 1);
      socket.on('error', () => undefined);
      socket.resume(); // read (and drop) what comes, so the far end's close is seen
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ server, port: (server.address() as { port: number }).port });
  }
  t.after(async () => {
    for (const s of open) s.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.server.close(resolve))));
  });

  const client = await Client.open({ stateDir: path.join(dir, 'state'), port: 0, bind: '127.0.0.1', maxConnections: 3 });
  t.after(() => client.close());
  const mk = (name: string) => makeTorrent(name, [{ path: [name], data: Buffer.alloc(40_000, name.length) }], 16 * 1024, false);
  const peersA = servers.slice(0, 6).map((s) => ({ host: '127.0.0.1', port: s.port }));
  const peersB = servers.slice(6).map((s) => ({ host: '127.0.0.1', port: s.port }));
  const a = client.add({ torrent: mk('a.bin') }, { outDir: path.join(dir, 'out'), peers: peersA, trackers: false, waitForPeers: true, maxPeers: 50 });
  const b = client.add({ torrent: mk('bb.bin') }, { outDir: path.join(dir, 'out'), peers: peersB, trackers: false, waitForPeers: true, maxPeers: 50 });
  await Promise.all([a.start(), b.start()]);
  // The client's own count, sampled; the servers' view may lag a close by a moment, so it
  // is checked once things are quiet.
  let clientPeak = 0;
  for (let k = 0; k < 150; k++) {
    clientPeak = Math.max(clientPeak, client.connectionCount());
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(clientPeak, 3, 'three connections at most, of twelve peers offered');
  assert.equal(open.size, 3, 'three open, seen from the peers');
  assert.ok(peak <= 4, `peers saw at most one more at a moment of churn (${peak})`);
  const toB = () => peersB.reduce((n, p) => n + (byServer.get(p.port) ?? 0), 0);
  const toA = () => peersA.reduce((n, p) => n + (byServer.get(p.port) ?? 0), 0);

  // Stopping the one that holds slots lets the other take them (on its next tick).
  const holder = (a.session?.connectionCount ?? 0) > 0 ? a : b;
  const other = holder === a ? toB : toA;
  const before = other();
  await holder.stop();
  const deadline = Date.now() + 5_000;
  while (other() < before + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(other() > before, 'the other torrent dialled into the freed slots');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(client.connectionCount() <= 3, `the client counts ${client.connectionCount()}`);
  assert.ok(open.size <= 3, `still at most 3 open (${open.size}; a ${toA()}, b ${toB()}, count ${client.connectionCount()})`);
});
