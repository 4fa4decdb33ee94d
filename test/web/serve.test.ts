// The static side of the web UI over HTTP, through the RPC server it plugs into: content types,
// caching, the CSP, paths that try to leave the folder, and the same login as the RPC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRpcServer, type RpcServer } from '../../src/rpc/index.js';
import { CONTENT_SECURITY_POLICY, webUiHandler, WEB_ROOT } from '../../src/web/index.js';
import { MemoryEngine } from '../rpc/memory-engine.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, pathname: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: pathname, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let tmp: string;
let server: RpcServer;
let authServer: RpcServer;
let bare: RpcServer;

before(async () => {
  // A root of our own, with a secret beside it that no path may reach.
  tmp = mkdtempSync(path.join(tmpdir(), 'pytor-web-'));
  const root = path.join(tmp, 'public');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(tmp, 'secret.txt'), 'do not serve');
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><meta name="x-transmission-session-id" content="%SESSION_ID%"><title>t</title>');
  writeFileSync(path.join(root, 'assets', 'app-ABCDEFGH.js'), 'console.log(1)');
  writeFileSync(path.join(root, 'assets', 'app-ABCDEFGH.css'), 'body{}');
  writeFileSync(path.join(root, 'assets', 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(root, 'assets', 'notes.exe'), 'MZ');
  const engine = new MemoryEngine();
  server = await startRpcServer({ engine, port: 0, staticHandler: webUiHandler(root) });
  authServer = await startRpcServer({ engine, port: 0, auth: { user: 'admin', pass: 'pw' }, staticHandler: webUiHandler(root) });
  bare = await startRpcServer({ engine, port: 0, staticHandler: webUiHandler(path.join(tmp, 'nothing-here')) });
});
after(async () => {
  await server?.close();
  await authServer?.close();
  await bare?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('GET / is the page, never cached, with the strict CSP and the session id filled in', async () => {
  const r = await get(server.port, '/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=UTF-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.ok(r.body.includes(`content="${server.sessionId}"`), r.body);
  const again = await get(server.port, '/index.html?x=1');
  assert.equal(again.body, r.body);
});

test('assets: content types by extension, hashed names cached for good, ETag revalidation, HEAD', async () => {
  const js = await get(server.port, '/assets/app-ABCDEFGH.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=UTF-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.body, 'console.log(1)');
  const css = await get(server.port, '/assets/app-ABCDEFGH.css');
  assert.equal(css.headers['content-type'], 'text/css; charset=UTF-8');
  const svg = await get(server.port, '/assets/icon.svg');
  assert.equal(svg.headers['content-type'], 'image/svg+xml');
  assert.equal(svg.headers['cache-control'], 'no-cache');
  const etag = String(svg.headers.etag);
  const cached = await get(server.port, '/assets/icon.svg', { headers: { 'If-None-Match': etag } });
  assert.equal(cached.status, 304);
  assert.equal(cached.body, '');
  const head = await get(server.port, '/assets/app-ABCDEFGH.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(Buffer.byteLength('console.log(1)')));
  const post = await get(server.port, '/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('nothing outside the built files: traversal, encoded slashes, unknown types and names are 404', async () => {
  for (const p of ['/assets/../secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/../secret.txt', '/secret.txt', '/assets/notes.exe', '/assets/', '/assets', '/assets/nope.js', '//etc/passwd', '/assets/icon.svg/..']) {
    const r = await get(server.port, p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body, /do not serve/);
  }
});

test('the page and its files sit behind the RPC login', async () => {
  const anonymous = await get(authServer.port, '/');
  assert.equal(anonymous.status, 401);
  assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/);
  const asset = await get(authServer.port, '/assets/app-ABCDEFGH.js');
  assert.equal(asset.status, 401);
  const ok = await get(authServer.port, '/', { headers: { Authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` } });
  assert.equal(ok.status, 200);
  assert.ok(ok.body.includes(authServer.sessionId));
});

test('an unbuilt UI says so on GET / and leaves the RPC alone', async () => {
  const r = await get(bare.port, '/');
  assert.equal(r.status, 503);
  assert.match(r.body, /not built/);
  assert.equal((await get(bare.port, '/assets/app.js')).status, 404);
  const rpc = await get(bare.port, '/transmission/rpc');
  assert.equal(rpc.status, 409);
});

test('WEB_ROOT is the build output beside the compiled module', () => {
  assert.match(WEB_ROOT.split(path.sep).join('/'), /dist\/src\/web\/public\/?$/);
});
