"""kiln's Linux guest on virtio-net and virtio-vsock.

Two boots of the test vmlinux (busybox initramfs, see test_linux_boot.py):

test_linux_guest_device[net]: `--net TAP,mac=GUEST_MAC` on a tap made by this test
(`ip tuntap add ... vnet_hdr`) in a network namespace of its own with the
host address HOST_IP/30; kiln runs in that namespace. The guest (kiln.cmd)
configures eth0 as GUEST_IP/30 with busybox ifconfig, prints its MAC and
pings the host side of the tap PINGS times. Checked: eth0's MAC, the
replies on the console and the frame counters of the tap on the host side.

test_linux_guest_device[vsock]: `--vsock 3,UDS`, Firecracker's hybrid scheme. The
guest runs /bin/kiln-vsock (kernel/linux/rootfs/kiln-vsock.c) twice: it
listens on vsock port LISTEN_PORT and echoes what the host sends after
"CONNECT <port>\n" / "OK <n>\n" on UDS; then it connects to CID 2 port
CONNECT_PORT and echoes what the test's listener on UDS_<CONNECT_PORT>
sends. Both echoes are checked byte for byte (random payloads of
PAYLOAD_BYTES, more than one read of the helper's 4 KiB buffer).

Each test skips (with the reason) when the kiln binary lacks its option,
or when not root; it fails on anything else. Like the boot tests: a
generous timeout and one retry (the software KVM back end of our CI
machines dies on an unemulated instruction in about one boot in seven).
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from test_linux_boot import (KILN, MEM_MIB, Boot, artifacts,  # noqa: F401 (fixture)
                             boot_args, boot_timeout, boot_with_retry, check_boot,
                             guest_kernel, missing_output)

HOST_IP = "172.31.0.1"
GUEST_IP = "172.31.0.2"
NETMASK = "255.255.255.252"
GUEST_MAC = "02:4b:49:4c:4e:21"
GUEST_CID = 3
HOST_CID = 2
LISTEN_PORT = 5000  # the guest listens, the host connects through UDS
CONNECT_PORT = 5001  # the guest connects, the host listens on UDS_5001
PAYLOAD_BYTES = 20000
PINGS = 3
# Seconds on top of the plain boot: a few fork+execs (~2.5 s each on the
# software back end), the pings or the two echoes.
EXTRA_TIMEOUT = 180

# Run by /init with sh -c; no double quotes (they are kiln.cmd="...").
NET_CMD = (
    f"ifconfig eth0 {GUEST_IP} netmask {NETMASK} up; echo KILN-IFCONFIG-EXIT=$?; "
    "read m < /sys/class/net/eth0/address; echo KILN-GUEST-MAC=$m; "
    f"ping -c {PINGS} {HOST_IP}; echo KILN-PING-EXIT=$?"
)
VSOCK_CMD = (
    f"kiln-vsock listen {LISTEN_PORT}; echo KILN-VSOCK-LISTEN-EXIT=$?; "
    f"kiln-vsock connect {HOST_CID} {CONNECT_PORT}; echo KILN-VSOCK-CONNECT-EXIT=$?"
)


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=60)


def kiln_lacks(option):
    """True if `kiln --help` does not mention option."""
    out = subprocess.run([str(KILN), "--help"], capture_output=True, text=True, timeout=30)
    return not re.search(rf"(^|\s){re.escape(option)}\b", out.stdout + out.stderr, re.M)


def need(artifacts, option):
    if os.geteuid() != 0:
        pytest.skip("taps, network namespaces and vsock sockets need root")
    if kiln_lacks(option):
        pytest.skip(f"{KILN} has no {option} option (device not in this build)")
    return artifacts


class NetNs:
    """A network namespace holding one tap with the host address."""

    def __init__(self):
        self.name = f"kln{os.getpid()}{uuid.uuid4().hex[:6]}"
        self.tap = "kt" + uuid.uuid4().hex[:10]
        sh("ip", "netns", "add", self.name)
        try:
            self.ip("link", "set", "lo", "up")
            self.ip("tuntap", "add", "dev", self.tap, "mode", "tap", "vnet_hdr")
            self.ip("addr", "add", f"{HOST_IP}/30", "dev", self.tap)
            self.ip("link", "set", self.tap, "up")
        except BaseException:
            self.close()
            raise

    def ip(self, *args):
        return sh("ip", "-n", self.name, *args)

    def close(self):
        sh("ip", "netns", "del", self.name, check=False)  # takes the tap with it


def recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def recv_line(sock, limit=64):
    line = bytearray()
    while not line.endswith(b"\n") and len(line) < limit:
        c = sock.recv(1)
        if not c:
            break
        line += c
    return bytes(line)


def wait_serial(boot, needle, deadline):
    """True once a console line contains needle; False if kiln exits or time runs out."""
    with boot.changed:
        while True:
            if any(needle in line for line in boot.serial):
                return True
            left = deadline - time.monotonic()
            if left <= 0 or boot.proc.poll() is not None:
                return False
            boot.changed.wait(min(left, 1.0))


def check_echo(got, payload):
    if got == payload:
        return "ok"
    return f"echo mismatch: sent {len(payload)} bytes, got {len(got)} back"


def host_connects(boot, uds, payload, deadline, result):
    """Host-initiated: CONNECT through the UDS once the guest listens, then echo."""
    try:
        if not wait_serial(boot, f"KILN-VSOCK-LISTENING port={LISTEN_PORT}", deadline):
            result["host->guest"] = "the guest never listened"
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(max(1.0, deadline - time.monotonic()))
            s.connect(uds)
            s.sendall(f"CONNECT {LISTEN_PORT}\n".encode())
            line = recv_line(s)
            if not re.fullmatch(rb"OK \d+\n", line):
                result["host->guest"] = f"CONNECT answered {line!r}, expected b'OK <port>\\n'"
                return
            s.sendall(payload)
            result["host->guest"] = check_echo(recv_exact(s, len(payload)), payload)
    except OSError as e:
        result["host->guest"] = f"host side: {e!r}"


def host_accepts(listener, payload, deadline, result):
    """Guest-initiated: accept on UDS_<port>, send, expect the echo."""
    try:
        listener.settimeout(max(1.0, deadline - time.monotonic()))
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(max(1.0, deadline - time.monotonic()))
            conn.sendall(payload)
            result["guest->host"] = check_echo(recv_exact(conn, len(payload)), payload)
    except OSError as e:
        result["guest->host"] = f"host side: {e!r}"


def check_net_boot(boot, status, ns):
    """None if the guest configured eth0 and the host answered its pings, else the reason."""
    why = check_boot(boot, status, cmd_check=False)
    if why:
        return why
    text = boot.text()
    missing = missing_output(text, [
        (r"^KILN-IFCONFIG-EXIT=0$", "ifconfig eth0 succeeded"),
        (rf"^KILN-GUEST-MAC={GUEST_MAC}$", f"eth0 has the MAC given to kiln ({GUEST_MAC})"),
        (rf"^\d+ bytes from {re.escape(HOST_IP)}: seq=\d+", "a ping reply from the host"),
        (r"^KILN-PING-EXIT=0$", "ping exit status 0"),
    ])
    if missing:
        return boot.report(missing)
    m = re.search(r"^(\d+) packets transmitted, (\d+) packets received", text, re.M)
    if not m or int(m.group(1)) != PINGS or int(m.group(2)) < 1:
        return boot.report(f"ping statistics: {m.group(0) if m else 'none'}")
    # The host side of the tap counted the guest's frames (ARP + echo
    # requests) and its own answers. (Not the neighbour table: the kernel
    # flushes it when kiln closes the tap and the carrier goes down.)
    stats = json.loads(ns.ip("-j", "-s", "link", "show", "dev", ns.tap).stdout)[0]["stats64"]
    replies = int(m.group(2))
    if stats["rx"]["packets"] < PINGS or stats["tx"]["packets"] < replies:
        return boot.report(f"tap counters: rx {stats['rx']['packets']} frames from the guest "
                           f"(want >= {PINGS}), tx {stats['tx']['packets']} (want >= {replies})")
    return None


def check_vsock_boot(boot, status, result):
    """None if both echoes came back whole, else the reason."""
    why = check_boot(boot, status, cmd_check=False)
    if why:
        return why
    missing = missing_output(boot.text(), [
        (rf"^KILN-VSOCK-ECHO mode=listen port={LISTEN_PORT} bytes={PAYLOAD_BYTES}$",
         "guest echoed the host-initiated connection"),
        (r"^KILN-VSOCK-LISTEN-EXIT=0$", "kiln-vsock listen exit status 0"),
        (rf"^KILN-VSOCK-ECHO mode=connect port={CONNECT_PORT} bytes={PAYLOAD_BYTES}$",
         "guest echoed on its own connection to the host"),
        (r"^KILN-VSOCK-CONNECT-EXIT=0$", "kiln-vsock connect exit status 0"),
    ])
    if missing:
        return boot.report(f"{missing}\nvsock host side: {result}")
    for way in ("host->guest", "guest->host"):
        if result.get(way) != "ok":
            return boot.report(f"vsock {way}: {result.get(way, 'never finished')}")
    return None


def linux_argv(kernel, initrd, cmd, *extra):
    return [
        str(KILN),
        "--kernel", kernel,
        "--initrd", initrd,
        "--boot-args", boot_args(cmd),
        *extra,
        "--mem-mib", str(MEM_MIB),
        "--vcpus", "1",
        "--log-level", "info",
    ]


def net_attempt(kernel, initrd, timeout):
    ns = NetNs()
    boot = None
    try:
        # ip netns exec execs kiln: boot.proc is kiln itself.
        boot = Boot(["ip", "netns", "exec", ns.name] + linux_argv(
            kernel, initrd, NET_CMD, "--net", f"{ns.tap},mac={GUEST_MAC}"))
        status = boot.wait(timeout)
        return boot, check_net_boot(boot, status, ns)
    finally:
        if boot is not None:
            boot.stop()
        ns.close()


def vsock_attempt(kernel, initrd, timeout):
    sockdir = tempfile.mkdtemp(prefix="kiln-lvsock-")
    uds = os.path.join(sockdir, "v.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    boot = None
    try:
        listener.bind(f"{uds}_{CONNECT_PORT}")
        listener.listen(1)
        boot = Boot(linux_argv(kernel, initrd, VSOCK_CMD, "--vsock", f"{GUEST_CID},{uds}"))
        deadline = time.monotonic() + timeout
        result = {}
        helpers = [
            threading.Thread(target=host_connects, daemon=True,
                             args=(boot, uds, secrets.token_bytes(PAYLOAD_BYTES), deadline, result)),
            threading.Thread(target=host_accepts, daemon=True,
                             args=(listener, secrets.token_bytes(PAYLOAD_BYTES), deadline, result)),
        ]
        for t in helpers:
            t.start()
        status = boot.wait(timeout)
        for t in helpers:
            t.join(timeout=10)
        return boot, check_vsock_boot(boot, status, result)
    finally:
        if boot is not None:
            boot.stop()
        listener.close()
        shutil.rmtree(sockdir, ignore_errors=True)


# option kiln needs, one boot's attempt, what the test checks
DEVICES = {
    "net": ("--net", net_attempt, "virtio-net ping"),
    "vsock": ("--vsock", vsock_attempt, "virtio-vsock echo"),
}


@pytest.mark.parametrize("device", list(DEVICES))
def test_linux_guest_device(artifacts, device, record_property):
    option, attempt_fn, what = DEVICES[device]
    kernel_env, rootfs_env = need(artifacts, option)
    kernel = guest_kernel(kernel_env, "vmlinux")
    initrd = rootfs_env["KILN_ROOTFS_INITRAMFS"]
    timeout = boot_timeout("vmlinux", EXTRA_TIMEOUT)
    boot_with_retry(lambda: attempt_fn(kernel, initrd, timeout),
                    f"vmlinux, {what}", device, record_property)
