/**
 * Errors of the uTP layer. The packet decoder returns `UtpError`s as values (never throws on
 * what a peer sent); connections and sockets hand them to the stream as its 'error'.
 */

export interface UtpErrorDetails {
  /** A datagram that is not a well-formed uTP packet (dropped by the socket). */
  EUTP_BAD_PACKET: { readonly field: string; readonly reason: string };
  /** The other side did not answer in time (SYN, data or FIN retransmissions exhausted). */
  EUTP_TIMEOUT: { readonly state: string; readonly afterMs: number };
  /** The other side sent ST_RESET. */
  EUTP_RESET: { readonly state: string };
  /** A bound was reached (connections, half-open connections). */
  EUTP_LIMIT: { readonly limit: string; readonly max: number };
  /** The socket or the connection is closed. */
  EUTP_CLOSED: { readonly reason: string };
  /** Our own code asked for something impossible (a bug, not a peer's fault). */
  EUTP_INVALID_ARGUMENT: { readonly argument: string; readonly reason: string };
}

export type UtpErrorCode = keyof UtpErrorDetails;

function describe(code: UtpErrorCode, d: UtpErrorDetails[UtpErrorCode]): string {
  switch (code) {
    case 'EUTP_BAD_PACKET': {
      const x = d as UtpErrorDetails['EUTP_BAD_PACKET'];
      return `bad uTP packet: ${x.field}: ${x.reason}`;
    }
    case 'EUTP_TIMEOUT': {
      const x = d as UtpErrorDetails['EUTP_TIMEOUT'];
      return `uTP connection timed out in ${x.state} after ${Math.round(x.afterMs)} ms`;
    }
    case 'EUTP_RESET': {
      const x = d as UtpErrorDetails['EUTP_RESET'];
      return `uTP connection reset by peer in ${x.state}`;
    }
    case 'EUTP_LIMIT': {
      const x = d as UtpErrorDetails['EUTP_LIMIT'];
      return `uTP limit reached: ${x.limit} (max ${x.max})`;
    }
    case 'EUTP_CLOSED': {
      const x = d as UtpErrorDetails['EUTP_CLOSED'];
      return `uTP closed: ${x.reason}`;
    }
    case 'EUTP_INVALID_ARGUMENT': {
      const x = d as UtpErrorDetails['EUTP_INVALID_ARGUMENT'];
      return `invalid argument ${x.argument}: ${x.reason}`;
    }
  }
}

export class UtpError<C extends UtpErrorCode = UtpErrorCode> extends Error {
  readonly code: C;
  readonly details: UtpErrorDetails[C];
  constructor(code: C, details: UtpErrorDetails[C]) {
    super(describe(code, details));
    this.name = 'UtpError';
    this.code = code;
    this.details = details;
  }
}

export function badPacket(field: string, reason: string): UtpError<'EUTP_BAD_PACKET'> {
  return new UtpError('EUTP_BAD_PACKET', { field, reason });
}
