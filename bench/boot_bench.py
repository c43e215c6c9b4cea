#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot benchmark: kiln vs qemu-system-x86_64 -M microvm on the same test guest.

Both VMMs boot build/testguest.elf (PVH entry) with the same command line
(default ``ktest=serial``): the guest prints ``KTEST BOOT pvh``, runs the test,
prints ``KTEST DONE`` and resets through the i8042, which ends the VMM process.

Each run is one fork+exec from bench/spawn_timer.c (built here with gcc into
build/bench/), which time-stamps the pipe reads with CLOCK_MONOTONIC and takes
CPU time and peak RSS from wait4(). Runs are interleaved (kiln, qemu, kiln, ...)
so that drift on the host affects both alike. Memory is measured in separate
runs that SIGSTOP the VMM at its first KTEST line and read /proc/PID/status
(VmHWM) and /proc/PID/smaps (Rss of the guest-RAM mapping). See
docs/PERFORMANCE.md.

    /usr/bin/python3 bench/boot_bench.py [--runs 10] [--mem-runs 5] [--out FILE]
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Issue targets for kiln (first serial line, CPU time, RSS overhead).
TARGETS = {"first_ktest_ms": 4.0, "cpu_ms": 2.0, "rss_overhead_mib": 1.5}

METRICS = [
    # key, label, unit
    ("first_ktest_ms", "spawn -> first KTEST line", "ms"),
    ("done_ms", "spawn -> KTEST DONE", "ms"),
    ("exit_ms", "spawn -> exit after guest reset", "ms"),
    ("cpu_ms", "CPU time (user+sys)", "ms"),
    ("user_ms", "  user", "ms"),
    ("sys_ms", "  sys", "ms"),
    ("rss_overhead_mib", "VmHWM - guest-RAM Rss", "MiB"),
    ("rss_now_overhead_mib", "VmRSS - guest-RAM Rss", "MiB"),
    ("pss_overhead_mib", "Pss outside guest RAM", "MiB"),
    ("private_overhead_mib", "private (USS) outside guest RAM", "MiB"),
    ("guest_rss_mib", "guest-RAM Rss", "MiB"),
    ("maxrss_mib", "ru_maxrss (incl. guest RAM)", "MiB"),
]


def build_spawn_timer(build_dir):
    src = os.path.join(REPO, "bench", "spawn_timer.c")
    out = os.path.join(build_dir, "bench", "spawn_timer")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
           "-o", out, src]
    subprocess.run(cmd, check=True)
    return out


def vmm_commands(args):
    kiln = [args.kiln, "--kernel", args.kernel, "--mem-mib", str(args.mem_mib),
            "--vcpus", "1", "--boot-args", args.boot_args]
    qemu = [args.qemu, "-M", "microvm", "-enable-kvm", "-cpu", args.qemu_cpu,
            "-m", str(args.mem_mib), "-smp", "1", "-nodefaults", "-no-user-config",
            "-nographic", "-serial", "stdio"]
    if args.qemu_i8042:
        qemu += ["-device", "i8042"]
    qemu += ["-kernel", args.kernel, "-append", args.boot_args, "-no-reboot"]
    return {"kiln": kiln, "qemu": qemu}


def run_once(timer, cmd, mem_mib, timeout_ms, memory, nice=0, fifo=0):
    argv = ["nice", "-n", str(nice)] if nice else []
    if fifo:
        argv = ["chrt", "-f", str(fifo)]
    argv += [timer, "--timeout-ms", str(timeout_ms)]
    if memory:
        argv += ["--stop-at-first", str(mem_mib)]
    p = subprocess.run(argv + ["--"] + cmd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("spawn_timer failed: " + p.stderr)
    r = json.loads(p.stdout)
    r["stderr"] = p.stderr[-2000:]
    ok = (r["exited"] and r["exit_code"] == 0 and not r["timed_out"]
          and r["first_ktest_ns"] >= 0 and r["done_ns"] >= 0 and r["fail_lines"] == 0)
    if memory:
        ok = ok and r["mem_ok"]
    r["valid"] = bool(ok)
    return r


def derive(r, memory):
    """Per-run metrics in ms / MiB from one spawn_timer result."""
    if memory:
        return {
            "rss_overhead_mib": (r["hwm_kib"] - r["guest_rss_kib"]) / 1024.0,
            "rss_now_overhead_mib": (r["rss_kib"] - r["guest_rss_kib"]) / 1024.0,
            "guest_rss_mib": r["guest_rss_kib"] / 1024.0,
            "pss_overhead_mib": r["pss_kib"] / 1024.0,
            "private_overhead_mib": r["private_kib"] / 1024.0,
        }
    return {
        "first_ktest_ms": r["first_ktest_ns"] / 1e6,
        "done_ms": r["done_ns"] / 1e6,
        "exit_ms": r["exit_ns"] / 1e6,
        "cpu_ms": (r["utime_us"] + r["stime_us"]) / 1e3,
        "user_ms": r["utime_us"] / 1e3,
        "sys_ms": r["stime_us"] / 1e3,
        "maxrss_mib": r["maxrss_kib"] / 1024.0,
    }


def summarize(samples):
    out = {}
    keys = sorted({k for s in samples for k in s})
    for k in keys:
        vals = sorted(s[k] for s in samples if k in s)
        if not vals:
            continue
        out[k] = {"median": round(statistics.median(vals), 3), "min": round(vals[0], 3),
                  "max": round(vals[-1], 3), "n": len(vals)}
    return out


def fmt(v):
    return "-" if v is None else f"{v:.2f}"


def print_table(summary, vmms):
    hdr = f"{'metric (median)':38s}" + "".join(f"{v:>12s}" for v in vmms)
    if len(vmms) == 2:
        hdr += f"{'kiln/qemu':>11s}{'target':>9s}"
    print(hdr)
    print("-" * len(hdr))
    for key, label, unit in METRICS:
        meds = [summary.get(v, {}).get(key, {}).get("median") for v in vmms]
        if all(m is None for m in meds):
            continue
        line = f"{label + ' (' + unit + ')':38s}" + "".join(f"{fmt(m):>12s}" for m in meds)
        if len(vmms) == 2:
            ratio = meds[0] / meds[1] if None not in meds and meds[1] else None
            line += f"{fmt(ratio):>11s}"
            line += f"{TARGETS[key]:>9.1f}" if key in TARGETS else ""
        print(line)


def markdown_table(summary, vmms):
    rows = ["| metric (median) | " + " | ".join(vmms) + (" | kiln/qemu | target |"
                                                     if len(vmms) == 2 else " |"),
            "|---|" + "---:|" * len(vmms) + ("---:|---:|" if len(vmms) == 2 else "")]
    for key, label, unit in METRICS:
        meds = [summary.get(v, {}).get(key, {}).get("median") for v in vmms]
        if all(m is None for m in meds):
            continue
        row = f"| {label.strip()} ({unit}) | " + " | ".join(fmt(m) for m in meds) + " |"
        if len(vmms) == 2:
            ratio = meds[0] / meds[1] if None not in meds and meds[1] else None
            row += f" {fmt(ratio)} | " + (f"<= {TARGETS[key]}" if key in TARGETS else "") + " |"
        rows.append(row)
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    build = os.environ.get("KILN_BUILD", os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=10, help="timing runs per VMM (default 10)")
    ap.add_argument("--mem-runs", type=int, default=5,
                    help="memory runs per VMM, SIGSTOP at first line (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs per VMM first")
    ap.add_argument("--kiln", default=os.path.join(build, "kiln"))
    ap.add_argument("--kernel", default=os.path.join(build, "testguest.elf"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host,-arch-capabilities",
                    help="QEMU -cpu (plain 'host' aborts on this KVM back end: MSR 0x10a)")
    ap.add_argument("--no-qemu-i8042", dest="qemu_i8042", action="store_false",
                    help="do not add -device i8042 (microvm has none; without it the "
                         "guest's reset does not end QEMU)")
    ap.add_argument("--boot-args", default="ktest=serial")
    ap.add_argument("--mem-mib", type=int, default=128)
    ap.add_argument("--timeout-ms", type=int, default=10000)
    ap.add_argument("--nice", type=int, default=0,
                    help="run both VMMs under nice -n N (e.g. -10 as root on a busy host)")
    ap.add_argument("--fifo", type=int, default=0, metavar="PRIO",
                    help="run both VMMs under chrt -f PRIO (SCHED_FIFO, root): measures "
                         "them as on an idle host when other jobs load every CPU")
    ap.add_argument("--only", choices=["kiln", "qemu"], help="benchmark one VMM only")
    ap.add_argument("--out", help="write the JSON results here")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = ap.parse_args()

    if not os.path.exists("/dev/kvm"):
        sys.exit("boot_bench: /dev/kvm is absent")
    if not os.path.exists(args.kernel):
        sys.exit(f"boot_bench: no guest image {args.kernel} (run `make testguest`)")
    cmds = vmm_commands(args)
    vmms = ["kiln", "qemu"]
    if args.only:
        vmms = [args.only]
    missing = [v for v in vmms if not (os.path.exists(cmds[v][0]) or shutil.which(cmds[v][0]))]
    if missing:
        sys.exit(f"boot_bench: missing VMM binary for {', '.join(missing)}")
    timer = build_spawn_timer(build)
    load_before = [round(x, 2) for x in os.getloadavg()]

    raw = {v: {"timing": [], "memory": []} for v in vmms}
    samples = {v: [] for v in vmms}
    invalid = {v: 0 for v in vmms}

    def one(v, memory):
        r = run_once(timer, cmds[v], args.mem_mib, args.timeout_ms, memory, args.nice,
                     args.fifo)
        raw[v]["memory" if memory else "timing"].append(
            {k: r[k] for k in r if k != "stderr"})
        if r["valid"]:
            samples[v].append(derive(r, memory))
        else:
            invalid[v] += 1
            print(f"boot_bench: invalid {v} run: {json.dumps(r)}", file=sys.stderr)

    for _ in range(args.warmup):
        for v in vmms:
            run_once(timer, cmds[v], args.mem_mib, args.timeout_ms, False, args.nice, args.fifo)
    for _ in range(args.runs):
        for v in vmms:
            one(v, False)
    for _ in range(args.mem_runs):
        for v in vmms:
            one(v, True)

    summary = {v: summarize(samples[v]) for v in vmms}
    ratios = {}
    if len(vmms) == 2:
        for key, _, _ in METRICS:
            a = summary["kiln"].get(key, {}).get("median")
            b = summary["qemu"].get(key, {}).get("median")
            if a is not None and b:
                ratios[key] = round(a / b, 4)
    targets_met = {}
    if "kiln" in summary:
        for key, lim in TARGETS.items():
            m = summary["kiln"].get(key, {}).get("median")
            targets_met[key] = None if m is None else m <= lim

    print(f"boot_bench: {args.runs} timing + {args.mem_runs} memory runs per VMM, "
          f"interleaved; guest {os.path.relpath(args.kernel, REPO)} '{args.boot_args}'; "
          f"load average before {load_before[0]}, nice {args.nice}, fifo {args.fifo}")
    print_table(summary, vmms)
    if args.markdown:
        print()
        print(markdown_table(summary, vmms))
    if any(invalid.values()):
        print(f"invalid runs (excluded): {invalid}")

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": {"kernel": platform.release(), "machine": platform.machine(),
                 "cpus": os.cpu_count(), "loadavg_before": load_before,
                 "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "nice": args.nice, "fifo": args.fifo,
        "runs": args.runs, "mem_runs": args.mem_runs, "warmup": args.warmup,
        "guest": os.path.relpath(args.kernel, REPO), "boot_args": args.boot_args,
        "mem_mib": args.mem_mib,
        "commands": {v: " ".join(shlex.quote(os.path.relpath(a, REPO) if a.startswith(REPO + "/")
                                             else a) for a in cmds[v]) for v in vmms},
        "medians": {v: {k: s["median"] for k, s in summary[v].items()} for v in vmms},
        "summary": summary,
        "ratios_kiln_over_qemu": ratios,
        "targets": TARGETS,
        "kiln_targets_met": targets_met,
        "invalid_runs": invalid,
        "raw": raw,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print(f"wrote {args.out}")
    return 0 if not any(invalid.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
