import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { pieceSize, type Torrent } from '../metainfo/types.js';
import { ioError, StorageError } from './errors.js';
import { pieceSpans, type FileSpan } from './file-map.js';
import { HandlePool } from './handle-pool.js';
import { TransferIo } from './transfer-io.js';
import { PartFile } from './part-file.js';
import { MISSING_FILE, PieceTrust, type FileStamp } from './resume.js';
import { verifyPiece, verifyPieceOffThread } from './verify.js';

export interface StorageOptions {
  /** Most file handles kept open at once (least recently used are closed first). Default 64. */
  readonly maxOpenFiles?: number;
  /**
   * Open without creating or resizing anything: for checking or seeding existing data.
   * Missing files then count as missing pieces; writePiece throws.
   */
  readonly readOnly?: boolean;
  /**
   * Per file: whether it is selected (absent: all). Unselected files are never created or
   * written; the bytes of verified pieces that fall in them are kept whole in the part file
   * (OUT/.pytor/), and moved into a file when a later open selects it.
   */
  readonly wantedFiles?: readonly boolean[];
  /** Piece writes on the event loop while they are fast (default true; transfer-io.ts). */
  readonly ioOnEventLoop?: boolean;
}

export const DEFAULT_MAX_OPEN_FILES = 64;

/** Bytes of piece buffers the start-up check may hold at once. */
const CHECK_BUFFER_BYTES = 32 * 1024 * 1024;

/** How the start-up check spreads its work. */
export interface CheckPlan {
  /** Pieces read (and hashed) at once, each into its own buffer. */
  readonly lanes: number;
  /** Hash on libuv's thread pool rather than the main thread. */
  readonly offThread: boolean;
}

/**
 * Up to two cores: two lanes, hashed on the main thread while the other lane's read runs (on
 * 2 cores, hashing on the pool was no faster and cost about 15% more CPU: bench check, A/B). More
 * cores: one lane more than the cores, hashed on the thread pool, at most the pool's threads
 * (4 unless UV_THREADPOOL_SIZE says otherwise) and CHECK_BUFFER_BYTES of pieces.
 */
export function checkPlan(pieceLength: number, cores = availableParallelism(), poolThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4): CheckPlan {
  if (cores <= 2) return { lanes: 2, offThread: false };
  return { lanes: Math.max(2, Math.min(cores + 1, poolThreads, Math.floor(CHECK_BUFFER_BYTES / pieceLength))), offThread: true };
}

/** O_NOFOLLOW where the platform has it: the final open never follows a symlink planted after the check. */
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

/** One torrent file as placed on disk. Pad files have no place (`diskPath` undefined). */
interface PlacedFile {
  readonly diskPath: string | undefined;
  readonly length: number;
  /** Size and mtime found on disk before open() touched it; size -1 when the file did not exist. */
  readonly atOpen: FileStamp;
  /** Not selected: never created or written. */
  readonly unwanted: boolean;
}

/**
 * The torrent's files under an output folder: single-file torrents at OUT/<name>, multi-file
 * at OUT/<name>/<path...>. Every path is checked to stay inside OUT (symlinks included) when
 * the storage is opened. Pieces are written only whole and verified (the session's job), so
 * any data on disk that hashes right is safe to resume from.
 */
export class TorrentStorage {
  private readonly pool: HandlePool;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Piece writes: on the event loop until the disk is slow (transfer-io.ts). */
  private readonly io: TransferIo;
  /** Pieces written through this storage: their bytes exist even where the file was short at open. */
  private readonly written: Uint8Array;
  private closed = false;

  private constructor(
    readonly torrent: Torrent,
    /** The output folder, resolved (symlinks in the folder's own path followed). */
    readonly root: string,
    private readonly files: readonly PlacedFile[],
    private readonly readOnly: boolean,
    maxOpenFiles: number,
    /** Whole pieces that hold bytes of unselected files (read-only when the storage is). */
    private readonly part: PartFile | undefined,
    ioOnEventLoop: boolean,
  ) {
    const flags = readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR;
    this.pool = new HandlePool((i) => this.diskPathOf(i), flags | O_NOFOLLOW, maxOpenFiles);
    this.written = new Uint8Array(torrent.pieces.length);
    this.io = new TransferIo(ioOnEventLoop);
  }

  static async open(torrent: Torrent, outDir: string, options: StorageOptions = {}): Promise<TorrentStorage> {
    const readOnly = options.readOnly ?? false;
    const maxOpenFiles = options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES;
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 1) {
      throw new RangeError(`maxOpenFiles must be a positive integer, got ${maxOpenFiles}`);
    }
    const root = await prepareRoot(outDir, readOnly);
    const wanted = options.wantedFiles;
    if (wanted && wanted.length !== torrent.files.length) {
      throw new RangeError(`selection has ${wanted.length} flags for ${torrent.files.length} files`);
    }
    const placed: PlacedFile[] = [];
    const seen = new Map<string, number>();
    for (const [index, file] of torrent.files.entries()) {
      if (file.padding) {
        placed.push({ diskPath: undefined, length: file.length, atOpen: MISSING_FILE, unwanted: true });
        continue;
      }
      const unwanted = wanted !== undefined && !wanted[index];
      const components = torrent.multiFile ? [torrent.name, ...file.path] : [torrent.name];
      const diskPath = await placeFile(root, components, !readOnly && !unwanted);
      const other = seen.get(diskPath);
      if (other !== undefined) {
        throw new StorageError('EDUPLICATE', diskPath, `files ${other} and ${index} both map to ${diskPath}`);
      }
      seen.set(diskPath, index);
      const atOpen = readOnly || unwanted ? await stampOf(diskPath) : await createSized(diskPath, file.length);
      placed.push({ diskPath, length: file.length, atOpen, unwanted });
    }
    // Read-only (seeding): the boundary pieces an earlier selective download kept are served too.
    const part = await PartFile.open(root, torrent, { readOnly });
    const storage = new TorrentStorage(torrent, root, placed, readOnly, maxOpenFiles, part, options.ioOnEventLoop ?? true);
    try {
      await storage.movePartPieces();
    } catch (err) {
      await storage.close();
      throw err;
    }
    return storage;
  }

  /**
   * Pieces kept in the part file by an earlier run whose files are now (partly) selected:
   * their bytes go into those files, and a piece that no longer touches an unselected file
   * leaves the part file. Pieces that fail their hash are dropped (they will be fetched again).
   */
  private async movePartPieces(): Promise<void> {
    const part = this.part;
    if (!part || this.readOnly) return;
    for (const index of part.pieces()) {
      const data = await part.read(index);
      if (!data || !verifyPiece(this.torrent, index, data)) {
        await part.remove(index);
        continue;
      }
      const spans = pieceSpans(this.torrent, index);
      await this.writeSpans(index, data, spans);
      if (!spans.some((sp) => !sp.padding && this.files[sp.fileIndex]!.unwanted)) await part.remove(index);
    }
  }

  /** Writes the spans that lie in selected files. */
  private async writeSpans(index: number, data: Uint8Array, spans: readonly FileSpan[]): Promise<void> {
    for (const span of spans) {
      if (span.padding || this.files[span.fileIndex]!.unwanted) continue;
      await this.pool.use(span.fileIndex, (h) => writeFully(h, data, span, this.diskPathOf(span.fileIndex), this.io));
    }
    this.written[index] = 1;
  }

  /** The piece from the part file when it is kept there (its SHA-1 still to be checked by the caller). */
  private async fromPart(index: number): Promise<Buffer | undefined> {
    return this.part?.has(index) ? this.part.read(index) : undefined;
  }

  /** SHA-1 check of a whole piece against the torrent. */
  static verifyPiece(torrent: Pick<Torrent, 'pieces'>, index: number, data: Uint8Array): boolean {
    return verifyPiece(torrent, index, data);
  }

  /** Where file `fileIndex` lives on disk (undefined for pad files). */
  filePath(fileIndex: number): string | undefined {
    return this.files[fileIndex]?.diskPath;
  }

  /** Writes a whole, already verified piece at its place in each file it spans. */
  writePiece(index: number, data: Uint8Array): Promise<void> {
    return this.track(async () => {
      if (this.readOnly) throw new StorageError('EREADONLY', this.root, 'storage opened read-only');
      const spans = pieceSpans(this.torrent, index);
      const expected = pieceSize(this.torrent, index);
      if (data.length !== expected) {
        throw new StorageError('ERANGE', undefined, `piece ${index} is ${expected} bytes, got ${data.length}`);
      }
      // Bytes of unselected files never reach those files: the whole piece goes to the part file.
      if (this.part && spans.some((sp) => !sp.padding && this.files[sp.fileIndex]!.unwanted)) await this.part.write(index, data);
      await this.writeSpans(index, data, spans);
    });
  }

  /** Reads `length` bytes at `begin` of piece `index` (for uploading); bounds-checked. */
  readBlock(index: number, begin: number, length: number): Promise<Buffer> {
    if (!Number.isInteger(length) || length < 1) {
      return Promise.reject(new StorageError('ERANGE', undefined, `block length ${length} must be at least 1`));
    }
    // Every byte is read into it (or the read throws): no need to zero it first.
    return this.readInto(index, begin, Buffer.allocUnsafe(length));
  }

  /** Fills `target` with the bytes at `begin` of piece `index`; bounds-checked. Resolves to `target`. */
  readInto(index: number, begin: number, target: Buffer): Promise<Buffer> {
    return this.track(async () => {
      if (target.length < 1) throw new StorageError('ERANGE', undefined, 'block length 0 must be at least 1');
      const spans = pieceSpans(this.torrent, index, begin, target.length);
      const kept = await this.fromPart(index);
      if (kept) {
        kept.copy(target, 0, begin, begin + target.length);
        return target;
      }
      await this.readSpans(spans, target, false);
      return target;
    });
  }

  readPiece(index: number): Promise<Buffer> {
    return this.track(async () => {
      const spans = pieceSpans(this.torrent, index);
      const kept = await this.fromPart(index);
      if (kept) return kept;
      const buf = Buffer.alloc(pieceSize(this.torrent, index));
      await this.readSpans(spans, buf, false);
      return buf;
    });
  }

  /**
   * The resume check: which pieces already hold the right data. Each of the plan's lanes reads
   * one piece at a time into its own buffer, so memory stays at that many pieces; with more
   * than two cores the hashing runs on the thread pool, several pieces at once (checkPlan).
   * Pieces lying in files that were missing or short when the storage opened are not read.
   */
  checkExisting(onProgress?: (done: number, total: number) => void, trust?: Uint8Array, plan = checkPlan(this.torrent.pieceLength)): Promise<boolean[]> {
    const verify = plan.offThread ? verifyPieceOffThread : async (...a: Parameters<typeof verifyPiece>) => verifyPiece(...a);
    return this.track(async () => {
      const total = this.torrent.pieces.length;
      const valid = new Array<boolean>(total).fill(false);
      let next = 0;
      let done = 0;
      const worker = async (): Promise<void> => {
        const buf = Buffer.alloc(this.torrent.pieceLength);
        while (next < total && !this.closed) {
          const index = next++;
          // Fast resume: pieces in unchanged files are taken as the resume data says, unread.
          const trusted = trust?.[index] ?? PieceTrust.check;
          if (trusted !== PieceTrust.check) {
            valid[index] = trusted === PieceTrust.held;
            done++;
            if (done === total || (done & 1023) === 0) onProgress?.(done, total);
            continue;
          }
          const piece = buf.subarray(0, pieceSize(this.torrent, index));
          const spans = pieceSpans(this.torrent, index);
          const kept = await this.fromPart(index);
          if (kept) {
            valid[index] = await verify(this.torrent, index, kept);
          } else if (this.couldBePresent(index, spans) && (await this.readSpans(spans, piece, true))) {
            valid[index] = await verify(this.torrent, index, piece);
          }
          done++;
          onProgress?.(done, total);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, plan.lanes) }, () => worker()));
      return valid;
    });
  }

  /** Waits for running operations, then closes every file handle. Later calls throw ECLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    await this.pool.closeAll();
    await this.part?.close();
  }

  /** Each file's size and mtime as found before open() touched it (pad files: MISSING_FILE). */
  stampsAtOpen(): FileStamp[] {
    return this.files.map((f) => f.atOpen);
  }

  /** Each file's size and mtime now, for resume data (pad files: MISSING_FILE). */
  async stampsNow(): Promise<FileStamp[]> {
    return Promise.all(this.files.map((f) => (f.diskPath === undefined ? MISSING_FILE : stampOf(f.diskPath))));
  }

  /** How many file handles are open now (for tests and diagnostics). */
  get openHandles(): number {
    return this.pool.size;
  }

  private couldBePresent(index: number, spans: readonly FileSpan[]): boolean {
    if (this.written[index]) return true;
    return spans.every((s) => {
      const f = this.files[s.fileIndex]!;
      return s.padding || f.atOpen.size >= s.fileOffset + s.length;
    });
  }

  /**
   * Fills `buf` from the spans (pad spans with zeros). When `tolerant`, a missing or short
   * file returns false; otherwise it throws ESHORT / EIO.
   */
  private async readSpans(spans: readonly FileSpan[], buf: Buffer, tolerant: boolean): Promise<boolean> {
    for (const span of spans) {
      if (span.padding) {
        buf.fill(0, span.bufferOffset, span.bufferOffset + span.length);
        continue;
      }
      const filePath = this.diskPathOf(span.fileIndex);
      let complete: boolean;
      try {
        complete = await this.pool.use(span.fileIndex, (h) => readFully(h, buf, span));
      } catch (err) {
        if (tolerant && (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw ioError(err, filePath, 'read');
      }
      if (!complete) {
        if (tolerant) return false;
        throw new StorageError('ESHORT', filePath, `${filePath} is shorter than the torrent says`);
      }
    }
    return true;
  }

  private diskPathOf(fileIndex: number): string {
    const p = this.files[fileIndex]?.diskPath;
    if (p === undefined) throw new StorageError('ERANGE', undefined, `file ${fileIndex} has no place on disk`);
    return p;
  }

  private track<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StorageError('ECLOSED', this.root, 'storage is closed'));
    const p = op();
    this.inflight.add(p);
    void p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }
}

async function writeFully(h: FileHandle, data: Uint8Array, span: FileSpan, filePath: string, io: TransferIo): Promise<void> {
  let done = 0;
  try {
    while (done < span.length) {
      done += await io.write(h, data, span.bufferOffset + done, span.length - done, span.fileOffset + done);
    }
  } catch (err) {
    throw ioError(err, filePath, 'write');
  }
}

/** Reads the span fully; false when the file ends first. */
async function readFully(h: FileHandle, buf: Buffer, span: FileSpan): Promise<boolean> {
  let done = 0;
  while (done < span.length) {
    const { bytesRead } = await h.read(buf, span.bufferOffset + done, span.length - done, span.fileOffset + done);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}

/** Resolves OUT (creating it unless read-only) to its real path, the base of every inside-check. */
async function prepareRoot(outDir: string, readOnly: boolean): Promise<string> {
  const resolved = path.resolve(outDir);
  try {
    if (!readOnly) await mkdir(resolved, { recursive: true });
    return await realpath(resolved);
  } catch (err) {
    if (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolved;
    throw ioError(err, resolved, 'create output folder');
  }
}

/** Defence in depth: metainfo validated the components already, but storage never trusts them. */
function checkComponent(component: string, shown: string): void {
  if (
    component === '' ||
    component === '.' ||
    component === '..' ||
    /[/\\\0]/.test(component) ||
    path.isAbsolute(component) ||
    path.win32.isAbsolute(component)
  ) {
    throw new StorageError('EBADPATH', shown, `unsafe path component ${JSON.stringify(component)} in ${shown}`);
  }
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * Walks the components below `root`, lstat-ing each one: a symlink is followed only when its
 * real target stays inside `root` (a dangling one is refused, since creating through it could
 * land anywhere); folders are created when `create`. Returns the real path for the file.
 */
async function placeFile(root: string, components: readonly string[], create: boolean): Promise<string> {
  const shown = path.join(root, ...components);
  for (const c of components) checkComponent(c, shown);
  let current = root;
  let missing = false;
  for (const [i, component] of components.entries()) {
    const isLast = i === components.length - 1;
    const next = path.join(current, component);
    if (!isInside(root, next)) throw new StorageError('EOUTSIDE', next, `${next} lies outside ${root}`);
    if (missing) {
      // A missing folder (read-only open): nothing below it exists either.
      current = next;
      continue;
    }
    const st = await lstatOrUndefined(next);
    let kind: 'dir' | 'file' | 'other' | 'none' = st ? kindOf(st) : 'none';
    current = next;
    if (st?.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(next);
      } catch {
        throw new StorageError('ESYMLINK', next, `${next} is a symlink that leads nowhere; refusing to follow it`);
      }
      if (!isInside(root, target)) {
        throw new StorageError('ESYMLINK', next, `${next} is a symlink leading outside ${root}; refusing to follow it`);
      }
      current = target;
      kind = kindOf(await stat(target));
    }
    if (!isLast) {
      if (kind === 'none') {
        if (create) await mkdirOne(current);
        else missing = true;
      } else if (kind !== 'dir') {
        throw new StorageError('ENOTFILE', current, `${current} is in the way: a folder is needed there`);
      }
    } else if (kind !== 'none' && kind !== 'file') {
      throw new StorageError('ENOTFILE', current, `${current} is in the way: a regular file is needed there`);
    }
  }
  return current;
}

function kindOf(st: { isDirectory(): boolean; isFile(): boolean }): 'dir' | 'file' | 'other' {
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

async function lstatOrUndefined(p: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, p, 'inspect');
  }
}

async function mkdirOne(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    // Created meanwhile by someone else: re-check that it is a real folder, not a symlink.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const st = await lstat(dir);
      if (st.isDirectory()) return;
      throw new StorageError('ENOTFILE', dir, `${dir} appeared and is not a folder`);
    }
    throw ioError(err, dir, 'create folder');
  }
}

async function stampOf(filePath: string): Promise<FileStamp> {
  try {
    const st = await stat(filePath, { bigint: true });
    return { size: Number(st.size), mtimeNs: st.mtimeNs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return MISSING_FILE;
    throw ioError(err, filePath, 'inspect');
  }
}

/**
 * Creates the file if needed (never following a symlink at the last step) and sets it to its
 * final length with ftruncate: sparse, so positional writes land anywhere. Returns the size
 * and mtime it had before (size -1 when new), which the resume check uses.
 */
async function createSized(filePath: string, length: number): Promise<FileStamp> {
  let handle: FileHandle | undefined;
  try {
    const before = await stampOf(filePath);
    handle = await open(filePath, fsConstants.O_RDWR | fsConstants.O_CREAT | O_NOFOLLOW, 0o666);
    const st = await handle.stat();
    if (!st.isFile()) throw new StorageError('ENOTFILE', filePath, `${filePath} is not a regular file`);
    if (st.size !== length) await handle.truncate(length);
    return before;
  } catch (err) {
    throw ioError(err, filePath, 'create');
  } finally {
    await handle?.close();
  }
}
