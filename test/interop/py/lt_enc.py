#!/usr/bin/env python3
"""lt_session.py with protocol encryption (MSE/PE) settings, for the pytor MSE tests.

Usage: lt_enc.py '<json config>'  -- the config of lt_session.py plus:
  encPolicy: "forced" | "enabled" | "disabled"   (out_enc_policy and in_enc_policy; default forced)
  encLevel:  "rc4" | "plaintext" | "both"         (allowed_enc_level; default rc4)
  preferRc4: bool                                 (prefer_rc4; default True)
Everything else (events on stdout, commands on stdin, loopback only, no DHT/LSD/UPnP/NAT-PMP)
is lt_session.py's.
"""
import json
import sys

import libtorrent as lt
import lt_session
from lt_common import run

POLICIES = {
    "forced": lt.enc_policy.pe_forced,
    "enabled": lt.enc_policy.pe_enabled,
    "disabled": lt.enc_policy.pe_disabled,
}
LEVELS = {
    "rc4": lt.enc_level.pe_rc4,
    "plaintext": lt.enc_level.pe_plaintext,
    "both": lt.enc_level.pe_both,
}


def main():
    cfg = json.loads(sys.argv[1])
    policy = POLICIES[cfg.get("encPolicy", "forced")]
    level = LEVELS[cfg.get("encLevel", "rc4")]
    prefer_rc4 = bool(cfg.get("preferRc4", True))
    base = lt_session.make_settings

    def make_settings(port):
        s = base(port)
        s.update({
            "out_enc_policy": int(policy),
            "in_enc_policy": int(policy),
            "allowed_enc_level": int(level),
            "prefer_rc4": prefer_rc4,
        })
        return s

    lt_session.make_settings = make_settings
    lt_session.main()


if __name__ == "__main__":
    run(main)
