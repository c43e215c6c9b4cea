#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Echo responder for the test guest's net_echo (run inside the test's network
namespace): waits for tap TAP to exist, writes its MTU to READY_FILE, then
sends every EtherType 0x88b5 frame back with the MACs swapped (destination :=
the sender, source := the tap's own address). Exits when the tap goes away.

Usage: net_responder.py TAP READY_FILE
"""
import os
import socket
import sys
import time

ETHERTYPE = 0x88B5


def is_up(sysdir):
    try:
        with open(f"{sysdir}/flags") as f:
            return int(f.read(), 16) & 1  # IFF_UP
    except OSError:
        return False


def open_when_up(tap, ethertype, timeout=120):
    """An AF_PACKET socket bound to @tap for @ethertype once the tap is up; None if never.

    Bound to a tap that is still down, the socket would report ENETDOWN once.
    """
    deadline = time.monotonic() + timeout
    while not is_up(f"/sys/class/net/{tap}"):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    s.bind((tap, ethertype))
    return s


def main():
    tap, ready = sys.argv[1], sys.argv[2]
    sysdir = f"/sys/class/net/{tap}"
    s = open_when_up(tap, ETHERTYPE)
    if s is None:
        return 2
    with open(f"{sysdir}/mtu") as f:
        mtu = f.read().strip()
    with open(f"{sysdir}/address") as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    with open(ready + ".tmp", "w") as f:
        f.write(mtu)
    os.rename(ready + ".tmp", ready)
    echoed = 0
    while True:
        try:
            frame = s.recv(65536)
        except OSError:
            if not os.path.exists(sysdir):
                break  # the tap went away with kiln
            time.sleep(0.01)  # down for a moment (moved, MTU set): wait for it
            continue
        if len(frame) < 14:
            continue
        try:
            s.send(frame[6:12] + mac + frame[12:])
        except OSError:
            continue  # larger than the tap's MTU: not echoed, the guest notices
        echoed += 1
        with open(ready + ".count", "w") as f:
            f.write(str(echoed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
