/**
 * Fast resume after an unclean exit (the daemon killed mid-download). The resume file is
 * saved every few seconds, so every file still being written has a newer mtime than its
 * stamp, and pieceTrust would hash all of it again: a full rehash after every crash.
 *
 * This policy is for that case only (AddOptions.trustOwnWrites): in a file that kept its size
 * and only got newer, a piece the resume data holds was verified before the save and pytor
 * never writes a held piece again, so it stays held; a piece it lacks stays missing and is
 * downloaded again (at most the few seconds since the save), never read. A file that shrank,
 * grew, vanished or got older is checked as before. What this gives up: an outside program
 * that rewrote held pieces of a file pytor was writing goes unseen until `verify`. Pure.
 */
import { pieceSpans, pieceTrust, PieceTrust, type FileStamp, type ResumeData } from '../storage/index.js';
import type { Torrent } from '../metainfo/index.js';

export function crashTrust(torrent: Pick<Torrent, 'files' | 'pieceLength' | 'length' | 'pieces'>, resume: ResumeData, now: readonly FileStamp[]): Uint8Array {
  const trust = pieceTrust(torrent, resume, now);
  const onlyNewer = torrent.files.map((f, i) => {
    const was = resume.files[i];
    const is = now[i];
    return f.padding || (was !== undefined && is !== undefined && was.size >= 0 && is.size === was.size && is.mtimeNs >= was.mtimeNs);
  });
  for (let i = 0; i < trust.length; i++) {
    if (trust[i] !== PieceTrust.check) continue;
    if (!pieceSpans(torrent, i).every((s) => onlyNewer[s.fileIndex])) continue;
    trust[i] = ((resume.bitfield[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0 ? PieceTrust.held : PieceTrust.missing;
  }
  return trust;
}
