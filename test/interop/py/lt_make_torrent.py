#!/usr/bin/env python3
"""Creates a .torrent with libtorrent's create_torrent.

Usage: lt_make_torrent.py '<json config>'
config: {dataPath, outFile, pieceLength?, trackers?: [url | [url, ...] per tier],
         v1Only?: true, v2Only?: false, comment?, creator?, private?: false,
         webSeeds?: [url], creationDate?: int}
Prints {"infoHash": v1 hex or "", "infoHashV2": hex or ""} on stdout.
"""
import json
import os
import sys

import libtorrent as lt


def main():
    cfg = json.loads(sys.argv[1])
    data = os.path.abspath(cfg["dataPath"])
    fs = lt.file_storage()
    lt.add_files(fs, data)
    if fs.num_files() == 0:
        raise SystemExit("no files under " + data)
    flags = 0
    if cfg.get("v1Only"):
        flags |= lt.create_torrent.v1_only
    if cfg.get("v2Only"):
        flags |= lt.create_torrent.v2_only
    ct = lt.create_torrent(fs, int(cfg.get("pieceLength", 0)), flags=flags)
    for tier, entry in enumerate(cfg.get("trackers") or []):
        urls = entry if isinstance(entry, list) else [entry]
        for u in urls:
            ct.add_tracker(u, tier)
    for u in cfg.get("webSeeds") or []:
        ct.add_url_seed(u)
    if cfg.get("comment") is not None:
        ct.set_comment(cfg["comment"])
    ct.set_creator(cfg.get("creator", "pytor-harness (libtorrent %s)" % lt.__version__))
    if cfg.get("private"):
        ct.set_priv(True)
    lt.set_piece_hashes(ct, os.path.dirname(data))
    entry = ct.generate()
    if cfg.get("creationDate") is not None:
        entry[b"creation date"] = int(cfg["creationDate"])
    out = lt.bencode(entry)
    with open(cfg["outFile"], "wb") as f:
        f.write(out)
    ti = lt.torrent_info(out)
    ih = ti.info_hashes()
    v1 = str(ih.v1) if ih.has_v1() else ""
    v2 = str(ih.v2) if ih.has_v2() else ""
    print(json.dumps({"infoHash": v1, "infoHashV2": v2, "numPieces": ti.num_pieces()}))


if __name__ == "__main__":
    main()
