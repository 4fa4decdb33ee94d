// BEP 15 packets: pure encoders and a decoder that never throws on hostile input
// (it returns { action: 'invalid', reason } instead).
import { parseCompactPeers, MAX_PEERS_PER_REPLY, type TrackerPeer } from './compact.js';
import { MAX_MESSAGE_CHARS, type AnnounceParams, type ScrapeCounts } from './types.js';

export const PROTOCOL_ID = 0x41727101980n;
export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const EVENT_ID = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
/** BEP 15: "up to about 74 torrents can be scraped at once" in one packet. */
export const MAX_SCRAPE_HASHES = 74;

export function encodeConnect(transactionId: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION.connect, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

/** 64-bit counters from JS numbers; negative or fractional values are a caller bug. */
function u64(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} ${n} is not a non-negative safe integer`);
  return BigInt(n);
}

export function encodeAnnounce(connectionId: bigint, transactionId: number, p: AnnounceParams): Buffer {
  const b = Buffer.alloc(98);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(ACTION.announce, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  b.set(p.infoHash.subarray(0, 20), 16);
  b.set(p.peerId.subarray(0, 20), 36);
  b.writeBigUInt64BE(u64(p.downloaded, 'downloaded'), 56);
  b.writeBigUInt64BE(u64(p.left, 'left'), 64);
  b.writeBigUInt64BE(u64(p.uploaded, 'uploaded'), 72);
  b.writeUInt32BE(EVENT_ID[p.event ?? 'none'], 80);
  b.writeUInt32BE(0, 84); // IP: 0 = the packet's source address
  b.writeUInt32BE(p.key >>> 0, 88);
  b.writeInt32BE(p.numwant ?? -1, 92); // -1 = the tracker's default
  b.writeUInt16BE(p.port, 96);
  return b;
}

export function encodeScrape(connectionId: bigint, transactionId: number, infoHashes: readonly Buffer[]): Buffer {
  if (infoHashes.length > MAX_SCRAPE_HASHES) throw new RangeError(`at most ${MAX_SCRAPE_HASHES} info-hashes per UDP scrape`);
  const b = Buffer.alloc(16 + 20 * infoHashes.length);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(ACTION.scrape, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  infoHashes.forEach((h, i) => b.set(h.subarray(0, 20), 16 + 20 * i));
  return b;
}

export type UdpReply =
  | { action: 'connect'; transactionId: number; connectionId: bigint }
  | { action: 'announce'; transactionId: number; interval: number; leechers: number; seeders: number; peers: TrackerPeer[] }
  | { action: 'scrape'; transactionId: number; stats: ScrapeCounts[] }
  | { action: 'error'; transactionId: number; message: string }
  /** An announce reply with nothing after the header: opentracker's answer for a torrent it does not track. */
  | { action: 'refused'; transactionId: number }
  | { action: 'invalid'; reason: string };

/**
 * Decodes a tracker's reply. `ipv6` says which peer size to expect: BEP 15 sends 18-byte
 * IPv6 peers when the tracker was reached over IPv6, 6-byte IPv4 peers otherwise.
 */
export function decodeUdpReply(buf: Uint8Array, ipv6: boolean, maxPeers = MAX_PEERS_PER_REPLY): UdpReply {
  if (buf.length < 8) return { action: 'invalid', reason: `packet of ${buf.length} bytes is shorter than 8` };
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const action = view.readUInt32BE(0);
  const transactionId = view.readUInt32BE(4);
  switch (action) {
    case ACTION.connect:
      if (view.length < 16) return { action: 'invalid', reason: `connect reply of ${view.length} bytes is shorter than 16` };
      return { action: 'connect', transactionId, connectionId: view.readBigUInt64BE(8) };
    case ACTION.announce: {
      if (view.length === 8) return { action: 'refused', transactionId };
      if (view.length < 20) return { action: 'invalid', reason: `announce reply of ${view.length} bytes is shorter than 20` };
      const size = ipv6 ? 18 : 6;
      const body = view.subarray(20);
      if (body.length % size !== 0) {
        return { action: 'invalid', reason: `announce peer list of ${body.length} bytes is not a multiple of ${size}` };
      }
      return {
        action: 'announce',
        transactionId,
        interval: view.readUInt32BE(8),
        leechers: view.readUInt32BE(12),
        seeders: view.readUInt32BE(16),
        // The length check above means this cannot throw.
        peers: parseCompactPeers(body, ipv6 ? 6 : 4, '', maxPeers),
      };
    }
    case ACTION.scrape: {
      const body = view.subarray(8);
      if (body.length % 12 !== 0) return { action: 'invalid', reason: `scrape reply body of ${body.length} bytes is not a multiple of 12` };
      const stats: ScrapeCounts[] = [];
      for (let at = 0; at < body.length && stats.length < MAX_SCRAPE_HASHES; at += 12) {
        stats.push({ complete: body.readUInt32BE(at), downloaded: body.readUInt32BE(at + 4), incomplete: body.readUInt32BE(at + 8) });
      }
      return { action: 'scrape', transactionId, stats };
    }
    case ACTION.error: {
      const raw = view.subarray(8, 8 + MAX_MESSAGE_CHARS).toString('utf8');
      return { action: 'error', transactionId, message: raw.replace(/\0+$/, '') };
    }
    default:
      return { action: 'invalid', reason: `unknown action ${action}` };
  }
}
