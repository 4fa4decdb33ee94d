// Receiver for test/interop/utp-ledbat-tcp.test.ts, run in the receiver's network namespace:
// accepts uTP streams and TCP connections on one port number and prints, every 500 ms, one
// JSON line {t, utp, tcp}: wall-clock ms (Date.now(), comparable with the sender's marks on
// the same host) and bytes received per transport in that interval. A first line
// {"ready": port} says both listeners are up. Ends by itself after LEDBAT_RX_SECONDS.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { UtpSocket } from '../../src/utp/index.js';

const HOST = process.env.LEDBAT_RX_HOST ?? '0.0.0.0';
const PORT = Number(process.env.LEDBAT_RX_PORT ?? 6881);
const SECONDS = Number(process.env.LEDBAT_RX_SECONDS ?? 40);
const INTERVAL_MS = 500;

async function main(): Promise<void> {
  const counts = { utp: 0, tcp: 0 };
  const open = new Set<Duplex>();
  const count = (s: Duplex, kind: 'utp' | 'tcp') => {
    open.add(s);
    s.on('data', (c: Buffer) => (counts[kind] += c.length));
    s.on('error', () => {});
    s.on('close', () => open.delete(s));
  };
  const utp = await UtpSocket.bind(PORT, HOST);
  utp.on('connection', (s: Duplex) => count(s, 'utp'));
  const server = net.createServer((c) => count(c, 'tcp'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, () => resolve());
  });
  console.log(JSON.stringify({ ready: PORT }));

  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      console.log(JSON.stringify({ t: Date.now(), utp: counts.utp, tcp: counts.tcp }));
      counts.utp = 0;
      counts.tcp = 0;
      if (Date.now() - started >= SECONDS * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, INTERVAL_MS);
  });
  for (const s of open) s.destroy();
  server.close();
  await utp.close();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
