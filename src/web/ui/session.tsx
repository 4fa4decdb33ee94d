// The whole client: total rates with a chart of the last minutes, speed limits, peer port,
// DHT nodes and the download folder's free space.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { formatBytes, formatRate } from '../shared/format.js';

export interface SessionInfo {
  'download-dir': string;
  'peer-port': number;
  'dht-enabled': boolean;
  /** pytor's own: nodes in the DHT routing table (absent from other daemons). */
  'pytor-dht-nodes'?: number;
  'speed-limit-down': number;
  'speed-limit-down-enabled': boolean;
  'speed-limit-up': number;
  'speed-limit-up-enabled': boolean;
  'start-added-torrents': boolean;
  version: string;
}

export interface RateSample {
  /** Seconds since the epoch. */
  at: number;
  down: number;
  up: number;
}

/** The chart's time span: the last five minutes. */
const WINDOW_SECONDS = 300;

function RateChart({ samples }: { samples: RateSample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [dark, setDark] = useState(() => window.matchMedia('(prefers-color-scheme: dark)').matches);

  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const change = () => setDark(mq.matches);
    mq.addEventListener('change', change);
    return () => mq.removeEventListener('change', change);
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ink = dark ? '#c9ced6' : '#454b55';
    const grid = dark ? 'rgba(255,255,255,0.12)' : 'rgba(0,0,0,0.1)';
    const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 130,
        legend: { show: false },
        cursor: { show: false },
        padding: [8, 28, 0, 0],
        scales: { x: { time: true, range: () => [Date.now() / 1000 - WINDOW_SECONDS, Date.now() / 1000] }, y: { range: (_u, _min, max) => [0, Math.max(1000, max * 1.1)] } },
        axes: [
          { ...axis, space: 60 },
          { ...axis, size: 70, values: (_u, vals) => vals.map((v) => formatRate(v)) },
        ],
        series: [
          {},
          { label: 'Download', stroke: dark ? '#7fb0ff' : '#1d5fbf', width: 2, points: { show: false }, fill: dark ? 'rgba(127,176,255,0.15)' : 'rgba(29,95,191,0.1)' },
          { label: 'Upload', stroke: dark ? '#6fd39a' : '#1e7b46', width: 2, points: { show: false } },
        ],
      },
      [[], [], []],
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 130 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [dark]);

  useEffect(() => {
    plot.current?.setData([samples.map((s) => s.at), samples.map((s) => s.down), samples.map((s) => s.up)]);
  }, [samples, dark]);

  return <div class="chart" ref={box} role="img" aria-label="Chart of the total download and upload rates over the last five minutes" />;
}

function LimitField({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (v: string) => void }) {
  return (
    <label for={id}>
      {label}
      <span class="limit-input">
        <input
          id={id}
          name={id}
          type="number"
          min="0"
          step="1"
          inputMode="numeric"
          placeholder="no limit"
          value={value}
          onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
        />
        <span class="unit">kB/s</span>
      </span>
    </label>
  );
}

/** What a limit field shows: the user's unsent edit, else the daemon's limit ('' for none). */
function shownLimit(draft: string | undefined, enabled: boolean | undefined, value: number | undefined): string {
  return draft ?? (enabled && value !== undefined ? String(value) : '');
}

export function SessionBar(props: {
  session: SessionInfo | null;
  samples: RateSample[];
  freeSpace: number | null;
  onLimits: (args: Record<string, unknown>, what: string) => Promise<void>;
}) {
  const { session, samples, freeSpace } = props;
  const last = samples[samples.length - 1];
  // Edits live here until sent: the session polls never overwrite what the user is typing.
  const [drafts, setDrafts] = useState<{ down?: string; up?: string }>({});
  const shownDown = shownLimit(drafts.down, session?.['speed-limit-down-enabled'], session?.['speed-limit-down']);
  const shownUp = shownLimit(drafts.up, session?.['speed-limit-up-enabled'], session?.['speed-limit-up']);
  const submit = (e: Event) => {
    e.preventDefault();
    const down = shownDown.trim();
    const up = shownUp.trim();
    const args = {
      'speed-limit-down-enabled': down !== '',
      'speed-limit-up-enabled': up !== '',
      ...(down !== '' ? { 'speed-limit-down': Math.max(0, Math.round(Number(down))) } : {}),
      ...(up !== '' ? { 'speed-limit-up': Math.max(0, Math.round(Number(up))) } : {}),
    };
    // Once sent (and the session read again), the fields show the daemon's limits, unless the
    // user has typed again meanwhile (each edit makes a new drafts object).
    const sent = drafts;
    void props
      .onLimits(args, `Speed limits: down ${down === '' ? 'unlimited' : `${down} kB/s`}, up ${up === '' ? 'unlimited' : `${up} kB/s`}`)
      .finally(() => setDrafts((d) => (d === sent ? {} : d)));
  };
  const dht = !session ? '–' : !session['dht-enabled'] ? 'off' : session['pytor-dht-nodes'] !== undefined ? `${session['pytor-dht-nodes']} nodes` : 'on';
  return (
    <section class="session" aria-labelledby="session-heading">
      <h2 id="session-heading" class="visually-hidden">
        Client
      </h2>
      <div class="rates">
        <dl class="totals">
          <div>
            <dt>Download</dt>
            <dd class="down" data-testid="total-down">
              {formatRate(last?.down ?? 0)}
            </dd>
          </div>
          <div>
            <dt>Upload</dt>
            <dd class="up" data-testid="total-up">
              {formatRate(last?.up ?? 0)}
            </dd>
          </div>
        </dl>
        <RateChart samples={samples} />
      </div>
      <dl class="facts">
        <div>
          <dt>Peer port</dt>
          <dd data-testid="peer-port">{session ? session['peer-port'] : '–'}</dd>
        </div>
        <div>
          <dt>DHT</dt>
          <dd data-testid="dht">{dht}</dd>
        </div>
        <div>
          <dt>Free space</dt>
          <dd data-testid="free-space" title={session?.['download-dir']}>
            {freeSpace === null ? '–' : formatBytes(freeSpace)}
          </dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{session ? session.version : '–'}</dd>
        </div>
      </dl>
      {session && (
        <form class="limits" onSubmit={submit} aria-label="Speed limits">
          <LimitField id="limit-down" label="Download limit" value={shownDown} onInput={(v) => setDrafts((d) => ({ ...d, down: v }))} />
          <LimitField id="limit-up" label="Upload limit" value={shownUp} onInput={(v) => setDrafts((d) => ({ ...d, up: v }))} />
          <button type="submit">Set limits</button>
        </form>
      )}
    </section>
  );
}
