import { isIPv6 } from 'node:net';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** `1.2.3.4:5` or `[::1]:5`: the one spelling used in logs, sets and output. */
export function formatAddress(a: PeerAddress): string {
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses `host:port` or `[v6]:port`; returns undefined when it is not one. */
export function parseAddress(text: string): PeerAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}
