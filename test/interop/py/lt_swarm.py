#!/usr/bin/env python3
"""Several libtorrent sessions in ONE process, all on the same torrent: a loopback swarm for the
bench (many seeders for one leecher, or many leechers of one seeder) without starting one
python per peer on a 2-core machine.

Usage: lt_swarm.py '<json config>'
config: {mode: "seed"|"leech", torrentFile, saveDir (seed: the folder that holds the data,
         shared read-only by every session; leech: each session gets saveDir/<i>),
         ports: [N, ...] (one session per port, on 127.0.0.1), peers?: [[host, port]]
         (every session connects to each, retried every second while it has none),
         haveAll?: false (seed: trust the data as complete, like resume data, so N sessions
         do not each hash the payload at start; the bench checks the data once itself),
         noTrackers?: false (drop the torrent's trackers: peers only from `peers`, so a
         leecher swarm takes every byte from the one seeder under test),
         statusIntervalMs?: 250, exitOnComplete?: false (leech: exit 0 once every session
         is complete), maxSeconds?: none}

Prints one JSON object per line on stdout (totals over all sessions):
  {"event": "ready"}         every session listens (and, for seeders, is seeding)
  {"event": "status", "t": monotonic s, "totalDone", "uploaded", "downloaded", "peers",
   "complete": n of sessions complete, "sessions": n}
  {"event": "complete"}      leech: every session has every piece, verified
  {"event": "error", "message": "..."}
Reads {"cmd":"status"} | {"cmd":"connect","host","port"} | {"cmd":"quit"} on stdin.
DHT, LSD, UPnP, NAT-PMP and uTP are off in every session (see lt_session.make_settings).
"""
import json
import os
import sys
import time

import libtorrent as lt
from lt_common import NOTHING, STDIN_CLOSED, add_params, emit, read_command, run
from lt_session import make_settings


def main():
    cfg = json.loads(sys.argv[1])
    mode = cfg["mode"]
    ports = [int(p) for p in cfg["ports"]]
    if not ports or len(ports) > 200:
        raise SystemExit("ports: 1..200 sessions")
    interval = max(0.05, float(cfg.get("statusIntervalMs", 250)) / 1000.0)
    ti = lt.torrent_info(cfg["torrentFile"])
    peers = [(str(p[0]), int(p[1])) for p in (cfg.get("peers") or [])]

    sessions = []
    for i, port in enumerate(ports):
        s = make_settings(port)
        # Many sessions share two cores: keep each one's thread count small.
        s.update({"aio_threads": 2, "hashing_threads": 1})
        ses = lt.session(s)
        if mode == "seed":
            save_path = cfg["saveDir"]
        else:
            save_path = os.path.join(cfg["saveDir"], str(i))
            os.makedirs(save_path, exist_ok=True)
        atp = add_params(save_path, ti=ti)
        if mode == "seed" and cfg.get("haveAll"):
            atp.have_pieces = [True] * ti.num_pieces()
        h = ses.add_torrent(atp)
        if cfg.get("noTrackers"):
            h.replace_trackers([])
        for p in peers:
            h.connect_peer(p)
        sessions.append({"ses": ses, "h": h, "listening": False, "done": False})

    deadline = time.monotonic() + float(cfg["maxSeconds"]) if cfg.get("maxSeconds") else None
    ready_sent = False
    complete_sent = False
    last_status = 0.0
    last_connect = time.monotonic()
    stdin_open = True

    def totals():
        done = up = down = npeers = ncomplete = 0
        for x in sessions:
            st = x["h"].status()
            done += st.total_done
            up += st.total_payload_upload
            down += st.total_payload_download
            npeers += st.num_peers
            if x["done"] or (mode == "leech" and st.is_seeding):
                ncomplete += 1
        return {"event": "status", "t": time.monotonic(), "totalDone": done, "uploaded": up,
                "downloaded": down, "peers": npeers, "complete": ncomplete, "sessions": len(sessions)}

    while True:
        for x in sessions:
            for a in x["ses"].pop_alerts():
                if isinstance(a, lt.listen_succeeded_alert):
                    if a.socket_type == lt.socket_type_t.tcp:
                        x["listening"] = True
                elif isinstance(a, lt.listen_failed_alert):
                    emit({"event": "error", "message": "listen failed: " + a.message()})
                elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                    emit({"event": "error", "message": a.message()})
                elif isinstance(a, lt.torrent_finished_alert) and mode == "leech":
                    x["done"] = True

        now = time.monotonic()
        if not ready_sent and all(x["listening"] for x in sessions):
            if mode == "leech" or all(x["h"].status().is_seeding for x in sessions):
                ready_sent = True
                emit(totals())
                emit({"event": "ready"})
        if mode == "leech" and not complete_sent and all(x["done"] for x in sessions):
            complete_sent = True
            emit(totals())
            emit({"event": "complete"})
            if cfg.get("exitOnComplete"):
                break
        if deadline is not None and now > deadline:
            emit({"event": "error", "message": "maxSeconds reached"})
            sys.exit(3)
        if now - last_status >= interval:
            last_status = now
            emit(totals())
        if peers and mode == "leech" and now - last_connect >= 1.0:
            last_connect = now
            for x in sessions:
                if not x["done"] and x["h"].status().num_peers == 0:
                    for p in peers:
                        x["h"].connect_peer(p)

        if stdin_open:
            cmd = read_command(0.02)
            if cmd is STDIN_CLOSED:
                break  # the harness is gone
            if cmd is NOTHING:
                continue
            c = cmd.get("cmd")
            if c == "status":
                emit(totals())
            elif c == "connect":
                for x in sessions:
                    x["h"].connect_peer((str(cmd["host"]), int(cmd["port"])))
            elif c == "quit":
                break
        else:
            time.sleep(0.02)

    for x in sessions:
        x["ses"].remove_torrent(x["h"])


if __name__ == "__main__":
    run(main)
