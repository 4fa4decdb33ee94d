#!/usr/bin/env python3
"""lt_session.py with libtorrent forced to uTP only (no TCP in or out).

Usage and output: exactly as lt_session.py (same JSON config, same JSON lines). The session's
settings are lt_session's with enable_outgoing_tcp/enable_incoming_tcp False and
enable_outgoing_utp/enable_incoming_utp True, so every peer connection is uTP.
"""
import lt_session
from lt_common import run

_base_settings = lt_session.make_settings


def utp_only_settings(port):
    s = _base_settings(port)
    s.update({
        "enable_outgoing_utp": True,
        "enable_incoming_utp": True,
        "enable_outgoing_tcp": False,
        "enable_incoming_tcp": False,
    })
    return s


lt_session.make_settings = utp_only_settings

if __name__ == "__main__":
    run(lt_session.main)
