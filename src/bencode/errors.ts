/** Raised for any input that is not strict, well-formed bencode. */
export class BencodeError extends Error {
  readonly code = 'EBENCODE';
  /** Byte offset in the input where decoding stopped. */
  readonly offset: number;
  /** What the decoder expected or found wrong at that offset. */
  readonly reason: string;

  constructor(offset: number, reason: string) {
    super(`invalid bencode at byte ${offset}: ${reason}`);
    this.name = 'BencodeError';
    this.offset = offset;
    this.reason = reason;
  }
}

/** Raised when a value cannot be encoded (wrong type, unsafe number). */
export class BencodeEncodeError extends Error {
  readonly code = 'EBENCODE_ENCODE';
  constructor(readonly path: string, reason: string) {
    super(`cannot bencode ${path || 'value'}: ${reason}`);
    this.name = 'BencodeEncodeError';
  }
}
