#!/usr/bin/python3
"""Time a guest boot: run a VMM command, stamp each output line with the
seconds since spawn, report when KILN-INIT-OK / KILN-INIT-DONE appear.

  time-boot.py [--timeout S] [--log FILE] [--stop-at MARK] -- VMM ARGS...

  kernel/linux/time-boot.py --stop-at KILN-INIT-DONE -- qemu-system-x86_64 -M microvm -enable-kvm \
      -cpu host -m 256 -nodefaults -no-user-config -nographic -serial stdio \
      -kernel vmlinux -initrd initramfs.cpio -append "$(kernel/linux/cmdline.sh)" \
      -no-reboot

The VMM gets a pipe as stdin; stdout and stderr are merged.
Exit status: 0 if KILN-INIT-OK was seen, 1 otherwise.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--log", help="also write the stamped lines here")
    ap.add_argument("--stop-at", metavar="MARK",
                    help="stop the VMM 2 s after this marker (QEMU microvm has "
                         "no i8042, so the guest's reset does not end it)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    log = open(a.log, "w") if a.log else None
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    marks = {}
    stop = threading.Event()

    def pump():
        for raw in iter(proc.stdout.readline, b""):
            t = time.monotonic() - start
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            out = f"[{t:8.3f}] {line}"
            print(out, flush=True)
            if log:
                print(out, file=log, flush=True)
            for m in ("KILN-INIT-OK", "KILN-INIT-DONE"):
                if m in line and m not in marks:
                    marks[m] = t
            if a.stop_at and a.stop_at in line:
                stop.set()

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    deadline = start + a.timeout
    stopped_at = None
    while proc.poll() is None:
        now = time.monotonic()
        if stop.is_set() and stopped_at is None:
            stopped_at = now
        if now >= deadline or (stopped_at is not None and now - stopped_at >= 2):
            if now >= deadline:
                print(f"time-boot: timeout after {a.timeout} s", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            break
        time.sleep(0.05)
    th.join(timeout=5)
    total = time.monotonic() - start
    summary = " ".join(f"{m}={t:.1f}s" for m, t in marks.items())
    print(f"time-boot: exit={proc.returncode} total={total:.1f}s {summary}")
    if log:
        print(f"time-boot: exit={proc.returncode} total={total:.1f}s {summary}", file=log)
    return 0 if "KILN-INIT-OK" in marks else 1


if __name__ == "__main__":
    sys.exit(main())
