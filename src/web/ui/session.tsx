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

function LimitField({ id, label, enabled, value }: { id: string; label: string; enabled: boolean; value: number }) {
  return (
    <label for={id}>
      {label}
      <span class="limit-input">
        <input id={id} name={id} type="number" min="0" step="1" inputMode="numeric" placeholder="no limit" defaultValue={enabled ? String(value) : ''} />
        <span class="unit">kB/s</span>
      </span>
    </label>
  );
}

export function SessionBar(props: {
  session: SessionInfo | null;
  samples: RateSample[];
  freeSpace: number | null;
  onLimits: (args: Record<string, unknown>, what: string) => Promise<void>;
}) {
  const { session, samples, freeSpace } = props;
  const last = samples[samples.length - 1];
  const limitsKey = session ? `${session['speed-limit-down-enabled']}:${session['speed-limit-down']}:${session['speed-limit-up-enabled']}:${session['speed-limit-up']}` : '';
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const read = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    const down = read('limit-down');
    const up = read('limit-up');
    const args = {
      'speed-limit-down-enabled': down !== '',
      'speed-limit-up-enabled': up !== '',
      ...(down !== '' ? { 'speed-limit-down': Math.max(0, Math.round(Number(down))) } : {}),
      ...(up !== '' ? { 'speed-limit-up': Math.max(0, Math.round(Number(up))) } : {}),
    };
    void props.onLimits(args, `Speed limits: down ${down === '' ? 'unlimited' : `${down} kB/s`}, up ${up === '' ? 'unlimited' : `${up} kB/s`}`);
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
        <form class="limits" key={limitsKey} onSubmit={submit} aria-label="Speed limits">
          <LimitField id="limit-down" label="Download limit" enabled={session['speed-limit-down-enabled']} value={session['speed-limit-down']} />
          <LimitField id="limit-up" label="Upload limit" enabled={session['speed-limit-up-enabled']} value={session['speed-limit-up']} />
          <button type="submit">Set limits</button>
        </form>
      )}
    </section>
  );
}
