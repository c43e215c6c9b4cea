#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vsock throughput: guest <-> host bytes/s through kiln's virtio-vsock.

kiln boots build/testguest.elf with ``ktest=vsock_bench`` (kernel/testguest/
test_vsock.c) and ``--vsock CID,<dir>/v.sock``. Two phases, each moving --mib MiB:

  g2h  the guest connects to host port 5000; this script's sink at
       ``<dir>/v.sock_5000`` reads and counts. The guest sends 64 KiB packets as
       kiln's credit allows, then SHUTDOWN; kiln answers RST only once every byte
       is in the host socket, and the guest prints ``end`` after that RST.
  h2g  this script connects to ``<dir>/v.sock``, sends ``CONNECT 1234``, and after
       ``OK`` writes the bytes as fast as the socket takes them; the guest prints
       ``end`` when it has received them all (64 KiB RX buffers; it returns credit
       every 64 KiB).

The serial console is read through a pipe and the ``begin``/``end`` lines are
time-stamped (CLOCK_MONOTONIC); at each, the CPU time of every kiln thread is
sampled (/proc/PID/task/TID/schedstat), so per phase:

  MiB/s            bytes / wall time between the lines
  host CPU ms/MiB  CPU of all kiln threads (vCPU included) / MiB
  VMM CPU ms/MiB   the same without the vCPU thread: the main loop (device,
                   sockets)

The peer's own CPU (this script) is not counted. QEMU is compared only where
``vhost-vsock-device`` can work, i.e. /dev/vhost-vsock exists; otherwise the
result says so.
"""
import argparse
import datetime
import json
import os
import platform
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blk_bench import cpu_delta, parse_kv, task_cpu  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINK_PORT, LISTEN_PORT, CID = 5000, 1234, 3


class Sink(threading.Thread):
    """Accepts guest connections at @path and reads everything, counting bytes."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.bytes = 0
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                while True:
                    d = c.recv(1 << 20)
                    if not d:
                        break
                    self.bytes += len(d)


def host_send(uds, total):
    """CONNECT to the guest's port and write @total bytes; returns the host port."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % LISTEN_PORT)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise RuntimeError(f"no OK from kiln: {line!r}")
        line += b
    chunk = bytes(range(256)) * 1024
    left = total
    while left:
        n = s.send(chunk[:min(left, len(chunk))])
        left -= n
    s.close()
    return int(line.split()[1])


def run_once(args, workdir):
    uds = os.path.join(workdir, "v.sock")
    for p in (uds, f"{uds}_{SINK_PORT}"):
        if os.path.exists(p):
            os.unlink(p)
    sink = Sink(f"{uds}_{SINK_PORT}")
    boot = (f"ktest=vsock_bench ktest.vsock_port={SINK_PORT} ktest.vsock_listen={LISTEN_PORT} "
            f"ktest.vsock_bench_mib={args.mib}")
    cmd = [args.kiln, "--kernel", args.kernel, "--mem-mib", "128", "--vcpus", "1",
           "--vsock", f"{CID},{uds}", "--boot-args", boot]
    rfd, wfd = os.pipe()
    p = subprocess.Popen(cmd, stdin=rfd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(rfd)
    phases, cur, lines, buf = {}, {}, [], b""
    sender = None
    deadline = time.monotonic() + args.timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("timeout\n" + "\n".join(lines[-10:]))
            r, _, _ = select.select([p.stdout], [], [], left)
            if not r:
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            now = time.monotonic()
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").rstrip("\r")
                lines.append(line)
                if not line.startswith("KTEST-INFO vsock_bench "):
                    continue
                what, direction = line.split()[2:4]
                if what == "listening":
                    sender = threading.Thread(target=host_send, args=(uds, args.mib << 20),
                                              daemon=True)
                    sender.start()
                elif what == "begin":
                    cur[direction] = (now, task_cpu(p.pid))
                elif what == "end" and direction in cur:
                    t0, c0 = cur.pop(direction)
                    phases[direction] = {"wall": now - t0, "cpu": cpu_delta(c0, task_cpu(p.pid)),
                                         "bytes": int(parse_kv(line)["bytes"])}
        code = p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(wfd)
        sink.sock.close()
    fails = [l for l in lines if l.startswith("KTEST ") and " FAIL" in l]
    if code != 0 or fails or set(phases) != {"g2h", "h2g"}:
        raise RuntimeError(f"exit {code}, phases {sorted(phases)}, fails {fails}\n"
                           + "\n".join(lines[-10:]) + p.stderr.read().decode()[-1500:])
    if sink.bytes != args.mib << 20:
        raise RuntimeError(f"the sink got {sink.bytes} bytes, not {args.mib << 20}")
    out = {}
    for d, ph in phases.items():
        mib = ph["bytes"] / (1 << 20)
        total, vcpu = ph["cpu"]
        out[d] = {"mib_s": mib / ph["wall"], "cpu_ms_per_mib": 1e3 * total / mib,
                  "vmm_cpu_ms_per_mib": 1e3 * (total - vcpu) / mib}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(REPO, "build/kiln"))
    ap.add_argument("--kernel", default=os.path.join(REPO, "build/testguest.elf"))
    ap.add_argument("--mib", type=int, default=256, help="MiB per direction per run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix=f"kiln-vsock-bench-{os.getpid()}-") as d:
        for i in range(args.runs):
            runs.append(run_once(args, d))
            print(f"run {i + 1}: " + ", ".join(
                f"{k} {v['mib_s']:.0f} MiB/s {v['cpu_ms_per_mib']:.2f} ms CPU/MiB"
                for k, v in sorted(runs[-1].items())), flush=True)
    med = {d: {k: statistics.median(r[d][k] for r in runs) for k in runs[0][d]}
           for d in ("g2h", "h2g")}
    qemu = ("not measured: /dev/vhost-vsock is absent on this host, so QEMU's "
            "vhost-vsock-device cannot run" if not os.path.exists("/dev/vhost-vsock")
            else "not measured by this script")
    for d, v in med.items():
        print(f"median {d}: {v['mib_s']:.0f} MiB/s, host CPU {v['cpu_ms_per_mib']:.2f} ms/MiB "
              f"(VMM without vCPU {v['vmm_cpu_ms_per_mib']:.2f} ms/MiB)")
    print(f"QEMU: {qemu}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                       "host": platform.node(), "mib_per_direction": args.mib,
                       "runs": runs, "median": med, "qemu": qemu}, f, indent=1)


if __name__ == "__main__":
    main()
