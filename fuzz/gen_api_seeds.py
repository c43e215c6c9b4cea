#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpus for fuzz_api from the requests the unit and integration tests send.

Record format (fuzz/fuzz_api.c): u8 op (0 GET, 1 PUT, 2 PATCH) | path | NUL |
u16 LE body length | body. Each seed is one scenario (a sequence of records).
"""
import json
import os
import struct
import sys

GET, PUT, PATCH = 0, 1, 2


def rec(op, path, body=None):
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    body = body or b""
    return bytes([op]) + path.encode() + b"\0" + struct.pack("<H", len(body)) + body


KERNEL = {"kernel_image_path": "/k", "boot_args": "console=ttyS0 ktest=serial"}
DRIVE = {"drive_id": "rootfs", "path_on_host": "/r.img", "is_root_device": True,
         "is_read_only": False}
START = {"action_type": "InstanceStart"}

SEEDS = {
    "getting_started": [rec(PUT, "/boot-source", KERNEL), rec(PUT, "/drives/rootfs", DRIVE),
                        rec(PUT, "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}),
                        rec(PUT, "/actions", START), rec(GET, "/")],
    "post_boot": [rec(PUT, "/boot-source", KERNEL), rec(PUT, "/drives/rootfs", DRIVE),
                  rec(PUT, "/actions", START),
                  rec(PATCH, "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/n"}),
                  rec(PUT, "/actions", {"action_type": "SendCtrlAltDel"}),
                  rec(PUT, "/boot-source", KERNEL), rec(PUT, "/actions", START)],
    "machine_patch": [rec(PATCH, "/machine-config", {"vcpu_count": 4}),
                      rec(PUT, "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128,
                                                   "smt": False, "track_dirty_pages": True,
                                                   "huge_pages": "None"}),
                      rec(GET, "/machine-config")],
    "devices": [rec(PUT, "/boot-source", KERNEL), rec(PUT, "/entropy", {}),
                rec(PUT, "/serial", {"serial_out_path": "/s"}),
                rec(PUT, "/drives/d1", {"drive_id": "d1", "path_on_host": "/x",
                                        "is_root_device": False, "cache_type": "Writeback",
                                        "io_engine": "Sync"}),
                rec(GET, "/vm/config")],
    "refusals": [rec(GET, "/nope"), rec(PUT, "/boot-source", "{not json"),
                 rec(PUT, "/boot-source", "[1]"), rec(PUT, "/boot-source", '"k"'),
                 rec(PUT, "/boot-source", {"kernel_image_path": 7}),
                 rec(PUT, "/machine-config", {"vcpu_count": 33, "mem_size_mib": 128}),
                 rec(PUT, "/drives/bad-id!", {"drive_id": "bad-id!"}),
                 rec(PUT, "/drives/a", {"drive_id": "a", "path_on_host": "/x",
                                        "is_root_device": False, "rate_limiter": []}),
                 rec(PUT, "/actions", {"action_type": "Explode"}),
                 rec(PATCH, "/vm", {"state": "Paused"}), rec(PATCH, "/version", "{}")],
    "later_routes": [rec(PUT, "/network-interfaces/eth0", {"iface_id": "eth0"}),
                     rec(PUT, "/vsock", {"guest_cid": 3}), rec(PUT, "/balloon", {}),
                     rec(PUT, "/snapshot/load", {}), rec(PUT, "/mmds", {}),
                     rec(PUT, "/cpu-config", {})],
    "net_rate_limiters": [
        rec(PUT, "/boot-source", KERNEL),
        rec(PUT, "/network-interfaces/eth0", {
            "iface_id": "eth0", "host_dev_name": "tap0",
            "rx_rate_limiter": {"bandwidth": {"size": 125000, "refill_time": 100}},
            "tx_rate_limiter": {"ops": {"size": 100, "one_time_burst": 10,
                                        "refill_time": 1000}}}),
        rec(PUT, "/network-interfaces/eth1", {"iface_id": "eth1", "host_dev_name": "tap1",
                                              "tx_rate_limiter": {"ops": {"size": -3}}}),
        rec(GET, "/vm/config"),
        rec(PUT, "/actions", START),
        rec(PATCH, "/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {
            "ops": {"size": 0, "refill_time": 0}}}),
        rec(PATCH, "/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": {
            "bandwidth": {"size": 1, "refill_time": 2 ** 40}}}),
        rec(PATCH, "/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": 7}),
        rec(GET, "/vm/config")],
    "rate_limiters": [
        rec(PUT, "/boot-source", KERNEL),
        rec(PUT, "/drives/rootfs", dict(DRIVE, rate_limiter={
            "bandwidth": {"size": 1048576, "one_time_burst": 4096, "refill_time": 100},
            "ops": {"size": 100, "refill_time": 1000}})),
        rec(PUT, "/entropy", {"rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 10}}}),
        rec(PUT, "/drives/a", {"drive_id": "a", "path_on_host": "/x", "is_root_device": False,
                               "rate_limiter": {"ops": {"size": -1, "refill_time": 1}}}),
        rec(PUT, "/drives/a", {"drive_id": "a", "path_on_host": "/x", "is_root_device": False,
                               "rate_limiter": {"ops": {"size": 1.5, "refill_time": 1}}}),
        rec(PUT, "/drives/a", {"drive_id": "a", "path_on_host": "/x", "is_root_device": False,
                               "rate_limiter": {"bandwidth": {"size": 1,
                                                              "refill_time": 2 ** 41}}}),
        rec(PUT, "/entropy", '{"rate_limiter": {"ops": {"size": 99999999999999999999, '
                             '"refill_time": 1}}}'),
        rec(PUT, "/entropy", {"rate_limiter": {"ops": {"size": 1}, "x": {}}}),
        rec(GET, "/vm/config"),
        rec(PUT, "/actions", START),
        rec(PATCH, "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": {
            "ops": {"size": 0, "refill_time": 0}}}),
        rec(PATCH, "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": {
            "bandwidth": {"size": 2 ** 63 - 1, "one_time_burst": 2 ** 63 - 1,
                          "refill_time": 2 ** 40}}}),
        rec(PATCH, "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": {"ops": None}}),
        rec(GET, "/vm/config")],
    "actions": [rec(PUT, "/actions", {"action_type": "FlushMetrics"}),
                rec(PUT, "/actions", {}), rec(PUT, "/actions", {"action_type": 1})],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_api")
    os.makedirs(out, exist_ok=True)
    for name, records in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(records))


if __name__ == "__main__":
    main()
