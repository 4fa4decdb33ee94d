import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transactions } from '../../src/dht/transactions.js';
import type { KrpcMessage } from '../../src/dht/krpc.js';

const reply = (t: Buffer): KrpcMessage => ({ y: 'r', t, id: Buffer.alloc(20, 1) });

test('a reply settles its query only with the same transaction id, address and port', async () => {
  const tx = new Transactions(10_000);
  const q = tx.open('192.0.2.1', 6881, () => assert.fail('no timeout expected'))!;
  assert.equal(tx.settle(reply(q.t), '192.0.2.1', 6882), false, 'other port');
  assert.equal(tx.settle(reply(q.t), '192.0.2.2', 6881), false, 'other address');
  assert.equal(tx.settle(reply(Buffer.from('zz')), '192.0.2.1', 6881), false, 'other id');
  assert.equal(tx.size, 1);
  assert.equal(tx.settle(reply(q.t), '192.0.2.1', 6881), true);
  assert.equal(tx.settle(reply(q.t), '192.0.2.1', 6881), false, 'settled once');
  assert.equal((await q.answer)?.y, 'r');
  assert.equal(tx.size, 0);
});

test('bounded count, distinct ids, timeouts and cancelAll end every transaction', async () => {
  const tx = new Transactions(20, 50);
  let timeouts = 0;
  const open = Array.from({ length: 60 }, (_, i) => tx.open('192.0.2.1', 1000 + i, () => timeouts++));
  assert.equal(open.filter(Boolean).length, 50);
  assert.equal(new Set(open.filter(Boolean).map((o) => o!.t.toString('hex'))).size, 50);
  assert.deepEqual(await Promise.all(open.slice(0, 50).map((o) => o!.answer)), new Array(50).fill(undefined));
  assert.equal(timeouts, 50);
  const tx2 = new Transactions(60_000);
  const a = tx2.open('192.0.2.1', 1, () => undefined)!;
  tx2.cancelAll();
  assert.equal(await a.answer, undefined);
  assert.equal(tx2.size, 0);
});
