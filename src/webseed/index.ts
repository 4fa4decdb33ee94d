export { WebSeedError, type WebSeedErrorCode } from './errors.js';
export { fileUrl, isSupportedWebSeed, parseContentRange, pieceRanges, type RangeRequest, type WebSeedGeometry } from './url.js';
export { rangeGet, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_REDIRECTS, DEFAULT_MIN_RATE, type Agents, type RangeGetOptions } from './range-get.js';
export { WebSeed, type WebSeedOptions, type WebSeedStats, type WebSeedTorrent } from './webseed.js';
export {
  backoffDelay,
  WebSeedSet,
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_MAX_FAILURES,
  DEFAULT_MAX_HASH_FAILURES,
  type WebSeedInfo,
  type WebSeedSetOptions,
  type WebSeedState,
} from './policy.js';
