// `pytor peers`' DHT half: one get_peers lookup under the command's deadline, from a DHT node
// started for the occasion (its table kept in the state folder like any run's).
import { join } from 'node:path';
import type { ClientDhtOptions } from '../client/index.js';
import { DhtNode } from '../dht/index.js';
import { formatPeer } from '../tracker/index.js';

export interface DhtReport {
  /** Nodes in the routing table when the lookup ended (0: the DHT was not reached). */
  readonly nodes: number;
  readonly peers: string[];
  readonly error?: string;
}

export async function askDht(infoHash: Buffer, settings: ClientDhtOptions, stateDir: string, timeoutMs: number): Promise<DhtReport> {
  let node: DhtNode;
  try {
    node = await DhtNode.start({ port: settings.port ?? 0, bootstrap: settings.bootstrap, stateFile: join(stateDir, 'dht.dat') });
  } catch (err) {
    return { nodes: 0, peers: [], error: (err as Error).message };
  }
  const found = new Set<string>();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve();
    }, timeoutMs);
  });
  try {
    const lookup = node
      .getPeers(infoHash, { signal: abort.signal, onPeers: (peers) => peers.forEach((p) => found.add(formatPeer(p))) })
      .then(() => undefined, () => undefined);
    await Promise.race([lookup, deadline]);
    const nodes = node.stats().nodes;
    return { nodes, peers: [...found], ...(nodes === 0 ? { error: 'no DHT node answered' } : {}) };
  } finally {
    clearTimeout(timer);
    abort.abort();
    await node.close();
  }
}
