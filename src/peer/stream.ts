import type { Duplex } from 'node:stream';

/**
 * What a peer connection runs over: a TCP socket, an MSE-encrypted stream, a uTP stream. The
 * peer layer needs no more than a Duplex that can turn off Nagle ('data', 'drain', 'close',
 * 'error', write, cork, writableLength, destroy).
 */
export interface PeerStream extends Duplex {
  setNoDelay(noDelay?: boolean): unknown;
}

/** The transport under a peer connection. */
export type Transport = 'tcp' | 'utp';

/** A uTP stream says so (UtpStream.transport); a net.Socket (or anything else) is TCP. */
export function transportOf(stream: object): Transport {
  return (stream as { readonly transport?: unknown }).transport === 'utp' ? 'utp' : 'tcp';
}
