"""Boot kiln's Linux 6.1 guest to its init and back out.

Run by `make test-linux`, which first builds the kernels and root file
systems (kernel/linux/build-kernel.sh, build-rootfs.sh) into the cache; this
module only asks those scripts where the outputs are (`--no-build`).

Each test boots the guest once (vmlinux through the PVH entry, bzImage through
the 64-bit boot protocol) with the busybox initramfs, which mounts /proc,
/sys and /dev, writes the boot-timer byte, prints KILN-INIT-OK, runs
kiln.cmd, prints KILN-INIT-DONE and resets through the i8042.

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


def boot_args():
    override = os.environ.get("KILN_LINUX_BOOT_ARGS")
    if override is not None:
        args = override
    else:
        text = (LINUX_DIR / "cmdline-pvm.txt").read_text()
        lines = [l.strip() for l in text.splitlines()]
        args = " ".join(l for l in lines if l and not l.startswith("#"))
    return f'{args} kiln.cmd="{GUEST_CMD}"'


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


def check_boot(boot, status):
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
    if "KILN-CMD-EXIT 0" not in text or not re.search(r"^6\.1\.\d+", text, re.M):
        return boot.report(f"kiln.cmd={GUEST_CMD!r} did not run")
    if not any("Guest-boot-time" in l for l in boot.log):
        return boot.report("no Guest-boot-time log line (boot timer write)")
    return None


@pytest.mark.parametrize("image", ["vmlinux", "bzImage"])
def test_linux_boots_to_init(artifacts, image, record_property):
    kernel_env, rootfs_env = artifacts
    flavor = os.environ.get("KILN_LINUX_FLAVOR", "test").upper()
    kernel = kernel_env[f"KILN_LINUX_{flavor}_{image.upper()}"]
    initrd = rootfs_env["KILN_ROOTFS_INITRAMFS"]
    scale = float(os.environ.get("KILN_LINUX_TIMEOUT_SCALE", "1"))
    argv = [
        str(KILN),
        "--kernel", kernel,
        "--initrd", initrd,
        "--boot-args", boot_args(),
        "--mem-mib", str(MEM_MIB),
        "--vcpus", "1",
        "--log-level", "info",
    ]

    failures = []
    for attempt in range(1, ATTEMPTS + 1):
        boot = Boot(argv)
        status = boot.wait(TIMEOUTS[image] * scale)
        why = check_boot(boot, status)
        if why is None:
            for mark, secs in boot.marks.items():
                record_property(f"{image}_{mark}_s", round(secs, 1))
            print(
                f"\n{image}: KILN-INIT-OK at {boot.marks['KILN-INIT-OK']:.1f} s, "
                f"KILN-INIT-DONE at {boot.marks['KILN-INIT-DONE']:.1f} s "
                f"(attempt {attempt})"
            )
            return
        failures.append(f"attempt {attempt}: {why}")
    pytest.fail("\n\n".join(failures))
