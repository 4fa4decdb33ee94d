// dialPeer's transport order on loopback with real sockets: a uTP socket (src/utp) and a TCP
// server on the same port number, either one missing. The first transport is used when it
// connects (the other is never touched); when it cannot connect, the other is tried in the
// same call; when neither can, the error names both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { dialPeer, type UtpConnector } from '../../src/peer/dial.js';
import { PeerError } from '../../src/peer/errors.js';
import type { Transport } from '../../src/peer/stream.js';
import { UtpSocket } from '../../src/utp/index.js';
import { freePort, LOOPBACK } from '../interop/harness/ports.js';

const infoHash = Buffer.alloc(20, 3);

interface Remote {
  readonly port: number;
  tcpConnections(): number;
  utpConnections(): number;
  close(): Promise<void>;
}

/** A peer address that answers over TCP, uTP, both or neither (the port is free for both). */
async function remote(tcp: boolean, utp: boolean): Promise<Remote> {
  const port = await freePort('both');
  let tcpCount = 0;
  let utpCount = 0;
  let server: Server | undefined;
  if (tcp) {
    server = createServer((s) => {
      tcpCount++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server!.listen(port, LOOPBACK, resolve));
  }
  const sock = utp ? await UtpSocket.bind(port, LOOPBACK) : undefined;
  sock?.on('connection', (s: { destroy(): void }) => {
    utpCount++;
    s.destroy();
  });
  return {
    port,
    tcpConnections: () => tcpCount,
    utpConnections: () => utpCount,
    async close() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await sock?.close();
    },
  };
}

async function dialOnce(r: Remote, first: Transport, connector: UtpConnector) {
  return dialPeer({ host: LOOPBACK, port: r.port }, { timeoutMs: 600, encryption: 'off', infoHash, utp: connector, first });
}

test('dialPeer: the first transport when it connects, the other only when it cannot', async (t) => {
  const local = await UtpSocket.bind(0, LOOPBACK);
  t.after(() => local.close());
  const connector: UtpConnector = (a, ms) => local.connect(a, ms);

  const both = await remote(true, true);
  t.after(() => both.close());
  const overUtp = await dialOnce(both, 'utp', connector);
  assert.equal(overUtp.transport, 'utp');
  overUtp.stream.destroy();
  const overTcp = await dialOnce(both, 'tcp', connector);
  assert.equal(overTcp.transport, 'tcp');
  overTcp.stream.destroy();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(both.utpConnections(), 1, 'uTP first: one uTP connection');
  assert.equal(both.tcpConnections(), 1, 'TCP first: one TCP connection, no uTP one');

  const tcpOnly = await remote(true, false);
  t.after(() => tcpOnly.close());
  const fellBack = await dialOnce(tcpOnly, 'utp', connector);
  assert.equal(fellBack.transport, 'tcp', 'uTP timed out, TCP in the same dial');
  fellBack.stream.destroy();

  const utpOnly = await remote(false, true);
  t.after(() => utpOnly.close());
  const fellForward = await dialOnce(utpOnly, 'tcp', connector);
  assert.equal(fellForward.transport, 'utp', 'TCP refused, uTP in the same dial');
  fellForward.stream.destroy();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(utpOnly.utpConnections(), 1);

  const neither = await remote(false, false);
  t.after(() => neither.close());
  for (const first of ['utp', 'tcp'] as const) {
    await assert.rejects(dialOnce(neither, first, connector), (err: unknown) => {
      assert.ok(err instanceof PeerError);
      assert.equal(err.code, 'EPEER_CONNECT');
      assert.match(err.message, first === 'utp' ? /uTP: .*; TCP: / : /TCP: .*; uTP: /);
      return true;
    });
  }
});

test('dialPeer without a uTP connector dials TCP only, whatever comes first', async (t) => {
  const utpOnly = await remote(false, true);
  t.after(() => utpOnly.close());
  await assert.rejects(
    dialPeer({ host: LOOPBACK, port: utpOnly.port }, { timeoutMs: 600, encryption: 'off', infoHash, first: 'utp' }),
    (err: unknown) => err instanceof PeerError && err.code === 'EPEER_CONNECT' && !/uTP/.test(err.message),
  );
  assert.equal(utpOnly.utpConnections(), 0);
});
