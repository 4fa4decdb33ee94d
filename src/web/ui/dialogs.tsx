// The add dialog (magnet/URL or .torrent file, folder, files, start or not) and the remove
// question (keep or delete the data). Native <dialog>: modal, Escape closes, focus is kept inside.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatBytes, type TorrentRow } from '../shared/format.js';
import { MAX_TORRENT_FILE_BYTES, readTorrentFiles, type TorrentFileList } from '../shared/torrent-files.js';
import type { Rpc } from './rpc.js';
import type { SessionInfo } from './session.js';

function Modal({ labelledBy, onClose, children, class: cls }: { labelledBy: string; onClose: () => void; children: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class={cls} aria-labelledby={labelledBy} onClose={onClose}>
      {children}
    </dialog>
  );
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function AddDialog({ rpc, session, initialFile, onClose, onAdded }: { rpc: Rpc; session: SessionInfo | null; initialFile?: File; onClose: () => void; onAdded: (name: string) => void }) {
  const [link, setLink] = useState('');
  const [file, setFile] = useState<{ name: string; bytes: Uint8Array; list: TorrentFileList } | null>(null);
  const [wanted, setWanted] = useState<boolean[]>([]);
  const [dir, setDir] = useState(session?.['download-dir'] ?? '');
  const [free, setFree] = useState<number | null>(null);
  const [start, setStart] = useState(session?.['start-added-torrents'] ?? true);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const readFile = async (f: File) => {
    setError('');
    if (f.size > MAX_TORRENT_FILE_BYTES) {
      setError(`${f.name} is larger than ${formatBytes(MAX_TORRENT_FILE_BYTES)}: not a .torrent file`);
      return;
    }
    try {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const list = readTorrentFiles(bytes);
      setFile({ name: f.name, bytes, list });
      setWanted(list.files.map(() => true));
      setLink('');
    } catch (err) {
      setFile(null);
      setError(`${f.name}: ${(err as Error).message}`);
    }
  };
  useEffect(() => {
    if (initialFile) void readFile(initialFile);
  }, [initialFile]);

  useEffect(() => {
    if (dir === '') return;
    let live = true;
    const timer = setTimeout(() => {
      rpc
        .call<{ 'size-bytes': number }>('free-space', { path: dir })
        .then((r) => live && setFree(r['size-bytes']))
        .catch(() => live && setFree(null));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [dir, rpc]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    const args: Record<string, unknown> = { paused: !start };
    if (dir.trim() !== '') args['download-dir'] = dir.trim();
    if (file) {
      args.metainfo = toBase64(file.bytes);
      const unwanted = wanted.flatMap((w, i) => (w || file.list.files[i]?.padding ? [] : [i]));
      if (unwanted.length > 0) args['files-unwanted'] = unwanted;
    } else if (link.trim() !== '') {
      args.filename = link.trim();
    } else {
      setError('Paste a magnet link or URL, or choose a .torrent file.');
      return;
    }
    setBusy(true);
    try {
      const r = await rpc.call<{ 'torrent-added'?: { name: string }; 'torrent-duplicate'?: { name: string } }>('torrent-add', args);
      if (r['torrent-duplicate']) {
        setError(`${r['torrent-duplicate'].name} is already in the list.`);
        setBusy(false);
        return;
      }
      onAdded(r['torrent-added']?.name ?? 'the torrent');
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  const shownFiles = file ? file.list.files.map((f, i) => ({ ...f, i })).filter((f) => !f.padding) : [];
  const wantedBytes = shownFiles.reduce((a, f) => a + (wanted[f.i] ? f.length : 0), 0);

  return (
    <Modal labelledBy="add-heading" onClose={onClose} class="add">
      <form onSubmit={submit}>
        <h2 id="add-heading">Add a torrent</h2>
        <label for="add-link">Magnet link or URL</label>
        <input id="add-link" type="text" autoFocus spellcheck={false} autoComplete="off" placeholder="magnet:?xt=urn:btih:…" value={link} disabled={file !== null} onInput={(e) => setLink((e.target as HTMLInputElement).value)} />
        <div
          class={`drop${dragging ? ' dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            e.stopPropagation();
            setDragging(false);
            const f = e.dataTransfer?.files[0];
            if (f) void readFile(f);
          }}
        >
          <label for="add-file">or a .torrent file (choose one or drop it here)</label>
          <input id="add-file" type="file" accept=".torrent,application/x-bittorrent" onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void readFile(f);
          }} />
          {file && (
            <button type="button" class="link" onClick={() => setFile(null)}>
              Use a link instead
            </button>
          )}
        </div>
        {file && (
          <fieldset class="file-choice">
            <legend>
              Files of {file.list.name} to download ({formatBytes(wantedBytes)})
            </legend>
            <div class="file-buttons">
              <button type="button" onClick={() => setWanted(wanted.map(() => true))}>
                All
              </button>
              <button type="button" onClick={() => setWanted(wanted.map(() => false))}>
                None
              </button>
            </div>
            <ul>
              {shownFiles.map((f) => (
                <li key={f.i}>
                  <label>
                    <input type="checkbox" checked={wanted[f.i] ?? true} onChange={(e) => setWanted(wanted.map((w, j) => (j === f.i ? (e.target as HTMLInputElement).checked : w)))} />
                    <span class="path">{f.path}</span> <span class="size">{formatBytes(f.length)}</span>
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
        )}
        {!file && <p class="hint">A magnet link's files are listed in its Files tab once the metadata has arrived; untick the ones you do not want there.</p>}
        <label for="add-dir">Download folder</label>
        <input id="add-dir" type="text" spellcheck={false} value={dir} onInput={(e) => setDir((e.target as HTMLInputElement).value)} aria-describedby="add-free" />
        <p id="add-free" class="hint">
          {free === null ? '\u00a0' : `${formatBytes(free)} free there`}
        </p>
        <label class="check">
          <input type="checkbox" checked={start} onChange={(e) => setStart((e.target as HTMLInputElement).checked)} /> Start downloading now
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Add
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function RemoveDialog({ torrent, onClose, onRemove }: { torrent: TorrentRow; onClose: () => void; onRemove: (deleteData: boolean) => void }) {
  const [deleteData, setDeleteData] = useState(false);
  return (
    <Modal labelledBy="remove-heading" onClose={onClose} class="remove">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onRemove(deleteData);
        }}
      >
        <h2 id="remove-heading">Remove “{torrent.name}”?</h2>
        <p>The torrent leaves the list. Its downloaded files stay on disk unless you tick the box.</p>
        <label class="check">
          <input type="checkbox" checked={deleteData} onChange={(e) => setDeleteData((e.target as HTMLInputElement).checked)} /> Also delete the downloaded data
        </label>
        <div class="buttons">
          <button type="button" autoFocus onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="danger-fill">
            {deleteData ? 'Remove and delete data' : 'Remove'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
