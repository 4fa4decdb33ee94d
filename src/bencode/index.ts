export { decode, decodePrefix, DEFAULT_MAX_DEPTH, type DecodeOptions, type DecodedPrefix, type NonCanonical, type NonCanonicalKind } from './decode.js';
export { encode, type Encodable } from './encode.js';
export { BencodeError, BencodeEncodeError } from './errors.js';
export { BDict, isBytes, isDict, isInteger, isList, type BValue, type Span } from './value.js';
