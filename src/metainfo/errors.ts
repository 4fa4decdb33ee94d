/** A .torrent (or info dict) that is not a valid, safe v1 torrent. */
export class MetainfoError extends Error {
  readonly code: string;
  /** The offending field, as a dotted path (`info.files[3].path`). */
  readonly field: string;

  constructor(field: string, problem: string, code = 'EMETAINFO') {
    super(`invalid torrent: ${field ? `${field} ` : ''}${problem}`);
    this.name = 'MetainfoError';
    this.code = code;
    this.field = field;
  }
}

/** A valid torrent that needs a feature pytor lacks (v2-only). */
export class UnsupportedTorrentError extends Error {
  readonly code = 'EMETAINFO_UNSUPPORTED';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedTorrentError';
  }
}
