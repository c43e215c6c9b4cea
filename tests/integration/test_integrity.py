# SPDX-License-Identifier: MIT
"""Crash integrity of virtio-blk: SIGKILL kiln at a random moment, then check that
every block a completed FLUSH covered is on the host file.

The guest (``ktest=integrity``, kernel/testguest/test_integrity.c) writes
numbered 4 KiB blocks (block n at sector 8n: magic, seed, n, CRC-32, pattern) in
order, FLUSHes after every 8 and prints ``KTEST-INFO flushed <n>`` once a FLUSH
has completed. The host reads the serial console as it goes, kills kiln with
SIGKILL after a random delay, and reads the image: blocks 0..n (n = the highest
mark printed before kiln died) must all be intact; blocks after it must each be
either intact or still zero (never torn or foreign).

SIGKILL does not drop the host page cache, so what this proves is kiln's side of
the contract: a write is acknowledged only after it reached the backing file and
a FLUSH only after fdatasync(), with no VMM-side buffering or reordering. To show
the harness can fail, the same loop runs a deliberately broken guest
(``ktest.integ_lie=1`` announces, before writing a batch, a mark at the end of
the batch after it) and must catch it; in the honest runs a mark two batches
too high must mostly have been caught too (the kill lands mid-run), and the
verifier is checked against a corrupted copy of a good image.

KILN_INTEGRITY_SEED=<int> replays one sequence of kill delays.
"""
import os
import random
import select
import signal
import struct
import subprocess
import time
import zlib

BLOCK = 4096
MAGIC = 0x314B4C424E4C494B  # "KILNBLK1"
BLOCKS = 4096
EVERY = 8
RUNS = 24
LIE_RUNS = 6
MAX_DELAY = 0.9


def verify(path, seed, blocks):
    """{n: problem} over 0..blocks-1: 'zero', 'torn', 'foreign', or None for intact."""
    out = {}
    with open(path, "rb") as f:
        data = f.read(blocks * BLOCK)
    for n in range(blocks):
        b = data[n * BLOCK:(n + 1) * BLOCK]
        if len(b) < BLOCK or not any(b):
            out[n] = "zero"
            continue
        magic, bseed, bn, crc = struct.unpack_from("<QQQI", b)
        if magic != MAGIC or bseed != seed or bn != n:
            out[n] = "foreign"
        elif zlib.crc32(b[:24] + b"\0\0\0\0" + b[28:]) != crc:
            out[n] = "torn"
        else:
            out[n] = None
    return out


def run_and_kill(kiln, args, delay, cwd):
    """Start kiln, read serial until @delay after the boot line, SIGKILL; parsed result."""
    rfd, wfd = os.pipe()
    p = subprocess.Popen([kiln] + args, stdin=rfd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=cwd)
    os.close(rfd)
    buf, lines = b"", []
    kill_at = None
    deadline = time.monotonic() + 30
    fd = p.stdout.fileno()
    killed = False
    try:
        while True:
            now = time.monotonic()
            if kill_at is not None and now >= kill_at and not killed:
                p.send_signal(signal.SIGKILL)
                killed = True
            if now > deadline:
                p.kill()
                raise AssertionError("kiln did not finish within 30 s")
            wait = 0.05 if kill_at is None or killed else max(0.0, kill_at - now)
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").rstrip("\r")
                lines.append(line)
                if kill_at is None and line.startswith("KTEST BOOT"):
                    kill_at = time.monotonic() + delay
    finally:
        p.wait()
        os.close(wfd)
        err = p.stderr.read().decode(errors="replace")
    res = {"lines": lines, "stderr": err, "returncode": p.returncode, "killed": killed,
           "mark": -1, "seed": None, "done": "KTEST DONE" in lines}
    for line in lines:
        # A line in the pipe was printed before kiln died, so the FLUSH it reports completed.
        if line.startswith("KTEST-INFO flushed "):
            res["mark"] = max(res["mark"], int(line.split()[2]))
        elif line.startswith("KTEST-INFO integrity seed="):
            res["seed"] = int(line.split()[2].split("=")[1])
    return res


def one_run(kiln, guest_image, tmp_path, delay, i, drive_opts="", lie=False):
    img = tmp_path / f"run{i}.img"
    with open(img, "wb") as f:
        f.truncate(BLOCKS * BLOCK)
    seed = 1000 + i
    boot = (f"ktest=integrity ktest.integ_blocks={BLOCKS} ktest.integ_every={EVERY} "
            f"ktest.integ_seed={seed}" + (" ktest.integ_lie=1" if lie else ""))
    args = ["--kernel", guest_image, "--drive", str(img) + drive_opts, "--boot-args", boot]
    r = run_and_kill(kiln, args, delay, tmp_path)
    ctx = (f"run {i} delay {delay:.3f}s drive '{drive_opts}' lie={lie}: exit {r['returncode']}, "
           f"mark {r['mark']}\n" + "\n".join(r["lines"][-6:]) + "\n" + r["stderr"][-1000:])
    # The guest lists its devices before the test starts; a kill may land in between.
    after_listing = [l for l in r["lines"][1:] if not l.startswith("KTEST-INFO virtio ")]
    assert r["seed"] == seed or not after_listing, "no integrity start line\n" + ctx
    assert not any(" FAIL" in l for l in r["lines"] if l.startswith("KTEST ")), ctx
    if r["killed"]:
        assert r["returncode"] == -signal.SIGKILL, ctx
    else:
        assert r["returncode"] == 0 and r["done"], ctx
    states = verify(img, seed, BLOCKS)
    lost = [n for n in range(r["mark"] + 1) if states[n] is not None]
    beyond = [n for n in range(r["mark"] + 1, BLOCKS) if states[n] is not None]
    bad_beyond = [n for n in beyond if states[n] != "zero"]
    written_beyond = BLOCKS - (r["mark"] + 1) - len(beyond)
    # Would a mark two batches too high have been caught? (It must, mostly: the
    # kill has to land while the guest is still short of that.)
    over_claim_caught = any(states[n] is not None
                            for n in range(r["mark"] + 1, min(BLOCKS, r["mark"] + 1 + 2 * EVERY)))
    img.unlink()
    return {"mark": r["mark"], "killed": r["killed"], "done": r["done"], "lost": lost,
            "lost_kinds": sorted({states[n] for n in lost}), "bad_beyond": bad_beyond,
            "written_beyond": written_beyond, "over_claim_caught": over_claim_caught, "ctx": ctx}


def delays(n, rng):
    return [rng.uniform(0.0, MAX_DELAY) for _ in range(n)]


def rng_seed():
    return int(os.environ.get("KILN_INTEGRITY_SEED", time.time_ns() % (1 << 32)))


def test_flushed_blocks_survive_sigkill(kiln, guest, tmp_path):
    seed = rng_seed()
    rng = random.Random(seed)
    results = []
    for i, d in enumerate(delays(RUNS, rng)):
        # Every third run O_DIRECT; runs 1, 5, 9, ... on the io_uring engine (one of them direct).
        opts = (",direct" if i % 3 == 2 else "") + (",aio=io_uring" if i % 4 == 1 else "")
        boot = "linux64" if i % 4 == 3 else "pvh"
        results.append(one_run(kiln, guest(boot), tmp_path, d, i, opts))
    summary = (f"KILN_INTEGRITY_SEED={seed}: marks "
               + " ".join(str(r["mark"]) for r in results)
               + "; acknowledged-but-unflushed blocks on disk "
               + " ".join(str(r["written_beyond"]) for r in results))
    print(summary)
    broken = [r for r in results if r["lost"] or r["bad_beyond"]]
    assert not broken, "\n\n".join(
        f"blocks lost {r['lost'][:20]} ({r['lost_kinds']}), torn/foreign after the mark "
        f"{r['bad_beyond'][:20]}\n{r['ctx']}" for r in broken) + "\n" + summary
    # The test must be able to fail: most kills land while flushed data exists
    # and before the guest finished.
    meaningful = [r for r in results if r["killed"] and not r["done"] and r["mark"] >= EVERY - 1]
    assert len(meaningful) >= RUNS * 3 // 4, "too few kills mid-run\n" + summary
    tight = [r for r in meaningful if r["over_claim_caught"]]
    assert len(tight) >= len(meaningful) * 3 // 4, "marks two batches high would pass\n" + summary


def test_harness_catches_a_lying_guest(kiln, guest, tmp_path):
    """A guest that reports marks before writing: the same loop must see lost blocks."""
    seed = rng_seed()
    rng = random.Random(seed ^ 0x5A5A)
    results = [one_run(kiln, guest(), tmp_path, rng.uniform(0.1, MAX_DELAY), 100 + i, lie=True)
               for i in range(LIE_RUNS)]
    caught = [r for r in results if r["lost"]]
    assert all(r["lost_kinds"] == ["zero"] for r in caught), [r["lost_kinds"] for r in caught]
    assert len(caught) >= LIE_RUNS - 1, (
        f"KILN_INTEGRITY_SEED={seed}: a broken guest got through "
        f"{LIE_RUNS - len(caught)} of {LIE_RUNS} runs: marks {[r['mark'] for r in results]}")


def test_verifier_detects_damage(kiln, guest, tmp_path):
    """A completed run verifies clean; one flipped byte or one lost block is caught."""
    img = tmp_path / "full.img"
    with open(img, "wb") as f:
        f.truncate(64 * BLOCK)
    p = subprocess.run([kiln, "--kernel", guest(), "--drive", str(img), "--boot-args",
                        "ktest=integrity ktest.integ_blocks=64 ktest.integ_seed=7"],
                       stdin=subprocess.PIPE, capture_output=True, timeout=30)
    out = p.stdout.decode()
    assert p.returncode == 0 and "KTEST integrity PASS" in out, out + p.stderr.decode()
    assert "KTEST-INFO flushed 63" in out, out
    assert all(s is None for s in verify(img, 7, 64).values())
    data = bytearray(img.read_bytes())
    data[17 * BLOCK + 1000] ^= 1
    data[40 * BLOCK:41 * BLOCK] = bytes(BLOCK)
    img.write_bytes(data)
    states = verify(img, 7, 64)
    assert states[17] == "torn" and states[40] == "zero"
    assert [n for n, s in states.items() if s is not None] == [17, 40]
    assert verify(img, 8, 64)[0] == "foreign"
