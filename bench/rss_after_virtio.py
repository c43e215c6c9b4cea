#!/usr/bin/env python3
"""VMM memory outside guest RAM after the test guest has run its virtio tests.

Boots build/testguest.elf with a 64 MiB drive and the rng, runs blk_rw, blk_big,
rng and every hostile test, and holds the guest (ktest.hold=1) once they are done.
Then reads the kiln process's VmHWM from /proc/PID/status and the Rss of the
guest-RAM mapping from /proc/PID/smaps; their difference is the VMM's own peak
memory. Repeats --runs times and prints the median (MiB) as JSON.

    /usr/bin/python3 bench/rss_after_virtio.py [--runs 5] [--out FILE]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.join(REPO, "build", "kiln")
GUEST = os.path.join(REPO, "build", "testguest.elf")
MEM_MIB = 128


def kib_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise ValueError(name)


def guest_ram_rss_kib(pid):
    """Rss of the one mapping exactly as large as guest RAM."""
    size = None
    rss = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                size = hi - lo
            elif line.startswith("Rss:") and size == MEM_MIB << 20:
                rss += int(head[1])
    return rss


def one_run(disk):
    args = [KILN, "--kernel", GUEST, "--mem-mib", str(MEM_MIB), "--drive", disk + ",id=blkid0",
            "--rng", "--boot-args",
            "ktest=blk_rw,blk_big,rng,hostile ktest.blk_id=blkid0 ktest.hold=1"]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    passes = fails = 0
    try:
        for raw in p.stdout:
            line = raw.decode(errors="replace").strip()
            passes += line.endswith(" PASS")
            fails += " FAIL" in line
            if line == "KTEST HOLD":
                break
        else:
            raise RuntimeError(f"guest never held (exit {p.wait()})")
        with open(f"/proc/{p.pid}/status") as f:
            hwm = kib_field(f.read(), "VmHWM")
        guest = guest_ram_rss_kib(p.pid)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    return {"vmhwm_kib": hwm, "guest_rss_kib": guest, "overhead_mib": (hwm - guest) / 1024,
            "passes": passes, "fails": fails}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "disk.img")
        for _ in range(args.runs):
            with open(disk, "wb") as f:
                f.truncate(64 << 20)
            rows.append(one_run(disk))
    result = {"runs": rows,
              "median_overhead_mib": round(statistics.median(r["overhead_mib"] for r in rows), 3),
              "target_mib": 1.5}
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    if any(r["fails"] for r in rows):
        raise SystemExit("a guest test failed")


if __name__ == "__main__":
    main()
