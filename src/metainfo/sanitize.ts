/**
 * Turns the names a torrent states into names that are safe to create under an output folder.
 *
 * Torrents from the wild hold names made on other systems (backslashes from Windows, CJK titles
 * longer than 255 bytes in UTF-8, invalid UTF-8, duplicates). libtorrent, Transmission and aria2
 * open them and make each name safe; so does pytor. The raw names stay in the info dict (the
 * info-hash is never touched); only the on-disk path is derived here. Pure: strings in, strings out.
 *
 * The rules (one each, in this order):
 * 1. Invalid UTF-8 bytes become `_` (decodeName).
 * 2. `.`, `..` and empty components are dropped; so an absolute path (`/etc/x` as ['', 'etc', 'x'])
 *    becomes relative.
 * 3. `/`, `\`, NUL and every other control character (C0, DEL, C1) and the bidi controls that
 *    disguise a name (`exe.avi` written backwards) are each replaced by `_`: a separator inside a
 *    component never splits it, so one component stays one name.
 * 4. A drive prefix (`C:`) loses its colon (`C_`), so no component is absolute on Windows either.
 * 5. A component longer than 255 bytes is cut on a UTF-8 character boundary, keeping its extension.
 * 6. Duplicates (compared case-insensitively, as on the file systems of Windows and macOS) and a
 *    file that has the name of a folder get `.1`, `.2`... before the extension (`file.1.ext`).
 */

export const MAX_COMPONENT_BYTES = 255;
/** An extension longer than this is not kept whole when a name is shortened. */
const MAX_EXTENSION_BYTES = 32;
export const REPLACEMENT = '_';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** The text of a name as stated: invalid UTF-8 shows as U+FFFD (for display only). */
export function statedName(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}

/** Decodes UTF-8; each invalid sequence becomes `_`. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    // The lenient decoder turns each maximal invalid subpart into one U+FFFD (WHATWG rule).
    return lenientUtf8.decode(bytes).replace(/\uFFFD/g, REPLACEMENT);
  }
}

/* eslint-disable no-control-regex */
/** Separators, C0 controls and DEL, C1 controls, and the bidi marks, embeddings, overrides and isolates. */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f/\\\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

/** One component made safe; '' when it is to be dropped (empty, `.` or `..`). */
export function sanitizeComponent(component: string): string {
  if (component === '' || component === '.' || component === '..') return '';
  let safe = component.replace(UNSAFE_CHARS, REPLACEMENT);
  if (/^[A-Za-z]:/.test(safe)) safe = `${safe[0]}${REPLACEMENT}${safe.slice(2)}`;
  return shortenComponent(safe);
}

/** A path's components made safe, the dropped ones left out (possibly leaving none). */
export function sanitizePath(components: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of components) {
    const safe = sanitizeComponent(c);
    if (safe !== '') out.push(safe);
  }
  return out;
}

/** Splits `name.ext` into stem and `.ext`; a leading dot (`.hidden`) or a long tail is no extension. */
export function splitExtension(name: string): [stem: string, ext: string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return [name, ''];
  const ext = name.slice(dot);
  if (Buffer.byteLength(ext, 'utf8') > MAX_EXTENSION_BYTES) return [name, ''];
  return [name.slice(0, dot), ext];
}

/**
 * Cuts `name` to at most `max` bytes of UTF-8, never inside a character, keeping its
 * extension when it has a short one.
 */
export function shortenComponent(name: string, max = MAX_COMPONENT_BYTES): string {
  if (Buffer.byteLength(name, 'utf8') <= max) return name;
  const [stem, ext] = splitExtension(name);
  return cutUtf8(stem, max - Buffer.byteLength(ext, 'utf8')) + ext;
}

/** The longest prefix of `text` (whole code points) that fits in `maxBytes` of UTF-8. */
function cutUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** `file.ext` -> `file.N.ext`, still within 255 bytes. */
export function numbered(name: string, n: number): string {
  const [stem, ext] = splitExtension(name);
  const tail = `.${n}${ext}`;
  return cutUtf8(stem, MAX_COMPONENT_BYTES - Buffer.byteLength(tail, 'utf8')) + tail;
}

const keyOf = (components: readonly string[]) => components.join('/').toLowerCase();

/**
 * Gives every path a distinct name: paths are compared case-insensitively, every folder that any
 * path implies is taken first (a file never takes a folder's name), then files in torrent order
 * keep their name or get the first free `name.N.ext`. Returns the new paths, same order.
 * Each name remembers the last number it tried, so even a million copies of one path cost
 * linear time, not quadratic.
 */
export function resolveCollisions(paths: readonly (readonly string[])[]): string[][] {
  const taken = new Set<string>();
  for (const p of paths) {
    for (let depth = 1; depth < p.length; depth++) taken.add(keyOf(p.slice(0, depth)));
  }
  const lastTried = new Map<string, number>();
  return paths.map((p) => {
    const key = keyOf(p);
    if (!taken.has(key)) {
      taken.add(key);
      return [...p];
    }
    const dir = p.slice(0, -1);
    const last = p[p.length - 1] ?? REPLACEMENT;
    for (let n = (lastTried.get(key) ?? 0) + 1; ; n++) {
      const candidate = [...dir, numbered(last, n)];
      const candidateKey = keyOf(candidate);
      if (!taken.has(candidateKey)) {
        taken.add(candidateKey);
        lastTried.set(key, n);
        return candidate;
      }
    }
  });
}
