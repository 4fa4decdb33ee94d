// The RPC methods: one request object in, one response object out, against an RpcEngine.
// Every argument is checked (args.ts) before the engine is called, so a bad request changes
// nothing; every failure, ours or the engine's, becomes a `result` string, never a throw.
import createDebug from 'debug';
import { addSource } from './add-source.js';
import {
  checkFileIndices,
  describe,
  optAbsolutePath,
  optBool,
  optFieldList,
  optInt,
  optNumber,
  optString,
  parseIds,
  parseIndexList,
  type Args,
  type IdSelector,
} from './args.js';
import type { AddOptions, FileChanges, RatioLimit, RpcEngine, SessionChanges, TorrentLimits, TorrentSnapshot } from './engine.js';
import { RpcArgumentError } from './errors.js';
import { knownFields, queryFor, ratioFromMode, sessionArguments, sessionStats, SPEED_K, torrentObject, torrentRow, type FieldContext } from './fields.js';

const log = createDebug('pytor:rpc');

/** "recently-active": activity (or removal) within this many seconds, as Transmission counts. */
export const RECENT_SECONDS = 60;
/** Removed ids remembered for "recently-active" answers; older or excess ones are dropped. */
const MAX_REMOVED_REMEMBERED = 10_000;
/** The largest speed limit accepted, in kB/s (about 2^53 bytes/s would be absurd; 10^9 kB/s is 1 TB/s). */
const MAX_KBPS = 1_000_000_000;

export interface RpcRequest {
  readonly method: string;
  readonly arguments: Args;
  readonly tag?: number;
}

export interface RpcResponse {
  result: string;
  arguments?: Record<string, unknown>;
  tag?: number;
}

/** Methods of Transmission's protocol that pytor knowingly does not offer. */
const UNSUPPORTED_METHODS = new Set(['blocklist-update', 'session-close', 'torrent-rename-path', 'queue-move-top', 'queue-move-up', 'queue-move-down', 'queue-move-bottom']);

/** torrent-set arguments pytor cannot honour: refused rather than silently dropped. */
const UNSUPPORTED_TORRENT_SET = ['labels', 'queuePosition', 'seedIdleLimit', 'seedIdleMode', 'trackerAdd', 'trackerRemove', 'trackerReplace', 'location'];

/** Checks the request envelope (spec 2.1). Throws RpcArgumentError; the caller answers with its message. */
export function parseRequest(body: unknown): RpcRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RpcArgumentError('request', 'expected a JSON object');
  const o = body as Record<string, unknown>;
  if (typeof o.method !== 'string') throw new RpcArgumentError('method', o.method === undefined ? 'missing' : `expected a string, got ${describe(o.method)}`);
  const args = o.arguments ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new RpcArgumentError('arguments', `expected an object, got ${describe(args)}`);
  // Only integer tags are echoed (Transmission reads the tag as an integer).
  const tag = typeof o.tag === 'number' && Number.isSafeInteger(o.tag) ? o.tag : undefined;
  return { method: o.method, arguments: args as Args, ...(tag === undefined ? {} : { tag }) };
}

export interface RpcMethodsOptions {
  readonly engine: RpcEngine;
  /** The X-Transmission-Session-Id, reported by session-get. */
  readonly sessionId: string;
  /** Milliseconds since the epoch (injected for tests). */
  readonly now?: () => number;
}

export class RpcMethods {
  private readonly engine: RpcEngine;
  private readonly sessionId: string;
  private readonly now: () => number;
  /** Ids removed through the RPC, with the second they went, for "recently-active". */
  private readonly removed: { id: number; at: number }[] = [];

  constructor(opts: RpcMethodsOptions) {
    this.engine = opts.engine;
    this.sessionId = opts.sessionId;
    this.now = opts.now ?? Date.now;
  }

  /** Answers one decoded JSON body. Never throws. */
  async handle(body: unknown): Promise<RpcResponse> {
    let tag: number | undefined;
    try {
      const request = parseRequest(body);
      tag = request.tag;
      log('%s %o', request.method, Object.keys(request.arguments));
      const args = await this.call(request.method, request.arguments);
      return { result: 'success', arguments: args, ...(tag === undefined ? {} : { tag }) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof RpcArgumentError)) log('request failed: %O', err);
      return { result: oneLine(message), arguments: {}, ...(tag === undefined ? {} : { tag }) };
    }
  }

  private async call(method: string, args: Args): Promise<Record<string, unknown>> {
    switch (method) {
      case 'session-get':
        return this.sessionGet(args);
      case 'session-set':
        return this.sessionSet(args);
      case 'session-stats':
        return sessionStats(this.engine.torrents({}), this.engine.totals());
      case 'torrent-get':
        return this.torrentGet(args);
      case 'torrent-add':
        return this.torrentAdd(args);
      case 'torrent-start':
      case 'torrent-start-now':
        await this.withIds(args, (ids) => this.engine.start(ids, method === 'torrent-start-now'));
        return {};
      case 'torrent-stop':
        await this.withIds(args, (ids) => this.engine.stop(ids));
        return {};
      case 'torrent-verify':
        await this.withIds(args, (ids) => this.engine.verify(ids));
        return {};
      case 'torrent-reannounce':
        await this.withIds(args, (ids) => this.engine.reannounce(ids));
        return {};
      case 'torrent-remove':
        return this.torrentRemove(args);
      case 'torrent-set':
        return this.torrentSet(args);
      case 'torrent-set-location':
        return this.torrentSetLocation(args);
      case 'free-space':
        return this.freeSpace(args);
      case 'port-test':
        return this.portTest();
      default:
        if (UNSUPPORTED_METHODS.has(method)) throw new Error(`method "${method}" is not supported by pytor`);
        throw new Error(`method name not recognized: ${JSON.stringify(method.slice(0, 64))}`);
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** The torrents a selector picks, in id order. */
  select(torrents: readonly TorrentSnapshot[], sel: IdSelector): TorrentSnapshot[] {
    if (sel.kind === 'all') return [...torrents];
    if (sel.kind === 'recently-active') {
      const since = this.nowSeconds() - RECENT_SECONDS;
      return torrents.filter((t) => (t.activityAt ?? 0) >= since || t.addedAt >= since);
    }
    const ids = new Set(sel.ids);
    const hashes = new Set(sel.hashes);
    return torrents.filter((t) => ids.has(t.id) || hashes.has(t.infoHashHex.toLowerCase()));
  }

  private async withIds(args: Args, act: (ids: number[]) => Promise<void>): Promise<void> {
    const chosen = this.select(this.engine.torrents({}), parseIds(args.ids));
    if (chosen.length > 0) await act(chosen.map((t) => t.id));
  }

  private sessionGet(args: Args): Record<string, unknown> {
    const all = sessionArguments(this.engine.session(), this.sessionId);
    const fields = optFieldList(args, 'fields');
    if (fields === undefined || fields.length === 0) return all;
    const out: Record<string, unknown> = {};
    for (const f of fields) if (Object.prototype.hasOwnProperty.call(all, f)) out[f] = all[f];
    return out;
  }

  private async sessionSet(args: Args): Promise<Record<string, unknown>> {
    const current = this.engine.session();
    const changes: { -readonly [K in keyof SessionChanges]: SessionChanges[K] } = {};
    const down = speedLimit(args, 'speed-limit-down', 'speed-limit-down-enabled', current.downloadLimit !== null);
    if (down !== undefined) changes.downloadLimit = down;
    const up = speedLimit(args, 'speed-limit-up', 'speed-limit-up-enabled', current.uploadLimit !== null);
    if (up !== undefined) changes.uploadLimit = up;
    const ratio = optNumber(args, 'seedRatioLimit', 0, 1e6);
    const ratioOn = optBool(args, 'seedRatioLimited');
    if (ratioOn === false) changes.seedRatioLimit = null;
    else if (ratio !== undefined) changes.seedRatioLimit = ratio;
    else if (ratioOn === true && current.seedRatioLimit === null) changes.seedRatioLimit = 2;
    const dir = optAbsolutePath(args, 'download-dir');
    if (dir !== undefined) changes.downloadDir = dir;
    const port = optInt(args, 'peer-port', 1, 65535);
    if (port !== undefined) changes.peerPort = port;
    const global = optInt(args, 'peer-limit-global', 1, 100_000);
    if (global !== undefined) changes.peerLimitGlobal = global;
    const per = optInt(args, 'peer-limit-per-torrent', 1, 100_000);
    if (per !== undefined) changes.peerLimitPerTorrent = per;
    const startAdded = optBool(args, 'start-added-torrents');
    if (startAdded !== undefined) changes.startAddedTorrents = startAdded;

    // Everything else session-get shows: accepted when it restates the current value (front-ends
    // send the whole preferences form), refused when it asks for a change pytor cannot make.
    const handled = new Set(['speed-limit-down', 'speed-limit-down-enabled', 'speed-limit-up', 'speed-limit-up-enabled', 'seedRatioLimit', 'seedRatioLimited', 'download-dir', 'peer-port', 'peer-limit-global', 'peer-limit-per-torrent', 'start-added-torrents']);
    const readOnly = new Set(['blocklist-size', 'config-dir', 'rpc-version', 'rpc-version-minimum', 'version', 'session-id', 'units']);
    const shown = sessionArguments(current, this.sessionId);
    for (const [key, value] of Object.entries(args)) {
      if (handled.has(key) || readOnly.has(key) || !Object.prototype.hasOwnProperty.call(shown, key)) continue;
      if (JSON.stringify(shown[key]) !== JSON.stringify(value)) throw new RpcArgumentError(key, 'changing this setting is not supported by pytor');
    }
    if (Object.keys(changes).length > 0) await this.engine.setSession(changes);
    return {};
  }

  private torrentGet(args: Args): Record<string, unknown> {
    const requested = optFieldList(args, 'fields');
    if (requested === undefined) throw new RpcArgumentError('fields', 'no fields specified');
    const format = optString(args, 'format', 16) ?? 'objects';
    if (format !== 'objects' && format !== 'table') throw new RpcArgumentError('format', `expected "objects" or "table", got ${describe(format)}`);
    const sel = parseIds(args.ids);
    const fields = knownFields(requested);
    const all = this.engine.torrents(queryFor(fields));
    const chosen = this.select(all, sel);
    const session = this.engine.session();
    const position = new Map(all.map((t, i) => [t.id, i]));
    const ctx = (t: TorrentSnapshot): FieldContext => ({ session, position: position.get(t.id) ?? 0 });
    const torrents = format === 'table' ? [fields, ...chosen.map((t) => torrentRow(t, fields, ctx(t)))] : chosen.map((t) => torrentObject(t, fields, ctx(t)));
    const out: Record<string, unknown> = { torrents };
    if (sel.kind === 'recently-active') out.removed = this.recentlyRemoved();
    return out;
  }

  private recentlyRemoved(): number[] {
    const since = this.nowSeconds() - RECENT_SECONDS;
    while (this.removed.length > 0 && this.removed[0]!.at < since) this.removed.shift();
    return this.removed.map((r) => r.id);
  }

  private async torrentAdd(args: Args): Promise<Record<string, unknown>> {
    const filename = optString(args, 'filename', 64 * 1024);
    const metainfo = optString(args, 'metainfo', 32 * 1024 * 1024);
    if (filename === undefined && metainfo === undefined) throw new RpcArgumentError('filename', 'no filename or metainfo specified');
    const options: { -readonly [K in keyof AddOptions]: AddOptions[K] } = {};
    const dir = optAbsolutePath(args, 'download-dir');
    if (dir !== undefined) options.downloadDir = dir;
    const paused = optBool(args, 'paused');
    if (paused !== undefined) options.paused = paused;
    const peerLimit = optInt(args, 'peer-limit', 1, 100_000);
    if (peerLimit !== undefined) options.peerLimit = peerLimit;
    const lists = [
      ['files-wanted', 'filesWanted'],
      ['files-unwanted', 'filesUnwanted'],
      ['priority-high', 'priorityHigh'],
      ['priority-normal', 'priorityNormal'],
      ['priority-low', 'priorityLow'],
    ] as const;
    for (const [key, name] of lists) {
      const list = parseIndexList(args, key);
      if (list === undefined) continue;
      const negative = list.find((i) => i < 0);
      if (negative !== undefined) throw new RpcArgumentError(key, `file index out of range: ${negative}`);
      options[name] = list;
    }
    const source = await addSource(filename, metainfo);
    const added = await this.engine.add(source, options);
    const info = { id: added.id, name: added.name, hashString: added.infoHashHex };
    return added.duplicate ? { 'torrent-duplicate': info } : { 'torrent-added': info };
  }

  private async torrentRemove(args: Args): Promise<Record<string, unknown>> {
    const deleteData = optBool(args, 'delete-local-data') ?? false;
    const at = this.nowSeconds();
    await this.withIds(args, async (ids) => {
      await this.engine.remove(ids, deleteData);
      for (const id of ids) this.removed.push({ id, at });
      if (this.removed.length > MAX_REMOVED_REMEMBERED) this.removed.splice(0, this.removed.length - MAX_REMOVED_REMEMBERED);
    });
    return {};
  }

  private async torrentSet(args: Args): Promise<Record<string, unknown>> {
    for (const key of UNSUPPORTED_TORRENT_SET) {
      if (args[key] !== undefined) throw new RpcArgumentError(key, 'not supported by pytor');
    }
    if (optBool(args, 'honorsSessionLimits') === false) throw new RpcArgumentError('honorsSessionLimits', 'pytor torrents always honour the session limits');
    const priority = optInt(args, 'bandwidthPriority', -1, 1);
    if (priority !== undefined && priority !== 0) throw new RpcArgumentError('bandwidthPriority', 'torrent bandwidth priorities are not supported by pytor');

    const chosen = this.select(this.engine.torrents({}), parseIds(args.ids));
    const limits: { -readonly [K in keyof TorrentLimits]: TorrentLimits[K] } = {};
    const down = speedLimit(args, 'downloadLimit', 'downloadLimited', chosen.every((t) => t.downloadLimit !== undefined));
    if (down !== undefined) limits.downloadLimit = down;
    const up = speedLimit(args, 'uploadLimit', 'uploadLimited', chosen.every((t) => t.uploadLimit !== undefined));
    if (up !== undefined) limits.uploadLimit = up;
    const peerLimit = optInt(args, 'peer-limit', 1, 100_000);
    if (peerLimit !== undefined) limits.peerLimit = peerLimit;
    const ratio = optNumber(args, 'seedRatioLimit', 0, 1e6);
    const mode = optInt(args, 'seedRatioMode', 0, 2);

    const fileKeys = [
      ['files-wanted', 'wanted'],
      ['files-unwanted', 'unwanted'],
      ['priority-high', 'high'],
      ['priority-normal', 'normal'],
      ['priority-low', 'low'],
    ] as const;
    const fileLists = fileKeys.map(([key, name]) => [key, name, parseIndexList(args, key)] as const);

    // Check every torrent's file indices before changing anything.
    const fileChanges = new Map<number, FileChanges>();
    for (const t of chosen) {
      const changes: { -readonly [K in keyof FileChanges]: FileChanges[K] } = {};
      for (const [key, name, list] of fileLists) if (list !== undefined) changes[name] = checkFileIndices(key, list, t.fileCount);
      if (Object.keys(changes).length > 0) fileChanges.set(t.id, changes);
    }
    const perTorrentRatio = new Map<number, RatioLimit>();
    if (ratio !== undefined || mode !== undefined) {
      for (const t of chosen) {
        // A ratio given alone means "this torrent's own ratio", as transmission-remote's -sr sends both.
        const next = mode === undefined ? ratio! : ratioFromMode(mode, ratio, t.ratioLimit);
        if (next === undefined) throw new RpcArgumentError('seedRatioLimit', 'seedRatioMode 1 needs a seedRatioLimit');
        perTorrentRatio.set(t.id, next);
      }
    }
    for (const [id, changes] of fileChanges) await this.engine.setFiles(id, changes);
    const ids = chosen.map((t) => t.id);
    if (ids.length > 0 && Object.keys(limits).length > 0) await this.engine.setTorrentLimits(ids, limits);
    for (const [id, ratioLimit] of perTorrentRatio) await this.engine.setTorrentLimits([id], { ratioLimit });
    return {};
  }

  private async torrentSetLocation(args: Args): Promise<Record<string, unknown>> {
    const location = optAbsolutePath(args, 'location');
    if (location === undefined) throw new RpcArgumentError('location', 'missing');
    const move = optBool(args, 'move') ?? false;
    await this.withIds(args, (ids) => this.engine.setLocation(ids, location, move));
    return {};
  }

  private async freeSpace(args: Args): Promise<Record<string, unknown>> {
    const path = optAbsolutePath(args, 'path');
    if (path === undefined) throw new RpcArgumentError('path', 'directory path argument is missing');
    return { path, 'size-bytes': await this.engine.freeSpace(path) };
  }

  private async portTest(): Promise<Record<string, unknown>> {
    const open = await this.engine.portTest();
    if (open === null) throw new Error('port-test: pytor cannot tell whether its peer port is reachable from outside (it contacts no third-party checker)');
    return { 'port-is-open': open };
  }
}

/**
 * A speed limit from a value in kB/s and an enabled flag: null turns it off, a number (bytes/s)
 * sets and turns it on, undefined leaves it. pytor keeps no "disabled" value, so turning a limit
 * on without giving one is refused unless one is already on.
 */
export function speedLimit(args: Args, valueKey: string, enabledKey: string, limitedNow: boolean): number | null | undefined {
  const value = optInt(args, valueKey, 0, MAX_KBPS);
  const enabled = optBool(args, enabledKey);
  if (enabled === false) return null;
  if (value !== undefined) return value * SPEED_K;
  if (enabled === true && !limitedNow) throw new RpcArgumentError(valueKey, `give the limit in kB/s to turn on ${enabledKey}`);
  return undefined;
}

/** Error text as one printable line, bounded. */
function oneLine(message: string): string {
  const line = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 500)}...` : line || 'error';
}
