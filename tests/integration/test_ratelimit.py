# SPDX-License-Identifier: MIT
"""Rate limiters measured end to end (docs/API.md "Rate limiters").

The test guest's ``ratelimit`` test sends requests one at a time and prints a
mark line every few; the host stamps each line as it arrives on kiln's stdout
and computes the rate between marks, skipping the first moments (buckets start
full). The configured request rates (16-50/s) are far below what the device
does unthrottled here (blk ~3000 requests/s, rng ~1900 requests/s of 4 KiB,
virtio-net TX 7700-9300 frames/s of 60 bytes, idle host) and below what a depth-1
guest manages even when the 2 cores are loaded ~5x over (each request then
waits for several wake-ups; ~150/s was seen), so the limiter, not the
machine's load, sets the rate: it must be within +-10% of the configured one
over the fastest window of >= 2.5 s from a full bucket to a mark (runs last
about 3.5 s; best_rate() says why the fastest). Every test runs plain and
jailed.

virtio-net: kiln attaches to a tap the test makes in a network namespace of
its own (IPv6 off, so the kernel sends nothing on it). TX: the guest sends a
frame and waits for its used entry, as for blk. RX: net_sender.py keeps the
tap's queue (qlen 1000) full at 500 frames/s, 10x the fastest RX limit
here, from before the guest starts, so a frame is always waiting and the RX
limiter alone sets the pace at which the guest receives them.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import JAIL_UID, sh, tap_name

DISK_BYTES = 16 << 20
MARK = re.compile(r"^KTEST-INFO ratelimit (?:mark|done) n=(\d+) tsc=(\d+)")
SENDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_sender.py")
TOLERANCE = 0.10
MIN_SPAN_S = 2.5


def bucket(rate_per_s, refill_ms=1000):
    """A bucket refilling @rate_per_s tokens a second that holds one second of them.

    Every phase is measured from the moment its bucket is full (start, PATCH)
    with that bucket's tokens subtracted, so the size adds no bias; a big bucket
    means a guest descheduled for up to a second (seen on a loaded host) loses
    no tokens: it catches up afterwards.
    """
    return {"size": int(rate_per_s * refill_ms // 1000), "refill_time": refill_ms}


class LimitedKiln:
    """kiln booted from a --config-file with an API socket; stdout lines time-stamped."""

    def __init__(self, kiln, tmp_path, jail, guest, boot, drive_rl=None, rng_rl=None,
                 engine="Sync", net=None):
        self.dir, self.jail = tmp_path, jail
        self.sock = str(tmp_path / "rl.sock")
        self.metrics = tmp_path / "metrics.json"
        disk = tmp_path / "disk.img"
        with open(disk, "wb") as f:
            f.truncate(DISK_BYTES)
        drive = {"drive_id": "d0", "path_on_host": str(disk), "is_root_device": False,
                 "io_engine": engine}
        if drive_rl:
            drive["rate_limiter"] = drive_rl
        cfg = {"boot-source": {"kernel_image_path": guest,
                               "boot_args": "console=ttyS0 ktest=ratelimit ktest.hold=1 " + boot},
               "drives": [drive],
               "entropy": {"rate_limiter": rng_rl} if rng_rl else {},
               "metrics": {"metrics_path": str(self.metrics)}}
        args = ["--api-sock", self.sock, "--config-file", str(tmp_path / "vm.json")]
        argv0 = [kiln]
        if net:  # (network namespace, interface): kiln runs in the namespace
            ns, iface = net
            cfg["network-interfaces"] = [iface]
            args = ["--netns", f"/var/run/netns/{ns}"] + args if jail else args
            argv0 = argv0 if jail else ["ip", "netns", "exec", ns, kiln]
        text = json.dumps(cfg)
        (tmp_path / "vm.json").write_text(jail.text(text) if jail else text)
        args = jail.argv(args) if jail else args
        self.lines = []  # (host monotonic time, line)
        self.proc = subprocess.Popen(argv0 + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=tmp_path)
        self.err = []
        self._readers = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._readers:
            t.start()

    def _read_out(self):
        for raw in self.proc.stdout:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))

    def _read_err(self):
        self.err.extend(self.proc.stderr)

    def describe(self):
        out = "\n".join(l for _, l in self.lines[-40:])
        err = b"".join(self.err).decode(errors="replace")[-3000:]
        return f"--- stdout (tail) ---\n{out}\n--- stderr ---\n{err}"

    def wait_line(self, pred, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, line in list(self.lines):
                if pred(line):
                    return t, line
            if self.proc.poll() is not None and not self._readers[0].is_alive():
                break
            time.sleep(0.01)
        raise AssertionError("line never came\n" + self.describe())

    def marks(self):
        return [(t, int(m.group(1))) for t, l in list(self.lines) if (m := MARK.match(l))]

    def begin(self):
        """When the guest printed its begin line: the stamp, less a late read of it.

        A line is stamped when this script reads it, which may be late (seen:
        the begin line read 75-250 ms late, with the first 29 marks of the
        burst that a full bucket lets through), and a late start makes the
        first phase's rate read high. Each mark gives the guest's TSC ticks
        since its begin line; at the TSC rate (from the first and last marks,
        so within a few % over a run of several seconds) a mark read at t was
        printed no later, so the begin line no later than t less its ticks.
        Only the marks of the first quarter second are used, where a few % of
        the ticks is a few ms.
        """
        t_begin, _ = self.wait_line(lambda l: l.startswith("KTEST-INFO ratelimit begin"))
        marks = [(t, int(m.group(2))) for t, l in list(self.lines) if (m := MARK.match(l))]
        if len(marks) < 2 or marks[-1][0] - marks[0][0] < 1 or marks[-1][1] <= marks[0][1]:
            return t_begin
        hz = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
        return min([t_begin] + [t - ticks / hz for t, ticks in marks if ticks / hz < 0.25])

    def curl(self, method, path, data=None):
        cmd = ["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--max-time", "10",
               "--unix-socket", self.sock, "-X", method, f"http://localhost{path}"]
        if data is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(data)]
        r = subprocess.run(cmd, capture_output=True, timeout=15)
        return int(r.stdout or 0), r.stderr.decode(errors="replace")

    def metrics_now(self):
        status, body = self.curl("PUT", "/actions", {"action_type": "FlushMetrics"})
        assert status == 204, (status, body)
        return json.loads(self.metrics.read_text().splitlines()[-1])

    def finish(self):
        """The guest is done (KTEST DONE, held): stop kiln; its exit status."""
        self.wait_line(lambda l: l == "KTEST DONE")
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        for t in self._readers:
            t.join(timeout=5)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def limited(kiln, tmp_path, kiln_jail, guest):
    procs = []

    def start(boot, drive_rl=None, rng_rl=None, engine="Sync", net=None):
        k = LimitedKiln(kiln, tmp_path, kiln_jail, guest(), boot, drive_rl, rng_rl, engine, net)
        procs.append(k)
        return k
    yield start
    for k in procs:
        k.kill()


@pytest.fixture
def net_iface(netns, kiln_jail, tmp_path):
    """net_iface(**limiters, rx_frame=None) -> (netns, interface) for ``limited(net=)``.

    The tap is made up front in the test's namespace (the jail user's when
    jailed: kiln only attaches to it after the jail), up, with IPv6 off so the
    kernel sends the guest nothing of its own. With @rx_frame bytes, a
    net_sender.py in the namespace keeps the tap's queue full of such frames
    at 500 a second, far above the RX limits tested.
    """
    if os.geteuid() != 0:
        pytest.skip("network namespaces and taps need root")
    senders = []

    def make(rx_frame=None, **limiters):
        tap = tap_name()
        sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        owner = ["user", str(JAIL_UID)] if kiln_jail else []
        sh("ip", "-n", netns, "tuntap", "add", tap, "mode", "tap", "vnet_hdr", *owner)
        sh("ip", "-n", netns, "link", "set", tap, "up")
        if rx_frame:
            senders.append(subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, SENDER,
                                             tap, str(rx_frame), "500"]))
        return netns, {"iface_id": "eth0", "host_dev_name": tap, **limiters}
    yield make
    for p in senders:
        if p.poll() is None:
            p.kill()
        p.wait()


def rate_since_full(t_full, n_full, first_bucket, t_end, n_end):
    """Requests/s after a bucket was full at (@t_full, @n_full), less its @first_bucket.

    The limiter cannot let more than a full bucket plus the rate through, so
    this is its rate, without the upward bias of a window that starts mid-run
    (tokens a stall let pile up before it).
    """
    return (n_end - n_full - first_bucket) / (t_end - t_full), t_end - t_full


def best_rate(t_full, n_full, first_bucket, marks):
    """(rate, span) of the fastest window from a full bucket to one of @marks >= 2.5 s on.

    A delay anywhere (kiln or the guest descheduled, a line stamped late) only
    ever makes a window slower, never faster: the limiter caps every window at
    its rate. So the fastest window is the one least disturbed by the host's
    load: a stall near the end (too late to catch up on its tokens before the
    last mark) no longer counts against the limiter, and one too slow or too
    fast still fails.
    """
    windows = [rate_since_full(t_full, n_full, first_bucket, t, n) for t, n in marks
               if t - t_full >= MIN_SPAN_S]
    return max(windows, default=(0.0, 0.0))


def assert_rate(k, what, got, span, want):
    print(f"{what}: configured {want:.1f}/s, measured {got:.1f}/s over {span:.2f} s")
    assert span >= MIN_SPAN_S, f"{what}: measured over only {span:.2f} s\n" + k.describe()
    assert abs(got - want) <= TOLERANCE * want, \
        f"{what}: {got:.1f}/s, configured {want:.1f}/s\n" + k.describe()


def run_steady(k, what, want_per_s, scale=1):
    """Wait for the run to end; check its rate (requests/s * @scale) against @want.

    Measured from the start: the bucket is full when the guest starts (it
    takes that second of tokens at once) and cannot earn more than the rate
    after that, so requests beyond the first bucket over the time since the
    start line is the limiter's rate, not biased upwards by tokens a stall let
    pile up (a window starting mid-run would be); see best_rate() for the end.
    """
    k.wait_line(lambda l: l.startswith("KTEST ratelimit "))
    assert any(l == "KTEST ratelimit PASS" for _, l in k.lines), k.describe()
    got, span = best_rate(k.begin(), 0, bucket(want_per_s * scale)["size"] / scale, k.marks())
    assert_rate(k, what, got * scale, span, want_per_s * scale)


@pytest.mark.parametrize("engine", ["Sync", "Async"])
def test_blk_ops_limit(limited, engine):
    """ops: 50 requests/s (4 KiB reads), with either I/O engine."""
    ops = 50
    k = limited("ktest.rl_bytes=4096 ktest.rl_reqs=225 ktest.rl_mark=5",
                drive_rl={"ops": bucket(ops)}, engine=engine)
    run_steady(k, f"blk ops ({engine})", ops)
    m = k.metrics_now()
    assert m["block"]["d0"]["rate_limiter_throttled_events"] > 0, m
    assert k.finish() == 0, k.describe()


def test_blk_bandwidth_limit(limited):
    """bandwidth: 1 MiB/s of 64 KiB reads (16 requests/s)."""
    bps, req = 1 << 20, 65536
    k = limited(f"ktest.rl_bytes={req} ktest.rl_reqs=88 ktest.rl_mark=2",
                drive_rl={"bandwidth": bucket(bps)})
    run_steady(k, "blk bandwidth (bytes)", bps / req, scale=req)
    assert k.finish() == 0, k.describe()


def test_rng_bandwidth_limit(limited):
    """entropy: 256 KiB/s of 16 KiB requests (16 requests/s)."""
    bps, req = 256 << 10, 16384
    k = limited(f"ktest.rl_dev=rng ktest.rl_bytes={req} ktest.rl_reqs=88 ktest.rl_mark=2",
                rng_rl={"bandwidth": bucket(bps)})
    run_steady(k, "rng bandwidth (bytes)", bps / req, scale=req)
    m = k.metrics_now()
    assert m["entropy"]["rate_limiter_throttled_events"] > 0, m
    assert k.finish() == 0, k.describe()


def run_patched(k, path, body, first, second, switch_at):
    """The run at @first requests/s; PATCH @path with @body at mark @switch_at; then @second.

    A mark per request, so the count at the PATCH is known to one request; the
    PATCH puts in a fresh, full bucket, which the second phase subtracts.
    """
    k.wait_line(lambda l: l.startswith("KTEST-INFO ratelimit begin"))
    k.wait_line(lambda l: (m := MARK.match(l)) is not None and int(m.group(1)) >= switch_at)
    before = k.marks()[-1]
    status, reply = k.curl("PATCH", path, body)
    t_patch = time.monotonic()
    assert status == 204, (status, reply, k.describe())
    k.wait_line(lambda l: l.startswith("KTEST ratelimit "))
    assert any(l == "KTEST ratelimit PASS" for _, l in k.lines), k.describe()
    marks = k.marks()
    got, span = best_rate(k.begin(), 0, first, [m for m in marks if m[1] <= before[1]])
    assert_rate(k, "before PATCH", got, span, first)
    n_patch = [n for t, n in marks if t <= t_patch][-1]
    got, span = best_rate(t_patch, n_patch, second, [m for m in marks if m[0] > t_patch])
    assert_rate(k, "after PATCH", got, span, second)


def test_patch_changes_the_rate_at_run_time(limited):
    """50 ops/s, then PATCH /drives to 25 ops/s mid-run: each phase at its rate."""
    first, second, switch_at = 50, 25, 200
    k = limited(f"ktest.rl_bytes=4096 ktest.rl_reqs={switch_at + 105} ktest.rl_mark=1",
                drive_rl={"ops": bucket(first), "bandwidth": bucket(100 << 20)})
    run_patched(k, "/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": bucket(second)}},
                first, second, switch_at)
    # GET /vm/config: the PATCHed ops bucket, the bandwidth bucket as configured.
    status, body = k.curl("GET", "/vm/config")
    rl = json.loads(body)["drives"][0]["rate_limiter"]
    assert rl["ops"]["size"] == bucket(second)["size"], rl
    assert rl["bandwidth"]["size"] == bucket(100 << 20)["size"], rl
    assert k.finish() == 0, k.describe()


@pytest.mark.parametrize("way", ["tx", "rx"])
def test_net_ops_limit(limited, net_iface, way):
    """{tx,rx}_rate_limiter ops: 50 frames/s of 60 bytes."""
    ops = 50
    k = limited(f"ktest.rl_dev=net_{way} ktest.rl_bytes=60 ktest.rl_reqs=225 ktest.rl_mark=5",
                net=net_iface(rx_frame=60 if way == "rx" else None,
                              **{f"{way}_rate_limiter": {"ops": bucket(ops)}}))
    run_steady(k, f"net {way} ops", ops)
    m = k.metrics_now()["net"]["eth0"]
    assert m[f"{way}_rate_limiter_throttled_events"] > 0, m
    assert m[f"{way}_frames"] >= 225, m
    assert k.finish() == 0, k.describe()


@pytest.mark.parametrize("way", ["tx", "rx"])
def test_net_bandwidth_limit(limited, net_iface, way):
    """{tx,rx}_rate_limiter bandwidth: 32000 bytes/s of 1000-byte frames (32 frames/s).

    Charged without the 12-byte virtio header, as Firecracker does.
    """
    bps, frame = 32000, 1000
    k = limited(f"ktest.rl_dev=net_{way} ktest.rl_bytes={frame} ktest.rl_reqs=146 ktest.rl_mark=2",
                net=net_iface(rx_frame=frame if way == "rx" else None,
                              **{f"{way}_rate_limiter": {"bandwidth": bucket(bps)}}))
    run_steady(k, f"net {way} bandwidth (bytes)", bps / frame, scale=frame)
    m = k.metrics_now()["net"]["eth0"]
    assert m[f"{way}_rate_limiter_throttled_events"] > 0, m
    assert m[f"{way}_bytes"] >= 146 * frame, m
    assert k.finish() == 0, k.describe()


@pytest.mark.parametrize("way", ["tx", "rx"])
def test_net_patch_changes_the_rate_at_run_time(limited, net_iface, way):
    """{tx,rx} 50 frames/s, then PATCH /network-interfaces to 25/s mid-run: each phase at its rate.

    As the blk one above. A PATCH names one direction (or both) and leaves a
    limiter it does not name as it was, as Firecracker's does: the other
    direction's limiter (generous, never reached here) is PATCHed on its own
    as the run begins, and this direction's must still hold the first phase
    at its rate (reset, the guest would run at the device's own pace); the
    other's bandwidth bucket, not named in that PATCH, is kept too.
    """
    first, second, switch_at = 50, 25, 200
    other = "rx" if way == "tx" else "tx"
    other_bw, other_ops = bucket(100 << 20), bucket(10000)
    k = limited(f"ktest.rl_dev=net_{way} ktest.rl_bytes=60 ktest.rl_reqs={switch_at + 105} "
                "ktest.rl_mark=1",
                net=net_iface(rx_frame=60 if way == "rx" else None,
                              **{f"{way}_rate_limiter": {"ops": bucket(first)},
                                 f"{other}_rate_limiter": {"bandwidth": other_bw}}))
    k.wait_line(lambda l: l.startswith("KTEST-INFO ratelimit begin"))
    status, reply = k.curl("PATCH", "/network-interfaces/eth0",
                           {"iface_id": "eth0", f"{other}_rate_limiter": {"ops": other_ops}})
    assert status == 204, (status, reply, k.describe())
    run_patched(k, "/network-interfaces/eth0",
                {"iface_id": "eth0", f"{way}_rate_limiter": {"ops": bucket(second)}},
                first, second, switch_at)
    status, body = k.curl("GET", "/vm/config")
    iface = json.loads(body)["network-interfaces"][0]
    assert iface[f"{way}_rate_limiter"]["ops"]["size"] == bucket(second)["size"], iface
    assert iface[f"{other}_rate_limiter"]["ops"]["size"] == other_ops["size"], iface
    assert iface[f"{other}_rate_limiter"]["bandwidth"]["size"] == other_bw["size"], iface
    m = k.metrics_now()["net"]["eth0"]
    assert m[f"{way}_rate_limiter_throttled_events"] > 0, m
    assert m[f"{other}_rate_limiter_throttled_events"] == 0, m
    assert k.finish() == 0, k.describe()


def run_unlimited(k, what):
    """A run of the guest without a limit: its rate, printed (for the docs), not asserted."""
    t_begin, _ = k.wait_line(lambda l: l.startswith("KTEST-INFO ratelimit begin"))
    k.wait_line(lambda l: l.startswith("KTEST ratelimit "))
    assert any(l == "KTEST ratelimit PASS" for _, l in k.lines), k.describe()
    got, span = rate_since_full(t_begin, 0, 0, *k.marks()[-1])
    print(f"{what} unlimited: {got:.0f} requests/s over {span:.2f} s")


def test_unlimited_is_not_throttled(limited):
    """No limiter (and a bucket of size 0): the guest runs at the device's own pace."""
    k = limited("ktest.rl_bytes=4096 ktest.rl_reqs=1500 ktest.rl_mark=50",
                drive_rl={"ops": {"size": 0, "refill_time": 100}})
    run_unlimited(k, "blk")
    m = k.metrics_now()
    assert m["block"]["d0"]["rate_limiter_throttled_events"] == 0, m
    assert m["block"]["d0"]["requests"] >= 1500, m
    assert k.finish() == 0, k.describe()


def test_net_unlimited_is_not_throttled(limited, net_iface):
    """virtio-net TX without a limiter (a bucket of size 0): never paused."""
    k = limited("ktest.rl_dev=net_tx ktest.rl_bytes=60 ktest.rl_reqs=1500 ktest.rl_mark=50",
                net=net_iface(tx_rate_limiter={"ops": {"size": 0, "refill_time": 100}}))
    run_unlimited(k, "net tx")
    m = k.metrics_now()["net"]["eth0"]
    assert m["tx_rate_limiter_throttled_events"] == 0, m
    assert m["tx_frames"] >= 1500, m
    assert k.finish() == 0, k.describe()
