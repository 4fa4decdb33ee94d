// Just the part of the untyped npm package `bittorrent-tracker` (v10) that the harness uses.
declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events';
  import type { Server as HttpServer } from 'node:http';
  import type { Socket } from 'node:dgram';

  export interface ServerOptions {
    http?: boolean;
    udp?: boolean;
    ws?: boolean;
    stats?: boolean;
    interval?: number;
    trustProxy?: boolean;
    filter?: (infoHash: string, params: unknown, cb: (err: Error | null) => void) => void;
  }

  export interface SwarmPeer {
    type: string;
    complete: boolean;
    peerId: string;
    ip: string;
    port: number;
  }

  export interface Swarm {
    complete: number;
    incomplete: number;
    peers: { keys: string[]; peek(key: string): SwarmPeer | undefined };
  }

  export class Server extends EventEmitter {
    constructor(opts?: ServerOptions);
    http: HttpServer | null;
    udp4: Socket | null;
    udp6: Socket | null;
    torrents: Record<string, Swarm>;
    listen(port: number | { http?: number; udp?: number }, hostname?: string | { http?: string; udp?: string; udp6?: string }, onlistening?: () => void): void;
    close(cb?: () => void): void;
  }
}
