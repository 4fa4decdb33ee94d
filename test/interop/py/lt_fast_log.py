#!/usr/bin/env python3
"""libtorrent sessions that record the BEP 6 (fast extension) messages they see, for pytor tests.

Usage: lt_fast_log.py '<json config>'
config: {torrentFile, seedDir?: folder with the data (then one seed session runs),
         leechers?: 0, leechDir?: folder for the leechers' data (one subfolder each),
         connect?: [host, port] (every leecher dials it, retried each second while unconnected),
         seconds: how long to run (the summary comes then), limitLeech?: bytes/s per leecher}

Everything listens on 127.0.0.1 only; DHT, LSD, UPnP, NAT-PMP and uTP are off.
Prints one JSON object per line:
  {"event": "listening", "role": "seed"|"leech", "index": i, "port": N}
  {"event": "summary", "seed": {...}, "leech": {...}}   message counts by name, per direction
With `connect`, only messages exchanged with that peer are counted.
`allowedFast` lists the piece indices named in allowed_fast messages, by role and direction.
The counts come from libtorrent's own peer log (peer_log_alert), e.g. leech.in.ALLOWED_FAST is
how many allowed_fast messages the leechers received.
"""
import json
import os
import re
import sys
import time

import libtorrent as lt
from lt_common import STDIN_CLOSED, add_params, emit, loopback_settings, read_line
FAST = ("HAVE_ALL", "HAVE_NONE", "REJECT_PIECE", "ALLOWED_FAST", "SUGGEST_PIECE", "CHOKE", "UNCHOKE", "PIECE", "BITFIELD", "INTERESTED", "NOT_INTERESTED", "REQUEST")
# libtorrent's peer log lines look like "<== ALLOWED_FAST [ 12 ]" (incoming) / "==> HAVE_ALL" (outgoing).
LINE = re.compile(r"(<==|==>)\s*([A-Z_]+)")


def peer_port(a):
    ep = getattr(a, "endpoint", None) or getattr(a, "ip", None)
    try:
        return int(ep[1])
    except (TypeError, IndexError, ValueError):
        return -1


def settings(rate=0):
    s = loopback_settings(0)
    s.update({
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "download_rate_limit": rate,
        # The peer log is chatty (a line per block): a small queue would drop the lines we count.
        "alert_queue_size": 1000000,
        "alert_mask": lt.alert.category_t.peer_log_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.error_notification,
    })
    return s


def main():
    cfg = json.loads(sys.argv[1])
    ti = lt.torrent_info(cfg["torrentFile"])
    sessions = []  # (role, index, session, handle)
    if cfg.get("seedDir"):
        s = lt.session(settings())
        sessions.append(("seed", 0, s, s.add_torrent(add_params(cfg["seedDir"], ti=ti))))
    for i in range(int(cfg.get("leechers", 0))):
        s = lt.session(settings(int(cfg.get("limitLeech", 0))))
        sessions.append(("leech", i, s, s.add_torrent(add_params(os.path.join(cfg["leechDir"], str(i)), ti=ti))))

    counts = {"seed": {"in": {}, "out": {}}, "leech": {"in": {}, "out": {}}}
    listening = set()
    allowed = {}  # "leech-in" -> piece indices named in allowed_fast messages
    target = tuple(cfg["connect"]) if cfg.get("connect") else None
    deadline = time.monotonic() + float(cfg["seconds"])
    last_dial = 0.0
    while time.monotonic() < deadline:
        for role, index, s, h in sessions:
            for a in s.pop_alerts():
                if isinstance(a, lt.listen_succeeded_alert) and (role, index) not in listening:
                    listening.add((role, index))
                    emit({"event": "listening", "role": role, "index": index, "port": a.port})
                elif isinstance(a, lt.peer_log_alert):
                    if target and peer_port(a) != int(target[1]):
                        continue  # leechers also meet each other (PEX): count only the peer under test
                    text = a.message()
                    m = LINE.search(text)
                    if m and m.group(2) in FAST:
                        way = "in" if m.group(1) == "<==" else "out"
                        c = counts[role][way]
                        c[m.group(2)] = c.get(m.group(2), 0) + 1
                        if m.group(2) == "ALLOWED_FAST":
                            n = re.search(r"ALLOWED_FAST \[ (\d+) \]", text)
                            if n:
                                allowed.setdefault(role + "-" + way, set()).add(int(n.group(1)))
        now = time.monotonic()
        if target and now - last_dial >= 1.0:
            last_dial = now
            for role, index, s, h in sessions:
                if role == "leech" and h.status().num_peers == 0:
                    h.connect_peer((str(target[0]), int(target[1])))
        # End of stdin means the harness went away.
        if read_line(0.05) is STDIN_CLOSED:
            break
    emit({"event": "summary", **counts, "allowedFast": {k: sorted(v) for k, v in allowed.items()}})
    for role, index, s, h in sessions:
        s.remove_torrent(h)


if __name__ == "__main__":
    main()
