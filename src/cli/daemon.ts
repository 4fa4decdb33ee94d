// `pytor daemon`: many torrents in one long-running process, driven over Transmission's RPC
// (transmission-remote, the web UI). Runs in the foreground and logs to stderr (a service
// manager such as systemd does the rest); its torrents, their settings and resume data live
// in the state folder, so a restart (clean or not) brings every torrent back as it was.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import createDebug from 'debug';
import { Client, defaultStateDir, TorrentRegistry } from '../client/index.js';
import { ClientEngine } from '../rpc/client-engine.js';
import { checkBinding, DEFAULT_RPC_HOST, DEFAULT_RPC_PORT, RPC_PATH, startRpcServer, type RpcServer } from '../rpc/index.js';
import { addDhtOptions, dhtSettings, encryptionMode, portNumber, positiveInt, type DhtCliOptions } from './options.js';
import type { EncryptionPolicy } from '../mse/index.js';
import { webUiHandler } from '../web/index.js';
import { safeText } from './terminal.js';

const log = createDebug('pytor:daemon');

/** After SIGTERM, exit anyway once this long has passed (trackers that do not answer). */
const STOP_GRACE_MS = 8_000;

export interface DaemonOptions extends DhtCliOptions {
  readonly rpcPort: number;
  readonly rpcBind: string;
  readonly rpcAuth?: { user: string; pass: string };
  readonly rpcHostWhitelist: string[];
  readonly downloadDir?: string;
  readonly stateDir?: string;
  readonly port: number;
  readonly bind?: string;
  readonly maxPeers?: number;
  readonly maxConnections: number;
  readonly paused?: boolean;
  readonly encryption: EncryptionPolicy;
  readonly utp: boolean;
}

export function registerDaemon(program: Command, version: string): void {
  const command = program
    .command('daemon')
    .description("run in the foreground with many torrents, driven over Transmission's RPC (transmission-remote, web UIs)")
    .option('--rpc-port <n>', 'TCP port of the RPC', portNumber, DEFAULT_RPC_PORT)
    .option('--rpc-bind <address>', 'address the RPC listens on (not loopback: --rpc-auth is required)', DEFAULT_RPC_HOST)
    .option('--rpc-auth <user:pass>', 'require HTTP Basic auth (or set PYTOR_RPC_AUTH, kept out of the process list)', credentials)
    .option('--rpc-host-whitelist <names>', 'Host names accepted besides localhost and IP addresses (comma-separated, *.example.org allowed)', hostList, [])
    .option('--download-dir <dir>', 'where torrents are saved unless added with another folder (default: ~/Downloads, or what was set over the RPC)')
    .option('--state-dir <dir>', 'where the torrent list and resume data live (default: $XDG_STATE_HOME/pytor or ~/.local/state/pytor)')
    .option('--port <n>', 'TCP port for peers (a free one if taken)', portNumber, 51413)
    .option('--bind <address>', 'address peers connect to (default: all, IPv4 and IPv6)')
    .option('--max-peers <n>', 'most peer connections per torrent (default 50, or what was set over the RPC)', positiveInt)
    .option('--max-connections <n>', 'most peer connections of all torrents together', positiveInt, 500)
    .option('--encryption <mode>', 'protocol encryption: prefer (try it, fall back), require, or off', encryptionMode, 'prefer')
    .option('--no-utp', 'TCP only: no uTP connections (BEP 29) in or out');
  addDhtOptions(command).action(async (opts: DaemonOptions) => {
    process.exitCode = await runDaemon(opts, version);
  });
}

function credentials(value: string): { user: string; pass: string } {
  const i = value.indexOf(':');
  if (i <= 0 || i === value.length - 1) throw new InvalidArgumentError('expected user:password');
  return { user: value.slice(0, i), pass: value.slice(i + 1) };
}

function hostList(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ];
}

/** Runs until SIGTERM or SIGINT; resolves to the exit code once trackers are told and state saved. */
export async function runDaemon(opts: DaemonOptions, version: string): Promise<number> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  const auth = opts.rpcAuth ?? (process.env.PYTOR_RPC_AUTH ? credentials(process.env.PYTOR_RPC_AUTH) : undefined);
  const note = (line: string) => process.stderr.write(`pytor daemon: ${safeText(line)}\n`);
  // Refused before anything listens or the state folder is touched.
  checkBinding(opts.rpcBind, auth);

  const client = await Client.open({
    stateDir,
    port: opts.port,
    bind: opts.bind,
    dht: dhtSettings(opts),
    maxConnections: opts.maxConnections,
    encryption: opts.encryption,
    utp: opts.utp,
  });
  if (opts.port !== 0 && client.port !== opts.port) note(`port ${opts.port} is taken; peers reach us on ${client.port}`);
  let engine: ClientEngine | undefined;
  let server: RpcServer | undefined;
  try {
    engine = await ClientEngine.open({
      client,
      registry: new TorrentRegistry(stateDir),
      downloadDir: opts.downloadDir === undefined ? undefined : resolve(opts.downloadDir),
      defaultDownloadDir: join(homedir(), 'Downloads'),
      peerLimitPerTorrent: opts.maxPeers,
      peerLimitGlobal: opts.maxConnections,
      version,
      note,
    });
    // GET / serves the web UI, behind the same Host check and login as the RPC.
    server = await startRpcServer({ engine, port: opts.rpcPort, host: opts.rpcBind, auth, hostWhitelist: opts.rpcHostWhitelist, staticHandler: webUiHandler() });
  } catch (err) {
    await (engine ? engine.close() : client.close());
    throw err;
  }
  const host = opts.rpcBind.includes(':') ? `[${opts.rpcBind}]` : opts.rpcBind;
  process.stdout.write(`pytor daemon: RPC on http://${host}:${server.port}${RPC_PATH}, peers on port ${client.port}\n`);
  note(`${engine.torrents({}).length} torrents, state in ${stateDir}, downloads to ${engine.session().downloadDir}`);

  await new Promise<void>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second signal means now: resume data is saved every few seconds anyway.
      const again = () => process.exit(0);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      log('%s: stopping', signal);
      note(`${signal}: stopping (telling trackers, saving state)`);
      resolveStop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const guard = setTimeout(() => {
    note(`not stopped after ${STOP_GRACE_MS / 1000} s: exiting anyway`);
    process.exit(0);
  }, STOP_GRACE_MS);
  guard.unref();
  await Promise.all([server.close(), engine.close()]);
  clearTimeout(guard);
  note('stopped');
  return 0;
}
