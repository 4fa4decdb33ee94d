import { MetainfoError } from './errors.js';

import { MAX_COMPONENT_BYTES } from './sanitize.js';

/** Deeper paths are refused: no real torrent nests 64 folders, and the full path must fit PATH_MAX. */
export const MAX_PATH_DEPTH = 64;

/**
 * The invariant every sanitized component meets (sanitize.ts makes names safe; this checks one,
 * for tests and for callers that take names from elsewhere). Throws unless `component` is one plain file or folder name: never empty, `.` or `..`,
 * never holding a separator, a NUL, or a drive prefix that would make it absolute.
 */
export function checkPathComponent(component: string, field: string): void {
  if (component.length === 0) throw new MetainfoError(field, 'has an empty path component');
  if (component === '.' || component === '..') throw new MetainfoError(field, `has a "${component}" path component`);
  if (/[/\\\0]/.test(component)) throw new MetainfoError(field, 'has a path component holding "/", "\\" or NUL');
  if (/^[A-Za-z]:/.test(component)) throw new MetainfoError(field, 'has a drive-letter path component');
  if (Buffer.byteLength(component, 'utf8') > MAX_COMPONENT_BYTES) {
    throw new MetainfoError(field, `has a path component longer than ${MAX_COMPONENT_BYTES} bytes`);
  }
}
