// The piece hasher's worker thread: SHA-1 of each piece it is handed, the piece's memory
// handed back with the digest (transferred both ways, never copied).
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface HashRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly length: number;
}

parentPort?.on('message', (req: HashRequest) => {
  const digest = createHash('sha1').update(new Uint8Array(req.buffer, 0, req.length)).digest();
  parentPort!.postMessage({ id: req.id, buffer: req.buffer, digest }, [req.buffer]);
});
