import { connect, type Socket } from 'node:net';
import { formatAddress, type PeerAddress } from './address.js';
import { PeerError } from './errors.js';
import type { ReadRelay } from './read-relay.js';

/**
 * Opens a TCP connection, failing with EPEER_CONNECT after `timeoutMs`. With a relay, the
 * socket reads into the relay's shared buffer and emits no 'data' events.
 */
export function dial(address: PeerAddress, timeoutMs: number, signal?: AbortSignal, relay?: ReadRelay): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const label = formatAddress(address);
    const socket = connect({ host: address.host, port: address.port, ...(relay ? { onread: relay.onread } : {}) });
    const fail = (detail: string) => {
      cleanup();
      socket.destroy();
      reject(new PeerError('EPEER_CONNECT', label, detail));
    };
    const onError = (err: NodeJS.ErrnoException) => fail(err.code ?? err.message);
    const onAbort = () => fail('aborted');
    const timer = setTimeout(() => fail(`no connection within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
  });
}
