import { BencodeEncodeError } from './errors.js';
import { BDict } from './value.js';

/**
 * What the encoder takes: decoded values, plus the shapes code naturally builds
 * (strings as UTF-8, plain objects and Maps as dicts). Undefined dict values are skipped.
 */
export type Encodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Encodable[]
  | BDict
  | ReadonlyMap<string | Uint8Array, Encodable | undefined>
  | { readonly [key: string]: Encodable | undefined };

/** Canonical bencode: dict keys sorted by their raw bytes, integers in shortest form. */
export function encode(value: Encodable): Buffer {
  const parts: Buffer[] = [];
  write(value, parts, '');
  return Buffer.concat(parts);
}

function write(value: Encodable, out: Buffer[], path: string): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new BencodeEncodeError(path, `${value} is not a safe integer`);
    out.push(Buffer.from(`i${value === 0 ? 0 : value}e`, 'latin1'));
  } else if (typeof value === 'bigint') {
    out.push(Buffer.from(`i${value}e`, 'latin1'));
  } else if (typeof value === 'string') {
    writeBytes(Buffer.from(value, 'utf8'), out);
  } else if (value instanceof Uint8Array) {
    writeBytes(value, out);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l'));
    (value as readonly Encodable[]).forEach((item, i) => write(item, out, `${path}[${i}]`));
    out.push(Buffer.from('e'));
  } else if (value instanceof BDict) {
    // Decoded keys are latin1 strings: one char per byte.
    writeDict([...value.entries].map(([k, v]) => [Buffer.from(k, 'latin1'), v] as const), out, path);
  } else if (value instanceof Map) {
    const entries: (readonly [Buffer, Encodable | undefined])[] = [];
    for (const [k, v] of value as ReadonlyMap<string | Uint8Array, Encodable | undefined>) {
      entries.push([typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k), v]);
    }
    writeDict(entries, out, path);
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as { [key: string]: Encodable | undefined }).map(
      ([k, v]) => [Buffer.from(k, 'utf8'), v] as const,
    );
    writeDict(entries, out, path);
  } else {
    throw new BencodeEncodeError(path, `unsupported type ${typeof value}`);
  }
}

function writeBytes(bytes: Uint8Array, out: Buffer[]): void {
  out.push(Buffer.from(`${bytes.length}:`, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function writeDict(entries: (readonly [Buffer, Encodable | undefined])[], out: Buffer[], path: string): void {
  const present = entries.filter((e): e is readonly [Buffer, Encodable] => e[1] !== undefined);
  present.sort((a, b) => Buffer.compare(a[0], b[0]));
  out.push(Buffer.from('d'));
  for (let i = 0; i < present.length; i++) {
    const [key, v] = present[i]!;
    if (i > 0 && key.equals(present[i - 1]![0])) {
      throw new BencodeEncodeError(path, `duplicate key "${key.toString('latin1')}"`);
    }
    writeBytes(key, out);
    write(v, out, `${path}.${key.toString('latin1')}`);
  }
  out.push(Buffer.from('e'));
}
