// Transmission's protocol-encryption setting on a daemon started by transmission.ts, changed
// through its RPC (session-set "encryption": "required" | "preferred" | "tolerated"), which
// applies to every connection made after it.
import http from 'node:http';
import { LOOPBACK } from './ports.js';
import type { TransmissionHandle } from './transmission.js';

export type TransmissionEncryption = 'required' | 'preferred' | 'tolerated';

function rpc<T>(port: number, method: string, args: Record<string, unknown>, session = ''): Promise<T> {
  const body = JSON.stringify({ method, arguments: args });
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        host: LOOPBACK,
        port,
        path: '/transmission/rpc',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'X-Transmission-Session-Id': session },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode === 409 && session === '') {
            rpc<T>(port, method, args, String(res.headers['x-transmission-session-id'] ?? '')).then(resolve, reject);
            return;
          }
          try {
            const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result: string; arguments: T };
            if (j.result !== 'success') reject(new Error(`transmission rpc ${method}: ${j.result}`));
            else resolve(j.arguments);
          } catch (err) {
            reject(new Error(`transmission rpc ${method}: HTTP ${res.statusCode}: ${(err as Error).message}`));
          }
        });
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('transmission rpc timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sets the daemon's encryption mode and reads it back (throws if it did not take). */
export async function setTransmissionEncryption(tr: TransmissionHandle, mode: TransmissionEncryption): Promise<void> {
  await rpc(tr.rpcPort, 'session-set', { encryption: mode });
  const got = await rpc<{ encryption: string }>(tr.rpcPort, 'session-get', { fields: ['encryption'] });
  if (got.encryption !== mode) throw new Error(`transmission encryption is ${got.encryption}, wanted ${mode}`);
}
