// One payload for a bench direction: a deterministic file of SIZE bytes, a v1 .torrent with
// 256 KiB pieces that names a loopback opentracker (aria2c finds peers only through one), and
// a byte-for-byte check of any copy. Everything lives in one temp folder.
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { LOOPBACK } from '../test/interop/harness/ports.js';
import { makePayload, expectedFileHash, hashFile } from '../test/interop/harness/payload.js';
import { makeTorrent } from '../test/interop/harness/libtorrent.js';
import { startOpentracker, type OpentrackerHandle } from '../test/interop/harness/trackers.js';
import { fmt } from './util.js';

export const NAME = 'payload.bin';
const SEED_KEY = 'pytor-bench';

export interface Fixture {
  size: number;
  /** The folder that holds payload.bin (what seeders serve, read-only). */
  seedDir: string;
  torrentFile: string;
  infoHash: string;
  tracker: OpentrackerHandle;
  /** A fresh folder name under the work dir (not created). */
  scratch(label: string): string;
  /** undefined when `file` is the payload byte for byte, else what is wrong. */
  verify(file: string): Promise<string | undefined>;
  close(): Promise<void>;
}

let counter = 0;

export async function makeFixture(work: string, size: number, log: (s: string) => void): Promise<Fixture> {
  const dir = path.join(work, `fx-${size}`);
  const seedDir = path.join(dir, 'seed');
  await mkdir(seedDir, { recursive: true });
  let t0 = Date.now();
  await makePayload(seedDir, { files: [{ path: NAME, size }] }, SEED_KEY);
  const wantHash = expectedFileHash(SEED_KEY, NAME, size);
  log(`payload of ${size} bytes written in ${fmt((Date.now() - t0) / 1000)} s`);
  const tracker = await startOpentracker({ host: LOOPBACK });
  t0 = Date.now();
  const torrentFile = path.join(dir, 'payload.torrent');
  const made = await makeTorrent({ dataPath: path.join(seedDir, NAME), pieceLength: 256 * 1024, trackers: [tracker.httpUrl], outFile: torrentFile, v1Only: true });
  await tracker.allow([made.infoHash]);
  log(`torrent made in ${fmt((Date.now() - t0) / 1000)} s; info-hash ${made.infoHash}`);
  return {
    size,
    seedDir,
    torrentFile,
    infoHash: made.infoHash,
    tracker,
    scratch: (label) => path.join(dir, `${label}-${++counter}`),
    async verify(file) {
      let st;
      try {
        st = await stat(file);
      } catch {
        return `no output file ${file}`;
      }
      if (st.size !== size) return `output size ${st.size}, want ${size}`;
      if ((await hashFile(file)) !== wantHash) return 'output bytes differ from the payload';
      return undefined;
    },
    async close() {
      await tracker.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
