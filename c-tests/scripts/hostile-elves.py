#!/usr/bin/env python3
# hostile-elves.py: writes hand-made HermitCore ELF files that break one rule each, for check-bad-images.sh.
# usage: hostile-elves.py <directory>; prints "<file> <HERMIT_MEM> <expected message>" lines.
import struct
import sys

MEM = 32 << 20  # the HERMIT_MEM they run with (1 GiB for the one that needs more)
BASE = 0x800000


def image(segments, entry=None, phnum=None, machine=62, kind=1):
    """An ELF64 header, the program headers (type, offset, paddr, filesz, memsz) and 8 KiB of hlt."""
    count = len(segments) if phnum is None else phnum
    head = bytearray(64 + 56 * len(segments))
    head[0:8] = b"\x7fELF\x02\x01\x01\xff"
    first = segments[0][2] if segments else BASE
    struct.pack_into("<HHIQQQIHHHHHH", head, 16, 2, machine, 1, first if entry is None else entry,
                     64, 0, 0, 64, 56, count, 0, 0, 0)
    for i, (ptype, offset, paddr, filesz, memsz) in enumerate(segments):
        struct.pack_into("<IIQQQQQQ", head, 64 + 56 * i, ptype, 7, offset, paddr, paddr, filesz, memsz, 0x1000)
    return bytes(head) + b"\xf4" * 0x2000


def load(paddr, memsz=0x1000, offset=0x1000, filesz=0x100):
    return (1, offset, paddr, filesz, memsz)


CASES = {
    "entry-unmapped": (image([load(0x2000_0000)]), "lies beyond the first 512 MiB"),
    "past-memory": (image([load(MEM - 0x800)]), "beyond guest memory"),
    "memsz-overflow": (image([load(BASE, memsz=2**64 - 0x100)]), "address range overflows"),
    "offset-past-file": (image([load(BASE, offset=0x10_0000)]), "the file is truncated"),
    "offset-overflow": (image([load(BASE, offset=2**64 - 8, filesz=0x10)]), "file range overflows"),
    "filesz-over-memsz": (image([load(BASE, filesz=0x2000, memsz=0x1000)]), "exceeds memory size"),
    "below-boot-area": (image([load(0x1000)]), "is below 0x800000"),
    "no-segments": (image([]), "no loadable segment"),
    "many-headers": (image([load(BASE)], phnum=0xFFFF), "table lies beyond the end of the file"),
    "overlapping": (image([load(BASE, memsz=0x2000), load(BASE + 0x1000)]), "must not overlap"),
    "interpreter": (image([(3, 0x1000, 0, 0x10, 0x10), load(BASE)]), "dynamic loader"),
    "wrong-entry": (image([load(BASE)], entry=BASE + 0x10), "is not the start of the image"),
    "wrong-machine": (image([load(BASE)], machine=3), "ELF machine is 3"),
    "header-past-memory": (image([load(MEM - 0x100, memsz=0x100)]), "cannot write the kernel header"),
}

for name, (data, message) in CASES.items():
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(data)
    print(name, "1G" if name == "entry-unmapped" else "32M", message)
