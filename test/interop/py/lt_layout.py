#!/usr/bin/env python3
"""Lays out a torrent's payload where libtorrent will look for it, for a libtorrent seeder.

Usage: lt_layout.py FILE.torrent STREAM SAVE_DIR
STREAM holds the torrent's whole byte stream (every file's bytes in torrent order, pad files as
zeros). Each non-pad, non-symlink file is written at libtorrent's own on-disk path (after its
sanitizing and renaming) under SAVE_DIR, so the seeder finds complete data whatever names the
torrent states. Prints {"files": N} when done.
"""
import json
import os
import sys

import libtorrent as lt


def main():
    torrent, stream, save_dir = sys.argv[1:4]
    fs = lt.torrent_info(torrent).files()
    pad = int(lt.file_storage.flag_pad_file)
    link = int(lt.file_storage.flag_symlink)
    written = 0
    with open(stream, "rb") as src:
        for i in range(fs.num_files()):
            if int(fs.file_flags(i)) & (pad | link):
                continue
            dest = os.path.join(save_dir, fs.file_path(i))
            if not os.path.realpath(dest).startswith(os.path.realpath(save_dir) + os.sep):
                raise SystemExit("libtorrent path outside the save folder: %r" % dest)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            src.seek(fs.file_offset(i))
            with open(dest, "wb") as out:
                out.write(src.read(fs.file_size(i)))
            written += 1
    print(json.dumps({"files": written}))


if __name__ == "__main__":
    main()
