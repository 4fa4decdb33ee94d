// The edge-case corpus (test/metainfo/sanitize-corpus.ts plus the committed fixtures in
// test/fixtures/bad and test/fixtures/unsafe), read by python3-libtorrent 2.0.8 and
// transmission-show 3.00 and by pytor. What both real clients open, pytor opens, with
// libtorrent's v1 info-hash and total size and only safe paths; what both refuse, pytor refuses
// with one clean line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BencodeError } from '../../src/bencode/index.js';
import { checkPathComponent, MetainfoError, parseTorrent, UnsupportedTorrentError, type Torrent } from '../../src/metainfo/index.js';
import { runPytor } from '../helpers/cli.js';
import { makeSanitizeCorpus, type CorpusCase } from '../metainfo/sanitize-corpus.js';
import { PYTHON, PY_DIR } from './harness/libtorrent.js';

const run = promisify(execFile);

interface LtResult {
  file: string;
  ok: boolean;
  error?: string;
  infoHash?: string;
  totalSize?: number;
  files?: { path: string; size: number; pad: boolean; symlink: boolean }[];
}

/**
 * Non-canonical bencode that libtorrent reads: pytor reads it too in .torrent files (lenient
 * decoding, the first of duplicate keys wins as in libtorrent), with a warning. Transmission
 * 3.00 reads all but the leading zero in an integer (transmission-show: "Error parsing .torrent
 * file"), so that one falls under "only libtorrent opens it" below.
 */
const NON_CANONICAL = ['unsafe/duplicate-keys.torrent', 'unsafe/duplicate-info.torrent', 'unsafe/leading-zero-length.torrent', 'unsafe/leading-zero-integer.torrent'];

interface Entry {
  label: string;
  file: string;
  corpus?: CorpusCase;
  lt?: LtResult;
  transmission?: boolean;
}

let work = '';
const entries: Entry[] = [];

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'pytor-sanitize-'));
  for (const c of makeSanitizeCorpus()) {
    const file = path.join(work, `${c.id}.torrent`);
    writeFileSync(file, c.torrent);
    entries.push({ label: c.id, file, corpus: c });
  }
  for (const dir of ['bad', 'unsafe']) {
    const folder = path.join(process.cwd(), 'test', 'fixtures', dir);
    for (const n of readdirSync(folder).filter((f) => f.endsWith('.torrent')).sort()) {
      entries.push({ label: `${dir}/${n}`, file: path.join(folder, n) });
    }
  }
  // One python process for the whole corpus.
  const { stdout } = await run(PYTHON, [path.join(PY_DIR, 'lt_open_many.py'), ...entries.map((e) => e.file)], { maxBuffer: 64 << 20 });
  const results = JSON.parse(stdout) as LtResult[];
  assert.equal(results.length, entries.length);
  results.forEach((r, i) => (entries[i]!.lt = r));
  for (const e of entries) {
    // transmission-show exits non-zero when it cannot parse the torrent.
    e.transmission = await run('transmission-show', [e.file], { timeout: 10_000 }).then(() => true, () => false);
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function parsed(file: string): Torrent | Error {
  try {
    return parseTorrent(readFileSync(file));
  } catch (err) {
    return err as Error;
  }
}

function assertSafe(t: Torrent, label: string): void {
  checkPathComponent(t.name, `${label}: name`);
  for (const f of t.files) for (const c of f.path) checkPathComponent(c, `${label}: ${f.path.join('/')}`);
  const data = t.files.filter((f) => !f.padding).map((f) => f.path.join('/').toLowerCase());
  assert.equal(new Set(data).size, data.length, `${label}: two files share a path`);
}

test('the corpus covers every case of the issue, and both real clients agree with it on most', () => {
  const ids = entries.filter((e) => e.corpus).map((e) => e.label);
  for (const must of ['single-backslash', 'multi-backslash', 'single-long-cjk', 'multi-long-cjk', 'multi-duplicate', 'multi-dotdot', 'multi-absolute', 'multi-empty-component', 'single-trailing-bytes', 'multi-pad-files', 'multi-symlink', 'multi-invalid-utf8', 'v2-only', 'pieces-not-20']) {
    assert.ok(ids.includes(must), must);
  }
  const bothOpen = entries.filter((e) => e.lt?.ok && e.transmission).length;
  const bothRefuse = entries.filter((e) => !e.lt?.ok && !e.transmission).length;
  // libtorrent opens the non-canonical cases; pytor opens them with libtorrent's info-hash
  // and size, and says what it read leniently.
  for (const label of NON_CANONICAL) {
    const e = entries.find((x) => x.label === label);
    assert.ok(e?.lt?.ok, `${label}: libtorrent ${e?.lt?.error ?? 'missing'}`);
    const t = parsed(e.file);
    assert.ok(!(t instanceof Error), `${label}: ${String(t)}`);
    assert.equal(t.infoHashHex, e.lt.infoHash, label);
    assert.equal(t.length, e.lt.totalSize, label);
    assert.ok(t.warnings?.some((w) => w.startsWith('non-canonical bencode: ')), `${label}: ${t.warnings?.join('; ')}`);
  }
  assert.ok(bothOpen >= 20, `only ${bothOpen} cases both clients open`);
  assert.ok(bothRefuse >= 20, `only ${bothRefuse} cases both clients refuse`);
});

test('what libtorrent and Transmission both open, pytor opens: same v1 info-hash and size as libtorrent, safe paths', () => {
  const failures: string[] = [];
  for (const e of entries.filter((x) => x.lt?.ok && x.transmission)) {
    const t = parsed(e.file);
    if (t instanceof Error) {
      failures.push(`${e.label}: pytor refused: ${t.message}`);
      continue;
    }
    assert.equal(t.infoHashHex, e.lt!.infoHash, e.label);
    assert.equal(t.length, e.lt!.totalSize, e.label);
    assertSafe(t, e.label);
    // The same files hold data (pads and symlinks aside), in the same order and sizes.
    const ltData = e.lt!.files!.filter((f) => !f.pad && !f.symlink).map((f) => f.size);
    const ours = t.files.filter((f) => !f.padding).map((f) => f.length);
    assert.deepEqual(ours, ltData, `${e.label}: data file sizes`);
  }
  assert.deepEqual(failures, []);
});

test('what libtorrent and Transmission both refuse, pytor refuses with a typed error', () => {
  for (const e of entries.filter((x) => !x.lt?.ok && !x.transmission)) {
    const t = parsed(e.file);
    assert.ok(
      t instanceof MetainfoError || t instanceof BencodeError || t instanceof UnsupportedTorrentError,
      `${e.label}: libtorrent (${e.lt?.error}) and Transmission refuse it, pytor ${t instanceof Error ? `threw ${t.name}: ${t.message}` : 'opened it'}`,
    );
  }
});

test('where only libtorrent opens it, pytor agrees with libtorrent whenever it opens it too', () => {
  for (const e of entries.filter((x) => x.lt?.ok && !x.transmission)) {
    const t = parsed(e.file);
    if (t instanceof UnsupportedTorrentError) continue; // v2-only: libtorrent reads BEP 52, pytor not yet
    assert.ok(!(t instanceof Error), `${e.label}: ${String(t)}`);
    assert.equal(t.infoHashHex, e.lt!.infoHash, e.label);
    assert.equal(t.length, e.lt!.totalSize, e.label);
    assertSafe(t, e.label);
  }
});

test('every corpus case does what the corpus says pytor does', () => {
  for (const e of entries.filter((x) => x.corpus)) {
    const t = parsed(e.file);
    if (e.corpus!.pytor === 'open') {
      assert.ok(!(t instanceof Error), `${e.label}: ${String(t)}`);
      assertSafe(t, e.label);
    } else {
      assert.ok(t instanceof Error, `${e.label}: opened`);
      assert.ok(t.message.includes(e.corpus!.refusal!), `${e.label}: ${t.message}`);
    }
  }
});

test('pytor info on every case: exit 0 with safe JSON, or exit 1 with one line; never a stack or a hang', async () => {
  for (const e of entries) {
    const r = await runPytor(['info', '--json', e.file], { timeoutMs: 15_000 });
    assert.equal(r.signal, null, `${e.label}: hung`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, e.label);
    assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, `${e.label}: raw control bytes on stderr`);
    if (r.code === 0) {
      const j = JSON.parse(r.stdout) as { name: string; files: { path: string }[] };
      for (const p of [j.name, ...j.files.map((f) => f.path)]) for (const c of p.split('/')) checkPathComponent(c, e.label);
      for (const line of r.stderr.split('\n').filter(Boolean)) assert.match(line, /^pytor: warning: /, e.label);
    } else {
      assert.equal(r.code, 1, `${e.label}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 2, `${e.label}: one line: ${r.stderr}`);
    }
  }
});
