// Torrent creation (`pytor create`): walk the input, hash it piece by piece, encode canonically.
import { createHash } from 'node:crypto';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { encode, type Encodable } from '../bencode/index.js';

export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_PIECE_LENGTH = 16 * 1024 * 1024;
/** The default piece length aims at no more than this many pieces (and so at least half). */
const TARGET_MAX_PIECES = 2000;

export type CreateErrorCode =
  /** The input is missing or unreadable. */
  | 'ENOENT'
  /** A symlink under the input leads outside it (or nowhere). */
  | 'ESYMLINK'
  /** A symlinked folder leads back to one of its own ancestors. */
  | 'ELOOP'
  /** Not a regular file or folder (fifo, socket, device). */
  | 'EUNSUPPORTED'
  /** A file name that a torrent cannot carry (not UTF-8, or holding a backslash). */
  | 'EBADNAME'
  /** Nothing to share: no files under the input. */
  | 'EEMPTY'
  /** A file changed size while it was hashed. */
  | 'ECHANGED'
  /** A bad option: piece length, tracker or web-seed URL. */
  | 'EOPTION'
  | 'EIO';

export class CreateError extends Error {
  constructor(
    readonly code: CreateErrorCode,
    /** The offending file path, or the option's value. */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CreateError';
  }
}

export interface CreateOptions {
  /** Tracker tiers (BEP 12): the first URL of the first tier also becomes `announce`. */
  readonly trackers?: readonly (readonly string[])[];
  /** A power of two in [16 KiB, 16 MiB]; default from the total size (see defaultPieceLength). */
  readonly pieceLength?: number;
  readonly private?: boolean;
  readonly comment?: string;
  /** BEP 19 `url-list`. */
  readonly webSeeds?: readonly string[];
  /** Leave out `creation date` (reproducible output). */
  readonly noDate?: boolean;
  /** `created by`; default `pytor/<version>`. */
  readonly createdBy?: string;
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  /** Injected clock for `creation date`. */
  readonly now?: () => Date;
}

export interface CreatedFile {
  /** Path components below the torrent's folder (for a single file: [name]). */
  readonly path: readonly string[];
  readonly length: number;
}

export interface CreatedTorrent {
  /** The .torrent file's bytes. */
  readonly torrent: Buffer;
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly name: string;
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly multiFile: boolean;
  readonly files: readonly CreatedFile[];
}

export const DEFAULT_CREATED_BY = 'pytor/0.1.0';

/** Smallest power of two in [16 KiB, 16 MiB] giving at most 2000 pieces (so 1000-2000 unless clamped). */
export function defaultPieceLength(totalBytes: number): number {
  let pieceLength = MIN_PIECE_LENGTH;
  while (pieceLength < MAX_PIECE_LENGTH && Math.ceil(totalBytes / pieceLength) > TARGET_MAX_PIECES) pieceLength *= 2;
  return pieceLength;
}

export function isValidPieceLength(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_PIECE_LENGTH && n <= MAX_PIECE_LENGTH && (n & (n - 1)) === 0;
}

/** A file found under the input: where to read it, and the path the torrent gives it. */
interface SourceFile {
  readonly diskPath: string;
  readonly components: readonly string[];
  readonly length: number;
}

/**
 * Builds a v1 torrent of `inputPath`: a regular file gives a single-file torrent, a folder a
 * multi-file one named after the folder. Files are listed in the byte order of their
 * `/`-joined relative paths (what mktorrent does with strcmp), so the info-hash equals
 * mktorrent's for the same piece length. Hidden files are included (as in mktorrent).
 * Symlinks are followed when their real target lies inside the input (the content is stored
 * as a regular file, as mktorrent does) and refused otherwise. Empty folders cannot be
 * expressed in a v1 torrent and add nothing.
 */
export async function createTorrent(inputPath: string, options: CreateOptions = {}): Promise<CreatedTorrent> {
  checkOptions(options);
  const resolved = path.resolve(inputPath);
  let rootReal: string;
  let rootStat;
  try {
    rootReal = await realpath(resolved);
    rootStat = await stat(rootReal);
  } catch (err) {
    throw new CreateError('ENOENT', resolved, `cannot read ${resolved}: ${errCode(err)}`, { cause: err });
  }
  const name = path.basename(resolved);
  checkName(name, resolved);
  let files: SourceFile[];
  let multiFile: boolean;
  if (rootStat.isDirectory()) {
    multiFile = true;
    files = [];
    await walk(rootReal, rootReal, [], new Set([rootReal]), files);
    if (files.length === 0) throw new CreateError('EEMPTY', resolved, `${resolved} holds no files`);
    files.sort((a, b) => Buffer.compare(Buffer.from(a.components.join('/')), Buffer.from(b.components.join('/'))));
  } else if (rootStat.isFile()) {
    multiFile = false;
    files = [{ diskPath: rootReal, components: [name], length: rootStat.size }];
  } else {
    throw new CreateError('EUNSUPPORTED', resolved, `${resolved} is neither a regular file nor a folder`);
  }

  const length = files.reduce((n, f) => n + f.length, 0);
  // A torrent of zero bytes has no pieces; clients (libtorrent among them) refuse it.
  if (length === 0) throw new CreateError('EEMPTY', resolved, `${resolved} holds no data (all files are empty)`);
  const pieceLength = options.pieceLength ?? defaultPieceLength(length);
  const pieces = await hashFiles(files, pieceLength, length, options.onProgress);

  const info: Record<string, Encodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces,
    private: options.private ? 1 : undefined,
  };
  if (multiFile) {
    info.files = files.map((f) => ({ length: f.length, path: [...f.components] }));
  } else {
    info.length = length;
  }
  const infoBytes = encode(info);
  const infoHash = createHash('sha1').update(infoBytes).digest();

  const tiers = (options.trackers ?? []).map((t) => [...t]).filter((t) => t.length > 0);
  const urlCount = tiers.reduce((n, t) => n + t.length, 0);
  const now = options.now ?? (() => new Date());
  // encode() is canonical, so the info dict inside the file is byte-identical to infoBytes.
  const torrent = encode({
    announce: tiers[0]?.[0],
    'announce-list': urlCount > 1 ? tiers : undefined,
    comment: options.comment,
    'created by': options.createdBy ?? DEFAULT_CREATED_BY,
    'creation date': options.noDate ? undefined : Math.floor(now().getTime() / 1000),
    info,
    'url-list': options.webSeeds && options.webSeeds.length > 0 ? [...options.webSeeds] : undefined,
  });
  if (!torrent.includes(infoBytes)) throw new Error('internal: info dict re-encoded differently');

  return {
    torrent,
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    name,
    length,
    pieceLength,
    pieceCount: pieces.length / 20,
    multiFile,
    files: files.map((f) => ({ path: f.components, length: f.length })),
  };
}

function checkOptions(options: CreateOptions): void {
  if (options.pieceLength !== undefined && !isValidPieceLength(options.pieceLength)) {
    throw new CreateError(
      'EOPTION',
      String(options.pieceLength),
      `piece length ${options.pieceLength} must be a power of two from 16 KiB to 16 MiB`,
    );
  }
  for (const url of [...(options.trackers ?? []).flat(), ...(options.webSeeds ?? [])]) {
    let ok = false;
    try {
      ok = /^(https?|udp|wss?):$/.test(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new CreateError('EOPTION', url, `not a usable URL: ${url}`);
  }
}

/** Names go into the torrent as UTF-8 path components; reject what a reader would refuse. */
function checkName(name: string, shown: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('\\') || name.includes('\0')) {
    throw new CreateError('EBADNAME', shown, `${shown}: the name ${JSON.stringify(name)} cannot be used in a torrent`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Depth-first walk collecting regular files. `ancestors` holds the real paths of the folders
 * on the current branch: a symlinked folder leading back to one of them would never end.
 */
async function walk(
  rootReal: string,
  dirReal: string,
  prefix: readonly string[],
  ancestors: ReadonlySet<string>,
  out: SourceFile[],
): Promise<void> {
  let rawNames: Buffer[];
  try {
    rawNames = await readdir(dirReal, { encoding: 'buffer' });
  } catch (err) {
    throw new CreateError('EIO', dirReal, `cannot list ${dirReal}: ${errCode(err)}`, { cause: err });
  }
  for (const raw of rawNames) {
    let name: string;
    try {
      name = utf8.decode(raw);
    } catch {
      const shown = path.join(dirReal, raw.toString('latin1'));
      throw new CreateError('EBADNAME', shown, `${shown}: file name is not valid UTF-8`);
    }
    const entryPath = path.join(dirReal, name);
    checkName(name, entryPath);
    const components = [...prefix, name];
    let st = await lstat(entryPath);
    let real = entryPath;
    if (st.isSymbolicLink()) {
      try {
        real = await realpath(entryPath);
      } catch {
        throw new CreateError('ESYMLINK', entryPath, `${entryPath} is a symlink that leads nowhere`);
      }
      if (!isInsideOrSame(rootReal, real)) {
        throw new CreateError('ESYMLINK', entryPath, `${entryPath} is a symlink leading outside ${rootReal}`);
      }
      st = await stat(real);
    }
    if (st.isDirectory()) {
      if (ancestors.has(real)) {
        throw new CreateError('ELOOP', entryPath, `${entryPath} leads back to its own folder ${real}`);
      }
      await walk(rootReal, real, components, new Set([...ancestors, real]), out);
    } else if (st.isFile()) {
      out.push({ diskPath: real, components, length: st.size });
    } else {
      throw new CreateError('EUNSUPPORTED', entryPath, `${entryPath} is neither a regular file nor a folder`);
    }
  }
}

function isInsideOrSame(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * SHA-1 of each piece of the files' concatenation, read through one reusable piece buffer:
 * memory stays at one piece whatever the file sizes.
 */
async function hashFiles(
  files: readonly SourceFile[],
  pieceLength: number,
  totalBytes: number,
  onProgress: CreateOptions['onProgress'],
): Promise<Buffer> {
  const pieceCount = Math.ceil(totalBytes / pieceLength);
  const hashes = Buffer.alloc(pieceCount * 20);
  const buf = Buffer.alloc(Math.min(pieceLength, Math.max(totalBytes, 1)));
  let fill = 0;
  let piece = 0;
  let hashed = 0;
  const flush = (): void => {
    createHash('sha1').update(buf.subarray(0, fill)).digest().copy(hashes, piece * 20);
    piece++;
    hashed += fill;
    fill = 0;
    onProgress?.(hashed, totalBytes);
  };
  onProgress?.(0, totalBytes);
  for (const file of files) {
    if (file.length === 0) continue;
    let handle;
    try {
      handle = await open(file.diskPath, 'r');
    } catch (err) {
      throw new CreateError('EIO', file.diskPath, `cannot read ${file.diskPath}: ${errCode(err)}`, { cause: err });
    }
    try {
      let position = 0;
      while (position < file.length) {
        const want = Math.min(buf.length - fill, file.length - position);
        const { bytesRead } = await handle.read(buf, fill, want, position);
        if (bytesRead === 0) {
          throw new CreateError('ECHANGED', file.diskPath, `${file.diskPath} shrank while it was being hashed`);
        }
        fill += bytesRead;
        position += bytesRead;
        if (fill === buf.length) flush();
      }
    } catch (err) {
      if (err instanceof CreateError) throw err;
      throw new CreateError('EIO', file.diskPath, `cannot read ${file.diskPath}: ${errCode(err)}`, { cause: err });
    } finally {
      await handle.close();
    }
  }
  if (fill > 0) flush();
  if (piece !== pieceCount) throw new Error(`internal: hashed ${piece} pieces, expected ${pieceCount}`);
  return hashes;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}
