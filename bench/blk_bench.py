#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Block I/O benchmark: kiln against QEMU microvm on the same virtio-blk workload.

Both VMMs boot build/testguest.elf with ``ktest=blkbench`` (kernel/testguest/
test_blkbench.c) and one virtio-blk-device backed by the same raw image. The guest
runs four phases: 4 KiB random reads at queue depth 1 and D, 64 KiB sequential
writes at depth 1 and D, each N requests, and prints a ``blkbench begin`` line
before and a ``blkbench end`` line after each phase. This script reads the serial
console through a pipe, time-stamps those lines (CLOCK_MONOTONIC) and, at each,
samples the CPU time of every thread of the VMM process
(/proc/PID/task/TID/schedstat: nanoseconds on CPU, guest mode included), so the
boot is outside every measured window. Per phase:

  requests/s      N / (wall time between the begin and end lines)
  CPU/request     sum over all VMM threads of the CPU-time delta / N
  VMM CPU/req     the same without the vCPU thread(s) (kiln_vcpu*, "CPU n/KVM"):
                  device emulation, event loops, I/O worker threads
  guest req/s     N / (guest TSC ticks of the phase / TSC rate fitted per run)

Runs alternate kiln, qemu, kiln, ... (medians over --runs). --mode direct gives
both VMMs O_DIRECT (kiln ``--drive IMG,direct``, QEMU ``cache=none,aio=native``);
--mode buffered the host page cache (kiln's default, QEMU ``cache=writeback,
aio=threads``). --engine async serves kiln's drive with its io_uring engine
(``,aio=io_uring``; results stored under ``<mode>-async``). The image is filled with pseudo-random data first so that reads
hit allocated blocks.
"""
import argparse
import datetime
import json
import os
import platform
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = [("randread", 1), ("randread", "D"), ("seqwrite", 1), ("seqwrite", "D")]


def add_kiln_args(ap, build):
    """--kiln and --kiln-huge-pages, shared with the other VMM-against-QEMU benches."""
    ap.add_argument("--kiln", default=os.path.join(build, "kiln"))
    ap.add_argument("--kiln-huge-pages", default="Transparent",
                    choices=["None", "Transparent", "2M"],
                    help="kiln's guest RAM backing (default Transparent: QEMU madvises its RAM "
                         "MADV_HUGEPAGE, so both VMMs pin and walk the same kind of pages)")


def task_cpu(pid):
    """{tid: (comm, ns on CPU)} for every live thread of @pid."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
        except (OSError, ValueError, IndexError):
            continue
        out[tid] = (comm, ns)
    return out


def proc_ticks(pid):
    """utime + stime of the whole process (dead threads included), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def is_vcpu(comm):
    return comm.startswith("kiln_vcpu") or (comm.startswith("CPU ") and "KVM" in comm)


def cpu_delta(a, b):
    """(total, vcpu) seconds between two task_cpu() samples; threads born between count from 0."""
    total = vcpu = 0
    for tid, (comm, ns) in b.items():
        d = ns - a.get(tid, (comm, 0))[1]
        total += d
        if is_vcpu(comm):
            vcpu += d
    return total / 1e9, vcpu / 1e9


def make_image(path, mib):
    if os.path.exists(path) and os.path.getsize(path) == mib << 20:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    chunk = bytearray()
    x = 0x9E3779B97F4A7C15
    for _ in range(1 << 17):  # 1 MiB of xorshift data, shifted per MiB below
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        chunk += x.to_bytes(8, "little")
    with open(path + ".tmp", "wb") as f:
        for i in range(mib):
            f.write(chunk[i % 4096:] + chunk[:i % 4096])
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".tmp", path)


def vmm_commands(args, image):
    boot = (f"ktest=blkbench ktest.bb_reads={args.reads} ktest.bb_writes={args.writes} "
            f"ktest.bb_reads_deep={args.reads_deep} ktest.bb_writes_deep={args.writes_deep} "
            f"ktest.bb_depth={args.depth}" + (" ktest.bb_irq=1" if args.irq else ""))
    kdrive = image + (",direct" if args.mode == "direct" else "")
    if args.engine == "async":
        kdrive += ",aio=io_uring"
    kiln = [args.kiln, "--kernel", args.kernel, "--mem-mib", "128", "--huge-pages",
                args.kiln_huge_pages, "--vcpus", "1",
            "--drive", kdrive, "--boot-args", boot]
    cache = "cache=none,aio=native" if args.mode == "direct" else "cache=writeback,aio=threads"
    qemu = [args.qemu, "-M", "microvm,acpi=off", "-enable-kvm", "-cpu", args.qemu_cpu,
            "-m", "128", "-smp", "1", "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "stdio", "-name", "blkbench,debug-threads=on", "-device", "i8042", "-global", "virtio-mmio.force-legacy=false",
            "-drive", f"id=d0,file={image},format=raw,if=none,discard=unmap,{cache}",
            "-device", "virtio-blk-device,drive=d0", "-kernel", args.kernel,
            "-append", boot, "-no-reboot"]
    return {"kiln": kiln, "qemu": qemu}


def parse_kv(text):
    return dict(t.split("=", 1) for t in text.split() if "=" in t)


def run_once(cmd, args):
    """Boot once; per-phase measurements, or raises RuntimeError with the console tail."""
    prefix = []
    if args.fifo:
        prefix = ["chrt", "-f", str(args.fifo)]
    elif args.nice:
        prefix = ["nice", "-n", str(args.nice)]
    rfd, wfd = os.pipe()
    t_spawn = time.monotonic()
    p = subprocess.Popen(prefix + cmd, stdin=rfd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.close(rfd)
    pid = p.pid
    buf = b""
    lines = []
    phases = []
    cur = None
    deadline = t_spawn + args.timeout
    out_fd, err_fd = p.stdout.fileno(), p.stderr.fileno()
    err = b""
    open_fds = {out_fd, err_fd}
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("timeout")
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    open_fds.discard(fd)
                    continue
                if fd == err_fd:
                    err += data
                    continue
                now = time.monotonic()
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode(errors="replace").rstrip("\r")
                    lines.append(line)
                    if line.startswith("KTEST-INFO blkbench begin "):
                        cur = {"t0": now, "cpu0": task_cpu(pid), "ticks0": proc_ticks(pid),
                               **parse_kv(line)}
                    elif line == "KTEST-INFO blkbench end" and cur is not None:
                        cur.update(t1=now, cpu1=task_cpu(pid), ticks1=proc_ticks(pid))
                    elif line.startswith("KTEST-INFO blkbench result ") and cur is not None:
                        cur.update({"result": parse_kv(line)})
                        phases.append(cur)
                        cur = None
        _, status, ru = os.wait4(pid, 0)
    except BaseException:
        p.kill()
        p.wait()
        raise
    finally:
        os.close(wfd)
    fails = [l for l in lines if l.startswith("KTEST ") and " FAIL" in l]
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or fails or "KTEST DONE" not in lines or len(phases) != len(PHASES):
        raise RuntimeError(f"exit {code}, {len(phases)} phases, fails {fails}\n"
                           + "\n".join(lines[-15:]) + "\n" + err.decode(errors="replace")[-1500:])
    # Guest TSC rate: from the first phase's start to the last phase's end.
    f, l = phases[0], phases[-1]
    tsc_hz = ((int(l["result"]["tsc_end"]) - int(f["result"]["tsc_begin"]))
              / (l["t1"] - f["t0"]))
    out = []
    for ph in phases:
        n = int(ph["n"])
        wall = ph["t1"] - ph["t0"]
        total, vcpu = cpu_delta(ph["cpu0"], ph["cpu1"])
        ticks = (ph["ticks1"] - ph["ticks0"]) if ph["ticks0"] is not None else None
        out.append({
            "op": ph["op"], "depth": int(ph["depth"]), "bs": int(ph["bs"]), "n": n,
            "wall_s": wall, "req_per_s": n / wall,
            "guest_req_per_s": n / (int(ph["result"]["tsc"]) / tsc_hz),
            "cpu_s": total, "vcpu_s": vcpu, "vmm_cpu_s": total - vcpu,
            "cpu_us_per_req": total / n * 1e6,
            "vmm_cpu_us_per_req": (total - vcpu) / n * 1e6,
            "stat_cpu_us_per_req": None if ticks is None else ticks / n * 1e6,
            "cpu_util": total / wall,
        })
    return {"phases": out, "tsc_hz": tsc_hz,
            "rusage_cpu_s": ru.ru_utime + ru.ru_stime,
            "total_s": time.monotonic() - t_spawn}


def key(ph):
    return f"{ph['op']}_qd{ph['depth']}"


METRICS = ["req_per_s", "cpu_us_per_req", "vmm_cpu_us_per_req", "guest_req_per_s",
           "stat_cpu_us_per_req", "cpu_util"]


def summarize(runs):
    per = {}
    for r in runs:
        for ph in r["phases"]:
            per.setdefault(key(ph), []).append(ph)
    out = {}
    for k, phs in per.items():
        out[k] = {"n_runs": len(phs), "requests": phs[0]["n"]}
        for m in METRICS:
            vals = sorted(p[m] for p in phs if p[m] is not None)
            if vals:
                out[k][m] = {"median": round(statistics.median(vals), 3),
                             "min": round(vals[0], 3), "max": round(vals[-1], 3)}
    return out


def table(summary, vmms, markdown):
    rows = []
    hdr = ["workload"]
    for v in vmms:
        hdr += [f"{v} req/s", f"{v} CPU µs/req", f"{v} VMM-thread µs/req"]
    if len(vmms) == 2:
        hdr += ["req/s kiln/QEMU", "CPU/req kiln/QEMU", "VMM-thread CPU kiln/QEMU"]
    rows.append(hdr)
    for k in summary[vmms[0]]:
        row = [k]
        for v in vmms:
            s = summary[v].get(k, {})
            row += [f"{s['req_per_s']['median']:.0f}", f"{s['cpu_us_per_req']['median']:.1f}",
                    f"{s['vmm_cpu_us_per_req']['median']:.1f}"]
        if len(vmms) == 2:
            a, b = summary["kiln"][k], summary["qemu"][k]
            row += [f"{a['req_per_s']['median'] / b['req_per_s']['median']:.2f}",
                    f"{a['cpu_us_per_req']['median'] / b['cpu_us_per_req']['median']:.2f}",
                    f"{a['vmm_cpu_us_per_req']['median'] / b['vmm_cpu_us_per_req']['median']:.2f}"]
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)


def main():
    build = os.environ.get("KILN_BUILD", os.path.join(REPO, "build"))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="boots per VMM (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured boots per VMM first")
    ap.add_argument("--mode", choices=["buffered", "direct"], default="buffered")
    ap.add_argument("--engine", choices=["sync", "async"], default="sync",
                    help="kiln's io_engine: sync (preadv/pwritev) or async (io_uring)")
    ap.add_argument("--irq", action="store_true",
                    help="the guest waits for the used-ring interrupt (halted) instead of "
                         "polling (ktest.bb_irq=1; results under <mode>[-async]-irq)")
    ap.add_argument("--reads", type=int, default=10000, help="4 KiB reads at depth 1")
    ap.add_argument("--reads-deep", type=int, default=60000, help="4 KiB reads at depth D")
    ap.add_argument("--writes", type=int, default=4000, help="64 KiB writes at depth 1")
    ap.add_argument("--writes-deep", type=int, default=16000, help="64 KiB writes at depth D")
    ap.add_argument("--depth", type=int, default=32, help="the deep queue depth (1-32)")
    ap.add_argument("--image-mib", type=int, default=256)
    ap.add_argument("--image", default=os.path.join(build, "bench", "blk.img"))
    add_kiln_args(ap, build)
    ap.add_argument("--kernel", default=os.path.join(build, "testguest.elf"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host,-arch-capabilities")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per boot")
    ap.add_argument("--nice", type=int, default=0, help="both VMMs under nice -n N")
    ap.add_argument("--fifo", type=int, default=0, metavar="PRIO",
                    help="both VMMs under chrt -f PRIO")
    ap.add_argument("--only", choices=["kiln", "qemu"])
    ap.add_argument("--out", help="write the JSON results here")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    if not os.path.exists("/dev/kvm"):
        sys.exit("blk_bench: /dev/kvm is absent")
    if not os.path.exists(args.kernel):
        sys.exit(f"blk_bench: no guest image {args.kernel} (run `make testguest`)")
    make_image(args.image, args.image_mib)
    cmds = vmm_commands(args, args.image)
    vmms = [args.only] if args.only else ["kiln", "qemu"]
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = {v: [] for v in vmms}
    invalid = {v: [] for v in vmms}

    for i in range(args.warmup + args.runs):
        # Interleaved; the VMM that goes first alternates too.
        order = vmms if i % 2 == 0 else vmms[::-1]
        for v in order:
            try:
                r = run_once(cmds[v], args)
            except RuntimeError as e:
                print(f"blk_bench: invalid {v} run: {e}", file=sys.stderr)
                invalid[v].append(str(e)[:2000])
                continue
            if i >= args.warmup:
                runs[v].append(r)
                print(f"blk_bench: {v} run {i - args.warmup + 1}: " + ", ".join(
                    f"{key(p)} {p['req_per_s']:.0f}/s {p['cpu_us_per_req']:.1f}us"
                    for p in r["phases"]), file=sys.stderr)

    summary = {v: summarize(runs[v]) for v in vmms}
    print(f"blk_bench: mode {args.mode}, kiln engine {args.engine}, {args.runs} runs per VMM (interleaved, medians), "
          f"4 KiB reads {args.reads}/{args.reads_deep}, 64 KiB writes {args.writes}/"
          f"{args.writes_deep} at depths 1/{args.depth}, "
          f"image {args.image_mib} MiB; load before {load_before[0]}")
    print(table(summary, vmms, False))
    if args.markdown:
        print()
        print(table(summary, vmms, True))
    ratios = {}
    if len(vmms) == 2:
        for k in summary["kiln"]:
            a, b = summary["kiln"][k], summary["qemu"].get(k)
            if not b:
                continue
            ratios[k] = {m: round(a[m]["median"] / b[m]["median"], 3)
                         for m in ("req_per_s", "cpu_us_per_req", "vmm_cpu_us_per_req")}
        ratios["targets"] = {k: {"cpu_per_req_le_0.5": r["cpu_us_per_req"] <= 0.5,
                                 "req_per_s_ge_1": r["req_per_s"] >= 1.0}
                             for k, r in ratios.items()}
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                 "loadavg_before": load_before,
                 "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "mode": args.mode, "engine": args.engine, "irq": args.irq, "runs": args.runs,
        "warmup": args.warmup,
        "reads": args.reads, "reads_deep": args.reads_deep, "writes": args.writes,
        "writes_deep": args.writes_deep, "depth": args.depth,
        "image_mib": args.image_mib, "nice": args.nice, "fifo": args.fifo,
        "commands": {v: " ".join(shlex.quote(a) for a in cmds[v]) for v in vmms},
        "summary": summary, "ratios_kiln_over_qemu": ratios,
        "invalid_runs": invalid, "raw": runs,
    }
    if args.out:
        old = {}
        if os.path.exists(args.out):
            try:
                with open(args.out) as f:
                    old = json.load(f)
            except (OSError, ValueError):
                old = {}
        if not isinstance(old, dict) or "modes" not in old:
            old = {"modes": {}}
        mode_key = (args.mode + ("-async" if args.engine == "async" else "")
                    + ("-irq" if args.irq else ""))
        old["modes"][mode_key] = result
        with open(args.out, "w") as f:
            json.dump(old, f, indent=1)
            f.write("\n")
        print(f"wrote {args.out} (mode {mode_key})")
    return 1 if any(invalid.values()) else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
