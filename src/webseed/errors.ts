import { socketErrorText } from '../tracker/errors.js';

/** Why a web seed (BEP 19) request failed. */
export type WebSeedErrorCode =
  | 'EWEBSEED_URL' // not an http(s) URL, or a redirect to something that is not
  | 'EWEBSEED_STATUS' // an HTTP status other than 206 (or 200 for a whole-file range)
  | 'EWEBSEED_NO_RANGE' // the server answered 200 with the whole file to a Range request
  | 'EWEBSEED_BAD_RANGE' // 206 with a Content-Range or Content-Length that is not the range asked for
  | 'EWEBSEED_TRUNCATED' // the answer ended before the range was complete
  | 'EWEBSEED_TOO_LONG' // more bytes than the range
  | 'EWEBSEED_REDIRECT' // more than the allowed number of redirects (a loop)
  | 'EWEBSEED_TIMEOUT' // no byte for too long, or slower than the minimum rate
  | 'EWEBSEED_NETWORK' // refused, reset, DNS
  | 'EWEBSEED_HASH' // the piece assembled from the answers failed its SHA-1
  | 'EWEBSEED_ABORTED' // the caller's signal fired
  | 'EWEBSEED_CLOSED'; // fetchPiece after close()

/** Failures that will not go away by waiting: the seed is dropped at once instead of backed off. */
const PERMANENT: ReadonlySet<WebSeedErrorCode> = new Set(['EWEBSEED_URL', 'EWEBSEED_NO_RANGE', 'EWEBSEED_REDIRECT']);

export class WebSeedError extends Error {
  /** The reason without the URL, for output that names the seed elsewhere. */
  readonly detail: string;

  constructor(
    readonly code: WebSeedErrorCode,
    /** The web seed's URL as the torrent or magnet gave it. */
    readonly url: string,
    detail: string,
    /** HTTP status, when the failure is one. */
    readonly status?: number,
  ) {
    super(`web seed ${url}: ${detail}`);
    this.name = 'WebSeedError';
    this.detail = detail;
  }

  /** True when retrying later cannot help (no Range support, redirect loop, bad URL, a 4xx other than 408/429). */
  get permanent(): boolean {
    if (PERMANENT.has(this.code)) return true;
    const s = this.status;
    return this.code === 'EWEBSEED_STATUS' && s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429;
  }
}

/** Wraps a socket-level error as EWEBSEED_NETWORK with a short reason. */
export function networkError(err: unknown, url: string): WebSeedError {
  if (err instanceof WebSeedError) return err;
  return new WebSeedError('EWEBSEED_NETWORK', url, socketErrorText(err));
}
