// The listener tells the session which transport an incoming peer came over: TCP, uTP, and
// uTP under MSE (where the stream handed on is an MseStream and no longer shows it), with real
// sockets on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connectEncrypted } from '../../src/mse/index.js';
import type { PeerStream, Transport } from '../../src/peer/stream.js';
import { transportOf } from '../../src/peer/stream.js';
import { PeerListener } from '../../src/session/listener.js';
import { UtpSocket } from '../../src/utp/index.js';
import { encodeHandshake } from '../../src/wire/index.js';

const LOOPBACK = '127.0.0.1';
const infoHash = Buffer.alloc(20, 5);
const handshake = encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 6) });

test('incoming peers arrive with their transport: TCP, uTP, and uTP under MSE', async (t) => {
  const delivered: { transport: Transport; stream: PeerStream }[] = [];
  let wake: (() => void) | undefined;
  const listener = new PeerListener(
    () => (stream, _address, _hs, _rest, transport) => {
      delivered.push({ transport, stream });
      wake?.();
    },
    { encryption: 'prefer', infoHashes: () => [infoHash] },
  );
  await listener.listen(0, LOOPBACK);
  t.after(() => listener.close());
  const server = await UtpSocket.bind(0, LOOPBACK);
  t.after(() => server.close());
  server.on('connection', (s) => listener.accept(s));
  const client = await UtpSocket.bind(0, LOOPBACK);
  t.after(() => client.close());
  const next = () => new Promise<void>((resolve) => (wake = resolve));

  let arrived = next();
  const tcp = connect(listener.port, LOOPBACK);
  t.after(() => tcp.destroy());
  tcp.write(handshake);
  await arrived;
  arrived = next();
  const utp = await client.connect({ host: LOOPBACK, port: server.port }, 5000);
  t.after(() => utp.destroy());
  utp.write(handshake);
  await arrived;
  arrived = next();
  const raw = await client.connect({ host: LOOPBACK, port: server.port }, 5000);
  t.after(() => raw.destroy());
  const mse = await connectEncrypted(raw as unknown as Socket, { infoHash, policy: 'require', timeoutMs: 5000 });
  mse.socket.write(handshake);
  await arrived;

  assert.deepEqual(delivered.map((d) => d.transport), ['tcp', 'utp', 'utp']);
  assert.equal(transportOf(delivered[2]!.stream), 'tcp', 'the MSE stream alone would not tell');
  for (const d of delivered) d.stream.destroy();
  mse.socket.destroy();
});
