# SPDX-License-Identifier: MIT
"""Shared fixtures for kiln's integration tests.

- ``build_dir``: ``$KILN_BUILD`` or ``<repo>/build``.
- ``kiln``: path of the kiln binary (the test fails, not skips, if it is missing:
  ``make integration`` builds it first).
- ``guest``: ``guest("pvh")`` / ``guest("linux64")`` → test-guest image path.
- ``run_kiln(args, timeout=30)``: runs kiln with stdin an open pipe (never
  /dev/null), captures stdout (the guest serial console) and stderr (logs), and
  returns a ``KilnRun`` with the exit code and the parsed ``KTEST`` lines.

Every test here is skipped, with the reason given, only when /dev/kvm is absent.

Jailed runs: every test of ``JAILED_MODULES`` (the virtio and API suites) runs
twice, ``[plain]`` and ``[jailed]`` (the latter root only, skipped otherwise).
In a jailed run ``tmp_path`` *is* the jail root ``<base>/kiln/<id>/root`` (a
fresh chroot base per test, removed afterwards), ``guest()`` copies the test
guest into it, and every kiln started through ``run_kiln``/``start_kiln`` (or
``kiln_jail.argv``) gets ``--jail --id ID --uid 65534 --gid 65534 --chroot-base
BASE`` with host paths under the root rewritten to jail paths (``<root>/x`` ->
``/x``); what kiln creates there (API socket, logs, images) is at the same host
path the test already uses. Files in the root are chowned to 65534 first.
"""
import os
import re
import signal
import subprocess
import shutil
import time
import uuid
from dataclasses import dataclass, field

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_TIMEOUT = 30
GUEST_FILES = {"pvh": "testguest.elf", "linux64": "testguest-linux64.elf"}

JAILED_MODULES = ("test_virtio.py", "test_api.py", "test_vsock.py", "test_ratelimit.py")
JAIL_UID = JAIL_GID = 65534

_KTEST_RESULT = re.compile(r"^KTEST (\S+) (PASS|FAIL)(?: (.*))?$")
_KTEST_INFO = re.compile(r"^KTEST-INFO (\S+) ?(.*)$")


def pytest_generate_tests(metafunc):
    if os.path.basename(str(metafunc.definition.fspath)) in JAILED_MODULES:
        metafunc.fixturenames.append("kiln_jail")
        metafunc.parametrize("kiln_jail", ["plain", "jailed"], indirect=True)


class KilnJail:
    """A fresh chroot base whose jail root is the test's tmp_path."""

    def __init__(self, base):
        self.id = "it-" + uuid.uuid4().hex[:12]
        self.base = base
        self.root = base / "kiln" / self.id / "root"
        os.makedirs(self.root)

    def path(self, host_path):
        """The jail-side name of @host_path (which must be under the root)."""
        rel = os.path.relpath(str(host_path), str(self.root))
        assert not rel.startswith(".."), f"{host_path} is outside the jail root"
        return "/" + rel

    def text(self, s):
        """@s with every host path under the root made jail-relative."""
        return s.replace(str(self.root) + "/", "/")

    def chown(self):
        """Hand what the test put in the root to the jail user (kiln runs as it)."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), JAIL_UID, JAIL_GID)

    def argv(self, args):
        """kiln arguments (without the binary) for a jailed run of @args."""
        jail_id = ["--id", self.id]
        if "--id" in args:
            # --id names the jail too: a test that sets it must use kiln_jail.id.
            assert args[args.index("--id") + 1] == self.id, "jailed: pass --id kiln_jail.id"
            jail_id = []
        self.chown()
        return (["--jail"] + jail_id + ["--uid", str(JAIL_UID), "--gid", str(JAIL_GID),
                 "--chroot-base", str(self.base)] + [self.text(str(a)) for a in args])


@pytest.fixture
def kiln_jail(request, tmp_path_factory):
    """None (plain run), or the KilnJail of a ``[jailed]`` run."""
    if getattr(request, "param", "plain") == "plain":
        yield None
        return
    if os.geteuid() != 0:
        pytest.skip("kiln --jail needs root")
    base = tmp_path_factory.mktemp("jailbase")
    yield KilnJail(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def tmp_path(tmp_path, kiln_jail):
    """pytest's tmp_path, or the jail root in a ``[jailed]`` run."""
    return kiln_jail.root if kiln_jail else tmp_path


def pytest_collection_modifyitems(config, items):
    if os.path.exists("/dev/kvm"):
        return
    skip = pytest.mark.skip(reason="/dev/kvm is absent: kiln integration tests need KVM")
    for item in items:
        if "tests/integration" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@dataclass
class KilnRun:
    args: list
    returncode: int
    stdout: str
    stderr: str
    duration: float
    results: dict = field(default_factory=dict)  # test name -> (PASS|FAIL, reason)
    info: dict = field(default_factory=dict)  # test name -> KTEST-INFO text
    boot: str = None  # "pvh" / "linux64" from "KTEST BOOT ..."
    done: bool = False
    panic: str = None  # text after "KTEST PANIC"

    def describe(self):
        return (f"kiln {' '.join(self.args)}\n-> exit {self.returncode} after "
                f"{self.duration:.2f}s\n--- stdout ---\n{self.stdout[-4000:]}"
                f"\n--- stderr ---\n{self.stderr[-4000:]}")

    def error_lines(self):
        return [l for l in self.stderr.splitlines() if "kiln: error:" in l]


def parse_console(run):
    for raw in run.stdout.splitlines():
        line = raw.rstrip("\r")
        if line == "KTEST DONE":
            run.done = True
        elif line.startswith("KTEST BOOT "):
            # A run stopped by a signal can end mid-line ("KTEST BOOT " and no more).
            parts = line.split()
            run.boot = parts[2] if len(parts) > 2 else None
        elif line.startswith("KTEST PANIC"):
            run.panic = line[len("KTEST PANIC"):].strip()
        elif (m := _KTEST_RESULT.match(line)):
            run.results[m.group(1)] = (m.group(2), m.group(3) or "")
        elif (m := _KTEST_INFO.match(line)):
            run.info[m.group(1)] = m.group(2)
    return run


class KilnProcess:
    """A running kiln with its stdin held open; for signal tests."""

    def __init__(self, kiln, args, cwd=None):
        self.args = list(args)
        rfd, self._stdin_w = os.pipe()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([kiln] + self.args, stdin=rfd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd)
        os.close(rfd)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=DEFAULT_TIMEOUT):
        """Waits for exit (killing kiln on timeout) and returns (KilnRun, timed_out)."""
        timed_out = False
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.proc.kill()
            out, err = self.proc.communicate()
        finally:
            os.close(self._stdin_w)
        run = KilnRun(self.args, self.proc.returncode, out.decode(errors="replace"),
                      err.decode(errors="replace"), time.monotonic() - self.t0)
        return parse_console(run), timed_out


@pytest.fixture(scope="session")
def build_dir():
    return os.environ.get("KILN_BUILD", os.path.join(REPO, "build"))


@pytest.fixture(scope="session")
def kiln(build_dir):
    path = os.path.join(build_dir, "kiln")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} missing: run `make` first (or set KILN_BUILD)")
    return path


@pytest.fixture
def guest(build_dir, kiln_jail):
    """guest(boot) -> image path; in a jailed run, a copy inside the jail root."""
    def get(boot="pvh"):
        path = os.path.join(build_dir, GUEST_FILES[boot])
        if not os.path.exists(path):
            pytest.fail(f"{path} missing: run `make testguest`")
        if kiln_jail:
            copy = kiln_jail.root / ("guest-" + GUEST_FILES[boot])
            if not copy.exists():
                shutil.copy(path, copy)
            path = str(copy)
        return path
    return get


@pytest.fixture
def run_kiln(kiln, tmp_path, kiln_jail):
    """run_kiln(args, timeout=30) -> KilnRun; fails the test on timeout.

    kiln runs in a fresh temporary directory so that a core file would be seen.
    """
    def run(args, timeout=DEFAULT_TIMEOUT):
        args = kiln_jail.argv(args) if kiln_jail else [str(a) for a in args]
        p = KilnProcess(kiln, args, cwd=tmp_path)
        r, timed_out = p.finish(timeout)
        if timed_out:
            pytest.fail(f"kiln did not exit within {timeout}s\n" + r.describe())
        return r
    return run


@pytest.fixture
def start_kiln(kiln, tmp_path, kiln_jail):
    """start_kiln(args) -> KilnProcess (for signal tests); killed at teardown."""
    procs = []

    def start(args):
        args = kiln_jail.argv(args) if kiln_jail else [str(a) for a in args]
        p = KilnProcess(kiln, args, cwd=tmp_path)
        procs.append(p)
        return p
    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait()


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


@pytest.fixture
def netns():
    """A fresh, empty network namespace (loopback only), deleted afterwards."""
    name = f"kt{os.getpid()}{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    yield name
    sh("ip", "netns", "del", name, check=False)


def tap_name():
    return "kt" + uuid.uuid4().hex[:10]


def guest_args(image, tests, vcpus=1, mem_mib=128, extra=()):
    """kiln arguments for one test-guest boot with the expectations filled in."""
    boot_args = (f"ktest={tests} ktest.mem_mib={mem_mib} ktest.cpus={vcpus} "
                 f"ktest.cmdline_magic=kiln-42")
    return ["--kernel", image, "--mem-mib", str(mem_mib), "--vcpus", str(vcpus),
            "--boot-args", boot_args] + list(extra)


def assert_clean_exit(run, code=0):
    assert run.returncode == code, run.describe()
