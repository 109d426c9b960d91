"""iommufd and the facts with their sources, on any host: the facts of type1 answers
(real captures, and iommufd's compat container meaning the same numbers differently),
the backend of an fd, and the iommufd open's errors. The success of open_iommufd is
proven in the lab (test_lab.py)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import vfio_iommu_info as vii
from conftest import FIXTURES
from test_decode import build, dma_avail_cap, iova_cap

AMD = FIXTURES / "linux-6.12-amd" / "group-2" / "info-exact.bin"


def test_open_iommufd_without_dev_iommu_is_file_not_found_with_what_to_do() -> None:
    if Path("/dev/iommu").exists():
        # A host with iommufd: the device is looked up, and this one does not exist.
        with pytest.raises(FileNotFoundError) as e:
            vii.open_iommufd("ffff:ff:1f.7")
        assert "ffff:ff:1f.7 does not exist" in str(e.value)
        return
    with pytest.raises(FileNotFoundError) as e:
        vii.open_iommufd("0000:00:03.0")
    assert e.value.errno == errno.ENOENT
    text = str(e.value)
    assert "cannot open /dev/iommu" in text and "CONFIG_IOMMUFD" in text, text


def test_open_iommufd_wants_a_pci_address() -> None:
    with pytest.raises(ValueError, match="iommufd binds devices, not IOMMU groups"):
        vii.open_iommufd("4")
    with pytest.raises(TypeError):
        vii.open_iommufd(4)  # type: ignore[arg-type]


def test_type1_facts_of_a_real_capture_carry_their_sources() -> None:
    info = vii.decode(AMD.read_bytes())
    facts = vii.type1_facts(info)
    assert facts.backend == "type1"
    assert facts.iova_ranges is not None
    assert facts.iova_ranges.value == info.iova_ranges
    assert facts.iova_ranges.source == "type1:iova-range-cap"
    assert facts.page_sizes is not None
    assert (facts.page_sizes.value, facts.page_sizes.source) == (info.iova_pgsizes, "type1:iova_pgsizes")
    # type1 says nothing of the alignment or the address width.
    assert facts.iova_alignment is None and facts.address_width is None
    assert facts.mapping_limit is not None
    limit = facts.mapping_limit.value
    assert (limit.remaining, limit.unlimited) == (65535, False)
    assert facts.mapping_limit.source == "type1:dma-avail-cap"
    assert facts.dirty_tracking is not None
    dirty = facts.dirty_tracking.value
    assert (dirty.kind, dirty.pgsize_bitmap, dirty.max_dirty_bitmap_size, dirty.hardware) == (
        "type1",
        0x1000,
        0x10000000,
        None,
    )
    assert facts.notes == []
    d = facts.to_dict()
    assert d["backend"] == "type1"
    assert d["iova_ranges"] == {"value": info.to_dict()["iova_ranges"], "source": "type1:iova-range-cap"}
    assert d["mapping_limit"] == {"value": {"remaining": 65535}, "source": "type1:dma-avail-cap"}
    assert d["iova_alignment"] is None
    assert facts.differences(vii.type1_facts(info)) == []


def test_compat_means_u32_max_as_no_limit_and_type1_as_a_count() -> None:
    buf = build([dma_avail_cap(0xFFFFFFFF), iova_cap([(0, 0xFEDFFFFF)])])
    info = vii.decode(buf)
    compat = vii.type1_facts(info, "iommufd-compat")
    assert compat.backend == "iommufd-compat"
    assert compat.mapping_limit is not None
    assert compat.mapping_limit.value.unlimited and compat.mapping_limit.value.remaining is None
    assert compat.to_dict()["mapping_limit"]["value"] == "unlimited"
    # No MIGRATION: the notes say where dirty tracking lives on iommufd.
    assert compat.dirty_tracking is None
    assert any("IOMMU_HWPT_SET_DIRTY_TRACKING" in n for n in compat.notes), compat.notes
    real = vii.type1_facts(info, "type1")
    assert real.mapping_limit is not None
    assert real.mapping_limit.value.remaining == 0xFFFFFFFF
    assert compat.differences(real) == []
    # A page-size bitmap that differs is a difference.
    other = vii.type1_facts(vii.decode(build([iova_cap([(0, 0xFEDFFFFF)])], pgsizes=0x1000)))
    assert real.differences(other) == [("page_sizes", "0x40201000", "0x1000")]


def test_type1_facts_refuse_other_backends() -> None:
    info = vii.decode(AMD.read_bytes())
    with pytest.raises(ValueError, match=r"open_iommufd\(\.\.\.\)\.facts"):
        vii.type1_facts(info, "iommufd")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'type1' or 'iommufd-compat'"):
        vii.type1_facts(info, "vfio")  # type: ignore[arg-type]


def test_facts_values_compare_and_print() -> None:
    info = vii.decode(AMD.read_bytes())
    a, b = vii.type1_facts(info), vii.type1_facts(info)
    assert a.mapping_limit == b.mapping_limit
    assert a.mapping_limit != a.page_sizes
    assert repr(a.mapping_limit) == "Fact(value=MappingLimit(remaining=65535), source='type1:dma-avail-cap')"
    assert repr(a).startswith("<Facts backend=type1 facts=[iova_ranges, page_sizes, mapping_limit")


def test_container_backend_of_fds() -> None:
    with open("/dev/null", "rb") as f:
        # Not a VFIO container: an error naming the fd, not a guess.
        for fd in (f, f.fileno()):
            with pytest.raises(OSError) as e:
                vii.container_backend(fd)
            assert e.value.errno == errno.ENOTTY
            assert f"fd {f.fileno()} is a character device 1:3 (mem), not a VFIO container" in str(e.value)
    with pytest.raises(ValueError, match="negative"):
        vii.container_backend(-1)
    closed = 2**31 - 2  # a number no process has open
    with pytest.raises(OSError) as e:
        vii.container_backend(closed)
    assert e.value.errno == errno.EBADF
    assert f"fd {closed} is not an open file descriptor" in str(e.value)
