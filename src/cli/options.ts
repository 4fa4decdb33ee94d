// Option parsers and the options `download` and `seed` share, so both commands take (and
// describe) them the same way.
import { InvalidArgumentError, type Command } from 'commander';
import type { ClientDhtOptions } from '../client/index.js';
import { DEFAULT_BOOTSTRAP } from '../dht/index.js';
import { parseEncryptionPolicy, type EncryptionPolicy } from '../mse/index.js';
import { parseAddress, type PeerAddress } from '../peer/address.js';

/** The peer and listening options of a transfer. */
export interface ConnectionOptions {
  readonly peer: PeerAddress[];
  readonly maxPeers: number;
  readonly port: number;
  readonly bind?: string;
  readonly trackers: boolean;
  readonly encryption: EncryptionPolicy;
  readonly utp: boolean;
}

/** Where the engine keeps its state, and whether to trust it. */
export interface StateOptions {
  readonly stateDir?: string;
  readonly recheck?: boolean;
}

/** The DHT's switches (BEP 5). */
export interface DhtCliOptions {
  readonly dht: boolean;
  readonly dhtPort?: number;
  readonly dhtBootstrap: PeerAddress[];
}

/** How a transfer reports. */
export interface OutputOptions {
  readonly quiet?: boolean;
  readonly json?: boolean;
}

/** The help lines that differ between the commands (what a peer is for, what "all" covers). */
export interface ConnectionHelp {
  readonly peer: string;
  readonly bind: string;
  readonly noTrackers: string;
}

/** Adds -p/--peer, --max-peers, --port, --bind and --no-trackers (ConnectionOptions), in that order. */
export function addConnectionOptions(command: Command, help: ConnectionHelp): Command {
  return command
    .option('-p, --peer <host:port>', help.peer, collectPeer, [])
    .option('--max-peers <n>', 'most peer connections at once', positiveInt, 50)
    .option('--port <n>', 'TCP port to listen on for peers (a free one if taken)', portNumber, 6881)
    .option('--bind <address>', help.bind)
    .option('--no-trackers', help.noTrackers)
    .option('--encryption <mode>', 'protocol encryption: prefer (try it, fall back), require, or off', encryptionMode, 'prefer')
    .option('--no-utp', 'TCP only: no uTP connections (BEP 29) in or out');
}

export function encryptionMode(value: string): EncryptionPolicy {
  const policy = parseEncryptionPolicy(value);
  if (!policy) throw new InvalidArgumentError('expected prefer, require or off');
  return policy;
}

/** Adds --state-dir and --recheck (StateOptions). */
export function addStateOptions(command: Command): Command {
  return command
    .option('--state-dir <dir>', 'where resume data lives (default: $XDG_STATE_HOME/pytor or ~/.local/state/pytor)')
    .option('--recheck', 'ignore resume data: hash all the data on disk again');
}

/** Adds --no-dht, --dht-port and --dht-bootstrap (DhtCliOptions). */
export function addDhtOptions(command: Command): Command {
  return command
    .option('--no-dht', 'do not use the DHT to find peers')
    .option('--dht-port <n>', 'UDP port for the DHT (default: the --port number)', portNumber)
    .option('--dht-bootstrap <host:port>', 'join the DHT through this node (repeatable; replaces the built-in routers)', collectPeer, []);
}

/**
 * The DHT settings for the engine, or undefined when off. Bootstrap nodes: --dht-bootstrap,
 * else $PYTOR_DHT_BOOTSTRAP (comma-separated host:port; empty means none, so only the saved
 * table is used: the test suite sets it), else the public routers by host name.
 */
export function dhtSettings(opts: DhtCliOptions, env: NodeJS.ProcessEnv = process.env): ClientDhtOptions | undefined {
  if (!opts.dht) return undefined;
  let bootstrap: readonly PeerAddress[] = DEFAULT_BOOTSTRAP;
  if (opts.dhtBootstrap.length > 0) bootstrap = opts.dhtBootstrap;
  else if (env.PYTOR_DHT_BOOTSTRAP !== undefined) {
    bootstrap = env.PYTOR_DHT_BOOTSTRAP.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => {
        const a = parseAddress(s);
        if (!a) throw new InvalidArgumentError(`PYTOR_DHT_BOOTSTRAP: expected host:port, got ${JSON.stringify(s)}`);
        return a;
      });
  }
  return { port: opts.dhtPort, bootstrap };
}

/** Adds -q/--quiet and --json (OutputOptions), in that order. */
export function addOutputOptions(command: Command, quietHelp: string): Command {
  return command.option('-q, --quiet', quietHelp).option('--json', 'print a JSON summary at the end instead of text');
}

export function collectPeer(value: string, previous: PeerAddress[]): PeerAddress[] {
  const address = parseAddress(value);
  if (!address) throw new InvalidArgumentError('expected host:port or [ipv6]:port');
  return [...previous, address];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}
