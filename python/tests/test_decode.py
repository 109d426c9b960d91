"""Decoding captured buffers: real-kernel captures against the CLI's JSON, hand-built
buffers in both byte orders, malformed buffers, and the value types' behaviour."""

from __future__ import annotations

import re
import struct
import threading
from pathlib import Path
from typing import Literal

import pytest

import vfio_iommu_info as vii
from conftest import FIXTURES, captures, cli_json, unhex

AMD = FIXTURES / "linux-6.12-amd" / "group-2" / "info-exact.bin"
INTEL39 = FIXTURES / "linux-6.12-intel-aw39" / "group-2" / "info-exact.bin"
TOP = 2**64 - 1


def build(caps: list[tuple[int, int, bytes]], order: str = "<", pgsizes: int = 0x40201000) -> bytes:
    """A vfio_iommu_type1_info buffer as a kernel fills it: the 24-byte header, then the
    capabilities (id, version, payload after the 8-byte header) 8-byte aligned and chained."""
    body, offsets, at = [], [], 24
    for _, _, payload in caps:
        offsets.append(at)
        size = 8 + len(payload)
        at += (size + 7) // 8 * 8
    for i, (cid, version, payload) in enumerate(caps):
        nxt = offsets[i + 1] if i + 1 < len(caps) else 0
        blob = struct.pack(order + "HHI", cid, version, nxt) + payload
        body.append(blob + b"\0" * (-len(blob) % 8))
    flags = 1 | (2 if caps else 0)
    header = struct.pack(order + "IIQII", at, flags, pgsizes, offsets[0] if caps else 0, 0)
    return header + b"".join(body)


def iova_cap(ranges: list[tuple[int, int]], order: str = "<", count: int | None = None) -> tuple[int, int, bytes]:
    n = len(ranges) if count is None else count
    return (1, 1, struct.pack(order + "II", n, 0) + b"".join(struct.pack(order + "QQ", s, e) for s, e in ranges))


def dma_avail_cap(n: int, order: str = "<") -> tuple[int, int, bytes]:
    return (3, 1, struct.pack(order + "I", n))


def migration_cap(order: str = "<") -> tuple[int, int, bytes]:
    return (2, 1, struct.pack(order + "IIQQ", 0, 0, 0x1000, 0x10000000))


# --- real captures ----------------------------------------------------------------------


@pytest.mark.parametrize("capture", captures(), ids=lambda p: str(p.relative_to(FIXTURES)) if p.is_relative_to(FIXTURES) else str(p))
def test_to_dict_equals_the_cli_json(capture: Path) -> None:
    rc, want, stderr = cli_json("decode", str(capture))
    data = capture.read_bytes()
    if rc != 0:
        with pytest.raises(vii.MalformedInfoError) as e:
            vii.decode(data)
        assert f"byte offset {e.value.offset}:" in stderr
        return
    info = vii.decode(data)
    assert info.to_dict() == want
    want = unhex(want)
    # The attributes say the same as the dict.
    ranges = info.iova_ranges
    assert (None if ranges is None else [{"start": r.start, "end": r.end} for r in ranges]) == want["iova_ranges"]
    assert info.iova_pgsizes == want["iova_pgsizes"]
    assert info.dma_avail == want["dma_avail"]
    assert info.caps_truncated == want["caps_truncated"]
    assert [{"start": h.start, "end": h.end} for h in info.holes] == want["holes"]
    ap = info.aperture
    assert (None if ap is None else {"start": ap.start, "end": ap.end}) == want["aperture"]
    m = info.migration
    assert (None if m is None else {"flags": m.flags, "pgsize_bitmap": m.pgsize_bitmap, "max_dirty_bitmap_size": m.max_dirty_bitmap_size}) == want["migration"]
    assert {k: {"code": a.code, "reason": a.reason} for k, a in info.absent.items()} == want["absent"]
    assert [{"id": c.id, "version": c.version, "offset": c.offset} for c in info.chain] == want["chain"]
    assert sum(info.page_sizes) == (info.iova_pgsizes or 0)


def test_every_capture_was_compared() -> None:
    assert len(captures()) >= 64, "tests/fixtures lost its captures"


def test_a_real_amd_capture() -> None:
    info = vii.decode(AMD.read_bytes())
    assert info.iova_ranges == [
        vii.IovaRange(0, 0xFEDFFFFF),
        vii.IovaRange(0xFEF00000, 0xFCFFFFFFFF),
        vii.IovaRange(0x10000000000, TOP),
    ]
    assert info.aperture == vii.IovaRange(0, TOP)
    assert info.aperture.size == 2**64
    assert info.holes == [vii.IovaRange(0xFEE00000, 0xFEEFFFFF), vii.IovaRange(0xFD00000000, 0xFFFFFFFFFF)]
    assert info.dma_avail == 65535
    assert info.page_sizes[:2] == [4096, 8192]
    assert info.migration == vii.decode(AMD.read_bytes()).migration
    assert info.migration is not None and info.migration.page_sizes == [4096]
    assert [c.name for c in info.chain] == ["MIGRATION", "DMA_AVAIL", "IOVA_RANGE"]
    assert info.absent == {}
    assert "0xfef00000-0xfcffffffff" in repr(info) and "dma_avail=65535" in repr(info)


def test_a_capture_whose_caps_did_not_fit() -> None:
    info = vii.decode((FIXTURES / "linux-6.12-amd" / "group-2" / "info-argsz24.bin").read_bytes())
    assert info.caps_truncated
    assert info.iova_ranges is None and info.dma_avail is None and info.migration is None
    assert info.aperture is None and info.holes == []
    assert set(info.absent) == {"iova_ranges", "migration", "dma_avail"}
    assert info.absent["dma_avail"].code == "did_not_fit"
    assert "needs 136 bytes" in info.absent["dma_avail"].reason
    assert "dma_avail=None (did_not_fit)" in repr(info)
    p = info.check(0, 4096)
    assert p is not None and p.code == "no_ranges"


# --- both byte orders -------------------------------------------------------------------


@pytest.mark.parametrize("order,name", [("<", "little"), (">", "big")])
def test_hand_built_buffers_in_both_byte_orders(order: str, name: Literal["little", "big"]) -> None:
    buf = build(
        [migration_cap(order), dma_avail_cap(7, order), iova_cap([(0, 0xFEDFFFFF), (0xFEF00000, 0x7FFFFFFFFF)], order)],
        order,
    )
    info = vii.decode(buf, byte_order=name)
    assert info.iova_ranges == [vii.IovaRange(0, 0xFEDFFFFF), vii.IovaRange(0xFEF00000, 0x7FFFFFFFFF)]
    assert info.dma_avail == 7
    assert info.page_sizes == [4096, 2 << 20, 1 << 30]
    assert info.migration is not None and info.migration.max_dirty_bitmap_size == 0x10000000
    assert info.cap_offset == 24 and info.argsz == len(buf)
    # Read in the other order, the same bytes are not this info.
    other: Literal["little", "big"] = "big" if name == "little" else "little"
    try:
        assert vii.decode(buf, byte_order=other).to_dict() != info.to_dict()
    except vii.MalformedInfoError:
        pass


def test_native_is_this_machines_order() -> None:
    import sys

    buf = build([dma_avail_cap(9, "<" if sys.byteorder == "little" else ">")], "<" if sys.byteorder == "little" else ">")
    assert vii.decode(buf).dma_avail == 9 == vii.decode(buf, byte_order=sys.byteorder).dma_avail


def test_bytearray_and_memoryview_decode_like_bytes() -> None:
    data = AMD.read_bytes()
    want = vii.decode(data)
    assert vii.decode(bytearray(data)) == want
    assert vii.decode(memoryview(data)) == want
    assert vii.decode(memoryview(b"xx" + data)[2:]) == want


def test_unknown_capabilities_keep_their_bytes() -> None:
    payload = bytes(range(16))
    buf = build([(99, 3, payload), dma_avail_cap(5)])
    info = vii.decode(buf)
    (u,) = info.unknown_caps
    assert (u.id, u.version, u.offset) == (99, 3, 24)
    assert u.data[8:24] == payload and len(u.data) == 24
    assert info.dma_avail == 5
    assert unhex(info.to_dict())["unknown_caps"] == [{"id": 99, "version": 3, "offset": 24}]
    assert [c.name for c in info.chain] == [None, "DMA_AVAIL"]


# --- malformed buffers ------------------------------------------------------------------


def self_loop() -> bytes:
    buf = bytearray(build([dma_avail_cap(1)]))
    struct.pack_into("<I", buf, 24 + 4, 24)  # next -> itself
    return bytes(buf)


def offset_into_header() -> bytes:
    buf = bytearray(build([dma_avail_cap(1)]))
    struct.pack_into("<I", buf, 16, 8)  # cap_offset -> inside the header
    return bytes(buf)


def offset_past_the_end() -> bytes:
    buf = bytearray(build([dma_avail_cap(1)]))
    struct.pack_into("<I", buf, 16, 4096)
    return bytes(buf)


MALFORMED = {
    "empty": (b"", "shorter than the 16-byte fixed part"),
    "short header": (AMD.read_bytes()[:15], "shorter than"),
    "truncated mid-chain": (AMD.read_bytes()[:30], "outside the 30-byte buffer"),
    "self-looping chain": (self_loop(), "loops"),
    "offset into the header": (offset_into_header(), "fixed header"),
    "offset past the end": (offset_past_the_end(), "outside"),
    "range count overflowing 32-bit multiplication": (build([iova_cap([(0, 0xFFF)], count=0x1000_0001)]), "nr_iovas = 268435457"),
    "inverted range": (build([iova_cap([(0x2000, 0x1000)])]), "inverted"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_buffers_raise_with_the_offset(name: str, tmp_path: Path) -> None:
    data, text = MALFORMED[name]
    with pytest.raises(vii.MalformedInfoError) as e:
        vii.decode(data)
    assert isinstance(e.value, ValueError)
    assert text in str(e.value)
    assert (e.value.ioctl, e.value.fd) == (None, None)
    assert e.value.structure
    assert 0 <= e.value.offset <= max(len(data), 4096)
    # The CLI names the same offset.
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    rc, _, stderr = cli_json("decode", str(path))
    assert rc != 0
    m = re.search(r"byte offset (\d+)", stderr)
    assert m and int(m.group(1)) == e.value.offset, stderr


def test_arguments_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="expected bytes, bytearray or memoryview, got str"):
        vii.decode("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='byte_order must be "native", "little" or "big"'):
        vii.decode(AMD.read_bytes(), byte_order="middle")  # type: ignore[arg-type]


# --- the value types --------------------------------------------------------------------


def test_iova_range() -> None:
    r = vii.IovaRange(0x1000, 0x1FFF)
    assert (r.start, r.end, r.size) == (0x1000, 0x1FFF, 0x1000)
    assert 0x1000 in r and 0x1FFF in r and 0x2000 not in r and -1 not in r and "x" not in r
    assert r == vii.IovaRange(0x1000, 0x1FFF) and hash(r) == hash(vii.IovaRange(0x1000, 0x1FFF))
    assert r != vii.IovaRange(0x1000, 0x2FFF)
    assert repr(r) == "IovaRange(start=0x1000, end=0x1fff)"
    assert vii.IovaRange(0, TOP).size == 2**64
    with pytest.raises(ValueError, match="above its inclusive end"):
        vii.IovaRange(2, 1)
    with pytest.raises(OverflowError):
        vii.IovaRange(-1, 1)
    with pytest.raises(OverflowError):
        vii.IovaRange(0, 2**64)
    import pickle

    assert pickle.loads(pickle.dumps(r)) == r


def test_objects_are_immutable() -> None:
    info = vii.decode(AMD.read_bytes())
    with pytest.raises(AttributeError):
        info.dma_avail = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        vii.IovaRange(0, 1).start = 5  # type: ignore[misc]


def test_check_answers_why_not() -> None:
    amd = vii.decode(AMD.read_bytes())
    intel = vii.decode(INTEL39.read_bytes())
    assert amd.check(0x100000, 0x200000) is None
    hole = amd.check(0xFD00000000 - 0x1000, 0x2000)
    assert hole is not None and hole.code == "in_hole"
    assert hole.range == vii.IovaRange(0xFD00000000, 0xFFFFFFFFFF)
    assert str(hole) == hole.message == "inside the reserved hole [0xfd00000000, 0xffffffffff]"
    beyond = intel.check(0x80_0000_0000, 0x1000)
    assert beyond is not None and beyond.code == "beyond_aperture"
    assert beyond.range == vii.IovaRange(0, 0x7F_FFFF_FFFF)
    misaligned = amd.check(0x100800, 0x1000)
    assert misaligned is not None and (misaligned.code, misaligned.page_size) == ("misaligned", 4096)
    assert amd.check(TOP - 0xFFF, 0x1000) is None  # the last page of the 64-bit space
    wraps = amd.check(TOP - 0xFFF, 0x2000)
    assert wraps is not None and wraps.code == "wraps"
    empty = amd.check(0, 0)
    assert empty is not None and empty.code == "empty"
    across = intel.check(0xFEE00000 - 0x1000, 0x2000)
    assert across is not None and across.code == "in_hole"
    with pytest.raises(OverflowError):
        amd.check(-1, 1)


def test_decode_from_many_threads_at_once() -> None:
    data = [p.read_bytes() for p in (AMD, INTEL39)]
    want = [vii.decode(d).to_dict() for d in data]
    errors: list[str] = []

    def work(i: int) -> None:
        for n in range(200):
            got = vii.decode(data[(i + n) % 2]).to_dict()
            if got != want[(i + n) % 2]:
                errors.append(f"thread {i} call {n}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
