// Sender for test/interop/utp-ledbat-tcp.test.ts, run in the sender's network namespace:
// one bulk uTP upload for the whole run, and a bulk TCP upload in the middle of it.
//   phase 1 (LEDBAT_P1 s): uTP alone;  phase 2 (LEDBAT_P2 s): uTP and TCP;
//   phase 3 (LEDBAT_P3 s): TCP stopped, uTP alone again.
// Prints JSON lines: {"mark": "tcp-start"|"tcp-stop"|"end", t} (Date.now(), to line up with
// the receiver's samples) and every 500 ms the uTP connection's stats (window, RTT, losses),
// for diagnosis. Every pump stops by time.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { UtpSocket, type UtpStream } from '../../src/utp/index.js';

const HOST = process.env.LEDBAT_TX_TO ?? '127.0.0.1';
const PORT = Number(process.env.LEDBAT_TX_PORT ?? 6881);
const P1 = Number(process.env.LEDBAT_P1 ?? 8) * 1000;
const P2 = Number(process.env.LEDBAT_P2 ?? 10) * 1000;
const P3 = Number(process.env.LEDBAT_P3 ?? 8) * 1000;

/** Writes until `until` (Date.now() ms) or until the stream fails; resolves then. */
async function pump(s: Duplex, until: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 1);
  let failed = false;
  s.once('error', () => (failed = true));
  s.once('close', () => (failed = true));
  while (!failed && Date.now() < until) {
    if (!s.write(chunk)) {
      await Promise.race([new Promise((r) => s.once('drain', r)), delay(Math.max(0, until - Date.now()))]);
    }
  }
}

function mark(name: string): void {
  console.log(JSON.stringify({ mark: name, t: Date.now() }));
}

async function main(): Promise<void> {
  const sock = await UtpSocket.bind(0, '0.0.0.0');
  const utp: UtpStream = await sock.connect({ host: HOST, port: PORT });
  utp.on('error', () => {});
  const start = Date.now();
  mark('utp-start');
  const statsTimer = setInterval(() => {
    const st = utp.connection.stats();
    console.log(JSON.stringify({ t: Date.now(), cwnd: st.cwnd, rttMs: Math.round(st.rttMs), inflight: st.inflightBytes, losses: st.losses, timeouts: st.timeouts, qdMs: Math.round(utp.connection.ledbat.queuingDelay() / 1000) }));
  }, 500);
  const utpDone = pump(utp, start + P1 + P2 + P3);

  await delay(P1);
  const tcp = await new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect(PORT, HOST, () => resolve(c));
    c.once('error', reject);
  });
  tcp.on('error', () => {});
  mark('tcp-start');
  await pump(tcp, start + P1 + P2);
  // A RST, not a FIN: close() would leave the kernel sending megabytes of send buffer for
  // seconds after the "stop".
  tcp.resetAndDestroy();
  mark('tcp-stop');

  await utpDone;
  mark('end');
  clearInterval(statsTimer);
  utp.destroy();
  await sock.close();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
