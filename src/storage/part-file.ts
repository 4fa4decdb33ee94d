// The part file: whole verified pieces that also hold bytes of files the user did not select.
// Those bytes must not land in the unselected files (which are not even created), yet the
// piece is needed whole to seed it and to fill in a file selected by a later run. So such
// pieces are kept in OUT/.pytor/<infohash>.parts, in fixed slots of one piece length each.
//
// Layout: a 32-byte header, then an index of `slots` 32-byte records, then the slots.
//   header: "PYTORPRT" | u32 version=1 | u32 slots | u32 pieceLength | u32 pieceCount | 8 zero bytes
//   record: u32 piece (0xFFFFFFFF = free) | u32 length | first 16 bytes of SHA-1(data) | 8 zero bytes
// The index is bounded when the file is made (`slots`, at most MAX_PART_SLOTS) and checked
// before anything is allocated when it is read back. Data is written before its record, and
// each record carries a hash of its data, so a crash mid-write loses at most that piece.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, rm, rmdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import createDebug from 'debug';
import type { Torrent } from '../metainfo/types.js';
import { pieceSize } from '../metainfo/types.js';

const log = createDebug('pytor:storage');

export const PART_DIR = '.pytor';
export const MAX_PART_SLOTS = 65_536;
const MAGIC = Buffer.from('PYTORPRT', 'latin1');
const VERSION = 1;
const HEADER = 32;
const RECORD = 32;
const FREE = 0xffffffff;
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

export type PartFileErrorCode = 'EPARTFILE_FULL' | 'EPARTFILE_RANGE' | 'EPARTFILE_IO' | 'EPARTFILE_CLOSED';

export class PartFileError extends Error {
  constructor(
    readonly code: PartFileErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PartFileError';
  }
}

export type PartGeometry = Pick<Torrent, 'infoHashHex' | 'pieceLength' | 'length' | 'pieces' | 'files'>;

export interface PartFileOptions {
  /**
   * Slots in a new part file. Default: enough for any selection, min(pieces, 2 per file with
   * data), at most MAX_PART_SLOTS. A boundary piece is the first or last piece of an unwanted
   * file, so 2 per file always suffices.
   */
  readonly slots?: number;
  /**
   * Only read what an earlier download kept (for seeding): nothing is created, changed or
   * deleted, and a damaged file is ignored rather than started over. write/remove throw.
   */
  readonly readOnly?: boolean;
}

interface Slot {
  piece: number;
  length: number;
}

/**
 * Opens lazily: a run whose selection has no boundary pieces never creates the file or the
 * folder. Operations are serialised (one at a time) so a record and its data never interleave.
 */
export class PartFile {
  private handle: FileHandle | undefined;
  private readonly slotOf = new Map<number, number>();
  private slots: Slot[] = [];
  private nslots: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly torrent: PartGeometry,
    defaultSlots: number,
    private readonly readOnly: boolean,
  ) {
    this.nslots = defaultSlots;
  }

  /** OUT/.pytor/<infohash>.parts */
  static pathFor(outDir: string, infoHashHex: string): string {
    return path.join(outDir, PART_DIR, `${infoHashHex.toLowerCase()}.parts`);
  }

  /** Opens the part file of `torrent` under `outDir`, reading back the pieces an earlier run kept. */
  static async open(outDir: string, torrent: PartGeometry, options: PartFileOptions = {}): Promise<PartFile> {
    const withData = torrent.files.filter((f) => f.length > 0 && !f.padding).length;
    const slots = options.slots ?? Math.max(1, Math.min(torrent.pieces.length, 2 * withData, MAX_PART_SLOTS));
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_PART_SLOTS) {
      throw new RangeError(`slots must be an integer from 1 to ${MAX_PART_SLOTS}, got ${slots}`);
    }
    const pf = new PartFile(PartFile.pathFor(outDir, torrent.infoHashHex), torrent, slots, options.readOnly ?? false);
    await pf.load();
    return pf;
  }

  /** Pieces held, in increasing order. */
  pieces(): number[] {
    return [...this.slotOf.keys()].sort((a, b) => a - b);
  }

  has(piece: number): boolean {
    return this.slotOf.has(piece);
  }

  /** Keeps verified piece `piece` (all of it); replaces an older copy. */
  write(piece: number, data: Uint8Array): Promise<void> {
    return this.serial(async () => {
      this.checkWritable();
      this.checkPiece(piece, data.length);
      let slot = this.slotOf.get(piece);
      if (slot === undefined) {
        slot = this.slots.findIndex((s) => s.piece === FREE);
        if (slot < 0) {
          if (this.slots.length >= this.nslots) {
            throw new PartFileError('EPARTFILE_FULL', this.file, `part file ${this.file} is full (${this.nslots} pieces)`);
          }
          slot = this.slots.length;
          this.slots.push({ piece: FREE, length: 0 });
        }
      }
      const h = await this.ensureOpen();
      await this.io('write', () => h.write(data, 0, data.length, this.dataOffset(slot)));
      await this.io('write', () => h.write(record(piece, data), 0, RECORD, HEADER + slot * RECORD));
      this.slots[slot] = { piece, length: data.length };
      this.slotOf.set(piece, slot);
    });
  }

  /**
   * The bytes of piece `piece`, or undefined when not held or when they do not match their
   * record's hash (the entry is then dropped). The caller still verifies the piece's SHA-1.
   */
  read(piece: number): Promise<Buffer | undefined> {
    return this.serial(async () => {
      const slot = this.slotOf.get(piece);
      if (slot === undefined || !this.handle) return undefined;
      const h = this.handle;
      const { length } = this.slots[slot]!;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await this.io('read', () => h.read(buf, 0, length, this.dataOffset(slot)));
      const rec = Buffer.alloc(RECORD);
      await this.io('read', () => h.read(rec, 0, RECORD, HEADER + slot * RECORD));
      if (bytesRead !== length || !digest16(buf).equals(rec.subarray(8, 24))) {
        log('part file %s: piece %d does not match its record; dropped', this.file, piece);
        await this.freeSlot(slot);
        return undefined;
      }
      return buf;
    });
  }

  /** Forgets piece `piece` (its bytes were written to a file a later selection wants). */
  remove(piece: number): Promise<void> {
    return this.serial(async () => {
      this.checkWritable();
      const slot = this.slotOf.get(piece);
      if (slot !== undefined) await this.freeSlot(slot);
    });
  }

  private checkWritable(): void {
    if (this.readOnly) throw new PartFileError('EPARTFILE_IO', this.file, `part file ${this.file} is open read-only`);
  }

  /** Closes the file; an empty part file is deleted (and the .pytor folder when empty). */
  close(): Promise<void> {
    this.closing ??= this.serial(async () => {
      this.closed = true;
      const h = this.handle;
      this.handle = undefined;
      if (h) await h.close();
      if (h && this.slotOf.size === 0 && !this.readOnly) {
        await rm(this.file, { force: true });
        await rmdir(path.dirname(this.file)).catch(() => undefined); // only when empty
      }
    });
    return this.closing;
  }

  private async load(): Promise<void> {
    let h: FileHandle;
    try {
      // The folder must be a real folder inside OUT, not a symlink leading elsewhere.
      const dirStat = await lstat(path.dirname(this.file));
      if (!dirStat.isDirectory()) throw new PartFileError('EPARTFILE_IO', this.file, `${path.dirname(this.file)} is not a folder`);
      const st = await lstat(this.file);
      if (!st.isFile()) throw new PartFileError('EPARTFILE_IO', this.file, `${this.file} is not a regular file`);
      h = await open(this.file, (this.readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR) | O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing kept yet
      throw ioError(err, this.file, 'open');
    }
    try {
      const header = Buffer.alloc(HEADER);
      const { bytesRead } = await h.read(header, 0, HEADER, 0);
      const slots = header.readUInt32BE(12);
      const ok =
        bytesRead === HEADER &&
        header.subarray(0, 8).equals(MAGIC) &&
        header.readUInt32BE(8) === VERSION &&
        slots >= 1 &&
        slots <= MAX_PART_SLOTS &&
        header.readUInt32BE(16) === this.torrent.pieceLength &&
        header.readUInt32BE(20) === this.torrent.pieces.length;
      if (!ok) {
        // Only a cache of re-downloadable bytes: start over rather than refuse the download
        // (or, read-only, leave it be and hold nothing from it).
        log('part file %s has a foreign or damaged header; %s', this.file, this.readOnly ? 'ignored' : 'starting a new one');
        await h.close();
        if (!this.readOnly) await rm(this.file, { force: true });
        return;
      }
      const index = Buffer.alloc(slots * RECORD); // bounded: at most MAX_PART_SLOTS * 32 = 2 MiB
      await h.read(index, 0, index.length, HEADER);
      this.nslots = slots;
      this.slots = [];
      for (let i = 0; i < slots; i++) {
        const piece = index.readUInt32BE(i * RECORD);
        const length = index.readUInt32BE(i * RECORD + 4);
        const valid = piece !== FREE && piece < this.torrent.pieces.length && length === pieceSize(this.torrent, piece) && !this.slotOf.has(piece);
        this.slots.push(valid ? { piece, length } : { piece: FREE, length: 0 });
        if (valid) this.slotOf.set(piece, i);
      }
      while (this.slots.length > 0 && this.slots[this.slots.length - 1]!.piece === FREE) this.slots.pop();
      this.handle = h;
      log('part file %s: %d pieces kept', this.file, this.slotOf.size);
    } catch (err) {
      await h.close().catch(() => undefined);
      throw ioError(err, this.file, 'read');
    }
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const dir = path.dirname(this.file);
    await this.io('create', () => mkdir(dir, { recursive: true }));
    const st = await this.io('check', () => lstat(dir));
    if (!st.isDirectory()) throw new PartFileError('EPARTFILE_IO', dir, `${dir} is not a folder`);
    const h = await this.io('create', () => open(this.file, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_TRUNC | O_NOFOLLOW, 0o644));
    const header = Buffer.alloc(HEADER + this.nslots * RECORD);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(VERSION, 8);
    header.writeUInt32BE(this.nslots, 12);
    header.writeUInt32BE(this.torrent.pieceLength, 16);
    header.writeUInt32BE(this.torrent.pieces.length, 20);
    for (let i = 0; i < this.nslots; i++) header.writeUInt32BE(FREE, HEADER + i * RECORD);
    await this.io('write', () => h.write(header, 0, header.length, 0));
    this.handle = h;
    return h;
  }

  private async freeSlot(slot: number): Promise<void> {
    const s = this.slots[slot]!;
    this.slotOf.delete(s.piece);
    this.slots[slot] = { piece: FREE, length: 0 };
    const rec = Buffer.alloc(RECORD);
    rec.writeUInt32BE(FREE, 0);
    const h = this.handle;
    if (h) await this.io('write', () => h.write(rec, 0, RECORD, HEADER + slot * RECORD));
  }

  private dataOffset(slot: number): number {
    return HEADER + this.nslots * RECORD + slot * this.torrent.pieceLength;
  }

  private checkPiece(piece: number, length: number): void {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.torrent.pieces.length) {
      throw new PartFileError('EPARTFILE_RANGE', this.file, `piece ${piece} out of range`);
    }
    const size = pieceSize(this.torrent, piece);
    if (length !== size) throw new PartFileError('EPARTFILE_RANGE', this.file, `piece ${piece} has ${size} bytes, got ${length}`);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new PartFileError('EPARTFILE_CLOSED', this.file, 'part file closed');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async io<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw ioError(err, this.file, action);
    }
  }
}

function record(piece: number, data: Uint8Array): Buffer {
  const rec = Buffer.alloc(RECORD);
  rec.writeUInt32BE(piece, 0);
  rec.writeUInt32BE(data.length, 4);
  digest16(data).copy(rec, 8);
  return rec;
}

function digest16(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest().subarray(0, 16);
}

function ioError(err: unknown, file: string, action: string): PartFileError {
  if (err instanceof PartFileError) return err;
  const sys = (err as NodeJS.ErrnoException | undefined)?.code;
  return new PartFileError('EPARTFILE_IO', file, `cannot ${action} ${file}: ${sys ?? String(err)}`, { cause: err });
}
