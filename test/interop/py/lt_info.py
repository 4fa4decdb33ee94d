#!/usr/bin/env python3
"""Prints, as JSON, what libtorrent reads from a .torrent file.

Usage: lt_info.py FILE.torrent
Output: {infoHash (v1 hex, "" for v2-only), infoHashV2 ("" for v1-only), name, totalSize,
pieceLength, numPieces, files: [{path, size, pad}], trackers: [{url, tier}], private, comment,
creator, creationDate (null when absent), webSeeds: [url]}
files[].path is libtorrent's file_path: '/'-separated and, for a multi-file torrent, starting
with the torrent's name. Pad files (BEP 47) are listed with pad: true.
"""
import json
import sys

import libtorrent as lt


def main():
    ti = lt.torrent_info(sys.argv[1])
    fs = ti.files()
    ih = ti.info_hashes()
    files = []
    for i in range(fs.num_files()):
        files.append({
            "path": fs.file_path(i).replace("\\", "/"),
            "size": fs.file_size(i),
            "pad": bool(int(fs.file_flags(i)) & int(lt.file_storage.flag_pad_file)),
        })
    cd = ti.creation_date()
    print(json.dumps({
        "infoHash": str(ih.v1) if ih.has_v1() else "",
        "infoHashV2": str(ih.v2) if ih.has_v2() else "",
        "name": ti.name(),
        "totalSize": ti.total_size(),
        "pieceLength": ti.piece_length(),
        "numPieces": ti.num_pieces(),
        "files": files,
        "trackers": [{"url": t.url, "tier": t.tier} for t in ti.trackers()],
        "private": bool(ti.priv()),
        "comment": ti.comment(),
        "creator": ti.creator(),
        "creationDate": cd if cd else None,
        "webSeeds": [w["url"] for w in ti.web_seeds()],
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
