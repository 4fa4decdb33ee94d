/**
 * BEP 11 peer exchange (ut_pex): a bencoded dict of compact peer lists
 * `added` / `added.f` / `dropped` (IPv4, 6 bytes each) and `added6` / `added6.f` / `dropped6`
 * (IPv6, 18 bytes each), one flag byte per added peer.
 *
 * Bounds: at most MAX_PEX_PEERS per list (BEP 11 suggests 50; real clients send a few more),
 * so a message costs at most a few KiB to decode. Entries with port 0 cannot be dialled and
 * are dropped (counted in `skipped`), not passed on. Flags whose length does not match their
 * list are ignored (flags 0), as libtorrent does.
 */
import { encode, isBytes, type BDict } from '../bencode/index.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, type PeerAddress } from './address.js';
import { extensionError, invalidArgument as invalid, WireError } from './errors.js';
import { decodeDict, describeValue, type ExtensionDecodeResult } from './bencoded.js';

export const MAX_PEX_PEERS = 200;

/** BEP 11 added.f bits. */
export const PexFlags = {
  prefersEncryption: 0x01,
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  outgoing: 0x10,
} as const;

export interface PexPeer extends PeerAddress {
  readonly flags: number;
}

export interface PexMessage {
  readonly added: readonly PexPeer[];
  readonly dropped: readonly PeerAddress[];
}

export interface DecodedPex extends PexMessage {
  /** Entries refused (port 0). */
  readonly skipped: number;
}


/** Encodes a PEX payload; hosts must be IP literals. Throws on a bad host, port 0 or too many peers. */
export function encodeUtPex(msg: PexMessage): Buffer {
  const lists = { added: [] as Buffer[], addedF: [] as number[], added6: [] as Buffer[], added6F: [] as number[], dropped: [] as Buffer[], dropped6: [] as Buffer[] };
  const compact = (peer: PeerAddress, where: string): { v6: boolean; bytes: Buffer } => {
    if (!Number.isInteger(peer.port) || peer.port < 1 || peer.port > 0xffff) throw invalid(`${where} port`, `${peer.port} is not in 1..65535`);
    const v4 = parseIPv4(peer.host);
    const address = v4 ?? parseIPv6(peer.host);
    if (!address) throw invalid(`${where} host`, `${JSON.stringify(peer.host)} is not an IP address`);
    const bytes = Buffer.alloc(address.length + 2);
    address.copy(bytes, 0);
    bytes.writeUInt16BE(peer.port, address.length);
    return { v6: v4 === null, bytes };
  };
  for (const peer of msg.added) {
    const { v6, bytes } = compact(peer, 'added');
    (v6 ? lists.added6 : lists.added).push(bytes);
    (v6 ? lists.added6F : lists.addedF).push(peer.flags & 0xff);
  }
  for (const peer of msg.dropped) {
    const { v6, bytes } = compact(peer, 'dropped');
    (v6 ? lists.dropped6 : lists.dropped).push(bytes);
  }
  for (const [name, list] of Object.entries(lists)) {
    if (list.length > MAX_PEX_PEERS) throw invalid(name, `${list.length} peers exceed ${MAX_PEX_PEERS}`);
  }
  const present = (parts: Buffer[]): Buffer | undefined => (parts.length > 0 ? Buffer.concat(parts) : undefined);
  const flags = (f: number[]): Buffer | undefined => (f.length > 0 ? Buffer.from(f) : undefined);
  // BEP 11 readers expect `added` and `dropped` present even when empty.
  return encode({
    added: present(lists.added) ?? Buffer.alloc(0),
    'added.f': flags(lists.addedF) ?? Buffer.alloc(0),
    added6: present(lists.added6),
    'added6.f': flags(lists.added6F),
    dropped: present(lists.dropped) ?? Buffer.alloc(0),
    dropped6: present(lists.dropped6),
  });
}

/** Decodes a PEX payload. Never throws. */
export function decodeUtPex(payload: Uint8Array): ExtensionDecodeResult<DecodedPex> {
  const parsed = decodeDict('ut_pex', payload);
  if (parsed.kind === 'error') return parsed;
  const dict = parsed.value;
  const added: PexPeer[] = [];
  const dropped: PeerAddress[] = [];
  let skipped = 0;

  const lists: readonly [key: string, flagsKey: string | null, width: 6 | 18][] = [
    ['added', 'added.f', 6],
    ['added6', 'added6.f', 18],
    ['dropped', null, 6],
    ['dropped6', null, 18],
  ];
  for (const [key, flagsKey, width] of lists) {
    const list = readList(dict, key, width);
    if (list instanceof WireError) return { kind: 'error', err: list };
    if (list === null) continue;
    const count = list.length / width;
    const flagBytes = flagsKey === null ? undefined : dict.get(flagsKey);
    const flags = isBytes(flagBytes) && flagBytes.length === count ? flagBytes : undefined;
    for (let i = 0; i < count; i++) {
      const at = i * width;
      const host = width === 6 ? formatIPv4(list, at) : formatIPv6(list, at);
      const port = list.readUInt16BE(at + width - 2);
      if (port === 0) {
        skipped++;
        continue;
      }
      if (flagsKey === null) dropped.push({ host, port });
      else added.push({ host, port, flags: flags?.[i] ?? 0 });
    }
  }
  return { kind: 'ok', value: { added, dropped, skipped } };
}

function readList(dict: BDict, key: string, width: number): Buffer | null | WireError {
  const value = dict.get(key);
  if (value === undefined) return null;
  if (!isBytes(value)) return extensionError('ut_pex', key, `${describeValue(value)} is not a string`);
  if (value.length % width !== 0) return extensionError('ut_pex', key, `${value.length} bytes is not a multiple of ${width}`);
  if (value.length / width > MAX_PEX_PEERS) {
    return extensionError('ut_pex', key, `${value.length / width} peers exceed ${MAX_PEX_PEERS}`);
  }
  return value;
}
