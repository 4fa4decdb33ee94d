/**
 * The state kept across runs: our node id and the good nodes of the routing table, so the
 * next start bootstraps from nodes that answered recently instead of the public routers.
 * Bencoded `{id, nodes, nodes6}` (compact node info), written atomically.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { decode, encode, isBytes, isDict } from '../bencode/index.js';
import { DhtError } from './errors.js';
import { ID_LENGTH } from './id.js';
import { compactNodeSize, decodeCompactNodes, encodeCompactNodes, familyOf, type NodeInfo } from './compact.js';

/** Nodes kept per family: a few buckets' worth is plenty to bootstrap. */
export const MAX_STATE_NODES = 200;
const MAX_STATE_BYTES = 64 * 1024;

export interface DhtState {
  readonly id: Buffer;
  readonly nodes: readonly NodeInfo[];
}

export function encodeState(state: DhtState): Buffer {
  const v4 = state.nodes.filter((n) => familyOf(n.host) === 4).slice(0, MAX_STATE_NODES);
  const v6 = state.nodes.filter((n) => familyOf(n.host) === 6).slice(0, MAX_STATE_NODES);
  return encode({ id: state.id, nodes: encodeCompactNodes(v4, 4), nodes6: encodeCompactNodes(v6, 6) });
}

export function decodeState(buf: Buffer): DhtState | DhtError {
  if (buf.length > MAX_STATE_BYTES) return new DhtError('EDHT_BAD_STATE', '', `state file of ${buf.length} bytes exceeds ${MAX_STATE_BYTES}`);
  let root;
  try {
    root = decode(buf, { maxDepth: 2 });
  } catch (e) {
    return new DhtError('EDHT_BAD_STATE', '', (e as Error).message);
  }
  if (!isDict(root)) return new DhtError('EDHT_BAD_STATE', '', 'not a dictionary');
  const id = root.get('id');
  if (!isBytes(id) || id.length !== ID_LENGTH) return new DhtError('EDHT_BAD_STATE', 'id', 'missing or not 20 bytes');
  const nodes: NodeInfo[] = [];
  for (const [key, family] of [['nodes', 4], ['nodes6', 6]] as const) {
    const raw = root.get(key);
    if (raw === undefined) continue;
    if (!isBytes(raw) || raw.length % compactNodeSize(family) !== 0) return new DhtError('EDHT_BAD_STATE', key, 'not compact node info');
    nodes.push(...decodeCompactNodes(Buffer.from(raw), family, MAX_STATE_NODES));
  }
  return { id: Buffer.from(id), nodes };
}

/** Reads the state file; undefined when it is missing, a DhtError when it is damaged. */
export async function loadState(file: string): Promise<DhtState | DhtError | undefined> {
  let buf: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_STATE_BYTES) return new DhtError('EDHT_BAD_STATE', '', `state file of ${size} bytes exceeds ${MAX_STATE_BYTES}`);
      buf = await readFile(fh);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return new DhtError('EDHT_BAD_STATE', '', (e as Error).message);
  }
  return decodeState(buf);
}

/**
 * Writes the state so that a crash leaves either the old file or the new one: a temp file in
 * the same folder, fsync, rename over the old name, then fsync the folder (best effort).
 */
export async function saveState(file: string, state: DhtState): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(encodeState(state));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  try {
    const dir = await open(dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* some file systems cannot fsync a folder; the rename is done either way */
  }
}
