"""Device info and region info: buffers laid out as Linux fills them for
VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO, in both byte orders; the s390 DMA
window, the region capabilities, the fill protocol, and malformed buffers."""

from __future__ import annotations

import struct
from typing import Literal

import pytest

import vfio_iommu_info as vii
from conftest import FIXTURES

ORDERS = ["<", ">"]
S390X = FIXTURES / "linux-6.12-s390x-zpci"


def names(order: str) -> Literal["big", "little"]:
    return "big" if order == ">" else "little"


def chain(fixed: bytes, caps: list[tuple[int, int, bytes]], order: str, align: int = 8) -> bytes:
    """`fixed` followed by the capabilities (id, version, payload after the header),
    chained from the end of `fixed`, each padded to `align` bytes."""
    body, offsets, at = [], [], len(fixed)
    for _, _, payload in caps:
        offsets.append(at)
        at += (8 + len(payload) + align - 1) // align * align
    for i, (cid, version, payload) in enumerate(caps):
        nxt = offsets[i + 1] if i + 1 < len(caps) else 0
        blob = struct.pack(order + "HHI", cid, version, nxt) + payload
        body.append(blob + b"\0" * (-len(blob) % align))
    return fixed + b"".join(body)


def s390_device_info(order: str) -> bytes:
    """Linux 6.12's answer for a PCI function on s390x: ZPCI_BASE v2 (the window
    [4 GiB, 5 GiB - 1]), ZPCI_GROUP v2, ZPCI_UTIL, PCI_ATOMIC_COMP, an unknown id 9."""
    base = struct.pack(order + "QQHHHBBI", 0x1_0000_0000, 0x1_3FFF_FFFF, 0x42, 0, 0x20, 1, 0xFF, 0x0800_0000)
    group = struct.pack(order + "QQQHHHBxH", (1 << 62) - 1, 0xFE00_0000, 1, 0x6E, 2048, 0x800, 1, 0x400)
    util = struct.pack(order + "I", 4) + bytes([0xE9, 0xD7, 0xC3, 0xC9])
    caps = [(1, 2, base), (2, 2, group), (3, 1, util), (5, 1, struct.pack(order + "II", 3, 0)), (9, 1, b"\x07" * 8)]
    body = chain(b"\0" * 24, caps, order)
    fixed = struct.pack(order + "IIIIII", len(body), 0x83, 9, 5, 24, 0)
    return fixed + body[24:]


def region(order: str, index: int, flags: int, size: int, caps: list[tuple[int, int, bytes]], argsz: int | None = None) -> bytes:
    """vfio-pci's region info: the chain from 32 when it fits `argsz`, else argsz raised
    and cap_offset 0 with nothing written past the fixed part."""
    full = chain(b"\0" * 32, caps, order)
    caps_flag = 8 if caps else 0
    if argsz is not None and argsz < len(full):
        return struct.pack(order + "IIIIQQ", len(full), flags | caps_flag, index, 0, size, index << 40) + b"\xaa" * (argsz - 32)
    cap_offset = 32 if caps else 0xAAAAAAAA
    return struct.pack(order + "IIIIQQ", len(full), flags | caps_flag, index, cap_offset, size, index << 40) + full[32:]


def sparse(order: str, areas: list[tuple[int, int]], count: int | None = None) -> tuple[int, int, bytes]:
    n = len(areas) if count is None else count
    return (1, 1, struct.pack(order + "II", n, 0) + b"".join(struct.pack(order + "QQ", o, s) for o, s in areas))


@pytest.mark.parametrize("order", ORDERS)
def test_the_s390_dma_window_and_zpci_capabilities(order: str) -> None:
    info = vii.decode_device_info(s390_device_info(order), names(order))
    assert (info.flags, info.num_regions, info.num_irqs, info.cap_offset) == (0x83, 9, 5, 24)
    assert not info.caps_truncated
    assert info.dma_window == vii.IovaRange(0x1_0000_0000, 0x1_3FFF_FFFF)
    base = info.zpci_base
    assert base is not None and base.dma_window == info.dma_window
    assert (base.version, base.pchid, base.fmb_length, base.pft, base.gid, base.fh) == (2, 0x42, 0x20, 1, 0xFF, 0x0800_0000)
    group = info.zpci_group
    assert group is not None
    assert (group.msi_addr, group.noi, group.maxstbl, group.zpci_version, group.imaxstbl) == (0xFE00_0000, 2048, 0x800, 1, 0x400)
    assert info.zpci_util == bytes([0xE9, 0xD7, 0xC3, 0xC9])
    assert info.zpci_pfip is None
    assert info.atomic_comp == 3
    assert [(c.id, c.name, c.offset) for c in info.chain] == [
        (1, "ZPCI_BASE", 24),
        (2, "ZPCI_GROUP", 64),
        (3, "ZPCI_UTIL", 112),
        (5, "PCI_ATOMIC_COMP", 128),
        (9, None, 144),
    ]
    (unknown,) = info.unknown_caps
    assert (unknown.id, unknown.offset, unknown.data[8:]) == (9, 144, b"\x07" * 8)
    assert "dma_window=0x100000000-0x13fffffff" in repr(info)
    assert info == vii.decode_device_info(bytearray(s390_device_info(order)), names(order))


def test_a_real_s390x_capture() -> None:
    """What Linux 6.12 on s390x reported for QEMU's virtio-rng-pci (big-endian): the
    window in ZPCI_BASE, and regions without capabilities (no mmap on s390 in 6.12)."""
    info = vii.decode_device_info((S390X / "device-exact.bin").read_bytes(), "big")
    assert info.dma_window == vii.IovaRange(0x1_0000_0000, 0x1_3FFF_FFFF)
    assert [c.name for c in info.chain] == ["ZPCI_BASE", "ZPCI_GROUP", "ZPCI_PFIP"]
    short = vii.decode_device_info((S390X / "device-short.bin").read_bytes(), "big")
    assert short.caps_truncated and short.argsz == 128 and short.dma_window is None
    regions = {i: vii.decode_region_info((S390X / f"region-{i}.bin").read_bytes(), "big") for i in range(8)}
    assert {i: (r.flags, r.size) for i, r in regions.items() if r.size} == {1: (3, 0x1000), 4: (3, 0x4000), 7: (3, 0x100)}
    assert all(r.chain == [] and r.cap_offset is None and r.offset == i << 40 for i, r in regions.items())


def test_an_x86_device_and_a_chain_that_did_not_fit() -> None:
    info = vii.decode_device_info(struct.pack("<IIIIII", 24, 3, 9, 5, 0, 0), "little")
    assert (info.dma_window, info.zpci_base, info.cap_offset, info.chain) == (None, None, None, [])
    short = vii.decode_device_info(struct.pack("<IIIIII", 160, 0x83, 9, 5, 0, 0), "little")
    assert short.caps_truncated and short.argsz == 160 and short.dma_window is None


@pytest.mark.parametrize("order", ORDERS)
def test_msix_bars_before_and_since_linux_4_16(order: str) -> None:
    old = vii.decode_region_info(region(order, 2, 7, 0x4000, [sparse(order, [(0, 0x2000), (0x3000, 0x1000)])]), names(order))
    assert (old.index, old.flags, old.size, old.offset, old.cap_offset) == (2, 0xF, 0x4000, 2 << 40, 32)
    assert old.readable and old.writable and old.mmappable and not old.msix_mappable
    assert old.sparse_mmap == old.mmap_areas
    assert [(a.offset, a.size, a.end) for a in old.mmap_areas] == [(0, 0x2000, 0x2000), (0x3000, 0x1000, 0x4000)]
    assert old.areas_outside == [] and old.region_type is None
    new = vii.decode_region_info(region(order, 2, 7, 0x4000, [(3, 1, b"")]), names(order))
    assert new.msix_mappable and new.sparse_mmap is None
    assert [(a.offset, a.size) for a in new.mmap_areas] == [(0, 0x4000)]
    assert [(c.name, c.offset) for c in new.chain] == [("MSIX_MAPPABLE", 32)]


@pytest.mark.parametrize("order", ORDERS)
def test_an_igd_opregion_and_unknown_types(order: str) -> None:
    r = vii.decode_region_info(region(order, 9, 1, 0x2000, [(2, 1, struct.pack(order + "II", 0x8000_8086, 1))]), names(order))
    t = r.region_type
    assert t is not None
    assert (t.type, t.subtype, t.pci_vendor, t.name, t.type_name) == (0x8000_8086, 1, 0x8086, "INTEL_IGD_OPREGION", "PCI_VENDOR")
    assert str(t) == "INTEL_IGD_OPREGION (type 0x80008086, subtype 1)"
    assert r.mmap_areas == [] and not r.mmappable
    odd = vii.decode_region_info(region(order, 10, 3, 0x100, [(2, 1, struct.pack(order + "II", 0x44, 7))]), names(order))
    t = odd.region_type
    assert t is not None and (t.name, t.type_name, t.pci_vendor, str(t)) == (None, None, None, "type 0x44, subtype 7")


def test_the_config_region_ignores_the_callers_cap_offset() -> None:
    r = vii.decode_region_info(region("<", 7, 3, 256, []), "little")
    assert (r.cap_offset, r.chain, r.size, r.offset) == (None, [], 256, 7 << 40)


def test_a_region_chain_that_did_not_fit() -> None:
    caps = [sparse("<", [(0, 0x2000), (0x3000, 0x1000)]), (3, 1, b"")]
    r = vii.decode_region_info(region("<", 0, 7, 0x4000, caps, argsz=32), "little")
    assert r.caps_truncated and r.argsz == 32 + 48 + 8 and r.cap_offset == 0 and r.chain == []


def test_areas_outside_the_region_and_nvlink2() -> None:
    r = vii.decode_region_info(region("<", 0, 7, 0x4000, [sparse("<", [(0x3000, 0x2000), (2**64 - 1, 2)])]), "little")
    assert [(a.offset, a.size) for a in r.areas_outside] == [(0x3000, 0x2000), (2**64 - 1, 2)]
    assert r.areas_outside[1].end is None and not r.areas_outside[0].lies_within(0x4000)
    nv = vii.decode_region_info(region(">", 9, 3, 0x1000, [(4, 1, struct.pack(">Q", 1 << 45)), (5, 1, struct.pack(">II", 9, 0))]), "big")
    assert (nv.nvlink2_ssatgt, nv.nvlink2_lnkspd) == (1 << 45, 9)


def test_malformed_buffers_raise_with_the_offset() -> None:
    with pytest.raises(vii.MalformedInfoError) as e:
        vii.decode_region_info(b"\0" * 31)
    assert (e.value.offset, e.value.structure) == (31, "struct vfio_region_info")
    # nr_areas whose 16-byte areas overflow 32-bit arithmetic.
    buf = region("<", 0, 7, 0x4000, [sparse("<", [(0, 0x1000)], count=0x1000_0000)])
    with pytest.raises(vii.MalformedInfoError, match="nr_areas = 268435456") as e:
        vii.decode_region_info(buf, "little")
    assert e.value.offset == 40
    # A capability that points at itself.
    looped = bytearray(region("<", 0, 7, 0x4000, [(3, 1, b"")]))
    looped[36:40] = struct.pack("<I", 32)
    with pytest.raises(vii.MalformedInfoError, match="loops"):
        vii.decode_region_info(looped, "little")
    # SPARSE_MMAP in a version this library cannot read.
    buf = region("<", 0, 7, 0x4000, [(1, 2, sparse("<", [])[2])])
    with pytest.raises(vii.MalformedInfoError, match="version 2") as e:
        vii.decode_region_info(buf, "little")
    assert e.value.offset == 34
    with pytest.raises(vii.MalformedInfoError) as e:
        vii.decode_device_info(b"\0" * 12)
    assert e.value.structure == "struct vfio_device_info"
    with pytest.raises(ValueError, match="byte_order"):
        vii.decode_region_info(b"\0" * 32, "middle")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vii.decode_device_info("not bytes")  # type: ignore[arg-type]
