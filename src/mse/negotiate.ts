/**
 * MSE/PE over a connected TCP socket: the outgoing and incoming handshakes with a deadline,
 * the listener's choice between a plain and an obfuscated handshake, and the `--encryption`
 * policy:
 *
 *   require  only MSE, RC4 only (a plain handshake is refused either way)
 *   prefer   (default) MSE first when dialling, RC4 when the peer has it; accept both
 *            plain and MSE when listening. A failed MSE attempt on an outgoing connection
 *            is retried once in plaintext on a NEW connection (dialWithPolicy): a peer that
 *            does not speak MSE has already closed the first one.
 *   off      plain BitTorrent only; an obfuscated handshake is refused.
 */
import type { Socket } from 'node:net';
import createDebug from 'debug';
import { MseError } from './errors.js';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MseInitiator,
  MseReceiver,
  type CryptoMethod,
  type MseResult,
  type MseStep,
  type RandomBytes,
} from './handshake.js';
import { MseStream, type ByteSource, type PeerStream } from './stream.js';

const log = createDebug('pytor:mse');

export type EncryptionPolicy = 'require' | 'prefer' | 'off';
export const ENCRYPTION_POLICIES: readonly EncryptionPolicy[] = ['require', 'prefer', 'off'];
export const DEFAULT_ENCRYPTION_POLICY: EncryptionPolicy = 'prefer';
/** Whole-handshake deadline unless told otherwise. */
export const DEFAULT_MSE_TIMEOUT_MS = 10_000;

/** Parses a `--encryption` value; undefined for anything else. */
export function parseEncryptionPolicy(value: string): EncryptionPolicy | undefined {
  return (ENCRYPTION_POLICIES as readonly string[]).includes(value) ? (value as EncryptionPolicy) : undefined;
}

const PLAIN_PREFIX = Buffer.from('\x13BitTorrent protocol', 'latin1');

/** True when the first bytes are a plain BitTorrent handshake's "\x13BitTorrent protocol" (needs 20 bytes). */
export function looksLikePlainHandshake(firstBytes: Uint8Array): boolean {
  return firstBytes.length >= PLAIN_PREFIX.length && PLAIN_PREFIX.equals(firstBytes.subarray(0, PLAIN_PREFIX.length));
}

export type IncomingKind =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'plain' }
  | { readonly kind: 'encrypted' }
  | { readonly kind: 'refuse'; readonly err: MseError<'EMSE_POLICY'> };

/**
 * What the listener should do with a new connection's first bytes under `policy`. An MSE
 * Ya differs from the plain prefix at its first byte 255 times in 256, so most connections
 * are told apart on their first read; need-more only while they still match the prefix.
 */
export function classifyIncoming(firstBytes: Uint8Array, policy: EncryptionPolicy): IncomingKind {
  const n = Math.min(firstBytes.length, PLAIN_PREFIX.length);
  let plain = true;
  for (let i = 0; i < n; i++) {
    if (firstBytes[i] !== PLAIN_PREFIX[i]) {
      plain = false;
      break;
    }
  }
  if (plain && firstBytes.length < PLAIN_PREFIX.length) return { kind: 'need-more' };
  if (plain && policy === 'require') return { kind: 'refuse', err: new MseError('EMSE_POLICY', { reason: 'plaintext handshake refused (--encryption require)' }) };
  if (!plain && policy === 'off') return { kind: 'refuse', err: new MseError('EMSE_POLICY', { reason: 'encrypted handshake refused (--encryption off)' }) };
  return { kind: plain ? 'plain' : 'encrypted' };
}

function label(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** Feeds socket bytes to a machine until it finishes; owns the socket's listeners meanwhile. */
function drive(
  socket: Socket,
  machine: { receive(chunk: Uint8Array): MseStep },
  first: Uint8Array | null,
  timeoutMs: number,
  stage: string,
  source?: ByteSource,
): Promise<MseResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: MseError | null, result?: MseResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (source) source.detach();
      else socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onClose);
      if (err) {
        socket.on('error', () => {}); // nothing may surface after we gave up on this socket
        socket.destroy();
        reject(err);
      } else {
        socket.pause();
        resolve(result!);
      }
    };
    const handle = (step: MseStep) => {
      if (step.kind === 'error') return finish(step.err);
      if (step.send && !socket.destroyed) socket.write(step.send);
      if (step.kind === 'done') finish(null, step.result);
    };
    const onData = (chunk: Buffer) => handle(machine.receive(chunk));
    const onError = (err: Error) => finish(new MseError('EMSE_CONNECTION', { stage, reason: (err as NodeJS.ErrnoException).code ?? err.message }));
    const onClose = () => finish(new MseError('EMSE_CONNECTION', { stage, reason: 'closed by peer' }));
    const timer = setTimeout(() => finish(new MseError('EMSE_CONNECTION', { stage, reason: `no handshake within ${timeoutMs} ms` })), timeoutMs);
    // The machine keeps what it is given: a borrowed chunk (the shared read buffer) is copied.
    if (source) source.attach({ receiveBorrowed: (chunk) => onData(Buffer.from(chunk)) });
    else socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onClose);
    if (socket.destroyed) return onClose();
    if (first && first.length > 0) handle(machine.receive(first));
  });
}

export interface ConnectEncryptedOptions {
  readonly infoHash: Uint8Array;
  /** 'require': RC4 only; 'prefer': offer RC4 and plaintext (the peer picks; we never fall back here). */
  readonly policy: 'require' | 'prefer';
  readonly timeoutMs?: number;
  readonly random?: RandomBytes;
  /** Sent RC4-encrypted inside the handshake (IA), e.g. our BitTorrent handshake (libtorrent takes <= 68 bytes). */
  readonly initialPayload?: Uint8Array;
  /** The socket was opened with `onread`: its bytes come through this source, not 'data'. */
  readonly source?: ByteSource;
}

export interface EncryptedConnection {
  /** Use this instead of the socket from now on; its first 'data' may be bytes that came with the handshake. */
  readonly socket: MseStream;
  /** RC4 on the payload; false when the peer selected MSE's plaintext mode (only the handshake was obfuscated). */
  readonly encrypted: boolean;
  readonly method: CryptoMethod;
}

/**
 * Outgoing MSE handshake on a connected socket. Rejects with MseError (and destroys the
 * socket) when the peer closes, stalls past timeoutMs, or breaks the protocol.
 */
export async function connectEncrypted(socket: Socket, opts: ConnectEncryptedOptions): Promise<EncryptedConnection> {
  const machine = new MseInitiator({
    infoHash: opts.infoHash,
    provide: opts.policy === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT,
    random: opts.random,
    initialPayload: opts.initialPayload,
  });
  socket.write(machine.start());
  const result = await drive(socket, machine, null, opts.timeoutMs ?? DEFAULT_MSE_TIMEOUT_MS, 'outgoing', opts.source);
  log('%s: outgoing MSE done, %s', label(socket), result.method);
  const stream = new MseStream(socket, { encrypt: result.encrypt, decrypt: result.decrypt, pending: result.remainder, source: opts.source });
  return { socket: stream, encrypted: result.method === 'rc4', method: result.method };
}

export interface AcceptIncomingOptions {
  /** The info-hash whose HASH('req2', ·) this is, if we serve it (makeInfoHashFinder builds one). */
  readonly findInfoHash: (req2: Buffer) => Buffer | undefined;
  /** 'require': RC4 only; 'prefer': RC4 if offered, else MSE plaintext. */
  readonly policy: 'require' | 'prefer';
  readonly timeoutMs?: number;
  readonly random?: RandomBytes;
  /** Bound on the initiator's IA (default 65535). */
  readonly maxInitialPayload?: number;
}

export interface AcceptedConnection extends EncryptedConnection {
  readonly infoHash: Buffer;
  /**
   * Plaintext already received after the handshake (the IA, then anything after it):
   * normally the start of the peer's BitTorrent handshake. The stream does NOT emit these
   * again; parse them first, then read on from `socket`.
   */
  readonly rest: Buffer;
}

/**
 * Incoming MSE handshake. `firstBytes` are those the listener read to classify the
 * connection (classifyIncoming said 'encrypted'); the socket must not be read by anyone else.
 */
export async function acceptIncoming(socket: Socket, firstBytes: Buffer, opts: AcceptIncomingOptions): Promise<AcceptedConnection> {
  const machine = new MseReceiver({
    findInfoHash: opts.findInfoHash,
    allowed: opts.policy === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT,
    // 'prefer': the obfuscated handshake, then plain data when the peer allows it (RC4 in
    // JavaScript costs about 2.5 CPU s per GiB); RC4 when the peer insists.
    preferPlaintext: opts.policy !== 'require',
    random: opts.random,
    maxInitialPayload: opts.maxInitialPayload,
  });
  const result = await drive(socket, machine, firstBytes, opts.timeoutMs ?? DEFAULT_MSE_TIMEOUT_MS, 'incoming');
  log('%s: incoming MSE done, %s, IA %d bytes', label(socket), result.method, result.initialPayload.length);
  const stream = new MseStream(socket, { encrypt: result.encrypt, decrypt: result.decrypt });
  const rest = result.initialPayload.length === 0 ? result.remainder : Buffer.concat([result.initialPayload, result.remainder]);
  return { socket: stream, encrypted: result.method === 'rc4', method: result.method, infoHash: result.infoHash, rest };
}

export interface DialWithPolicyOptions {
  readonly infoHash: Uint8Array;
  readonly policy: EncryptionPolicy;
  readonly timeoutMs?: number;
  readonly random?: RandomBytes;
  readonly initialPayload?: Uint8Array;
}

export interface DialedConnection {
  /** The MseStream, or the raw socket for a plain connection. */
  readonly socket: PeerStream;
  /** The MSE handshake ran (payload RC4 or MSE plaintext). */
  readonly mse: boolean;
  readonly encrypted: boolean;
  readonly method: CryptoMethod | null;
}

/**
 * Dials under `policy`. `dial` opens a fresh TCP connection (and rejects on connect errors,
 * which are passed through untouched). 'prefer' tries MSE and, when that handshake fails,
 * dials once more and returns the plain socket: the caller sends the plain BitTorrent
 * handshake on it.
 */
export async function dialWithPolicy(dial: () => Promise<Socket>, opts: DialWithPolicyOptions): Promise<DialedConnection> {
  const first = await dial();
  if (opts.policy === 'off') return { socket: first, mse: false, encrypted: false, method: null };
  try {
    const c = await connectEncrypted(first, { ...opts, policy: opts.policy });
    return { socket: c.socket, mse: true, encrypted: c.encrypted, method: c.method };
  } catch (err) {
    if (opts.policy === 'require' || !(err instanceof MseError)) throw err;
    log('%s: MSE failed (%s), redialling in plaintext', label(first), err.message);
  }
  const second = await dial();
  return { socket: second, mse: false, encrypted: false, method: null };
}
