#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Frame source for test_ratelimit.py's RX limiter tests (run inside the test's
network namespace): waits for tap TAP to be up, then sends broadcast frames of
SIZE bytes (Ethernet header included, EtherType 0x88b6) into it at about RATE
a second until killed or the tap goes away. The tap's queue holds what kiln
has not read yet and drops the rest, so at a RATE well above the guest's RX
limit kiln always has a frame waiting.

Usage: net_sender.py TAP SIZE RATE
"""
import sys
import time

from net_responder import is_up, open_when_up

ETHERTYPE = 0x88B6


def main():
    tap, size, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sysdir = f"/sys/class/net/{tap}"
    s = open_when_up(tap, ETHERTYPE)
    if s is None:
        return 2
    head = b"\xff" * 6 + bytes.fromhex("024b494c4e02") + ETHERTYPE.to_bytes(2, "big")
    frame = head + bytes(i & 0xFF for i in range(size - len(head)))
    while True:
        try:
            s.send(frame)
        except OSError:
            if not is_up(sysdir):
                return 0  # the tap went down or away
        time.sleep(1 / rate)


if __name__ == "__main__":
    sys.exit(main())
