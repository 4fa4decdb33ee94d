// A handle on py/lt_transport.py: one libtorrent session whose transports (uTP only, or TCP and
// uTP), PEX plugin and redundant-connection rule a test chooses, and which reports its peers'
// transports and how many TCP connections it refused (libtorrent's peer_blocked tcp_disabled).
import path from 'node:path';
import { PYTHON, PY_DIR } from './harness/libtorrent.js';
import { spawnManaged, type ManagedProcess } from './harness/process.js';

export interface LtTransportConfig {
  readonly mode: 'seed' | 'leech';
  readonly torrentFile?: string;
  readonly magnet?: string;
  readonly saveDir: string;
  readonly port: number;
  readonly peers?: readonly [string, number][];
  readonly transports: 'utp-only' | 'both';
  readonly pex?: boolean;
  readonly closeRedundant?: boolean;
  readonly maxSeconds?: number;
}

export interface LtPeer {
  readonly ip: string;
  readonly port: number;
  readonly utp: boolean;
  readonly seed: boolean;
  readonly outgoing: boolean;
}

export interface LtTransportStatus {
  readonly progress: number;
  readonly peers: number;
  readonly isSeeding: boolean;
  readonly hasMetadata: boolean;
  readonly uploaded: number;
  readonly tcpBlocked: number;
  readonly peerList: readonly LtPeer[];
}

export interface LtTransportHandle {
  readonly proc: ManagedProcess;
  /** The port it listens on (TCP and UDP). */
  readonly port: number;
  lastStatus(): LtTransportStatus | undefined;
  /** Connections libtorrent refused, by reason, in order. */
  blocked(): string[];
  errors(): string[];
  connect(host: string, port: number): void;
  stop(): Promise<void>;
}

export async function startLtTransport(cfg: LtTransportConfig, readyTimeoutMs = 60_000): Promise<LtTransportHandle> {
  const errors: string[] = [];
  const blocked: string[] = [];
  let last: LtTransportStatus | undefined;
  const proc = await spawnManaged({
    name: `libtorrent-${cfg.transports}-${cfg.mode}`,
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_transport.py'), JSON.stringify(cfg)],
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs,
    stdinPipe: true,
    onStdoutLine(line) {
      let ev: { event?: string; message?: string; reason?: string };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        return;
      }
      if (ev.event === 'status') last = ev as unknown as LtTransportStatus;
      else if (ev.event === 'blocked' && ev.reason) blocked.push(ev.reason);
      else if (ev.event === 'error' && ev.message) errors.push(ev.message);
    },
  });
  if (errors.length > 0) {
    await proc.stop();
    throw new Error(`libtorrent (${cfg.transports}) failed to start: ${errors.join('; ')}\n${proc.output()}`);
  }
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  return {
    proc,
    port: cfg.port,
    lastStatus: () => last,
    blocked: () => [...blocked],
    errors: () => [...errors],
    connect: (host, port) => send({ cmd: 'connect', host, port }),
    async stop() {
      send({ cmd: 'quit' });
      proc.child.stdin?.end();
      await proc.stop(3000);
    },
  };
}
