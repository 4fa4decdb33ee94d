// A Range-capable HTTP server for web-seed tests (Python's http.server ignores Range), with
// misbehaving modes no real server would pick on purpose. Listens on 127.0.0.1 only.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export type ServerMode =
  | 'ok'
  | 'wrong-bytes' // right headers, every byte of the body inverted
  | 'status-500'
  | 'ignore-range' // 200 with the whole file, as a server without Range support
  | 'truncate' // promises the range, sends half, closes the connection
  | 'too-long' // 206 with the right Content-Range, no Content-Length, more bytes than asked
  | 'wrong-range' // 206 for a range other than the one asked
  | 'redirect-loop' // 302 to itself, forever
  | 'redirect-once' // 302 from /P to /real/P, which is served
  | 'stall' // headers, then nothing
  | 'trickle'; // one byte at a time, slowly

export interface RangeServer {
  readonly port: number;
  /** http://127.0.0.1:PORT (https:// with `tls`) */
  readonly origin: string;
  mode: ServerMode;
  /** Each request as "PATH RANGE" (the path as sent, still percent-encoded). */
  readonly requests: string[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  connections(): number;
  close(): Promise<void>;
}

/** Serves `files` (decoded URL path -> content, e.g. '/pub/name/dir/a b.bin'). */
export async function startRangeServer(
  files: ReadonlyMap<string, Buffer>,
  mode: ServerMode = 'ok',
  tls?: { key: Buffer; cert: Buffer },
): Promise<RangeServer> {
  const requests: string[] = [];
  let connections = 0;
  const state = { mode };

  const handler: http.RequestListener = (req, res) => {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    requests.push(`${rawPath} ${req.headers.range ?? '-'}`);
    let path: string;
    try {
      path = rawPath.split('/').map(decodeURIComponent).join('/');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const m = state.mode;
    if (m === 'redirect-loop') {
      res.writeHead(302, { location: rawPath, 'content-length': '0' }).end();
      return;
    }
    if (m === 'redirect-once') {
      if (!path.startsWith('/real/')) {
        res.writeHead(302, { location: `/real${rawPath}`, 'content-length': '0' }).end();
        return;
      }
      path = path.slice('/real'.length);
    }
    const data = files.get(path);
    if (!data) {
      res.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    if (m === 'status-500') {
      res.writeHead(500, { 'content-length': '0' }).end();
      return;
    }
    if (m === 'ignore-range') {
      res.writeHead(200, { 'content-length': String(data.length) }).end(data);
      return;
    }
    const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!r) {
      res.writeHead(200, { 'content-length': String(data.length) }).end(data);
      return;
    }
    const start = Number(r[1]);
    const end = Math.min(Number(r[2]), data.length - 1);
    if (start > end || start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}`, 'content-length': '0' }).end();
      return;
    }
    const body = Buffer.from(data.subarray(start, end + 1));
    const headers = { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': String(body.length) };
    switch (m) {
      case 'wrong-bytes':
        for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ 0xff;
        res.writeHead(206, headers).end(body);
        return;
      case 'truncate':
        res.writeHead(206, headers);
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      case 'too-long':
        res.writeHead(206, { 'content-range': headers['content-range'] });
        res.end(Buffer.concat([body, Buffer.alloc(4096, 1)]));
        return;
      case 'wrong-range': {
        const s = start + 1 <= end ? start + 1 : start;
        res.writeHead(206, { 'content-range': `bytes ${s}-${end}/${data.length}`, 'content-length': String(end - s + 1) }).end(data.subarray(s, end + 1));
        return;
      }
      case 'stall':
        res.writeHead(206, headers);
        res.flushHeaders();
        return; // the test's close() ends it
      case 'trickle': {
        // One byte every 20 ms: alive, but far below any sane minimum rate.
        res.writeHead(206, headers);
        let at = 0;
        const timer = setInterval(() => {
          if (at >= body.length || res.destroyed) return clearInterval(timer);
          res.write(body.subarray(at, ++at));
        }, 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      default:
        res.writeHead(206, headers).end(body);
    }
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  server.on(tls ? 'secureConnection' : 'connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: ServerMode) {
      state.mode = m;
    },
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
