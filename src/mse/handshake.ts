/**
 * The MSE/PE handshake ("Message Stream Encryption", Vuze/Azureus spec, as libtorrent and
 * Transmission speak it) as two pure state machines: bytes in, bytes to send and a result
 * out. No sockets, no timers; negotiate.ts does the I/O.
 *
 *   1 A->B: Ya (96), PadA (0..512 random)
 *   2 B->A: Yb (96), PadB (0..512 random)
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *   5 A->B: ENCRYPT2(payload)
 *
 * S is the DH secret, SKEY the info-hash, VC eight zero bytes, HASH SHA-1, ENCRYPT RC4-drop1024
 * keyed with HASH('keyA', S, SKEY) from A and HASH('keyB', S, SKEY) from B, ENCRYPT2 either
 * the same RC4 streams continued (crypto 0x02) or nothing (0x01, "plaintext": only the
 * handshake was obfuscated). IA, the initiator's initial payload, is always RC4.
 *
 * Because PadA/PadB have unknown length, B finds HASH('req1', S) and A finds ENCRYPT(VC) by
 * searching, each within the pad bound plus the marker (532 and 520 bytes); nothing else is
 * searched and every length read is bounded before it is waited for, so a handshake holds at
 * most ~1.2 KiB plus the initial payload (<= 64 KiB, the 2-byte length field) plus one chunk.
 */
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { DhKeyPair, DH_KEY_LENGTH, DH_PRIVATE_LENGTH } from './dh.js';
import { MseError } from './errors.js';
import { MSE_DROP, Rc4 } from './rc4.js';

export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
export type CryptoMethod = 'rc4' | 'plaintext';
/** Upper bound of every pad (PadA, PadB, PadC, PadD). */
export const MAX_PAD = 512;
export const VC_LENGTH = 8;
const HASH_LENGTH = 20;
/** B searches this many bytes after Ya for HASH('req1', S): PadA then the hash. */
export const REQ1_SEARCH_WINDOW = MAX_PAD + HASH_LENGTH;
/** A searches this many bytes after Yb for ENCRYPT(VC): PadB then VC. */
export const VC_SEARCH_WINDOW = MAX_PAD + VC_LENGTH;
/** The largest IA a 2-byte length can describe; a receiver may bound it lower. */
export const MAX_INITIAL_PAYLOAD = 0xffff;

/** n bytes of randomness; injected so tests replay the same handshake. */
export type RandomBytes = (n: number) => Buffer;

export interface MseResult {
  readonly method: CryptoMethod;
  /** The torrent (SKEY) this connection is about. */
  readonly infoHash: Buffer;
  /** Receiver: the initiator's IA, decrypted (often its BitTorrent handshake). Initiator: empty. */
  readonly initialPayload: Buffer;
  /** Bytes that arrived after the handshake, already decrypted: the start of the BitTorrent stream. */
  readonly remainder: Buffer;
  /** For what we send from now on; null when plaintext was selected. */
  readonly encrypt: Rc4 | null;
  /** For what we receive after `remainder`; null when plaintext was selected. */
  readonly decrypt: Rc4 | null;
}

export type MseStep =
  /** Send `send` (if any) and feed more bytes. */
  | { readonly kind: 'continue'; readonly send: Buffer | null }
  /** Send `send` (if any); the handshake is over. */
  | { readonly kind: 'done'; readonly send: Buffer | null; readonly result: MseResult }
  /** Close the connection. */
  | { readonly kind: 'error'; readonly err: MseError };

function sha1(...parts: (string | Uint8Array)[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function xor20(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(HASH_LENGTH);
  for (let i = 0; i < HASH_LENGTH; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** HASH('req2', infoHash): what a receiver looks torrents up by (see makeInfoHashFinder). */
export function req2Hash(infoHash: Uint8Array): Buffer {
  return sha1('req2', infoHash);
}

/** A lookup for MseReceiver over a fixed set of info-hashes. */
export function makeInfoHashFinder(infoHashes: Iterable<Uint8Array>): (req2: Buffer) => Buffer | undefined {
  const byReq2 = new Map<string, Buffer>();
  for (const ih of infoHashes) byReq2.set(req2Hash(ih).toString('hex'), Buffer.from(ih));
  return (req2) => byReq2.get(req2.toString('hex'));
}

function makeRc4(label: 'keyA' | 'keyB', secret: Buffer, skey: Uint8Array): Rc4 {
  return new Rc4(sha1(label, secret, skey), MSE_DROP);
}

function randomPadLength(random: RandomBytes): number {
  return random(2).readUInt16BE(0) % (MAX_PAD + 1);
}

function checkPad(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > MAX_PAD)) {
    throw new MseError('EMSE_INVALID_ARGUMENT', { argument: name, reason: `must be an integer in 0..${MAX_PAD}, got ${value}` });
  }
}

function methodBits(method: CryptoMethod): number {
  return method === 'rc4' ? CRYPTO_RC4 : CRYPTO_PLAINTEXT;
}

/** Input bytes not yet consumed; small, so plain concatenation is fine. */
class Input {
  private buf = Buffer.alloc(0);
  get length(): number {
    return this.buf.length;
  }
  push(chunk: Uint8Array): void {
    if (chunk.length > 0) this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
  }
  /** Removes and returns the first n bytes (a copy the caller may modify). */
  take(n: number): Buffer {
    const out = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Offset of `marker` within the first `window` bytes, or -1. */
  find(marker: Buffer, window: number): number {
    return this.buf.subarray(0, window).indexOf(marker);
  }
  takeAll(): Buffer {
    return this.take(this.buf.length);
  }
}

abstract class MseMachine {
  protected readonly input = new Input();
  protected readonly random: RandomBytes;
  protected readonly dh: DhKeyPair;
  private out: Buffer[] = [];
  private finished = false;

  constructor(random: RandomBytes | undefined) {
    this.random = random ?? cryptoRandomBytes;
    this.dh = new DhKeyPair(this.random(DH_PRIVATE_LENGTH));
  }

  /** Bytes received and not yet consumed: below the current step's bound after every 'continue'. */
  get bufferedBytes(): number {
    return this.input.length;
  }

  /** Feeds bytes from the peer (any split); returns what to send and whether we are done. */
  receive(chunk: Uint8Array): MseStep {
    if (this.finished) return { kind: 'error', err: new MseError('EMSE_INVALID_ARGUMENT', { argument: 'receive', reason: 'handshake already finished' }) };
    this.input.push(chunk);
    let r: MseResult | MseError | null;
    try {
      r = this.advance();
    } catch (err) {
      // advance() returns peer errors as values; a throw here is our bug, still no throw past the socket.
      r = new MseError('EMSE_INVALID_ARGUMENT', { argument: 'handshake', reason: String(err) });
    }
    const send = this.out.length === 0 ? null : this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    if (r instanceof MseError) {
      this.finished = true;
      return { kind: 'error', err: r };
    }
    if (r) {
      this.finished = true;
      return { kind: 'done', send, result: r };
    }
    return { kind: 'continue', send };
  }

  protected send(bytes: Buffer): void {
    this.out.push(bytes);
  }

  protected padBytes(length: number): Buffer {
    return length === 0 ? Buffer.alloc(0) : this.random(length);
  }

  /** Runs as far as the buffered input allows: a result when done, an error, or null for more. */
  protected abstract advance(): MseResult | MseError | null;
}

export interface InitiatorOptions {
  /** SKEY: the info-hash of the torrent we want from this peer. */
  readonly infoHash: Uint8Array;
  /** Methods we offer (CRYPTO_RC4 | CRYPTO_PLAINTEXT bits). */
  readonly provide: number;
  readonly random?: RandomBytes;
  /** IA: bytes sent RC4-encrypted inside step 3, e.g. our BitTorrent handshake (<= 65535). */
  readonly initialPayload?: Uint8Array;
  /** Fixed pad lengths (tests); by default PadA is random in 0..512 and PadC is empty. */
  readonly padA?: number;
  readonly padC?: number;
}

type InitiatorState = 'yb' | 'vc' | 'select' | 'padD';

/** Side A: the one that connected. Call start() for the first bytes to send. */
export class MseInitiator extends MseMachine {
  private state: InitiatorState = 'yb';
  private readonly opts: InitiatorOptions;
  private readonly padA: number;
  private encrypt: Rc4 | null = null;
  private decrypt: Rc4 | null = null;
  private vcPattern: Buffer | null = null;
  private selected: CryptoMethod = 'rc4';
  private padD = 0;

  constructor(opts: InitiatorOptions) {
    super(opts.random);
    if (opts.infoHash.length !== HASH_LENGTH) throw new MseError('EMSE_INVALID_ARGUMENT', { argument: 'infoHash', reason: `must be 20 bytes, got ${opts.infoHash.length}` });
    if ((opts.provide & (CRYPTO_RC4 | CRYPTO_PLAINTEXT)) === 0 || (opts.provide & ~(CRYPTO_RC4 | CRYPTO_PLAINTEXT)) !== 0) {
      throw new MseError('EMSE_INVALID_ARGUMENT', { argument: 'provide', reason: `0x${opts.provide.toString(16)} is not a set of known methods` });
    }
    if ((opts.initialPayload?.length ?? 0) > MAX_INITIAL_PAYLOAD) throw new MseError('EMSE_INVALID_ARGUMENT', { argument: 'initialPayload', reason: 'longer than 65535 bytes' });
    checkPad('padA', opts.padA);
    checkPad('padC', opts.padC);
    this.opts = opts;
    this.padA = opts.padA ?? randomPadLength(this.random);
  }

  /** Step 1: Ya and PadA. */
  start(): Buffer {
    return Buffer.concat([this.dh.publicKey, this.padBytes(this.padA)]);
  }

  protected advance(): MseResult | MseError | null {
    for (;;) {
      switch (this.state) {
        case 'yb': {
          if (this.input.length < DH_KEY_LENGTH) return null;
          const secret = this.dh.sharedSecret(this.input.take(DH_KEY_LENGTH));
          if (secret instanceof MseError) return secret;
          this.sendStep3(secret);
          this.state = 'vc';
          break;
        }
        case 'vc': {
          const at = this.input.find(this.vcPattern!, VC_SEARCH_WINDOW);
          if (at < 0) {
            if (this.input.length >= VC_SEARCH_WINDOW) return new MseError('EMSE_NO_SYNC', { marker: 'vc', searched: VC_SEARCH_WINDOW });
            return null;
          }
          this.input.take(at + VC_LENGTH); // PadB is not encrypted; VC's keystream is already spent
          this.state = 'select';
          break;
        }
        case 'select': {
          if (this.input.length < 6) return null;
          const field = this.decrypt!.transform(this.input.take(6));
          const select = field.readUInt32BE(0);
          if ((select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) || (select & this.opts.provide) === 0) {
            return new MseError('EMSE_BAD_SELECT', { selected: select, provided: this.opts.provide });
          }
          this.selected = select === CRYPTO_RC4 ? 'rc4' : 'plaintext';
          this.padD = field.readUInt16BE(4);
          if (this.padD > MAX_PAD) return new MseError('EMSE_BAD_LENGTH', { field: 'padD', length: this.padD, max: MAX_PAD });
          this.state = 'padD';
          break;
        }
        case 'padD': {
          if (this.input.length < this.padD) return null;
          this.decrypt!.skip(this.padD);
          this.input.take(this.padD);
          const rc4 = this.selected === 'rc4';
          const remainder = this.input.takeAll();
          if (rc4) this.decrypt!.transform(remainder);
          return {
            method: this.selected,
            infoHash: Buffer.from(this.opts.infoHash),
            initialPayload: Buffer.alloc(0),
            remainder,
            encrypt: rc4 ? this.encrypt : null,
            decrypt: rc4 ? this.decrypt : null,
          };
        }
      }
    }
  }

  private sendStep3(secret: Buffer): void {
    const skey = this.opts.infoHash;
    this.encrypt = makeRc4('keyA', secret, skey);
    this.decrypt = makeRc4('keyB', secret, skey);
    // ENCRYPT(VC) as B will send it; producing it spends exactly VC's 8 keystream bytes.
    this.vcPattern = this.decrypt.transform(Buffer.alloc(VC_LENGTH));
    const padC = this.opts.padC ?? 0;
    const ia = this.opts.initialPayload ?? new Uint8Array(0);
    const plain = Buffer.alloc(VC_LENGTH + 4 + 2 + padC + 2 + ia.length); // VC and PadC are zeros
    let at = VC_LENGTH;
    at = plain.writeUInt32BE(this.opts.provide, at);
    at = plain.writeUInt16BE(padC, at) + padC;
    at = plain.writeUInt16BE(ia.length, at);
    plain.set(ia, at);
    this.send(Buffer.concat([sha1('req1', secret), xor20(sha1('req2', skey), sha1('req3', secret)), this.encrypt.transform(plain)]));
  }
}

export interface ReceiverOptions {
  /** The info-hash whose HASH('req2', ·) is `req2`, if we serve it (see makeInfoHashFinder). */
  readonly findInfoHash: (req2: Buffer) => Buffer | undefined;
  /** Methods we accept (CRYPTO_* bits); RC4 is chosen whenever both sides allow it... */
  readonly allowed: number;
  /** ...unless this is set: then plaintext when the initiator offers both (libtorrent's default). */
  readonly preferPlaintext?: boolean;
  readonly random?: RandomBytes;
  /** Bound on the initiator's IA (default 65535, the most the length field can say). */
  readonly maxInitialPayload?: number;
  /** Fixed pad lengths (tests); by default PadB is random in 0..512 and PadD is empty. */
  readonly padB?: number;
  readonly padD?: number;
}

type ReceiverState = 'ya' | 'req1' | 'skey' | 'provide' | 'padC' | 'ia';

/** Side B: the one that accepted. Feed it the first bytes read, including those the listener peeked at. */
export class MseReceiver extends MseMachine {
  private state: ReceiverState = 'ya';
  private readonly opts: ReceiverOptions;
  private readonly maxIa: number;
  private secret: Buffer | null = null;
  private req1: Buffer | null = null;
  private infoHash: Buffer | null = null;
  private encrypt: Rc4 | null = null;
  private decrypt: Rc4 | null = null;
  private selected: CryptoMethod = 'rc4';
  private padC = 0;
  private iaLength = 0;

  constructor(opts: ReceiverOptions) {
    super(opts.random);
    if ((opts.allowed & (CRYPTO_RC4 | CRYPTO_PLAINTEXT)) === 0) throw new MseError('EMSE_INVALID_ARGUMENT', { argument: 'allowed', reason: 'no method allowed' });
    checkPad('padB', opts.padB);
    checkPad('padD', opts.padD);
    this.opts = opts;
    this.maxIa = Math.min(opts.maxInitialPayload ?? MAX_INITIAL_PAYLOAD, MAX_INITIAL_PAYLOAD);
  }

  protected advance(): MseResult | MseError | null {
    for (;;) {
      switch (this.state) {
        case 'ya': {
          if (this.input.length < DH_KEY_LENGTH) return null;
          const secret = this.dh.sharedSecret(this.input.take(DH_KEY_LENGTH));
          if (secret instanceof MseError) return secret;
          this.secret = secret;
          this.req1 = sha1('req1', secret);
          const padB = this.opts.padB ?? randomPadLength(this.random);
          this.send(Buffer.concat([this.dh.publicKey, this.padBytes(padB)]));
          this.state = 'req1';
          break;
        }
        case 'req1': {
          const at = this.input.find(this.req1!, REQ1_SEARCH_WINDOW);
          if (at < 0) {
            if (this.input.length >= REQ1_SEARCH_WINDOW) return new MseError('EMSE_NO_SYNC', { marker: 'req1', searched: REQ1_SEARCH_WINDOW });
            return null;
          }
          this.input.take(at + HASH_LENGTH);
          this.state = 'skey';
          break;
        }
        case 'skey': {
          if (this.input.length < HASH_LENGTH) return null;
          const req2 = xor20(this.input.take(HASH_LENGTH), sha1('req3', this.secret!));
          const infoHash = this.opts.findInfoHash(req2);
          if (!infoHash) return new MseError('EMSE_UNKNOWN_TORRENT', { req2Hash: req2.toString('hex') });
          this.infoHash = Buffer.from(infoHash);
          this.decrypt = makeRc4('keyA', this.secret!, infoHash);
          this.encrypt = makeRc4('keyB', this.secret!, infoHash);
          this.state = 'provide';
          break;
        }
        case 'provide': {
          if (this.input.length < VC_LENGTH + 6) return null;
          const field = this.decrypt!.transform(this.input.take(VC_LENGTH + 6));
          const vc = field.subarray(0, VC_LENGTH);
          if (vc.some((b) => b !== 0)) return new MseError('EMSE_BAD_VC', { vc: vc.toString('hex') });
          const provided = field.readUInt32BE(VC_LENGTH);
          const common = provided & this.opts.allowed;
          if ((common & CRYPTO_PLAINTEXT) !== 0 && (this.opts.preferPlaintext || (common & CRYPTO_RC4) === 0)) this.selected = 'plaintext';
          else if ((common & CRYPTO_RC4) !== 0) this.selected = 'rc4';
          else return new MseError('EMSE_NO_COMMON_METHOD', { provided, allowed: this.opts.allowed });
          this.padC = field.readUInt16BE(VC_LENGTH + 4);
          if (this.padC > MAX_PAD) return new MseError('EMSE_BAD_LENGTH', { field: 'padC', length: this.padC, max: MAX_PAD });
          // Step 4 does not depend on IA: send it now rather than after a slow IA.
          const padD = this.opts.padD ?? 0;
          const plain = Buffer.alloc(VC_LENGTH + 6 + padD);
          plain.writeUInt32BE(methodBits(this.selected), VC_LENGTH);
          plain.writeUInt16BE(padD, VC_LENGTH + 4);
          this.send(this.encrypt!.transform(plain));
          this.state = 'padC';
          break;
        }
        case 'padC': {
          if (this.input.length < this.padC + 2) return null;
          const field = this.decrypt!.transform(this.input.take(this.padC + 2));
          this.iaLength = field.readUInt16BE(this.padC);
          if (this.iaLength > this.maxIa) return new MseError('EMSE_BAD_LENGTH', { field: 'IA', length: this.iaLength, max: this.maxIa });
          this.state = 'ia';
          break;
        }
        case 'ia': {
          if (this.input.length < this.iaLength) return null;
          const ia = this.decrypt!.transform(this.input.take(this.iaLength)); // IA is RC4 whatever was selected
          const rc4 = this.selected === 'rc4';
          const remainder = this.input.takeAll();
          if (rc4) this.decrypt!.transform(remainder);
          return {
            method: this.selected,
            infoHash: this.infoHash!,
            initialPayload: ia,
            remainder,
            encrypt: rc4 ? this.encrypt : null,
            decrypt: rc4 ? this.decrypt : null,
          };
        }
      }
    }
  }
}
