#!/usr/bin/env python3
"""libtorrent leechers that keep a ledger of every block request they send to one peer (pytor),
read from libtorrent's own peer log, to check BEP 6 reject_request from the other side.

Usage: lt_reject_log.py '<json config>'
config: {torrentFile, leechers: n, leechDir: folder for the leechers' data (one subfolder each),
         connect: [host, port] (every leecher dials it, retried each second while it has no peer),
         peerIdPrefix: the peer id prefix of the peer under test (e.g. "-PT"),
         seconds: how long to run at most (the summary comes then),
         untilRejects?: end (after a short settle) once this many rejects have arrived}

Everything listens on 127.0.0.1 only; DHT, LSD, UPnP, NAT-PMP and uTP are off.
The peer under test may also dial the leechers (it learns their ports by PEX) and libtorrent then
closes one of the two connections as a duplicate, so the peer is told apart by its peer id, and
every connection (leecher, remote endpoint) keeps its own ledger.

Per connection, from the log lines "==> REQUEST [ piece: P s: S l: L ... ]" (S and L in hex, as
libtorrent prints them), "<== PIECE [ ... ]", "<== REJECT_PIECE [ ... ]", "==> CANCEL [ ... ]",
"<== CHOKE", "<== UNCHOKE" and "<== ALLOWED_FAST [ P ]":
  pending   requests sent and not yet answered (by a piece or a reject) nor cancelled;
  owed      at each incoming choke, the pending requests not in the allowed-fast set: BEP 6 says
            the choking peer must reject each of them (or, had it already read the block, send it).
Prints one JSON object per line:
  {"event": "listening", "index": i, "port": N}
  {"event": "reject", "index": i, "piece": P}     as each reject arrives (progress only)
  {"event": "summary", "in": {...}, "out": {...}, "ledger": {...}, "chokes": [...]}
ledger: owed (requests dropped by chokes), owedRejected, owedServed (answered by a piece after the
choke), owedServedWhileChoked (of those, sent while still choked), owedCancelled (we cancelled
them), owedUnanswered (never answered on a connection still open at the end), owedAtClose
(still owed when a connection closed), rejects, rejectsUnmatched (a reject for no pending request:
a second answer, or a request never sent), rejectsWhilePending (rejects matching a request).
chokes: one entry per incoming choke: {index, pending, owed}.
"""
import json
import os
import re
import sys
import time

import libtorrent as lt
import lt_fast_log
from lt_common import STDIN_CLOSED, add_params, emit, read_line

MSG = re.compile(r"(<==|==>)\s*([A-Z_]+)")
BLOCK = re.compile(r"piece: (\d+) s: ([0-9a-fA-F]+) l: ([0-9a-fA-F]+)")
SETTLE_S = 3.0


class Ledger:
    def __init__(self, index):
        self.index = index
        self.pending = {}  # (piece, start) -> length
        self.owed = set()
        self.allowed = set()
        self.choked = True
        self.closed = False


def block_of(text):
    m = BLOCK.search(text)
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2), 16)), int(m.group(3), 16)


def main():
    cfg = json.loads(sys.argv[1])
    ti = lt.torrent_info(cfg["torrentFile"])
    prefix = cfg["peerIdPrefix"].encode()
    target = (str(cfg["connect"][0]), int(cfg["connect"][1]))
    sessions = []
    for i in range(int(cfg["leechers"])):
        # The same loopback, TCP-only session with the peer log on as lt_fast_log.py's.
        s = lt.session(lt_fast_log.settings())
        sessions.append((i, s, s.add_torrent(add_params(os.path.join(cfg["leechDir"], str(i)), ti=ti))))

    counts = {"in": {}, "out": {}}
    totals = {k: 0 for k in ("owed", "owedRejected", "owedServed", "owedServedWhileChoked", "owedCancelled",
                             "owedAtClose", "rejects", "rejectsUnmatched", "rejectsWhilePending", "requests")}
    chokes = []
    ledgers = {}
    listening = set()
    until = cfg.get("untilRejects")
    deadline = time.monotonic() + float(cfg["seconds"])
    last_dial = 0.0
    while time.monotonic() < deadline:
        for i, s, h in sessions:
            for a in s.pop_alerts():
                if isinstance(a, lt.listen_succeeded_alert) and i not in listening:
                    listening.add(i)
                    emit({"event": "listening", "index": i, "port": a.port})
                    continue
                if not isinstance(a, lt.peer_log_alert) or not bytes(a.pid.to_bytes()).startswith(prefix):
                    continue
                key = (i, str(a.endpoint))
                led = ledgers.get(key)
                if led is None:
                    led = ledgers[key] = Ledger(i)
                text = a.message()
                if "CONNECTION_CLOSED" in text or "CONNECTION CLOSED" in text:
                    if not led.closed:
                        led.closed = True
                        totals["owedAtClose"] += len(led.owed)
                        led.owed.clear()
                    continue
                m = MSG.search(text)
                if not m:
                    continue
                way = "in" if m.group(1) == "<==" else "out"
                name = m.group(2)
                counts[way][name] = counts[way].get(name, 0) + 1
                if way == "out" and name == "REQUEST":
                    b = block_of(text)
                    if b:
                        led.pending[b[0]] = b[1]
                        totals["requests"] += 1
                elif way == "out" and name == "CANCEL":
                    b = block_of(text)
                    if b:
                        led.pending.pop(b[0], None)
                        if b[0] in led.owed:
                            led.owed.discard(b[0])
                            totals["owedCancelled"] += 1
                elif way == "in" and name == "ALLOWED_FAST":
                    n = re.search(r"ALLOWED_FAST \[ (\d+) \]", text)
                    if n:
                        led.allowed.add(int(n.group(1)))
                elif way == "in" and name == "CHOKE":
                    led.choked = True
                    dropped = {k for k in led.pending if k[0] not in led.allowed}
                    new = dropped - led.owed
                    led.owed |= new
                    totals["owed"] += len(new)
                    chokes.append({"index": i, "pending": len(led.pending), "owed": len(new)})
                elif way == "in" and name == "UNCHOKE":
                    led.choked = False
                elif way == "in" and name == "PIECE":
                    b = block_of(text)
                    if b:
                        led.pending.pop(b[0], None)
                        if b[0] in led.owed:
                            led.owed.discard(b[0])
                            totals["owedServed"] += 1
                            if led.choked:
                                totals["owedServedWhileChoked"] += 1
                elif way == "in" and name == "REJECT_PIECE":
                    totals["rejects"] += 1
                    b = block_of(text)
                    if b is None or b[0] not in led.pending:
                        totals["rejectsUnmatched"] += 1
                    else:
                        del led.pending[b[0]]
                        totals["rejectsWhilePending"] += 1
                        if b[0] in led.owed:
                            led.owed.discard(b[0])
                            totals["owedRejected"] += 1
                    emit({"event": "reject", "index": i, "piece": b[0][0] if b else None})
        now = time.monotonic()
        if until is not None and totals["rejects"] >= int(until) and deadline - now > SETTLE_S:
            # Enough seen: let the rest of that choke's rejects (and any stray second answers) arrive.
            deadline = now + SETTLE_S
        if now - last_dial >= 1.0:
            last_dial = now
            for i, s, h in sessions:
                if h.status().num_peers == 0:
                    h.connect_peer(target)
        # End of stdin means the harness went away.
        if read_line(0.05) is STDIN_CLOSED:
            break
    totals["owedUnanswered"] = sum(len(led.owed) for led in ledgers.values() if not led.closed)
    emit({"event": "summary", **counts, "ledger": totals, "chokes": chokes})
    for i, s, h in sessions:
        s.remove_torrent(h)


if __name__ == "__main__":
    main()
