// The page: session bar (rates chart, limits, port, DHT, free space), the torrent list, the
// detail of the selected torrent, and the add and remove dialogs. Polls the RPC every second.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { LIST_FIELDS, STATE_LABELS, visibleRows, type SortKey, type StateName, type TorrentRow } from '../shared/format.js';
import { AddDialog, RemoveDialog } from './dialogs.js';
import { Detail } from './detail.js';
import { usePoll } from './hooks.js';
import { Icon } from './icons.js';
import { TorrentTable } from './list.js';
import { Rpc } from './rpc.js';
import { SessionBar, type RateSample, type SessionInfo } from './session.js';

/** The daemon puts its session id in the page, so the first RPC needs no 409 round trip. */
export const rpc = new Rpc(document.querySelector<HTMLMetaElement>('meta[name="x-transmission-session-id"]')?.content ?? '');

/** Five minutes of one-second samples for the chart. */
const HISTORY = 300;

export function App() {
  const [rows, setRows] = useState<TorrentRow[] | null>(null);
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [freeSpace, setFreeSpace] = useState<number | null>(null);
  const [samples, setSamples] = useState<RateSample[]>([]);
  const [problem, setProblem] = useState('');
  const [notice, setNotice] = useState('');
  const [selected, setSelected] = useState<number | null>(null);
  const [text, setText] = useState('');
  const [stateFilter, setStateFilter] = useState<StateName | 'all'>('all');
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'added', descending: false });
  const [adding, setAdding] = useState<{ file?: File } | null>(null);
  const [removing, setRemoving] = useState<TorrentRow | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [list, stats] = await Promise.all([
        rpc.call<{ torrents: TorrentRow[] }>('torrent-get', { fields: LIST_FIELDS }),
        rpc.call<{ downloadSpeed: number; uploadSpeed: number }>('session-stats'),
      ]);
      setRows(list.torrents);
      setSamples((s) => [...s.slice(-(HISTORY - 1)), { at: Date.now() / 1000, down: stats.downloadSpeed, up: stats.uploadSpeed }]);
      setProblem('');
    } catch (err) {
      setProblem(`Cannot reach the daemon: ${(err as Error).message}`);
    }
  }, []);
  usePoll(refresh, 1000);

  // Polls and action refreshes overlap: an answer to an older request must not undo a newer one
  // (the limits form is rebuilt from it, and would put back values the user has just changed).
  const sessionAsked = useRef(0);
  const refreshSession = useCallback(async () => {
    const asked = ++sessionAsked.current;
    try {
      const s = await rpc.call<SessionInfo>('session-get');
      if (asked !== sessionAsked.current) return;
      setSession(s);
      const free = await rpc.call<{ 'size-bytes': number }>('free-space', { path: s['download-dir'] });
      setFreeSpace(free['size-bytes']);
    } catch {
      // The list poll reports the connection problem.
    }
  }, []);
  usePoll(refreshSession, 5000);

  /** Runs an action, says what happened (politely, to screen readers too) and refreshes now. */
  const act = useCallback(
    async (what: string, method: string, args: Record<string, unknown>) => {
      try {
        await rpc.call(method, args);
        setNotice(what);
      } catch (err) {
        setNotice(`Failed: ${(err as Error).message}`);
      }
      await refresh();
    },
    [refresh],
  );

  // A .torrent dropped anywhere on the page opens the add dialog with it.
  useEffect(() => {
    const over = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      e.preventDefault();
      setAdding({ file });
    };
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, []);

  const shown = useMemo(() => visibleRows(rows ?? [], { text, state: stateFilter, key: sort.key, descending: sort.descending }), [rows, text, stateFilter, sort]);
  const selectedRow = rows?.find((r) => r.id === selected);

  return (
    <>
      <header class="top">
        <h1>
          <img src="/assets/icon.svg" alt="" width="28" height="28" /> pytor
        </h1>
        <button type="button" class="primary" onClick={() => setAdding({})}>
          <Icon name="add" /> Add torrent
        </button>
      </header>
      {problem && (
        <p class="banner" role="alert">
          {problem}
        </p>
      )}
      <main>
        <SessionBar session={session} samples={samples} freeSpace={freeSpace} onLimits={(args, what) => act(what, 'session-set', args).then(refreshSession)} />
        <section class="torrents" aria-labelledby="torrents-heading">
          <div class="toolbar">
            <h2 id="torrents-heading">
              Torrents <span class="count">{rows ? `${shown.length} of ${rows.length}` : ''}</span>
            </h2>
            <label>
              Filter
              <input type="search" value={text} placeholder="name or hash" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              State
              <select value={stateFilter} onChange={(e) => setStateFilter((e.target as HTMLSelectElement).value as StateName | 'all')}>
                <option value="all">All</option>
                {(Object.keys(STATE_LABELS) as StateName[]).map((s) => (
                  <option value={s}>{STATE_LABELS[s]}</option>
                ))}
              </select>
            </label>
            <label class="sort-select">
              Sort by
              <select value={`${sort.key}:${sort.descending ? 'desc' : 'asc'}`} onChange={(e) => {
                const [key, dir] = (e.target as HTMLSelectElement).value.split(':');
                setSort({ key: key as SortKey, descending: dir === 'desc' });
              }}>
                <option value="added:asc">Added, oldest first</option>
                <option value="added:desc">Added, newest first</option>
                <option value="name:asc">Name, A to Z</option>
                <option value="name:desc">Name, Z to A</option>
                <option value="progress:desc">Progress, most done first</option>
                <option value="down:desc">Download rate, fastest first</option>
                <option value="up:desc">Upload rate, fastest first</option>
                <option value="size:desc">Size, largest first</option>
              </select>
            </label>
          </div>
          {rows === null ? (
            <p class="empty">Loading…</p>
          ) : rows.length === 0 ? (
            <p class="empty">No torrents yet. Add one with a magnet link or a .torrent file.</p>
          ) : (
            <TorrentTable
              rows={shown}
              sort={sort}
              onSort={(key) => setSort((s) => ({ key, descending: s.key === key ? !s.descending : key !== 'name' && key !== 'added' }))}
              selected={selected}
              onSelect={(id) => setSelected((s) => (s === id ? null : id))}
              onPause={(t) => act(`Paused ${t.name}`, 'torrent-stop', { ids: [t.id] })}
              onResume={(t) => act(`Resumed ${t.name}`, 'torrent-start', { ids: [t.id] })}
              onVerify={(t) => act(`Verifying ${t.name}`, 'torrent-verify', { ids: [t.id] })}
              onRemove={(t) => setRemoving(t)}
            />
          )}
        </section>
        {selectedRow && <Detail key={selectedRow.id} torrent={selectedRow} rpc={rpc} onClose={() => setSelected(null)} onChanged={refresh} />}
      </main>
      <p class="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      {adding && (
        <AddDialog
          rpc={rpc}
          session={session}
          initialFile={adding.file}
          onClose={() => setAdding(null)}
          onAdded={(name) => {
            setAdding(null);
            setNotice(`Added ${name}`);
            void refresh();
          }}
        />
      )}
      {removing && (
        <RemoveDialog
          torrent={removing}
          onClose={() => setRemoving(null)}
          onRemove={(deleteData) => {
            const t = removing;
            setRemoving(null);
            if (selected === t.id) setSelected(null);
            void act(`Removed ${t.name}${deleteData ? ' and its data' : ''}`, 'torrent-remove', { ids: [t.id], 'delete-local-data': deleteData });
          }}
        />
      )}
    </>
  );
}
