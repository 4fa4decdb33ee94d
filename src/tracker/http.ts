// The HTTP(S) I/O: one GET with redirects, a connect timeout, a total timeout and a size cap.
import http from 'node:http';
import https from 'node:https';
import createDebug from 'debug';
import { asTrackerError, TrackerError } from './errors.js';
import { buildAnnounceUrl, buildScrapeUrl, failureReasonIn, parseAnnounceReply, parseScrapeReply, scrapeUrlFor } from './http-codec.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  MAX_REPLY_BYTES,
  type AnnounceParams,
  type AnnounceResult,
  type RequestOptions,
  type ScrapeCounts,
} from './types.js';

const log = createDebug('pytor:tracker');

interface HttpReply {
  status: number;
  statusText: string;
  body: Buffer;
}

export async function httpAnnounce(url: string, params: AnnounceParams, trackerId: string | undefined, opts: RequestOptions): Promise<AnnounceResult> {
  const reply = await httpGet(buildAnnounceUrl(url, params, trackerId), url, opts);
  if (reply.status !== 200) throw statusError(reply, url);
  return parseAnnounceReply(reply.body, url);
}

export async function httpScrape(url: string, infoHashes: readonly Buffer[], opts: RequestOptions): Promise<Map<string, ScrapeCounts>> {
  const base = scrapeUrlFor(url);
  if (base === undefined) throw new TrackerError('ETRACKER_NO_SCRAPE', url, 'announce URL does not end in /announce, so it has no scrape URL (BEP 48)');
  const reply = await httpGet(buildScrapeUrl(base, infoHashes), url, opts);
  if (reply.status !== 200) throw statusError(reply, url);
  return parseScrapeReply(reply.body, url);
}

/** A non-200 reply; trackers sometimes explain themselves with a bencoded failure reason. */
function statusError(reply: HttpReply, url: string): TrackerError {
  const reason = failureReasonIn(reply.body);
  if (reason !== undefined) return new TrackerError('ETRACKER_FAILURE', url, `tracker says: ${reason} (HTTP ${reply.status})`);
  return new TrackerError('ETRACKER_HTTP_STATUS', url, `HTTP ${reply.status}${reply.statusText ? ` ${reply.statusText}` : ''}`);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `requestUrl`, following redirects. Errors name `trackerUrl` (the URL as the torrent
 * gave it, without our query), which is what a person can recognise.
 */
export function httpGet(requestUrl: string, trackerUrl: string, opts: RequestOptions = {}): Promise<HttpReply> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connectTimeoutMs = Math.min(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const maxBytes = opts.maxReplyBytes ?? MAX_REPLY_BYTES;
  const fail = (code: ConstructorParameters<typeof TrackerError>[0], detail: string) => new TrackerError(code, trackerUrl, detail);

  return new Promise<HttpReply>((resolve, reject) => {
    let current: http.ClientRequest | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (err: TrackerError | undefined, reply?: HttpReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(totalTimer);
      clearTimeout(connectTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      current?.destroy();
      if (err) {
        log('GET %s failed: %s', trackerUrl, err.detail);
        reject(err);
      } else resolve(reply!);
    };
    const totalTimer = setTimeout(() => finish(fail('ETRACKER_TIMEOUT', `no reply within ${seconds(timeoutMs)}`)), timeoutMs);
    const onAbort = () => finish(fail('ETRACKER_ABORTED', 'request cancelled'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const get = (target: string, redirectsLeft: number) => {
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        return finish(fail('ETRACKER_BAD_URL', `not a valid URL: ${target.slice(0, 200)}`));
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return finish(fail('ETRACKER_REDIRECT', `redirected to unsupported scheme ${u.protocol}`));
      }
      log('GET %s', u.href);
      const lib = u.protocol === 'https:' ? https : http;
      // agent: false - no keep-alive pool, so no socket outlives the request.
      const req = lib.get(u, { agent: false, headers: { 'user-agent': 'pytor/0.1', 'accept-encoding': 'identity', connection: 'close' } });
      current = req;
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(
          () => finish(fail('ETRACKER_TIMEOUT', `could not connect within ${seconds(connectTimeoutMs)}`)),
          connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err) => finish(asTrackerError(err, trackerUrl)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECTS.has(status) && location) {
          res.resume();
          req.destroy();
          if (redirectsLeft <= 0) return finish(fail('ETRACKER_REDIRECT', `more than ${maxRedirects} redirects`));
          let next: string;
          try {
            next = new URL(location, u).href;
          } catch {
            return finish(fail('ETRACKER_REDIRECT', 'redirect to an invalid URL'));
          }
          return get(next, redirectsLeft - 1);
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          return finish(fail('ETRACKER_TOO_LARGE', `reply of ${declared} bytes is larger than ${maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBytes) return finish(fail('ETRACKER_TOO_LARGE', `reply is larger than ${maxBytes} bytes`));
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(asTrackerError(err, trackerUrl)));
        res.on('aborted', () => finish(fail('ETRACKER_NETWORK', 'connection closed mid-reply')));
        res.on('end', () => finish(undefined, { status, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks, received) }));
      });
    };
    get(requestUrl, maxRedirects);
  });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
