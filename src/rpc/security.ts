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
