#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus for fuzz_loader: tiny valid kernels of each kind.

Run from the repository root: python3 fuzz/gen_seeds.py
Layouts follow the ELF64 gABI and Documentation/x86/boot.rst; every seed is
accepted by boot_load_kernel on the fuzzer's 64 MiB guest.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_loader")

PT_LOAD, PT_NOTE = 1, 4
XEN_ELFNOTE_PHYS32_ENTRY = 18
EHDR_BYTES, PHDR_BYTES = 64, 56


def note(name, ntype, desc):
    name_b = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(name_b), len(desc), ntype) + pad(name_b) + pad(desc)


def elf(segments, entry, notes=b""):
    """segments: list of (paddr, vaddr, data, memsz). Data follows the headers."""
    nph = len(segments) + (1 if notes else 0)
    off = EHDR_BYTES + nph * PHDR_BYTES
    phdrs, body = b"", b""
    for paddr, vaddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 7, off + len(body), vaddr, paddr,
                             len(data), memsz, 0x1000)
        body += data
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 4, off + len(body), 0, 0,
                             len(notes), len(notes), 4)
        body += notes
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, EHDR_BYTES, 0, 0,
                               EHDR_BYTES, PHDR_BYTES, nph, 64, 0, 0)
    return ehdr + phdrs + body


def bzimage():
    setup_sects, payload_len = 1, 0x400
    hdr_end = 0x268
    img = bytearray((setup_sects + 1) * 512 + payload_len)
    img[0x1f1] = setup_sects
    struct.pack_into("<I", img, 0x1f4, payload_len // 16)   # syssize
    struct.pack_into("<H", img, 0x1fe, 0xAA55)              # boot_flag
    img[0x200], img[0x201] = 0xEB, hdr_end - 0x202           # jump: header end
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020F)              # protocol 2.15
    img[0x211] = 0x01                                        # LOADED_HIGH
    struct.pack_into("<I", img, 0x214, 0x100000)            # code32_start
    struct.pack_into("<I", img, 0x22C, 0x7FFFFFFF)          # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)            # kernel_alignment
    img[0x234] = 1                                           # relocatable
    struct.pack_into("<H", img, 0x236, 0x0003)              # XLF_KERNEL_64 | ABOVE_4G
    struct.pack_into("<I", img, 0x238, 2047)                # cmdline_size
    struct.pack_into("<Q", img, 0x258, 0x1000000)           # pref_address
    struct.pack_into("<I", img, 0x260, 0x20000)             # init_size
    for i in range(payload_len):
        img[(setup_sects + 1) * 512 + i] = 0x90
    return bytes(img)


def main():
    os.makedirs(OUT, exist_ok=True)
    text = b"\x90" * 64 + b"\xf4"
    data = b"\xda" * 16
    base = 0x100000
    seeds = {
        "elf-linux64": elf([(base, base, text, len(text)),
                            (base + 0x1000, base + 0x1000, data, 0x2000)], base),
        "elf-pvh": elf([(base, base, text, len(text))], base,
                       note("GNU", 3, b"\x01" * 20) +
                       note("Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", base + 8))),
        "elf-pvh-quad": elf([(base, base, text, len(text))], base,
                            note("Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<Q", base + 4))),
        # vmlinux-like: virtual link address, physical load address.
        "elf-virtual-entry": elf([(0x1000000, 0xffffffff81000000, text, 0x1000),
                                  (0x1200000, 0x0, data, 0x800)], 0xffffffff81000010),
        "bzimage": bzimage(),
    }
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
