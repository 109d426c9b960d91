"""`to_dict()` is the core's JSON shape (`vfio_iommu_info::json`) serialized straight into
Python objects; the JSON text the command and the C ABI print is the same shape through
serde_json. For every capture, every object's `to_dict()` equals `json.loads` of the
core's JSON text of that object (`_json()`, private), value and type alike, so the two
can never drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest

import vfio_iommu_info as vii
from conftest import FIXTURES, captures

TOP = 2**64 - 1


def exactly(mine: Any, theirs: Any, where: str = "") -> None:
    """Equal, with the same types all the way down (True == 1 would hide a bool for an int)."""
    assert type(mine) is type(theirs), f"{where}: {type(mine).__name__} != {type(theirs).__name__}"
    if isinstance(mine, dict):
        assert list(mine) == list(theirs), where
        for k in mine:
            exactly(mine[k], theirs[k], f"{where}.{k}")
    elif isinstance(mine, list):
        assert len(mine) == len(theirs), where
        for i, (a, b) in enumerate(zip(mine, theirs)):
            exactly(a, b, f"{where}[{i}]")
    else:
        assert mine == theirs, where


def same_as_core_json(obj: Any) -> None:
    exactly(obj.to_dict(), json.loads(getattr(obj, "_json")()), type(obj).__name__)


def _byte_order(path: Path) -> str:
    meta = path.parent / "meta.txt"
    return "big" if meta.exists() and "byte_order: big" in meta.read_text(errors="replace") else "native"


ALL_BINS = sorted(FIXTURES.rglob("*.bin"))


@pytest.mark.parametrize("capture", captures(), ids=lambda p: str(p.relative_to(FIXTURES)) if p.is_relative_to(FIXTURES) else str(p))
def test_info_space_facts_and_layout_dicts_are_the_core_json(capture: Path) -> None:
    try:
        info = vii.decode(capture.read_bytes())
    except vii.MalformedInfoError:
        return
    same_as_core_json(info)
    backends: tuple[Literal["type1", "iommufd-compat"], ...] = ("type1", "iommufd-compat")
    for backend in backends:
        same_as_core_json(vii.type1_facts(info, backend))
    space = info.space()
    if space is None:
        return
    same_as_core_json(space)
    with_causes = space.with_reserved_regions([(0xFEE00000, 0xFEEFFFFF, "msi"), (0xFD00000000, 0xFFFFFFFFFF, "reserved")])
    same_as_core_json(with_causes)
    # Placed, no room, a conflict in a hole, an overlap, the top page.
    regions: list[int | tuple[int, int | None]] = [1 << 30, (1 << 20, 0xFEE00000), (1 << 21, 0x40000000), (1 << 21, 0x40000000), (1 << 12, TOP - 0xFFF), 1 << 62]
    same_as_core_json(with_causes.layout(regions, info.dma_avail))


@pytest.mark.parametrize("capture", ALL_BINS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_device_and_region_dicts_are_the_core_json(capture: Path) -> None:
    data, order = capture.read_bytes(), _byte_order(capture)
    decoders = (vii.decode_device_info, vii.decode_region_info)
    for decode in decoders:
        try:
            decoded = decode(data, order)  # type: ignore[arg-type]
        except vii.MalformedInfoError:
            continue
        same_as_core_json(decoded)


def test_every_fixture_was_compared() -> None:
    assert len(ALL_BINS) >= 80 and len(captures()) >= 64, "tests/fixtures lost its captures"


def test_a_dict_is_fresh_each_time() -> None:
    info = vii.decode((FIXTURES / "linux-6.12-amd" / "group-2" / "info-exact.bin").read_bytes())
    a, b = info.to_dict(), info.to_dict()
    assert a == b and a is not b and a["iova_ranges"] is not b["iova_ranges"]
    a["iova_ranges"].clear()
    assert info.to_dict() == b
