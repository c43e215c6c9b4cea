# SPDX-License-Identifier: MIT
"""virtio-vsock (docs/VIRTIO.md "virtio-vsock"): a host process and the test
guest exchange bytes in both directions through kiln's Unix-socket back end.

- Guest-initiated: the guest connects to host port P; kiln connects to
  ``<uds_path>_P``, where an echo server of this test answers.
- Host-initiated: once the guest prints that it listens on port L, this test
  connects to ``uds_path``, sends ``CONNECT L``, expects ``OK <port>`` and
  checks that every chunk comes back unchanged.
- Hostile: ``ktest=vsock_hostile`` (bad CIDs, ops, types, lengths, credit
  violations, the connection limit, a bad RX buffer) against a listener that
  accepts nothing; every case passes and kiln exits 0.

Every test runs plain and jailed (conftest ``JAILED_MODULES``).
"""
import os
import select
import socket
import threading
import time

import pytest

from conftest import assert_clean_exit, guest_args, parse_console, KilnRun

GUEST_CID = 42
ECHO_PORT = 5000
LISTEN_PORT = 1234
HOSTILE_COUNT = 13  # kernel/testguest/test_vsock.c hv_cases
CHUNKS = [1, 100, 4096, 16384, 60000, 7]


class Listener(threading.Thread):
    """A Unix listener at @path; echoes each connection, or (echo=False) never accepts."""

    def __init__(self, path, echo=True):
        super().__init__(daemon=True)
        self.path = str(path)
        self.echo = echo
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)  # a jailed kiln (uid 65534) connects too
        self.sock.listen(256)
        self.stop = threading.Event()
        self.conns = 0
        self.echoed = 0
        if echo:
            self.start()

    def _serve(self, c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)
                self.echoed += len(data)

    def run(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if r:
                c, _ = self.sock.accept()
                self.conns += 1
                threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.stop.set()
        if self.echo:
            self.join(5)
        self.sock.close()


def wait_line(proc, needle, timeout=60):
    """Read kiln's stdout until a line containing @needle; returns what was read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            break
        r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return buf


def host_echo_client(uds, port, chunks):
    """CONNECT to guest @port through kiln, send each chunk and check its echo."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        assert b, f"kiln closed before answering CONNECT: {line!r}"
        line += b
    assert line.startswith(b"OK ") and line[3:-1].isdigit(), line
    sent = 0
    for i, n in enumerate(chunks):
        data = bytes((i * 7 + k) & 0xff for k in range(n))
        s.sendall(data)
        back = b""
        while len(back) < n:
            b = s.recv(n - len(back))
            assert b, f"connection closed after {len(back)} of {n} echoed bytes"
            back += b
        assert back == data, f"chunk {i} ({n} bytes) came back changed"
        sent += n
    s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b"", "kiln did not close the connection after the guest did"
    s.close()
    return sent, int(line[3:-1])


def vsock_args(guest, tests, uds, port, extra_boot=""):
    args = guest_args(guest, tests, extra=["--vsock", f"{GUEST_CID},{uds}"])
    i = args.index("--boot-args") + 1
    args[i] += (f" ktest.vsock_cid={GUEST_CID} ktest.vsock_port={port}"
                f" ktest.vsock_listen={LISTEN_PORT} {extra_boot}")
    return args


def finish(p, stdout_so_far, timeout=60):
    run, timed_out = p.finish(timeout)
    assert not timed_out, "kiln did not exit\n" + run.describe()
    run.stdout = stdout_so_far.decode(errors="replace") + run.stdout
    return parse_console(KilnRun(run.args, run.returncode, run.stdout, run.stderr,
                                 run.duration))


def start_listening_guest(start_kiln, guest, uds):
    """kiln with ktest=vsock_echo, once the guest waits for the host's connection."""
    p = start_kiln(vsock_args(guest(), "vsock_echo", uds, ECHO_PORT))
    out = wait_line(p.proc, f"listening port={LISTEN_PORT}")
    assert b"listening" in out, out.decode(errors="replace")
    return p, out


def test_vsock_echo_both_directions(start_kiln, guest, tmp_path):
    uds = tmp_path / "v.sock"
    echo = Listener(f"{uds}_{ECHO_PORT}")
    try:
        p, out = start_listening_guest(start_kiln, guest, uds)
        sent, host_port = host_echo_client(str(uds), LISTEN_PORT, CHUNKS)
        run = finish(p, out)
    finally:
        echo.close()
    assert_clean_exit(run)
    assert run.results.get("vsock_echo", ("?",))[0] == "PASS", run.describe()
    assert run.done, run.describe()
    assert sent == sum(CHUNKS)
    assert host_port >= 0x40000000, host_port
    info = run.info["vsock_echo"]
    assert f"cid={GUEST_CID}" in info and f"host_initiated_bytes={sent}" in info, info
    assert echo.conns == 1 and echo.echoed > 0, (echo.conns, echo.echoed)
    assert not uds.exists(), "kiln left its vsock socket behind"


def test_vsock_hostile(start_kiln, guest, tmp_path):
    uds = tmp_path / "v.sock"
    holder = Listener(f"{uds}_{ECHO_PORT}", echo=False)
    try:
        p = start_kiln(vsock_args(guest(), "vsock_hostile", uds, ECHO_PORT))
        run = finish(p, b"", timeout=120)
    finally:
        holder.close()
    assert_clean_exit(run)
    hostile = {k: v for k, v in run.results.items() if k.startswith("hostile_vsock_")}
    failed = {k: v for k, v in hostile.items() if v[0] != "PASS"}
    assert not failed, f"hostile vsock tests failed: {failed}\n" + run.describe()
    assert len(hostile) == HOSTILE_COUNT, run.describe()
    assert run.done, run.describe()
    assert "accepted=64 refused=6" in run.info["hostile_vsock_conn_limit"]


def test_vsock_bad_connect_lines_are_refused(start_kiln, guest, tmp_path):
    """Bad CONNECT lines: kiln closes each, then a good one still works end to end."""
    uds = tmp_path / "v.sock"
    echo = Listener(f"{uds}_{ECHO_PORT}")
    try:
        p, out = start_listening_guest(start_kiln, guest, uds)
        for bad in (b"CONNECT\n", b"CONNECT 99999999999\n", b"HELLO 1\n", b"CONNECT 01\n",
                    b"CONNECT -1\n", b"connect 5\n", b"CONNECT 5 6\n", b"X" * 64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(str(uds))
            s.sendall(bad)
            try:
                got = s.recv(64)
            except ConnectionResetError:  # closed with the unread rest of the line
                got = b""
            assert got == b"", f"{bad!r} was not refused"
            s.close()
        sent, _ = host_echo_client(str(uds), LISTEN_PORT, [10, 20])
        run = finish(p, out)
    finally:
        echo.close()
    assert_clean_exit(run)
    assert run.results.get("vsock_echo", ("?",))[0] == "PASS", run.describe()
    assert sent == 30


def test_vsock_idle_host_connections_time_out(start_kiln, guest, tmp_path):
    """64 host peers that never send CONNECT: kiln closes each after its 2 s
    deadline (else they would hold every slot forever), then a normal
    host-initiated echo still works."""
    uds = tmp_path / "v.sock"
    echo = Listener(f"{uds}_{ECHO_PORT}")
    idle = []
    try:
        p, out = start_listening_guest(start_kiln, guest, uds)
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.append(s)
            s.connect(str(uds))  # blocking: waits while kiln's backlog is full
            s.settimeout(60)  # generous: the deadline is 2 s, the machine is shared
        for i, s in enumerate(idle):
            try:
                got = s.recv(1)
            except ConnectionResetError:
                got = b""
            assert got == b"", f"idle connection {i} got {got!r}"
        sent, _ = host_echo_client(str(uds), LISTEN_PORT, [10, 20])
        run = finish(p, out)
    finally:
        for s in idle:
            s.close()
        echo.close()
    assert_clean_exit(run)
    assert run.results.get("vsock_echo", ("?",))[0] == "PASS", run.describe()
    assert sent == 30


@pytest.mark.parametrize("spec,msg", [
    ("2,/tmp/x.sock", "CID must be an integer from 3"),
    ("3", "must be CID,PATH"),
    ("4294967295,/tmp/x", "CID must be"),
    ("3," + "a" * 97, "PATH must be 1 to 96 bytes"),
])
def test_vsock_bad_cli(run_kiln, guest, spec, msg):
    run = run_kiln(["--kernel", guest(), "--vsock", spec])
    assert run.returncode == 1
    lines = run.error_lines()
    assert len(lines) == 1 and msg in lines[0], run.describe()


def test_vsock_path_in_use_is_refused(run_kiln, guest, tmp_path):
    uds = tmp_path / "taken.sock"
    uds.write_text("x")
    run = run_kiln(vsock_args(guest(), "vsock_echo", uds, ECHO_PORT))
    assert run.returncode == 1
    lines = run.error_lines()
    assert len(lines) == 1 and "vsock socket" in lines[0], run.describe()
    assert uds.read_text() == "x"
