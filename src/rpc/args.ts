// Request arguments, checked into typed values before anything reaches the engine. Pure.
// Lenient where Transmission is (0/1 for booleans, numeric strings in `ids`), strict about
// types and ranges otherwise, so a bad request gets a result naming the argument.
import { RpcArgumentError } from './errors.js';

/** At most this many entries in `ids` or a file-index list (a torrent has at most 1e6 files). */
export const MAX_LIST_ENTRIES = 1_000_000;

export type Args = Readonly<Record<string, unknown>>;

/** Which torrents a request means (spec 3.1). */
export type IdSelector =
  | { readonly kind: 'all' }
  | { readonly kind: 'recently-active' }
  | { readonly kind: 'some'; readonly ids: readonly number[]; readonly hashes: readonly string[] };

const HASH = /^[0-9a-fA-F]{40}$/;

/** `ids`: absent = all; a number; "recently-active"; a hash; a list of numbers and/or hashes. */
export function parseIds(value: unknown): IdSelector {
  if (value === undefined || value === null) return { kind: 'all' };
  if (value === 'recently-active') return { kind: 'recently-active' };
  const ids: number[] = [];
  const hashes: string[] = [];
  const one = (item: unknown, field: string) => {
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item)) throw new RpcArgumentError(field, `${item} is not an integer torrent id`);
      ids.push(item);
    } else if (typeof item === 'string' && HASH.test(item)) {
      hashes.push(item.toLowerCase());
    } else if (typeof item === 'string' && /^\d{1,15}$/.test(item)) {
      ids.push(Number(item));
    } else {
      throw new RpcArgumentError(field, `expected a torrent id or a 40-character info-hash, got ${describe(item)}`);
    }
  };
  if (Array.isArray(value)) {
    if (value.length > MAX_LIST_ENTRIES) throw new RpcArgumentError('ids', `more than ${MAX_LIST_ENTRIES} entries`);
    value.forEach((item, i) => one(item, `ids[${i}]`));
  } else {
    one(value, 'ids');
  }
  return { kind: 'some', ids, hashes };
}

/**
 * A list of file indices (`files-wanted`, `priority-high`, ...). The range check needs the
 * torrent's file count, so it happens in checkFileIndices.
 */
export function parseIndexList(args: Args, key: string): number[] | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new RpcArgumentError(key, `expected a list of file indices, got ${describe(value)}`);
  if (value.length > MAX_LIST_ENTRIES) throw new RpcArgumentError(key, `more than ${MAX_LIST_ENTRIES} entries`);
  return value.map((item, i) => {
    if (typeof item !== 'number' || !Number.isSafeInteger(item)) throw new RpcArgumentError(`${key}[${i}]`, `expected a file index, got ${describe(item)}`);
    return item;
  });
}

/**
 * Checks indices against a torrent's file count; an empty list means every file (spec 3.2).
 * Transmission's own message for a bad index is "file index out of range"; we add which one.
 */
export function checkFileIndices(key: string, indices: readonly number[], fileCount: number): number[] {
  if (indices.length === 0) return Array.from({ length: fileCount }, (_, i) => i);
  for (const index of indices) {
    if (index < 0 || index >= fileCount) throw new RpcArgumentError(key, `file index out of range: ${index} (the torrent has ${fileCount} files)`);
  }
  return [...indices];
}

export function optString(args: Args, key: string, maxLength = 64 * 1024): string | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RpcArgumentError(key, `expected a string, got ${describe(value)}`);
  if (value.length > maxLength) throw new RpcArgumentError(key, `longer than ${maxLength} characters`);
  return value;
}

/** Booleans as JSON true/false, or 0/1 as Transmission's own variant reader accepts. */
export function optBool(args: Args, key: string): boolean | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw new RpcArgumentError(key, `expected true or false, got ${describe(value)}`);
}

/** A finite number within [min, max]. */
export function optNumber(args: Args, key: string, min: number, max: number): number | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RpcArgumentError(key, `expected a number, got ${describe(value)}`);
  if (value < min || value > max) throw new RpcArgumentError(key, `${value} is outside ${min}..${max}`);
  return value;
}

export function optInt(args: Args, key: string, min: number, max: number): number | undefined {
  const value = optNumber(args, key, min, max);
  if (value !== undefined && !Number.isInteger(value)) throw new RpcArgumentError(key, `${value} is not an integer`);
  return value;
}

/** An absolute path (POSIX or Windows drive) without NUL bytes. */
export function optAbsolutePath(args: Args, key: string): string | undefined {
  const value = optString(args, key, 4096);
  if (value === undefined) return undefined;
  if (value.includes('\0')) throw new RpcArgumentError(key, 'contains a NUL byte');
  if (!value.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(value)) throw new RpcArgumentError(key, `path is not absolute: ${JSON.stringify(value)}`);
  return value;
}

/** `fields` of torrent-get / session-get: a list of strings. */
export function optFieldList(args: Args, key: string): string[] | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new RpcArgumentError(key, `expected a list of field names, got ${describe(value)}`);
  if (value.length > 1000) throw new RpcArgumentError(key, 'more than 1000 entries');
  return value.map((item, i) => {
    if (typeof item !== 'string') throw new RpcArgumentError(`${key}[${i}]`, `expected a field name, got ${describe(item)}`);
    return item;
  });
}

/** A short description of an unexpected value for an error message (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
