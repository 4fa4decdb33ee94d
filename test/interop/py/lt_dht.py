#!/usr/bin/env python3
"""A small DHT network of libtorrent sessions on 127.0.0.1, driven by the pytor DHT tests.

Usage: lt_dht.py '<json config>'
config: {ports: [N, ...]            one session per port (TCP and UDP on 127.0.0.1)
         seed?: {torrentFile, saveDir}   the last session seeds this torrent, announced
                                     only to the DHT (no trackers)
         maxSeconds?: 300}           exit 3 after this long, whatever happens

Session 0 is the first node; every other session has it as bootstrap router AND as a node
(add_dht_node: routers alone never enter libtorrent's routing table), and every session is
told about every other one, so the network is connected from the start.

Prints one JSON object per line on stdout:
  {"event": "ready", "ports": [...]}            every session listens
  {"event": "dht_peers", "session": i, "infoHash": hex, "peers": [[host, port], ...]}
  {"event": "stats", "nodes": [n0, n1, ...]}    routing-table sizes, on {"cmd": "stats"}
  {"event": "error", "message": "..."}
Reads JSON commands on stdin:
  {"cmd": "get_peers", "session": i, "infoHash": hex}
  {"cmd": "announce", "session": i, "infoHash": hex, "port": N}
  {"cmd": "add_node", "host": h, "port": N}     every session learns this node
  {"cmd": "stats"}, {"cmd": "quit"}.  End of stdin: exit.
"""
import json
import sys
import time

import libtorrent as lt
from lt_common import LOOPBACK, NOTHING, STDIN_CLOSED, USER_AGENT, add_params, emit, loopback_settings, read_command


def settings(port, bootstrap):
    s = loopback_settings(port)
    s.update({
        "enable_dht": True,
        # Never the public routers: only the first node of this network.
        "dht_bootstrap_nodes": bootstrap,
        # Every node here is 127.0.0.1: without these, libtorrent keeps one node per IP
        # and refuses to search among them, and rate-limits the whole address.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False,
        "dht_prefer_verified_node_ids": False,
        "dht_block_ratelimit": 100000,
        # 0 would mean "none" elsewhere, but here it crashes libtorrent (SIGFPE): set it high.
        "dht_upload_rate_limit": 10000000,
        "alert_mask": lt.alert.category_t.all_categories,
        "user_agent": USER_AGENT,
    })
    return s


def main():
    cfg = json.loads(sys.argv[1])
    ports = [int(p) for p in cfg["ports"]]
    first = "%s:%d" % (LOOPBACK, ports[0])
    sessions = []
    for i, port in enumerate(ports):
        sessions.append(lt.session(settings(port, "" if i == 0 else first)))
    for i, ses in enumerate(sessions):
        for j, port in enumerate(ports):
            if i != j:
                ses.add_dht_node((LOOPBACK, port))

    handle = None
    seed = cfg.get("seed")
    if seed:
        handle = sessions[-1].add_torrent(add_params(ti=lt.torrent_info(seed["torrentFile"]), save_path=seed["saveDir"]))

    listening = set()
    leeching = {}
    ready = False
    deadline = time.monotonic() + float(cfg.get("maxSeconds", 300))
    last_announce = 0.0
    started = time.monotonic()
    stats_pending = {}

    while True:
        for i, ses in enumerate(sessions):
            for a in ses.pop_alerts():
                if isinstance(a, lt.listen_succeeded_alert):
                    listening.add(i)
                elif isinstance(a, lt.listen_failed_alert):
                    emit({"event": "error", "message": "session %d listen failed: %s" % (i, a.message())})
                elif isinstance(a, lt.dht_get_peers_reply_alert):
                    peers = [[str(p[0]), int(p[1])] for p in a.peers()]
                    emit({"event": "dht_peers", "session": i, "infoHash": str(a.info_hash), "peers": peers})
                elif isinstance(a, lt.dht_stats_alert):
                    stats_pending[i] = sum(b["num_nodes"] for b in a.routing_table)
                elif isinstance(a, lt.torrent_finished_alert) and i in leeching:
                    emit({"event": "finished", "session": i, "infoHash": str(a.handle.info_hash())})
                elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                    emit({"event": "error", "message": a.message()})
        if not ready and len(listening) == len(sessions):
            ready = True
            emit({"event": "ready", "ports": ports})
        if len(stats_pending) == len(sessions):
            emit({"event": "stats", "nodes": [stats_pending[i] for i in range(len(sessions))]})
            stats_pending = {}

        now = time.monotonic()
        if now > deadline:
            emit({"event": "error", "message": "maxSeconds reached"})
            sys.exit(3)
        # The seeder announces to the DHT every 2 s during its first minute, so the test does
        # not wait for libtorrent's own 15-minute interval.
        if handle is not None and now - last_announce >= 2.0 and now - started < 60:
            last_announce = now
            handle.force_dht_announce()

        cmd = read_command(0.05)
        if cmd is STDIN_CLOSED:
            break
        if cmd is NOTHING:
            continue
        c = cmd.get("cmd")
        if c == "get_peers":
            sessions[int(cmd["session"])].dht_get_peers(lt.sha1_hash(bytes.fromhex(cmd["infoHash"])))
        elif c == "announce":
            sessions[int(cmd["session"])].dht_announce(lt.sha1_hash(bytes.fromhex(cmd["infoHash"])), int(cmd["port"]), 0)
        elif c == "leech":
            # A bare magnet link: the session finds peers through the DHT alone.
            i = int(cmd["session"])
            leeching[i] = sessions[i].add_torrent(add_params(magnet=cmd["magnet"], save_path=cmd["saveDir"]))
        elif c == "add_node":
            for ses in sessions:
                ses.add_dht_node((str(cmd["host"]), int(cmd["port"])))
        elif c == "stats":
            for ses in sessions:
                ses.post_dht_stats()
        elif c == "quit":
            break

    if handle is not None:
        sessions[-1].remove_torrent(handle)
    del sessions


if __name__ == "__main__":
    main()
