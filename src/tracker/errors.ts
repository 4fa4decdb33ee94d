/** What went wrong talking to a tracker; the CLI maps these to one line. */
export type TrackerErrorCode =
  | 'ETRACKER_FAILURE' // the tracker answered with `failure reason` (or UDP action 3)
  | 'ETRACKER_TIMEOUT'
  | 'ETRACKER_BAD_REPLY' // not bencode, wrong shape, wrong transaction id, short packet
  | 'ETRACKER_HTTP_STATUS'
  | 'ETRACKER_TOO_LARGE'
  | 'ETRACKER_REDIRECT'
  | 'ETRACKER_NETWORK' // DNS, refused, reset
  | 'ETRACKER_ABORTED'
  | 'ETRACKER_BAD_URL'
  | 'ETRACKER_UNSUPPORTED' // a scheme we do not speak (wss:, ...)
  | 'ETRACKER_NO_SCRAPE' // BEP 48: the announce URL has no scrape counterpart
  | 'ETRACKER_ALL_FAILED'; // every tracker of every tier failed

export class TrackerError extends Error {
  /** The reason without the URL, for output that shows the URL elsewhere. */
  readonly detail: string;

  constructor(
    readonly code: TrackerErrorCode,
    readonly url: string,
    detail: string,
    /** For ETRACKER_ALL_FAILED: the failure of each tracker tried. */
    readonly causes: readonly TrackerError[] = [],
  ) {
    super(`tracker ${url}: ${detail}`);
    this.name = 'TrackerError';
    this.detail = detail;
  }
}

/** Wraps anything thrown below the tracker layer (socket errors) into a TrackerError. */
export function asTrackerError(err: unknown, url: string): TrackerError {
  if (err instanceof TrackerError) return err;
  return new TrackerError('ETRACKER_NETWORK', url, socketErrorText(err));
}

/** A socket-level error in a few words (`connection refused`), for any HTTP client of ours. */
export function socketErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  return code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ECONNRESET' ? 'connection reset'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'host unreachable'
    : (e?.message ?? String(err));
}
