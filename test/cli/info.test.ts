import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, mkdirSync, openSync, closeSync, ftruncateSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, type Encodable } from '../../src/bencode/index.js';
import { runPytor, type RunResult } from '../helpers/cli.js';

const BAD = join('test', 'fixtures', 'bad');
/** Hang guard only: every case answers in well under a second. */
const HANG_GUARD_MS = 10_000;

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

let work = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'pytor-cli-info-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

type Info = { [key: string]: Encodable };
function single(over: Info = {}, length = 40000): Info {
  return { name: 'file.bin', 'piece length': 16384, pieces: Buffer.alloc(20 * Math.ceil(length / 16384), 0x61), length, ...over };
}
function write(name: string, bytes: Uint8Array): string {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
}

/** The contract for every refused input: exit 1, one escaped line naming the file, no stack. */
function assertOneLineFailure(run: RunResult, file: string, expected?: string): void {
  const label = `${file}: ${JSON.stringify(run.stderr)}`;
  assert.equal(run.signal, null, `${label}: killed by the hang guard`);
  assert.equal(run.code, 1, label);
  assert.equal(run.stdout, '', label);
  assert.ok(run.stderr.startsWith(`pytor: ${file}: `), label);
  assert.ok(run.stderr.endsWith('\n'), label);
  assert.equal(run.stderr.split('\n').length, 2, `${label}: exactly one line`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, `${label}: no stack trace`);
  assert.doesNotMatch(run.stderr, /[\x00-\x09\x0b-\x1f\x7f]/, `${label}: raw control bytes`);
  if (expected !== undefined) assert.ok(run.stderr.includes(expected), `${label}: should say ${JSON.stringify(expected)}`);
}

describe('pytor info: the bad-input corpus', () => {
  const expected = JSON.parse(readFileSync(join(process.cwd(), BAD, 'expected.json'), 'utf8')) as Record<string, string>;

  test('has at least 20 committed cases, each listed in expected.json', () => {
    const files = readdirSync(join(process.cwd(), BAD)).filter((f) => f.endsWith('.torrent')).sort();
    assert.ok(files.length >= 20, `only ${files.length} cases`);
    assert.deepEqual(files, Object.keys(expected).sort());
  });

  for (const [name, message] of Object.entries(expected)) {
    test(name, async () => {
      const file = join(BAD, name);
      assertOneLineFailure(await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS }), file, message);
    });
  }

  test('--json fails the same way (nothing on stdout)', async () => {
    const file = join(BAD, 'pieces-length-41.torrent');
    const run = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
    assertOneLineFailure(run, file, 'info.pieces length 41 is not a multiple of 20');
    assert.equal(run.stderr, `pytor: ${file}: invalid torrent: info.pieces length 41 is not a multiple of 20\n`);
  });
});

describe('pytor info: unsafe names are opened with safe paths', () => {
  const UNSAFE = join('test', 'fixtures', 'unsafe');
  const expected = JSON.parse(readFileSync(join(process.cwd(), UNSAFE, 'expected.json'), 'utf8')) as Record<
    string,
    { name: string; paths: string[]; warning?: string }
  >;

  test('every committed case is listed in expected.json', () => {
    const files = readdirSync(join(process.cwd(), UNSAFE)).filter((f) => f.endsWith('.torrent')).sort();
    assert.ok(files.length >= 10, `only ${files.length} cases`);
    assert.deepEqual(files, Object.keys(expected).sort());
  });

  for (const [name, want] of Object.entries(expected)) {
    test(name, async () => {
      const file = join(UNSAFE, name);
      const run = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
      assert.equal(run.code, 0, run.stderr);
      const json = JSON.parse(run.stdout) as { name: string; files: { path: string; originalPath?: string }[] };
      assert.equal(json.name, want.name);
      assert.deepEqual(json.files.map((f) => f.path), want.paths);
      // Each stderr line is one escaped warning; never a stack.
      for (const line of run.stderr.split('\n').filter(Boolean)) assert.match(line, new RegExp(`^pytor: warning: ${file.replace(/[.\\/]/g, '\\$&')}: `));
      assert.doesNotMatch(run.stderr, /^\s+at /m);
      if (want.warning) assert.ok(run.stderr.includes(want.warning), run.stderr);
      else assert.ok(json.files.some((f) => f.originalPath !== undefined) || json.name !== name, 'something was renamed');
    });
  }

  test('human output marks the changed names and shows what the torrent states', async () => {
    const run = await runPytor(['info', join(UNSAFE, 'duplicate-paths.torrent')], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 0, run.stderr);
    // ` ` or `*` (renamed), the file's number, its size, its safe path.
    assert.match(run.stdout, /^ {2}1 {2}1 B {2}a\/b$/m);
    assert.match(run.stdout, /^ \*2 {2}2 B {2}a\/b\.1$/m);
    assert.match(run.stdout, /^ {2}a\/b\.1 {2}<- {2}"a" \/ "b"$/m);
  });
});

describe('pytor info: inputs made at run time', () => {
  test('a folder given as the torrent', async () => {
    const dir = join(work, 'a-folder.torrent');
    mkdirSync(dir);
    assertOneLineFailure(await runPytor(['info', dir], { timeoutMs: HANG_GUARD_MS }), dir, 'is a folder');
  });

  test('a missing file', async () => {
    const missing = join(work, 'nope.torrent');
    assertOneLineFailure(await runPytor(['info', missing], { timeoutMs: HANG_GUARD_MS }), missing, 'no such file');
  });

  test('50 MB of junk', async () => {
    // Seeded junk: each byte from a tiny LCG, no control over where the decoder stops.
    const junk = Buffer.alloc(50 * 1024 * 1024);
    let x = 12345;
    for (let i = 0; i < junk.length; i += 4) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      junk.writeUInt32LE(x, i);
    }
    const file = write('junk.torrent', junk);
    assertOneLineFailure(await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS }), file, 'invalid bencode at byte');
  });

  test('50 MB that looks like bencode: one huge integer, one huge nesting, one huge string', async () => {
    const size = 50 * 1024 * 1024;
    const integer = Buffer.alloc(size, 0x37);
    integer.write('d4:infod6:lengthi', 0, 'latin1');
    integer.write('eee', size - 3, 'latin1');
    const f1 = write('integer.torrent', integer);
    assertOneLineFailure(await runPytor(['info', f1], { timeoutMs: HANG_GUARD_MS }), f1, 'integer longer than 256 digits');
    const f2 = write('nesting.torrent', Buffer.alloc(size, 0x6c));
    assertOneLineFailure(await runPytor(['info', f2], { timeoutMs: HANG_GUARD_MS }), f2, 'nesting deeper than 256');
    const str = Buffer.alloc(size, 0x61);
    str.write(`d7:comment${size}:`, 0, 'latin1');
    const f3 = write('string.torrent', str);
    assertOneLineFailure(await runPytor(['info', f3], { timeoutMs: HANG_GUARD_MS }), f3, 'runs past the end of input');
  });

  test('a file over the 64 MiB cap is refused before it is read', async () => {
    const file = join(work, 'sparse.torrent');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 65 * 1024 * 1024); // sparse: no disk used
    closeSync(fd);
    assertOneLineFailure(await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS }), file, 'more than the 67108864');
  });

  test('a file name with control characters is escaped in the error line', async () => {
    const file = join(work, 'evil\x1b[2Jname\r.torrent');
    writeFileSync(file, 'not bencode');
    const run = await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes('evil\\x1b[2Jname\\x0d.torrent: '), run.stderr);
    assert.doesNotMatch(run.stderr, /[\x1b\r]/);
  });

  test('with DEBUG=pytor:* the stack is shown too', async () => {
    const file = join(BAD, 'pieces-length-41.torrent');
    const run = await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS, env: { DEBUG: 'pytor:*' } });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const lines = run.stderr.split('\n');
    assert.equal(lines[0], `pytor: ${file}: invalid torrent: info.pieces length 41 is not a multiple of 20`);
    assert.ok(lines.some((l) => /^\s+at /.test(l)), run.stderr);
    // And without DEBUG, none (runPytor drops an inherited DEBUG when env is given).
    const quiet = await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS, env: {} });
    assertOneLineFailure(quiet, file);
  });

  test('usage errors exit 2', async () => {
    const run = await runPytor(['info'], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /missing required argument/);
  });
});

describe('pytor info: output', () => {
  const JSON_KEYS = [
    'infoHash', 'name', 'length', 'pieceLength', 'pieceCount', 'private', 'announce', 'announceList',
    'urlList', 'files', 'symlinks', 'comment', 'createdBy', 'creationDate',
  ];

  test('--json has exactly the documented fields, in order, with the right values', async () => {
    const info: Info = {
      name: 'album',
      'piece length': 16384,
      pieces: Buffer.alloc(40, 0x62),
      private: 1,
      files: [
        { length: 100, path: ['cd1', 'a.flac'] },
        { length: 16284, path: ['.pad', '16284'], attr: 'p' },
        { length: 5, path: ['b.txt'] },
      ],
    };
    const file = write('good.torrent', encode({
      announce: 'http://a/announce',
      'announce-list': [['http://a/announce', 'http://b/announce'], ['udp://c:80']],
      'url-list': ['http://seed/'],
      comment: 'a comment',
      'created by': 'hand 1.0',
      'creation date': 1700000000,
      info,
    }));
    const run = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), JSON_KEYS);
    assert.deepEqual(json, {
      infoHash: sha1(encode(info)),
      name: 'album',
      length: 16389,
      pieceLength: 16384,
      pieceCount: 2,
      private: true,
      announce: 'http://a/announce',
      announceList: [['http://a/announce', 'http://b/announce'], ['udp://c:80']],
      urlList: ['http://seed/'],
      files: [
        { index: 1, path: 'cd1/a.flac', length: 100, padding: false },
        { index: 2, path: '.pad/16284', length: 16284, padding: true },
        { index: 3, path: 'b.txt', length: 5, padding: false },
      ],
      symlinks: [],
      comment: 'a comment',
      createdBy: 'hand 1.0',
      creationDate: 1700000000,
    });
    for (const f of json.files as Record<string, unknown>[]) assert.deepEqual(Object.keys(f), ['index', 'path', 'length', 'padding']);
  });

  test('--json gives null for absent values', async () => {
    const file = write('bare.torrent', encode({ info: single() }));
    const run = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), JSON_KEYS);
    assert.equal(json.announce, null);
    assert.equal(json.comment, null);
    assert.equal(json.createdBy, null);
    assert.equal(json.creationDate, null);
    assert.deepEqual(json.announceList, []);
    assert.deepEqual(json.urlList, []);
    assert.equal(json.private, false);
    assert.deepEqual(json.files, [{ index: 1, path: 'file.bin', length: 40000, padding: false }]);
  });

  test('human output shows the essentials', async () => {
    const file = write('human.torrent', encode({ announce: 'http://t/a', 'created by': 'me', info: single({ name: 'movie.mkv' }, 1_500_000) }));
    const run = await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^name: +movie\.mkv$/m);
    assert.match(run.stdout, /^info hash: +[0-9a-f]{40}$/m);
    assert.match(run.stdout, /^size: +1\.43 MiB \(1500000 bytes\)$/m);
    assert.match(run.stdout, /^piece length: +16 KiB \(16384 bytes\)$/m);
    assert.match(run.stdout, /^pieces: +92$/m);
    assert.match(run.stdout, /^ {2}tier 1: http:\/\/t\/a$/m);
    assert.match(run.stdout, /^created by: +me$/m);
    assert.match(run.stdout, /^files \(1\):\n {2}1 {2}1\.43 MiB {2}movie\.mkv$/m);
  });

  test('hostile names (ESC, CR, BEL, C1, bidi) never reach the terminal raw', async () => {
    const evil = 'x\x1b]0;pwned\x07\x1b[2J\rfake\x9b31m\u202eexe.txt';
    const file = write('hostile.torrent', encode({
      announce: 'http://t/\x1b[31m',
      comment: 'c\x1b[5m\x07',
      'created by': 'b\r\n',
      info: {
        name: evil,
        'piece length': 16384,
        pieces: Buffer.alloc(20),
        files: [{ length: 10, path: ['d\x1bir', `f\x07\x08\x7f${evil}`] }],
      },
    }));
    const human = await runPytor(['info', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(human.code, 0, human.stderr);
    // Only printable text and the newlines between rows.
    assert.doesNotMatch(human.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    assert.ok(human.stdout.includes('x\\x1b]0;pwned\\x07\\x1b[2J\\x0dfake\\x9b31m\\u202eexe.txt'), human.stdout);
    // The stated path, each component quoted, beside the safe one.
    assert.ok(human.stdout.includes('"d\\x1bir" / "f\\x07\\x08\\x7f'), human.stdout);
    assert.ok(human.stdout.includes('d_ir/f___x_]0;pwned__[2J_fake_31m_exe.txt'), human.stdout);
    // The warnings on stderr are escaped too.
    assert.match(human.stderr, /^pytor: warning: /);
    assert.doesNotMatch(human.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);

    const json = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    // Escaped, but the JSON still reads back as the exact names.
    const parsed = JSON.parse(json.stdout) as { name: string; originalName: string; files: { path: string; originalPath: string }[]; createdBy: string };
    assert.equal(parsed.name, 'x_]0;pwned__[2J_fake_31m_exe.txt');
    assert.equal(parsed.originalName, evil);
    assert.equal(parsed.files[0]?.path, 'd_ir/f___x_]0;pwned__[2J_fake_31m_exe.txt');
    assert.equal(parsed.files[0]?.originalPath, `d\x1bir/f\x07\x08\x7f${evil}`);
    assert.equal(parsed.createdBy, 'b\r\n');
  });

  test('a torrent listing 200 000 files prints (no argument-spread stack overflow)', async () => {
    const count = 200_000;
    const files: Info[] = [];
    for (let i = 0; i < count; i++) files.push({ length: 1, path: [`d${i % 100}`, `f${i}`] });
    const file = write('many.torrent', encode({
      info: { name: 'many', 'piece length': 262144, pieces: Buffer.alloc(20), files },
    }));
    const run = await runPytor(['info', file], { timeoutMs: 60_000 });
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^files \(200000\):$/m);
    assert.match(run.stdout, /^ {2}200000 {2}1 B {2}d99\/f199999$/m);
  });

  /** Runs `pytor info --json FIFO` while this process writes `bytes` into the FIFO. */
  async function throughFifo(name: string, bytes: Buffer): Promise<RunResult> {
    const fifo = join(work, name);
    execFileSync('mkfifo', [fifo]);
    const running = runPytor(['info', '--json', fifo], { timeoutMs: HANG_GUARD_MS });
    const writer = createWriteStream(fifo);
    writer.on('error', () => {}); // the reader may stop early; the run result says what happened
    writer.end(bytes);
    return running;
  }

  test('reads a torrent from a pipe (stat size 0), as with <(cat x.torrent)', async () => {
    const bytes = encode({ announce: 'http://t/a', info: single({ name: 'piped' }) });
    const run = await throughFifo('small.fifo', bytes);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const json = JSON.parse(run.stdout) as { name: string; infoHash: string };
    assert.equal(json.name, 'piped');
    assert.equal(json.infoHash, sha1(encode(single({ name: 'piped' }))));
  });

  test('reads a torrent bigger than one read chunk, from a file and from a pipe', async () => {
    // 2 MB of hashes: more than the first 64 KiB chunk and the doubling that follows.
    const length = 100_000 * 16384;
    const bytes = encode({ info: single({ name: 'big', pieces: Buffer.alloc(20 * 100_000, 0x41) }, length) });
    const file = write('big-pieces.torrent', bytes);
    const run = await runPytor(['info', '--json', file], { timeoutMs: HANG_GUARD_MS });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { pieceCount: number }).pieceCount, 100_000);
    const piped = await throughFifo('big.fifo', bytes);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, run.stdout);
  });
});
