// The checks in front of every RPC request, as pure functions over header values:
// the Host whitelist (DNS rebinding), HTTP Basic auth compared in constant time, and
// whether an address is loopback (binding anything else requires auth).
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export interface Credentials {
  readonly user: string;
  readonly pass: string;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** The host part of a Host header: `[::1]:9091` -> `::1`, `Example.org.:80` -> `example.org`. */
export function hostOfHeader(header: string): string {
  const h = header.trim().toLowerCase();
  let host: string;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    host = end < 0 ? h : h.slice(1, end);
  } else {
    const colon = h.indexOf(':');
    // More than one colon without brackets: a bare IPv6 address, no port.
    host = colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * Whether a request's Host header is one we answer to. As in Transmission: localhost and every
 * IP literal always pass (a DNS-rebinding page reaches us only through a name it controls),
 * other names only when whitelisted. A missing header fails.
 */
export function hostAllowed(header: string | undefined, whitelist: readonly string[]): boolean {
  if (header === undefined || header.length === 0 || header.length > 255) return false;
  const host = hostOfHeader(header);
  if (host === 'localhost' || isIP(host) !== 0) return true;
  return whitelist.some((name) => {
    const n = name.trim().toLowerCase().replace(/\.$/, '');
    if (n.startsWith('*.')) return host.endsWith(n.slice(1));
    return n === host;
  });
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks an Authorization header against the credentials. The comparison is over SHA-256
 * digests of equal length with timingSafeEqual, so its time says nothing about how much matched.
 */
export function authorized(header: string | undefined, creds: Credentials): boolean {
  const expected = digest(`${creds.user}:${creds.pass}`);
  let given = '';
  if (header !== undefined && header.length <= 4096) {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m) given = Buffer.from(m[1]!, 'base64').toString('utf8');
  }
  // Always compare, even with nothing given, so a missing header costs the same time.
  return timingSafeEqual(digest(given), expected) && header !== undefined;
}

export interface AuthThrottleOptions {
  /** Wrong passwords allowed from one address per window (default 10). */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  /** Addresses remembered at most; the oldest is forgotten first (default 10000). */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

/**
 * Slows password guessing: after maxFailures wrong passwords from one address within windowMs,
 * that address is refused until the window ends. A request without credentials is not a
 * failure (clients such as curl ask first without them to learn the auth scheme).
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(opts: AuthThrottleOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxTracked = opts.maxTracked ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds until the address may try again, or 0 when it may now. */
  retryAfter(address: string): number {
    const entry = this.failures.get(address);
    if (!entry) return 0;
    const left = entry.since + this.windowMs - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= this.maxFailures ? Math.ceil(left / 1000) : 0;
  }

  fail(address: string): void {
    const entry = this.failures.get(address);
    if (entry && entry.since + this.windowMs > this.now()) {
      entry.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= this.maxTracked) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(address, { count: 1, since: this.now() });
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
