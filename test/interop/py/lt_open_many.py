#!/usr/bin/env python3
"""Says, as JSON, whether libtorrent opens each .torrent file given, and what it makes of it.

Usage: lt_open_many.py FILE.torrent...
Output: one JSON array, one object per file, in order:
  {file, ok: true, infoHash (v1 hex), totalSize, name, files: [{path, size, pad, symlink}]}
  {file, ok: false, error}
files[].path is libtorrent's on-disk path ('/'-separated, starting with the torrent's name for a
multi-file torrent), after its own sanitizing and duplicate renaming. One process for the whole
corpus: starting python once per file would cost seconds.
"""
import json
import sys

import libtorrent as lt


def describe(path):
    try:
        ti = lt.torrent_info(path)
    except Exception as e:  # libtorrent raises RuntimeError for every parse failure
        return {"file": path, "ok": False, "error": str(e)}
    fs = ti.files()
    ih = ti.info_hashes()
    files = []
    for i in range(fs.num_files()):
        flags = int(fs.file_flags(i))
        files.append({
            "path": fs.file_path(i).replace("\\", "/"),
            "size": fs.file_size(i),
            "pad": bool(flags & int(lt.file_storage.flag_pad_file)),
            "symlink": bool(flags & int(lt.file_storage.flag_symlink)),
        })
    return {
        "file": path,
        "ok": True,
        "infoHash": str(ih.v1) if ih.has_v1() else "",
        "totalSize": ti.total_size(),
        "name": ti.name(),
        "files": files,
    }


def main():
    print(json.dumps([describe(p) for p in sys.argv[1:]], ensure_ascii=False))


if __name__ == "__main__":
    main()
