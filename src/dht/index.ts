export { DhtNode, DEFAULT_BOOTSTRAP, ANNOUNCE_MIN_MS, ANNOUNCE_MAX_MS, type DhtNodeOptions, type DhtStats, type DatagramTransport } from './node.js';
export { DhtError, type DhtErrorCode } from './errors.js';
export { decodeKrpc, encodeKrpc, MAX_DATAGRAM, type KrpcMessage, type KrpcQuery, type KrpcDecodeResult } from './krpc.js';
export { bep42NodeId, isBep42Valid, isLocalAddress, crc32c } from './bep42.js';
export { loadState, saveState, type DhtState } from './state.js';
export type { NodeInfo, Family } from './compact.js';
