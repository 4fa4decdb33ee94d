#!/usr/bin/env python3
"""lt_session.py with libtorrent forced to uTP only (no TCP in or out).

Usage and output: exactly as lt_session.py (same JSON config, same JSON lines). The session's
settings are lt_session's with enable_outgoing_tcp/enable_incoming_tcp False and
enable_outgoing_utp/enable_incoming_utp True, so every peer connection is uTP.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lt_session  # noqa: E402

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
    try:
        lt_session.main()
    except KeyboardInterrupt:
        pass
    except Exception as e:
        lt_session.emit({"event": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
