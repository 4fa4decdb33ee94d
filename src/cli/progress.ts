import cliProgress from 'cli-progress';
import type { MetadataStats } from '../session/metadata.js';
import type { SessionStats } from '../session/session.js';
import type { Discovery } from '../client/index.js';
import { describeDiscovery, describeMetadata } from './metadata-text.js';
import { StatusLine } from './status-line.js';
import { formatBytes, formatDuration } from './terminal.js';

export type ProgressMode = 'bar' | 'lines' | 'none';

/** Plain progress lines are this far apart when output is not a terminal. */
export const PLAIN_LINE_INTERVAL_MS = 5_000;

/**
 * What a person watches during a transfer: a bar redrawn in place on a terminal, a plain
 * line every few seconds otherwise (no escape codes in a log file), nothing when quiet.
 */
export class ProgressView {
  private bar: cliProgress.SingleBar | undefined;
  private lastLineAt = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  static modeFor(stream: NodeJS.WriteStream, quiet: boolean): ProgressMode {
    if (quiet) return 'none';
    return stream.isTTY ? 'bar' : 'lines';
  }

  private metadataLine: StatusLine | undefined;

  /** While a magnet link's metadata is fetched: a status line (terminal) or a plain line now and then. */
  metadata(s: MetadataStats, discovery?: Discovery, now = Date.now()): void {
    if (this.mode === 'none') return;
    if (this.mode === 'bar') {
      this.metadataLine ??= new StatusLine(this.stream);
      this.metadataLine.show(describeMetadata(s, discovery));
      return;
    }
    if (now - this.lastLineAt < PLAIN_LINE_INTERVAL_MS) return;
    this.lastLineAt = now;
    this.stream.write(`${describeMetadata(s, discovery)}\n`);
  }

  update(s: SessionStats, discovery?: Discovery, now = Date.now()): void {
    if (this.mode === 'none') return;
    this.metadataLine?.clear();
    this.metadataLine = undefined;
    const fields = describe(s, discovery);
    if (this.mode === 'bar') {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: this.stream,
            // `total`, `eta` and `percentage` are cli-progress's own tokens: ours have other names.
            format: `${this.label ? `${this.label} ` : ''}{bar} {percent} | {done}/{size} | {rate} | ETA {timeLeft} | peers {peers}{looking}`,
            barsize: 24,
            hideCursor: true,
            clearOnComplete: false,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(s.length, s.verified, fields);
      }
      this.bar.update(s.verified, fields);
      return;
    }
    if (now - this.lastLineAt < PLAIN_LINE_INTERVAL_MS) return;
    this.lastLineAt = now;
    this.stream.write(line(fields));
  }

  /** Ends the bar (leaving its last state on screen) or prints a last line. */
  finish(s: SessionStats): void {
    if (this.mode === 'bar' && this.bar) {
      this.bar.update(s.verified, describe(s));
      this.bar.stop();
    } else if (this.mode === 'lines') {
      this.stream.write(line(describe(s)));
    }
  }

  /** Prints a line above the bar (or as a plain line). */
  note(text: string): void {
    if (this.mode === 'none') return;
    // A metadata status line stays on screen, and the note goes below it.
    this.metadataLine?.keep();
    this.metadataLine = undefined;
    if (this.bar) this.bar.stop();
    this.bar = undefined;
    this.stream.write(`${text}\n`);
  }
}

function describe(s: SessionStats, discovery?: Discovery) {
  const percent = s.length > 0 ? (100 * s.verified) / s.length : 100;
  const left = s.length - s.verified;
  return {
    percent: `${percent.toFixed(1)}%`,
    done: formatBytes(s.verified),
    size: formatBytes(s.length),
    rate: `${formatBytes(Math.round(s.downloadRate))}/s`,
    timeLeft: left === 0 ? '0s' : s.downloadRate > 0 ? formatDuration(left / s.downloadRate) : '--',
    peers: `${s.peersConnected}/${s.peersKnown}`,
    // With no peer yet, say where peers are being looked for: the wait does not look hung.
    looking: discovery && s.peersConnected === 0 && s.verified < s.length ? ` | looking: ${describeDiscovery(discovery)}` : '',
  };
}

function line(f: ReturnType<typeof describe>): string {
  return `progress ${f.percent} ${f.done}/${f.size} ${f.rate} eta ${f.timeLeft} peers ${f.peers}${f.looking}\n`;
}
