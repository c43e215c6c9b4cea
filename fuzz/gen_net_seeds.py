#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_net_tx (input layout at the top of
fuzz/fuzz_net_tx.c). Run from the repository root."""
import os
import struct

NEXT, WRITE = 1, 2
TX, RX = 0x0, 0x400
BUF = 0x1000
CSUM, GUEST_CSUM, HOST_TSO4, MRG, EVENT_IDX = 1 << 0, 1 << 1, 1 << 11, 1 << 15, 1 << 29
OUT = "fuzz/corpus/fuzz_net_tx"


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def ring(ram, base, descs, heads):
    d = b"".join(descs)
    ram[base:base + len(d)] = d
    r = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    ram[base + 0x100:base + 0x100 + len(r)] = r


def vnet(flags=0, gso=0, hdr_len=0, gso_size=0, cs=0, co=0):
    return struct.pack("<BBHHHHH", flags, gso, hdr_len, gso_size, cs, co, 0)


def seed(name, feat, flags, tx_descs, tx_heads, bufs, rx_descs=(), rx_heads=(), rx_len=60):
    ram = bytearray(0x4000)
    ring(ram, TX, tx_descs, tx_heads)
    ring(ram, RX, rx_descs, rx_heads)
    for addr, data in bufs:
        ram[addr:addr + len(data)] = data
    hdr = struct.pack("<IBBH", feat, flags, 3, rx_len)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(hdr + bytes(ram))


def main():
    os.makedirs(OUT, exist_ok=True)
    frame = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + bytes(46)
    seed("plain_frame", 0, 0, [desc(BUF, 12 + len(frame))], [0], [(BUF, vnet() + frame)])
    seed("split_header", 0, 0, [desc(BUF, 5, NEXT, 1), desc(BUF + 0x100, 7 + len(frame))],
         [0], [(BUF, vnet()[:5]), (BUF + 0x100, vnet()[5:] + frame)])
    seed("csum_offload", CSUM, 0, [desc(BUF, 12 + len(frame))], [0],
         [(BUF, vnet(1, cs=34, co=16) + frame)])
    seed("csum_out_of_range", CSUM, 0, [desc(BUF, 12 + len(frame))], [0],
         [(BUF, vnet(1, cs=0xffff, co=0xffff) + frame)])
    seed("tso4", CSUM | HOST_TSO4, 0, [desc(BUF, 12 + len(frame))], [0],
         [(BUF, vnet(1, 1, 54, 1400, 34, 16) + frame)])
    seed("bogus_gso", 0xffffffff, 0, [desc(BUF, 12 + len(frame))], [0],
         [(BUF, vnet(0x80, 0x7f, 0xffff, 0) + frame)])
    seed("oversized", 0, 0, [desc(BUF, 0xfff0, 0)], [0], [(BUF, vnet() + frame)])
    seed("writable_in_tx", 0, 0, [desc(BUF, 12 + len(frame), WRITE)], [0],
         [(BUF, vnet() + frame)])
    seed("rx_one_buffer", GUEST_CSUM | EVENT_IDX, 1, [], [], [],
         [desc(BUF, 1526, WRITE)], [0], 60)
    seed("rx_mergeable", GUEST_CSUM | MRG, 3, [], [], [],
         [desc(BUF, 256, WRITE), desc(BUF + 0x200, 256, WRITE), desc(BUF + 0x400, 64, WRITE)],
         [0, 1, 2], 700)
    seed("rx_no_buffers", MRG, 3, [], [], [], [], [], 100)


if __name__ == "__main__":
    main()
