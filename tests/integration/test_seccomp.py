"""Seccomp (issue 5 item 2, SECURITY.md "Seccomp").

- build/tests/seccomp_check installs each real policy (stacked as kiln stacks
  them) and proves allowed calls survive and forbidden ones die by SIGSYS.
- A running kiln has every thread filtered: `Seccomp: 2` and two stacked
  filters (preboot + runtime on the main thread, preboot + vcpu on each vCPU).
- build/kiln-selftest (a test-only build, never shipped) makes a forbidden
  syscall on the thread named by --seccomp-selftest and must end with exit 148
  and the log line.
"""
import os
import re
import select
import subprocess
import time

import pytest

from conftest import guest_args

KILN_EXIT_SECCOMP = 148
SYS_PTRACE = 101
# Firecracker x86_64 allow-lists (vmm, api, vcpu): kiln's must be smaller.
FIRECRACKER_VMM, FIRECRACKER_API, FIRECRACKER_VCPU = 50, 31, 27


def _tool(build_dir, name):
    path = os.path.join(build_dir, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} missing: run `make`")
    return path


def test_seccomp_policies_allow_listed_calls_and_kill_the_rest(build_dir, tmp_path):
    r = subprocess.run([_tool(build_dir, "tests/seccomp_check")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "0 failure(s)" in r.stdout, r.stdout + r.stderr
    assert "FAIL" not in r.stdout


def test_seccomp_counts_are_below_firecracker(build_dir):
    r = subprocess.run([_tool(build_dir, "tests/seccomp_check"), "counts"],
                       capture_output=True, text=True, timeout=10, check=True)
    counts = {k: int(v) for k, v in (l.split() for l in r.stdout.splitlines())}
    assert counts["vcpu"] < FIRECRACKER_VCPU, counts
    assert counts["runtime"] < FIRECRACKER_VMM, counts
    # preboot serves the API *and* builds the VM (vsock binds its socket there): Firecracker
    # does the first with vmm + api filters and the second with none (SECURITY.md).
    assert counts["preboot"] < FIRECRACKER_VMM + FIRECRACKER_API, counts
    assert counts["runtime"] < counts["preboot"], counts
    # startup (until the API socket listens, before any untrusted byte) = preboot + set-up rows.
    assert counts["preboot"] < counts["startup"], counts


def _wait_for_line(proc, needle, timeout=20):
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if needle in buf:
                return True
    return False


def _task_status(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            fields = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            name = f.read().strip()
        out[tid] = (name, fields["Seccomp"].strip(), fields.get("Seccomp_filters", "").strip())
    return out


def test_seccomp_every_thread_of_a_running_kiln_is_filtered(start_kiln, guest):
    p = start_kiln(guest_args(guest(), "cmdline", vcpus=2,
                              extra=["--boot-args",
                                     "ktest=cmdline ktest.cpus=2 ktest.mem_mib=128 "
                                     "ktest.cmdline_magic=kiln-42 ktest.hold=1"]))
    assert _wait_for_line(p.proc, b"KTEST HOLD"), "the guest never reached KTEST HOLD"
    tasks = _task_status(p.proc.pid)
    # KVM's own worker (kvm-nx-lpage-recovery) is listed in the task group too.
    names = sorted(n for n, _, _ in tasks.values() if not n.startswith("kvm-"))
    assert names == ["kiln", "kiln_vcpu0", "kiln_vcpu1"], tasks
    for tid, (name, mode, filters) in tasks.items():
        assert mode == "2", (tid, name, mode)
        # main: startup + preboot + runtime; vCPU: startup + preboot (inherited) + vcpu.
        assert filters == "3", (tid, name, filters)
    p.proc.terminate()
    r, timed_out = p.finish()
    assert not timed_out and r.returncode == 0, r.describe()


@pytest.mark.parametrize("where,thread", [("startup", "kiln_main"), ("preboot", "kiln_main"),
                                          ("vcpu", "kiln_vcpu"), ("runtime", "kiln_main")])
def test_seccomp_forbidden_syscall_ends_kiln_with_its_exit_code(build_dir, guest, tmp_path,
                                                                where, thread):
    args = [_tool(build_dir, "kiln-selftest"), "--seccomp-selftest", where] + \
        guest_args(guest(), "cmdline", extra=["--boot-args",
                                              "ktest=cmdline ktest.hold=1"])
    r = subprocess.run(args, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == KILN_EXIT_SECCOMP, (r.returncode, r.stderr)
    line = f"kiln: error: seccomp: thread {thread} made forbidden syscall {SYS_PTRACE}"
    assert line in r.stderr, r.stderr


def test_seccomp_level_0_warns_loudly(run_kiln, guest):
    r = run_kiln(guest_args(guest(), "cmdline", extra=["--seccomp-level", "0"]))
    assert r.returncode == 0, r.describe()
    assert re.search(r"WARNING: --seccomp-level 0: NO SECCOMP FILTERS", r.stderr), r.stderr


@pytest.mark.parametrize("level", ["3", "-1", "2x", ""])
def test_seccomp_level_rejects_bad_values(run_kiln, guest, level):
    r = run_kiln(["--seccomp-level", level, "--kernel", guest()])
    assert r.returncode == 1, r.describe()
    assert "--seccomp-level must be 0, 1 or 2" in r.stderr


def test_seccomp_release_kiln_has_no_selftest_flag(run_kiln, guest):
    r = run_kiln(["--seccomp-selftest", "vcpu", "--kernel", guest()])
    assert r.returncode == 1, r.describe()
    assert "unknown or incomplete option" in r.stderr
