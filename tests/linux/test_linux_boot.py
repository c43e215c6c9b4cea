"""Boot kiln's Linux 6.1 guest to its init and back out.

Run by `make test-linux`, which first builds the kernels and root file
systems (kernel/linux/build-kernel.sh, build-rootfs.sh) into the cache; this
module only asks those scripts where the outputs are (`--no-build`).

Each test boots the guest once (vmlinux through the PVH entry, bzImage through
the 64-bit boot protocol) with the busybox initramfs, which mounts /proc,
/sys and /dev, writes the boot-timer byte, prints KILN-INIT-OK, runs
kiln.cmd, prints KILN-INIT-DONE and resets through the i8042.

test_linux_ext4_root_on_virtio_blk boots the vmlinux with no initrd and its
root on kiln's virtio-blk (a temporary copy of rootfs.ext4, `--drive
...,root`) plus virtio-rng (`--rng`); the guest writes a file on its root and
syncs, reads from /dev/hwrng, and the test then finds the file in the host
image with e2fsck + debugfs (e2fsprogs).

On the software KVM back end of our CI machines a boot takes minutes (CPL0 is
emulated) and about one in seven dies on an instruction the emulator lacks,
so every boot gets a generous timeout and one retry. On a real KVM host the
same test passes in a second or two.

Environment knobs:
  KILN_BIN                 kiln binary (default build/kiln)
  KILN_LINUX_FLAVOR        "test" (default; carries test-patches/) or "stock"
  KILN_LINUX_BOOT_ARGS     replaces kernel/linux/cmdline-pvm.txt
  KILN_LINUX_TIMEOUT_SCALE multiplies the timeouts (default 1)
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINUX_DIR = REPO / "kernel" / "linux"
KILN = Path(os.environ.get("KILN_BIN", REPO / "build" / "kiln"))

MEM_MIB = 256
# Seconds from spawn to the guest's reset, per attempt, on the software back
# end: vmlinux reaches init in ~2-2.5 min; bzImage adds the emulated
# decompressor. Real hardware needs a tiny fraction of this.
TIMEOUTS = {"vmlinux": 480, "bzImage": 720}
ATTEMPTS = 2
GUEST_CMD = "uname -r"


def _env_from_script(script):
    """KEY=VALUE lines printed by a build script run with --no-build."""
    proc = subprocess.run(
        [str(LINUX_DIR / script), "--no-build"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{script} has no cached output ({proc.stderr.strip()}); "
            "run `make test-linux` or kernel/linux/{build-kernel,build-rootfs}.sh"
        )
    env = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key.strip()] = value.strip()
    return env


def boot_args(cmd=GUEST_CMD):
    override = os.environ.get("KILN_LINUX_BOOT_ARGS")
    if override is not None:
        args = override
    else:
        text = (LINUX_DIR / "cmdline-pvm.txt").read_text()
        lines = [l.strip() for l in text.splitlines()]
        args = " ".join(l for l in lines if l and not l.startswith("#"))
    return f'{args} kiln.cmd="{cmd}"'


@pytest.fixture(scope="module")
def artifacts():
    if not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm")
    if not os.access(KILN, os.X_OK):
        pytest.fail(f"{KILN} is missing; run `make` first")
    kernel = _env_from_script("build-kernel.sh")
    rootfs = _env_from_script("build-rootfs.sh")
    return kernel, rootfs


class Boot:
    """One kiln run: serial (stdout) and log (stderr) collected by threads."""

    def __init__(self, argv):
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,  # a pipe, not /dev/null (HOST-NOTES)
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.serial = []
        self.log = []
        self.marks = {}
        self.changed = threading.Condition()
        self.threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.serial), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.log), daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _pump(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.changed:
                sink.append(line)
                for mark in ("KILN-INIT-OK", "KILN-INIT-DONE"):
                    if mark in line and mark not in self.marks:
                        self.marks[mark] = time.monotonic() - self.start
                self.changed.notify_all()

    def wait(self, timeout):
        """Wait for the VM to exit; returns its status or None on timeout."""
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        for t in self.threads:
            t.join(timeout=5)
        return status

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self.threads:
            t.join(timeout=5)

    def text(self):
        return "\n".join(self.serial)

    def report(self, why):
        tail = lambda lines: "\n".join(lines[-40:])
        return (
            f"{why} after {time.monotonic() - self.start:.1f} s, exit {self.proc.returncode}\n"
            f"--- serial (tail) ---\n{tail(self.serial)}\n"
            f"--- kiln log (tail) ---\n{tail(self.log)}"
        )


def missing_output(text, expected):
    """The first of expected [(regex, what)] that no console line matches, or None."""
    for pattern, what in expected:
        if not re.search(pattern, text, re.M):
            return f"missing: {what} (/{pattern}/)"
    return None


def check_boot(boot, status, cmd_check=True):
    """None if the boot did everything expected, else the reason."""
    text = boot.text()
    if status is None:
        return boot.report("timed out")
    if "KILN-INIT-OK" not in text:
        return boot.report("no KILN-INIT-OK")
    if "KILN-INIT-DONE" not in text:
        return boot.report("no KILN-INIT-DONE")
    if status != 0:
        return boot.report("kiln did not exit 0 after the guest reset")
    if cmd_check and ("KILN-CMD-EXIT 0" not in text
                      or not re.search(r"^6\.1\.\d+", text, re.M)):
        return boot.report(f"kiln.cmd={GUEST_CMD!r} did not run")
    if not any("Guest-boot-time" in l for l in boot.log):
        return boot.report("no Guest-boot-time log line (boot timer write)")
    return None


def guest_kernel(kernel_env, image):
    """Path of the vmlinux or bzImage of the flavour KILN_LINUX_FLAVOR names."""
    flavor = os.environ.get("KILN_LINUX_FLAVOR", "test").upper()
    return kernel_env[f"KILN_LINUX_{flavor}_{image.upper()}"]


def boot_timeout(image, extra=0):
    """Seconds one attempt may take: TIMEOUTS + extra, times KILN_LINUX_TIMEOUT_SCALE."""
    return (TIMEOUTS[image] + extra) * float(os.environ.get("KILN_LINUX_TIMEOUT_SCALE", "1"))


def boot_with_retry(attempt_fn, what, prefix, record_property):
    """Up to ATTEMPTS boots: attempt_fn() returns (boot, None) or (boot, why).

    Records and prints the init markers of the boot that passed; fails with
    every attempt's reason when none did."""
    failures = []
    for attempt in range(1, ATTEMPTS + 1):
        boot, why = attempt_fn()
        if why is None:
            for mark, secs in boot.marks.items():
                record_property(f"{prefix}_{mark}_s", round(secs, 1))
            print(
                f"\n{what}: KILN-INIT-OK at {boot.marks['KILN-INIT-OK']:.1f} s, "
                f"KILN-INIT-DONE at {boot.marks['KILN-INIT-DONE']:.1f} s (attempt {attempt})"
            )
            return
        failures.append(f"attempt {attempt}: {why}")
    pytest.fail("\n\n".join(failures))


@pytest.mark.parametrize("image", ["vmlinux", "bzImage"])
def test_linux_boots_to_init(artifacts, image, record_property):
    kernel_env, rootfs_env = artifacts
    argv = [
        str(KILN),
        "--kernel", guest_kernel(kernel_env, image),
        "--initrd", rootfs_env["KILN_ROOTFS_INITRAMFS"],
        "--boot-args", boot_args(),
        "--mem-mib", str(MEM_MIB),
        "--vcpus", "1",
        "--log-level", "info",
    ]

    def attempt():
        boot = Boot(argv)
        return boot, check_boot(boot, boot.wait(boot_timeout(image)))

    boot_with_retry(attempt, image, image, record_property)


def _e2fs_tool(name):
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail(f"{name} not found: install e2fsprogs (build-rootfs.sh needs it too)")


# Run by the ext4 root's /init with sh -c. Every fork+exec costs seconds on
# the software back end, so: built-ins where possible, two busybox runs (sync,
# od) and one dmesg (`quiet` keeps the probe messages off the console).
# No double quotes in here: the whole thing is kiln.cmd="...".
EXT4_CMD = (
    "echo kiln-blk {token} > /kiln-blk-test && busybox sync && echo KILN-BLK-SYNCED; "
    "read r < /sys/devices/virtual/misc/hw_random/rng_current; echo KILN-RNG-CURRENT=$r; "
    "echo KILN-RNG-BYTES=$(busybox od -An -tx1 -N16 /dev/hwrng); "
    "dmesg"
)


def check_ext4_boot(boot, status, image, token):
    """None if the ext4-root boot did everything expected, else the reason."""
    why = check_boot(boot, status, cmd_check=False)
    if why:
        return why
    text = boot.text()
    expected = [
        (r"virtio_blk virtio\d+: \[vda\] \d+ 512-byte logical blocks", "virtio-blk vda probed"),
        (r"EXT4-fs \(vda\): mounted filesystem", "ext4 mounted from vda"),
        (r"VFS: Mounted root \(ext4 filesystem\)", "root is the ext4 file system"),
        (r"Run /sbin/init as init process", "init from the ext4 root (no initramfs)"),
        (r"^KILN-BLK-SYNCED", "guest wrote and synced /kiln-blk-test"),
        (r"^KILN-RNG-CURRENT=virtio_rng", "hw_random's current source is virtio_rng"),
        (r"^KILN-CMD-EXIT 0", "kiln.cmd exit status 0"),
    ]
    missing = missing_output(text, expected)
    if missing:
        return boot.report(missing)
    if re.search(r"Unpacking initramfs|Trying to unpack rootfs", text):
        return boot.report("an initramfs was unpacked; expected none")
    m = re.search(r"^KILN-RNG-BYTES=\s*((?:[0-9a-f]{2}\s*){16})$", text, re.M)
    if not m:
        return boot.report("no 16 bytes read from /dev/hwrng")
    if set(m.group(1).split()) == {"00"}:
        return boot.report("/dev/hwrng returned only zeros")

    # The guest's write, as it reached the host file through kiln. e2fsck
    # replays the journal (the guest never unmounts: it resets) and must
    # find nothing worse than summary counters to fix (exit 0 or 1).
    fsck = subprocess.run([_e2fs_tool("e2fsck"), "-fy", image],
                          capture_output=True, text=True, timeout=120)
    if fsck.returncode not in (0, 1):
        return boot.report(f"e2fsck -fy exit {fsck.returncode}:\n{fsck.stdout}{fsck.stderr}")
    cat = subprocess.run([_e2fs_tool("debugfs"), "-R", "cat /kiln-blk-test", image],
                         capture_output=True, text=True, timeout=60)
    if cat.stdout.strip() != f"kiln-blk {token}":
        return boot.report(
            f"host image lacks the guest's file: debugfs gave {cat.stdout!r} ({cat.stderr.strip()})")
    return None


def test_linux_ext4_root_on_virtio_blk(artifacts, tmp_path, record_property):
    kernel_env, rootfs_env = artifacts
    pristine = rootfs_env["KILN_ROOTFS_EXT4"]
    attempts = iter(range(1, ATTEMPTS + 1))

    def attempt():
        # A fresh copy per attempt: the cached image stays pristine and a
        # failed attempt leaves nothing behind for the next one.
        image = str(tmp_path / f"rootfs-{next(attempts)}.ext4")
        shutil.copyfile(pristine, image)
        token = secrets.token_hex(8)
        argv = [
            str(KILN),
            "--kernel", guest_kernel(kernel_env, "vmlinux"),
            "--boot-args", boot_args(EXT4_CMD.format(token=token)) + " rootfstype=ext4",
            "--drive", f"{image},root",
            "--rng",
            "--mem-mib", str(MEM_MIB),
            "--vcpus", "1",
            "--log-level", "info",
        ]
        boot = Boot(argv)
        status = boot.wait(boot_timeout("vmlinux"))
        return boot, check_ext4_boot(boot, status, image, token)

    boot_with_retry(attempt, "vmlinux, ext4 root on virtio-blk", "ext4", record_property)
