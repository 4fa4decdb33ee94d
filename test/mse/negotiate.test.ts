// connectEncrypted / acceptIncoming / dialWithPolicy / MseStream between our own two sides on
// loopback, and the listener's classifier. Real clients are in test/interop/mse*.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import {
  acceptIncoming,
  classifyIncoming,
  connectEncrypted,
  dialWithPolicy,
  looksLikePlainHandshake,
  makeInfoHashFinder,
  MseError,
  parseEncryptionPolicy,
  type AcceptedConnection,
  type EncryptionPolicy,
} from '../../src/mse/index.js';
import { seededRandom } from './helpers.js';

const INFO_HASH = createHash('sha1').update('negotiate test').digest();
const PLAIN = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), INFO_HASH, Buffer.alloc(20, 0x50)]);

test('classifyIncoming: plain vs MSE on the first bytes, and the policy refusals', () => {
  assert.deepEqual(classifyIncoming(PLAIN.subarray(0, 5), 'prefer'), { kind: 'need-more' });
  assert.deepEqual(classifyIncoming(PLAIN.subarray(0, 20), 'prefer'), { kind: 'plain' });
  assert.deepEqual(classifyIncoming(PLAIN, 'off'), { kind: 'plain' });
  assert.deepEqual(classifyIncoming(Buffer.from([0x8f]), 'prefer'), { kind: 'encrypted' });
  assert.deepEqual(classifyIncoming(Buffer.from([0x13, 0x42, 0x00]), 'require'), { kind: 'encrypted' });
  const r = classifyIncoming(PLAIN, 'require');
  assert.equal(r.kind, 'refuse');
  assert.equal(r.kind === 'refuse' && r.err.code, 'EMSE_POLICY');
  assert.equal(classifyIncoming(Buffer.from([1, 2, 3]), 'off').kind, 'refuse');
  assert.equal(looksLikePlainHandshake(PLAIN), true);
  assert.equal(looksLikePlainHandshake(PLAIN.subarray(0, 19)), false);
  assert.equal(looksLikePlainHandshake(Buffer.alloc(68)), false);
  assert.equal(parseEncryptionPolicy('prefer'), 'prefer');
  assert.equal(parseEncryptionPolicy('required'), undefined);
});

interface Served {
  server: Server;
  port: number;
  sockets: Socket[];
  results: Promise<AcceptedConnection | Error>[];
  plainSeen: Buffer[];
  /** Every byte each accepted socket received, as it was on the wire. */
  raw: Buffer[][];
  close(): Promise<void>;
}

/** A listener that classifies like the session's will: MSE goes to acceptIncoming, plain is recorded. */
async function serve(policy: EncryptionPolicy, opts: { silent?: boolean } = {}): Promise<Served> {
  const sockets: Socket[] = [];
  const results: Promise<AcceptedConnection | Error>[] = [];
  const plainSeen: Buffer[] = [];
  const raw: Buffer[][] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const wire: Buffer[] = [];
    raw.push(wire);
    // Registered first, so it copies each chunk before the MSE stream decrypts it in place.
    socket.on('data', (c: Buffer) => wire.push(Buffer.from(c)));
    socket.on('error', () => {});
    if (opts.silent) return;
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const kind = classifyIncoming(buf, policy);
      if (kind.kind === 'need-more') return;
      socket.off('data', onData);
      if (kind.kind === 'refuse') return socket.destroy();
      if (kind.kind === 'plain') {
        plainSeen.push(buf);
        return;
      }
      results.push(
        acceptIncoming(socket, buf, { findInfoHash: makeInfoHashFinder([INFO_HASH]), policy: policy === 'require' ? 'require' : 'prefer', timeoutMs: 5000 }).catch(
          (err: Error) => err,
        ),
      );
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    sockets,
    results,
    plainSeen,
    raw,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function dialer(port: number): () => Promise<Socket> {
  return () =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
}

async function readExactly(stream: NodeJS.ReadableStream, n: number, first: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const parts: Buffer[] = [first];
  let have = first.length;
  if (have >= n) return Buffer.concat(parts);
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      parts.push(c);
      have += c.length;
      if (have >= n) {
        stream.off('data', onData);
        stream.off('error', reject);
        stream.pause();
        resolve(Buffer.concat(parts));
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

test('MSE over loopback: IA, then megabytes both ways through the streams, then a clean close', async () => {
  // The receiver insists on RC4 (a 'prefer' one takes plaintext when offered both: next test).
  const srv = await serve('require');
  try {
    const sock = await dialer(srv.port)();
    const out = await connectEncrypted(sock, { infoHash: INFO_HASH, policy: 'prefer', initialPayload: PLAIN, random: seededRandom(5), timeoutMs: 5000 });
    assert.equal(out.encrypted, true);
    assert.equal(out.method, 'rc4');
    assert.equal(out.socket.remotePort, srv.port);
    out.socket.setNoDelay(true);
    const accepted = await srv.results[0]!;
    assert.ok(!(accepted instanceof Error), String(accepted));
    assert.deepEqual(accepted.infoHash, INFO_HASH);
    assert.deepEqual(accepted.rest, PLAIN);
    // 3 MiB each way at once: backpressure in both streams, RC4 on every byte.
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
    const copy = Buffer.from(big);
    const gotByServer = readExactly(accepted.socket, big.length);
    const gotByClient = readExactly(out.socket, big.length);
    for (let at = 0; at < big.length; at += 100_000) out.socket.write(big.subarray(at, at + 100_000));
    accepted.socket.write(big);
    assert.ok(accepted.socket.writableLength >= 0);
    assert.deepEqual(await gotByServer, copy);
    assert.deepEqual(await gotByClient, copy);
    assert.deepEqual(big, copy, 'the caller\'s buffers were not encrypted in place');
    const closed = once(accepted.socket, 'close');
    out.socket.end();
    accepted.socket.resume();
    await closed;
    await once(out.socket, 'close');
  } finally {
    await srv.close();
  }
});

test('MSE over loopback: require on both sides selects RC4; the wire carries only ciphertext', async () => {
  const srv = await serve('require');
  try {
    const out = await connectEncrypted(await dialer(srv.port)(), { infoHash: INFO_HASH, policy: 'require', timeoutMs: 5000 });
    assert.equal(out.method, 'rc4');
    const acc = (await srv.results[0]!) as AcceptedConnection;
    assert.equal(acc.method, 'rc4');
    assert.equal(acc.rest.length, 0);
    const got = readExactly(acc.socket, PLAIN.length);
    out.socket.write(PLAIN);
    assert.deepEqual(await got, PLAIN);
    const wire = Buffer.concat(srv.raw[0]!);
    assert.ok(wire.length > 96 + PLAIN.length);
    assert.equal(wire.indexOf(PLAIN.subarray(0, 20)), -1);
    assert.equal(wire.indexOf(INFO_HASH), -1);
    out.socket.destroy();
    await once(acc.socket, 'close');
  } finally {
    await srv.close();
  }
});

test('MSE over loopback: an unknown torrent is refused and the initiator sees the close', async () => {
  const srv = await serve('prefer');
  try {
    await assert.rejects(
      connectEncrypted(await dialer(srv.port)(), { infoHash: Buffer.alloc(20, 9), policy: 'prefer', timeoutMs: 5000 }),
      (err: unknown) => err instanceof MseError && err.code === 'EMSE_CONNECTION',
    );
    const r = await srv.results[0]!;
    assert.ok(r instanceof MseError && r.code === 'EMSE_UNKNOWN_TORRENT');
  } finally {
    await srv.close();
  }
});

test("dialWithPolicy: 'prefer' falls back to a new plain connection when the peer hangs up on MSE; 'require' does not", async () => {
  const srv = await serve('off');
  try {
    await assert.rejects(dialWithPolicy(dialer(srv.port), { infoHash: INFO_HASH, policy: 'require', timeoutMs: 5000 }), MseError);
    assert.equal(srv.sockets.length, 1);
    const c = await dialWithPolicy(dialer(srv.port), { infoHash: INFO_HASH, policy: 'prefer', timeoutMs: 5000 });
    assert.equal(c.mse, false);
    assert.equal(srv.sockets.length, 3, 'one refused MSE attempt, then the plain redial');
    c.socket.write(PLAIN);
    for (let i = 0; i < 100 && srv.plainSeen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(srv.plainSeen.length, 1);
    c.socket.destroy();
    const off = await dialWithPolicy(dialer(srv.port), { infoHash: INFO_HASH, policy: 'off' });
    assert.equal(off.mse, false);
    off.socket.destroy();
  } finally {
    await srv.close();
  }
});

test('connectEncrypted: a peer that never answers is given up on at the deadline', async () => {
  const srv = await serve('prefer', { silent: true });
  try {
    const sock = await dialer(srv.port)();
    await assert.rejects(connectEncrypted(sock, { infoHash: INFO_HASH, policy: 'prefer', timeoutMs: 150 }), (err: unknown) => err instanceof MseError && /within 150 ms/.test(err.message));
    assert.equal(sock.destroyed, true);
  } finally {
    await srv.close();
  }
});

test('MseStream with plaintext selected passes bytes through untouched, both ways', async () => {
  const { MseStream } = await import('../../src/mse/stream.js');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = await dialer((server.address() as { port: number }).port)();
  const [raw] = await accepted;
  try {
    const stream = new MseStream(client, { encrypt: null, decrypt: null, pending: Buffer.from('early') });
    const got = readExactly(stream, 5 + 4);
    raw.write('late');
    assert.equal((await got).toString(), 'earlylate');
    const rawGot = readExactly(raw, PLAIN.length);
    stream.write(PLAIN);
    assert.deepEqual(await rawGot, PLAIN);
    const closed = once(stream, 'close');
    raw.destroy();
    stream.resume();
    await closed;
    assert.equal(client.destroyed, true);
  } finally {
    client.destroy();
    raw.destroy();
    server.close();
    await once(server, 'close');
  }
});

test('MseStream backpressure: writes pile up in writableLength while the peer does not read, then drain', async () => {
  const srv = await serve('prefer');
  try {
    const out = await connectEncrypted(await dialer(srv.port)(), { infoHash: INFO_HASH, policy: 'require', timeoutMs: 5000 });
    const acc = (await srv.results[0]!) as AcceptedConnection;
    // The accepting side does not read: the kernel buffers fill, then the socket's, then ours.
    const block = Buffer.alloc(256 * 1024, 7);
    let writes = 0;
    while (out.socket.write(block) && writes < 400) writes++;
    assert.ok(writes < 400, 'write() reported backpressure');
    assert.ok(out.socket.writableLength >= block.length, `bytes wait in the stream (${out.socket.writableLength})`);
    const drained = once(out.socket, 'drain');
    const total = (writes + 1) * block.length;
    const got = readExactly(acc.socket, total);
    await drained;
    const all = await got;
    assert.equal(all.length, total);
    assert.ok(all.every((b) => b === 7));
    out.socket.destroy();
    await once(acc.socket, 'close');
  } finally {
    await srv.close();
  }
});

test("a 'prefer' receiver picks MSE's plaintext mode when the initiator offers both, RC4 when it offers only RC4", async () => {
  const srv = await serve('prefer');
  try {
    const both = await connectEncrypted(await dialer(srv.port)(), { infoHash: INFO_HASH, policy: 'prefer', random: seededRandom(7), timeoutMs: 5000 });
    assert.equal(both.method, 'plaintext');
    both.socket.destroy();
    const rc4 = await connectEncrypted(await dialer(srv.port)(), { infoHash: INFO_HASH, policy: 'require', random: seededRandom(8), timeoutMs: 5000 });
    assert.equal(rc4.method, 'rc4');
    rc4.socket.destroy();
  } finally {
    await srv.close();
  }
});
