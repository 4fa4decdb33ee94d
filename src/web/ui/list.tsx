// The torrent list: a table on a desktop, cards on a phone (the same markup, see app.css).
import { formatBytes, formatEta, formatRate, formatRatio, percent, stateOf, stateText, type SortKey, type TorrentRow } from '../shared/format.js';
import { Icon } from './icons.js';

const COLUMNS: { key: SortKey; label: string; cls: string }[] = [
  { key: 'name', label: 'Name', cls: 'c-name' },
  { key: 'size', label: 'Size', cls: 'c-num' },
  { key: 'progress', label: 'Progress', cls: 'c-progress' },
  { key: 'state', label: 'State', cls: 'c-state' },
  { key: 'down', label: 'Down', cls: 'c-num' },
  { key: 'up', label: 'Up', cls: 'c-num' },
  { key: 'eta', label: 'ETA', cls: 'c-num' },
  { key: 'peers', label: 'Peers', cls: 'c-num' },
  { key: 'ratio', label: 'Ratio', cls: 'c-num' },
];

export function ProgressBar({ value, state, label }: { value: number; state: string; label: string }) {
  const pct = percent(value);
  return (
    <div class="progress">
      <div class={`bar bar-${state}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(value * 1000) / 10} aria-valuetext={pct}>
        <div class="fill" style={{ width: `${Math.max(0, Math.min(1, value)) * 100}%` }} />
      </div>
      <span class="pct">{pct}</span>
    </div>
  );
}

export function TorrentTable(props: {
  rows: TorrentRow[];
  sort: { key: SortKey; descending: boolean };
  onSort: (key: SortKey) => void;
  selected: number | null;
  onSelect: (id: number) => void;
  onPause: (t: TorrentRow) => void;
  onResume: (t: TorrentRow) => void;
  onVerify: (t: TorrentRow) => void;
  onRemove: (t: TorrentRow) => void;
}) {
  const { rows, sort } = props;
  return (
    <table class="list">
      <caption class="visually-hidden">Torrents; the column buttons sort the list</caption>
      <thead>
        <tr>
          {COLUMNS.map((c) => (
            <th scope="col" class={c.cls} aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : undefined}>
              <button type="button" class="sort" onClick={() => props.onSort(c.key)}>
                {c.label}
                <span aria-hidden="true" class="arrow">
                  {sort.key === c.key ? (sort.descending ? '▼' : '▲') : ''}
                </span>
              </button>
            </th>
          ))}
          <th scope="col" class="c-actions">
            Actions
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={COLUMNS.length + 1} class="empty">
              No torrent matches the filter.
            </td>
          </tr>
        )}
        {rows.map((t) => {
          const state = stateOf(t);
          const stopped = state === 'stopped' || state === 'error';
          const progress = state === 'checking' ? t.recheckProgress : t.percentDone;
          return (
            <tr key={t.id} data-id={t.id} class={props.selected === t.id ? 'selected' : undefined}>
              <td class="c-name">
                <button type="button" class="link" aria-expanded={props.selected === t.id} aria-controls="detail" onClick={() => props.onSelect(t.id)} title={t.name}>
                  {t.name}
                </button>
              </td>
              <td class="c-num c-size" data-label="Size">
                {t.sizeWhenDone > 0 ? formatBytes(t.sizeWhenDone) : '–'}
              </td>
              <td class="c-progress" data-label="Progress">
                <ProgressBar value={progress} state={state} label={`Progress of ${t.name}`} />
              </td>
              <td class={`c-state state-${state}`} data-label="State">
                {stateText(t)}
              </td>
              <td class="c-num c-down" data-label="Down">
                {formatRate(t.rateDownload)}
              </td>
              <td class="c-num c-up" data-label="Up">
                {formatRate(t.rateUpload)}
              </td>
              <td class="c-num c-eta" data-label="ETA">
                {state === 'downloading' ? formatEta(t.eta) : '–'}
              </td>
              <td class="c-num c-peers" data-label="Peers">
                {t.peersConnected}
              </td>
              <td class="c-num c-ratio" data-label="Ratio">
                {formatRatio(t.uploadRatio)}
              </td>
              <td class="c-actions">
                {stopped ? (
                  <button type="button" class="icon-button" aria-label={`Resume ${t.name}`} title="Resume" onClick={() => props.onResume(t)}>
                    <Icon name="play" />
                  </button>
                ) : (
                  <button type="button" class="icon-button" aria-label={`Pause ${t.name}`} title="Pause" onClick={() => props.onPause(t)}>
                    <Icon name="pause" />
                  </button>
                )}
                <button type="button" class="icon-button" aria-label={`Verify ${t.name}`} title="Verify the data" onClick={() => props.onVerify(t)} disabled={state === 'metadata'}>
                  <Icon name="verify" />
                </button>
                <button type="button" class="icon-button danger" aria-label={`Remove ${t.name}`} title="Remove" onClick={() => props.onRemove(t)}>
                  <Icon name="remove" />
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
