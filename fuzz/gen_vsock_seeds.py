#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_vsock (input layout at the top of the harness).
Run from the repository root."""
import os
import struct

NEXT, WRITE = 1, 2
TX, RX = 0x0, 0x400
HDRS, PAYLOAD, RXBUF = 0x800, 0x2000, 0x8000
CID, HOST = 3, 2
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)
OUT = "fuzz/corpus/fuzz_vsock"


def hdr(op, sport, dport, length=0, flags=0, src=CID, dst=HOST, typ=1, buf_alloc=65536,
        fwd=0):
    return struct.pack("<QQIIIHHIII", src, dst, sport, dport, length, typ, op, flags,
                       buf_alloc, fwd)


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def ring(ram, base, descs, heads):
    d = b"".join(descs)
    ram[base:base + len(d)] = d
    r = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    ram[base + 0x100:base + 0x100 + len(r)] = r


def image(packets, rx_bufs=4, rx_len=0x1000):
    """packets: list of (header bytes, payload length); payloads share one area."""
    ram = bytearray(0x10000)
    ram[PAYLOAD:PAYLOAD + 0x4000] = bytes(i & 0xff for i in range(0x4000))
    descs, heads = [], []
    for i, (h, plen) in enumerate(packets):
        at = HDRS + i * 0x40
        ram[at:at + len(h)] = h
        heads.append(len(descs))
        if plen:
            descs += [desc(at, len(h), NEXT, len(descs) + 1), desc(PAYLOAD, plen)]
        else:
            descs.append(desc(at, len(h)))
    ring(ram, TX, descs, heads)
    rx = [desc(RXBUF + i * rx_len, rx_len, WRITE) for i in range(rx_bufs)]
    ring(ram, RX, rx, list(range(rx_bufs)))
    return bytes(ram)


def seed(name, flags, ram, txlog=4, rxlog=4, port=52):
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/{name}", "wb") as f:
        f.write(bytes([flags, txlog, rxlog, port]) + ram)


def main():
    seed("connect_rw_close", 0, image([(hdr(REQUEST, 1000, 5000), 0),
                                       (hdr(RW, 1000, 5000, 100), 100),
                                       (hdr(CREDIT_REQUEST, 1000, 5000), 0),
                                       (hdr(SHUTDOWN, 1000, 5000, flags=3), 0)]))
    seed("refused_port", 1, image([(hdr(REQUEST, 1000, 6000), 0), (hdr(RW, 1000, 6000, 4), 4)]))
    seed("bad_headers", 2, image([(hdr(REQUEST, 1, 5000, src=4), 0),
                                  (hdr(REQUEST, 2, 5000, dst=9), 0),
                                  (hdr(99, 3, 5000), 0),
                                  (hdr(REQUEST, 4, 5000, typ=2), 0),
                                  (hdr(RW, 5, 5000, 5000), 8),
                                  (hdr(REQUEST, 6, 5000, 8), 8),
                                  (hdr(SHUTDOWN, 7, 5000, flags=8), 0),
                                  (hdr(REQUEST, 8, 5000)[:20], 0)]))
    seed("host_connect_response", 4 | 16, image([(hdr(RESPONSE, 52, 0x40000000), 0),
                                                 (hdr(RW, 52, 0x40000000, 64), 64),
                                                 (hdr(CREDIT_UPDATE, 52, 0x40000000,
                                                      fwd=11), 0),
                                                 (hdr(RST, 52, 0x40000000), 0)]), port=52)
    seed("credit_overrun", 8, image([(hdr(REQUEST, 9, 5000), 0)] +
                                    [(hdr(RW, 9, 5000, 0x4000), 0x4000)] * 6))
    seed("fwd_cnt_ahead", 0, image([(hdr(REQUEST, 10, 5000), 0),
                                    (hdr(CREDIT_UPDATE, 10, 5000, fwd=5000), 0)]))
    seed("tiny_rx_buffers", 4, image([(hdr(REQUEST, 11, 5000), 0)], rx_bufs=2, rx_len=20))
    seed("header_only_rx", 4 | 16, image([(hdr(RESPONSE, 52, 0x40000000), 0)], rx_bufs=8,
                                         rx_len=44), port=52)


if __name__ == "__main__":
    main()
