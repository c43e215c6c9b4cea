# SPDX-License-Identifier: MIT
"""kiln's command line and kernel-image checks, seen from outside.

Every bad invocation must end with exit status 1 (docs/TEAM-NOTES.md: bad
argument or start-up failure), exactly one ``kiln: error:`` line on stderr, no
guest output, no crash signal and no core file, and must do so quickly.
"""
import os
import re

import pytest

import guestcraft

LONG_ARGS = "x" * 4096  # one byte over the limit: 4096 including the NUL


def _file(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def _guest_bytes(guest):
    with open(guest("pvh"), "rb") as f:
        return f.read()


# Each case: id -> function(tmp_path, guest) returning the argument list.
BAD_KERNELS = {
    "nonexistent": lambda t, g: str(t / "no-such-kernel"),
    "directory": lambda t, g: str(t),
    "empty": lambda t, g: _file(t, "empty", b""),
    "text": lambda t, g: _file(t, "text", b"#!/bin/sh\necho this is not a kernel\n" * 50),
    "dev_zero": lambda t, g: "/dev/zero",
    "elf_truncated_100": lambda t, g: _file(t, "trunc.elf", _guest_bytes(g)[:100]),
    "elf_truncated_in_segment": lambda t, g: _file(
        t, "cut.elf", guestcraft.truncate_in_segment(_guest_bytes(g))),
    "elf_huge_filesz": lambda t, g: _file(
        t, "filesz.elf", guestcraft.corrupt_huge_filesz(_guest_bytes(g))),
    "elf_beyond_ram": lambda t, g: _file(
        t, "far.elf", guestcraft.corrupt_beyond_ram(_guest_bytes(g))),
    "elf_in_mmio_gap": lambda t, g: _file(
        t, "gap.elf", guestcraft.corrupt_beyond_ram(_guest_bytes(g), addr=0xFEE00000)),
    "elf_offset_past_eof": lambda t, g: _file(
        t, "off.elf", guestcraft.corrupt_offset_past_eof(_guest_bytes(g))),
    "elf_memsz_lt_filesz": lambda t, g: _file(
        t, "memsz.elf", guestcraft.corrupt_memsz_lt_filesz(_guest_bytes(g))),
    "elf_phoff_past_eof": lambda t, g: _file(
        t, "phoff.elf", guestcraft.corrupt_phoff(_guest_bytes(g))),
    "elf_phnum_huge": lambda t, g: _file(
        t, "phnum.elf", guestcraft.corrupt_phnum_huge(_guest_bytes(g))),
    "elf_wrong_machine": lambda t, g: _file(
        t, "arm.elf", _guest_bytes(g)[:18] + b"\xb7\x00" + _guest_bytes(g)[20:]),
    "elf_no_segments": lambda t, g: _file(
        t, "noseg.elf", guestcraft.corrupt_no_segments(_guest_bytes(g))),
    "bzimage_old_version": lambda t, g: _file(t, "old.bzImage", guestcraft.fake_bzimage(0x0100)),
    "bzimage_truncated": lambda t, g: _file(t, "short.bzImage",
                                            guestcraft.fake_bzimage(0x020F)[:0x300]),
}


@pytest.fixture
def expect_error(run_kiln, tmp_path):
    def check(args, needle=None):
        run = run_kiln(args, timeout=10)
        assert run.returncode > 0, "expected a failure exit, no crash\n" + run.describe()
        assert run.returncode == 1, "bad input must exit 1\n" + run.describe()
        errors = run.error_lines()
        assert len(errors) == 1, "expected one 'kiln: error:' line\n" + run.describe()
        if needle:
            assert re.search(needle, errors[0], re.I), run.describe()
        assert "KTEST" not in run.stdout, "the guest ran\n" + run.describe()
        assert run.duration < 5, run.describe()
        cores = [f for f in os.listdir(tmp_path) if f.startswith("core")]
        assert not cores, f"core file(s) {cores}\n" + run.describe()
        return run
    return check


def test_missing_kernel_option(expect_error):
    expect_error(["--vcpus", "1"], needle="--kernel")


def test_no_arguments(expect_error):
    expect_error([], needle="--kernel")


@pytest.mark.parametrize("case", sorted(BAD_KERNELS))
def test_bad_kernel(expect_error, tmp_path, guest, case):
    # The error line itself must say what is wrong with what, not only errno text.
    path = BAD_KERNELS[case](tmp_path, guest)
    expect_error(["--kernel", path], needle="kernel")


@pytest.mark.parametrize("value", ["0", "33", "abc", "-1", "", "1.5", "4x", "99999999999999999999"])
def test_bad_vcpus(expect_error, guest, value):
    expect_error(["--kernel", guest("pvh"), "--vcpus", value], needle="vcpus")


@pytest.mark.parametrize("value", ["0", "1", "15", "100000000", "abc", "-128", "",
                                   "18446744073709551617"])
def test_bad_mem_mib(expect_error, guest, value):
    expect_error(["--kernel", guest("pvh"), "--mem-mib", value], needle="mem")


def test_boot_args_too_long(expect_error, guest):
    expect_error(["--kernel", guest("pvh"), "--boot-args", LONG_ARGS], needle="boot-args")


def test_boot_args_at_limit_boots(run_kiln, guest):
    """4095 bytes is the longest accepted command line; the guest still sees ktest=."""
    args = "ktest=serial " + "y" * (4095 - len("ktest=serial "))
    run = run_kiln(["--kernel", guest("pvh"), "--boot-args", args])
    assert run.returncode == 0 and run.results.get("serial", ("",))[0] == "PASS", \
        run.describe()


def test_nonexistent_initrd(expect_error, guest, tmp_path):
    expect_error(["--kernel", guest("pvh"), "--initrd", str(tmp_path / "no-such-initrd")],
                 needle="initrd")


def test_directory_initrd(expect_error, guest, tmp_path):
    expect_error(["--kernel", guest("pvh"), "--initrd", str(tmp_path)], needle="initrd")


def test_huge_initrd_for_small_ram(expect_error, guest, tmp_path):
    big = tmp_path / "big.initrd"
    with open(big, "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB of zeros cannot fit a 16 MiB guest
    expect_error(["--kernel", guest("pvh"), "--mem-mib", "16", "--initrd", str(big)],
                 needle="initrd")


@pytest.mark.parametrize("args", [
    ["--frobnicate"],
    ["--kernel"],
    ["--vcpus"],
    ["-k", "x"],
    ["stray-positional"],
    ["--log-level", "loud"],
], ids=["unknown", "kernel_no_value", "vcpus_no_value", "short_option", "positional",
        "bad_log_level"])
def test_bad_options(expect_error, guest, args):
    base = [] if args[0] == "--kernel" else ["--kernel", guest("pvh")]
    expect_error(base + args)


def test_serial_out_unwritable(expect_error, guest, tmp_path):
    expect_error(["--kernel", guest("pvh"), "--serial-out", str(tmp_path / "no" / "dir")],
                 needle="serial-out")


def test_kvm_dev_missing(expect_error, guest, tmp_path):
    expect_error(["--kernel", guest("pvh"), "--kvm-dev", str(tmp_path / "no-kvm")],
                 needle="kvm")


def test_kvm_dev_not_kvm(expect_error, guest):
    expect_error(["--kernel", guest("pvh"), "--kvm-dev", "/dev/null"], needle="kvm")


def test_version(run_kiln):
    run = run_kiln(["--version"], timeout=10)
    assert run.returncode == 0, run.describe()
    assert re.search(r"\d+\.\d+\.\d+", run.stdout), run.describe()


def test_help(run_kiln):
    run = run_kiln(["--help"], timeout=10)
    assert run.returncode == 0, run.describe()
    assert "--kernel" in run.stdout, run.describe()
