"""IOVA planning on any host: IovaSpace on the real captures and their sysfs reserved
regions, IovaAllocator (limits, alignment, free and reuse, reservations, threads), the
guest layout around AMD's HyperTransport hole, and to_dict() against `plan --json`."""

from __future__ import annotations

import bisect
import json
import pickle
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional, Union

import pytest

import vfio_iommu_info as vii
from conftest import FIXTURES, captures, cli, document, unhex

AMD_DIR = FIXTURES / "linux-6.12-amd" / "group-2"
INTEL39_DIR = FIXTURES / "linux-6.12-intel-aw39" / "group-2"
DMA_LIMIT_DIR = FIXTURES / "linux-6.12-intel-aw48-dma-limit" / "group-2"
TOP = 2**64 - 1
GIB = 1 << 30
EDU = 2**28 - 1  # QEMU edu's DMA mask
MSI = vii.IovaRange(0xFEE00000, 0xFEEFFFFF)
HT = vii.IovaRange(0xFD00000000, 0xFFFFFFFFFF)  # AMD's HyperTransport hole, 1012-1024 GiB


def info_of(d: Path) -> vii.IommuInfo:
    return vii.decode((d / "info-exact.bin").read_bytes())


def regions_of(d: Path) -> list[vii.ReservedRegion]:
    return [r for f in sorted(d.glob("reserved_regions-group*")) for r in vii.parse_reserved_regions(f.read_text())]


def space_of(d: Path) -> vii.IovaSpace:
    space = vii.IovaSpace.from_info(info_of(d), regions_of(d))
    assert space is not None
    return space


def amd() -> vii.IovaSpace:
    return space_of(AMD_DIR)


def intel39() -> vii.IovaSpace:
    return space_of(INTEL39_DIR)


def complement(ranges: list[vii.IovaRange]) -> list[vii.IovaRange]:
    """The 64-bit space minus `ranges`, computed the slow way."""
    out: list[vii.IovaRange] = []
    at: Optional[int] = 0
    for r in sorted(ranges, key=lambda r: (r.start, r.end)):
        if at is None:
            break
        if r.start > at:
            out.append(vii.IovaRange(at, r.start - 1))
        at = None if r.end == TOP else max(at, r.end + 1)
    if at is not None:
        out.append(vii.IovaRange(at, TOP))
    return out


def plan_json(*args: str) -> tuple[int, Any, str]:
    """`vfio-iommu-info plan ... --json`: (exit status, the JSON object, stderr). Exit 1
    means a check, an allocation or the layout said no; it still prints the object."""
    r = subprocess.run([str(cli()), "plan", *args, "--json"], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, document(r.stdout, r.returncode), r.stderr


# --- the space --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "capture", captures(), ids=lambda p: str(p.relative_to(FIXTURES)) if p.is_relative_to(FIXTURES) else str(p)
)
def test_the_space_of_every_capture_agrees_with_its_info(capture: Path) -> None:
    try:
        info = vii.decode(capture.read_bytes())
    except vii.MalformedInfoError:
        return
    space = info.space()
    assert space == vii.IovaSpace.from_info(info)
    if info.iova_ranges is None:
        assert space is None
        return
    assert space is not None
    assert space.ranges == sorted(set(info.iova_ranges), key=lambda r: (r.start, r.end))
    assert space.aperture == info.aperture
    assert [h.range for h in space.holes] == info.holes
    assert all(h.causes == [] for h in space.holes)
    assert space.reserved == complement(info.iova_ranges)
    assert space.page_sizes == info.page_sizes
    assert space.iova_pgsizes == info.iova_pgsizes
    assert space.granule == (info.page_sizes[0] if info.page_sizes else 4096)
    # Rebuilt from the attributes, it is the same space.
    assert vii.IovaSpace(info.iova_ranges, info.iova_pgsizes) == space
    assert vii.IovaSpace([(r.start, r.end) for r in info.iova_ranges], info.page_sizes or None) == space
    for iova, size in [(0, 0x1000), (0xFEE00000, 0x1000), (0xFEDFF000, 0x2000), (HT.start, GIB), (2**39, 0x1000), (TOP - 0xFFF, 0x1000), (0x800, 0x1000)]:
        assert space.check(iova, size) == info.check(iova, size), (iova, size)


def test_amd_holes_are_attributed_to_the_groups_reserved_regions() -> None:
    space = amd()
    assert space.aperture == vii.IovaRange(0, TOP) and space.aperture.size == 2**64
    msi, ht = space.holes
    assert msi.range == MSI and ht.range == HT
    assert msi.causes == [vii.ReservedRegion(MSI.start, MSI.end, "msi")]
    assert ht.causes == [vii.ReservedRegion(HT.start, HT.end, "reserved")]
    assert (ht.causes[0].type, ht.causes[0].range, ht.causes[0].makes_hole) == ("reserved", HT, True)
    # The aperture is the whole 64-bit space: a virtual IOMMU reserves exactly the holes.
    assert space.reserved == [MSI, HT]
    assert space.hole_at(0xFE000_00000) == ht == space.hole_at(HT.end)
    assert space.hole_at(HT.start - 1) is None and space.hole_at(HT.end + 1) is None
    assert space.hole_at(MSI.start) == msi
    assert space.range_holding(0, 0x1000) == vii.IovaRange(0, 0xFEDFFFFF)
    assert space.range_holding(HT.end + 1, 0x1000) == vii.IovaRange(0x10000000000, TOP)
    assert space.range_holding(TOP - 0xFFF, 0x1000) == vii.IovaRange(0x10000000000, TOP)
    assert space.range_holding(0xFEDFF000, 0x2000) is None
    assert space.range_holding(TOP, 2) is None
    assert space.granule == 4096 and space.page_sizes[:3] == [4096, 8192, 16384]
    assert hash(msi) == hash(space.holes[0]) and len({msi, ht, space.holes[1]}) == 2
    assert "(msi)" in repr(space) and "(reserved)" in repr(space)
    assert 'type="msi"' in repr(msi)


def test_intel_39_bits_reserves_everything_above_the_aperture() -> None:
    space = intel39()
    assert space.aperture == vii.IovaRange(0, 2**39 - 1)
    assert [h.range for h in space.holes] == [MSI]
    assert space.reserved == [MSI, vii.IovaRange(2**39, TOP)]
    assert space.page_sizes == [4096, 2 << 20, GIB] and space.iova_pgsizes == 0x40201000
    beyond = space.check(2**39 - 0x1000, 0x2000)
    assert beyond is not None and beyond.code == "beyond_aperture" and beyond.range == space.aperture
    assert space.hole_at(2**39) is None  # above the aperture is not a hole
    assert space.check(2**39 - 0x1000, 0x1000) is None


def test_check_answers_why_not() -> None:
    space = amd()
    assert space.check(0x100000, 0x200000) is None
    p = space.check(HT.start - 0x1000, 0x2000)
    assert p is not None and (p.code, p.range) == ("in_hole", HT)
    assert p.message == "inside the reserved hole [0xfd00000000, 0xffffffffff]"
    p = space.check(MSI.start, 0x1000)
    assert p is not None and (p.code, p.range) == ("in_hole", MSI)
    p = space.check(0x100800, 0x1000)
    assert p is not None and (p.code, p.page_size, p.range) == ("misaligned", 4096, None)
    assert space.check(TOP - 0xFFF, 0x1000) is None  # the last page (the allocator keeps it out)
    p = space.check(TOP - 0xFFF, 0x2000)
    assert p is not None and p.code == "wraps"
    p = space.check(0, 0)
    assert p is not None and p.code == "empty"
    touching = vii.IovaSpace([(0, 0xFFFF), (0x10000, 0x1FFFF)], [4096])
    assert touching.holes == []
    p = touching.check(0xF000, 0x2000)
    assert p is not None and p.code == "across_ranges"
    p = vii.IovaSpace([]).check(0, 0x1000)
    assert p is not None and p.code == "no_ranges"
    with pytest.raises(OverflowError):
        space.check(-1, 1)
    with pytest.raises(OverflowError):
        space.check(0, 2**64)


def test_explain_says_why_in_one_line_and_is_none_exactly_when_check_is() -> None:
    space = amd()
    text = space.explain(MSI.start, 0x200000)
    assert text is not None and text.startswith(
        "cannot map [0xfee00000, 0xfeffffff] (0x200000 bytes, 2M): inside the reserved hole "
        "[0xfee00000, 0xfeefffff], reserved by the msi region [0xfee00000, 0xfeefffff]; "
        "place guest RAM outside [0xfee00000, 0xfeefffff]"
    )
    beyond = intel39().explain(2**39 - 0x1000, 0x2000)
    assert beyond is not None and "keep guest RAM below 2^39 (0x8000000000)" in beyond
    for iova, size in [(0, GIB), (HT.start - 0x1000, 0x2000), (0x100800, 0x1000),
                       (TOP - 0xFFF, 0x1000), (TOP - 0xFFF, 0x2000), (0, 0)]:
        assert (space.explain(iova, size) is None) == (space.check(iova, size) is None)
    with pytest.raises(OverflowError):
        space.explain(0, 2**64)


def test_building_a_space() -> None:
    a = vii.IovaSpace([vii.IovaRange(0xFEF00000, 2**39 - 1), (0, 0xFEDFFFFF)], 0x40201000)
    b = vii.IovaSpace(iter([(0, 0xFEDFFFFF), (0xFEF00000, 2**39 - 1)]), [GIB, 4096, 2 << 20])
    assert a == b == vii.IovaSpace.from_info(info_of(INTEL39_DIR))
    assert a != intel39()  # that one knows the holes' causes
    assert a.with_reserved_regions([(MSI.start, MSI.end, "msi")]) == intel39()
    assert a.with_reserved_regions(regions_of(INTEL39_DIR)) == intel39()
    # Regions that make no hole attribute nothing; direct-relaxable never does.
    relaxable = vii.ReservedRegion(0, 0xFFFFFF, "direct-relaxable")
    assert not relaxable.makes_hole
    assert a.with_reserved_regions([relaxable]).holes[0].causes == []
    odd = vii.ReservedRegion(MSI.start, MSI.end, "future-kind")
    assert a.with_reserved_regions([odd]).holes[0].causes == [odd] and odd.makes_hole
    # Page sizes: the bitmap, or the sizes; an empty list means not reported.
    unknown = vii.IovaSpace([(0, TOP)], [])
    assert (unknown.page_sizes, unknown.iova_pgsizes, unknown.granule) == ([], None, 4096)
    assert vii.IovaSpace([(0, TOP)]) == unknown
    assert vii.IovaSpace([(0, TOP)], 4096).page_sizes == [4096]
    empty = vii.IovaSpace([])
    assert (empty.ranges, empty.aperture, empty.holes, empty.reserved) == ([], None, [], [vii.IovaRange(0, TOP)])
    assert vii.IovaSpace([(0, TOP)]).reserved == []
    # Bad arguments: the same exceptions as IovaRange's.
    with pytest.raises(ValueError, match="above its inclusive end"):
        vii.IovaSpace([(2, 1)])
    with pytest.raises(OverflowError):
        vii.IovaSpace([(-1, 1)])
    with pytest.raises(OverflowError):
        vii.IovaSpace([(0, 2**64)])
    with pytest.raises(TypeError, match=r"IovaRange or a \(start, end\) tuple, got list"):
        vii.IovaSpace([[0, 1]])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        vii.IovaSpace(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="power of two, not 0x3000"):
        vii.IovaSpace([(0, TOP)], [0x3000])
    with pytest.raises(TypeError, match="not a str"):
        vii.IovaSpace([(0, TOP)], "4K")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        vii.IovaSpace([(0, TOP)], 2**64)
    with pytest.raises(TypeError, match=r"ReservedRegion or a \(start, end, type\) tuple"):
        a.with_reserved_regions([(0, 1)])  # type: ignore[list-item]
    # An info without IOVA ranges has no space.
    truncated = vii.decode((AMD_DIR / "info-argsz24.bin").read_bytes())
    assert truncated.space() is None and vii.IovaSpace.from_info(truncated, regions_of(AMD_DIR)) is None


def test_reserved_regions() -> None:
    r = vii.ReservedRegion(0xFEE00000, 0xFEEFFFFF, "msi")
    assert (r.start, r.end, r.type, r.range) == (0xFEE00000, 0xFEEFFFFF, "msi", MSI)
    assert repr(r) == 'ReservedRegion(start=0xfee00000, end=0xfeefffff, type="msi")'
    assert pickle.loads(pickle.dumps(r)) == r and hash(r) == hash(vii.ReservedRegion(*r.__getnewargs__()))
    assert regions_of(AMD_DIR) == [r, vii.ReservedRegion(HT.start, HT.end, "reserved")]
    assert vii.parse_reserved_regions("") == []
    with pytest.raises(ValueError, match=r"line 2 .*start is above end"):
        vii.parse_reserved_regions("0x0 0x1 msi\n0x2 0x1 msi\n")
    with pytest.raises(ValueError, match="line 1"):
        vii.parse_reserved_regions("0xfee00000 msi")
    with pytest.raises(ValueError, match="above its inclusive end"):
        vii.ReservedRegion(2, 1, "msi")
    with pytest.raises(ValueError, match="one word"):
        vii.ReservedRegion(0, 1, "")
    with pytest.raises(OverflowError):
        vii.ReservedRegion(0, 2**64, "msi")


def test_planning_objects_are_immutable() -> None:
    space = amd()
    with pytest.raises(AttributeError):
        space.granule = 8192  # type: ignore[misc]
    with pytest.raises(AttributeError):
        space.holes[0].causes = []  # type: ignore[misc]
    layout = space.layout([GIB])
    with pytest.raises(AttributeError):
        layout.dma_avail = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        layout.placements[0].size = 1  # type: ignore[misc]


# --- the allocator ----------------------------------------------------------------------


def assert_mappable(space: vii.IovaSpace, iova: int, size: int) -> None:
    assert space.check(iova, size) is None, (hex(iova), hex(size), space.check(iova, size))
    assert space.range_holding(iova, size) is not None
    assert space.hole_at(iova) is None and space.hole_at(iova + size - 1) is None


@pytest.mark.parametrize("space", [amd(), intel39()], ids=["amd", "intel-aw39"])
def test_allocations_below_a_28_bit_dma_mask(space: vii.IovaSpace) -> None:
    a = space.allocator()
    assert (a.granule, len(a), a.live, a.space) == (4096, 0, [], space)
    rng = random.Random(28)
    got: list[tuple[int, int]] = []
    for _ in range(300):
        size = rng.choice([1, 100, 4096, 4097, 0x10000, 0x12345, 2 << 20])
        align = rng.choice([0, 1, 4096, 0x10000, 2 << 20])
        iova = a.alloc(size, align, EDU)
        rounded = -(-size // 4096) * 4096
        assert iova % max(align, 4096) == 0
        assert iova + rounded - 1 <= EDU
        assert_mappable(space, iova, rounded)
        got.append((iova, rounded))
    assert a.live == sorted(got) and len(a) == len(got)
    ends = sorted(got)
    assert all(s + n <= t for (s, n), (t, _) in zip(ends, ends[1:])), "overlapping allocations"
    # Until the 256 MiB below the mask run out.
    with pytest.raises(vii.AllocationError) as e:
        a.alloc(2**28, 0, EDU)
    assert e.value.code == "no_room" and e.value.problem is None and e.value.other is None
    assert "0xfffffff (the device's DMA limit)" in str(e.value)
    assert not isinstance(e.value, ValueError)
    # Without the mask the same request fits, ending above it.
    assert a.alloc(2**28) + 2**28 - 1 > EDU


def test_allocations_skip_holes_below_the_limit() -> None:
    # A hole at 8-16 MiB, below the mask: nothing lands in it or straddles it.
    space = vii.IovaSpace([(0, 0x7FFFFF), (0x1000000, 0xFFFFFFF)], [4096, 2 << 20])
    a = space.allocator()
    assert a.alloc(6 << 20, 0, EDU) == 0
    assert a.alloc(4 << 20, 0, EDU) == 0x1000000  # 2 MiB left below the hole
    assert a.alloc(2 << 20, 0, EDU) == 6 << 20
    with pytest.raises(vii.AllocationError) as e:
        a.alloc(0x1000, 0, (8 << 20) - 1)
    assert e.value.code == "no_room"
    for iova, size in a.live:
        assert_mappable(space, iova, size)
    assert a.free_extents == [vii.IovaRange(0x1400000, 0xFFFFFFF)]


def test_free_and_reuse() -> None:
    space = intel39()
    a = vii.IovaAllocator(space)
    x = a.alloc(100)
    y = a.alloc(2 << 20, 2 << 20)
    z = a.alloc(0x3000)
    assert (x, y) == (0, 2 << 20)
    assert a.free(x) == 0x1000  # the size freed: rounded up to the granule
    assert a.alloc(0x1000) == x  # the lowest fit again
    assert a.free(y) == 2 << 20 and a.free(z) == 0x3000 and a.free(x) == 0x1000
    assert len(a) == 0 and a.live == []
    # Everything merged back: the usable ranges, whole (the top page is below 2**39 here).
    assert a.free_extents == space.ranges
    with pytest.raises(vii.AllocationError) as e:
        a.free(x)
    assert e.value.code == "not_allocated"
    with pytest.raises(vii.AllocationError) as e:
        a.alloc(0)
    assert e.value.code == "zero_size"
    with pytest.raises(vii.AllocationError) as e:
        a.alloc(0x1000, 3)
    assert e.value.code == "bad_align"
    with pytest.raises(OverflowError):
        a.alloc(-1)
    with pytest.raises(OverflowError):
        a.alloc(1, 0, 2**64)
    with pytest.raises(OverflowError):
        a.free(2**64)


def test_reservations_and_their_conflicts() -> None:
    space = amd()
    a = space.allocator()
    a.reserve(0, GIB)
    assert a.alloc(0x1000) == GIB and a.live == [(0, GIB), (GIB, 0x1000)]
    cases: list[tuple[int, int, str]] = [
        (GIB - 0x1000, 0x2000, "overlaps"),
        (MSI.start, 0x1000, "unusable"),
        (HT.start + GIB, GIB, "unusable"),
        (0x800, 0x1000, "misaligned"),
        (0x1000_0000_0000, 0x800, "misaligned"),
        (0x2000_0000, 0, "zero_size"),
        (TOP - 0xFFF, 0x1000, "top_page"),  # mappable, but never unmappable
    ]
    for iova, size, code in cases:
        with pytest.raises(vii.AllocationError) as e:
            a.reserve(iova, size)
        assert e.value.code == code, (hex(iova), e.value)
    with pytest.raises(vii.AllocationError) as e:
        a.reserve(GIB - 0x1000, 0x2000)
    assert e.value.other == (GIB, 0x1000) and e.value.problem is None
    with pytest.raises(vii.AllocationError) as e:
        a.reserve(HT.start - 0x1000, 0x2000)
    p = e.value.problem
    assert p is not None and (p.code, p.range) == ("in_hole", HT) and e.value.other is None
    assert "inside the reserved hole" in str(e.value)
    intel = intel39().allocator()
    with pytest.raises(vii.AllocationError) as e:
        intel.reserve(2**39, 0x1000)
    assert e.value.code == "unusable" and e.value.problem is not None
    assert e.value.problem.code == "beyond_aperture"
    # The top page is out of the free extents from the start.
    assert a.free_extents[-1] == vii.IovaRange(0x10000000000, TOP - 0x1000)
    assert a.free(0) == GIB
    a.reserve(0, 0x1000)
    assert len(a) == 2


def test_overlapping_ranges_are_merged_and_touching_ones_kept_apart() -> None:
    # The kernel never reports overlapping ranges; a hand-made list or a corrupt capture
    # can have them. The space merges them, so the allocator and the layout stay sound.
    space = vii.IovaSpace([(0x1000, 0x2FFF), (0, 0x1FFF), (0, 0xFFF)])
    assert [(r.start, r.end) for r in space.ranges] == [(0, 0x2FFF)]
    assert space.check(0, 0x3000) is None
    assert space.allocator().alloc(0x3000) == 0
    assert space.layout([0x3000]).all_placed
    # Touching ranges are fine: nothing crosses from one into the other.
    a = vii.IovaSpace([(0, 0x1FFF), (0x2000, 0x3FFF)]).allocator()
    with pytest.raises(vii.AllocationError):
        a.alloc(0x3000)
    assert (a.alloc(0x2000), a.alloc(0x2000)) == (0, 0x2000)


def test_threads_sharing_one_allocator_never_get_the_same_iova() -> None:
    space = amd()
    a = space.allocator()
    held: dict[int, int] = {}
    starts: list[int] = []
    lock = threading.Lock()
    problems: list[str] = []

    def take(iova: int, size: int) -> None:
        with lock:
            i = bisect.bisect_left(starts, iova)
            if i > 0 and starts[i - 1] + held[starts[i - 1]] > iova:
                problems.append(f"{iova:#x}+{size:#x} overlaps {starts[i - 1]:#x}")
            if i < len(starts) and iova + size > starts[i]:
                problems.append(f"{iova:#x}+{size:#x} overlaps {starts[i]:#x}")
            starts.insert(i, iova)
            held[iova] = size

    def give(iova: int) -> None:
        with lock:
            starts.remove(iova)
            del held[iova]

    def work(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[tuple[int, int]] = []
        try:
            for _ in range(1500):
                if len(mine) >= 48 or (mine and rng.random() < 0.45):
                    iova, size = mine.pop(rng.randrange(len(mine)))
                    give(iova)
                    if a.free(iova) != size:
                        problems.append(f"free({iova:#x}) != {size:#x}")
                else:
                    size = rng.choice([0x1000, 0x3000, 0x10000, 0x80000])
                    limit = rng.choice([EDU, TOP])
                    iova = a.alloc(size, 0, limit)
                    take(iova, size)
                    mine.append((iova, size))
        except Exception as e:  # report it: an exception in a thread is otherwise lost
            problems.append(repr(e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert problems == []
    assert a.live == sorted(held.items()) and len(a) == len(held)
    for iova, size in a.live:
        assert_mappable(space, iova, size)


def test_allocator_repr() -> None:
    a = amd().allocator()
    a.alloc(1)
    assert repr(a) == "<IovaAllocator granule=0x1000 live=1>"


# --- the guest layout -------------------------------------------------------------------


def test_guest_ram_around_amds_1010_gib_hole() -> None:
    space = amd()
    layout = space.layout(
        [
            3 * GIB,  # placed where it fits
            (8 * GIB, 1012 * GIB),  # fixed: inside the HyperTransport hole
            (8 * GIB, 1000 * GIB),  # fixed: just below it (ends at 1008 GiB)
            (GIB, 1024 * GIB),  # fixed: just above it
            (64 * GIB, None),  # placed
        ],
        dma_avail=65535,
    )
    placed, conflict, below, above, big = layout.placements
    assert (placed.result, placed.range, placed.size, placed.align) == ("placed", vii.IovaRange(0, 3 * GIB - 1), 3 * GIB, GIB)
    assert placed.problem is None and placed.hole is None
    assert conflict.result == "conflict"
    assert conflict.range == vii.IovaRange(1012 * GIB, 1020 * GIB - 1) and conflict.size == 8 * GIB
    assert conflict.align is None
    assert conflict.problem is not None and (conflict.problem.code, conflict.problem.range) == ("in_hole", HT)
    assert conflict.hole is not None and conflict.hole.range == HT
    assert conflict.hole.causes == [vii.ReservedRegion(HT.start, HT.end, "reserved")]
    assert (below.result, below.range, below.align) == ("placed", vii.IovaRange(1000 * GIB, 1008 * GIB - 1), 0)
    assert (above.result, above.range) == ("placed", vii.IovaRange(1024 * GIB, 1025 * GIB - 1))
    # 64 GiB, 1 GiB-aligned, above the MSI hole: at 4 GiB.
    assert (big.result, big.range, big.align) == ("placed", vii.IovaRange(4 * GIB, 68 * GIB - 1), GIB)
    for p in (placed, below, above, big):
        assert p.range is not None
        assert_mappable(space, p.range.start, p.range.size)
    assert not layout.all_placed
    assert (layout.per_region, layout.dma_avail, layout.fits) == (4, 65535, True)
    total = 3 * GIB + 8 * GIB + GIB + 64 * GIB
    per_page = dict(layout.per_page)
    assert list(per_page) == [1 << b for b in range(12, 31)]  # AMD: 4K..1G, every power of two
    assert all(n == -(-total // page) for page, n in per_page.items())
    assert (per_page[4096], per_page[2 << 20], per_page[GIB]) == (total // 4096, total >> 21, 76)
    # 76 GiB in 1 MiB pages is 77824 entries, more than 65535; in 2 MiB, 38912.
    assert layout.smallest_fitting_page == 2 << 20
    assert repr(conflict).startswith('Placement(result="conflict", range=IovaRange(start=0xfd00000000')
    assert "conflict=1" in repr(layout)


def test_layout_conflicts_and_no_room() -> None:
    space = intel39()
    layout = space.layout([(2 * GIB, 0), (GIB, GIB), (GIB, MSI.start), (GIB, 2**39), (0x1800, 0x100000), 1 << 40])
    ok, overlap, msi, beyond, misaligned, huge = layout.placements
    assert ok.result == "placed"
    assert (overlap.result, overlap.overlaps, overlap.hole) == ("conflict", 0, None)
    assert overlap.problem is not None and (overlap.problem.code, overlap.problem.range) == ("overlaps_region", vii.IovaRange(0, 2 * GIB - 1))
    assert overlap.problem.message == "it overlaps region 0 at [0x0, 0x7fffffff]"
    assert msi.overlaps is None
    assert msi.problem is not None and msi.problem.code == "in_hole" and msi.hole is not None
    assert msi.hole.causes == [vii.ReservedRegion(MSI.start, MSI.end, "msi")]
    assert beyond.problem is not None and beyond.problem.code == "beyond_aperture" and beyond.hole is None
    assert misaligned.problem is not None and (misaligned.problem.code, misaligned.problem.page_size) == ("misaligned", 4096)
    assert (huge.result, huge.range, huge.size, huge.align, huge.problem) == ("no_room", None, 1 << 40, GIB, None)
    assert (layout.all_placed, layout.per_region, layout.dma_avail, layout.fits, layout.smallest_fitting_page) == (False, 1, None, None, None)
    assert "no_room" in repr(huge)
    # Region sizes and addresses: ints up to 2**64-1, nothing else.
    with pytest.raises(OverflowError):
        space.layout([-1])
    with pytest.raises(OverflowError):
        space.layout([(1, 2**64)])
    with pytest.raises(OverflowError):
        space.layout([GIB], dma_avail=2**32)
    with pytest.raises(TypeError, match=r"a size \(int\) or a \(size, at\) tuple"):
        space.layout(["1G"])  # type: ignore[list-item]
    assert space.layout([]).placements == []
    assert space.layout([(TOP, TOP)]).placements[0].problem is not None
    # A region of 0 bytes is a mistake in the arguments, not a placement.
    empties: list[Union[int, tuple[int, Optional[int]]]] = [0, (0, 0), (0, None)]
    for empty in empties:
        with pytest.raises(ValueError, match="guest RAM region 1 has size 0"):
            space.layout([GIB, empty])


def test_the_top_page_is_a_conflict_of_its_own() -> None:
    # AMD's last range runs to 2**64-1: the kernel's ranges allow the top page, but
    # type1 could never unmap it.
    top = amd().layout([(0x2000, TOP - 0x1FFF)]).placements[0]
    assert (top.result, top.overlaps, top.hole) == ("conflict", None, None)
    assert top.range == vii.IovaRange(TOP - 0x1FFF, TOP)
    assert top.problem is not None and (top.problem.code, top.problem.range) == ("top_page", None)
    assert "never unmap" in top.problem.message


def test_mapping_counts_against_a_real_dma_entry_limit() -> None:
    # vfio_iommu_type1 loaded with dma_entry_limit=7: DMA_AVAIL is 7.
    info = info_of(DMA_LIMIT_DIR)
    space = info.space()
    assert space is not None and info.dma_avail == 7
    seven = space.layout([GIB] * 7, info.dma_avail)
    assert (seven.all_placed, seven.per_region, seven.fits) == (True, 7, True)
    assert seven.smallest_fitting_page == GIB
    eight = space.layout([GIB] * 8, info.dma_avail)
    assert (eight.all_placed, eight.per_region, eight.fits) == (True, 8, False)
    assert eight.smallest_fitting_page is None  # 8 regions of 1 GiB need 8 entries at best
    # Three regions of 2 MiB fit in 2 MiB pages (3 entries) but not in 4 KiB ones (1536).
    small = space.layout([2 << 20] * 3, info.dma_avail)
    assert small.per_page == [(4096, 1536), (2 << 20, 3), (GIB, 3)]
    assert small.smallest_fitting_page == 2 << 20 and small.fits


# --- to_dict() --------------------------------------------------------------------------


def range_dict(r: Optional[vii.IovaRange]) -> Optional[dict[str, int]]:
    return None if r is None else {"start": r.start, "end": r.end}


def problem_dict(p: Optional[vii.SpanProblem]) -> Optional[dict[str, Any]]:
    return None if p is None else {"code": p.code, "message": p.message, "range": range_dict(p.range), "page_size": p.page_size}


def hole_dict(h: Optional[vii.Hole]) -> Optional[dict[str, Any]]:
    if h is None:
        return None
    causes = [{"start": c.start, "end": c.end, "type": c.type} for c in h.causes]
    return {"start": h.range.start, "end": h.range.end, "causes": causes}


def test_to_dict_says_what_the_attributes_say() -> None:
    space = amd()
    d = unhex(space.to_dict())
    assert d == {
        "ranges": [range_dict(r) for r in space.ranges],
        "iova_pgsizes": space.iova_pgsizes,
        "granule": space.granule,
        "aperture": range_dict(space.aperture),
        "holes": [hole_dict(h) for h in space.holes],
        "reserved": [range_dict(r) for r in space.reserved],
    }
    assert d["ranges"][-1]["end"] == TOP and json.loads(json.dumps(d)) == d
    assert space.to_dict()["ranges"][-1]["end_hex"] == "0xffffffffffffffff"
    layout = space.layout([3 * GIB, (8 * GIB, 1012 * GIB), 64 * GIB, TOP, (GIB, 1010 * GIB), (GIB, 1011 * GIB - 4096)], 65535)
    assert [p.result for p in layout.placements] == ["placed", "conflict", "placed", "no_room", "placed", "conflict"]
    d = unhex(layout.to_dict())
    for p, q in zip(layout.placements, d["placements"]):
        assert q["result"] == p.result and q["size"] == p.size
        if p.result != "no_room":
            assert p.range is not None and (q["start"], q["end"]) == (p.range.start, p.range.end)
        if p.result != "conflict":
            assert q["align"] == p.align
        if p.result == "conflict":
            region = {} if p.overlaps is None else {"region": p.overlaps}
            assert q["problem"] == {**(problem_dict(p.problem) or {}), **region} and q["hole"] == hole_dict(p.hole)
    assert d["all_placed"] == layout.all_placed
    assert d["mappings"] == {
        "per_region": layout.per_region,
        "per_page": [{"page_size": s, "entries": n} for s, n in layout.per_page],
        "dma_avail": layout.dma_avail,
        "fits": layout.fits,
        "smallest_fitting_page": layout.smallest_fitting_page,
    }


PLAN_CASES = {
    "linux-6.12-amd": (["--ram", "0xc0000000", "--ram", "0x200000000@0xfd00000000", "--ram", "0x1000000000", "--alloc", "0x10000", "--alloc", "0x10000000", "--dma-bits", "28", "--check", "0xfee00000:0x1000", "--check", "0x1000:0x1000"]),
    "linux-6.12-intel-aw39": (["--ram", "0x40000000@0x8000000000", "--ram", "0x10000000000", "--alloc", "0x1000", "--alloc", "0x3000", "--align", "0x200000", "--check", "0x7ffffff000:0x2000"]),
    "linux-6.12-intel-aw48-dma-limit": (["--ram", "0x40000000"] * 8),
    "linux-6.12-virtio": (["--alloc", "0x1000", "--check", "0xfffffffffffff000:0x1000"]),
}


def opt(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == name]


@pytest.mark.parametrize("scenario", PLAN_CASES)
def test_to_dict_equals_plan_json(scenario: str) -> None:
    """Python and `vfio-iommu-info plan --capture ... --json` plan the same capture alike."""
    args = PLAN_CASES[scenario]
    capture = FIXTURES / scenario / ("group-4" if "virtio" in scenario else "group-2") / "info-exact.bin"
    rc, want, stderr = plan_json("--capture", str(capture), *args)
    info = vii.decode(capture.read_bytes())
    space = info.space()  # a capture knows no reserved regions: holes without causes
    assert space is not None
    assert space.to_dict() == want["space"]
    assert want["dma_avail"] == info.dma_avail
    failed = False
    for c, (at, length) in zip(unhex(want["checks"]), (s.split(":") for s in opt(args, "--check"))):
        p = space.check(int(at, 0), int(length, 0))
        assert (c["ok"], c["problem"]) == (p is None, problem_dict(p))
        in_hole = p is not None and p.code == "in_hole" and p.range is not None
        assert c["hole"] == hole_dict(space.hole_at(int(at, 0)) if in_hole else None)
        failed |= p is not None
    bits = opt(args, "--dma-bits")
    limit = 2 ** int(bits[0]) - 1 if bits else TOP
    align = int(opt(args, "--align")[0], 0) if opt(args, "--align") else 0
    a = space.allocator()
    for got, size in zip(want["allocations"], (int(s, 0) for s in opt(args, "--alloc"))):
        assert (got["size"], got["align"], got["limit"]) == (size, max(align, space.granule), limit)
        try:
            assert got["iova"] == a.alloc(size, align, limit) and got["error"] is None
        except vii.AllocationError as e:
            assert got["iova"] is None and got["error"] == {"code": e.code, "message": str(e)}
            failed = True
    ram = opt(args, "--ram")
    if ram:
        regions = [(int(s, 0), int(at, 0)) if at else int(s, 0) for s, _, at in (r.partition("@") for r in ram)]
        layout = space.layout(regions, info.dma_avail)
        assert layout.to_dict() == want["layout"]
        failed |= not layout.all_placed or layout.fits is False
    else:
        assert want["layout"] is None
    assert rc == (1 if failed else 0), stderr


# --- a whole guest's plan (issue 23) ------------------------------------------------------

AMD_RANGES = [(0, 0xFEDFFFFF), (0xFEF00000, 0xFCFFFFFFFF), (0x10000000000, 2**64 - 1)]


def test_plan_guest_keeps_an_amd_guest_below_the_hypertransport_hole() -> None:
    space = vii.IovaSpace(AMD_RANGES, 0x40201000)
    plan = space.plan_guest(8 << 30, bars=[16 << 30])
    assert plan.fits and plan.refusals == []
    assert plan.phys_bits == 39
    assert plan.mmio64.end < 2**39
    assert plan.memlock == (8 << 30) + (256 << 10)
    assert plan.mappings == 6
    args = plan.qemu_args(["0000:03:00.0"], accel="tcg", cpu="qemu64")
    assert "qemu64,phys-bits=39" in args
    assert "vfio-pci,host=0000:03:00.0" in args
    assert "<maxphysaddr mode='passthrough' limit='39'/>" in plan.libvirt_xml()
    assert "boot=1,max_phys_bits=39" in plan.cloud_hypervisor_args()
    d = plan.to_dict()
    assert d["fits"] is True and d["phys_bits"] == 39
    # The core's JSON, key for key.
    assert json.loads(json.dumps(d)) == d


def test_plan_guest_refuses_a_dimm_in_the_hole_with_the_nearest() -> None:
    space = vii.IovaSpace(AMD_RANGES, 0x40201000)
    plan = space.plan_guest(64 << 20, dimms=[(2 << 20, 0xFD00000000)], phys_bits=48)
    assert not plan.fits
    assert any(r.startswith("phys-bits: ") and "nearest that fits: phys-bits 39" in r for r in plan.refusals)
    assert any(r.startswith("fixed[0]: cannot map [0xfd00000000, 0xfd001fffff]") for r in plan.refusals)
    # One page short of the plan's figure, the first map over it is refused.
    over = plan.first_over_memlock(plan.memlock - 4096)
    assert over is not None
    with pytest.raises(ValueError, match="fixed"):
        plan.cloud_hypervisor_args()


def test_plan_guest_bad_requests_are_value_errors() -> None:
    space = vii.IovaSpace(AMD_RANGES, 0x40201000)
    with pytest.raises(ValueError, match="boot RAM"):
        space.plan_guest(0)
    with pytest.raises(ValueError, match="viommu"):
        space.plan_guest(1 << 30, viommu="iommu9000")
    with pytest.raises(ValueError, match="backend"):
        space.plan_guest(1 << 30, backend="nope")
    with pytest.raises(ValueError, match="not a whole number"):
        space.plan_guest(4097)
