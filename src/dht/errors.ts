/**
 * Errors of the DHT layer. The KRPC decoder returns these (never throws them): a hostile
 * datagram can only ever produce a `{kind: 'error'}` value that the node counts and drops.
 */
export type DhtErrorCode =
  | 'EDHT_TOO_LARGE' // a datagram above MAX_DATAGRAM
  | 'EDHT_BENCODE' // not strict bencode
  | 'EDHT_BAD_MESSAGE' // bencode, but not a KRPC message (missing or wrong field)
  | 'EDHT_BAD_STATE' // the state file is unreadable or malformed
  | 'EDHT_INVALID_ARGUMENT'; // our own code asked for something impossible (a bug)

export class DhtError extends Error {
  constructor(
    readonly code: DhtErrorCode,
    /** The offending field (`a.target`, `r.nodes`, `t`), or '' for the whole datagram. */
    readonly field: string,
    readonly reason: string,
    /** The transaction id when it could be read, so a query can still get a 203 error. */
    readonly transactionId?: Buffer,
  ) {
    super(field ? `dht: ${field}: ${reason}` : `dht: ${reason}`);
    this.name = 'DhtError';
  }
}
