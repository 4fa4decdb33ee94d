/** Why a storage operation was refused or failed. */
export type StorageErrorCode =
  /** A file path from the torrent has an unsafe component (empty, `.`, `..`, separator, NUL). */
  | 'EBADPATH'
  /** A final path would lie outside the output folder. */
  | 'EOUTSIDE'
  /** A component of the path is a symlink that leads outside the output folder. */
  | 'ESYMLINK'
  /** A component that must be a folder is something else, or a file's place holds a folder. */
  | 'ENOTFILE'
  /** Two files of the torrent map onto the same path. */
  | 'EDUPLICATE'
  /** A piece index, offset or length out of range, or data of the wrong size. */
  | 'ERANGE'
  /** A file on disk is shorter than the torrent says (changed under us). */
  | 'ESHORT'
  /** A write to a storage opened read-only. */
  | 'EREADONLY'
  /** The storage was closed. */
  | 'ECLOSED'
  /** An operating-system error; `cause` holds the original. */
  | 'EIO';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    /** The offending path on disk (or the torrent path joined with `/`), when there is one. */
    readonly path: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Wraps an fs error as EIO, naming the path and keeping the system code in the message. */
export function ioError(err: unknown, path: string, action: string): StorageError {
  if (err instanceof StorageError) return err;
  const sys = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError('EIO', path, `cannot ${action} ${path}: ${sys ?? detail}`, { cause: err });
}
