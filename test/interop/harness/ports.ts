// Free ports on 127.0.0.1, found by letting the kernel pick one and releasing it.
// A tiny race remains (another process could take the port before we bind it again);
// callers that hit EADDRINUSE should simply ask again.
import net from 'node:net';
import dgram from 'node:dgram';

export const LOOPBACK = '127.0.0.1';

// Ports handed out by this process are remembered so two callers in the same test run
// never receive the same number even if the first has not bound it yet.
const handedOut = new Set<number>();

function tryTcp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tryUdp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.unref();
    sock.once('error', reject);
    sock.bind({ address: LOOPBACK, port: 0, exclusive: true }, () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

/** Checks that `port` can be bound for both TCP and UDP on 127.0.0.1 right now. */
async function bindableBoth(port: number): Promise<boolean> {
  const tcpOk = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host: LOOPBACK, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
  if (!tcpOk) return false;
  return new Promise<boolean>((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.unref();
    sock.once('error', () => resolve(false));
    sock.bind({ address: LOOPBACK, port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 that is free for `proto` ('tcp' by default) at the time of the call.
 * 'both' gives a port free for TCP and UDP (for clients that listen on both, e.g. libtorrent
 * and transmission with the same number).
 */
export async function freePort(proto: 'tcp' | 'udp' | 'both' = 'tcp'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = proto === 'udp' ? await tryUdp() : await tryTcp();
    if (port === 0 || handedOut.has(port)) continue;
    if (proto === 'both' && !(await bindableBoth(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort(${proto}): no free port found in 50 attempts`);
}
