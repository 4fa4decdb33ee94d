/** Raised for a magnet link we cannot use; `part` names the offending parameter. */
export class MagnetError extends Error {
  readonly code: 'EMAGNET_INVALID' | 'EMAGNET_V2_ONLY';
  /** The parameter or piece at fault: 'uri', 'xt', 'dn', 'tr', 'x.pe', 'ws', 'so'. */
  readonly part: string;
  /** The offending text, shortened for printing. */
  readonly value: string | undefined;

  constructor(part: string, reason: string, value?: string, code: MagnetError['code'] = 'EMAGNET_INVALID') {
    const shown = value === undefined ? '' : ` (${shorten(value)})`;
    super(`invalid magnet link: ${part}: ${reason}${shown}`);
    this.name = 'MagnetError';
    this.code = code;
    this.part = part;
    this.value = value === undefined ? undefined : shorten(value);
  }
}

function shorten(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
