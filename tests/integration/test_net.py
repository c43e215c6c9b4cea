# SPDX-License-Identifier: MIT
"""virtio-net end to end, each test in a network namespace of its own (`ip netns
add`; only loopback and the test's tap in it): the test guest's frames reach a
host AF_PACKET socket on the tap and come back (net_echo); a missing tap is
created by kiln through netlink (owner, MTU, up) and goes away with kiln; an
existing one is only opened; hostile frames leave kiln and the device running;
bad taps are clear errors. Root only (namespaces, taps)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import KilnProcess, guest_args, parse_console, sh, tap_name

HERE = os.path.dirname(os.path.abspath(__file__))
RESPONDER = os.path.join(HERE, "net_responder.py")
GUEST_MAC = "02:4b:49:4c:4e:01"
HOSTILE = ("hostile_net_tx_oversized,hostile_net_tx_bogus_hdr,hostile_net_tx_writable,"
           "hostile_net_rx_tiny")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and taps need root")


def link_exists(ns, tap):
    return sh("ip", "-n", ns, "link", "show", tap, check=False).returncode == 0


@pytest.fixture
def responder(tmp_path):
    """responder(ns, tap) -> ready-file path; the echo process dies with the test."""
    procs = []

    def start(ns, tap):
        ready = str(tmp_path / f"ready-{tap}")
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, RESPONDER,
                                       tap, ready]))
        return ready
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def wait_file(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    with open(path) as f:
        return f.read()


def run_in_ns(kiln, ns, args, timeout=60):
    p = KilnProcess("ip", ["netns", "exec", ns, kiln] + [str(a) for a in args])
    r, timed_out = p.finish(timeout)
    assert not timed_out, r.describe()
    return r


def test_net_echo_through_a_tap_kiln_creates(kiln, guest, netns, responder):
    tap = tap_name()
    ready = responder(netns, tap)
    r = run_in_ns(kiln, netns, guest_args(guest("pvh"), "net_echo", extra=[
        "--net", f"{tap},mac={GUEST_MAC},mtu=1400"]))
    assert r.returncode == 0, r.describe()
    assert r.results.get("net_echo", ("", ""))[0] == "PASS", r.describe()
    info = r.info["net_echo"]
    assert "frames=16" in info
    # The MAC came from config space (VIRTIO_NET_F_MAC), read back little-endian.
    assert "mac=0x14e4c494b02" in info, info
    assert wait_file(ready).strip() == "1400"  # kiln set the MTU it created the tap with
    assert int(wait_file(ready + ".count")) >= 16
    # Not persistent: the tap went away with kiln.
    assert not link_exists(netns, tap)


def test_net_existing_tap_is_only_opened(kiln, guest, netns, responder):
    tap = tap_name()
    sh("ip", "-n", netns, "tuntap", "add", tap, "mode", "tap", "vnet_hdr")
    sh("ip", "-n", netns, "link", "set", tap, "mtu", "1500", "up")
    ready = responder(netns, tap)
    r = run_in_ns(kiln, netns, guest_args(guest("pvh"), "net_echo", extra=[
        "--net", tap, "--boot-args",
        "ktest=net_echo ktest.net_frames=8 ktest.mem_mib=128 ktest.cpus=1"]))
    assert r.returncode == 0, r.describe()
    assert r.results.get("net_echo", ("", ""))[0] == "PASS", r.describe()
    assert "frames=8" in r.info["net_echo"]
    assert wait_file(ready).strip() == "1500"
    assert link_exists(netns, tap)  # kiln did not create it, so it is still there


def test_net_config_file_attaches_existing_tap(kiln, guest, netns, responder, tmp_path):
    tap = tap_name()
    sh("ip", "-n", netns, "tuntap", "add", tap, "mode", "tap", "vnet_hdr")
    sh("ip", "-n", netns, "link", "set", tap, "up")
    responder(netns, tap)
    cfg = {
        "boot-source": {"kernel_image_path": guest("pvh"),
                        "boot_args": "ktest=net_echo ktest.net_frames=4"},
        "network-interfaces": [{"iface_id": "eth0", "host_dev_name": tap,
                                "guest_mac": GUEST_MAC, "mtu": 9000}],
    }
    path = tmp_path / "vm.json"
    path.write_text(json.dumps(cfg))
    r = run_in_ns(kiln, netns, ["--config-file", path])
    assert r.returncode == 0, r.describe()
    assert r.results.get("net_echo", ("", ""))[0] == "PASS", r.describe()
    # VIRTIO_NET_F_MTU (bit 3) and MAC (bit 5) were offered and accepted.
    assert "features=0x100000028" in r.info["net_echo"], r.info["net_echo"]


def test_net_hostile_frames_leave_kiln_running(kiln, guest, netns, responder):
    tap = tap_name()
    responder(netns, tap)
    p = KilnProcess("ip", ["netns", "exec", netns, kiln] + guest_args(
        guest("pvh"), HOSTILE + ",net_echo", extra=[
            "--net", f"{tap},mac={GUEST_MAC}", "--boot-args",
            f"ktest={HOSTILE},net_echo ktest.hold=1 ktest.mem_mib=128 ktest.cpus=1"]))
    deadline = time.monotonic() + 120
    out = b""
    os.set_blocking(p.proc.stdout.fileno(), False)
    while b"KTEST HOLD" not in out and time.monotonic() < deadline and p.proc.poll() is None:
        chunk = p.proc.stdout.read()
        out += chunk or b""
        time.sleep(0.05)
    alive = p.proc.poll() is None
    p.signal(signal.SIGTERM)
    r, timed_out = p.finish(30)
    r.stdout = out.decode(errors="replace") + r.stdout
    parse_console(r)
    assert alive and not timed_out, r.describe()
    assert r.returncode == 0, r.describe()
    for name in HOSTILE.split(",") + ["net_echo"]:
        assert r.results.get(name, ("", ""))[0] == "PASS", f"{name}\n" + r.describe()
        if name != "net_echo":
            assert "recovered=1" in r.info[name], r.info[name]
    assert "TX frame refused" in r.stderr  # counted and logged (rate-limited), not sent


@pytest.mark.parametrize("setup,want", [
    ("lo", "exists and is not a tap"),
    ("tun", "exists and is not a tap"),
    ("long", "must be 1 to 15 bytes"),
])
def test_net_bad_taps_are_clear_errors(kiln, guest, netns, setup, want):
    tap = {"lo": "lo", "tun": tap_name(), "long": "x" * 16}[setup]
    if setup == "tun":
        sh("ip", "-n", netns, "tuntap", "add", tap, "mode", "tun")
    r = run_in_ns(kiln, netns, guest_args(guest("pvh"), "serial", extra=["--net", tap]))
    assert r.returncode == 1, r.describe()
    errs = r.error_lines()
    assert len(errs) == 1 and want in errs[0], r.describe()


def jail_root(tmp_path_factory, guest_path):
    """(argv prefix, root) for a jailed kiln whose root holds the guest as /guest.elf."""
    base = tmp_path_factory.mktemp("netjail")
    jid = "net-" + uuid.uuid4().hex[:10]
    root = base / "kiln" / jid / "root"
    os.makedirs(root)
    shutil.copy(guest_path, root / "guest.elf")
    os.chown(root / "guest.elf", 65534, 65534)
    return ["--jail", "--id", jid, "--uid", "65534", "--gid", "65534",
            "--chroot-base", str(base)], root


def test_net_jailed_kiln_creates_tap_in_netns(kiln, guest, netns, responder, tmp_path_factory):
    """--jail --netns: created in the host namespace (owned by the jail user), moved in."""
    tap = tap_name()
    ready = responder(netns, tap)
    jail, _ = jail_root(tmp_path_factory, guest("pvh"))
    p = KilnProcess(kiln, jail + [
        "--netns", f"/var/run/netns/{netns}", "--net", f"{tap},mac={GUEST_MAC}",
        "--kernel", "/guest.elf", "--boot-args", "ktest=net_echo ktest.net_frames=4"])
    r, timed_out = p.finish(60)
    assert not timed_out and r.returncode == 0, r.describe()
    assert r.results.get("net_echo", ("", ""))[0] == "PASS", r.describe()
    assert wait_file(ready).strip() == "1500"
    assert not link_exists(netns, tap)
    assert not link_exists_host(tap)  # it never stayed in the host namespace


def link_exists_host(tap):
    return sh("ip", "link", "show", tap, check=False).returncode == 0


def test_net_jailed_config_file_tap_without_permission(kiln, guest, netns, tmp_path_factory):
    """After the jail kiln only attaches: a tap owned by another user is a clear error."""
    tap = tap_name()
    sh("ip", "-n", netns, "tuntap", "add", tap, "mode", "tap", "vnet_hdr", "user", "0")
    jail, root = jail_root(tmp_path_factory, guest("pvh"))
    (root / "vm.json").write_text(json.dumps({
        "boot-source": {"kernel_image_path": "/guest.elf"},
        "network-interfaces": [{"iface_id": "eth0", "host_dev_name": tap}]}))
    os.chown(root / "vm.json", 65534, 65534)
    p = KilnProcess(kiln, jail + ["--netns", f"/var/run/netns/{netns}",
                                  "--config-file", "/vm.json"])
    r, timed_out = p.finish(60)
    assert not timed_out and r.returncode == 1, r.describe()
    errs = r.error_lines()
    assert len(errs) == 1 and f"tap {tap}: no permission" in errs[0], r.describe()
