/**
 * KRPC (BEP 5): queries, replies and errors as bencoded dicts in one UDP datagram, plus
 * BEP 32 (`nodes6`, `want`), BEP 42 (`ip`) and BEP 43 (`ro`). Pure: bytes in, a typed value
 * or a DhtError out. Every count and length is bounded before anything is kept.
 */
import { BDict, decode, encode, isBytes, isDict, isList, type BValue, type Encodable } from '../bencode/index.js';
import type { PeerAddress } from '../wire/address.js';
import { DhtError } from './errors.js';
import { ID_LENGTH } from './id.js';
import {
  compactNodeSize,
  decodeCompactAddress,
  decodeCompactNodes,
  encodeCompactAddress,
  encodeCompactNodes,
  familyOf,
  type Family,
  type NodeInfo,
} from './compact.js';

/** Largest datagram read at all: real replies stay under one MTU (~1.5 KB). */
export const MAX_DATAGRAM = 4096;
/** Longest transaction id accepted (BEP 5 uses 2 bytes; some clients use 4 or 8). */
export const MAX_TRANSACTION_ID = 16;
/** Longest token accepted (libtorrent sends 4 bytes, pytor 8). */
export const MAX_TOKEN = 40;
/** Most nodes kept per family from one reply (k is 8; more is noise or an attack). */
export const MAX_NODES = 32;
/** Most peer values kept from one get_peers reply. */
export const MAX_VALUES = 256;
/** Longest version string (`v`) and error message kept. */
const MAX_VERSION = 16;
const MAX_ERROR_MESSAGE = 256;
/** KRPC nests at most dict > dict > list. */
const MAX_DEPTH = 4;

/** BEP 5 error codes. */
export const KRPC_GENERIC = 201;
export const KRPC_SERVER = 202;
export const KRPC_PROTOCOL = 203;
export const KRPC_METHOD_UNKNOWN = 204;

export type KrpcQuery =
  | { readonly method: 'ping' }
  | { readonly method: 'find_node'; readonly target: Buffer }
  | { readonly method: 'get_peers'; readonly infoHash: Buffer }
  | {
      readonly method: 'announce_peer';
      readonly infoHash: Buffer;
      /** The port given; with impliedPort the UDP source port is used instead. */
      readonly port: number;
      readonly token: Buffer;
      readonly impliedPort: boolean;
    }
  /** A method we do not know: answered with error 204. */
  | { readonly method: 'unknown'; readonly name: string };

export interface KrpcQueryMessage {
  readonly y: 'q';
  readonly t: Buffer;
  readonly v?: Buffer;
  readonly id: Buffer;
  readonly query: KrpcQuery;
  /** BEP 32: which families of nodes the asker wants (absent: its own). */
  readonly want?: readonly Family[];
  /** BEP 43: the asker is read-only and must not enter routing tables. */
  readonly readOnly: boolean;
}

export interface KrpcReplyMessage {
  readonly y: 'r';
  readonly t: Buffer;
  readonly v?: Buffer;
  readonly id: Buffer;
  /** BEP 42: the address the replier saw us at. */
  readonly ip?: PeerAddress;
  readonly nodes?: readonly NodeInfo[];
  readonly nodes6?: readonly NodeInfo[];
  readonly values?: readonly PeerAddress[];
  readonly token?: Buffer;
}

export interface KrpcErrorMessage {
  readonly y: 'e';
  readonly t: Buffer;
  readonly v?: Buffer;
  readonly code: number;
  /** Latin-1, so any bytes survive a round trip; printed only in debug logs. */
  readonly message: string;
}

export type KrpcMessage = KrpcQueryMessage | KrpcReplyMessage | KrpcErrorMessage;

export type KrpcDecodeResult = { readonly kind: 'message'; readonly msg: KrpcMessage } | { readonly kind: 'error'; readonly err: DhtError };

function bad(field: string, reason: string, t?: Buffer): { kind: 'error'; err: DhtError } {
  return { kind: 'error', err: new DhtError('EDHT_BAD_MESSAGE', field, reason, t) };
}

function smallInt(v: BValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function id20(dict: BDict, key: string): Buffer | undefined {
  const v = dict.get(key);
  return isBytes(v) && v.length === ID_LENGTH ? Buffer.from(v) : undefined;
}

/** Decodes one datagram. Never throws. */
export function decodeKrpc(buf: Uint8Array): KrpcDecodeResult {
  if (buf.length > MAX_DATAGRAM) {
    return { kind: 'error', err: new DhtError('EDHT_TOO_LARGE', '', `datagram of ${buf.length} bytes exceeds ${MAX_DATAGRAM}`) };
  }
  let root: BValue;
  try {
    root = decode(buf, { maxDepth: MAX_DEPTH });
  } catch (e) {
    return { kind: 'error', err: new DhtError('EDHT_BENCODE', '', (e as Error).message) };
  }
  if (!isDict(root)) return bad('', 'not a dictionary');
  const tRaw = root.get('t');
  if (!isBytes(tRaw)) return bad('t', 'missing transaction id');
  if (tRaw.length > MAX_TRANSACTION_ID) return bad('t', `transaction id of ${tRaw.length} bytes exceeds ${MAX_TRANSACTION_ID}`);
  const t = Buffer.from(tRaw);
  const vRaw = root.get('v');
  const v = isBytes(vRaw) && vRaw.length <= MAX_VERSION ? Buffer.from(vRaw) : undefined;
  const y = root.get('y');
  if (!isBytes(y) || y.length !== 1) return bad('y', 'missing message type', t);
  switch (String.fromCharCode(y[0]!)) {
    case 'q':
      return decodeQuery(root, t, v);
    case 'r':
      return decodeReply(root, t, v);
    case 'e':
      return decodeError(root, t, v);
    default:
      return bad('y', `unknown message type ${y[0]}`, t);
  }
}

function decodeQuery(root: BDict, t: Buffer, v: Buffer | undefined): KrpcDecodeResult {
  const q = root.get('q');
  if (!isBytes(q) || q.length === 0 || q.length > 32) return bad('q', 'missing, or longer than 32 bytes', t);
  const a = root.get('a');
  if (!isDict(a)) return bad('a', 'missing arguments', t);
  const id = id20(a, 'id');
  if (!id) return bad('a.id', 'missing or not 20 bytes', t);
  const ro = smallInt(root.get('ro'));
  const readOnly = ro !== undefined && ro !== 0;
  let want: Family[] | undefined;
  const wantRaw = a.get('want');
  if (isList(wantRaw)) {
    want = [];
    for (const w of wantRaw.slice(0, 8)) {
      if (!isBytes(w)) continue;
      const s = w.toString('latin1');
      const f = s === 'n4' ? 4 : s === 'n6' ? 6 : undefined;
      if (f && !want.includes(f)) want.push(f);
    }
  }
  const base = { y: 'q' as const, t, ...(v ? { v } : {}), id, readOnly, ...(want ? { want } : {}) };
  const name = q.toString('latin1');
  switch (name) {
    case 'ping':
      return { kind: 'message', msg: { ...base, query: { method: 'ping' } } };
    case 'find_node': {
      const target = id20(a, 'target');
      if (!target) return bad('a.target', 'missing or not 20 bytes', t);
      return { kind: 'message', msg: { ...base, query: { method: 'find_node', target } } };
    }
    case 'get_peers': {
      const infoHash = id20(a, 'info_hash');
      if (!infoHash) return bad('a.info_hash', 'missing or not 20 bytes', t);
      return { kind: 'message', msg: { ...base, query: { method: 'get_peers', infoHash } } };
    }
    case 'announce_peer': {
      const infoHash = id20(a, 'info_hash');
      if (!infoHash) return bad('a.info_hash', 'missing or not 20 bytes', t);
      const implied = smallInt(a.get('implied_port'));
      const impliedPort = implied !== undefined && implied !== 0;
      const port = smallInt(a.get('port')) ?? (impliedPort ? 0 : undefined);
      if (port === undefined || port < 0 || port > 65535 || (port === 0 && !impliedPort)) return bad('a.port', 'missing or out of range', t);
      const token = a.get('token');
      if (!isBytes(token) || token.length > MAX_TOKEN) return bad('a.token', 'missing or too long', t);
      return { kind: 'message', msg: { ...base, query: { method: 'announce_peer', infoHash, port, token: Buffer.from(token), impliedPort } } };
    }
    default:
      return { kind: 'message', msg: { ...base, query: { method: 'unknown', name } } };
  }
}

function nodesField(r: BDict, key: 'nodes' | 'nodes6', family: Family, t: Buffer): NodeInfo[] | undefined | { err: DhtError } {
  const raw = r.get(key);
  if (raw === undefined) return undefined;
  if (!isBytes(raw) || raw.length % compactNodeSize(family) !== 0) {
    return { err: new DhtError('EDHT_BAD_MESSAGE', `r.${key}`, `length is not a multiple of ${compactNodeSize(family)}`, t) };
  }
  return decodeCompactNodes(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), family, MAX_NODES);
}

function decodeReply(root: BDict, t: Buffer, v: Buffer | undefined): KrpcDecodeResult {
  const r = root.get('r');
  if (!isDict(r)) return bad('r', 'missing reply dictionary', t);
  const id = id20(r, 'id');
  if (!id) return bad('r.id', 'missing or not 20 bytes', t);
  const nodes = nodesField(r, 'nodes', 4, t);
  if (nodes && 'err' in nodes) return { kind: 'error', err: nodes.err };
  const nodes6 = nodesField(r, 'nodes6', 6, t);
  if (nodes6 && 'err' in nodes6) return { kind: 'error', err: nodes6.err };
  let values: PeerAddress[] | undefined;
  const valuesRaw = r.get('values');
  if (valuesRaw !== undefined) {
    if (!isList(valuesRaw)) return bad('r.values', 'not a list', t);
    values = [];
    for (const item of valuesRaw) {
      if (values.length >= MAX_VALUES) break;
      if (!isBytes(item)) continue;
      const addr = item.length === 6 ? decodeCompactAddress(item, 4) : item.length === 18 ? decodeCompactAddress(item, 6) : undefined;
      if (addr) values.push(addr);
    }
  }
  const tokenRaw = r.get('token');
  let token: Buffer | undefined;
  if (tokenRaw !== undefined) {
    if (!isBytes(tokenRaw) || tokenRaw.length > MAX_TOKEN) return bad('r.token', 'not a string or too long', t);
    token = Buffer.from(tokenRaw);
  }
  const ipRaw = root.get('ip');
  const ip = isBytes(ipRaw) ? (ipRaw.length === 6 ? decodeCompactAddress(ipRaw, 4) : ipRaw.length === 18 ? decodeCompactAddress(ipRaw, 6) : undefined) : undefined;
  return {
    kind: 'message',
    msg: {
      y: 'r',
      t,
      ...(v ? { v } : {}),
      id,
      ...(ip ? { ip } : {}),
      ...(nodes ? { nodes } : {}),
      ...(nodes6 ? { nodes6 } : {}),
      ...(values ? { values } : {}),
      ...(token ? { token } : {}),
    },
  };
}

function decodeError(root: BDict, t: Buffer, v: Buffer | undefined): KrpcDecodeResult {
  const e = root.get('e');
  if (!isList(e) || e.length < 2) return bad('e', 'not a [code, message] list', t);
  const code = smallInt(e[0]);
  const message = e[1];
  if (code === undefined || !isBytes(message)) return bad('e', 'not a [code, message] list', t);
  return {
    kind: 'message',
    msg: { y: 'e', t, ...(v ? { v } : {}), code, message: message.subarray(0, MAX_ERROR_MESSAGE).toString('latin1') },
  };
}

/** Encodes a message; the output is canonical bencode, so decode(encode(m)) deep-equals m. */
export function encodeKrpc(msg: KrpcMessage): Buffer {
  const top: { [key: string]: Encodable | undefined } = { t: msg.t, y: msg.y, v: msg.v };
  if (msg.y === 'q') {
    const a: { [key: string]: Encodable | undefined } = { id: msg.id };
    if (msg.want) a['want'] = msg.want.map((f) => `n${f}`);
    const q = msg.query;
    switch (q.method) {
      case 'ping':
        break;
      case 'find_node':
        a['target'] = q.target;
        break;
      case 'get_peers':
        a['info_hash'] = q.infoHash;
        break;
      case 'announce_peer':
        a['info_hash'] = q.infoHash;
        a['port'] = q.port;
        a['token'] = q.token;
        if (q.impliedPort) a['implied_port'] = 1;
        break;
      case 'unknown':
        break;
    }
    top['q'] = Buffer.from(q.method === 'unknown' ? q.name : q.method, 'latin1');
    top['a'] = a;
    if (msg.readOnly) top['ro'] = 1;
  } else if (msg.y === 'r') {
    top['r'] = {
      id: msg.id,
      nodes: msg.nodes ? encodeCompactNodes(msg.nodes, 4) : undefined,
      nodes6: msg.nodes6 ? encodeCompactNodes(msg.nodes6, 6) : undefined,
      values: msg.values?.map((p) => encodeCompactAddress(p)),
      token: msg.token,
    };
    if (msg.ip) top['ip'] = encodeCompactAddress(msg.ip);
  } else {
    top['e'] = [msg.code, Buffer.from(msg.message, 'latin1')];
  }
  return encode(top);
}

/** Splits nodes by family for a reply's `nodes` / `nodes6`. */
export function splitByFamily(nodes: readonly NodeInfo[]): { nodes: NodeInfo[]; nodes6: NodeInfo[] } {
  const out = { nodes: [] as NodeInfo[], nodes6: [] as NodeInfo[] };
  for (const n of nodes) (familyOf(n.host) === 4 ? out.nodes : out.nodes6).push(n);
  return out;
}
