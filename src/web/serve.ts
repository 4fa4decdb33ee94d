// Serves the built web UI (dist/src/web/public) to the RPC server's static hook: GET / is
// index.html, GET /assets/<name> the bundled files. The RPC server has already checked the Host
// header and HTTP Basic auth before it calls this, so the page sits behind the same login as the RPC.
// Files are read once, when the handler is made; a request can only name a file from that list,
// so no path from outside ever reaches the file system.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import createDebug from 'debug';

const log = createDebug('pytor:web');

/**
 * Where `npm run build` puts the UI, beside this module in dist/src/web. Written '../web/public/'
 * so that it is the same folder from dist/src/web/serve.js and from the CLI bundle,
 * dist/src/cli/bundle.mjs (scripts/bundle-cli.mjs), where this code also runs.
 */
export const WEB_ROOT = fileURLToPath(new URL('../web/public/', import.meta.url));

/** No inline script or style, nothing from another origin, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'text/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=UTF-8',
  '.map': 'application/json; charset=UTF-8',
};

/** Bundled names carry a content hash (app-3FJ2K.js): they never change, so caches may keep them. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cache: string;
}

/** The RPC server's static hook; `ctx.sessionId` (when given) goes into the page as a meta tag. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse, ctx?: { readonly sessionId?: string }) => boolean;

/** Placeholder in index.html replaced by the session id (or nothing). */
const SESSION_MARK = '%SESSION_ID%';

function load(file: string, cache: string): StaticFile | undefined {
  const type = TYPES[path.extname(file)];
  if (type === undefined) return undefined;
  const body = readFileSync(file);
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"`, cache };
}

/**
 * A `staticHandler` for startRpcServer serving the UI built into `rootDir` (default WEB_ROOT).
 * Returns false for paths that are not the UI (the server answers 404). When the UI was not
 * built, GET / explains that instead of failing.
 */
export function webUiHandler(rootDir: string = WEB_ROOT): StaticHandler {
  const files = new Map<string, StaticFile>();
  const index = path.join(rootDir, 'index.html');
  if (existsSync(index)) {
    // The page may carry the session id: never stored by a cache.
    files.set('/', load(index, 'no-store')!);
    const assets = path.join(rootDir, 'assets');
    if (existsSync(assets)) {
      for (const name of readdirSync(assets)) {
        const full = path.join(assets, name);
        if (!statSync(full).isFile()) continue;
        const f = load(full, HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache');
        if (f) files.set(`/assets/${name}`, f);
      }
    }
  }
  log('web UI from %s: %d files', rootDir, files.size);

  // index.html with the session id filled in, per id (one per RPC server).
  const pages = new Map<string, StaticFile>();
  const page = (template: StaticFile, sessionId: string): StaticFile => {
    let p = pages.get(sessionId);
    if (p === undefined) {
      // The id is base64url from the server; anything else is left out rather than escaped.
      const body = Buffer.from(template.body.toString('utf8').replace(SESSION_MARK, /^[A-Za-z0-9_-]{1,100}$/.test(sessionId) ? sessionId : ''));
      p = { ...template, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
      if (pages.size > 16) pages.clear();
      pages.set(sessionId, p);
    }
    return p;
  };

  return (req, res, ctx) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return false;
    }
    if (pathname === '/index.html') pathname = '/';
    const stored = files.get(pathname);
    const file = stored && pathname === '/' ? page(stored, ctx?.sessionId ?? '') : stored;
    if (file === undefined) {
      if (pathname !== '/') return false;
      send(res, 503, 'text/plain; charset=UTF-8', 'no-store', Buffer.from('The pytor web UI is not built here: run `npm run build`. The RPC works without it.\n'));
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=UTF-8', 'no-store', Buffer.from('use GET\n'));
      return true;
    }
    res.setHeader('ETag', file.etag);
    if (req.headers['if-none-match'] === file.etag) {
      send(res, 304, file.type, file.cache, undefined);
      return true;
    }
    send(res, 200, file.type, file.cache, req.method === 'HEAD' ? undefined : file.body, file.body.length);
    return true;
  };
}

function send(res: ServerResponse, status: number, type: string, cache: string, body: Buffer | undefined, length = body?.length ?? 0): void {
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Cache-Control': cache,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
  if (status !== 304) headers['Content-Length'] = length;
  res.writeHead(status, headers);
  res.end(body);
}
