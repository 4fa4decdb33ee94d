import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientName } from '../../src/peer/client-name.js';

const id = (prefix: string) => Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(20 - prefix.length, 0x41)]);

test('a client is named by its BEP 10 `v`, else by an Azureus-style peer id', () => {
  assert.equal(clientName(id('-LT2080-'), 'libtorrent/2.0.8.0'), 'libtorrent/2.0.8.0');
  assert.equal(clientName(id('-LT2080-'), undefined), 'libtorrent 2.0.8.0');
  assert.equal(clientName(id('-TR3000-'), undefined), 'Transmission 3.0.0.0');
  assert.equal(clientName(id('-qB4A10-'), undefined), 'qBittorrent 4.10.1.0');
  // Unknown styles show their printable start; nothing unprintable gets through.
  assert.equal(clientName(Buffer.from('M7-2-3--\x1b\x07abcdefghijkl'), undefined), 'M7-2-3--');
  assert.equal(clientName(Buffer.from('\x1b[31mXXXXXXXXXXXXXXXX'), undefined), '.[31mXXX');
  assert.equal(clientName(undefined, undefined), '');
});
