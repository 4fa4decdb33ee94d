// The HTTP edges of the RPC server, over raw sockets and node:http requests on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { startRpcServer, type RpcServer } from '../../src/rpc/index.js';
import { makeTorrent, MemoryEngine } from './memory-engine.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/transmission/rpc', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

let engine: MemoryEngine;
let server: RpcServer;
let authServer: RpcServer;
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

before(async () => {
  engine = new MemoryEngine();
  engine.put(makeTorrent(1, { name: 'one' }));
  let served = 0;
  server = await startRpcServer({
    engine,
    port: 0,
    hostWhitelist: ['pytor.home'],
    maxBodyBytes: 64 * 1024,
    staticHandler: (req, res) => {
      if (req.url !== '/') return false;
      served++;
      res.end(`web ui ${served}`);
      return true;
    },
  });
  authServer = await startRpcServer({ engine, port: 0, auth: { user: 'admin', pass: 's3cret' } });
});
after(async () => {
  await server?.close();
  await authServer?.close();
});

const rpc = (body: string, extra: Record<string, string> = {}) => http(server.port, { body, headers: { 'X-Transmission-Session-Id': server.sessionId, 'Content-Type': 'application/json', ...extra } });

test('no session id, or a wrong one: 409 carrying the right id; with it: 200 and the answer', async () => {
  const none = await http(server.port, { body: '{"method":"session-get"}' });
  assert.equal(none.status, 409);
  assert.equal(none.headers['x-transmission-session-id'], server.sessionId);
  const wrong = await http(server.port, { body: '{"method":"session-get"}', headers: { 'X-Transmission-Session-Id': 'nope' } });
  assert.equal(wrong.status, 409);
  assert.equal(wrong.headers['x-transmission-session-id'], server.sessionId);
  const ok = await rpc('{"method":"torrent-get","arguments":{"fields":["name"]},"tag":3}');
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /application\/json/);
  assert.deepEqual(JSON.parse(ok.body), { result: 'success', arguments: { torrents: [{ name: 'one' }] }, tag: 3 });
});

test('bad JSON is a 400 with a JSON result, not a 500', async () => {
  const r = await rpc('{"method": ');
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).result, /^invalid JSON/);
  const notObject = await rpc('[1,2]');
  assert.equal(notObject.status, 200);
  assert.match(JSON.parse(notObject.body).result, /request.*JSON object/);
});

test('unknown method and bad arguments: 200 with a result naming the problem', async () => {
  const unknown = JSON.parse((await rpc('{"method":"torrent-explode","tag":7}')).body);
  assert.deepEqual(unknown, { result: 'method name not recognized: "torrent-explode"', arguments: {}, tag: 7 });
  const bad = JSON.parse((await rpc('{"method":"torrent-get","arguments":{"fields":"name","ids":{}}}')).body);
  assert.match(bad.result, /invalid argument "fields"/);
  const badIds = JSON.parse((await rpc('{"method":"torrent-stop","arguments":{"ids":[1.5]}}')).body);
  assert.match(badIds.result, /invalid argument "ids\[0\]"/);
  assert.deepEqual(engine.calls, [], 'nothing reached the engine');
});

test('an oversized body is refused with 413, by declared length and by streamed length', async () => {
  const big = `{"method":"session-get","pad":"${'x'.repeat(70 * 1024)}"}`;
  const declared = await rpc(big);
  assert.equal(declared.status, 413);
  assert.match(JSON.parse(declared.body).result, /larger than 65536 bytes/);
  // Chunked: no Content-Length, so the bound is enforced while reading.
  const streamed = await new Promise<string>((resolve, reject) => {
    const sock = connect(server.port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.write(`POST /transmission/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Transmission-Session-Id: ${server.sessionId}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 6; i++) sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    sock.write('0\r\n\r\n');
  });
  assert.match(streamed, /^HTTP\/1\.1 413/);
});

test('a Host that is not localhost, an IP or whitelisted gets 421 (DNS rebinding)', async () => {
  const evil = await http(server.port, { body: '{"method":"session-get"}', headers: { Host: 'evil.example:9091', 'X-Transmission-Session-Id': server.sessionId } });
  assert.equal(evil.status, 421);
  assert.equal(evil.headers['x-transmission-session-id'], undefined, 'no session id leaks to a rebinding page');
  const listed = await http(server.port, { body: '{"method":"session-get"}', headers: { Host: 'PYTOR.home:9091', 'X-Transmission-Session-Id': server.sessionId } });
  assert.equal(listed.status, 200);
  const local = await http(server.port, { body: '{"method":"session-get"}', headers: { Host: 'localhost:9091', 'X-Transmission-Session-Id': server.sessionId } });
  assert.equal(local.status, 200);
});

test('auth: missing or wrong credentials get 401 with a Basic challenge; right ones go on to the handshake', async () => {
  const body = '{"method":"session-get"}';
  const none = await http(authServer.port, { body });
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm=/);
  assert.equal(none.headers['x-transmission-session-id'], undefined);
  const wrong = await http(authServer.port, { body, headers: { Authorization: basic('admin:guess') } });
  assert.equal(wrong.status, 401);
  const right = await http(authServer.port, { body, headers: { Authorization: basic('admin:s3cret') } });
  assert.equal(right.status, 409);
  const done = await http(authServer.port, { body, headers: { Authorization: basic('admin:s3cret'), 'X-Transmission-Session-Id': String(right.headers['x-transmission-session-id']) } });
  assert.equal(done.status, 200);
  assert.equal(JSON.parse(done.body).result, 'success');
});

test('ten wrong passwords from one address get 429 until the window ends; asking without credentials does not count', async () => {
  let now = 1_000_000;
  const guarded = await startRpcServer({ engine, port: 0, auth: { user: 'admin', pass: 's3cret' }, now: () => now });
  try {
    const body = '{"method":"session-get"}';
    for (let i = 0; i < 20; i++) assert.equal((await http(guarded.port, { body })).status, 401);
    for (let i = 0; i < 10; i++) assert.equal((await http(guarded.port, { body, headers: { Authorization: basic(`admin:guess${i}`) } })).status, 401);
    const blocked = await http(guarded.port, { body, headers: { Authorization: basic('admin:s3cret') } });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers['retry-after'], '60');
    now += 61_000;
    const again = await http(guarded.port, { body, headers: { Authorization: basic('admin:s3cret') } });
    assert.equal(again.status, 409, 'the right password works once the window is over');
  } finally {
    await guarded.close();
  }
});

test('GET on the RPC path is 405 after the handshake; other paths go to the static hook or 404', async () => {
  const get = await http(server.port, { method: 'GET', headers: { 'X-Transmission-Session-Id': server.sessionId } });
  assert.equal(get.status, 405);
  const ui = await http(server.port, { method: 'GET', path: '/' });
  assert.equal(ui.status, 200);
  assert.match(ui.body, /^web ui \d+$/);
  const missing = await http(server.port, { method: 'GET', path: '/nothing' });
  assert.equal(missing.status, 404);
  const rebound = await http(server.port, { method: 'GET', path: '/', headers: { Host: 'evil.example' } });
  assert.equal(rebound.status, 421, 'the web UI is behind the Host check too');
  const noAuth = await http(authServer.port, { method: 'GET', path: '/' });
  assert.equal(noAuth.status, 401, 'and behind auth');
});

test('binding a non-loopback address without auth is refused before listening', async () => {
  await assert.rejects(startRpcServer({ engine, port: 0, host: '0.0.0.0' }), /0\.0\.0\.0.*user and password/);
});
