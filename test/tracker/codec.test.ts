// The pure halves of the tracker layer, tested on bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, type Encodable } from '../../src/bencode/index.js';
import {
  encodeCompactPeers,
  formatPeer,
  ipv6Bytes,
  parseCompactPeers,
  parseDictPeers,
} from '../../src/tracker/compact.js';
import { formatIPv6 } from '../../src/wire/address.js';
import {
  buildAnnounceUrl,
  buildScrapeUrl,
  parseAnnounceReply,
  parseScrapeReply,
  percentEncodeBytes,
  scrapeUrlFor,
} from '../../src/tracker/http-codec.js';
import { TrackerError } from '../../src/tracker/errors.js';
import type { AnnounceParams } from '../../src/tracker/types.js';

const URL_ = 'http://tracker.test/announce';

function throwsTracker(fn: () => unknown, code: string, detail?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TrackerError, `expected TrackerError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.url, URL_);
    assert.ok(err.message.includes(URL_), 'message names the tracker');
    if (detail) assert.match(err.detail, detail);
    return true;
  });
}

/** Undoes %XX escapes byte by byte (decodeURIComponent would insist on UTF-8). */
function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

test('percent-encoding keeps unreserved bytes and escapes every other byte', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const s = percentEncodeBytes(all);
  assert.deepEqual(percentDecode(s), all);
  assert.match(s, /^[A-Za-z0-9._~%-]*$/);
  assert.equal(percentEncodeBytes(Buffer.from('aZ9-_.~ /+&=?%')), 'aZ9-_.~%20%2F%2B%26%3D%3F%25');
});

const params: AnnounceParams = {
  infoHash: Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex'),
  peerId: Buffer.from('-PT0001-\x00\xff abcdefghi', 'latin1'),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: 'started',
  numwant: 50,
  key: 0xdeadbeef,
};

test('announce URL carries every BEP 3 / BEP 23 field, raw bytes percent-encoded', () => {
  const url = buildAnnounceUrl(URL_, params);
  assert.equal(
    url,
    'http://tracker.test/announce?info_hash=%01%23Eg%89%AB%CD%EF%01%23Eg%89%AB%CD%EF%01%23Eg' +
      '&peer_id=-PT0001-%00%FF%20abcdefghi&port=6881&uploaded=1&downloaded=2&left=3&compact=1' +
      '&event=started&numwant=50&key=DEADBEEF',
  );
  const q = new URL(url).searchParams;
  assert.equal(q.get('compact'), '1');
});

test('announce URL: existing query kept, event and numwant optional, trackerid echoed', () => {
  const { event: _e, numwant: _n, ...plain } = params;
  const url = buildAnnounceUrl('http://t.test/announce.php?passkey=abc', plain, 'id 1');
  assert.ok(url.startsWith('http://t.test/announce.php?passkey=abc&info_hash='));
  assert.ok(!url.includes('event='));
  assert.ok(!url.includes('numwant='));
  assert.ok(url.endsWith('&trackerid=id%201'));
});

test('BEP 48 announce-to-scrape rule, with the examples of the BEP', () => {
  const cases: [string, string | undefined][] = [
    ['http://example.com/announce', 'http://example.com/scrape'],
    ['http://example.com/x/announce', 'http://example.com/x/scrape'],
    ['http://example.com/announce.php', 'http://example.com/scrape.php'],
    ['http://example.com/a', undefined],
    ['http://example.com/announce?x2%0644', 'http://example.com/scrape?x2%0644'],
    ['http://example.com/announce?x=2/4', 'http://example.com/scrape?x=2/4'],
    ['http://example.com/x%064announce', undefined],
  ];
  for (const [announce, scrape] of cases) assert.equal(scrapeUrlFor(announce), scrape, announce);
  assert.equal(
    buildScrapeUrl('http://example.com/scrape', [Buffer.alloc(20, 0xaa), Buffer.alloc(20, 0x41)]),
    `http://example.com/scrape?info_hash=${'%AA'.repeat(20)}&info_hash=${'A'.repeat(20)}`,
  );
});

test('compact, dict-list and peers6 replies parse, with every counter', () => {
  const v4 = encodeCompactPeers([{ host: '10.0.0.1', port: 6881 }, { host: '127.0.0.1', port: 65535 }], 4);
  const v6 = encodeCompactPeers([{ host: '2001:db8::1', port: 51413 }], 6);
  const body = encode({
    interval: 1800,
    'min interval': 60,
    complete: 5,
    incomplete: 7,
    'warning message': 'slow down',
    'tracker id': 'abc',
    peers: v4,
    peers6: v6,
  });
  const r = parseAnnounceReply(body, URL_);
  assert.deepEqual(r, {
    interval: 1800,
    minInterval: 60,
    complete: 5,
    incomplete: 7,
    warning: 'slow down',
    trackerId: 'abc',
    peers: [
      { host: '10.0.0.1', port: 6881 },
      { host: '127.0.0.1', port: 65535 },
      { host: '2001:db8::1', port: 51413 },
    ],
  });

  const dictList = encode({
    interval: 900,
    peers: [
      { ip: '192.168.1.2', port: 1, 'peer id': Buffer.alloc(20) },
      { ip: '::FFFF:1.2.3.4', port: 2 },
      { ip: 'peer.example.org', port: 3 },
      { ip: 'bad host\x1b[31m', port: 4 }, // skipped: not an address or a name
      { ip: '1.2.3.4', port: 0 }, // skipped: no port
      { ip: '1.2.3.4', port: 70000 }, // skipped: out of range
      'not a dict',
    ],
  });
  assert.deepEqual(parseAnnounceReply(dictList, URL_).peers, [
    { host: '192.168.1.2', port: 1 },
    { host: '::ffff:102:304', port: 2 },
    { host: 'peer.example.org', port: 3 },
  ]);
});

test('a missing interval falls back to 1800 s; absent counters stay absent', () => {
  const r = parseAnnounceReply(encode({ peers: Buffer.alloc(0) }), URL_);
  assert.deepEqual(r, { interval: 1800, peers: [] });
});

test('failure reason, garbage and wrong shapes are typed errors naming the tracker', () => {
  throwsTracker(() => parseAnnounceReply(encode({ 'failure reason': 'unregistered torrent' }), URL_), 'ETRACKER_FAILURE', /unregistered torrent/);
  throwsTracker(() => parseAnnounceReply(Buffer.from('<html>502 Bad Gateway</html>'), URL_), 'ETRACKER_BAD_REPLY', /not bencode.*<html>/);
  throwsTracker(() => parseAnnounceReply(Buffer.alloc(0), URL_), 'ETRACKER_BAD_REPLY', /empty reply/);
  throwsTracker(() => parseAnnounceReply(encode([1, 2]), URL_), 'ETRACKER_BAD_REPLY', /not a bencoded dictionary/);
  throwsTracker(() => parseAnnounceReply(encode({ interval: -1 }), URL_), 'ETRACKER_BAD_REPLY', /interval/);
  throwsTracker(() => parseAnnounceReply(encode({ interval: 10, peers: Buffer.alloc(7) }), URL_), 'ETRACKER_BAD_REPLY', /multiple of 6/);
  throwsTracker(() => parseAnnounceReply(encode({ interval: 10, peers6: Buffer.alloc(17) }), URL_), 'ETRACKER_BAD_REPLY', /multiple of 18/);
  throwsTracker(() => parseAnnounceReply(encode({ interval: 10, peers: 5 }), URL_), 'ETRACKER_BAD_REPLY', /peers/);
  throwsTracker(() => parseAnnounceReply(encode({ interval: 2n ** 70n }), URL_), 'ETRACKER_BAD_REPLY', /interval/);
});

test('peer lists are cut at the cap before they are built', () => {
  const many = Buffer.alloc(6 * 5000, 1);
  const r = parseAnnounceReply(encode({ interval: 1, peers: many, peers6: Buffer.alloc(18 * 10, 1) }), URL_, 100);
  assert.equal(r.peers.length, 100);
  assert.equal(parseCompactPeers(many, 4, URL_, 3).length, 3);
  assert.equal(parseDictPeers(Array.from({ length: 50 }, () => encode({})), 10).length, 0);
});

test('scrape replies parse per info-hash; failure reason is an error', () => {
  const h1 = Buffer.alloc(20, 1);
  const h2 = Buffer.alloc(20, 2);
  const body = encode(
    new Map<Uint8Array, Encodable>([
      [Buffer.from('files'), new Map<Uint8Array, Encodable>([
        [h1, { complete: 3, incomplete: 4, downloaded: 5 }],
        [h2, { complete: 0, incomplete: 1 }],
      ])],
    ]),
  );
  const m = parseScrapeReply(body, URL_);
  assert.deepEqual(m.get(h1.toString('hex')), { complete: 3, incomplete: 4, downloaded: 5 });
  assert.deepEqual(m.get(h2.toString('hex')), { complete: 0, incomplete: 1, downloaded: 0 });
  throwsTracker(() => parseScrapeReply(encode({ 'failure reason': 'no scrape here' }), URL_), 'ETRACKER_FAILURE', /no scrape here/);
  throwsTracker(() => parseScrapeReply(encode({ flags: {} }), URL_), 'ETRACKER_BAD_REPLY', /files/);
});

test('scrape keys UTF-8-mangled by the npm bittorrent-tracker server are recovered, nothing else is', () => {
  const hash = Buffer.from('56ca380da1e4c7c18a29d1fa045be9b452ab5fc5', 'hex');
  const mangled = Buffer.from(hash.toString('latin1'), 'utf8'); // what that server sends: 32 bytes
  assert.equal(mangled.length, 32);
  const stats = { complete: 1, incomplete: 2, downloaded: 3 };
  const body = (key: Buffer) => encode(new Map<Uint8Array, Encodable>([[Buffer.from('files'), new Map<Uint8Array, Encodable>([[key, stats]])]]));
  assert.deepEqual([...parseScrapeReply(body(mangled), URL_)], [[hash.toString('hex'), stats]]);
  // 32 bytes that are not such an encoding (invalid UTF-8, or chars above 0xff) are ignored.
  assert.equal(parseScrapeReply(body(Buffer.alloc(32, 0xff)), URL_).size, 0);
  assert.equal(parseScrapeReply(body(Buffer.from('\u0100'.repeat(16), 'utf8')), URL_).size, 0);
});

test('IPv6 text form follows RFC 5952 and round-trips', () => {
  const cases = ['::1', '::', '2001:db8::1', '1::', '2001:db8:0:1:1:1:1:1', 'fe80::1:0:0:1', '1:0:0:2::3'];
  for (const c of cases) assert.equal(formatIPv6(ipv6Bytes(c)!, 0), c);
  assert.equal(formatIPv6(ipv6Bytes('2001:0DB8:0000:0000:0000:0000:0000:0001')!, 0), '2001:db8::1');
  assert.equal(formatIPv6(ipv6Bytes('1:0:0:2:0:0:0:3')!, 0), '1:0:0:2::3'); // the longer run wins
  assert.equal(ipv6Bytes('1.2.3.4'), undefined);
});

test('compact peers: port 0 dropped, IPv6 printed in brackets', () => {
  const b = encodeCompactPeers([{ host: '1.2.3.4', port: 1 }], 4);
  assert.deepEqual(parseCompactPeers(Buffer.concat([b, Buffer.alloc(6)]), 4, URL_), [{ host: '1.2.3.4', port: 1 }]);
  assert.equal(formatPeer({ host: '::1', port: 80 }), '[::1]:80');
  assert.equal(formatPeer({ host: '1.2.3.4', port: 80 }), '1.2.3.4:80');
});
