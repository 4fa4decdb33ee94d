// Hand-made fake trackers, only for what no real tracker does on purpose: failure replies,
// garbage, oversized bodies, silence, redirect loops, wrong UDP transaction ids, UDP errors.
// Each must end in a clear TrackerError naming the tracker, and nothing may hang.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { encode } from '../../src/bencode/index.js';
import { encodeCompactPeers } from '../../src/tracker/compact.js';
import { announce, formatPeer, makePeerId, scrape, TrackerError, type AnnounceParams, type RequestOptions } from '../../src/tracker/index.js';
import { leakedResources, V4, V6 } from './harness.js';

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 0x5a),
  peerId: makePeerId(),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 10,
  event: 'started',
  key: 1,
};

async function rejectsWith(p: Promise<unknown>, code: string, url: string, detail: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TrackerError, `not a TrackerError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.url, url);
    assert.ok(err.message.includes(url), 'the message names the tracker');
    assert.match(err.detail, detail);
    return true;
  });
}

// ------------------------------------------------------------------------------------ HTTP

let server: http.Server;
let base = '';
const sockets = new Set<Socket>();
const seenQueries: string[] = [];
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function streamChunks(res: http.ServerResponse, count: number): void {
  let sent = 0;
  const pump = () => {
    // Bounded: at most `count` chunks, and only while the client still reads.
    while (sent < count && !res.destroyed) {
      sent++;
      if (!res.write(CHUNK)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seenQueries.push(url.search);
    switch (url.pathname) {
      case '/fail/announce':
        return res.end(encode({ 'failure reason': 'unregistered torrent' }));
      case '/garbage/announce':
        return res.end('<html><body>Welcome to nginx!</body></html>');
      case '/big/announce':
        res.setHeader('content-length', String(3 * 1024 * 1024));
        return streamChunks(res, 48);
      case '/bigchunked/announce':
        return streamChunks(res, 48); // 3 MiB, no length announced
      case '/hang/announce':
        return; // never answers
      case '/loop/announce':
        res.statusCode = 302;
        res.setHeader('location', '/loop/announce');
        return res.end();
      case '/moved/announce':
        res.statusCode = 301;
        res.setHeader('location', `${base}/ok/announce${url.search}`);
        return res.end();
      case '/status/announce':
        res.statusCode = 503;
        return res.end('<h1>Service Unavailable</h1>');
      case '/status-reason/announce':
        res.statusCode = 400;
        return res.end(encode({ 'failure reason': 'bad passkey' }));
      case '/ok/announce':
      case '/ok/scrape':
        return res.end(
          encode({
            interval: 900,
            'tracker id': 'T-1',
            'warning message': 'be nice',
            peers: encodeCompactPeers([{ host: '127.0.0.1', port: 7001 }], 4),
          }),
        );
      default:
        res.statusCode = 404;
        return res.end();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, V4);
  await new Promise((r) => server.once('listening', r));
  base = `http://${V4}:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  assert.deepEqual(await leakedResources(), []);
});

test('HTTP failure reason is reported with the tracker’s words', async () => {
  const url = `${base}/fail/announce`;
  await rejectsWith(announce(url, params), 'ETRACKER_FAILURE', url, /unregistered torrent/);
});

test('HTTP garbage body is a bad-reply error that shows the start of the body', async () => {
  const url = `${base}/garbage/announce`;
  await rejectsWith(announce(url, params), 'ETRACKER_BAD_REPLY', url, /not bencode.*Welcome to nginx/);
});

test('HTTP bodies over 2 MiB are refused, announced or not', async () => {
  for (const path of ['/big/announce', '/bigchunked/announce']) {
    const url = `${base}${path}`;
    await rejectsWith(announce(url, params), 'ETRACKER_TOO_LARGE', url, /larger than 2097152/);
  }
});

test('HTTP silence ends at the total timeout; a cancel ends it at once', async () => {
  const url = `${base}/hang/announce`;
  await rejectsWith(announce(url, params, { timeoutMs: 300 }), 'ETRACKER_TIMEOUT', url, /no reply within 0\.3s/);
  const ctl = new AbortController();
  const pending = announce(url, params, { signal: ctl.signal });
  setImmediate(() => ctl.abort());
  await rejectsWith(pending, 'ETRACKER_ABORTED', url, /cancelled/);
});

test('HTTP redirect loops stop after a few hops; a single redirect is followed', async () => {
  const loop = `${base}/loop/announce`;
  await rejectsWith(announce(loop, params, { maxRedirects: 3 }), 'ETRACKER_REDIRECT', loop, /more than 3 redirects/);
  const r = await announce(`${base}/moved/announce`, params);
  assert.deepEqual(r.peers.map(formatPeer), ['127.0.0.1:7001']);
});

test('HTTP non-200 is a status error; a bencoded reason in it is shown instead', async () => {
  const url = `${base}/status/announce`;
  await rejectsWith(announce(url, params), 'ETRACKER_HTTP_STATUS', url, /HTTP 503 Service Unavailable/);
  const url2 = `${base}/status-reason/announce`;
  await rejectsWith(announce(url2, params), 'ETRACKER_FAILURE', url2, /bad passkey.*HTTP 400/);
});

test('HTTP: trackerid from one reply is sent back on the next announce; warning kept', async () => {
  const url = `${base}/ok/announce`;
  const first = await announce(url, params);
  assert.equal(first.warning, 'be nice');
  assert.equal(first.trackerId, 'T-1');
  assert.ok(!seenQueries.at(-1)?.includes('trackerid='));
  await announce(url, params);
  assert.ok(seenQueries.at(-1)?.endsWith('&trackerid=T-1'), seenQueries.at(-1));
});

test('refused connections, unknown schemes and trackers without scrape are typed errors', async () => {
  const closed = http.createServer();
  closed.listen(0, V4);
  await new Promise((r) => closed.once('listening', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const url = `http://${V4}:${port}/announce`;
  await rejectsWith(announce(url, params), 'ETRACKER_NETWORK', url, /connection refused/);
  await rejectsWith(announce('wss://tracker.test/announce', params), 'ETRACKER_UNSUPPORTED', 'wss://tracker.test/announce', /not supported/);
  await rejectsWith(scrape(`${base}/tracker.php`, [params.infoHash]), 'ETRACKER_NO_SCRAPE', `${base}/tracker.php`, /BEP 48/);
  await rejectsWith(announce('udp://127.0.0.1/announce', params), 'ETRACKER_BAD_URL', 'udp://127.0.0.1/announce', /port/);
});

// ------------------------------------------------------------------------------------- UDP

type UdpBehaviour = (msg: Buffer, reply: (b: Buffer) => void, nth: number) => void;

interface FakeUdp {
  url: string;
  received: Buffer[];
  close(): Promise<void>;
}

async function fakeUdp(host: string, behave: UdpBehaviour): Promise<FakeUdp> {
  const sock = dgram.createSocket(host === V6 ? 'udp6' : 'udp4');
  const received: Buffer[] = [];
  sock.on('message', (msg, rinfo) => {
    received.push(msg);
    behave(msg, (b) => sock.send(b, rinfo.port, rinfo.address), received.length);
  });
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  const h = host === V6 ? `[${host}]` : host;
  return {
    url: `udp://${h}:${sock.address().port}/announce`,
    received,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

const tidOf = (m: Buffer) => m.readUInt32BE(12);
const actionOf = (m: Buffer) => m.readUInt32BE(8);

function packet(action: number, tid: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(action, 0);
  h.writeUInt32BE(tid, 4);
  return Buffer.concat([h, body]);
}
const connectReply = (tid: number) => packet(0, tid, Buffer.from('0102030405060708', 'hex'));
function announceReply(tid: number, peers: Buffer): Buffer {
  const counters = Buffer.alloc(12);
  counters.writeUInt32BE(600, 0);
  counters.writeUInt32BE(1, 4);
  counters.writeUInt32BE(2, 8);
  return packet(1, tid, Buffer.concat([counters, peers]));
}

/** Fast BEP 15 timers so the retransmission paths run in milliseconds. */
const fast: RequestOptions = { udpRetryBaseMs: 20, udpMaxRetries: 2, timeoutMs: 5000 };

test('UDP reply with a wrong transaction id is an error, not a hang', async () => {
  const t = await fakeUdp(V4, (m, reply) => reply(connectReply((tidOf(m) + 1) >>> 0)));
  try {
    await rejectsWith(announce(t.url, params, fast), 'ETRACKER_BAD_REPLY', t.url, /transaction id/);
  } finally {
    await t.close();
  }
});

test('UDP error action 3 is reported with its message', async () => {
  const t = await fakeUdp(V4, (m, reply) => reply(packet(3, tidOf(m), Buffer.from('torrent banned'))));
  try {
    await rejectsWith(announce(t.url, params, fast), 'ETRACKER_FAILURE', t.url, /torrent banned/);
  } finally {
    await t.close();
  }
});

test('UDP silence: 1 + udpMaxRetries sends, then a timeout', async () => {
  const t = await fakeUdp(V4, () => {});
  try {
    await rejectsWith(announce(t.url, params, fast), 'ETRACKER_TIMEOUT', t.url, /no connect reply after 3 tries/);
    assert.equal(t.received.length, 3);
    assert.ok(t.received.every((m) => actionOf(m) === 0 && tidOf(m) === tidOf(t.received[0]!)));
  } finally {
    await t.close();
  }
});

test('UDP silence under the BEP 15 15 s timer still ends at the overall deadline', async () => {
  const t = await fakeUdp(V4, () => {});
  try {
    await rejectsWith(announce(t.url, params, { timeoutMs: 200 }), 'ETRACKER_TIMEOUT', t.url, /no reply within 0.2s/);
    assert.equal(t.received.length, 1);
  } finally {
    await t.close();
  }
});

test('UDP: a lost packet is retransmitted and the late duplicate reply is ignored', async () => {
  const t = await fakeUdp(V4, (m, reply, nth) => {
    if (actionOf(m) === 0 && nth === 1) return; // drop the first connect
    if (actionOf(m) === 0) {
      reply(connectReply(tidOf(m)));
      reply(connectReply(tidOf(m))); // a duplicate arriving during the announce
      return;
    }
    reply(announceReply(tidOf(m), encodeCompactPeers([{ host: '127.0.0.1', port: 7002 }], 4)));
  });
  try {
    const r = await announce(t.url, params, fast);
    assert.deepEqual(r.peers.map(formatPeer), ['127.0.0.1:7002']);
    assert.deepEqual(t.received.map(actionOf), [0, 0, 1]);
  } finally {
    await t.close();
  }
});

// Neither real tracker here can do this: opentracker is built IPv4-only, and bittorrent-tracker
// answers over udp6 with 6-byte IPv4 entries only. So a fake sends BEP 15's 18-byte entries.
test('UDP over IPv6: 18-byte IPv6 peers from an IPv6 tracker', async () => {
  const t = await fakeUdp(V6, (m, reply) => {
    if (actionOf(m) === 0) return reply(connectReply(tidOf(m)));
    reply(announceReply(tidOf(m), encodeCompactPeers([{ host: '::1', port: 7003 }, { host: '2001:db8::2', port: 7004 }], 6)));
  });
  try {
    const r = await announce(t.url, params, fast);
    assert.deepEqual(r.peers.map(formatPeer), ['[::1]:7003', '[2001:db8::2]:7004']);
  } finally {
    await t.close();
  }
});
