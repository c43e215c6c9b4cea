#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""virtio-net benchmark: kiln against QEMU microvm (virtio-net-device on a tap,
no vhost) on the same workload, in a network namespace of its own per boot.

Both VMMs boot build/testguest.elf with ``ktest=netbench`` (kernel/testguest/
test_netbench.c) and one virtio-net device on a tap that the script creates
(``ip tuntap add ... vnet_hdr``, up) in a fresh namespace. Per frame size the
guest runs two phases of N frames:

  tx  guest -> host: the guest keeps its 256-entry TX ring full; the frames
      end in the host kernel (unknown EtherType, dropped after the tap).
  rx  host -> guest: bench/net_blast (built here) floods the tap from inside
      the namespace with AF_PACKET sendmmsg; the guest counts N frames from
      the first one; what the tap's queue cannot hold the kernel drops.

The serial console is read through a pipe; at the guest's ``begin`` and ``end``
lines the CPU time of every VMM thread is sampled (/proc/PID/task/*/schedstat,
guest mode included; the blaster is not counted), so boots are outside every
window. Per phase: frames/s = N / wall time between the lines; CPU µs/frame =
VMM CPU delta / N (all threads) and without the vCPU thread(s). Runs alternate
kiln, qemu, kiln, ...; medians over --runs.
"""
import argparse
import datetime
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blk_bench import add_kiln_args, cpu_delta, task_cpu  # noqa: E402  (same CPU accounting)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAC = "02:4b:49:4c:4e:01"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def build_blaster(build):
    out = os.path.join(build, "bench", "net_blast")
    src = os.path.join(REPO, "bench", "net_blast.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", out, src], check=True)
    return out


def vmm_command(vmm, args, tap, size):
    boot = (f"ktest=netbench ktest.nb_size={size} ktest.nb_frames={args.frames} "
            f"ktest.nb_dir={args.dir}")
    if vmm == "kiln":
        return [args.kiln, "--kernel", args.kernel, "--mem-mib", "128", "--huge-pages",
                args.kiln_huge_pages, "--vcpus", "1",
                "--net", f"{tap},mac={MAC}", "--boot-args", boot]
    return [args.qemu, "-M", "microvm,acpi=off", "-enable-kvm", "-cpu", args.qemu_cpu,
            "-m", "128", "-smp", "1", "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "stdio", "-name", "netbench,debug-threads=on", "-device", "i8042",
            "-global", "virtio-mmio.force-legacy=false",
            "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
            "-device", f"virtio-net-device,netdev=n0,mac={MAC}",
            "-kernel", args.kernel, "-append", boot, "-no-reboot"]


def parse_kv(text):
    return dict(t.split("=", 1) for t in text.split() if "=" in t)


def run_once(vmm, args, size, blaster):
    """One boot in a fresh namespace; {dir: measurements} or RuntimeError."""
    ns = f"nb{os.getpid()}{uuid.uuid4().hex[:6]}"
    tap = "nbt" + uuid.uuid4().hex[:8]
    sh("ip", "netns", "add", ns)
    blast = None
    p = None
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "tuntap", "add", tap, "mode", "tap", "vnet_hdr")
        sh("ip", "-n", ns, "link", "set", tap, "up")
        rfd, wfd = os.pipe()
        # `ip netns exec` execs the VMM: the pid is the VMM's.
        p = subprocess.Popen(["ip", "netns", "exec", ns] + vmm_command(vmm, args, tap, size),
                             stdin=rfd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(rfd)
        phases, lines, cur = {}, [], None
        buf, err = b"", b""
        deadline = time.monotonic() + args.timeout
        fds = {p.stdout.fileno(), p.stderr.fileno()}
        while fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("timeout\n" + "\n".join(lines[-10:]))
            for fd in select.select(list(fds), [], [], left)[0]:
                data = os.read(fd, 65536)
                if not data:
                    fds.discard(fd)
                    continue
                if fd == p.stderr.fileno():
                    err += data
                    continue
                now = time.monotonic()
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode(errors="replace").rstrip("\r")
                    lines.append(line)
                    if line == "KTEST-INFO netbench ready dir=rx":
                        blast = subprocess.Popen(["ip", "netns", "exec", ns, blaster, tap,
                                                  str(size)])
                    elif line.startswith("KTEST-INFO netbench begin "):
                        cur = {"t0": now, "cpu0": task_cpu(p.pid), **parse_kv(line)}
                    elif line.startswith("KTEST-INFO netbench end") and cur:
                        cur.update(t1=now, cpu1=task_cpu(p.pid))
                        phases[cur["dir"]] = cur
                        cur = None
                        if blast:
                            blast.kill()
        p.wait()
        os.close(wfd)
    finally:
        if blast:
            blast.kill()
            blast.wait()
        if p and p.poll() is None:
            p.kill()
            p.wait()
        sh("ip", "netns", "del", ns, check=False)
    fails = [l for l in lines if l.startswith("KTEST ") and " FAIL" in l]
    want = ["tx", "rx"] if args.dir == "both" else [args.dir]
    if fails or sorted(phases) != sorted(want):
        raise RuntimeError(f"fails {fails}, phases {sorted(phases)}\n" + "\n".join(lines[-10:])
                           + "\n" + err.decode(errors="replace")[-800:])
    out = {}
    for d, ph in phases.items():
        n = int(ph["n"])
        wall = ph["t1"] - ph["t0"]
        total, vcpu = cpu_delta(ph["cpu0"], ph["cpu1"])
        out[d] = {"frames_per_s": n / wall, "cpu_us_per_frame": total / n * 1e6,
                  "vmm_cpu_us_per_frame": (total - vcpu) / n * 1e6, "wall_s": wall, "n": n}
    return out


def median(vals):
    return round(statistics.median(vals), 3) if vals else None


def main():
    build = os.environ.get("KILN_BUILD", os.path.join(REPO, "build"))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="boots per VMM and size (default 5)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--frames", type=int, default=100000, help="frames per phase")
    ap.add_argument("--sizes", default="64,1500", help="frame sizes (bytes, no vnet header)")
    ap.add_argument("--dir", choices=["tx", "rx", "both"], default="both")
    add_kiln_args(ap, build)
    ap.add_argument("--kernel", default=os.path.join(build, "testguest.elf"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host,-arch-capabilities")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per boot")
    ap.add_argument("--only", choices=["kiln", "qemu"])
    ap.add_argument("--out", help="write the JSON results here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("net_bench: needs root (network namespaces, taps)")
    blaster = build_blaster(build)
    vmms = [args.only] if args.only else ["kiln", "qemu"]
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = {v: {s: [] for s in sizes} for v in vmms}
    for size in sizes:
        for i in range(args.warmup + args.runs):
            for v in (vmms if i % 2 == 0 else vmms[::-1]):
                try:
                    r = run_once(v, args, size, blaster)
                except RuntimeError as e:
                    print(f"net_bench: invalid {v} run: {e}", file=sys.stderr)
                    continue
                if i >= args.warmup:
                    runs[v][size].append(r)
                    print(f"net_bench: {v} {size}B run {i - args.warmup + 1}: " + ", ".join(
                        f"{d} {m['frames_per_s']:.0f}/s {m['cpu_us_per_frame']:.2f}us"
                        for d, m in sorted(r.items())), file=sys.stderr)
    summary = {}
    for v in vmms:
        for size in sizes:
            for d in (["tx", "rx"] if args.dir == "both" else [args.dir]):
                rs = [r[d] for r in runs[v][size] if d in r]
                summary.setdefault(v, {})[f"{d}_{size}"] = {
                    k: median([r[k] for r in rs])
                    for k in ("frames_per_s", "cpu_us_per_frame", "vmm_cpu_us_per_frame")
                } | {"n_runs": len(rs)}
    rows = ["| phase | kiln frames/s | QEMU frames/s | kiln/QEMU | kiln CPU µs/frame | "
            "QEMU CPU µs/frame | kiln/QEMU | kiln VMM-thread µs | QEMU VMM-thread µs |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    if len(vmms) == 2:
        for k in summary["kiln"]:
            a, b = summary["kiln"][k], summary["qemu"][k]
            if not a["frames_per_s"] or not b["frames_per_s"]:
                continue
            rows.append(f"| {k} | {a['frames_per_s']:.0f} | {b['frames_per_s']:.0f} | "
                        f"{a['frames_per_s'] / b['frames_per_s']:.2f} | "
                        f"{a['cpu_us_per_frame']:.2f} | {b['cpu_us_per_frame']:.2f} | "
                        f"{a['cpu_us_per_frame'] / b['cpu_us_per_frame']:.2f} | "
                        f"{a['vmm_cpu_us_per_frame']:.2f} | {b['vmm_cpu_us_per_frame']:.2f} |")
    print("\n".join(rows))
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args), "summary": summary, "runs": runs,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
