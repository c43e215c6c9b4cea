# SPDX-License-Identifier: MIT
"""Tiny hand-made guest images and corrupted variants of real ones.

Everything here is built with ``struct`` so the tests do not need an assembler:
- ``pvh_elf(code)``: an ELF64 with one PT_LOAD at 1 MiB and a Xen PVH note
  (XEN_ELFNOTE_PHYS32_ENTRY) pointing at ``code``, entered in 32-bit flat mode.
- ``spin_code()``: a guest that never exits (``pause; jmp .``).
- ``print_reset_code(msg)``: writes ``msg`` to COM1 and resets through the i8042.
- ``corrupt_*``: broken copies of a real ELF for the CLI robustness tests.
"""
import struct

LOAD_ADDR = 0x100000
XEN_ELFNOTE_PHYS32_ENTRY = 18

ELF_HDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
PT_LOAD, PT_NOTE = 1, 4


def spin_code():
    """pause; jmp back: runs forever, no exits to the VMM."""
    return bytes([0xF3, 0x90, 0xEB, 0xFC])


def print_reset_code(msg, load_addr=LOAD_ADDR):
    """32-bit code: print msg (NUL-free) on COM1, then i8042 reset, then spin."""
    code = bytearray()
    code += b"\xbe" + b"\0\0\0\0"  # mov esi, imm32 (patched below)
    code += b"\x66\xba\xf8\x03"  # mov dx, 0x3f8
    loop = len(code)
    code += b"\xac"  # lodsb
    code += b"\x84\xc0"  # test al, al
    code += b"\x74\x03"  # jz +3 (over out + jmp)
    code += b"\xee"  # out dx, al
    code += b"\xeb" + struct.pack("<b", loop - (len(code) + 2))  # jmp loop
    code += b"\xb0\xfe\xe6\x64"  # mov al, 0xfe; out 0x64, al
    code += spin_code()
    msg_addr = load_addr + len(code)
    code[1:5] = struct.pack("<I", msg_addr)
    return bytes(code) + msg.encode() + b"\0"


def _note(name, ntype, desc):
    name_b = name + b"\0"
    pad = lambda b: b + b"\0" * ((4 - len(b) % 4) % 4)
    return struct.pack("<III", len(name_b), len(desc), ntype) + pad(name_b) + pad(desc)


def pvh_elf(code, load_addr=LOAD_ADDR, with_pvh_note=True):
    """A minimal ELF64 executable whose only segment holds ``code`` at load_addr."""
    phnum = 2 if with_pvh_note else 1
    ehsize, phsize = ELF_HDR.size, PHDR.size
    note = _note(b"Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", load_addr))
    note_off = ehsize + phnum * phsize
    code_off = (note_off + len(note) + 15) & ~15
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    hdr = ELF_HDR.pack(ident, 2, 62, 1, load_addr, ehsize, 0, 0, ehsize, phsize, phnum,
                       64, 0, 0)
    phdrs = PHDR.pack(PT_LOAD, 7, code_off, load_addr, load_addr, len(code), len(code),
                      0x1000)
    if with_pvh_note:
        phdrs += PHDR.pack(PT_NOTE, 4, note_off, 0, 0, len(note), len(note), 4)
    img = bytearray(hdr + phdrs)
    if with_pvh_note:
        img += note
    img += b"\0" * (code_off - len(img))
    img += code
    return bytes(img)


# ---- corrupting a real ELF ----------------------------------------------------

def _phdrs(img):
    e = ELF_HDR.unpack_from(img, 0)
    phoff, phentsize, phnum = e[5], e[9], e[10]
    return [(phoff + i * phentsize, PHDR.unpack_from(img, phoff + i * phentsize))
            for i in range(phnum)]


def _patch_first_load(img, **fields):
    img = bytearray(img)
    names = ["p_type", "p_flags", "p_offset", "p_vaddr", "p_paddr", "p_filesz",
             "p_memsz", "p_align"]
    for off, ph in _phdrs(img):
        if ph[0] == PT_LOAD:
            vals = dict(zip(names, ph))
            vals.update(fields)
            PHDR.pack_into(img, off, *[vals[n] for n in names])
            return bytes(img)
    raise ValueError("no PT_LOAD segment")


def corrupt_huge_filesz(img):
    """First PT_LOAD claims far more file bytes than the file has."""
    return _patch_first_load(img, p_filesz=1 << 40, p_memsz=1 << 40)


def corrupt_beyond_ram(img, addr=0x7_0000_0000):
    """First PT_LOAD placed at 28 GiB, far beyond a 128 MiB guest."""
    return _patch_first_load(img, p_paddr=addr, p_vaddr=addr)


def corrupt_offset_past_eof(img):
    """First PT_LOAD's file offset points past the end of the file."""
    return _patch_first_load(img, p_offset=len(img) + 0x100000)


def corrupt_memsz_lt_filesz(img):
    """p_memsz smaller than p_filesz (invalid per the ELF spec)."""
    for _, ph in _phdrs(img):
        if ph[0] == PT_LOAD:
            return _patch_first_load(img, p_memsz=max(ph[5] // 2, 0))
    raise ValueError("no PT_LOAD segment")


def corrupt_phoff(img):
    """e_phoff points past the end of the file."""
    img = bytearray(img)
    struct.pack_into("<Q", img, 32, len(img) + 4096)
    return bytes(img)


def corrupt_phnum_huge(img):
    """e_phnum = 0xffff: the program-header table runs far past EOF."""
    img = bytearray(img)
    struct.pack_into("<H", img, 56, 0xFFFF)
    return bytes(img)


def fake_bzimage(version=0x0100):
    """A 'bzImage' with the HdrS magic but an ancient boot-protocol version."""
    img = bytearray(b"\0" * 0x4000)
    img[0x1FE:0x200] = b"\x55\xaa"
    img[0x1F1] = 4  # setup_sects
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    img[0x211] = 0x01  # loadflags: LOADED_HIGH
    return bytes(img)


def corrupt_no_segments(img):
    """e_phnum = 0: nothing to load."""
    img = bytearray(img)
    struct.pack_into("<H", img, 56, 0)
    return bytes(img)


def truncate_in_segment(img):
    """Cut the file in the middle of its last PT_LOAD segment's file bytes."""
    loads = [ph for _, ph in _phdrs(img) if ph[0] == PT_LOAD and ph[5] > 1]
    if not loads:
        raise ValueError("no PT_LOAD segment with file bytes")
    last = max(loads, key=lambda ph: ph[2] + ph[5])
    return img[:last[2] + last[5] // 2]
