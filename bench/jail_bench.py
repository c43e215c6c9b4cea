#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Jailed start-up (docs/PERFORMANCE.md "Jailed start-up"): process start to the API
socket accepting, kiln --jail vs plain kiln, interleaved. Needs root.

Wall: from before the spawn to the first successful connect(). kiln logs, when the
socket listens, the wall time since main() began and its CPU time since exec
(CLOCK_PROCESS_CPUTIME_ID); both are parsed from its --log-level info output.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import time

LINE = re.compile(r"(\d+) us after main\(\), (\d+) CPU us since exec")


def one(kiln, base, i, jailed):
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(f"{base}/kiln/b{i}/root")
    if jailed:
        sock = f"{base}/kiln/b{i}/root/api.sock"
        args = [kiln, "--jail", "--id", f"b{i}", "--uid", "65534", "--gid", "65534",
                "--chroot-base", base, "--api-sock", "/api.sock", "--log-level", "info"]
    else:
        sock = f"{base}/plain.sock"
        args = [kiln, "--api-sock", sock, "--log-level", "info"]
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
    a = ap.parse_args()
    res = {"jail": [], "plain": []}
    for i in range(a.runs):
        res["jail"].append(one(a.kiln, a.base, i, True))
        res["plain"].append(one(a.kiln, a.base, i, False))
    shutil.rmtree(a.base, ignore_errors=True)
    for mode, r in res.items():
        med = [statistics.median(x[k] for x in r) for k in range(3)]
        print(f"{mode:5} spawn->accepting {med[0]:.2f} ms, main()->listening {med[1]:.2f} ms, "
              f"CPU at listening {med[2]:.2f} ms ({min(x[2] for x in r):.2f}-"
              f"{max(x[2] for x in r):.2f})")


if __name__ == "__main__":
    main()
