#!/usr/bin/env python3
"""One libtorrent session with one torrent, for tests of how peers choose TCP or uTP.

Usage: lt_transport.py '<json config>'
config: {mode: "seed"|"leech", torrentFile?, magnet?, saveDir, port, peers?: [[host, port]],
         transports: "utp-only"|"both" (default "both"),
         pex?: true (false: the session has no ut_pex plugin, so it neither learns nor tells peers),
         closeRedundant?: true (false: two seeds stay connected, so a seed can name another in PEX),
         statusIntervalMs?: 500, maxSeconds?: 300}

Settings are lt_session.py's (loopback only; DHT, LSD, UPnP and NAT-PMP off) with the
transports above. Prints JSON lines on stdout:
  {"event": "ready"}                       seed: data checked; leech: torrent added
  {"event": "blocked", "reason": "...", "ip": "..."}   libtorrent refused a connection (e.g.
                                           "tcp_disabled": a TCP connection to a uTP-only session)
  {"event": "status", ..., "tcpBlocked": N, "peerList": [{ip, port, utp, seed, outgoing}]}
  {"event": "complete"}, {"event": "error", "message": "..."}
Reads JSON commands on stdin: {"cmd":"status"}, {"cmd":"connect","host":..,"port":..},
{"cmd":"quit"}; end of stdin ends the session.
"""
import json
import sys
import time

import libtorrent as lt
import lt_session
from lt_common import NOTHING, STDIN_CLOSED, add_params, emit, read_line, run

# peer_info::utp_socket (bit 17 of peer_info.flags in libtorrent 2.0); the binding has no name for it.
UTP_SOCKET = 1 << 17


def settings(cfg):
    s = lt_session.make_settings(int(cfg["port"]))
    utp_only = cfg.get("transports", "both") == "utp-only"
    s.update({
        "enable_outgoing_utp": True,
        "enable_incoming_utp": True,
        "enable_outgoing_tcp": not utp_only,
        "enable_incoming_tcp": not utp_only,
        "close_redundant_connections": bool(cfg.get("closeRedundant", True)),
        "alert_mask": s["alert_mask"] | lt.alert.category_t.ip_block_notification,
    })
    return s


def main():
    cfg = json.loads(sys.argv[1])
    mode = cfg["mode"]
    interval = max(0.05, float(cfg.get("statusIntervalMs", 500)) / 1000.0)
    deadline = time.monotonic() + float(cfg.get("maxSeconds", 300))
    if cfg.get("pex", True):
        ses = lt.session(settings(cfg))
    else:
        # No default plugins, then all but ut_pex.
        ses = lt.session(settings(cfg), 0)
        ses.add_extension("ut_metadata")
        ses.add_extension("smart_ban")

    if cfg.get("torrentFile"):
        atp = add_params(ti=lt.torrent_info(cfg["torrentFile"]), save_path=cfg["saveDir"])
    else:
        atp = add_params(magnet=cfg["magnet"], save_path=cfg["saveDir"])
    h = ses.add_torrent(atp)
    for p in cfg.get("peers") or []:
        h.connect_peer((str(p[0]), int(p[1])))

    tcp_blocked = 0
    ready_sent = False
    complete_sent = False
    last_status = 0.0

    def status_obj():
        st = h.status()
        peers = []
        for pi in h.get_peer_info():
            peers.append({
                "ip": pi.ip[0],
                "port": pi.ip[1],
                "utp": bool(int(pi.flags) & UTP_SOCKET),
                "seed": bool(int(pi.flags) & int(lt.peer_info.seed)),
                "outgoing": bool(int(pi.flags) & int(lt.peer_info.outgoing_connection)),
            })
        return {
            "event": "status",
            "progress": st.progress,
            "peers": st.num_peers,
            "isSeeding": st.is_seeding,
            "hasMetadata": st.has_metadata,
            "uploaded": st.total_payload_upload,
            "tcpBlocked": tcp_blocked,
            "peerList": peers,
        }

    while True:
        for a in ses.pop_alerts():
            if isinstance(a, lt.peer_blocked_alert):
                msg = a.message()
                reason = msg[msg.rfind("[") + 1:msg.rfind("]")] if "[" in msg else msg
                if reason == "tcp_disabled":
                    tcp_blocked += 1
                emit({"event": "blocked", "reason": reason, "ip": str(a.endpoint[0]) if hasattr(a, "endpoint") else ""})
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
                emit({"event": "error", "message": a.message()})
            elif isinstance(a, lt.torrent_finished_alert) and mode == "leech" and not complete_sent:
                complete_sent = True
                emit({"event": "complete"})
        st = h.status()
        if not ready_sent and (mode == "leech" or st.is_seeding):
            ready_sent = True
            emit(status_obj())
            emit({"event": "ready"})
        now = time.monotonic()
        if now > deadline:
            emit({"event": "error", "message": "maxSeconds reached"})
            sys.exit(3)
        if now - last_status >= interval:
            last_status = now
            emit(status_obj())
        line = read_line(0.05)
        if line is STDIN_CLOSED:
            break
        if line is not NOTHING:
            cmd = json.loads(line)
            if cmd.get("cmd") == "status":
                emit(status_obj())
            elif cmd.get("cmd") == "connect":
                h.connect_peer((str(cmd["host"]), int(cmd["port"])))
            elif cmd.get("cmd") == "quit":
                break
    ses.remove_torrent(h)
    del ses


if __name__ == "__main__":
    run(main)
