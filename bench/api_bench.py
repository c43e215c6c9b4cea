#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""API benchmark: process start -> API socket accepting, and InstanceStart -> first KVM_RUN.

1. Start to accepting: fork+exec ``kiln --api-sock S`` and connect() in a tight
   loop until it succeeds (wall, measured here from just before the spawn), then
   SIGTERM; the CPU figure is the whole process's user+sys from wait4() (an upper
   bound: it includes the shutdown) and kiln's own log line, which reads
   CLOCK_PROCESS_CPUTIME_ID when the socket is listening. The same for
   ``qemu-system-x86_64 -M microvm -S -qmp unix:S,server=on,wait=off``.
2. InstanceStart -> first KVM_RUN for a 128 MiB guest: kiln logs, at debug
   level, the time from the InstanceStart request's arrival to vCPU 0's first
   KVM_RUN; the client-side PUT /actions round trip is recorded too.

    /usr/bin/python3 bench/api_bench.py [--runs 20] [--out FILE]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.join(REPO, "build", "kiln")
GUEST = os.path.join(REPO, "build", "testguest.elf")


def wait_accepting(path, proc, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
            return time.monotonic()
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode}")
    raise RuntimeError("socket never accepted")


def reap(proc):
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (ru.ru_utime + ru.ru_stime) * 1000.0


def start_to_accept(cmd, sock, logfile):
    if os.path.exists(sock):
        os.unlink(sock)
    with open(logfile, "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
        t1 = wait_accepting(sock, proc)
    proc.send_signal(signal.SIGTERM)
    cpu_ms = reap(proc)
    text = open(logfile, errors="replace").read()
    m = re.search(r"API listening on .*: (\d+) us after main\(\), (\d+) CPU us since exec", text)
    return {"wall_ms": (t1 - t0) * 1000.0, "cpu_total_ms": cpu_ms,
            "cpu_at_listen_ms": int(m.group(2)) / 1000.0 if m else None}


def http(sock, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    req = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
    return int(buf.split(b" ", 2)[1])


def instance_start(sock, tmp, mem_mib=128):
    logfile = os.path.join(tmp, "start.log")
    for stale in (sock, logfile):
        if os.path.exists(stale):
            os.unlink(stale)
    proc = subprocess.Popen([KILN, "--api-sock", sock], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_accepting(sock, proc)
    assert http(sock, "PUT", "/logger", {"log_path": logfile, "level": "Debug"}) == 204
    assert http(sock, "PUT", "/boot-source", {"kernel_image_path": GUEST,
                                              "boot_args": "console=ttyS0 ktest=serial"}) == 204
    assert http(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": mem_mib}) == 204
    t0 = time.monotonic()
    assert http(sock, "PUT", "/actions", {"action_type": "InstanceStart"}) == 204
    rtt = (time.monotonic() - t0) * 1000.0
    proc.wait(timeout=10)
    text = open(logfile, errors="replace").read()
    m = re.search(r"first KVM_RUN (\d+) ns after the start stamp", text)
    b = re.search(r"Guest-boot-time = +(\d+) us", text)
    return {"to_first_kvm_run_ms": int(m.group(1)) / 1e6 if m else None,
            "put_actions_rtt_ms": rtt,
            "to_boot_timer_ms": int(b.group(1)) / 1000.0 if b else None}


def summarize(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    if not vals:
        return None
    return {"median": round(statistics.median(vals), 3), "min": round(min(vals), 3),
            "max": round(max(vals), 3), "n": len(vals)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kiln-api-bench-")
    sock = os.path.join(tmp, "api.sock")
    qemu = shutil.which("qemu-system-x86_64")
    kiln_rows, qemu_rows, start_rows = [], [], []
    for _ in range(args.runs):
        kiln_rows.append(start_to_accept([KILN, "--api-sock", sock, "--log-level", "info"], sock,
                                         os.path.join(tmp, "k.log")))
        if qemu:
            qemu_rows.append(start_to_accept(
                [qemu, "-M", "microvm", "-nodefaults", "-no-user-config", "-display", "none",
                 "-S", "-qmp", f"unix:{sock},server=on,wait=off"], sock,
                os.path.join(tmp, "q.log")))
        start_rows.append(instance_start(sock, tmp))
    result = {
        "kiln_start_to_accept": {k: summarize(kiln_rows, k)
                                 for k in ("wall_ms", "cpu_total_ms", "cpu_at_listen_ms")},
        "qemu_qmp_start_to_accept": {k: summarize(qemu_rows, k)
                                     for k in ("wall_ms", "cpu_total_ms")} if qemu else None,
        "kiln_instance_start_128mib": {k: summarize(start_rows, k) for k in
                                       ("to_first_kvm_run_ms", "put_actions_rtt_ms",
                                        "to_boot_timer_ms")},
    }
    shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
