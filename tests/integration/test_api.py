# SPDX-License-Identifier: MIT
"""kiln's Firecracker-compatible HTTP API, driven over a real Unix socket.

The getting-started sequence runs with curl exactly as Firecracker's guide
does it; every malformed or refused request must get a 4xx with a
``fault_message`` and leave kiln serving (a follow-up ``GET /`` answers 200).
"""
import json
import os
import resource
import signal
import socket
import subprocess
import time

import pytest

import guestcraft

START = {"action_type": "InstanceStart"}


class Kiln:
    """A kiln in API mode; stdout/stderr go to files (no pipe can fill up)."""

    def __init__(self, kiln, tmp_path, extra=(), jail=None):
        self.dir = tmp_path
        self.jail = jail  # conftest.KilnJail in a [jailed] run: tmp_path is the jail root
        self.sock = str(tmp_path / "kiln.sock")
        self.out_path = tmp_path / "stdout.txt"
        self.err_path = tmp_path / "stderr.txt"
        self.t0 = time.monotonic()
        rfd, self._stdin_w = os.pipe()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            args = ["--api-sock", self.sock] + list(extra)
            args = jail.argv(args) if jail else args
            self.proc = subprocess.Popen([kiln] + args,
                                         stdin=rfd, stdout=out, stderr=err, cwd=tmp_path)
        os.close(rfd)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if os.path.exists(self.sock):
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(self.sock)
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        raise AssertionError("kiln's API socket never came up\n" + self.describe())

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def describe(self):
        return f"--- stdout ---\n{self.stdout()[-3000:]}\n--- stderr ---\n{self.stderr()[-3000:]}"

    def curl(self, method, path, data=None):
        """Firecracker's curl form; returns (status, parsed JSON body or None)."""
        cmd = ["curl", "-s", "-i", "--max-time", "10", "--unix-socket", self.sock, "-X", method,
               f"http://localhost{path}", "-H", "Accept: application/json",
               "-H", "Content-Type: application/json"]
        if data is not None:
            data = data if isinstance(data, str) else json.dumps(data)
            if self.jail:
                self.jail.chown()  # files the test made since kiln started
                data = self.jail.text(data)
            cmd += ["-d", data]
        r = subprocess.run(cmd, capture_output=True, timeout=15)
        return parse_response(r.stdout)

    def fault(self, method, path, data=None, needle=None):
        status, body = self.curl(method, path, data)
        assert 400 <= status < 500, f"{method} {path} -> {status} {body}\n" + self.describe()
        assert body and "fault_message" in body, f"{method} {path}: {body}"
        if needle:
            assert needle.lower() in body["fault_message"].lower(), body
        self.alive()
        return body["fault_message"]

    def ok(self, method, path, data=None):
        status, body = self.curl(method, path, data)
        assert status == 204, f"{method} {path} -> {status} {body}\n" + self.describe()

    def alive(self, state=None):
        status, body = self.curl("GET", "/")
        assert status == 200, f"GET / -> {status} {body}\n" + self.describe()
        if state:
            assert body["state"] == state, body
        return body

    def wait(self, timeout=15):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("kiln did not exit\n" + self.describe())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.wait()
        os.close(self._stdin_w)
        return code


def parse_response(raw):
    """(status, JSON body or None) of the first response in raw bytes; (0, None) if none."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):  # curl shows the interim answer too
        head, sep, rest = rest.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/"):
        return 0, None
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = rest[:length]
    return status, (json.loads(body) if body else None)


def raw_request(sock, data, timeout=3.0, shut=False):
    """Send raw bytes on a fresh connection; return (status, body) of the answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                status, body = parse_response(buf)
                if status and (body is not None or status == 204):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    return parse_response(buf)


def cli(kiln, jail, args):
    """argv for a kiln run outside the API fixture, jailed in a [jailed] run
    (a --config-file document is rewritten to jail paths first)."""
    if not jail:
        return [kiln] + [str(a) for a in args]
    if "--config-file" in args:
        cfg = args[args.index("--config-file") + 1]
        cfg.write_text(jail.text(cfg.read_text()))
    return [kiln] + jail.argv(args)


@pytest.fixture
def api(kiln, tmp_path, kiln_jail):
    procs = []

    def start(extra=()):
        k = Kiln(kiln, tmp_path, extra, kiln_jail)
        procs.append(k)
        return k
    yield start
    for k in procs:
        if k.proc.poll() is None:
            k.proc.kill()
            k.proc.wait()


@pytest.fixture
def spin_kernel(tmp_path):
    """A guest that never exits on its own, for post-boot requests."""
    p = tmp_path / "spin.elf"
    p.write_bytes(guestcraft.pvh_elf(guestcraft.spin_code()))
    return str(p)


def boot_args(tests):
    return f"console=ttyS0 ktest={tests} ktest.mem_mib=128 ktest.cpus=1 ktest.cmdline_magic=kiln-42"


def test_getting_started_sequence(api, guest, tmp_path):
    """Firecracker's getting-started steps, verbatim with curl; the guest's KTEST lines appear."""
    k = api()
    logfile = tmp_path / "firecracker.log"
    rootfs = tmp_path / "rootfs.img"
    rootfs.write_bytes(b"\0" * (4 << 20))
    assert k.alive("Not started")["app_name"] == "kiln"
    k.ok("PUT", "/logger", f'{{"log_path": "{logfile}", "level": "Debug", '
         '"show_level": true, "show_log_origin": true}')
    k.ok("PUT", "/boot-source", json.dumps({"kernel_image_path": guest("pvh"),
                                            "boot_args": boot_args("serial,boottimer,cmdline")}))
    k.ok("PUT", "/drives/rootfs", f'{{"drive_id": "rootfs", "path_on_host": "{rootfs}", '
         '"is_root_device": true, "is_read_only": false}')
    k.ok("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 128}')
    status, body = k.curl("GET", "/vm/config")
    assert status == 200 and body["drives"][0]["drive_id"] == "rootfs", body
    k.ok("PUT", "/actions", '{"action_type": "InstanceStart"}')
    assert k.wait() == 0, k.describe()
    os.close(k._stdin_w)
    out = k.stdout()
    for name in ("serial", "boottimer", "cmdline"):
        assert f"KTEST {name} PASS" in out, k.describe()
    assert "KTEST DONE" in out
    log = logfile.read_text()
    assert "Guest-boot-time" in log and ":INFO:" in log, log
    assert "first KVM_RUN" in log, log


def test_config_file_boots_what_vm_config_returns(api, kiln, guest, tmp_path, kiln_jail):
    """GET /vm/config's document boots unchanged through --config-file --no-api."""
    k = api()
    k.ok("PUT", "/boot-source", {"kernel_image_path": guest("pvh"),
                                 "boot_args": boot_args("serial,rng")})
    k.ok("PUT", "/entropy", {})
    k.ok("PATCH", "/machine-config", {"mem_size_mib": 128})
    status, doc = k.curl("GET", "/vm/config")
    assert status == 200
    assert k.stop() == 0
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps(doc))
    r = subprocess.run(cli(kiln, kiln_jail, ["--config-file", cfg, "--no-api"]),
                       capture_output=True, timeout=30, stdin=subprocess.PIPE)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "KTEST serial PASS" in out and "KTEST rng PASS" in out, out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**doc, "balloon": {"amount_mib": 1, "deflate_on_oom": False}}))
    r = subprocess.run(cli(kiln, kiln_jail, ["--config-file", bad]), capture_output=True,
                       timeout=10)
    assert r.returncode == 1 and b"not supported yet" in r.stderr, r.stderr


HUGEPAGES = "/proc/sys/vm/nr_hugepages"


@pytest.fixture
def hugepages():
    """Reserve 2 MiB pages for one test (root only), then give them back.

    Relative to the pool as it is at each step, so runs in parallel (or a host with
    its own reservation) neither lose nor leak pages; set_extra(0) with other pages
    still reserved skips the test that needs an empty pool."""
    added = 0

    def set_extra(n):
        nonlocal added
        with open(HUGEPAGES) as f:
            now = int(f.read())
        with open(HUGEPAGES, "w") as f:
            f.write(str(max(0, now - added + n)))
        added = n
    try:
        set_extra(80)
    except OSError as e:
        pytest.skip(f"cannot reserve huge pages: {e}")
    yield set_extra
    set_extra(0)


@pytest.mark.parametrize("backing", ["2M", "Transparent", "None"])
def test_huge_pages_back_guest_memory(kiln, guest, tmp_path, hugepages, backing, kiln_jail):
    """machine-config huge_pages boots with each backing; the guest sees all its RAM."""
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("pvh"),
                        "boot_args": boot_args("memsize")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": backing,
                           "track_dirty_pages": True}}))
    with open("/proc/meminfo") as f:
        free_before = [l for l in f if l.startswith("HugePages_Free")][0]
    r = subprocess.run(cli(kiln, kiln_jail, ["--config-file", cfg, "--no-api"]),
                       capture_output=True, timeout=30, stdin=subprocess.PIPE)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "KTEST memsize PASS" in out, out
    with open("/proc/meminfo") as f:
        assert [l for l in f if l.startswith("HugePages_Free")][0] == free_before


def test_huge_pages_without_reservation_is_a_clear_error(kiln, guest, tmp_path, hugepages,
                                                         kiln_jail):
    hugepages(0)
    with open(HUGEPAGES) as f:
        if int(f.read()) != 0:
            pytest.skip("the host keeps huge pages of its own reserved")
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("pvh"), "boot_args": boot_args("serial")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"}}))
    r = subprocess.run(cli(kiln, kiln_jail, ["--config-file", cfg, "--no-api"]),
                       capture_output=True, timeout=30, stdin=subprocess.PIPE)
    err = r.stderr.decode()
    assert r.returncode == 1 and "kiln: error:" in err and "huge pages" in err, err


def test_post_boot_rules_and_live_drive_swap(api, spin_kernel, tmp_path, kiln_jail):
    vm_id = kiln_jail.id if kiln_jail else "spin-vm"  # jailed: --id also names the jail
    k = api(["--id", vm_id])
    disk_a = tmp_path / "a.img"
    disk_b = tmp_path / "b.img"
    disk_a.write_bytes(b"\0" * (1 << 20))
    disk_b.write_bytes(b"\0" * (2 << 20))
    metrics = tmp_path / "metrics.json"
    k.fault("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": str(disk_b)},
            "only allowed after")
    k.fault("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, "after the microVM")
    k.fault("PUT", "/actions", START, "boot source")
    k.ok("PUT", "/boot-source", {"kernel_image_path": spin_kernel})
    k.ok("PUT", "/drives/data", {"drive_id": "data", "path_on_host": str(disk_a),
                                 "is_root_device": False})
    k.ok("PUT", "/metrics", {"metrics_path": str(metrics)})
    k.ok("PUT", "/actions", START)
    assert k.alive("Running")["id"] == vm_id
    k.fault("PUT", "/actions", START, "already running")
    k.fault("PUT", "/boot-source", {"kernel_image_path": spin_kernel}, "after the microVM")
    k.fault("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128}, "after")
    k.fault("PUT", "/drives/data", {"drive_id": "data", "path_on_host": str(disk_a),
                                    "is_root_device": False}, "after")
    k.ok("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": str(disk_b)})
    adir = tmp_path / "adir"  # inside the jail root in a [jailed] run, so it exists there
    adir.mkdir()
    k.fault("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": str(adir)},
            "directory")
    k.fault("PATCH", "/drives/nope", {"drive_id": "nope", "path_on_host": str(disk_b)},
            "no drive")
    status, doc = k.curl("GET", "/vm/config")
    assert doc["drives"][0]["path_on_host"] == (kiln_jail.path(disk_b) if kiln_jail
                                                else str(disk_b))
    k.ok("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
    k.ok("PUT", "/actions", {"action_type": "FlushMetrics"})
    line = json.loads(metrics.read_text().splitlines()[-1])
    assert line["id"] == vm_id
    assert "data" in line["block"] and "vcpu_exits" in line
    assert line["api_server"]["requests"]["PUT /actions"]["204"] >= 2
    assert line["api_server"]["requests"]["unmatched"] if "unmatched" in \
        line["api_server"]["requests"] else True
    assert k.stop() == 0, k.describe()


def wait_for(pred, what, k, timeout):
    """Poll @pred until it is true; fail with @what (and kiln's output) after @timeout s."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what}\n" + k.describe()
        time.sleep(0.02)


def blk_requests(k, metrics):
    """FlushMetrics now: the data drive's request count (cumulative since start), or
    None once kiln no longer answers (it exits when the guest is done)."""
    status, _ = k.curl("PUT", "/actions", {"action_type": "FlushMetrics"})
    if status != 204:
        return None
    return json.loads(metrics.read_text().splitlines()[-1])["block"]["data"]["requests"]


def test_live_drive_swap_under_async_io(api, guest, tmp_path, kiln_jail):
    """PATCH /drives path_on_host while ktest=blkbench keeps 32 writes in flight (Async).

    The io_uring engine turns driver notifications off while requests are in the
    kernel; the swap drains them and must leave the queue served, or the guest
    (which honours avail_event) adds requests without notifying and waits for
    ever: it FAILs with a device timeout. Two things serve it today: the drain
    turns notifications back on and kicks the queue (blk_drain_inflight), and
    the drained completions leave the ring's eventfd readable, whose pass does
    the same; with both taken out the guest FAILs here. Not timed: the guest must
    finish and PASS, and the device must have served requests after the last swap.
    """
    k = api()
    disks = [tmp_path / "a.img", tmp_path / "b.img"]
    for disk in disks:
        with open(disk, "wb") as f:
            f.truncate(4 << 20)
    metrics = tmp_path / "metrics.json"
    boot = ("console=ttyS0 ktest=blkbench ktest.bb_depth=32 ktest.bb_reads=1 "
            "ktest.bb_reads_deep=1 ktest.bb_writes=1 ktest.bb_writes_deep=400000")
    k.ok("PUT", "/boot-source", {"kernel_image_path": guest("pvh"), "boot_args": boot})
    k.ok("PUT", "/drives/data", {"drive_id": "data", "path_on_host": str(disks[0]),
                                 "is_root_device": False, "io_engine": "Async"})
    k.ok("PUT", "/metrics", {"metrics_path": str(metrics)})
    k.ok("PUT", "/actions", START)
    deep = "KTEST-INFO blkbench begin op=seqwrite bs=65536 depth=32"
    wait_for(lambda: deep in k.stdout(), "the deep write phase never began", k, 60)
    for i in range(3):
        time.sleep(0.2)
        k.ok("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": str(disks[1 - i % 2])})
    after_swaps = blk_requests(k, metrics)
    assert after_swaps is not None and "KTEST blkbench" not in k.stdout(), \
        "blkbench ended before the last swap was done (a FAIL: the device stopped " \
        "answering; a PASS: raise bb_writes_deep)\n" + k.describe()
    served = after_swaps
    deadline = time.monotonic() + 60
    while served is not None and served <= after_swaps and time.monotonic() < deadline:
        time.sleep(0.05)
        served = blk_requests(k, metrics)
    assert served is not None and served > after_swaps, \
        f"no request served after the swaps ({after_swaps} before, {served} now)\n" + \
        k.describe()
    assert k.wait(timeout=120) == 0, k.describe()
    os.close(k._stdin_w)
    out = k.stdout()
    assert "KTEST blkbench PASS" in out and "KTEST DONE" in out, k.describe()
    for disk in disks:  # each image took writes while it was the drive
        with open(disk, "rb") as f:
            assert f.read().strip(b"\0"), f"{disk.name} never written\n" + k.describe()


@pytest.mark.parametrize("case", ["missing", "not_a_kernel", "drive_dir", "too_much_ram"])
def test_instance_start_failures_are_400_and_retryable(api, guest, tmp_path, case):
    k = api()
    kernel = guest("pvh")
    if case == "missing":
        kernel = str(tmp_path / "no-such-kernel")
    elif case == "not_a_kernel":
        kernel = str(tmp_path / "text")
        (tmp_path / "text").write_text("#!/bin/sh\necho not a kernel\n" * 40)
    k.ok("PUT", "/boot-source", {"kernel_image_path": kernel, "boot_args": boot_args("serial")})
    if case == "drive_dir":
        k.ok("PUT", "/drives/d", {"drive_id": "d", "path_on_host": str(tmp_path),
                                  "is_root_device": False})
    if case == "too_much_ram":
        k.ok("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 1 << 20})
    msg = k.fault("PUT", "/actions", START)
    needle = {"missing": "no-such-kernel", "not_a_kernel": "kernel", "drive_dir": "directory",
              "too_much_ram": "RAM"}[case]
    assert needle.lower() in msg.lower(), msg
    k.alive("Not started")
    # Fix the configuration and start for real: a failed start leaves nothing behind.
    k.ok("PUT", "/boot-source", {"kernel_image_path": guest("pvh"),
                                 "boot_args": boot_args("serial")})
    if case == "drive_dir":
        img = tmp_path / "ok.img"
        img.write_bytes(b"\0" * 65536)
        k.ok("PUT", "/drives/d", {"drive_id": "d", "path_on_host": str(img),
                                  "is_root_device": False})
    k.ok("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
    k.ok("PUT", "/actions", START)
    assert k.wait() == 0
    os.close(k._stdin_w)
    assert "KTEST serial PASS" in k.stdout()


# (method, path, body, needle): JSON-level refusals, each answered 400.
JSON_FAULTS = [
    ("GET", "/nope", None, "invalid request method and/or path"),
    ("PUT", "/boot-source", "{not json", "invalid JSON"),
    ("PUT", "/boot-source", "[1, 2]", "JSON object"),
    ("PUT", "/boot-source", '"kernel"', "JSON object"),
    ("PUT", "/boot-source", '{"kernel_image_path": 7}', "must be a string"),
    ("PUT", "/boot-source", '{"kernel_image_path": "/k", "foo": 1}', "unknown field 'foo'"),
    ("PUT", "/boot-source", '{"boot_args": "x"}', "missing required field 'kernel_image_path'"),
    ("PUT", "/machine-config", '{"vcpu_count": 0, "mem_size_mib": 128}', "vcpu_count"),
    ("PUT", "/machine-config", '{"vcpu_count": 33, "mem_size_mib": 128}', "vcpu_count"),
    ("PUT", "/machine-config", '{"vcpu_count": -1, "mem_size_mib": 128}', "vcpu_count"),
    ("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 8}', "mem_size_mib"),
    ("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 1e400}', "invalid JSON"),
    ("PUT", "/machine-config",
     '{"vcpu_count": 1, "mem_size_mib": 999999999999999999999999}', "invalid JSON"),
    ("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 128, "smt": true}', "smt"),
    ("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 129, "huge_pages": "2M"}',
     "multiple of 2"),
    ("PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "1G"}',
     "huge_pages"),
    ("PATCH", "/machine-config", '{"vcpu_count": "two"}', "must be"),
    ("PUT", "/drives/bad-id!", '{"drive_id": "bad-id!", "path_on_host": "/x", '
     '"is_root_device": false}', "drive id"),
    ("PUT", "/drives/" + "a" * 65, '{"drive_id": "' + "a" * 65 + '", "path_on_host": "/x", '
     '"is_root_device": false}', "drive id"),
    ("PUT", "/drives/a", '{"drive_id": "b", "path_on_host": "/x", "is_root_device": false}',
     "differs"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"rate_limiter": {"bandwidth": {"size": -1, "refill_time": 1}}}', "non-negative integer"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"rate_limiter": {"ops": {"size": 2.5, "refill_time": 1}}}', "non-negative integer"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"rate_limiter": {"ops": {"size": 1, "refill_time": 1, "per": 1}}}', "unknown field 'per'"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"rate_limiter": {"ops": {"size": 99999999999999999999, "refill_time": 1}}}',
     "invalid JSON"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"rate_limiter": {"ops": {"size": 1, "refill_time": 2199023255552}}}', "refill_time"),
    ("PUT", "/entropy", '{"rate_limiter": {"bandwidth": {"refill_time": 1}}}', "size"),
    ("PUT", "/drives/a", '{"drive_id": "a", "path_on_host": "/x", "is_root_device": false, '
     '"partuuid": "1234"}', "partuuid"),
    ("PUT", "/logger", '{"level": "Chatty"}', "level"),
    ("PUT", "/metrics", "{}", "metrics_path"),
    ("PUT", "/actions", '{"action_type": "Explode"}', "action_type"),
    ("PUT", "/actions", '{"action_type": "FlushMetrics"}', "metrics"),
    ("PUT", "/network-interfaces/eth0", '{"iface_id": "eth0", "host_dev_name": "tap0", '
     '"rx_rate_limiter": {"bandwidth": {"size": -1, "refill_time": 1}}}', "rx_rate_limiter"),
    ("PUT", "/network-interfaces/eth0", '{"iface_id": "eth0", "host_dev_name": "a/b"}',
     "host_dev_name"),
    ("PUT", "/network-interfaces/eth0", '{"iface_id": "eth0", "host_dev_name": "t0", '
     '"mtu": 67}', "mtu"),
    ("PUT", "/network-interfaces/eth0", '{"iface_id": "eth0", "host_dev_name": "t0", '
     '"guest_mac": "01:02:03:04:05:06"}', "multicast"),
    ("PUT", "/vsock", '{"guest_cid": 2, "uds_path": "/v"}', "guest_cid must be from 3"),
    ("PUT", "/vsock", '{"guest_cid": 3}', "uds_path"),
    ("PUT", "/balloon", '{"amount_mib": 1, "deflate_on_oom": false}', "not supported yet"),
    ("PUT", "/snapshot/create", '{"snapshot_path": "/s", "mem_file_path": "/m"}',
     "not supported yet"),
    ("PATCH", "/vm", '{"state": "Paused"}', "not supported yet"),
    ("PUT", "/mmds", "{}", "not supported yet"),
    ("PATCH", "/version", "{}", "not allowed"),
    ("GET", "/boot-source", None, "not allowed"),
]


def test_json_level_refusals(api):
    k = api()
    for method, path, body, needle in JSON_FAULTS:
        k.fault(method, path, body, needle)
    status, cfg = k.curl("GET", "/machine-config")
    assert status == 200 and cfg["vcpu_count"] == 1 and cfg["mem_size_mib"] == 128, cfg


# Raw bytes the HTTP layer must refuse with a 4xx + fault_message.
RAW_FAULTS = {
    "malformed_request_line": b"GARBAGE\r\n\r\n",
    "bad_method": b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown_method": b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
    "http_0_9": b"GET /\r\n\r\n",
    "http_2": b"GET / HTTP/2.0\r\n\r\n",
    "http_2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "content_length_bad": b"PUT /boot-source HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "content_length_negative": b"PUT /boot-source HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    "content_length_huge":
        b"PUT /boot-source HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "content_length_float": b"PUT /boot-source HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
    "body_over_limit": b"PUT /boot-source HTTP/1.1\r\nContent-Length: 51201\r\n\r\n"
                       + b"x" * 51201,
    "header_too_long": b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 2000 + b"\r\n\r\n",
    "too_many_headers": b"GET / HTTP/1.1\r\n"
                        + b"".join(b"X-H%d: v\r\n" % i for i in range(40)) + b"\r\n",
    "chunked_body": b"PUT /boot-source HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n0\r\n\r\n",
    "put_without_length": b"PUT /boot-source HTTP/1.1\r\n\r\n",
    "path_too_long": b"GET /" + b"a" * 600 + b" HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(RAW_FAULTS))
def test_raw_http_refusals(api, name):
    k = api()
    status, body = raw_request(k.sock, RAW_FAULTS[name])
    assert 400 <= status < 500, f"{name}: {status} {body}\n" + k.describe()
    assert body and body.get("fault_message"), body
    k.alive()


def test_truncated_body_then_close(api):
    k = api()
    status, _ = raw_request(k.sock, b"PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n"
                            b'{"kernel_', shut=True, timeout=1)
    assert status in (0, 400), status
    k.alive()
    status, cfg = k.curl("GET", "/vm/config")
    assert cfg["boot-source"] is None


def test_expect_continue_and_large_body(api, tmp_path):
    """curl sends Expect: 100-continue above 1 KiB; a 4 KiB boot_args body must work."""
    k = api()
    k.ok("PUT", "/boot-source", {"kernel_image_path": "/k", "boot_args": "x " * 2000})
    status, cfg = k.curl("GET", "/vm/config")
    assert len(cfg["boot-source"]["boot_args"]) == 4000


def test_thousand_held_connections(api):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1100:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < 1100")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    k = api()
    held, refused = [], 0
    try:
        for _ in range(1000):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            try:
                s.connect(k.sock)
            except OSError:
                refused += 1  # backlog full: the kernel refused, kiln never saw it
                s.close()
                continue
            held.append(s)
        assert k.proc.poll() is None, k.describe()
        # Extra connections were answered 503 and closed; kiln's fd count stayed bounded.
        nfds = len(os.listdir(f"/proc/{k.proc.pid}/fd"))
        assert nfds < 64, nfds
    finally:
        for s in held:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    deadline = time.monotonic() + 5
    while True:
        try:
            k.alive()
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_one_byte_per_second_client(api):
    """A trickling client never blocks others and is cut off at the idle deadline."""
    k = api()
    s = socket.socket(socket.AF_UNIX)
    s.connect(k.sock)
    s.settimeout(0.1)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"z" * 40 + b"\r\n\r\n"
    t0 = time.monotonic()
    closed_after = None
    for i, byte in enumerate(request):
        try:
            s.send(bytes([byte]))
            if s.recv(4096) == b"":
                closed_after = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - t0
            break
        if i % 3 == 0:
            k.alive()  # others are served meanwhile
        time.sleep(0.9)
    s.close()
    assert closed_after is not None, "the trickling connection was never closed"
    assert closed_after < 14, closed_after
    k.alive()


def test_api_socket_path_refusals(kiln, tmp_path, kiln_jail):
    regular = tmp_path / "not-a-socket"
    regular.write_text("keep me")
    r = subprocess.run(cli(kiln, kiln_jail, ["--api-sock", regular]), capture_output=True,
                       timeout=10)
    assert r.returncode == 1 and b"kiln: error:" in r.stderr, r.stderr
    assert regular.read_text() == "keep me"


def test_sigterm_before_start_exits_cleanly(api):
    k = api()
    k.alive("Not started")
    assert k.stop() == 0
    assert not os.path.exists(k.sock)


def test_vsock_through_the_api(api, guest, tmp_path):
    """PUT /vsock, GET /vm/config shows it, InstanceStart; both directions echo (test_vsock.py)."""
    from test_vsock import ECHO_PORT, LISTEN_PORT, Listener, host_echo_client
    k = api()
    uds = tmp_path / "v.sock"
    echo = Listener(f"{uds}_{ECHO_PORT}")
    try:
        k.ok("PUT", "/boot-source", json.dumps({
            "kernel_image_path": guest("pvh"),
            "boot_args": boot_args("vsock_echo") + f" ktest.vsock_cid=7 ktest.vsock_port="
                         f"{ECHO_PORT} ktest.vsock_listen={LISTEN_PORT}"}))
        k.fault("PUT", "/vsock", json.dumps({"guest_cid": 7}), "uds_path")
        k.ok("PUT", "/vsock", json.dumps({"guest_cid": 7, "uds_path": str(uds),
                                          "vsock_id": "vsock0"}))
        status, cfg = k.curl("GET", "/vm/config")
        assert status == 200 and cfg["vsock"]["guest_cid"] == 7, cfg
        assert cfg["vsock"]["uds_path"].endswith("/v.sock"), cfg
        metrics = tmp_path / "metrics.json"
        k.ok("PUT", "/metrics", {"metrics_path": str(metrics)})
        k.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        k.fault("PUT", "/vsock", json.dumps({"guest_cid": 8, "uds_path": "/w"}), "")
        deadline = time.monotonic() + 60
        while "listening port=" not in k.stdout() and time.monotonic() < deadline:
            time.sleep(0.02)
        # The guest-initiated echo is over; the guest waits for the host.
        k.ok("PUT", "/actions", {"action_type": "FlushMetrics"})
        m = json.loads(metrics.read_text().splitlines()[-1])["vsock"]
        assert m["tx_bytes"] == m["rx_bytes"] == 1 + 1000 + 4096 + 30000 + 65536, m
        assert m["conns_opened"] == 1 and m["bad_packets"] == 0 and m["violations"] == 0, m
        sent, _ = host_echo_client(str(uds), LISTEN_PORT, [5, 5000])
        assert k.wait(60) == 0, k.describe()
    finally:
        echo.close()
    assert "KTEST vsock_echo PASS" in k.stdout(), k.describe()
    assert sent == 5005
