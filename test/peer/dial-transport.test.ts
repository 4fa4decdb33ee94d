// dialPeer's transport order on loopback with real sockets: a uTP socket (src/utp) and a TCP
// server on the same port number, either one missing. The first transport is used when it
// connects (the other is never touched); when it cannot connect, the other is tried in the
// same call; when neither can, the error names both. uTP first has a head start, then TCP runs
// beside it and the first to connect wins (a blocked UDP path costs the head start, not the
// connect timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { dialPeer, type UtpConnector } from '../../src/peer/dial.js';
import { PeerError } from '../../src/peer/errors.js';
import type { PeerStream, Transport } from '../../src/peer/stream.js';
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

/** A UDP port that takes datagrams and never answers: a peer whose uTP is blocked. */
async function udpBlackHole(): Promise<{ port: number; datagrams(): number; close(): Promise<void> }> {
  const { createSocket } = await import('node:dgram');
  const sock = createSocket('udp4');
  let count = 0;
  sock.on('message', () => count++);
  await new Promise<void>((resolve) => sock.bind(0, LOOPBACK, resolve));
  return { port: sock.address().port, datagrams: () => count, close: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

test('dialPeer, uTP first: a peer whose UDP is blocked is reached over TCP after the head start, not the timeout', async (t) => {
  const hole = await udpBlackHole();
  t.after(() => hole.close());
  let tcpCount = 0;
  const server = createServer((s) => {
    tcpCount++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const local = await UtpSocket.bind(0, LOOPBACK);
  let utpSettled = false;
  // The uTP SYNs go to the black hole; TCP to the server (different ports, one "peer").
  const connector: UtpConnector = (a, ms) => {
    const p = local.connect({ host: a.host, port: hole.port }, ms);
    p.then(
      () => (utpSettled = true),
      () => (utpSettled = true),
    );
    return p;
  };
  const port = (server.address() as { port: number }).port;
  const dialed = await dialPeer({ host: LOOPBACK, port }, { timeoutMs: 20_000, encryption: 'off', infoHash, utp: connector, first: 'utp', utpHeadStartMs: 100 });
  assert.equal(dialed.transport, 'tcp');
  assert.equal(utpSettled, false, 'TCP connected while the uTP attempt was still waiting for its SYN to be answered');
  assert.ok(hole.datagrams() >= 1, 'the uTP SYN was sent');
  dialed.stream.destroy();
  await local.close(); // ends the pending uTP attempt
  await new Promise((r) => setImmediate(r));
  assert.equal(utpSettled, true);
  assert.equal(tcpCount, 1);
});

test('dialPeer, uTP first: whichever connects first after the head start is used, the later one closed', async (t) => {
  const fakeStream = () => {
    const s = { destroyed: 0, destroy: () => void s.destroyed++ };
    return s;
  };
  // uTP answers late (after the head start) while TCP is still in its MSE handshake with a
  // silent server: uTP is used and the TCP attempt ends on its own.
  // Reads (and drops) what it is sent, so it sees the client close; answers nothing.
  const silent = createServer((s) => s.resume());
  await new Promise<void>((resolve) => silent.listen(0, LOOPBACK, resolve));
  t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const lateUtp = fakeStream();
  const dialedUtp = await dialPeer(
    { host: LOOPBACK, port: (silent.address() as { port: number }).port },
    {
      timeoutMs: 800,
      encryption: 'prefer',
      infoHash,
      first: 'utp',
      utpHeadStartMs: 50,
      utp: () => new Promise((resolve) => setTimeout(() => resolve(lateUtp as unknown as PeerStream), 200)),
    },
  );
  assert.equal(dialedUtp.transport, 'utp');
  assert.equal(lateUtp.destroyed, 0);

  // TCP connects first; the uTP stream that turns up afterwards is closed unused.
  const open = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => open.listen(0, LOOPBACK, resolve));
  t.after(() => new Promise<void>((resolve) => open.close(() => resolve())));
  let answerUtp: (s: PeerStream) => void = () => undefined;
  const loser = fakeStream();
  const dialedTcp = await dialPeer(
    { host: LOOPBACK, port: (open.address() as { port: number }).port },
    { timeoutMs: 800, encryption: 'off', infoHash, first: 'utp', utpHeadStartMs: 50, utp: () => new Promise((resolve) => (answerUtp = resolve)) },
  );
  assert.equal(dialedTcp.transport, 'tcp');
  dialedTcp.stream.destroy();
  answerUtp(loser as unknown as PeerStream);
  await new Promise((r) => setImmediate(r));
  assert.equal(loser.destroyed, 1, 'the late uTP stream is closed');
});
