// Deterministic pseudo-random payloads, streamed to disk so sizes up to GiBs never sit in
// memory. The bytes are AES-128-CTR keystream (encrypting zeros): fast (GB/s), and the same
// (seed, path) always gives the same bytes, so a test can regenerate or hash them anytime.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';

export interface PayloadFile {
  /** Relative path with '/' separators, e.g. 'dir/sub/a.bin'. */
  path: string;
  size: number;
}

export interface PayloadSpec {
  files: PayloadFile[];
}

const CHUNK = 1 << 20;

function keyFor(seed: string | number, relPath: string): Buffer {
  return createHash('sha256').update(`pytor-payload\0${String(seed)}\0${relPath}`).digest().subarray(0, 16);
}

/** Yields the bytes of one payload file in chunks of at most 1 MiB. */
export function* payloadChunks(seed: string | number, relPath: string, size: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', keyFor(seed, relPath), Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  let left = size;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    yield cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    left -= n;
  }
}

/**
 * Writes every file of `spec` under `dir` (folders created as needed).
 * The same `seed` gives the same bytes on every run and machine.
 */
export async function makePayload(dir: string, spec: PayloadSpec, seed: string | number): Promise<void> {
  for (const f of spec.files) {
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`makePayload: bad size ${f.size} for ${f.path}`);
    const target = path.join(dir, ...f.path.split('/'));
    const rel = path.relative(dir, target);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`makePayload: path escapes dir: ${f.path}`);
    await mkdir(path.dirname(target), { recursive: true });
    const fh = await open(target, 'w');
    try {
      for (const chunk of payloadChunks(seed, f.path, f.size)) await fh.write(chunk);
    } finally {
      await fh.close();
    }
  }
}

/** SHA-256 (hex) of the bytes `makePayload` writes for one file, computed without disk I/O. */
export function expectedFileHash(seed: string | number, relPath: string, size: number): string {
  const h = createHash('sha256');
  for (const chunk of payloadChunks(seed, relPath, size)) h.update(chunk);
  return h.digest('hex');
}

/** SHA-256 (hex) of a file on disk, streamed. */
export function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: CHUNK })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Compares the files of `spec` under `dir` with what `makePayload(…, seed)` writes.
 * Returns a list of problems (empty when everything matches).
 */
export async function verifyPayload(dir: string, spec: PayloadSpec, seed: string | number): Promise<string[]> {
  const problems: string[] = [];
  for (const f of spec.files) {
    const target = path.join(dir, ...f.path.split('/'));
    let actual: string;
    try {
      actual = await hashFile(target);
    } catch (err) {
      problems.push(`${f.path}: cannot read (${(err as Error).message})`);
      continue;
    }
    if (actual !== expectedFileHash(seed, f.path, f.size)) problems.push(`${f.path}: content differs`);
  }
  return problems;
}
