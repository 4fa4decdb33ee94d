// Transmission's RPC over HTTP (rpc-spec 2.3): POST /transmission/rpc with a JSON body. In
// front of the methods, in this order: the Host whitelist (421), HTTP Basic auth when
// configured (401; 429 after 10 wrong passwords from one address in a minute), the X-Transmission-Session-Id handshake (409), then method and body checks.
// node:http only; every body is bounded before it is buffered.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import createDebug from 'debug';
import type { RpcEngine } from './engine.js';
import { RpcConfigError } from './errors.js';
import { RpcMethods } from './methods.js';
import { AuthThrottle, authorized, hostAllowed, isLoopbackHost, type Credentials } from './security.js';

const log = createDebug('pytor:rpc');

export const RPC_PATH = '/transmission/rpc';
export const SESSION_ID_HEADER = 'X-Transmission-Session-Id';
export const DEFAULT_RPC_PORT = 9091;
export const DEFAULT_RPC_HOST = '127.0.0.1';
/** Request bodies larger than this are refused with 413 (a .torrent of 16 MiB in base64 does not fit; 12 MiB does). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface RpcServerOptions {
  readonly engine: RpcEngine;
  /** 0 for any free port. Default 9091. */
  readonly port?: number;
  /** Default 127.0.0.1. Any non-loopback address requires `auth`. */
  readonly host?: string;
  readonly auth?: Credentials;
  /** Host-header names accepted besides localhost and IP literals (`*.example.org` allowed). */
  readonly hostWhitelist?: readonly string[];
  readonly maxBodyBytes?: number;
  /**
   * Serves anything that is not the RPC (the web UI), after the Host and auth checks; returns
   * false to let the server answer 404.
   */
  readonly staticHandler?: (req: IncomingMessage, res: ServerResponse, ctx: StaticContext) => boolean;
  /** Milliseconds since the epoch (tests). */
  readonly now?: () => number;
}

/** What the static hook may put in a page: the session id, so the web UI's first RPC needs no 409 round. */
export interface StaticContext {
  readonly sessionId: string;
}

export interface RpcServer {
  readonly port: number;
  /** The session id clients must send (also returned in every 409). */
  readonly sessionId: string;
  close(): Promise<void>;
}

/** Throws RpcConfigError for a setup that would expose the engine without a password. */
export function checkBinding(host: string, auth: Credentials | undefined): void {
  if (!isLoopbackHost(host) && auth === undefined) {
    throw new RpcConfigError('host', `binding ${host} exposes pytor to the network: set a user and password (HTTP Basic auth) to do that`);
  }
  if (auth !== undefined && (auth.user.length === 0 || auth.pass.length === 0)) throw new RpcConfigError('auth', 'user and password must not be empty');
}

export async function startRpcServer(opts: RpcServerOptions): Promise<RpcServer> {
  const host = opts.host ?? DEFAULT_RPC_HOST;
  checkBinding(host, opts.auth);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const whitelist = opts.hostWhitelist ?? [];
  const sessionId = randomBytes(24).toString('base64url');
  const methods = new RpcMethods({ engine: opts.engine, sessionId, now: opts.now });
  const throttle = new AuthThrottle({ now: opts.now });

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only a bug gets here; answer with a result, not a stack.
      log('unexpected: %O', err);
      if (!res.headersSent) sendJson(res, 500, { result: 'internal error' });
      else res.destroy();
    });
  });
  // Bound slow clients: headers within 20 s, the whole request (up to 16 MiB) within 2 minutes.
  server.requestTimeout = 120_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, whitelist)) {
      sendText(res, 421, `Host ${JSON.stringify(String(req.headers.host ?? '').slice(0, 100))} is not allowed (DNS rebinding protection): use localhost, an IP address, or a name from the RPC host whitelist`);
      return;
    }
    if (opts.auth) {
      const address = req.socket.remoteAddress ?? '';
      const wait = throttle.retryAfter(address);
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        sendText(res, 429, `too many wrong passwords: try again in ${wait} s`);
        return;
      }
      if (!authorized(req.headers.authorization, opts.auth)) {
        if (req.headers.authorization !== undefined) throttle.fail(address);
        res.setHeader('WWW-Authenticate', 'Basic realm="pytor"');
        sendText(res, 401, 'Unauthorized: a user name and password are required');
        return;
      }
      throttle.succeed(address);
    }
    // The web UI (static hook) sits behind the same Host and auth checks; only the RPC needs the session id.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== RPC_PATH && path !== `${RPC_PATH}/`) {
      if (opts.staticHandler?.(req, res, { sessionId })) return;
      sendText(res, 404, 'not found');
      return;
    }
    res.setHeader(SESSION_ID_HEADER, sessionId);
    if (req.headers[SESSION_ID_HEADER.toLowerCase()] !== sessionId) {
      sendText(res, 409, `409: Conflict. Resend the request with the header ${SESSION_ID_HEADER}: ${sessionId}`);
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendText(res, 405, 'use POST');
      return;
    }
    const body = await readBody(req, maxBody);
    if (body === 'too-large') {
      res.setHeader('Connection', 'close');
      sendJson(res, 413, { result: `request body larger than ${maxBody} bytes` });
      // Stop reading the rest of an oversized upload.
      res.on('finish', () => req.destroy());
      return;
    }
    if (body === 'aborted') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      sendJson(res, 400, { result: `invalid JSON: ${(err as Error).message}` });
      return;
    }
    const response = await methods.handle(parsed);
    sendJson(res, 200, response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_RPC_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log('listening on %s port %d%s', host, port, opts.auth ? ' with auth' : '');
  return {
    port,
    sessionId,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads a body up to `max` bytes; refuses early on a declared Content-Length over the bound. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > max) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (value: Buffer | 'too-large' | 'aborted') => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        req.pause();
        settle('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle(Buffer.concat(chunks, size)));
    req.on('error', () => settle('aborted'));
    req.on('close', () => settle('aborted'));
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': body.length, 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': body.length, 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
