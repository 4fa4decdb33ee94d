// Loopback trackers for the tracker tests: the npm `bittorrent-tracker` server (in process),
// Debian's `opentracker` (a child process), raw announces that do not use pytor's code,
// a UDP relay that counts packets, and small torrent files.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode, encode, isDict, type BDict } from '../../src/bencode/index.js';
import { makePeerId, type AnnounceParams } from '../../src/tracker/index.js';

export const V4 = '127.0.0.1';
export const V6 = '::1';

// ---------------------------------------------------------------------------------------------
// bittorrent-tracker (npm, ESM, untyped): only the surface used here.

interface BtSwarm {
  complete: number;
  incomplete: number;
}
interface BtServer {
  http: http.Server | null;
  udp4: dgram.Socket | null;
  udp6: dgram.Socket | null;
  torrents: Record<string, BtSwarm | undefined>;
  on(event: string, fn: (...args: unknown[]) => void): void;
  listen(port: number, hostname: { http: string; udp: string; udp6: string }, cb: () => void): void;
  close(cb: () => void): void;
}
interface BtModule {
  Server: new (opts: { http: boolean; udp: boolean; ws: boolean; stats: boolean }) => BtServer;
}

export interface BtTracker {
  httpUrl: string;
  udpUrl: string;
  server: BtServer;
  /** Seeders and leechers the server itself counts for a torrent. */
  counts(infoHashHex: string): { complete: number; incomplete: number };
  close(): Promise<void>;
}

/** Starts bittorrent-tracker's HTTP and UDP endpoints on free loopback ports of `host`. */
export async function startBtTracker(host: typeof V4 | typeof V6 = V4): Promise<BtTracker> {
  // A string specifier keeps TypeScript from demanding type declarations for the package.
  const specifier: string = 'bittorrent-tracker';
  const { Server } = (await import(specifier)) as BtModule;
  const server = new Server({ http: true, udp: true, ws: false, stats: false });
  const errors: unknown[] = [];
  server.on('error', (err) => errors.push(err));
  server.on('warning', () => {}); // bad requests are the tracker's business, not the test's
  // udp4 needs an IPv4 address and udp6 an IPv6 one, whichever family the test targets.
  await new Promise<void>((resolve) => server.listen(0, { http: host, udp: V4, udp6: V6 }, resolve));
  if (errors.length > 0) throw errors[0];
  const httpPort = (server.http!.address() as net.AddressInfo).port;
  const udpSocket = host === V6 ? server.udp6! : server.udp4!;
  const udpPort = udpSocket.address().port;
  const h = host === V6 ? `[${host}]` : host;
  return {
    httpUrl: `http://${h}:${httpPort}/announce`,
    udpUrl: `udp://${h}:${udpPort}/announce`,
    server,
    counts(hex) {
      const s = server.torrents[hex];
      return { complete: s?.complete ?? 0, incomplete: s?.incomplete ?? 0 };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// opentracker (Debian package, built IPv4-only with a whitelist).

export interface OpenTracker {
  httpUrl: string;
  udpUrl: string;
  close(): Promise<void>;
}

/** A port free for both TCP and UDP on 127.0.0.1 right now (opentracker wants one number for both). */
async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const srv = net.createServer();
    srv.listen(0, V4);
    await once(srv, 'listening');
    const port = (srv.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, V4, () => resolve(true));
    });
    udp.close();
    srv.close();
    await once(srv, 'close');
    if (ok) return port;
  }
  throw new Error('no free TCP+UDP port found in 20 tries');
}

/** Connects until the port accepts, at most `tries` times; false if the process died first. */
async function waitForTcp(port: number, child: ChildProcess, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, V4);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Starts opentracker on 127.0.0.1 with `infoHashes` (hex) whitelisted. Debian's build only
 * tracks whitelisted hashes. It reads the whitelist after changing into its -d folder (as root
 * it chroots there and drops to nobody), so the path is relative and the folder world-readable.
 */
export async function startOpentracker(infoHashes: readonly string[]): Promise<OpenTracker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-opentracker-'));
  await chmod(dir, 0o755);
  await writeFile(path.join(dir, 'whitelist.txt'), infoHashes.map((h) => `${h}\n`).join(''), { mode: 0o644 });
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeTcpUdpPort();
    // -d: the folder it chroots into (as root) or works in; -w is read relative to it.
    const args = ['-i', V4, '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist.txt'];
    const child = spawn('opentracker', args, {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const ready = await Promise.race([waitForTcp(port, child), spawnError]);
    if (ready instanceof Error) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`cannot run opentracker (is the Debian package installed?): ${ready.message}`);
    }
    if (ready) {
      // The whitelist is read by a thread of its own, after the port opens: wait for it.
      const probe = `http://${V4}:${port}/announce`;
      for (const hex of infoHashes.slice(0, 1)) await waitUntilAllowed(probe, Buffer.from(hex, 'hex'));
      return {
        httpUrl: `http://${V4}:${port}/announce`,
        udpUrl: `udp://${V4}:${port}/announce`,
        close: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child); // lost the port race: try another
    if (attempt === 2) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`opentracker did not start: ${stderr.trim()}`);
    }
  }
  throw new Error('unreachable');
}

/**
 * Polls until the hash is accepted. A `started` announce would add a peer, and `stopped` is
 * accepted even for hashes off the whitelist, so this asks with a scrape-free trick: announce
 * `started` at port 1 and take it back with `stopped` once accepted.
 */
async function waitUntilAllowed(announceUrl: string, infoHash: Buffer): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      await rawAnnounce(announceUrl, infoHash, { port: 1, seeder: true }, 'started');
      await rawAnnounce(announceUrl, infoHash, { port: 1, seeder: true }, 'stopped');
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`opentracker never accepted the whitelisted hash: ${String(last)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Announces and scrapes written out by hand, so the trackers' view does not depend on pytor.

function pct(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

export function rawGet(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no reply from ${url}`)));
    req.on('error', reject);
  });
}

export interface FakePeer {
  port: number;
  seeder: boolean;
}

/** What a real client does: announce `started` from this host with its listening port. */
export async function rawAnnounce(announceUrl: string, infoHash: Buffer, peer: FakePeer, event = 'started'): Promise<BDict> {
  const peerId = Buffer.from(`-FK0001-${String(peer.port).padStart(12, '0')}`, 'latin1');
  const q = `info_hash=${pct(infoHash)}&peer_id=${pct(peerId)}&port=${peer.port}&uploaded=0&downloaded=0&left=${peer.seeder ? 0 : 1000}&compact=1&event=${event}`;
  const reply = decode(await rawGet(`${announceUrl}?${q}`));
  if (!isDict(reply)) throw new Error('announce reply is not a dict');
  if (reply.has('failure reason')) throw new Error(`tracker refused: ${String(reply.get('failure reason'))}`);
  return reply;
}

/** pytor's own announce in these tests: a fresh peer id, `started`, 1000 bytes left; `over` changes any field. */
export function ourAnnounce(us: { infoHash: Buffer; port: number; key: number }, over: Partial<AnnounceParams> = {}): AnnounceParams {
  return {
    infoHash: us.infoHash,
    peerId: makePeerId(),
    port: us.port,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    event: 'started',
    numwant: 50,
    key: us.key,
    ...over,
  };
}

/** Peer lists compared as sets (trackers shuffle them). */
export const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** The tracker's own scrape counts, read over plain HTTP. */
export async function rawScrape(scrapeUrl: string, infoHash: Buffer): Promise<{ complete: number; incomplete: number }> {
  const reply = decode(await rawGet(`${scrapeUrl}?info_hash=${pct(infoHash)}`));
  const files = isDict(reply) ? reply.get('files') : undefined;
  const entry = isDict(files) ? files.get(infoHash.toString('latin1')) : undefined;
  if (!isDict(entry)) throw new Error('scrape reply lacks the torrent');
  return { complete: Number(entry.get('complete')), incomplete: Number(entry.get('incomplete')) };
}

// ---------------------------------------------------------------------------------------------
// A UDP relay in front of a real tracker that counts the requests by action.

export interface UdpRelay {
  url: string;
  /** Requests seen, by BEP 15 action (0 connect, 1 announce, 2 scrape). */
  counts: Map<number, number>;
  close(): Promise<void>;
}

export async function startUdpRelay(targetPort: number): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  const counts = new Map<number, number>();
  let client: dgram.RemoteInfo | undefined;
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    if (msg.length >= 12) {
      const action = msg.readUInt32BE(8);
      counts.set(action, (counts.get(action) ?? 0) + 1);
    }
    back.send(msg, targetPort, V4);
  });
  back.on('message', (msg) => {
    if (client) front.send(msg, client.port, client.address);
  });
  await new Promise<void>((r) => front.bind(0, V4, () => r()));
  await new Promise<void>((r) => back.bind(0, V4, () => r()));
  return {
    url: `udp://${V4}:${front.address().port}/announce`,
    counts,
    close: async () => {
      await new Promise<void>((r) => front.close(() => r()));
      await new Promise<void>((r) => back.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Torrents and info-hashes.

export interface TestTorrent {
  bytes: Buffer;
  infoHash: Buffer;
  hex: string;
}

/** A one-file torrent; `salt` makes the info-hash unique per test. */
export function makeTorrent(salt: string, trackers: { announce?: string; announceList?: string[][] }): TestTorrent {
  const info = {
    length: 100_000,
    name: `pytor-test-${salt}.bin`,
    'piece length': 65536,
    pieces: Buffer.alloc(40, 7),
  };
  const infoHash = createHash('sha1').update(encode(info)).digest();
  const bytes = encode({
    announce: trackers.announce,
    'announce-list': trackers.announceList,
    info,
  });
  return { bytes, infoHash, hex: infoHash.toString('hex') };
}

/** Sockets, timers and child processes still alive (node:test's own are not of these kinds). */
function leakedNow(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'Timeout', 'ProcessWrap', 'GetAddrInfoReqWrap'].includes(r));
}

/**
 * What is still open once everything was closed. Closing a socket finishes a few event-loop
 * turns later, so this lets the loop turn (a bounded number of times) before it answers.
 */
export async function leakedResources(): Promise<string[]> {
  for (let i = 0; i < 500; i++) {
    if (leakedNow().length === 0) return [];
    await new Promise((r) => setImmediate(r));
  }
  return leakedNow();
}
