import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase32, encodeBase32, formatMagnet, MagnetError, parseMagnet } from '../../src/magnet/index.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';

function fails(uri: string, part: string, pattern?: RegExp): MagnetError {
  try {
    parseMagnet(uri);
  } catch (e) {
    assert.ok(e instanceof MagnetError, `expected MagnetError, got ${String(e)}`);
    assert.equal(e.part, part);
    assert.ok(!e.message.includes('\n'), 'one line');
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  return assert.fail(`accepted ${uri}`);
}

test('hex btih with name, trackers, peers and web seeds', () => {
  const m = parseMagnet(
    `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=Some+File%20%C3%A9.iso&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce` +
      '&tr=http://t.example/announce?k=1&x.pe=10.0.0.1:6881&x.pe=[2001:DB8::1]:51413&x.pe=peer.example:80&ws=https://seed.example/files/',
  );
  assert.deepEqual(m.infoHash, Buffer.from(HEX, 'hex'));
  assert.equal(m.infoHashHex, HEX);
  assert.equal(m.name, 'Some File é.iso');
  assert.deepEqual(m.trackers, ['udp://tracker.example:1337/announce', 'http://t.example/announce?k=1']);
  assert.deepEqual(m.peers, [
    { host: '10.0.0.1', port: 6881 },
    { host: '2001:db8::1', port: 51413 },
    { host: 'peer.example', port: 80 },
  ]);
  assert.deepEqual(m.webSeeds, ['https://seed.example/files/']);
  assert.equal(m.selectOnly, undefined);
});

test('base32 btih (32 chars, either case) gives the same hash as hex', () => {
  const bytes = Buffer.from(HEX, 'hex');
  const b32 = encodeBase32(bytes);
  assert.equal(b32.length, 32);
  // RFC 4648 test vector: "foobar" -> MZXW6YTBOI (10 chars, here on a 5-byte multiple).
  assert.equal(encodeBase32(Buffer.from('fooba')), 'MZXW6YTB');
  assert.deepEqual(decodeBase32('MZXW6YTB'), Buffer.from('fooba'));
  assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, bytes);
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHashHex, HEX);
  assert.equal(decodeBase32('MZXW6YT1'), null);
  assert.equal(decodeBase32('MZXW6YT'), null);
});

test('minimal link: only xt; unknown parameters ignored; numbered keys accepted', () => {
  const m = parseMagnet(`MAGNET:?xt=urn:BTIH:${HEX}&xl=1234&as=x&kt=a+b&x.foo=bar&tr.1=udp://a.example:1/a&tr.2=udp://a.example:1/a`);
  assert.deepEqual(m, { infoHash: Buffer.from(HEX, 'hex'), infoHashHex: HEX, trackers: ['udp://a.example:1/a'], peers: [], webSeeds: [] });
});

test('hybrid link (btmh + btih) is accepted; btmh-only is a clear v2 error', () => {
  const btmh = 'urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e';
  assert.equal(parseMagnet(`magnet:?xt=${btmh}&xt=urn:btih:${HEX}`).infoHashHex, HEX);
  const err = fails(`magnet:?xt=${btmh}&dn=x`, 'xt', /v2-only magnet links are not supported yet/);
  assert.equal(err.code, 'EMAGNET_V2_ONLY');
});

test('BEP 53 so: indexes and ranges', () => {
  assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=0,2,4-6,5`).selectOnly, [0, 2, 4, 5, 6]);
  fails(`magnet:?xt=urn:btih:${HEX}&so=3-1`, 'so');
  fails(`magnet:?xt=urn:btih:${HEX}&so=a`, 'so');
  fails(`magnet:?xt=urn:btih:${HEX}&so=0-999999999`, 'so', /more than/);
});

test('malformed links name the bad part', () => {
  fails('http://example.com', 'uri');
  fails('magnet:?dn=x', 'xt', /no urn:btih/);
  fails(`magnet:?xt=urn:btih:${HEX.slice(1)}`, 'xt', /40 hex or 32 base32/);
  fails('magnet:?xt=urn:btih:0123456789ABCDEFGHIJKLMNOPQRSTU1', 'xt', /base32/);
  fails(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, 'xt', /two different/);
  fails(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, 'dn', /percent-encoding/);
  fails(`magnet:?xt=urn:btih:${HEX}&tr=not a url`, 'tr', /not a URL/);
  fails(`magnet:?xt=urn:btih:${HEX}&tr=file:///etc/passwd`, 'tr', /scheme/);
  fails(`magnet:?xt=urn:btih:${HEX}&ws=udp://x.example/`, 'ws', /scheme/);
  for (const pe of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '[::1]6881', '[nothex]:1', 'a b:1', ':80', '10.0.0.1:1a']) {
    fails(`magnet:?xt=urn:btih:${HEX}&x.pe=${pe}`, 'x.pe');
  }
});

test('control characters in the offending value are not echoed raw', () => {
  const err = fails('magnet:?xt=urn:btih:\x1b[31m', 'xt');
  assert.ok(!err.message.includes('\x1b'));
});

test('length and count bounds', () => {
  fails(`magnet:?xt=urn:btih:${HEX}&dn=${'a'.repeat(70 * 1024)}`, 'uri', /exceed/);
  const trackers = Array.from({ length: 201 }, (_, i) => `tr=udp://t${i}.example:1/a`).join('&');
  fails(`magnet:?xt=urn:btih:${HEX}&${trackers}`, 'tr', /more than 200/);
  const peers = Array.from({ length: 201 }, (_, i) => `x.pe=10.0.${i >> 8}.${i & 255}:1`).join('&');
  fails(`magnet:?xt=urn:btih:${HEX}&${peers}`, 'x.pe', /more than 200/);
  fails(`magnet:?xt=urn:btih:${HEX}${'&'.repeat(2500)}`, 'uri', /parameters/);
});

test('formatMagnet round-trips through parseMagnet', () => {
  const input = {
    infoHashHex: HEX,
    name: 'a & b + c = d/e?.mkv',
    trackers: ['udp://tracker.example:1337/announce', 'https://t.example/a?x=1&y=2'],
    webSeeds: ['https://seed.example/f/'],
    peers: [{ host: '10.1.2.3', port: 6881 }, { host: '2001:db8::2', port: 1 }],
  };
  const uri = formatMagnet(input);
  assert.ok(uri.startsWith(`magnet:?xt=urn:btih:${HEX}&dn=`));
  assert.ok(uri.includes('tr=udp://tracker.example:1337/announce'), uri);
  const back = parseMagnet(uri);
  assert.equal(back.infoHashHex, HEX);
  assert.equal(back.name, input.name);
  assert.deepEqual(back.trackers, input.trackers);
  assert.deepEqual(back.webSeeds, input.webSeeds);
  assert.deepEqual(back.peers, input.peers);
  assert.equal(formatMagnet({ infoHashHex: HEX }), `magnet:?xt=urn:btih:${HEX}`);
  assert.throws(() => formatMagnet({ infoHashHex: 'xyz' }), MagnetError);
});

test('random names and trackers round-trip', () => {
  let state = 12345;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const alphabet = 'abcXYZ019 &=+%#?/:;@!é漢\u{1F600}';
  const chars = [...alphabet];
  for (let i = 0; i < 300; i++) {
    const name = Array.from({ length: 1 + next(30) }, () => chars[next(chars.length)]).join('');
    const tracker = `http://t${next(100)}.example/${encodeURIComponent(name)}`;
    const hexHash = Array.from({ length: 40 }, () => '0123456789abcdef'[next(16)]).join('');
    const back = parseMagnet(formatMagnet({ infoHashHex: hexHash, name, trackers: [tracker] }));
    assert.equal(back.name, name);
    assert.deepEqual(back.trackers, [tracker]);
    assert.equal(back.infoHashHex, hexHash);
  }
});
