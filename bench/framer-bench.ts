/**
 * Framer throughput: 16 KiB piece messages fed in 64 KiB chunks (a typical socket read).
 * Not a test: prints MB/s of wire bytes. Run: node <outDir>/bench/framer-bench.js
 */
import { encodePieceHeader, Framer } from '../src/wire/index.js';

const BLOCK = 16 * 1024;
const CHUNK = 64 * 1024;
const MESSAGES = 4096; // 64 MiB of payload per pass
const PASSES = 21;

const block = Buffer.alloc(BLOCK, 0x5a);
const parts: Buffer[] = [];
for (let i = 0; i < MESSAGES; i++) parts.push(encodePieceHeader(i % 1000, 0, BLOCK), block);
const stream = Buffer.concat(parts);
// Separate buffers per chunk, as a socket delivers them.
const chunks: Buffer[] = [];
for (let at = 0; at < stream.length; at += CHUNK) chunks.push(Buffer.from(stream.subarray(at, at + CHUNK)));

function pass(): number {
  const framer = new Framer({ pieceCount: 1000 });
  let blocks = 0;
  let checksum = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let r = framer.next(); r.kind === 'message'; r = framer.next()) {
      if (r.msg.type === 'piece') {
        blocks++;
        checksum += r.msg.block[0]!;
      }
    }
  }
  if (blocks !== MESSAGES || checksum !== MESSAGES * 0x5a) throw new Error('framer lost data');
  return blocks;
}

pass(); // warm up
const rates: number[] = [];
for (let i = 0; i < PASSES; i++) {
  const start = process.hrtime.bigint();
  pass();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rates.push(stream.length / 1e6 / seconds);
}
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
console.log(`framer: ${(stream.length / 1e6).toFixed(1)} MB per pass, 16 KiB pieces in 64 KiB chunks, median ${median.toFixed(0)} MB/s (min ${rates[0]!.toFixed(0)}, max ${rates[rates.length - 1]!.toFixed(0)})`);
