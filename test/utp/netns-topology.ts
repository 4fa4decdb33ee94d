// Three private network namespaces in a line, sender -- router -- receiver, for tests that
// need a real forwarding bottleneck (test/interop/utp-ledbat-tcp.test.ts). Everything lives
// inside namespaces made here: the veth pairs are created directly in them (the host never
// sees an interface), the 10.201.x addresses exist only there, and nothing routes outside.
// The bottleneck is a token bucket on the router's egress towards the receiver. Because the
// router forwards, a sender's TCP is not held back by TCP small queues (which only count the
// sender's own qdisc), so TCP can fill the router's queue as it would a home router's uplink.
import { spawnSync } from 'node:child_process';

export const NETNS_PREFIX = 'pytorlb';
export const SENDER_ADDR = '10.201.1.2';
export const RECEIVER_ADDR = '10.201.2.2';

export interface Bottleneck {
  /** tbf rate, e.g. '8mbit'. */
  rate: string;
  /** tbf queue as time at that rate, e.g. '400ms'. */
  latency: string;
  /** tbf bucket, e.g. '16kb'. */
  burst: string;
}

export interface Topology {
  readonly sender: string;
  readonly router: string;
  readonly receiver: string;
  /** The router's qdisc statistics on the bottleneck (tc -s), for diagnosis. */
  qdiscStats(): string;
  /** Deletes the three namespaces (and with them the veths and the qdisc). Idempotent. */
  destroy(): void;
}

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { timeout: 10_000, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

function must(args: string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces named `${NETNS_PREFIX}<pid>...` whose process is gone (a run that was killed). */
export function removeStaleNamespaces(): string[] {
  const r = ip(['netns', 'list']);
  if (!r.ok) return [];
  const removed: string[] = [];
  for (const line of r.out.split('\n')) {
    const name = line.split(/\s+/)[0] ?? '';
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)[a-z]$`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    if (ip(['netns', 'delete', name]).ok) removed.push(name);
  }
  return removed;
}

/**
 * Why this machine cannot build the topology (not root, no `ip netns`, no veth or no tbf),
 * or false. Builds and deletes a throwaway namespace.
 */
export function topologyUnavailable(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  const ns = `${NETNS_PREFIX}${process.pid}p`;
  const add = ip(['netns', 'add', ns]);
  if (!add.ok) return `no ip netns: ${add.out}`;
  try {
    const veth = ip(['-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    if (!veth.ok) return `no veth: ${veth.out}`;
    const tc = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'p0', 'root', 'tbf', 'rate', '8mbit', 'burst', '16kb', 'latency', '400ms'], { timeout: 10_000, encoding: 'utf8' });
    if (tc.status !== 0) return `no tbf qdisc: ${(tc.stderr || tc.error?.message || '').trim()}`;
    return false;
  } finally {
    ip(['netns', 'delete', ns]);
  }
}

/** Builds sender (10.201.1.2) -- router -- receiver (10.201.2.2) with the bottleneck on the router. */
export function createTopology(shape: Bottleneck): Topology {
  const base = `${NETNS_PREFIX}${process.pid}`;
  const [sender, router, receiver] = [`${base}a`, `${base}r`, `${base}b`];
  const created: string[] = [];
  const destroy = () => {
    while (created.length > 0) ip(['netns', 'delete', created.pop()!]);
  };
  try {
    for (const ns of [sender, router, receiver]) {
      must(['netns', 'add', ns]);
      created.push(ns);
      must(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // veth names are per namespace, so short fixed names cannot clash with another run.
    must(['-n', sender, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tosend', 'netns', router]);
    must(['-n', receiver, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'torecv', 'netns', router]);
    must(['-n', sender, 'addr', 'add', `${SENDER_ADDR}/24`, 'dev', 'eth0']);
    must(['-n', router, 'addr', 'add', '10.201.1.1/24', 'dev', 'tosend']);
    must(['-n', router, 'addr', 'add', '10.201.2.1/24', 'dev', 'torecv']);
    must(['-n', receiver, 'addr', 'add', `${RECEIVER_ADDR}/24`, 'dev', 'eth0']);
    for (const [ns, dev] of [[sender, 'eth0'], [router, 'tosend'], [router, 'torecv'], [receiver, 'eth0']] as const) {
      must(['-n', ns, 'link', 'set', dev, 'up']);
    }
    must(['-n', sender, 'route', 'add', 'default', 'via', '10.201.1.1']);
    must(['-n', receiver, 'route', 'add', 'default', 'via', '10.201.2.1']);
    must(['netns', 'exec', router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    must(['netns', 'exec', router, 'tc', 'qdisc', 'add', 'dev', 'torecv', 'root', 'tbf', 'rate', shape.rate, 'burst', shape.burst, 'latency', shape.latency]);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    sender,
    router,
    receiver,
    qdiscStats: () => ip(['netns', 'exec', router, 'tc', '-s', 'qdisc', 'show', 'dev', 'torecv']).out,
    destroy,
  };
}
