"""What the libtorrent harness scripts share: the JSON lines they print, the lines they read on
stdin, the settings that keep a session on loopback, the parameters of a torrent that starts
when added, and the guard around main().

The scripts are run as `python3 path/to/script.py`, so this file's folder is on sys.path and
`import lt_common` finds it.
"""
import json
import select
import sys

import libtorrent as lt

LOOPBACK = "127.0.0.1"
USER_AGENT = "pytor-harness libtorrent/" + lt.__version__

# What read_line and read_command return besides a line or a command.
NOTHING = object()  # no line within the timeout, a blank line, or a command that is not JSON
STDIN_CLOSED = object()  # the end of stdin: the harness went away


def emit(obj):
    """One JSON object on one line of stdout, flushed at once (the harness reads line by line)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_line(timeout):
    """The next line on stdin, stripped, waiting at most `timeout` seconds for it."""
    r, _, _ = select.select([sys.stdin], [], [], timeout)
    if not r:
        return NOTHING
    line = sys.stdin.readline()
    if line == "":
        return STDIN_CLOSED
    return line.strip() or NOTHING


def read_command(timeout):
    """The next line on stdin as a JSON command; a line that is not JSON is reported as an error
    event and skipped."""
    line = read_line(timeout)
    if line is NOTHING or line is STDIN_CLOSED:
        return line
    try:
        return json.loads(line)
    except ValueError:
        emit({"event": "error", "message": "bad command: " + line})
        return NOTHING


def loopback_settings(port):
    """Settings that keep a session on 127.0.0.1 and off everything public: no DHT (a script
    that wants one switches it on with its own routers), LSD, UPnP, NAT-PMP nor IP notifier."""
    return {
        "listen_interfaces": "%s:%d" % (LOOPBACK, port),
        "outgoing_interfaces": LOOPBACK,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "allow_multiple_connections_per_ip": True,
        # A tracker on localhost is what the tests use; the SSRF guard would refuse some URLs.
        "ssrf_mitigation": False,
    }


def add_params(save_path, ti=None, magnet=None):
    """add_torrent_params for a torrent_info `ti` or else a `magnet` link, saved under
    `save_path`, neither auto-managed nor paused: it starts when added and stays started."""
    if ti is not None:
        atp = lt.add_torrent_params()
        atp.ti = ti
    else:
        atp = lt.parse_magnet_uri(magnet)
    atp.save_path = save_path
    atp.flags = atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    return atp


def run(main):
    """Runs a script's main(): Ctrl-C ends it quietly; any other exception is reported to the
    harness as one error line, then a non-zero exit."""
    try:
        main()
    except KeyboardInterrupt:
        pass
    except Exception as e:
        emit({"event": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
