/** Why a peer connection ended; carried to the session and into debug logs. */
export class PeerError extends Error {
  constructor(
    readonly code: PeerErrorCode,
    /** `host:port` of the peer. */
    readonly peer: string,
    /** What went wrong, without the peer. */
    readonly detail: string,
  ) {
    super(`peer ${peer}: ${detail}`);
    this.name = 'PeerError';
  }
}

export type PeerErrorCode =
  | 'EPEER_CONNECT' // TCP or uTP connect failed or timed out
  | 'EPEER_HANDSHAKE' // bad or missing handshake
  | 'EPEER_INFOHASH' // handshake for another torrent
  | 'EPEER_SELF' // we connected to ourselves
  | 'EPEER_PROTOCOL' // a message broke the wire rules
  | 'EPEER_IDLE' // nothing heard for too long
  | 'EPEER_CLOSED' // the peer closed the connection
  | 'EPEER_SOCKET' // socket error
  | 'EPEER_BANNED' // we dropped it for bad data
  | 'EPEER_LOCAL'; // we closed it (shutdown, not needed)
