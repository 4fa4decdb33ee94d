/**
 * A peer's client, for people: the name it gives in its BEP 10 handshake (`v`), else what its
 * peer id says (Azureus style `-LT2080-`: two letters and four version characters).
 */
const AZUREUS: Readonly<Record<string, string>> = {
  A2: 'aria2',
  AZ: 'Vuze',
  BC: 'BitComet',
  BT: 'BitTorrent',
  DE: 'Deluge',
  KT: 'KTorrent',
  LT: 'libtorrent',
  lt: 'rTorrent',
  PY: 'pytor',
  qB: 'qBittorrent',
  RQ: 'rqbit',
  TR: 'Transmission',
  UT: 'µTorrent',
  WW: 'WebTorrent',
};

/** `v` wins when given (already bounded and printable-checked by the codec's caller). */
export function clientName(peerId: Uint8Array | undefined, v: string | undefined): string {
  if (v) return v;
  if (!peerId || peerId.length < 8) return '';
  const id = Buffer.from(peerId);
  if (id[0] === 0x2d && id[7] === 0x2d) {
    const code = id.toString('latin1', 1, 3);
    const name = AZUREUS[code];
    const version = [...id.subarray(3, 7)].map((b) => (b >= 0x30 && b <= 0x39 ? String.fromCharCode(b) : b >= 0x41 && b <= 0x5a ? String(b - 0x41 + 10) : '')).filter(Boolean);
    if (name) return `${name} ${version.join('.')}`.trim();
  }
  // Unknown: the printable start of the id, so two peers of one client still look alike.
  return [...id.subarray(0, 8)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}
