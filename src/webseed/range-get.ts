// The HTTP(S) I/O of a web seed: one ranged GET, redirects followed, the answer checked and
// copied straight into the piece buffer, never more than the range.
import http from 'node:http';
import https from 'node:https';
import createDebug from 'debug';
import { networkError, WebSeedError, type WebSeedErrorCode } from './errors.js';
import { parseContentRange, type RangeRequest } from './url.js';

const log = createDebug('pytor:webseed');

export const DEFAULT_MAX_REDIRECTS = 5;
/** No byte for this long: the server stalls. */
export const DEFAULT_IDLE_TIMEOUT_MS = 20_000;
/** Below this average rate a range is given up on (a server that trickles is as bad as a stall). */
export const DEFAULT_MIN_RATE = 16 * 1024;

export interface Agents {
  readonly http?: http.Agent;
  readonly https?: https.Agent;
}

export interface RangeGetOptions {
  /** Keep-alive agents; without them each request has its own connection. */
  readonly agents?: Agents;
  readonly signal?: AbortSignal;
  readonly idleTimeoutMs?: number;
  readonly minRateBytesPerSec?: number;
  readonly maxRedirects?: number;
  /** The seed's URL as given, named in errors. */
  readonly seedUrl: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `range` and writes its bytes into `into` at `range.bufferOffset`. Resolves when exactly
 * `range.length` bytes arrived; rejects with a WebSeedError otherwise. A 200 is accepted only
 * when the range is the whole file (the server may then ignore Range); a 200 to any other
 * range means the server does not do ranges, and the answer is cut off after the headers.
 */
export function rangeGet(range: RangeRequest, into: Buffer, opts: RangeGetOptions): Promise<void> {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const minRate = opts.minRateBytesPerSec ?? DEFAULT_MIN_RATE;
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const seedUrl = opts.seedUrl;
  const end = range.start + range.length - 1;
  const fail = (code: WebSeedErrorCode, detail: string, status?: number) => new WebSeedError(code, seedUrl, detail, status);
  if (range.bufferOffset < 0 || range.bufferOffset + range.length > into.length || range.length <= 0) {
    return Promise.reject(new RangeError(`range ${range.bufferOffset}+${range.length} outside a buffer of ${into.length}`));
  }

  return new Promise<void>((resolve, reject) => {
    let current: http.ClientRequest | undefined;
    let settled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    let staleRetried = false;
    // The whole range must arrive at minRate at least, after one idle period of grace.
    const deadlineMs = idleMs + Math.ceil((range.length / minRate) * 1000);
    const deadline = setTimeout(
      () => finish(fail('EWEBSEED_TIMEOUT', `${range.length} bytes took longer than ${deadlineMs} ms (slower than ${minRate} B/s)`)),
      deadlineMs,
    );
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(fail('EWEBSEED_TIMEOUT', `no data for ${idleMs} ms`)), idleMs);
    };
    const finish = (err: WebSeedError | undefined, keepSocket = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idleTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // A failed answer leaves the connection mid-stream: it cannot carry another request.
      if (!keepSocket) current?.destroy();
      if (err) {
        log('GET %s bytes=%d-%d failed: %s', range.url, range.start, end, err.detail);
        reject(err);
      } else resolve();
    };
    const onAbort = () => finish(fail('EWEBSEED_ABORTED', 'request cancelled'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const get = (target: string, redirectsLeft: number) => {
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        return finish(fail('EWEBSEED_URL', `not a valid URL: ${target.slice(0, 200)}`));
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return finish(fail('EWEBSEED_URL', `unsupported scheme ${u.protocol}`));
      }
      log('GET %s bytes=%d-%d', u.href, range.start, end);
      const agent = u.protocol === 'https:' ? opts.agents?.https : opts.agents?.http;
      const lib = u.protocol === 'https:' ? https : http;
      const req = lib.get(u, {
        agent: agent ?? false,
        headers: { range: `bytes=${range.start}-${end}`, 'user-agent': 'pytor/0.1', 'accept-encoding': 'identity' },
      });
      current = req;
      armIdle();
      let answered = false;
      req.on('error', (err) => {
        // A kept-alive socket the server closed while idle fails on first use; Node's advice is
        // to retry such a request once on a fresh connection.
        const code = (err as NodeJS.ErrnoException).code;
        if (!answered && req.reusedSocket && !staleRetried && (code === 'ECONNRESET' || code === 'EPIPE')) {
          staleRetried = true;
          return get(target, redirectsLeft);
        }
        finish(networkError(err, seedUrl));
      });
      req.on('response', (res) => {
        answered = true;
        armIdle();
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECTS.has(status) && location !== undefined) {
          req.destroy();
          if (redirectsLeft <= 0) return finish(fail('EWEBSEED_REDIRECT', `more than ${maxRedirects} redirects`, status));
          let next: string;
          try {
            next = new URL(location, u).href;
          } catch {
            return finish(fail('EWEBSEED_URL', 'redirect to an invalid URL', status));
          }
          return get(next, redirectsLeft - 1);
        }
        const problem = checkHeaders(status, res.headers, range);
        if (problem) return finish(fail(problem.code, problem.detail, status));

        let received = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          armIdle();
          if (received + chunk.length > range.length) {
            return finish(fail('EWEBSEED_TOO_LONG', `more than the ${range.length} bytes asked for`, status));
          }
          chunk.copy(into, range.bufferOffset + received);
          received += chunk.length;
        });
        res.on('error', (err) => finish(networkError(err, seedUrl)));
        res.on('aborted', () => finish(fail('EWEBSEED_TRUNCATED', `connection closed after ${received} of ${range.length} bytes`, status)));
        res.on('end', () => {
          if (received === range.length) finish(undefined, true);
          else finish(fail('EWEBSEED_TRUNCATED', `answer ended after ${received} of ${range.length} bytes`, status));
        });
        // 'close' without 'end' (the socket went away mid-body) is a truncation too.
        res.on('close', () => {
          if (!settled) finish(fail('EWEBSEED_TRUNCATED', `connection closed after ${received} of ${range.length} bytes`, status));
        });
      });
    };
    get(range.url, maxRedirects);
  });
}

/** Checks status, Content-Range and Content-Length against the range asked for, before any body byte is read. */
function checkHeaders(
  status: number,
  headers: http.IncomingHttpHeaders,
  range: RangeRequest,
): { code: WebSeedErrorCode; detail: string } | undefined {
  const end = range.start + range.length - 1;
  const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (status === 200) {
    const whole = range.start === 0 && range.length === range.fileLength;
    if (!whole) return { code: 'EWEBSEED_NO_RANGE', detail: 'the server ignores Range requests (200 with the whole file)' };
    if (declared !== undefined && declared !== range.length) {
      return { code: 'EWEBSEED_BAD_RANGE', detail: `200 with ${declared} bytes for a file of ${range.fileLength}` };
    }
    return undefined;
  }
  if (status !== 206) return { code: 'EWEBSEED_STATUS', detail: `HTTP ${status}` };
  const cr = parseContentRange(headers['content-range']);
  if (!cr) return { code: 'EWEBSEED_BAD_RANGE', detail: `206 without a valid Content-Range (${String(headers['content-range']).slice(0, 80)})` };
  if (cr.start !== range.start || cr.end !== end) {
    return { code: 'EWEBSEED_BAD_RANGE', detail: `asked for bytes ${range.start}-${end}, got ${cr.start}-${cr.end}` };
  }
  if (cr.total !== undefined && cr.total !== range.fileLength) {
    return { code: 'EWEBSEED_BAD_RANGE', detail: `the file has ${cr.total} bytes, the torrent says ${range.fileLength}` };
  }
  if (declared !== undefined && declared !== range.length) {
    return { code: 'EWEBSEED_BAD_RANGE', detail: `Content-Length ${declared} for a range of ${range.length}` };
  }
  return undefined;
}
