/**
 * announce_peer tokens (BEP 5): a keyed hash of the asker's IP, so only a node that really
 * receives at that IP can announce it. The secret rotates every 5 minutes and the previous
 * one is still accepted, so a token lives 5 to 10 minutes.
 */
import { createHash } from 'node:crypto';
import type { RandomBytes } from './id.js';

export const TOKEN_ROTATE_MS = 5 * 60_000;
const TOKEN_LENGTH = 8;
const SECRET_LENGTH = 16;

export class TokenIssuer {
  private current: Buffer;
  private previous: Buffer;
  private rotatedAt: number;

  constructor(
    private readonly random: RandomBytes,
    now: number,
  ) {
    this.current = random(SECRET_LENGTH);
    this.previous = random(SECRET_LENGTH);
    this.rotatedAt = now;
  }

  private rotate(now: number): void {
    const steps = Math.floor((now - this.rotatedAt) / TOKEN_ROTATE_MS);
    if (steps <= 0) return;
    // Two or more periods gone: the old current is too old to accept as well.
    this.previous = steps === 1 ? this.current : this.random(SECRET_LENGTH);
    this.current = this.random(SECRET_LENGTH);
    this.rotatedAt += steps * TOKEN_ROTATE_MS;
  }

  private hash(secret: Buffer, ip: string): Buffer {
    return createHash('sha1').update(secret).update(ip, 'latin1').digest().subarray(0, TOKEN_LENGTH);
  }

  issue(ip: string, now: number): Buffer {
    this.rotate(now);
    return this.hash(this.current, ip);
  }

  check(token: Uint8Array, ip: string, now: number): boolean {
    this.rotate(now);
    if (token.length !== TOKEN_LENGTH) return false;
    return this.hash(this.current, ip).equals(token) || this.hash(this.previous, ip).equals(token);
  }
}
