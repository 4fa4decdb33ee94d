// Run inside a private network namespace whose loopback has a token-bucket bottleneck (see
// test/interop/utp-ledbat.test.ts): a bulk upload over uTP (LEDBAT with its 100 ms target,
// then with a 25 ms target), then over TCP, each with a small
// "user" datagram every 50 ms through the same queue, whose one-way delay is measured (same
// process, same clock). Prints one JSON line: throughput and the user's delay under each.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { UtpSocket } from '../../src/utp/index.js';

const HOST = '127.0.0.1';
const SECONDS = Number(process.env.LEDBAT_SECONDS ?? 12);

interface PhaseResult {
  mbps: number;
  medianDelayMs: number;
  p90DelayMs: number;
}

async function userTraffic(durationMs: number, skipMs: number): Promise<number[]> {
  const rx = dgram.createSocket('udp4');
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, HOST, () => r()));
  const delays: number[] = [];
  const start = performance.now();
  rx.on('message', (m) => {
    const sentAt = m.readDoubleBE(0);
    if (sentAt - start >= skipMs) delays.push(performance.now() - sentAt);
  });
  while (performance.now() - start < durationMs) {
    const b = Buffer.alloc(64);
    b.writeDoubleBE(performance.now(), 0);
    tx.send(b, rx.address().port, HOST);
    await delay(50);
  }
  await delay(1500); // the last ones are still queued
  rx.close();
  tx.close();
  return delays;
}

async function bulk(sender: Duplex, received: () => number, durationMs: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 1);
  let stop = false;
  const pump = async () => {
    while (!stop) {
      if (!sender.write(chunk)) await new Promise((r) => sender.once('drain', r));
    }
  };
  void pump().catch(() => {});
  const warm = durationMs / 3;
  await delay(warm);
  const r0 = received();
  await delay(durationMs - warm);
  stop = true;
  return ((received() - r0) / 1e6 / ((durationMs - warm) / 1000));
}

function summarize(mbps: number, delays: number[]): PhaseResult {
  const s = [...delays].sort((a, b) => a - b);
  return { mbps, medianDelayMs: s[Math.floor(s.length / 2)] ?? NaN, p90DelayMs: s[Math.floor(s.length * 0.9)] ?? NaN };
}

async function utpPhase(targetDelayUs?: number): Promise<PhaseResult> {
  const a = await UtpSocket.bind(0, HOST, { targetDelayUs });
  const b = await UtpSocket.bind(0, HOST, { targetDelayUs });
  let got = 0;
  b.on('connection', (s: Duplex) => {
    s.on('data', (c: Buffer) => (got += c.length));
    s.on('error', () => {});
  });
  const s = await a.connect({ host: HOST, port: b.port });
  s.on('error', () => {});
  const ms = SECONDS * 1000;
  const [mbps, delays] = await Promise.all([bulk(s, () => got, ms), userTraffic(ms, ms / 3)]);
  s.destroy();
  await a.close();
  await b.close();
  return summarize(mbps, delays);
}

async function tcpPhase(): Promise<PhaseResult> {
  let got = 0;
  const server = net.createServer((c) => {
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const s = await new Promise<net.Socket>((resolve) => {
    const c = net.connect(port, HOST, () => resolve(c));
  });
  s.on('error', () => {});
  const ms = SECONDS * 1000;
  const [mbps, delays] = await Promise.all([bulk(s, () => got, ms), userTraffic(ms, ms / 3)]);
  s.destroy();
  server.close();
  return summarize(mbps, delays);
}

async function main(): Promise<void> {
  const idle = summarize(0, await userTraffic(2000, 0));
  const utp = await utpPhase();
  await delay(1500); // let the queue drain
  // The same with a 25 ms target: if LEDBAT is what holds the queue, the delay follows.
  const utp25 = await utpPhase(25_000);
  await delay(1500);
  // Local TCP for reference: Linux's TCP small queues keep its own qdisc backlog short, so it
  // does not show the bloat a remote bottleneck would.
  const tcp = await tcpPhase();
  console.log(JSON.stringify({ idle, utp, utp25, tcp }));
  // Sockets are closed, but a dangling pump promise must not hold the process.
  process.exit(0);
}

void main();
