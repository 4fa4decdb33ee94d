export { Client, DuplicateTorrentError, type ClientDhtOptions, type ClientOptions } from './client.js';
export { ClientTorrent, RESUME_SAVE_MS, type AddOptions, type Discovery, type PeerStatus, type TorrentSource, type TorrentState, type TorrentStatus, type TrackerStatus } from './torrent.js';
export { finishReason, type FinishReason, type SeedPolicy } from './policy.js';
export { defaultStateDir, ResumeStore, writeFileAtomic } from './state-dir.js';
export { TorrentRegistry, encodeEntry, decodeEntry, sourceOfEntry, loadDaemonSettings, saveDaemonSettings, MAX_ENTRY_BYTES, type DaemonSettings, type RegistryEntry } from './registry.js';
export { deleteTorrentData, type DeleteResult } from './delete-data.js';
