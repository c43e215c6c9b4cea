# SPDX-License-Identifier: MIT
"""kiln's virtio-blk and virtio-rng devices, driven by the test guest.

The guest's polling driver (kernel/testguest/virtio.c) runs blk_rw, blk_ro,
blk_big, rng and the hostile tests (docs/VIRTIO.md is the contract); these tests
also check the host side: what lands in the backing file, locks, CLI errors and
the ``root`` option's command line.
"""
import os
import re

import pytest

from conftest import assert_clean_exit

BOOTS = ["pvh", "linux64"]
SECTOR = 512
SEED = 0x5EED0123456789
RW_IMG_BYTES = 4 << 20
RO_IMG_BYTES = 1 << 20
HOSTILE_COUNT = 28  # kernel/testguest/README.md, "ktest=hostile"
VIRTIO_BLK_F_FLUSH = 1 << 9
VIRTIO_BLK_F_RO = 1 << 5


def pattern(seed, n):
    """kernel/testguest/test_virtio.c vt_pattern(): xorshift64 words, little endian."""
    x = (seed | 1) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    for _ in range((n + 7) // 8):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out += x.to_bytes(8, "little")
    return bytes(out[:n])


def make_image(path, size, fill=None):
    with open(path, "wb") as f:
        if fill is None:
            f.truncate(size)
        else:
            f.write(fill * (size // len(fill)))
    return str(path)


def blk_args(image, tests, drives, rng=False, extra_boot=""):
    boot = f"ktest={tests} {extra_boot}".strip()
    args = ["--kernel", image, "--mem-mib", "128", "--boot-args", boot]
    for d in drives:
        args += ["--drive", d]
    if rng:
        args.append("--rng")
    return args


def check_pass(run, names, boot=None):
    if boot:
        assert run.boot == boot, "wrong or missing 'KTEST BOOT' line\n" + run.describe()
    for name in names:
        assert name in run.results, f"no KTEST {name} line\n" + run.describe()
        status, reason = run.results[name]
        assert status == "PASS", f"KTEST {name} FAIL {reason}\n" + run.describe()
    assert run.panic is None, "guest panicked\n" + run.describe()
    assert run.done, "no KTEST DONE\n" + run.describe()
    assert_clean_exit(run)


def features_of(run, key="blk"):
    m = re.search(r"features=(0x[0-9a-f]+)", run.info.get(key, ""))
    assert m, f"no features in KTEST-INFO {key}\n" + run.describe()
    return int(m.group(1), 16)


@pytest.mark.parametrize("boot", BOOTS)
def test_blk_rng_and_host_file(run_kiln, guest, tmp_path, boot):
    """blk_rw, blk_ro, blk_big, rng pass, and the host files hold what the guest wrote."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    ro_fill = bytes(range(256)) * 2
    ro = make_image(tmp_path / "ro.img", RO_IMG_BYTES, ro_fill)
    run = run_kiln(blk_args(guest(boot), "blk_rw,blk_ro,blk_big,rng", [rw + ",id=blkid0", ro + ",ro"],
                            rng=True, extra_boot=f"ktest.blk_id=blkid0 ktest.blk_pattern_seed={SEED}"))
    check_pass(run, ["blk_rw", "blk_ro", "blk_big", "rng"], boot)
    assert "id=blkid0 padded=1" in run.stdout, run.describe()

    with open(rw, "rb") as f:
        data = f.read()
    assert len(data) == RW_IMG_BYTES, "backing file changed size"
    # blk_rw: 16 KiB at sector 8, then DISCARD 8-15 and WRITE_ZEROES 16-23.
    rw_pat = pattern(SEED, 16384)
    assert data[8 * SECTOR:24 * SECTOR] == bytes(16 * SECTOR), "discard/write-zeroes not on host"
    assert data[24 * SECTOR:40 * SECTOR] == rw_pat[8192:], "blk_rw data not on the host file"
    # blk_big: 1 MiB at sector 2048, last round seeded SEED + 3.
    assert data[2048 * SECTOR:4096 * SECTOR] == pattern(SEED + 3, 1 << 20), \
        "blk_big data not on the host file"
    # Untouched areas stay zero.
    assert data[:8 * SECTOR] == bytes(8 * SECTOR)
    assert data[40 * SECTOR:2048 * SECTOR] == bytes((2048 - 40) * SECTOR)
    assert data[4096 * SECTOR:] == bytes(RW_IMG_BYTES - 4096 * SECTOR)
    with open(ro, "rb") as f:
        assert f.read() == ro_fill * (RO_IMG_BYTES // len(ro_fill)), "read-only drive modified"


@pytest.mark.parametrize("boot", BOOTS)
def test_hostile_guest(run_kiln, guest, tmp_path, boot):
    """Every hostile test passes; kiln keeps running, other devices work, exit 0."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    ro = make_image(tmp_path / "ro.img", RO_IMG_BYTES, b"\x42")
    run = run_kiln(blk_args(guest(boot), "hostile", [rw, ro + ",ro"], rng=True))
    hostile = {k: v for k, v in run.results.items() if k.startswith("hostile_")}
    failed = {k: v for k, v in hostile.items() if v[0] != "PASS"}
    assert not failed, f"hostile tests failed: {failed}\n" + run.describe()
    assert len(hostile) >= HOSTILE_COUNT, f"only {len(hostile)} hostile results\n" + run.describe()
    check_pass(run, list(hostile), boot)
    assert not run.error_lines(), run.describe()
    assert not [p for p in os.listdir(tmp_path) if p.startswith("core")], "core file"
    with open(ro, "rb") as f:
        assert f.read() == b"\x42" * RO_IMG_BYTES, "read-only drive modified"


def test_cache_unsafe_offers_no_flush(run_kiln, guest, tmp_path):
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "blk_rw,blk_big,integrity", [rw + ",cache=unsafe"],
                            extra_boot="ktest.integ_blocks=8"))
    assert features_of(run) & VIRTIO_BLK_F_FLUSH == 0, run.describe()
    assert run.results.get("integrity") == ("FAIL", "FLUSH not offered"), run.describe()
    check_pass(run, ["blk_rw", "blk_big"])
    # Without cache=unsafe, FLUSH is offered.
    run = run_kiln(blk_args(guest(), "blk_rw", [rw]))
    check_pass(run, ["blk_rw"])
    assert features_of(run) & VIRTIO_BLK_F_FLUSH, run.describe()


def test_direct_drive(run_kiln, guest, tmp_path):
    """O_DIRECT backing: the same tests, the same bytes on the host."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "blk_rw,blk_big", [rw + ",direct"],
                            extra_boot=f"ktest.blk_pattern_seed={SEED}"))
    check_pass(run, ["blk_rw", "blk_big"])
    with open(rw, "rb") as f:
        f.seek(2048 * SECTOR)
        assert f.read(1 << 20) == pattern(SEED + 3, 1 << 20)


@pytest.mark.parametrize("opts", [",aio=io_uring", ",async,direct"])
def test_async_drive(run_kiln, guest, tmp_path, opts):
    """io_uring engine (buffered and O_DIRECT): the same tests, the same bytes on the host."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    ro = make_image(tmp_path / "ro.img", RO_IMG_BYTES, b"\x42")
    run = run_kiln(blk_args(guest(), "blk_rw,blk_ro,blk_big", [rw + opts + ",id=blkid0",
                                                               ro + ",ro" + opts],
                            extra_boot=f"ktest.blk_id=blkid0 ktest.blk_pattern_seed={SEED}"))
    check_pass(run, ["blk_rw", "blk_ro", "blk_big"])
    assert not run.error_lines(), run.describe()
    with open(rw, "rb") as f:
        data = f.read()
    assert data[8 * SECTOR:24 * SECTOR] == bytes(16 * SECTOR), "discard/write-zeroes not on host"
    assert data[24 * SECTOR:40 * SECTOR] == pattern(SEED, 16384)[8192:]
    assert data[2048 * SECTOR:4096 * SECTOR] == pattern(SEED + 3, 1 << 20)


def test_async_hostile_guest(run_kiln, guest, tmp_path):
    """The hostile suite against io_uring drives: every test passes, kiln exits 0."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    ro = make_image(tmp_path / "ro.img", RO_IMG_BYTES, b"\x42")
    run = run_kiln(blk_args(guest(), "hostile", [rw + ",aio=io_uring", ro + ",ro,async"],
                            rng=True))
    hostile = {k: v for k, v in run.results.items() if k.startswith("hostile_")}
    failed = {k: v for k, v in hostile.items() if v[0] != "PASS"}
    assert not failed, f"hostile tests failed: {failed}\n" + run.describe()
    assert len(hostile) >= HOSTILE_COUNT, f"only {len(hostile)} hostile results\n" + run.describe()
    check_pass(run, list(hostile))
    assert not run.error_lines(), run.describe()
    with open(ro, "rb") as f:
        assert f.read() == b"\x42" * RO_IMG_BYTES, "read-only drive modified"


@pytest.mark.parametrize("opts", ["", ",aio=io_uring"])
def test_blkbench_waits_for_interrupts(run_kiln, guest, tmp_path, opts):
    """ktest.bb_irq=1: the guest halts until the used-ring interrupt (CPL0 wait service)
    instead of polling; every request completes OK and interrupts really arrived."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "blkbench", [rw + opts],
                            extra_boot="ktest.bb_irq=1 ktest.bb_reads=50 ktest.bb_reads_deep=200 "
                                       "ktest.bb_writes=20 ktest.bb_writes_deep=100 "
                                       "ktest.bb_depth=8"))
    check_pass(run, ["blkbench"])
    results = [l for l in run.stdout.splitlines() if "blkbench result " in l]
    assert len(results) == 4, run.describe()
    kvs = [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in results]
    assert all(kv["errors"] == "0" for kv in kvs), results
    # A phase whose completions are always there first needs no interrupt; the run does.
    assert sum(int(kv["irqs"]) for kv in kvs) > 0, results


def test_long_drive_id_serial_is_20_bytes(run_kiln, guest, tmp_path):
    """ids may be up to 64 characters; GET_ID returns the first 20, unterminated."""
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    long_id = "abcdefghij0123456789_tail_of_the_id"
    run = run_kiln(blk_args(guest(), "blk_rw", [rw + ",id=" + long_id],
                            extra_boot=f"ktest.blk_id={long_id[:20]}"))
    check_pass(run, ["blk_rw"])
    assert f"id={long_id[:20]} padded=0" in run.stdout, run.describe()


def test_read_only_drive_features(run_kiln, guest, tmp_path):
    ro = make_image(tmp_path / "ro.img", RO_IMG_BYTES, b"\x07")
    run = run_kiln(blk_args(guest(), "blk_ro", [ro + ",ro"]))
    check_pass(run, ["blk_ro"])
    f = features_of(run, "blk_ro")
    assert f & VIRTIO_BLK_F_RO
    assert f & ((1 << 13) | (1 << 14)) == 0, "ro drive offers DISCARD/WRITE_ZEROES"


def expect_drive_error(run, *needles):
    assert run.returncode == 1, run.describe()
    errs = run.error_lines()
    assert errs, "no 'kiln: error:' line\n" + run.describe()
    for n in needles:
        assert any(n in e for e in errs), f"{n!r} not in the error\n" + run.describe()
    assert "KTEST BOOT" not in run.stdout, "the guest ran\n" + run.describe()


def test_same_drive_twice_is_locked(run_kiln, guest, tmp_path):
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "serial", [rw, rw]))
    expect_drive_error(run, "rw.img")
    # A read-only drive is shared-locked: writable + ro of one file conflict too.
    run = run_kiln(blk_args(guest(), "serial", [rw, rw + ",ro"]))
    expect_drive_error(run, "rw.img")


def test_drive_locked_by_another_kiln(start_kiln, run_kiln, guest, tmp_path):
    rw = make_image(tmp_path / "rw.img", 64 << 20)
    first = start_kiln(blk_args(guest(), "integrity", [rw],
                                extra_boot="ktest.integ_blocks=16384"))
    line = first.proc.stdout.readline()
    assert line.startswith(b"KTEST BOOT"), line
    try:
        run = run_kiln(blk_args(guest(), "serial", [rw]))
        expect_drive_error(run, "rw.img")
    finally:
        first.proc.kill()
        first.finish()


@pytest.mark.parametrize("case", ["missing", "directory", "empty_path"])
def test_bad_drive_path(run_kiln, guest, tmp_path, case):
    if case == "missing":
        path = str(tmp_path / "no-such.img")
        needle = "no-such.img"
    elif case == "directory":
        os.mkdir(tmp_path / "adir")
        path = str(tmp_path / "adir")
        needle = "adir"
    else:
        path, needle = "", "drive"
    run = run_kiln(blk_args(guest(), "serial", [path]))
    expect_drive_error(run, needle)


@pytest.mark.parametrize("opt", ["bogus", "id=", "id=" + "x" * 65, "id=a-b", "cache=none", "ro=1"])
def test_bad_drive_options(run_kiln, guest, tmp_path, opt):
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "serial", [rw + "," + opt]))
    assert run.returncode == 1, run.describe()
    assert run.error_lines(), run.describe()


@pytest.mark.parametrize("drives,want", [
    (["a.img,root"], "root=/dev/vda rw"),
    (["a.img,ro,root"], "root=/dev/vda ro"),
    (["a.img", "b.img,root"], "root=/dev/vdb rw"),
])
def test_root_option_cmdline(run_kiln, guest, tmp_path, drives, want):
    for name in ("a.img", "b.img"):
        make_image(tmp_path / name, RO_IMG_BYTES)
    paths = [str(tmp_path / d) for d in drives]
    run = run_kiln(blk_args(guest(), "cmdline", paths))
    check_pass(run, ["cmdline"])
    cmdline = run.info.get("cmdline", "")
    assert want in cmdline, run.describe()
    assert cmdline.count("root=") == 1, run.describe()
    assert cmdline.count("virtio_mmio.device=4K@0xc000") == len(drives), run.describe()


def test_two_roots_refused(run_kiln, guest, tmp_path):
    a = make_image(tmp_path / "a.img", RO_IMG_BYTES)
    b = make_image(tmp_path / "b.img", RO_IMG_BYTES)
    run = run_kiln(blk_args(guest(), "serial", [a + ",root", b + ",root"]))
    assert run.returncode == 1, run.describe()
    assert run.error_lines(), run.describe()


def test_unaligned_image_size_is_rounded_down(run_kiln, guest, tmp_path):
    rw = make_image(tmp_path / "rw.img", RW_IMG_BYTES + 100)
    run = run_kiln(blk_args(guest(), "blk_rw", [rw]))
    check_pass(run, ["blk_rw"])
    m = re.search(r"capacity=(\d+)", run.info.get("blk", ""))
    assert m and int(m.group(1)) == RW_IMG_BYTES // SECTOR, run.describe()
