// Transmission 3.00 (transmission-daemon) as seeder or leecher on loopback, driven through
// its JSON-RPC on a loopback port. Each instance has a private config folder, so it never
// reads or writes the user's settings. Transmission has no RPC call to add a peer: a
// leecher finds peers through a tracker in the torrent; a seeder just accepts connections.
import http from 'node:http';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, LOOPBACK } from './ports.js';
import { spawnManaged, pollUntil, type ManagedProcess } from './process.js';

interface TrTorrent {
  status: number; // 0 stopped, 1 check wait, 2 checking, 3 download wait, 4 downloading, 5 seed wait, 6 seeding
  percentDone: number;
  leftUntilDone: number;
  uploadedEver: number;
  downloadedEver: number;
  peersConnected: number;
  error: number;
  errorString: string;
}

const FIELDS = ['status', 'percentDone', 'leftUntilDone', 'uploadedEver', 'downloadedEver', 'peersConnected', 'error', 'errorString'];

export interface TransmissionStats {
  uploaded: number;
  downloaded: number;
  progress: number;
  peers: number;
  status: number;
  error: string;
}

export interface TransmissionHandle {
  readonly port: number;
  readonly rpcPort: number;
  readonly proc: ManagedProcess;
  stats(): Promise<TransmissionStats>;
  /** Raw torrent-get of this torrent, for diagnostics (e.g. ['trackerStats', 'peers']). */
  torrentGet(fields: string[]): Promise<Record<string, unknown> | undefined>;
  /** Resolves once every piece is downloaded and verified; rejects on timeout or exit. */
  waitForComplete(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

class Rpc {
  private session = '';
  constructor(private readonly port: number) {}

  call<T>(method: string, args: Record<string, unknown>, retry = true): Promise<T> {
    const body = JSON.stringify({ method, arguments: args });
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          host: LOOPBACK,
          port: this.port,
          path: '/transmission/rpc',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'X-Transmission-Session-Id': this.session },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            // 409 hands out the CSRF session id to use from now on.
            if (res.statusCode === 409 && retry) {
              this.session = String(res.headers['x-transmission-session-id'] ?? '');
              this.call<T>(method, args, false).then(resolve, reject);
              return;
            }
            try {
              const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result: string; arguments: T };
              if (j.result !== 'success') reject(new Error(`transmission rpc ${method}: ${j.result}`));
              else resolve(j.arguments);
            } catch (err) {
              reject(new Error(`transmission rpc ${method}: HTTP ${res.statusCode}: ${(err as Error).message}`));
            }
          });
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('transmission rpc timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }
}

async function startDaemon(opts: { torrentFile: string; dir: string; port: number; mode: 'seed' | 'leech' }): Promise<TransmissionHandle> {
  const configDir = await mkdtemp(path.join(tmpdir(), 'pytor-transmission-'));
  const rpcPort = await freePort('tcp');
  const settings = {
    'bind-address-ipv4': LOOPBACK,
    // Transmission always opens an IPv6 socket too; keep it on the loopback address.
    'bind-address-ipv6': '::1',
    'peer-port': opts.port,
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': false,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false, // pytor speaks TCP only
    encryption: 0, // prefer plaintext: pytor has no MSE/PE
    'blocklist-enabled': false,
    'rpc-enabled': true,
    'rpc-bind-address': LOOPBACK,
    'rpc-port': rpcPort,
    'rpc-authentication-required': false,
    'rpc-whitelist-enabled': true,
    'rpc-whitelist': LOOPBACK,
    'rpc-host-whitelist-enabled': false,
    'download-dir': opts.dir,
    'incomplete-dir-enabled': false,
    'watch-dir-enabled': false,
    'speed-limit-up-enabled': false,
    'speed-limit-down-enabled': false,
    'alt-speed-enabled': false,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'download-queue-enabled': false,
    'seed-queue-enabled': false,
    'queue-stalled-enabled': false,
    'start-added-torrents': true,
    'script-torrent-done-enabled': false,
    'trash-original-torrent-files': false,
    'anti-brute-force-enabled': false,
    'message-level': Number(process.env.PYTOR_TR_LOG ?? 1),
  };
  await writeFile(path.join(configDir, 'settings.json'), JSON.stringify(settings, null, 2));
  let proc: ManagedProcess;
  try {
    proc = await spawnManaged({
      name: `transmission-${opts.mode}`,
      cmd: 'transmission-daemon',
      args: ['--foreground', '--config-dir', configDir],
      readyPort: rpcPort,
      readyTimeoutMs: 15_000,
    });
  } catch (err) {
    await rm(configDir, { recursive: true, force: true });
    throw err;
  }
  const rpc = new Rpc(rpcPort);
  const stop = async () => {
    await proc.stop(5000);
    await rm(configDir, { recursive: true, force: true });
  };
  let id: number;
  try {
    const metainfo = (await readFile(opts.torrentFile)).toString('base64');
    const added = await rpc.call<{ 'torrent-added'?: { id: number }; 'torrent-duplicate'?: { id: number } }>('torrent-add', {
      metainfo,
      'download-dir': opts.dir,
      paused: false,
    });
    const t = added['torrent-added'] ?? added['torrent-duplicate'];
    if (!t) throw new Error('transmission: torrent-add returned no torrent');
    id = t.id;
    if (opts.mode === 'seed') await rpc.call('torrent-verify', { ids: [id] });
  } catch (err) {
    await stop();
    throw err;
  }
  const get = async (): Promise<TrTorrent | undefined> => {
    const r = await rpc.call<{ torrents: TrTorrent[] }>('torrent-get', { ids: [id], fields: FIELDS });
    return r.torrents[0];
  };
  const toStats = (t: TrTorrent | undefined): TransmissionStats => ({
    uploaded: t?.uploadedEver ?? 0,
    downloaded: t?.downloadedEver ?? 0,
    progress: t?.percentDone ?? 0,
    peers: t?.peersConnected ?? 0,
    status: t?.status ?? -1,
    error: t?.errorString ?? '',
  });
  if (opts.mode === 'seed') {
    let lastT: TrTorrent | undefined;
    const ok = await pollUntil(
      async () => {
        lastT = await get().catch(() => undefined);
        return lastT?.status === 6 && lastT.leftUntilDone === 0;
      },
      120_000,
      200,
    );
    if (!ok) {
      const out = proc.output();
      await stop();
      throw new Error(`transmission-seed: not seeding (last: ${JSON.stringify(lastT)})\n${out}`);
    }
  }
  return {
    port: opts.port,
    rpcPort,
    proc,
    stats: async () => toStats(await get()),
    torrentGet: async (fields) => (await rpc.call<{ torrents: Record<string, unknown>[] }>('torrent-get', { ids: [id], fields })).torrents[0],
    async waitForComplete(timeoutMs) {
      let lastT: TrTorrent | undefined;
      const ok = await pollUntil(
        async () => {
          if (proc.hasExited()) return true;
          lastT = await get().catch(() => lastT);
          return lastT !== undefined && lastT.leftUntilDone === 0 && lastT.percentDone === 1 && lastT.status !== 2;
        },
        timeoutMs,
        200,
      );
      if (!ok || proc.hasExited()) throw new Error(`transmission-${opts.mode}: not complete (last: ${JSON.stringify(lastT)})\n${proc.output()}`);
    },
    stop,
  };
}

/** transmission-daemon seeding `torrentFile` from `dataDir` on 127.0.0.1:port (after a verify). */
export function startTransmissionSeeder(opts: { torrentFile: string; dataDir: string; port: number }): Promise<TransmissionHandle> {
  return startDaemon({ torrentFile: opts.torrentFile, dir: opts.dataDir, port: opts.port, mode: 'seed' });
}

/**
 * transmission-daemon downloading `torrentFile` into `saveDir`, listening on 127.0.0.1:port.
 * It finds peers only through the torrent's trackers (Transmission's RPC cannot add a peer).
 */
export function startTransmissionLeecher(opts: { torrentFile: string; saveDir: string; port: number }): Promise<TransmissionHandle> {
  return startDaemon({ torrentFile: opts.torrentFile, dir: opts.saveDir, port: opts.port, mode: 'leech' });
}
