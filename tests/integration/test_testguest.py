# SPDX-License-Identifier: MIT
"""Boot kiln's test guest through both boot paths and check every KTEST.

Protocol (docs/TEAM-NOTES.md): ``ktest=a,b`` on the command line, expectations
as ``ktest.mem_mib=N ktest.cpus=N``; the guest prints ``KTEST <name> PASS|FAIL``,
``KTEST DONE`` and resets through the i8042, so kiln exits 0.
"""
import re
import signal
import subprocess
import time

import pytest

import guestcraft
from conftest import assert_clean_exit, guest_args

TESTS = ["serial", "memsize", "cpus", "cmdline", "cpuid", "boottimer", "irq"]
BOOTS = ["pvh", "linux64"]
# Firecracker's format pads the number ("{:>6} us"), so allow spaces.
BOOT_TIME_RE = re.compile(r"Guest-boot-time = +\d+ us")


def check_passed(run, names, boot):
    assert run.boot == boot, "wrong or missing 'KTEST BOOT' line\n" + run.describe()
    for name in names:
        assert name in run.results, f"no KTEST {name} line\n" + run.describe()
        status, reason = run.results[name]
        assert status == "PASS", f"KTEST {name} FAIL {reason}\n" + run.describe()
    assert run.panic is None, "guest panicked\n" + run.describe()
    assert run.done, "no KTEST DONE\n" + run.describe()
    assert_clean_exit(run)


@pytest.mark.parametrize("vcpus", [1, 4])
@pytest.mark.parametrize("boot", BOOTS)
@pytest.mark.parametrize("test", TESTS)
def test_ktest(run_kiln, guest, test, boot, vcpus):
    extra = ["--log-level", "info"] if test == "boottimer" else []
    run = run_kiln(guest_args(guest(boot), test, vcpus=vcpus, extra=extra))
    check_passed(run, [test], boot)
    if test == "boottimer":
        assert BOOT_TIME_RE.search(run.stderr), "no Guest-boot-time log line\n" + run.describe()
    if test == "cmdline":
        info = run.info.get("cmdline", "")
        for arg in ("ktest=cmdline", "ktest.mem_mib=128", f"ktest.cpus={vcpus}",
                    "ktest.cmdline_magic=kiln-42"):
            assert arg in info, f"{arg!r} missing from KTEST-INFO cmdline\n" + run.describe()


@pytest.mark.parametrize("mem_mib", [16, 300, 3584, 4608])
@pytest.mark.parametrize("boot", BOOTS)
def test_memsize_other_sizes(run_kiln, guest, boot, mem_mib):
    """Smallest size, an odd size, RAM up to the MMIO gap and RAM split around it."""
    run = run_kiln(guest_args(guest(boot), "memsize", mem_mib=mem_mib))
    check_passed(run, ["memsize"], boot)


@pytest.mark.parametrize("boot", BOOTS)
def test_all_in_one_boot(run_kiln, guest, boot):
    run = run_kiln(guest_args(guest(boot), "all", vcpus=2, extra=["--log-level", "info"]))
    check_passed(run, TESTS, boot)
    assert BOOT_TIME_RE.search(run.stderr), run.describe()


def test_max_vcpus(run_kiln, guest):
    run = run_kiln(guest_args(guest("pvh"), "serial,cpus", vcpus=32))
    check_passed(run, ["serial", "cpus"], "pvh")


def test_unknown_ktest_reports_fail(run_kiln, guest):
    run = run_kiln(guest_args(guest("pvh"), "serial,no_such_test"))
    assert run.results.get("serial", ("",))[0] == "PASS", run.describe()
    assert run.results.get("no_such_test", ("",))[0] == "FAIL", run.describe()
    assert run.done, run.describe()
    assert_clean_exit(run)


def test_no_ktest_boots_and_resets(run_kiln, guest):
    run = run_kiln(["--kernel", guest("pvh"), "--boot-args", "console=ttyS0"])
    assert run.boot == "pvh" and run.done and not run.results, run.describe()
    assert_clean_exit(run)


@pytest.mark.parametrize("boot", BOOTS)
def test_guest_exception_ends_cleanly(run_kiln, guest, boot):
    """ktest=panic: #UD at CPL3, the guest reports it and resets: exit 0."""
    run = run_kiln(guest_args(guest(boot), "panic"))
    assert run.panic is not None and "vector=6" in run.panic, run.describe()
    assert_clean_exit(run)


def test_serial_out_file(run_kiln, guest, tmp_path):
    out = tmp_path / "console.txt"
    run = run_kiln(guest_args(guest("pvh"), "serial", extra=["--serial-out", out]))
    assert_clean_exit(run)
    assert "KTEST" not in run.stdout, run.describe()
    text = out.read_text()
    assert "KTEST serial PASS" in text and "KTEST DONE" in text, text


def test_default_boot_args(run_kiln, guest):
    """Only --kernel: the documented defaults (1 vCPU, 128 MiB, default cmdline) boot."""
    run = run_kiln(["--kernel", guest("pvh")])
    assert_clean_exit(run)
    assert run.boot == "pvh" and run.done and not run.results, run.describe()


# ---- stopping a guest that never exits ----------------------------------------------

@pytest.fixture
def spin_guest(tmp_path):
    path = tmp_path / "spin.elf"
    path.write_bytes(guestcraft.pvh_elf(guestcraft.spin_code()))
    return path


def _stop_with(start_kiln, image, sig, vcpus=1, settle=0.3, extra=()):
    p = start_kiln(["--kernel", image, "--vcpus", vcpus, "--mem-mib", 128] + list(extra))
    time.sleep(settle)
    assert p.proc.poll() is None, "kiln exited before the signal\n" + p.finish(1)[0].describe()
    t = time.monotonic()
    p.signal(sig)
    run, timed_out = p.finish(timeout=10)
    took = time.monotonic() - t
    assert not timed_out, f"kiln ignored {sig.name} for 10 s\n" + run.describe()
    return run, took


@pytest.mark.parametrize("vcpus", [1, 4])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_stops_spinning_guest(start_kiln, spin_guest, sig, vcpus):
    run, took = _stop_with(start_kiln, spin_guest, sig, vcpus=vcpus)
    assert run.returncode == 0, run.describe()
    # generous: a missed vCPU kick hangs until the 10 s timeout; a loaded host is slow
    assert took < 6.0, f"kiln took {took:.2f}s to stop\n" + run.describe()


def test_sigterm_right_after_start(start_kiln, guest):
    """SIGTERM while the VM is being built or the guest is mid-run: exit 0, no crash.

    At delay 0 the signal can land before kiln's main() has blocked it (dynamic
    loader, libc start-up); dying by SIGTERM is then the only possible outcome and
    is accepted. From a few ms on, kiln must own the signal and exit 0."""
    for delay in (0.0, 0.002, 0.005, 0.02):
        p = start_kiln(guest_args(guest("pvh"), "all"))
        time.sleep(delay)
        p.signal(signal.SIGTERM)
        run, timed_out = p.finish(timeout=10)
        assert not timed_out, run.describe()
        allowed = (0, -signal.SIGTERM) if delay == 0 else (0,)
        assert run.returncode in allowed, f"SIGTERM after {delay}s\n" + run.describe()


def test_sigterm_during_vm_build(start_kiln, guest, tmp_path):
    """A 256 MiB (sparse) initrd makes building the VM take ~0.2-0.4 s, so a SIGTERM
    50 ms after start lands while kiln loads images: kiln must still exit 0 (it owns
    SIGTERM/SIGINT from the top of main(), not only once the VM runs) and must not go on
    to run the guest. No wall-clock bound: on a loaded host loading the image alone can
    take seconds; the guest's own output is what tells whether kiln stopped."""
    initrd = tmp_path / "big.initrd"
    with open(initrd, "wb") as f:
        f.truncate(256 << 20)
    p = start_kiln(guest_args(guest("pvh"), "serial", mem_mib=1024,
                              extra=["--initrd", initrd]))
    time.sleep(0.05)
    p.signal(signal.SIGTERM)
    run, timed_out = p.finish(timeout=30)
    assert not timed_out, run.describe()
    assert run.returncode == 0, "SIGTERM during start-up\n" + run.describe()
    assert "KTEST DONE" not in run.stdout, "the guest ran after SIGTERM\n" + run.describe()


def test_stop_and_continue(start_kiln, spin_guest):
    """SIGSTOP/SIGCONT (as a debugger or job control does) does not kill the VM."""
    p = start_kiln(["--kernel", spin_guest, "--vcpus", 2])
    time.sleep(0.2)
    p.signal(signal.SIGSTOP)
    time.sleep(0.2)
    p.signal(signal.SIGCONT)
    time.sleep(0.3)
    assert p.proc.poll() is None, "kiln exited after SIGCONT\n" + p.finish(1)[0].describe()
    p.signal(signal.SIGTERM)
    run, timed_out = p.finish(timeout=10)
    assert not timed_out and run.returncode == 0, run.describe()


def test_guest_output_then_reset(run_kiln, tmp_path):
    """A 60-byte hand-made PVH guest: print on COM1 without checking LSR, reset."""
    img = tmp_path / "hello.elf"
    img.write_bytes(guestcraft.pvh_elf(guestcraft.print_reset_code("KTEST hello PASS\n")))
    run = run_kiln(["--kernel", img])
    assert run.results.get("hello") == ("PASS", ""), run.describe()
    assert_clean_exit(run)


def test_unemulatable_instruction(run_kiln, tmp_path):
    """fwait at CPL0: a real KVM host runs it and the guest resets (exit 0); this host's
    software back end cannot emulate it, and kiln must stop with exit 3 and name the
    RIP and bytes rather than spin or hang."""
    code = b"\x9b" + guestcraft.print_reset_code("KTEST fwait PASS\n",
                                                 load_addr=guestcraft.LOAD_ADDR + 1)
    img = tmp_path / "fwait.elf"
    img.write_bytes(guestcraft.pvh_elf(code))
    run = run_kiln(["--kernel", img], timeout=15)
    if run.returncode == 0:
        assert run.results.get("fwait") == ("PASS", ""), run.describe()
    else:
        assert run.returncode == 3, run.describe()
        assert "rip=0x100000" in run.stderr and "9b" in run.stderr, run.describe()


def test_triple_fault_is_a_reset(run_kiln, tmp_path):
    """ud2 at CPL0 with the boot IDT (no handlers): #UD -> #DF -> triple fault, which
    kiln treats like a reset: exit 0."""
    img = tmp_path / "ud2.elf"
    img.write_bytes(guestcraft.pvh_elf(b"\x0f\x0b"))
    run = run_kiln(["--kernel", img, "--log-level", "info"])
    assert_clean_exit(run)
    assert "triple fault" in run.stderr or "shutdown" in run.stderr, run.describe()


@pytest.mark.parametrize("boot", BOOTS)
def test_repeated_boots(run_kiln, guest, boot):
    """Start/stop races (vCPU threads, kicks, teardown) show up as rare failures:
    boot ktest=all with 4 vCPUs back to back."""
    for _ in range(12):
        run = run_kiln(guest_args(guest(boot), "all", vcpus=4), timeout=15)
        check_passed(run, TESTS, boot)


@pytest.mark.parametrize("stdin", ["eof_pipe", "devnull", "file"])
def test_stdin_variants(kiln, guest, tmp_path, stdin):
    """The harness normally holds stdin open as a pipe; kiln must also boot with a
    pipe already at EOF, /dev/null (not pollable) or a regular file."""
    args = [kiln] + [str(a) for a in guest_args(guest("pvh"), "serial")]
    if stdin == "eof_pipe":
        p = subprocess.run(args, input=b"", capture_output=True, timeout=30)
    elif stdin == "devnull":
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    else:
        f = tmp_path / "input.txt"
        f.write_bytes(b"hello guest\n" * 100)
        with open(f, "rb") as fh:
            p = subprocess.run(args, stdin=fh, capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert "KTEST serial PASS" in out and "KTEST DONE" in out, out
