#!/usr/bin/env python3
"""One libtorrent session with one torrent, driven by the pytor test harness.

Usage: lt_session.py '<json config>'
config: {mode: "seed"|"leech", torrentFile?, magnet?, saveDir, port, trackers?: [url],
         peers?: [[host, port]], statusIntervalMs?: 200, seedMode?: false,
         exitOnComplete?: false (leech: exit 0 once complete, for timing a whole process),
         ignoreStdin?: false (no command channel; then maxSeconds bounds the life),
         maxSeconds?: none (exit 3 after this long)}

Prints one JSON object per line on stdout:
  {"event": "listening", "port": N}        the TCP listen socket is up
  {"event": "ready"}                       seed: data checked and seeding; leech: torrent added
  {"event": "status", ...}                 every statusIntervalMs, and on {"cmd":"status"}
  {"event": "complete"}                    leech: every piece downloaded and verified
  {"event": "error", "message": "..."}     a fatal or torrent error
Reads JSON commands on stdin: {"cmd":"status"}, {"cmd":"connect","host":..,"port":..},
{"cmd":"quit"}. End of stdin means the harness went away: the session exits.
"""
import json
import sys
import time

import libtorrent as lt
from lt_common import NOTHING, STDIN_CLOSED, USER_AGENT, add_params, emit, loopback_settings, read_command, run


def make_settings(port):
    # Start from the high-performance seed preset (big send buffers, many active seeds), then
    # keep everything on loopback and TCP only (the tests of uTP and the DHT use their own scripts).
    s = lt.high_performance_seed()
    s.update(loopback_settings(port))
    s.update({
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_tcp": True,
        "enable_incoming_tcp": True,
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "rate_limit_ip_overhead": False,
        "connections_limit": 200,
        "active_downloads": 10,
        "active_seeds": 100,
        "active_limit": 200,
        "dont_count_slow_torrents": False,
        "auto_manage_startup": 0,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.storage_notification
        | lt.alert.category_t.tracker_notification,
        "user_agent": USER_AGENT,
    })
    return s


def main():
    cfg = json.loads(sys.argv[1])
    mode = cfg["mode"]
    port = int(cfg["port"])
    interval = max(0.05, float(cfg.get("statusIntervalMs", 200)) / 1000.0)
    ses = lt.session(make_settings(port))

    if cfg.get("torrentFile"):
        atp = add_params(ti=lt.torrent_info(cfg["torrentFile"]), save_path=cfg["saveDir"])
    else:
        atp = add_params(magnet=cfg["magnet"], save_path=cfg["saveDir"])
    if mode == "seed" and cfg.get("seedMode"):
        atp.flags |= lt.torrent_flags.seed_mode
    trackers = cfg.get("trackers") or []
    if trackers:
        atp.trackers = list(atp.trackers) + list(trackers)
    h = ses.add_torrent(atp)
    peers = [(str(p[0]), int(p[1])) for p in (cfg.get("peers") or [])]
    for p in peers:
        h.connect_peer(p)

    listening = False
    ready_sent = False
    complete_sent = False
    last_status = 0.0
    last_connect = time.monotonic()
    stdin_open = not cfg.get("ignoreStdin")
    deadline = time.monotonic() + float(cfg["maxSeconds"]) if cfg.get("maxSeconds") else None

    def status_obj():
        st = h.status()
        return {
            "event": "status",
            "state": str(st.state),
            "progress": st.progress,
            "uploaded": st.total_payload_upload,
            "downloaded": st.total_payload_download,
            "totalDone": st.total_done,
            "totalWanted": st.total_wanted,
            "peers": st.num_peers,
            "seeds": st.num_seeds,
            "uploadRate": st.upload_payload_rate,
            "downloadRate": st.download_payload_rate,
            "isSeeding": st.is_seeding,
            "hasMetadata": st.has_metadata,
            "error": str(st.errc.message()) if st.errc.value() != 0 else "",
        }

    while True:
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert):
                if a.socket_type == lt.socket_type_t.tcp and not listening:
                    listening = True
                    emit({"event": "listening", "port": a.port})
            elif isinstance(a, lt.listen_failed_alert):
                emit({"event": "error", "message": "listen failed: " + a.message()})
            elif isinstance(a, lt.torrent_error_alert) or isinstance(a, lt.file_error_alert):
                emit({"event": "error", "message": a.message()})
            elif isinstance(a, lt.torrent_finished_alert) and mode == "leech" and not complete_sent:
                complete_sent = True
                emit(status_obj())
                emit({"event": "complete"})
                if cfg.get("exitOnComplete"):
                    ses.remove_torrent(h)
                    return
            elif isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert)):
                emit({"event": "log", "message": a.message()})

        st = h.status()
        if not ready_sent and listening:
            if mode == "leech":
                ready_sent = True
                emit({"event": "ready"})
            elif st.is_seeding:
                ready_sent = True
                emit(status_obj())
                emit({"event": "ready"})
            elif st.state == lt.torrent_status.downloading and st.progress < 1.0 and not st.errc.value():
                # Checking finished but the data is not all there: a seeder that cannot seed.
                emit({"event": "error", "message": "seed data incomplete: progress %.4f" % st.progress})
                ready_sent = True

        now = time.monotonic()
        if deadline is not None and now > deadline:
            emit({"event": "error", "message": "maxSeconds reached"})
            sys.exit(3)
        if now - last_status >= interval:
            last_status = now
            emit(status_obj())
        # Peers given directly are retried while none is connected (the other side may have
        # come up after us).
        if peers and st.num_peers == 0 and now - last_connect >= 1.0 and not st.is_seeding:
            last_connect = now
            for p in peers:
                h.connect_peer(p)

        if stdin_open:
            cmd = read_command(0.05)
            if cmd is STDIN_CLOSED:
                break  # the harness is gone
            if cmd is not NOTHING:
                c = cmd.get("cmd")
                if c == "status":
                    emit(status_obj())
                elif c == "connect":
                    h.connect_peer((str(cmd["host"]), int(cmd["port"])))
                elif c == "quit":
                    break
        else:
            time.sleep(0.05)

    ses.remove_torrent(h)
    del ses


if __name__ == "__main__":
    run(main)
