#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Jailed start-up (docs/PERFORMANCE.md "Jailed start-up"): process start to the API
socket accepting, kiln --jail vs plain kiln, interleaved. Needs root.

Wall: from before the spawn to the first successful connect(). kiln logs, when the
socket listens, the wall time since main() began and its CPU time since exec
(CLOCK_PROCESS_CPUTIME_ID); both are parsed from its --log-level info output. With
--new-pid-ns the line comes from the child, whose CPU clock starts at the fork; the
userns mode's wall time includes the unshare/sh/setpriv wrapper that grants /dev/kvm.
"""
import argparse
import os
import re
import shutil
import socket
import stat
import statistics
import subprocess
import time

LINE = re.compile(r"(\d+) us after main\(\), (\d+) CPU us since exec")


def userns_wrap(base):
    """Start kiln as uid 65534 with a private /dev/kvm node it owns (as the tests do)."""
    node = f"{base}-kvm"
    if not os.path.exists(node):
        os.mknod(node, 0o600 | stat.S_IFCHR, os.stat("/dev/kvm").st_rdev)
        os.chown(node, 65534, 65534)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /dev/kvm && exec setpriv --reuid=65534 --regid=65534 '
            '--clear-groups -- "$@"', node]


def one(kiln, base, i, mode):
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(f"{base}/kiln/b{i}/root")
    wrap = []
    if mode == "plain":
        sock = f"{base}/plain.sock"
        args = [kiln, "--api-sock", sock, "--log-level", "info"]
    else:
        sock = f"{base}/kiln/b{i}/root/api.sock"
        args = [kiln, "--jail", "--id", f"b{i}", "--uid", "65534", "--gid", "65534",
                "--chroot-base", base, "--api-sock", "/api.sock", "--log-level", "info"]
        if mode == "pidns":
            args.append("--new-pid-ns")
        if mode == "userns":
            os.chmod(base, 0o755)
            for d, _, _ in os.walk(base):
                os.chown(d, 65534, 65534)
            wrap = userns_wrap(base)
    args = wrap + args
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(sock)
            break
        except OSError:
            if p.poll() is not None:
                raise SystemExit(p.stderr.read().decode())
    wall = (time.monotonic() - t0) * 1000
    p.terminate()
    _, err = p.communicate()
    m = LINE.search(err.decode())
    return wall, int(m.group(1)) / 1000, int(m.group(2)) / 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--base", default="/tmp/kiln-jail-bench")
    ap.add_argument("--modes", default="jail,plain",
                    help="comma-separated: jail, plain, pidns (--jail --new-pid-ns), "
                         "userns (--jail started as uid 65534)")
    a = ap.parse_args()
    res = {m: [] for m in a.modes.split(",")}
    for i in range(a.runs):
        for mode in res:
            res[mode].append(one(a.kiln, a.base, i, mode))
    shutil.rmtree(a.base, ignore_errors=True)
    if os.path.exists(a.base + "-kvm"):
        os.unlink(a.base + "-kvm")
    for mode, r in res.items():
        med = [statistics.median(x[k] for x in r) for k in range(3)]
        print(f"{mode:6} spawn->accepting {med[0]:.2f} ms, main()->listening {med[1]:.2f} ms, "
              f"CPU at listening {med[2]:.2f} ms ({min(x[2] for x in r):.2f}-"
              f"{max(x[2] for x in r):.2f})")


if __name__ == "__main__":
    main()
