#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of fuzz_virtqueue and fuzz_mmio_regs (see the input
layouts at the top of each harness). Run from the repository root."""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
DESC, AVAIL, USED, TABLE, BUF = 0x0, 0x80, 0xc0, 0x180, 0x200


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def image(descs, heads, avail_idx=None, used_event=0, table=b"", size=8):
    ram = bytearray(0x400)
    d = b"".join(descs)
    ram[DESC:DESC + len(d)] = d
    idx = len(heads) if avail_idx is None else avail_idx
    ring = struct.pack("<HH", 0, idx) + b"".join(struct.pack("<H", h) for h in heads)
    ram[AVAIL:AVAIL + len(ring)] = ring
    struct.pack_into("<H", ram, AVAIL + 4 + 2 * size, used_event)
    ram[TABLE:TABLE + len(table)] = table
    return bytes(ram)


def vq_seed(name, ram, flags=0, ops=(), size=8):
    hdr = struct.pack("<HBBIII", size, flags, len(ops), DESC, AVAIL, USED)
    body = b"".join(struct.pack("<BBH", *op) for op in ops)
    with open(f"fuzz/corpus/fuzz_virtqueue/{name}", "wb") as f:
        f.write(hdr + body + ram)


def virtqueue_seeds():
    rw = [desc(BUF, 16, NEXT, 1), desc(BUF + 0x40, 32, WRITE)]
    vq_seed("direct", image(rw, [0]))
    vq_seed("two_chains_ops", image(rw + [desc(BUF + 0x80, 8, WRITE)], [0, 2]),
            ops=[(0, 0, 0), (2, 0, 0), (1, 0, 3), (1, 9, 2), (0, 4, 0), (4, 0, 0)])
    tbl = desc(BUF, 16, NEXT, 1) + desc(BUF + 0x40, 64, WRITE | NEXT, 2) + desc(BUF + 0x100, 1, WRITE)
    vq_seed("indirect", image([desc(TABLE, len(tbl), INDIRECT)], [0], table=tbl), flags=2)
    tail = desc(BUF + 0x40, 64, WRITE | NEXT, 1) + desc(BUF + 0x100, 1, WRITE)
    vq_seed("mixed", image([desc(BUF, 16, NEXT, 1), desc(TABLE, len(tail), INDIRECT)], [0],
                           table=tail), flags=2)
    vq_seed("event_idx", image(rw + [desc(BUF + 0x80, 8, WRITE)], [0, 2], used_event=0), flags=3,
            ops=[(0, 0, 0), (2, 0, 0), (1, 2, 1), (0, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0)])
    vq_seed("loop", image([desc(BUF, 8, NEXT, 1), desc(BUF, 8, NEXT, 0)], [0]))
    vq_seed("next_range", image([desc(BUF, 8, NEXT, 9)], [0]))
    vq_seed("head_range", image(rw, [8]))
    vq_seed("avail_jump", image(rw, [0], avail_idx=100))
    vq_seed("zero_len", image([desc(BUF, 0)], [0]))
    vq_seed("out_of_ram", image([desc(0xfff0, 0x20)], [0]))
    vq_seed("read_after_write", image([desc(BUF, 8, WRITE | NEXT, 1), desc(BUF, 8)], [0]))
    vq_seed("nested", image([desc(TABLE, 16, INDIRECT)], [0], table=desc(TABLE, 16, INDIRECT)),
            flags=2)


def rec(kind, off, val=0, spare=0):
    return struct.pack("<BHIB", kind, off, val & 0xffffffff, spare)


def W(off, val):
    return rec(0x21, off, val)


def R(off):
    return rec(0x20, off)


def G(gpa, val):
    return rec(0x05, gpa // 4, val)


def mmio_seeds():
    init = [W(0x70, 0), W(0x70, 1), W(0x70, 3), W(0x14, 0), R(0x10), W(0x14, 1), R(0x10),
            W(0x24, 1), W(0x20, 1), W(0x24, 0), W(0x20, (1 << 28) | (1 << 29)), W(0x70, 11),
            R(0x70)]
    queue = [W(0x30, 0), R(0x34), W(0x38, 4), W(0x80, DESC), W(0x84, 0), W(0x90, AVAIL),
             W(0x94, 0), W(0xa0, USED), W(0xa4, 0), W(0x44, 1), R(0x44)]
    chain = [G(DESC, BUF), G(DESC + 8, 16 | (WRITE << 16)), G(AVAIL, 1 << 16), G(AVAIL + 4, 0)]
    live = [W(0x70, 15), W(0x50, 0), rec(0x04, 0, 0, 0), R(0x60), W(0x64, 1), R(0xfc)]
    cfg = [rec(0x00, 0x100), rec(0x08, 0x102), rec(0x20, 0x104), rec(0x19, 0x100, 7),
           rec(0x21, 0x106)]
    seeds = {
        "init_only": init,
        "full_bringup": init + queue + chain + live + [W(0x70, 0)],
        "bad_ring": init + [W(0x30, 1), W(0x38, 4), W(0x80, 0xfff8), W(0x44, 1), R(0x70),
                            R(0x60)],
        "features_refused": [W(0x70, 3), W(0x24, 0), W(0x20, 1 << 28), W(0x70, 11), R(0x70)],
        "config": init + cfg,
        "odd_widths": [rec(0x00, 0x70), rec(0x09, 0x70, 1), rec(0x19, 0x00), rec(0x21, 0x71, 1),
                       rec(0x61, 0xffc, 1)],
        "notify_bad": init + queue + [W(0x70, 15), W(0x50, 7), rec(0x04, 0, 0, 3)],
    }
    for name, recs in seeds.items():
        with open(f"fuzz/corpus/fuzz_mmio_regs/{name}", "wb") as f:
            f.write(b"".join(recs))


if __name__ == "__main__":
    os.makedirs("fuzz/corpus/fuzz_virtqueue", exist_ok=True)
    os.makedirs("fuzz/corpus/fuzz_mmio_regs", exist_ok=True)
    virtqueue_seeds()
    mmio_seeds()
