// Fast resume through the CLI, measured in bytes read: a complete 1 GiB torrent restarts as
// complete having read under 1% of it; touching one file re-checks that file only; --recheck
// and unreadable resume data fall back to a full check. Read counts come from the child's own
// /proc/self/io at exit (test/helpers/io-report.ts), not from timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { PYTOR_ENTRY } from '../helpers/cli.js';

const MiB = 1 << 20;
const IO_REPORT = fileURLToPath(new URL('../helpers/io-report.js', import.meta.url));
const FILES = [
  { name: 'a.bin', size: 256 * MiB },
  { name: 'b.bin', size: 512 * MiB },
  { name: 'c.bin', size: 256 * MiB },
];
const TOTAL = FILES.reduce((n, f) => n + f.size, 0);

/** Writes `size` bytes: a random 1 MiB block over and over (fast to make, real bytes on disk). */
async function writePattern(file: string, size: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(file);
  for (let done = 0; done < size; done += MiB) {
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Bytes the process read through read(2) and friends (rchar). */
  readBytes: number;
}

/** Runs pytor to its end; with `interruptOn`, sends Ctrl-C once its output matches. */
async function pytor(args: string[], reportFile: string, interruptOn?: RegExp): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTOR_IO_REPORT: reportFile };
  delete env.DEBUG;
  const child = spawn(process.execPath, ['--import', IO_REPORT, PYTOR_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  const watch = () => {
    if (interruptOn && !interrupted && interruptOn.test(stdout + stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), watch()));
  child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), watch()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const report = await readFile(reportFile, 'utf8');
  const m = /^rchar: (\d+)$/m.exec(report);
  assert.ok(m, `no rchar in ${report}`);
  return { code, stdout, stderr, readBytes: Number(m[1]) };
}

test('fast resume: a complete 1 GiB torrent restarts reading < 1%; a touched file alone is re-checked', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-fast-resume-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  const data = path.join(out, 'big');
  const state = path.join(dir, 'state');
  await mkdir(data, { recursive: true });
  for (const f of FILES) await writePattern(path.join(data, f.name), f.size);
  const torrentFile = path.join(dir, 'big.torrent');
  const report = path.join(dir, 'io.txt');
  const made = await pytor(['create', data, '-o', torrentFile, '-l', '1M', '--no-date'], report);
  assert.equal(made.code, 0, made.stderr);

  // Nobody to download from: the data is all there already. Port 9 (discard) refuses at once.
  const download = ['download', torrentFile, '-o', out, '--no-trackers', '--peer', '127.0.0.1:9', '--port', '0', '--bind', '127.0.0.1', '--state-dir', state, '--json'];
  const summary = (r: Run) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { complete: boolean; verified: number; downloaded: number };

  const first = await pytor(download, report);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(summary(first).complete, true);
  assert.ok(first.readBytes >= TOTAL, `the first run hashed everything (read ${first.readBytes} bytes)`);
  assert.deepEqual(await readdir(path.join(state, 'resume')), [`${(await infoHashOf(torrentFile, report))}.resume`]);

  const second = await pytor(download, report);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(summary(second).complete, true);
  assert.equal(summary(second).verified, TOTAL);
  assert.equal(summary(second).downloaded, 0);
  assert.ok(second.readBytes < TOTAL / 100, `restart read ${second.readBytes} bytes, under 1% of ${TOTAL}`);

  // Touch b.bin (same bytes, new mtime): its 512 pieces are hashed again, a.bin's and c.bin's are not.
  const later = new Date(Date.now() + 60_000);
  await utimes(path.join(data, 'b.bin'), later, later);
  const touched = await pytor(download, report);
  assert.equal(touched.code, 0, touched.stderr);
  assert.equal(summary(touched).complete, true);
  assert.ok(touched.readBytes >= 512 * MiB, `b.bin re-checked (read ${touched.readBytes})`);
  assert.ok(touched.readBytes < 512 * MiB + TOTAL / 100, `only b.bin re-checked (read ${touched.readBytes})`);

  // --recheck trusts nothing.
  const rechecked = await pytor([...download, '--recheck'], report);
  assert.equal(rechecked.code, 0, rechecked.stderr);
  assert.ok(rechecked.readBytes >= TOTAL, `--recheck hashed everything (read ${rechecked.readBytes})`);

  // Garbage resume data is ignored (full check), never trusted, never a crash.
  const resumeFile = path.join(state, 'resume', (await readdir(path.join(state, 'resume')))[0]!);
  await writeFile(resumeFile, Buffer.from('d4:junk'));
  const garbage = await pytor(download, report);
  assert.equal(garbage.code, 0, garbage.stderr);
  assert.equal(summary(garbage).complete, true);
  assert.ok(garbage.readBytes >= TOTAL, 'unreadable resume data means a full check');
  const again = await pytor(download, report);
  assert.ok(again.readBytes < TOTAL / 100, 'and a good resume file is written again');

  // Damage one byte of b.bin: the write moves its mtime, so b.bin is re-checked and the one
  // bad piece found missing, not trusted from the resume data.
  const fd = await import('node:fs/promises').then((fs) => fs.open(path.join(data, 'b.bin'), 'r+'));
  await fd.write(Buffer.from('X'), 0, 1, 5 * MiB);
  await fd.close();
  const seed = ['seed', torrentFile, '-d', out, '--no-trackers', '--port', '0', '--bind', '127.0.0.1', '--state-dir', state];
  const damaged = await pytor(seed, report, /holds \d+ of \d+ pieces/);
  assert.equal(damaged.code, 130, damaged.stderr);
  assert.match(damaged.stderr, /holds 1023 of 1024 pieces/, 'exactly the damaged piece is missing');
});

async function infoHashOf(torrentFile: string, report: string): Promise<string> {
  const r = await pytor(['info', torrentFile, '--json'], report);
  return (JSON.parse(r.stdout) as { infoHash: string }).infoHash;
}
