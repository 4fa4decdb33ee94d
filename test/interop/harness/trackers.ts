// Real trackers on 127.0.0.1: opentracker (a separate C program) and the npm
// `bittorrent-tracker` Server (in this process, HTTP + UDP, no WebSocket, no IPv6).
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { once } from 'node:events';
import { Server } from 'bittorrent-tracker';
import { freePort, LOOPBACK } from './ports.js';
import { spawnManaged, pollUntil } from './process.js';

export interface TrackerHandle {
  /** e.g. http://127.0.0.1:PORT/announce */
  httpUrl: string;
  /** e.g. udp://127.0.0.1:PORT/announce */
  udpUrl: string;
  stop(): Promise<void>;
}

export interface OpentrackerHandle extends TrackerHandle {
  /** Adds info-hashes (hex) to the whitelist and waits until opentracker accepts them. */
  allow(infoHashes: string[]): Promise<void>;
}

function hexToPercent(hex: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new Error(`not a v1 info-hash: ${hex}`);
  return hex.replace(/../g, (b) => '%' + b);
}

function httpGet(url: string, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Starts opentracker on 127.0.0.1 (HTTP and UDP on the same port number).
 * Debian's opentracker is built with a whitelist: only the info-hashes in `infoHashes` (hex,
 * v1) or added later with allow() are tracked; others get "not authorized". It returns every
 * peer of a swarm, the announcing one included, and tells peers apart by ip:port.
 * When started as root it chroots into its own temp folder and drops to user nobody.
 */
export async function startOpentracker(opts: { host?: '127.0.0.1'; infoHashes?: string[] } = {}): Promise<OpentrackerHandle> {
  const host = opts.host ?? LOOPBACK;
  if (host !== LOOPBACK) throw new Error('startOpentracker: loopback only');
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-opentracker-'));
  // Readable by `nobody`, which opentracker becomes after chroot(dir) when run as root.
  await chmod(dir, 0o755);
  const list = new Set((opts.infoHashes ?? []).map((h) => h.toLowerCase()));
  const writeList = async () => {
    await writeFile(path.join(dir, 'whitelist.txt'), [...list].map((h) => h + '\n').join(''));
    await chmod(path.join(dir, 'whitelist.txt'), 0o644);
  };
  await writeList();
  const port = await freePort('both');
  let proc;
  try {
    proc = await spawnManaged({
      name: 'opentracker',
      cmd: 'opentracker',
      args: ['-i', host, '-p', String(port), '-P', String(port), '-d', '.', '-w', 'whitelist.txt'],
      cwd: dir,
      readyPort: port,
      readyTimeoutMs: 10_000,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const base = `http://${host}:${port}`;
  // An announce with event=stopped changes no swarm but answers "not authorized" for a hash
  // that is not (yet) on the whitelist.
  const accepted = async (hex: string) => {
    const url = `${base}/announce?info_hash=${hexToPercent(hex)}&peer_id=-PYHARN-000000000000&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped`;
    try {
      return !(await httpGet(url)).toString('latin1').includes('failure reason');
    } catch {
      return false;
    }
  };
  const handle: OpentrackerHandle = {
    httpUrl: `${base}/announce`,
    udpUrl: `udp://${host}:${port}/announce`,
    async allow(infoHashes) {
      for (const h of infoHashes) list.add(h.toLowerCase());
      await writeList();
      // SIGHUP makes opentracker re-read the whitelist (in a background thread).
      process.kill(proc.pid, 'SIGHUP');
      for (const h of infoHashes) {
        const ok = await pollUntil(() => accepted(h.toLowerCase()), 5000, 100);
        if (!ok) throw new Error(`opentracker did not accept ${h} after reloading its whitelist\n${proc.output()}`);
      }
    },
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

export interface BittorrentTrackerHandle extends TrackerHandle {
  server: Server;
  /** Peers the tracker knows for an info-hash (hex), as ip:port strings. */
  peers(infoHash: string): string[];
}

/**
 * Starts the npm `bittorrent-tracker` Server in this process on 127.0.0.1: HTTP and UDP on
 * one port number, no WebSocket, no /stats page, no IPv6 socket.
 */
export async function startBittorrentTracker(opts: { interval?: number } = {}): Promise<BittorrentTrackerHandle> {
  const server = new Server({ http: true, udp: true, ws: false, stats: false, interval: opts.interval ?? 60_000 });
  // The Server always makes a udp6 socket too; drop it so nothing listens off 127.0.0.1.
  server.udp6?.close();
  server.udp6 = null;
  const errors: Error[] = [];
  server.on('error', (err: Error) => errors.push(err));
  server.on('warning', () => {}); // bad announces from tests are expected, not crashes
  const port = await freePort('both');
  const httpSrv = server.http;
  const udp4 = server.udp4;
  if (!httpSrv || !udp4) throw new Error('bittorrent-tracker: missing http or udp server');
  const listening = Promise.all([once(httpSrv, 'listening'), once(udp4, 'listening')]);
  server.listen(port, { http: LOOPBACK, udp: LOOPBACK });
  await Promise.race([
    listening,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`bittorrent-tracker did not listen: ${errors.map(String).join('; ')}`)), 5000).unref()),
  ]);
  return {
    server,
    httpUrl: `http://${LOOPBACK}:${port}/announce`,
    udpUrl: `udp://${LOOPBACK}:${port}/announce`,
    peers(infoHash) {
      const swarm = server.torrents[infoHash.toLowerCase()];
      if (!swarm) return [];
      const out: string[] = [];
      for (const k of swarm.peers.keys) {
        const p = swarm.peers.peek(k);
        if (p) out.push(`${p.ip}:${p.port}`);
      }
      return out;
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() on an http server waits for keep-alive sockets; do not let that hang a test.
        httpSrv.closeAllConnections?.();
      });
    },
  };
}
