import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, authorized, hostAllowed, hostOfHeader, isLoopbackHost } from '../../src/rpc/security.js';
import { checkBinding } from '../../src/rpc/server.js';
import { RpcConfigError } from '../../src/rpc/errors.js';

test('Host header parsing strips the port, brackets and a trailing dot', () => {
  assert.equal(hostOfHeader('localhost:9091'), 'localhost');
  assert.equal(hostOfHeader('[::1]:9091'), '::1');
  assert.equal(hostOfHeader('::1'), '::1');
  assert.equal(hostOfHeader('Box.Example.:80'), 'box.example');
});

test('host whitelist: localhost and IP literals pass, other names only when listed', () => {
  for (const h of ['localhost', 'localhost:9091', 'localhost.', '127.0.0.1:9091', '[::1]:9091', '192.168.1.5:9091']) assert.ok(hostAllowed(h, []), h);
  assert.equal(hostAllowed('evil.example:9091', []), false);
  assert.equal(hostAllowed(undefined, []), false);
  assert.equal(hostAllowed('', []), false);
  assert.equal(hostAllowed('nas.home:9091', ['NAS.home']), true);
  assert.equal(hostAllowed('a.nas.home', ['*.nas.home']), true);
  assert.equal(hostAllowed('nas.home.evil.example', ['nas.home']), false);
});

test('Basic auth: right credentials pass; wrong, malformed or missing fail', () => {
  const creds = { user: 'u', pass: 'p:w' };
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  assert.equal(authorized(basic('u:p:w'), creds), true);
  assert.equal(authorized(basic('u:p'), creds), false);
  assert.equal(authorized(basic('u:p:wx'), creds), false);
  assert.equal(authorized('Bearer abc', creds), false);
  assert.equal(authorized(undefined, creds), false);
  assert.equal(authorized(`Basic ${'A'.repeat(5000)}`, creds), false);
});

test('loopback addresses, and binding anything else without auth is refused', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.org']) assert.equal(isLoopbackHost(h), false, h);
  assert.throws(() => checkBinding('0.0.0.0', undefined), (err: unknown) => err instanceof RpcConfigError && /user and password/.test(err.message));
  assert.doesNotThrow(() => checkBinding('0.0.0.0', { user: 'a', pass: 'b' }));
  assert.doesNotThrow(() => checkBinding('127.0.0.1', undefined));
  assert.throws(() => checkBinding('0.0.0.0', { user: 'a', pass: '' }), RpcConfigError);
});

test('auth throttle: 10 wrong passwords in a window block that address until the window ends', () => {
  let now = 0;
  const t = new AuthThrottle({ now: () => now, maxTracked: 3 });
  for (let i = 0; i < 9; i++) t.fail('a');
  assert.equal(t.retryAfter('a'), 0, 'nine are allowed');
  t.fail('a');
  assert.equal(t.retryAfter('a'), 60);
  assert.equal(t.retryAfter('b'), 0, 'other addresses are not affected');
  now = 30_000;
  assert.equal(t.retryAfter('a'), 30);
  now = 60_001;
  assert.equal(t.retryAfter('a'), 0, 'the window ended');
  t.fail('a');
  t.succeed('a');
  assert.equal(t.retryAfter('a'), 0);
  // Bounded: a fourth address pushes out the oldest.
  for (const addr of ['w', 'x', 'y']) for (let i = 0; i < 10; i++) t.fail(addr);
  t.fail('z');
  assert.equal(t.retryAfter('w'), 0, 'forgotten');
  assert.ok(t.retryAfter('y') > 0);
});
