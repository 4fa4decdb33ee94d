/**
 * RC4 as MSE/PE uses it: keyed with a 20-byte SHA-1 digest, the first 1024 bytes of keystream
 * thrown away ("RC4-drop1024"). Node's OpenSSL 3 keeps RC4 in the legacy provider, which is
 * usually not loaded, so this is a small implementation of our own.
 *
 * RC4 is weak; MSE is obfuscation against traffic shaping, not secrecy. Interop is the point.
 */

/** Keystream bytes MSE discards after keying, on both directions. */
export const MSE_DROP = 1024;

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  /** Keys the cipher (1..256 key bytes) and then discards `drop` keystream bytes. */
  constructor(key: Uint8Array, drop = 0) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`RC4 key must be 1..256 bytes, got ${key.length}`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    for (let k = 0, j = 0; k < 256; k++) {
      const t = s[k]!;
      j = (j + t + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = t;
    }
    if (drop > 0) this.skip(drop);
  }

  /**
   * XORs the keystream into buf[start, end) in place (encrypting and decrypting are the same
   * operation) and returns buf. In place because this runs on every byte of an encrypted
   * download: no allocation per chunk.
   */
  transform<T extends Uint8Array>(buf: T, start = 0, end = buf.length): T {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      buf[k] = buf[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return buf;
  }

  /** Advances the keystream by n bytes without output. */
  skip(n: number): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      s[i] = s[j]!;
      s[j] = si;
    }
    this.i = i;
    this.j = j;
  }
}
