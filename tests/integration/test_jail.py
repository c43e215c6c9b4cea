# SPDX-License-Identifier: MIT
"""kiln --jail (issue 5 item 1, SECURITY.md "Jail"): a jailed kiln boots the test
guest through the API socket created inside the jail, and while the guest holds,
every thread is checked from the outside (credentials, capabilities, no_new_privs,
namespaces, root, fds, environment, cgroup, rlimits). Then the jail-path attacks:
each is refused with a clear ``kiln: error:`` and leaves no jail behind.

Needs root (kiln refuses --jail otherwise); skipped, with the reason, when not root.
"""
import json
import os
import pathlib
import stat
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="kiln --jail needs root")

UID = GID = 65534
EXIT_JAIL_DIRS = 50  # JAIL_EXIT_STEP_BASE 40 + row 10 "jail-dirs"
EXIT_SIGXFSZ = 151


def cgroup2_mount():
    for m in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(m, "cgroup.controllers")):
            return m
    return None


class Jail:
    """One jail: <tmp>/base/kiln/<id>/root, its cgroup, and the kiln inside."""

    def __init__(self, tmp_path):
        self.id = "test-" + uuid.uuid4().hex[:12]
        self.base = tmp_path / "base"
        self.root = self.base / "kiln" / self.id / "root"
        self.out = tmp_path / "stdout.txt"
        self.err = tmp_path / "stderr.txt"
        self.proc = None
        self.cg = cgroup2_mount()

    def args(self, extra=()):
        return ["--jail", "--id", self.id, "--uid", str(UID), "--gid", str(GID),
                "--chroot-base", str(self.base)] + list(extra)

    def start(self, kiln, extra=(), env=None, pass_fds=(), wrap=()):
        """wrap: a command line kiln is started through (it must exec kiln)."""
        rfd, self.stdin_w = os.pipe()
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(list(wrap) + [kiln] + self.args(extra), stdin=rfd,
                                         stdout=out, stderr=err, env=env or {},
                                         pass_fds=pass_fds)
        os.close(rfd)

    def wait_sock(self, timeout=5):
        sock = str(self.root / "api.sock")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(sock):
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(sock)
                    return sock
                except OSError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        raise AssertionError("jailed API socket never came up\n" + self.describe())

    def request(self, method, path, body):
        data = json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                f"application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(self.root / "api.sock"))
            s.sendall(head + data)
            resp = b""
            while b"\r\n\r\n" not in resp:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
        status = int(resp.split(b" ", 2)[1])
        assert status == 204, resp.decode(errors="replace") + self.describe()

    def wait_stdout(self, needle, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.out.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError(f"{needle!r} never appeared\n" + self.describe())

    def describe(self):
        out = self.out.read_text(errors="replace") if self.out.exists() else ""
        err = self.err.read_text(errors="replace") if self.err.exists() else ""
        return f"--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.proc:
            os.close(self.stdin_w)
        cgdir = os.path.join(self.cg, "kiln", self.id) if self.cg else None
        if cgdir and os.path.isdir(cgdir):
            # A daemon a failed test left running: it is in this jail's cgroup.
            with open(os.path.join(cgdir, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
            deadline = time.monotonic() + 10
            while open(os.path.join(cgdir, "cgroup.procs")).read().strip() and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            os.rmdir(cgdir)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def jail(tmp_path):
    j = Jail(tmp_path)
    yield j
    j.cleanup()


def status_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def test_jailed_kiln_boots_the_guest_confined(kiln, guest, jail):
    """Every thread: uid/gid, no caps in any set, no_new_privs; own mnt/ipc/uts/net
    namespaces; root is the jail; only kiln's own fds; empty environment; cgroup
    values and rlimits applied. The API socket lives inside the jail."""
    os.makedirs(jail.root)
    shutil.copy(guest("pvh"), jail.root / "tg.elf")
    cg_args, cg_expect = [], {}
    if jail.cg:
        cg_args += ["--cgroup", "cgroup.max.descendants=0"]
        cg_expect["cgroup.max.descendants"] = "0"
        with open(os.path.join(jail.cg, "cgroup.controllers")) as f:
            if "pids" in f.read().split():
                cg_args += ["--cgroup", "pids.max=64"]
                cg_expect["pids.max"] = "64"
    leak_r, leak_w = os.pipe()
    try:
        jail.start(kiln, ["--api-sock", "/api.sock", "--resource-limit", "no-file=128",
                          "--resource-limit", "fsize=1048576"] + cg_args,
                   env={"KILN_TEST_SECRET": "hunter2"}, pass_fds=(leak_r,))
        leaked = os.fstat(leak_r).st_ino
    finally:
        os.close(leak_r)
        os.close(leak_w)
    jail.wait_sock()
    jail.request("PUT", "/boot-source", {
        "kernel_image_path": "/tg.elf",
        "boot_args": "console=ttyS0 ktest=serial,boottimer ktest.mem_mib=128 ktest.cpus=2 "
                     "ktest.hold=1"})
    jail.request("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128})
    jail.request("PUT", "/actions", {"action_type": "InstanceStart"})
    jail.wait_stdout("KTEST HOLD")
    pid = jail.proc.pid

    tasks = os.listdir(f"/proc/{pid}/task")
    assert len(tasks) >= 3, tasks  # main + 2 vCPUs
    for tid in tasks:
        st = status_fields(f"/proc/{pid}/task/{tid}/status")
        assert st["Uid"].split() == [str(UID)] * 4, (tid, st["Uid"])
        assert st["Gid"].split() == [str(GID)] * 4, (tid, st["Gid"])
        assert st["Groups"] == "", (tid, st["Groups"])
        assert st["NoNewPrivs"] == "1", tid
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[cap], 16) == 0, (tid, cap, st[cap])

    for ns in ("mnt", "ipc", "uts", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    rst, jst = os.stat(f"/proc/{pid}/root"), os.stat(jail.root)
    assert (rst.st_dev, rst.st_ino) == (jst.st_dev, jst.st_ino)
    assert os.path.exists(f"/proc/{pid}/root/tg.elf")
    assert not os.path.exists(f"/proc/{pid}/root/etc")
    assert sorted(os.listdir(f"/proc/{pid}/root/dev")) in (
        ["kvm", "net", "null", "urandom"], ["kvm", "null", "urandom"])
    kvm = os.stat(jail.root / "dev" / "kvm")
    assert (kvm.st_uid, kvm.st_gid, kvm.st_mode) == (UID, GID, 0o20600)
    assert kvm.st_rdev == os.stat("/dev/kvm").st_rdev
    assert os.stat(jail.root).st_uid == UID and os.stat(jail.root).st_mode & 0o777 == 0o700

    allowed = ("anon_inode:", "pipe:", "socket:", "/dev/kvm", "/dev/null")
    stderr = os.readlink(f"/proc/{pid}/fd/2")
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        # 0-2 are the launcher's stdio, kept on purpose (log.c holds a dup of 2);
        # everything else is kiln's own: KVM, eventfds, epoll, the API socket and
        # its spare /dev/null.
        assert fd in ("0", "1", "2") or target.startswith(allowed) or target == stderr, \
            (fd, target)
        assert target != f"pipe:[{leaked}]", "an inherited fd crossed into the jail"

    with open(f"/proc/{pid}/environ", "rb") as f:
        assert f.read().strip(b"\0") == b"", "the environment reached the jail"

    limits = open(f"/proc/{pid}/limits").read()
    assert [l for l in limits.splitlines() if l.startswith("Max open files")][0].split()[3:5] \
        == ["128", "128"], limits
    assert [l for l in limits.splitlines() if l.startswith("Max file size")][0].split()[3:5] \
        == ["1048576", "1048576"], limits

    if jail.cg:
        cgdir = os.path.join(jail.cg, "kiln", jail.id)
        for knob, val in cg_expect.items():
            assert open(os.path.join(cgdir, knob)).read().strip() == val, knob
        assert str(pid) in open(os.path.join(cgdir, "cgroup.procs")).read().split()

    jail.proc.send_signal(signal.SIGTERM)
    assert jail.proc.wait(timeout=10) == 0, jail.describe()
    assert "KTEST serial PASS" in jail.out.read_text()


def test_fsize_limit_ends_kiln_with_the_sigxfsz_code(kiln, guest, jail):
    """--resource-limit fsize=1 and a serial-out file that must grow: SIGXFSZ's exit code."""
    os.makedirs(jail.root)
    shutil.copy(guest("pvh"), jail.root / "tg.elf")
    # stderr is a pipe here: the limit would cut a log file at one byte too.
    p = subprocess.run([kiln] + jail.args(["--resource-limit", "fsize=1", "--kernel", "/tg.elf",
                                           "--serial-out", "/serial.log", "--boot-args",
                                           "console=ttyS0 ktest=serial"]),
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == EXIT_SIGXFSZ, (p.returncode, p.stderr)
    assert "fatal signal SIGXFSZ" in p.stderr, p.stderr
    assert os.path.getsize(jail.root / "serial.log") == 1


@pytest.mark.skipif(cgroup2_mount() is None, reason="no cgroup v2 to find the daemon's pid in")
def test_daemonize_detaches_into_its_own_session(kiln, jail):
    """--daemonize: the launcher returns 0 at once; the daemon leads its own session,
    has /dev/null (the jail's) as stdio, and serves the API inside the jail."""
    os.makedirs(jail.root)
    jail.start(kiln, ["--daemonize", "--api-sock", "/api.sock",
                      "--cgroup", "cgroup.max.descendants=0"])
    assert jail.proc.wait(timeout=10) == 0, jail.describe()
    pid = daemon_pid(jail)
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        assert int(stat[3]) == pid, "not a session leader"  # field 6: session
        null = os.stat("/dev/null").st_rdev
        for fd in (0, 1, 2):
            assert os.stat(f"/proc/{pid}/fd/{fd}").st_rdev == null, fd
        connect_api(jail.root / "api.sock")
    finally:
        stop_daemon(pid)


def daemon_pid(jail, timeout=20):
    """The one process left in a daemonized jail's cgroup once its API socket exists
    (the launcher returns before the cgroup step, so wait for both)."""
    procs = os.path.join(jail.cg, "kiln", jail.id, "cgroup.procs")
    deadline, pids = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        pids = open(procs).read().split() if os.path.exists(procs) else []
        if len(pids) == 1 and (jail.root / "api.sock").exists():
            break
        time.sleep(0.01)
    assert len(pids) == 1, pids
    return int(pids[0])


def stop_daemon(pid, timeout=10):
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.01)


def connect_api(path, timeout=10):
    """Connect to a daemon's API socket: the path exists from bind(), a moment before
    listen(), so a refusal right then is retried, not a failure."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(path))
                return
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.01)


def run_refused(kiln, args, code):
    p = subprocess.run([kiln] + args + ["--kernel", "/tg.elf"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode == code, (p.returncode, p.stderr)
    assert "kiln: error:" in p.stderr, p.stderr
    return p.stderr


@pytest.mark.parametrize("bad_id", ["a/b", "..", "../../etc", "x" * 65, ""])
def test_bad_jail_id_is_refused(kiln, jail, bad_id):
    args = jail.args()
    args[args.index(jail.id)] = bad_id
    err = run_refused(kiln, args, 1)
    assert "--id must match" in err
    assert not jail.base.exists()


def test_symlink_at_jail_root_is_refused(kiln, jail, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(jail.root.parent)
    os.symlink(elsewhere, jail.root)
    err = run_refused(kiln, jail.args(), EXIT_JAIL_DIRS)
    assert "jail step jail-dirs" in err and "symbolic link" in err, err
    assert os.stat(elsewhere).st_uid == 0 and os.listdir(elsewhere) == []


def test_hard_link_in_jail_is_refused(kiln, jail, tmp_path):
    host_file = tmp_path / "host-secret"
    host_file.write_text("host data")
    os.makedirs(jail.root)
    os.link(host_file, jail.root / "tg.elf")
    err = run_refused(kiln, jail.args(), EXIT_JAIL_DIRS)
    assert "jail step jail-dirs" in err and "hard link" in err, err


def test_regular_file_at_jail_root_is_refused(kiln, jail):
    os.makedirs(jail.root.parent)
    jail.root.write_text("not a directory")
    err = run_refused(kiln, jail.args(), EXIT_JAIL_DIRS)
    assert "not a directory" in err, err


def test_symlinked_chroot_base_is_refused(kiln, jail, tmp_path):
    real = tmp_path / "real-base"
    real.mkdir()
    os.symlink(real, jail.base)
    err = run_refused(kiln, jail.args(), EXIT_JAIL_DIRS)
    assert "symbolic link" in err, err
    assert os.listdir(real) == []


def boot_and_hold(jail, guest, tests="serial,cpus"):
    """Copy the test guest in, boot it with 2 vCPUs through the jailed API socket and
    wait until it holds (every vCPU thread exists and has its filter)."""
    jail.wait_sock()
    jail.request("PUT", "/boot-source", {
        "kernel_image_path": "/tg.elf",
        "boot_args": f"console=ttyS0 ktest={tests} ktest.mem_mib=128 ktest.cpus=2 "
                     "ktest.hold=1"})
    jail.request("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128})
    jail.request("PUT", "/actions", {"action_type": "InstanceStart"})
    jail.wait_stdout("KTEST HOLD")


def assert_confined(pid, uid=UID, min_tasks=3, seccomp="2"):
    """Every thread: the jail uid, no capability in any set, no_new_privs, seccomp."""
    tasks = os.listdir(f"/proc/{pid}/task")
    assert len(tasks) >= min_tasks, tasks
    for tid in tasks:
        st = status_fields(f"/proc/{pid}/task/{tid}/status")
        assert st["Uid"].split() == [str(uid)] * 4, (tid, st["Uid"])
        assert st["NoNewPrivs"] == "1", tid
        if not open(f"/proc/{pid}/task/{tid}/comm").read().startswith("kvm-"):
            assert st["Seccomp"] == seccomp, (tid, st["Seccomp"])
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[cap], 16) == 0, (tid, cap, st[cap])


def children_of(ppid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if status_fields(f"/proc/{d}/status").get("PPid") == str(ppid):
                    kids.append(int(d))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return kids


def test_new_pid_ns_runs_the_vm_as_pid_1(kiln, guest, jail):
    """--new-pid-ns: the launcher forks once, last; the child is PID 1 of a new PID
    namespace, runs the guest confined like any jailed kiln (every thread: Seccomp 2,
    no caps, no_new_privs); the parent is as confined, under a filter of its own,
    forwards SIGTERM and exits with the child's 0."""
    os.makedirs(jail.root)
    shutil.copy(guest("pvh"), jail.root / "tg.elf")
    jail.start(kiln, ["--new-pid-ns", "--api-sock", "/api.sock", "--log-level", "info"])
    boot_and_hold(jail, guest)
    parent = jail.proc.pid
    kids = children_of(parent)
    assert len(kids) == 1, kids
    child = kids[0]
    assert os.readlink(f"/proc/{child}/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{parent}/ns/pid") == os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{parent}/ns/pid_for_children") == \
        os.readlink(f"/proc/{child}/ns/pid")
    assert status_fields(f"/proc/{child}/status")["NSpid"].split() == [str(child), "1"]
    assert_confined(child)
    assert_confined(parent, min_tasks=1)  # its own seven-row filter (pidns.c)
    assert status_fields(f"/proc/{parent}/status")["Seccomp_filters"] == "1"
    rst, jst = os.stat(f"/proc/{parent}/root"), os.stat(jail.root)
    assert (rst.st_dev, rst.st_ino) == (jst.st_dev, jst.st_ino)
    # The parent holds stdio and the pipe whose closing tells the child it is gone.
    extra = [os.readlink(f"/proc/{parent}/fd/{fd}") for fd in os.listdir(f"/proc/{parent}/fd")
             if fd not in ("0", "1", "2")]
    assert len(extra) == 1 and extra[0].startswith("pipe:"), extra

    jail.proc.send_signal(signal.SIGTERM)  # to the parent: forwarded to PID 1
    assert jail.proc.wait(timeout=10) == 0, jail.describe()
    assert not os.path.exists(f"/proc/{child}")
    out = jail.out.read_text()
    assert "KTEST serial PASS" in out and "KTEST cpus PASS" in out, out
    assert "received Terminated, stopping" in jail.err.read_text(), jail.describe()


@pytest.mark.parametrize("case", ["missing-kernel", "seccomp-kill", "child-killed",
                                  "sigint-forwarded"])
def test_new_pid_ns_exit_code_propagates(kiln, build_dir, guest, jail, case):
    """The parent exits with the child's code: a start-up failure (1), a forbidden
    syscall on a vCPU thread of PID 1 (kiln-selftest: 148, the SIGSYS handler runs for
    PID 1 too), a SIGKILL of the child from outside (128 + 9), SIGINT to the parent
    (forwarded through its filter: a clean stop, 0)."""
    os.makedirs(jail.root)
    shutil.copy(guest("pvh"), jail.root / "tg.elf")
    args = ["--new-pid-ns", "--kernel", "/tg.elf", "--boot-args",
            "console=ttyS0 ktest=serial ktest.hold=1"]
    binary, want = kiln, None
    if case == "missing-kernel":
        args[args.index("/tg.elf")] = "/no-such-kernel"
        want = 1
    elif case == "seccomp-kill":
        binary = os.path.join(build_dir, "kiln-selftest")
        args = ["--seccomp-selftest", "vcpu"] + args
        want = 148
    jail.start(binary, args)
    if case == "child-killed":
        jail.wait_stdout("KTEST HOLD")
        kids = children_of(jail.proc.pid)
        assert len(kids) == 1, kids
        os.kill(kids[0], signal.SIGKILL)
        want = 128 + signal.SIGKILL
    if case == "sigint-forwarded":
        jail.wait_stdout("KTEST HOLD")
        jail.proc.send_signal(signal.SIGINT)
        want = 0
    assert jail.proc.wait(timeout=30) == want, jail.describe()
    if case == "seccomp-kill":
        assert "made forbidden syscall" in jail.err.read_text(), jail.describe()


def userns_unavailable():
    """Why this host cannot run kiln unprivileged in a user namespace, or None."""
    for path in ("/proc/sys/kernel/unprivileged_userns_clone",
                 "/proc/sys/user/max_user_namespaces"):
        if os.path.exists(path) and open(path).read().strip() == "0":
            return f"{path} is 0: unprivileged user namespaces are disabled"
    if not shutil.which("setpriv") or not shutil.which("unshare"):
        return "setpriv/unshare (util-linux) missing"
    r = subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups", "--",
                        "unshare", "--user", "true"], capture_output=True, text=True)
    if r.returncode:
        return "uid %d cannot create a user namespace: %s" % (UID, r.stderr.strip())
    return None


@pytest.fixture
def userns_jail():
    """A jail whose base the unprivileged uid can reach (pytest's tmp is root-only),
    and a private node for /dev/kvm owned by it: the host's node is left alone."""
    why = userns_unavailable()
    if why:
        pytest.skip(why)
    top = tempfile.mkdtemp(prefix=f"kiln-userns-{os.getpid()}-")
    os.chmod(top, 0o755)
    kvm = os.stat("/dev/kvm")
    node = os.path.join(top, "kvm")
    os.mknod(node, 0o600 | stat.S_IFCHR, kvm.st_rdev)
    os.chown(node, UID, GID)
    j = Jail(pathlib.Path(top))
    os.makedirs(j.root)
    # unshare execs sh, sh execs setpriv, setpriv execs kiln: the pid is kiln's.
    j.wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /dev/kvm && exec setpriv --reuid=%d --regid=%d '
              '--clear-groups -- "$@"' % (UID, GID), node]
    yield j
    j.cleanup()
    shutil.rmtree(top, ignore_errors=True)


def own_tree(path):
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, UID, GID)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), UID, GID)


@pytest.mark.parametrize("pidns", [False, True], ids=["userns", "userns+pidns"])
def test_unprivileged_kiln_jails_itself_in_a_user_namespace(kiln, guest, userns_jail, pidns):
    """kiln started as uid 65534 (no capabilities; /dev/kvm usable through a node of
    its own, as a kvm group would allow) with --jail: a user namespace maps --uid/--gid
    to it, the host's /dev/kvm is bind-mounted into the jail, and the guest runs with
    every thread at caps 0, NoNewPrivs 1, Seccomp 2, in its own user (and mnt, ipc,
    uts, net) namespaces; SIGTERM stops it with 0."""
    j = userns_jail
    shutil.copy(guest("pvh"), j.root / "tg.elf")
    own_tree(j.base)
    j.start(kiln, (["--new-pid-ns"] if pidns else []) + ["--api-sock", "/api.sock"],
            wrap=j.wrap)
    boot_and_hold(j, guest)
    pid = children_of(j.proc.pid)[0] if pidns else j.proc.pid
    for ns in ("user", "mnt", "ipc", "uts", "net") + (("pid",) if pidns else ()):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert_confined(pid)
    uid_map = open(f"/proc/{pid}/uid_map").read().split()
    assert uid_map == [str(UID), str(UID), "1"], uid_map
    assert open(f"/proc/{pid}/setgroups").read().strip() == "deny"
    rst, jst = os.stat(f"/proc/{pid}/root"), os.stat(j.root)
    assert (rst.st_dev, rst.st_ino) == (jst.st_dev, jst.st_ino)
    # The jail's /dev/kvm is the host's node, bound in (no mknod in a user namespace).
    assert os.stat(f"/proc/{pid}/root/dev/kvm").st_rdev == os.stat("/dev/kvm").st_rdev
    assert not os.path.exists(f"/proc/{pid}/root/etc")

    j.proc.send_signal(signal.SIGTERM)
    assert j.proc.wait(timeout=10) == 0, j.describe()
    out = j.out.read_text()
    assert "KTEST serial PASS" in out and "KTEST cpus PASS" in out, out


@pytest.mark.parametrize("case", ["cgroup", "netns", "no-kvm-access"])
def test_unprivileged_refusals_are_clear(kiln, userns_jail, case):
    """What an unprivileged kiln cannot do is refused up front, by name."""
    j = userns_jail
    own_tree(j.base)
    wrap, extra = j.wrap, []
    if case == "cgroup":
        extra, code, needle = ["--cgroup", "pids.max=8"], 40, "--cgroup needs root"
    elif case == "netns":
        extra, code, needle = ["--netns", "/run/netns/x"], 40, "--netns needs root"
    else:  # the host's root-only /dev/kvm, no private node
        wrap = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups", "--"]
        code, needle = 45, "/dev/kvm is not readable and writable by uid 65534"
    if case == "no-kvm-access" and os.stat("/dev/kvm").st_mode & 0o006 == 0o006:
        pytest.skip("/dev/kvm is world-accessible here")
    j.start(kiln, extra + ["--kernel", "/tg.elf"], wrap=wrap)
    assert j.proc.wait(timeout=10) == code, j.describe()
    assert needle in j.err.read_text(), j.describe()


@pytest.mark.skipif(cgroup2_mount() is None, reason="no cgroup v2 to find the daemon's pid in")
def test_new_pid_ns_with_daemonize_leaves_only_pid_1(kiln, jail):
    """--daemonize --new-pid-ns: the launcher returns 0, the pid-ns parent exits at
    once, and what is left is PID 1 of its namespace, serving the jailed API."""
    os.makedirs(jail.root)
    jail.start(kiln, ["--daemonize", "--new-pid-ns", "--api-sock", "/api.sock",
                      "--cgroup", "cgroup.max.descendants=0"])
    assert jail.proc.wait(timeout=10) == 0, jail.describe()
    pid = daemon_pid(jail)
    try:
        assert status_fields(f"/proc/{pid}/status")["NSpid"].split() == [str(pid), "1"]
        assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
        connect_api(jail.root / "api.sock")
    finally:
        stop_daemon(pid)
    assert not os.path.exists(f"/proc/{pid}")
