export { startRpcServer, checkBinding, RPC_PATH, SESSION_ID_HEADER, DEFAULT_RPC_PORT, DEFAULT_RPC_HOST, DEFAULT_MAX_BODY_BYTES, type RpcServer, type RpcServerOptions, type StaticContext } from './server.js';
export { RpcMethods, parseRequest, type RpcRequest, type RpcResponse } from './methods.js';
export { RpcArgumentError, RpcConfigError } from './errors.js';
export { MAX_TORRENT_FILE_BYTES } from './add-source.js';
export type * from './engine.js';
