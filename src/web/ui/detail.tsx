// The detail of one torrent: tabs for files, peers, trackers and the piece map. Each tab asks
// torrent-get for its own fields only, every second while it is shown.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { decodePieces, formatBytes, formatRate, formatWhen, percent, PRIORITY_NAMES, type TorrentRow } from '../shared/format.js';
import { usePoll } from './hooks.js';
import { Icon } from './icons.js';
import { ProgressBar } from './list.js';
import type { Rpc } from './rpc.js';

type Tab = 'files' | 'peers' | 'trackers' | 'pieces';
const TABS: { id: Tab; label: string; fields: string[] }[] = [
  { id: 'files', label: 'Files', fields: ['id', 'files', 'fileStats'] },
  { id: 'peers', label: 'Peers', fields: ['id', 'peers'] },
  { id: 'trackers', label: 'Trackers', fields: ['id', 'trackerStats'] },
  { id: 'pieces', label: 'Pieces', fields: ['id', 'pieces', 'pieceCount', 'pieceSize'] },
];

interface DetailData {
  files?: { name: string; length: number; bytesCompleted: number }[];
  fileStats?: { wanted: boolean; priority: number; bytesCompleted: number }[];
  peers?: { address: string; port: number; clientName: string; flagStr: string; rateToClient: number; rateToPeer: number; progress: number }[];
  trackerStats?: {
    announce: string;
    tier: number;
    lastAnnounceResult: string;
    lastAnnounceSucceeded: boolean;
    lastAnnounceTime: number;
    hasAnnounced: boolean;
    seederCount: number;
    leecherCount: number;
    nextAnnounceTime: number;
  }[];
  pieces?: string;
  pieceCount?: number;
  pieceSize?: number;
}

export function Detail({ torrent, rpc, onClose, onChanged }: { torrent: TorrentRow; rpc: Rpc; onClose: () => void; onChanged: () => Promise<void> }) {
  const [tab, setTab] = useState<Tab>('files');
  const [data, setData] = useState<DetailData | null>(null);
  const [error, setError] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  const load = useCallback(async () => {
    const fields = TABS.find((t) => t.id === tab)!.fields;
    try {
      const r = await rpc.call<{ torrents: DetailData[] }>('torrent-get', { ids: [torrent.id], fields });
      setData(r.torrents[0] ?? null);
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  }, [rpc, torrent.id, tab]);
  usePoll(load, 1000, [tab]);

  useEffect(() => heading.current?.focus(), []);

  const setFiles = async (args: Record<string, unknown>) => {
    try {
      await rpc.call('torrent-set', { ids: [torrent.id], ...args });
    } catch (err) {
      setError((err as Error).message);
    }
    await load();
    await onChanged();
  };

  const onTabKey = (e: KeyboardEvent, i: number) => {
    let next = i;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + TABS.length) % TABS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TABS.length - 1;
    else return;
    e.preventDefault();
    setData(null);
    setTab(TABS[next]!.id);
    tabRefs.current[next]?.focus();
  };

  return (
    <section id="detail" class="detail" aria-labelledby="detail-heading" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="detail-head">
        <h2 id="detail-heading" tabIndex={-1} ref={heading}>
          {torrent.name}
        </h2>
        <button type="button" class="icon-button" aria-label="Close the details" title="Close" onClick={onClose}>
          <Icon name="close" />
        </button>
      </div>
      <p class="meta">
        <span>
          Folder <code>{torrent.downloadDir}</code>
        </span>{' '}
        <span>
          Hash <code>{torrent.hashString}</code>
        </span>{' '}
        <span>
          Downloaded {formatBytes(torrent.downloadedEver)}, uploaded {formatBytes(torrent.uploadedEver)}
        </span>
      </p>
      <div role="tablist" aria-label="Details" class="tabs">
        {TABS.map((t, i) => (
          <button
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            ref={(el) => {
              tabRefs.current[i] = el;
            }}
            onClick={() => {
              if (tab !== t.id) setData(null);
              setTab(t.id);
            }}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0} class="panel">
        {error && <p class="error">{error}</p>}
        {data === null ? <p class="empty">Loading…</p> : tab === 'files' ? <Files data={data} onSet={setFiles} /> : tab === 'peers' ? <Peers data={data} /> : tab === 'trackers' ? <Trackers data={data} /> : <Pieces data={data} />}
      </div>
    </section>
  );
}

function Files({ data, onSet }: { data: DetailData; onSet: (args: Record<string, unknown>) => Promise<void> }) {
  const files = data.files ?? [];
  if (files.length === 0) return <p class="empty">The file list comes with the metadata.</p>;
  return (
    <div class="scroll">
      <table class="files">
        <thead>
          <tr>
            <th scope="col">Get</th>
            <th scope="col">File</th>
            <th scope="col" class="c-num">
              Size
            </th>
            <th scope="col">Progress</th>
            <th scope="col">Priority</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f, i) => {
            const st = data.fileStats?.[i];
            const wanted = st?.wanted ?? true;
            return (
              <tr key={i} class={wanted ? undefined : 'unwanted'}>
                <td>
                  <input type="checkbox" checked={wanted} aria-label={`Download ${f.name}`} onChange={(e) => onSet({ [(e.target as HTMLInputElement).checked ? 'files-wanted' : 'files-unwanted']: [i] })} />
                </td>
                <td class="path">{f.name}</td>
                <td class="c-num size">{formatBytes(f.length)}</td>
                <td class="file-progress">
                  <ProgressBar value={f.length > 0 ? f.bytesCompleted / f.length : 1} state={wanted ? 'downloading' : 'stopped'} label={`Progress of ${f.name}`} />
                </td>
                <td>
                  <select aria-label={`Priority of ${f.name}`} value={PRIORITY_NAMES[st?.priority ?? 0] ?? 'normal'} onChange={(e) => onSet({ [`priority-${(e.target as HTMLSelectElement).value}`]: [i] })}>
                    <option value="high">High</option>
                    <option value="normal">Normal</option>
                    <option value="low">Low</option>
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Peers({ data }: { data: DetailData }) {
  const peers = data.peers ?? [];
  if (peers.length === 0) return <p class="empty">No peers connected.</p>;
  return (
    <div class="scroll">
      <table class="peers cards">
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Client</th>
            <th scope="col">
              <abbr title="Transmission's peer flags: D downloading from, U uploading to, E encrypted, I incoming, T µTP, ? interested, d/u choked">Flags</abbr>
            </th>
            <th scope="col" class="c-num">
              Down
            </th>
            <th scope="col" class="c-num">
              Up
            </th>
            <th scope="col" class="c-num">
              Has
            </th>
          </tr>
        </thead>
        <tbody>
          {peers.map((p) => (
            <tr key={`${p.address}:${p.port}`}>
              <td class="mono" data-label="Address">{p.address.includes(':') ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`}</td>
              <td data-label="Client">{p.clientName || 'unknown'}</td>
              <td class="mono" data-label="Flags">{p.flagStr}</td>
              <td class="c-num" data-label="Down">{formatRate(p.rateToClient)}</td>
              <td class="c-num" data-label="Up">{formatRate(p.rateToPeer)}</td>
              <td class="c-num" data-label="Has">{percent(p.progress)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Trackers({ data }: { data: DetailData }) {
  const trackers = data.trackerStats ?? [];
  if (trackers.length === 0) return <p class="empty">No trackers (peers come from the DHT, PEX or the magnet link).</p>;
  const now = Date.now() / 1000;
  const count = (n: number) => (n < 0 ? '–' : String(n));
  return (
    <div class="scroll">
      <table class="trackers cards">
        <thead>
          <tr>
            <th scope="col">Tracker</th>
            <th scope="col">Last announce</th>
            <th scope="col" class="c-num">
              Seeders
            </th>
            <th scope="col" class="c-num">
              Leechers
            </th>
            <th scope="col">Next announce</th>
          </tr>
        </thead>
        <tbody>
          {trackers.map((t) => (
            <tr key={`${t.tier}:${t.announce}`}>
              <td class="path wide" data-label="Tracker">{t.announce}</td>
              <td class={t.hasAnnounced && !t.lastAnnounceSucceeded ? 'error wide' : 'wide'} data-label="Last announce">{t.hasAnnounced ? `${t.lastAnnounceResult || (t.lastAnnounceSucceeded ? 'Success' : 'Failed')}, ${formatWhen(t.lastAnnounceTime, now)}` : 'not yet'}</td>
              <td class="c-num" data-label="Seeders">{count(t.seederCount)}</td>
              <td class="c-num" data-label="Leechers">{count(t.leecherCount)}</td>
              <td data-label="Next announce">{formatWhen(t.nextAnnounceTime, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Pieces({ data }: { data: DetailData }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const count = data.pieceCount ?? 0;
  const bits = decodePieces(data.pieces ?? '', count);
  let have = 0;
  for (const b of bits) have += b;
  useEffect(() => {
    const c = canvas.current;
    if (!c || count === 0) return;
    const width = Math.max(100, c.parentElement?.clientWidth ?? 600);
    // Cells shrink with the piece count so the map stays within ~240 CSS pixels of height.
    const cell = Math.max(2, Math.min(14, Math.floor(Math.sqrt((width * 240) / count))));
    const cols = Math.max(1, Math.floor(width / cell));
    const rows = Math.ceil(count / cols);
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(cols * cell * dpr);
    c.height = Math.round(rows * cell * dpr);
    c.style.width = `${cols * cell}px`;
    c.style.height = `${rows * cell}px`;
    // For tests and tools: where piece i is drawn.
    c.dataset.cell = String(cell);
    c.dataset.cols = String(cols);
    const g = c.getContext('2d');
    if (!g) return;
    const css = getComputedStyle(c);
    const done = css.getPropertyValue('--piece-have').trim() || '#1d5fbf';
    const missing = css.getPropertyValue('--piece-missing').trim() || '#d5d9e0';
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cols * cell, rows * cell);
    const gap = cell >= 6 ? 1 : 0;
    for (let i = 0; i < count; i++) {
      g.fillStyle = bits[i] ? done : missing;
      g.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
    }
  });
  if (count === 0) return <p class="empty">The piece map comes with the metadata.</p>;
  return (
    <div>
      <p>
        {have} of {count} pieces verified ({formatBytes(data.pieceSize ?? 0)} each)
      </p>
      <div class="pieces-box">
        <canvas ref={canvas} class="pieces" role="img" aria-label={`Piece map: ${have} of ${count} pieces verified`} />
      </div>
      <p class="legend" aria-hidden="true">
        <span class="swatch have" /> verified <span class="swatch missing" /> missing
      </p>
    </div>
  );
}
