// LEDBAT yields to TCP at a real forwarding bottleneck. Three network namespaces made for the
// test (test/utp/netns-topology.ts): sender -- router -- receiver over two veth pairs, with a
// token bucket of 8 Mbit/s and 400 ms of queue on the router's egress towards the receiver.
// The receiver (test/utp/ledbat-compete-receiver.ts) counts bytes per transport every 500 ms;
// the sender (test/utp/ledbat-compete-sender.ts) uploads over uTP for the whole run and over
// TCP in the middle of it. Because the router forwards, the sender's TCP is not held back by
// TCP small queues and fills the router's queue (bufferbloat), which is what LEDBAT must give
// way to: uTP alone fills the link, uTP beside TCP falls to a small share and TCP takes the
// rest, and uTP fills the link again once TCP stops.
//
// Only queueing delay, no base (propagation) delay: this kernel has no netem qdisc (nor any
// other that delays without a rate: fq, sfq, cake are missing too; tbf, htb, pfifo, bfifo and
// red exist), so the path's one-way delay is the bottleneck queue plus microseconds of veth.
// LEDBAT measures queueing delay against the minimum it has seen, so a base delay would only
// lengthen the RTT (and slow every window change), not change what is tested.
//
// Needs root, `ip netns`, veth and tbf; skipped otherwise. Namespaces are named
// pytorlb<pid><a|r|b>; ones left by a killed run are deleted at start, ours in t.after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createTopology, removeStaleNamespaces, topologyUnavailable, RECEIVER_ADDR } from '../utp/netns-topology.js';
import { parseRun, phaseRates, type Marks } from '../utp/ledbat-compete-analysis.js';

const DIST = path.resolve(process.cwd(), 'dist', 'test', 'utp');
const PORT = 6881;
const INTERVAL_MS = 500;
const P1_S = 8; // uTP alone
const P2_S = 12; // uTP and TCP
const P3_S = 6; // uTP alone again
/** 8 Mbit/s in MB/s: what the link carries, headers included. */
const LINK = 1.0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(ns: string, script: string, env: Record<string, string>, timeoutMs: number): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(DIST, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const done = new Promise<Run>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

async function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms: ${seen}`)), timeoutMs);
    const onData = (c: Buffer) => {
      seen += c.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`exited before "${text}": ${seen}`));
    });
  });
}

const skip = topologyUnavailable();

test('LEDBAT: a uTP upload gives way to a TCP upload at a bloated router queue, and takes the link back after', { skip, timeout: 150_000 }, async (t) => {
  removeStaleNamespaces();
  const topo = createTopology({ rate: '8mbit', burst: '16kb', latency: '400ms' });
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    topo.destroy();
  });

  const total = P1_S + P2_S + P3_S;
  const rx = run(topo.receiver, 'ledbat-compete-receiver.js', { LEDBAT_RX_PORT: String(PORT), LEDBAT_RX_SECONDS: String(total + 8) }, (total + 30) * 1000);
  children.push(rx.child);
  await waitForLine(rx.child, '"ready"', 15_000);
  const tx = run(topo.sender, 'ledbat-compete-sender.js', {
    LEDBAT_TX_TO: RECEIVER_ADDR,
    LEDBAT_TX_PORT: String(PORT),
    LEDBAT_P1: String(P1_S),
    LEDBAT_P2: String(P2_S),
    LEDBAT_P3: String(P3_S),
  }, (total + 30) * 1000);
  children.push(tx.child);
  const [txr, rxr] = [await tx.done, await rx.done];
  const qdisc = topo.qdiscStats();
  assert.equal(txr.code, 0, `sender: ${txr.stderr}`);
  assert.equal(rxr.code, 0, `receiver: ${rxr.stderr}`);

  const { samples, marks } = parseRun(rxr.stdout, txr.stdout);
  for (const k of ['utp-start', 'tcp-start', 'tcp-stop', 'end'] as const) assert.equal(typeof marks[k], 'number', `sender mark ${k} missing: ${txr.stdout.slice(-2000)}`);
  const r = phaseRates(samples, marks as Marks, 2000, INTERVAL_MS);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const summary = JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { utp: round(v.utp), tcp: round(v.tcp), samples: v.samples }])));
  console.log(`LEDBAT vs TCP (MB/s, link ${LINK}): ${summary}`);
  // The sender's last uTP stats before TCP stopped (window, RTT, queueing delay), for a failure.
  const stats = txr.stdout.split('\n').filter((l) => l.includes('"cwnd"') && Number(/"t":(\d+)/.exec(l)?.[1]) <= marks['tcp-stop']!);
  const detail = `${summary}\nuTP at the end of the competition: ${stats.at(-1) ?? 'none'}\nrouter: ${qdisc}`;

  for (const [name, v] of Object.entries(r)) assert.ok(v.samples >= 6, `window ${name} has ${v.samples} samples: ${detail}`);
  // Thresholds from 5 runs each on a loaded 2-core machine (MB/s): alone 0.951, early uTP
  // 0.26-0.28, competing uTP 0.17-0.19 and TCP 0.77-0.79, recovered 0.95. With RFC 6817's
  // 1 MSS per RTT decrease (before DECREASE_BYTES_PER_RTT) competing uTP was 0.28-0.34.
  // Alone, uTP fills the link (LEDBAT keeps the queue near 100 ms, so the link never idles).
  assert.ok(r.alone.utp > 0.75 * LINK, `uTP alone: ${r.alone.utp} MB/s: ${detail}`);
  // TCP fills the queue beyond LEDBAT's target: uTP falls at once to a minor share...
  assert.ok(r.early.utp < 0.4 * LINK, `uTP in the first ${P2_S / 2} s beside TCP: ${r.early.utp} MB/s: ${detail}`);
  // ...and keeps shrinking its window while the queue stays above the target.
  assert.ok(r.competing.utp < 0.25 * LINK, `uTP beside TCP: ${r.competing.utp} MB/s: ${detail}`);
  assert.ok(r.competing.tcp > 0.65 * LINK, `TCP beside uTP: ${r.competing.tcp} MB/s: ${detail}`);
  assert.ok(r.competing.utp < r.early.utp, `uTP did not keep giving way (early ${r.early.utp}, later ${r.competing.utp}): ${detail}`);
  // TCP gone: uTP takes the link back.
  assert.ok(r.recovered.utp > 0.75 * LINK, `uTP after TCP stopped: ${r.recovered.utp} MB/s: ${detail}`);
});
