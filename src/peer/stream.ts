import type { Duplex } from 'node:stream';

/**
 * What a peer connection runs over: a TCP socket, an MSE-encrypted stream, a uTP stream. The
 * peer layer needs no more than a Duplex that can turn off Nagle ('data', 'drain', 'close',
 * 'error', write, cork, writableLength, destroy).
 */
export interface PeerStream extends Duplex {
  setNoDelay(noDelay?: boolean): unknown;
}
