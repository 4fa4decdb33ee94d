#!/usr/bin/env python3
"""lt_session.py with an upload rate limit that applies on loopback too.

Usage: lt_session_limited.py '<json config>' with lt_session.py's config plus
uploadRateLimit (bytes per second). libtorrent puts 127/8 in a "local" peer class that
ignores rate limits; every address is mapped to the global class here so the limit holds.
Used to keep a download running long enough to interrupt it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import libtorrent as lt  # noqa: E402
import lt_session  # noqa: E402

LIMIT = int(json.loads(sys.argv[1]).get("uploadRateLimit", 0))

_make_settings = lt_session.make_settings


def limited_settings(port):
    s = _make_settings(port)
    s["upload_rate_limit"] = LIMIT
    return s


_session = lt.session


def limited_session(settings):
    ses = _session(settings)
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << _session.global_peer_class_id)
    ses.set_peer_class_filter(f)
    return ses


lt_session.make_settings = limited_settings
lt_session.lt.session = limited_session

if __name__ == "__main__":
    try:
        lt_session.main()
    except Exception as e:  # reported, like lt_session.py does
        lt_session.emit({"event": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
