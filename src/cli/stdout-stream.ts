// --stdout: one file's bytes written to a stream (stdout) in order, each piece as soon as it
// is verified and on disk, so a player reading the pipe starts while the download runs. The
// picker fetches in file order (sequential); this only waits for the next piece and copies it.
import createDebug from 'debug';
import type { ClientTorrent } from '../client/index.js';
import type { Torrent } from '../metainfo/index.js';

const log = createDebug('pytor:cli');

/** Bytes read from disk per write: bounded, so a huge piece never becomes one huge buffer. */
const CHUNK = 1024 * 1024;

export interface OutStream {
  write(chunk: Buffer): boolean;
  once(event: 'drain' | 'error' | 'close', fn: (...args: unknown[]) => void): unknown;
  on(event: 'error', fn: (err: NodeJS.ErrnoException) => void): unknown;
  off(event: 'drain' | 'error' | 'close', fn: (...args: unknown[]) => void): unknown;
}

export class OrderedWriter {
  private cursor: number;
  private readonly end: number;
  private wake: (() => void) | undefined;
  private stopped = false;
  /** The reader went away (EPIPE): the download should end, quietly. */
  pipeClosed = false;
  private readonly running: Promise<void>;
  /** Bytes written to the stream so far. */
  written = 0;

  constructor(
    private readonly t: ClientTorrent,
    torrent: Torrent,
    fileIndex: number,
    private readonly out: OutStream,
    /** Called when the stream closes under us: ends the run. */
    private readonly onPipeClosed: () => void,
  ) {
    const file = torrent.files[fileIndex];
    if (!file) throw new RangeError(`file ${fileIndex} out of range`);
    this.cursor = file.offset;
    this.end = file.offset + file.length;
    out.on('error', (err) => {
      log('output stream: %s', err.code ?? err.message);
      this.pipeClosed = true;
      this.stop();
      this.onPipeClosed();
    });
    const poke = () => this.poke();
    t.on('piece', poke);
    t.on('checked', poke);
    this.running = this.run(torrent.pieceLength).finally(() => {
      t.off('piece', poke);
      t.off('checked', poke);
    });
  }

  /** Resolves once the whole file is written, the stream closed, or stop() was called. */
  done(): Promise<void> {
    return this.running;
  }

  /** Gives up waiting for further pieces (the run is over). */
  stop(): void {
    this.stopped = true;
    this.poke();
  }

  get complete(): boolean {
    return this.cursor >= this.end;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(pieceLength: number): Promise<void> {
    while (!this.stopped && this.cursor < this.end) {
      const piece = Math.floor(this.cursor / pieceLength);
      const session = this.t.session;
      if (!session || !session.hasPiece(piece)) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const begin = this.cursor - piece * pieceLength;
      const length = Math.min(CHUNK, pieceLength - begin, this.end - this.cursor);
      let data: Buffer;
      try {
        data = await session.readData(piece, begin, length);
      } catch (err) {
        if (this.stopped) return;
        throw err;
      }
      if (this.stopped) return;
      this.cursor += length;
      this.written += length;
      if (!this.out.write(data)) await this.drained();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.wake = undefined;
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('close', done);
      // stop() (a closed pipe, Ctrl-C) must not wait for a drain that never comes.
      this.wake = done;
    });
  }
}
