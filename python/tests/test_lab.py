"""Real containers from Python, inside the lab's guests (real kernels, virtual IOMMUs,
QEMU's edu device on vfio-pci). Skipped elsewhere; see conftest.lab."""

from __future__ import annotations

import errno
import gc
import os
import threading
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import vfio_iommu_info as vii
from conftest import Lab, cli_json, is_closed

MSI_HOLE = vii.IovaRange(0xFEE00000, 0xFEEFFFFF)
TOP = 2**64 - 1


def test_lab_open_group_answers_what_the_cli_answers(lab: Lab) -> None:
    group = lab.groups[0]
    with vii.open_group(group) as c:
        mine = c.info.to_dict()
        assert c.groups == [group]
        assert not c.closed
    assert c.closed
    rc, theirs, stderr = cli_json("query", str(group))
    assert rc == 0, stderr
    assert theirs is not None
    extras = {"groups", "reserved_regions", "backend", "backend_reason", "facts"}
    assert {k: v for k, v in theirs.items() if k not in extras} == mine
    assert theirs["backend"] == lab.backend, theirs["backend_reason"]
    assert theirs["facts"]["iova_ranges"]["value"] == mine["iova_ranges"]


def test_lab_answers_match_the_virtual_iommu(lab: Lab) -> None:
    if not lab.viommu:
        pytest.skip("not in a lab scenario")
    with vii.open_group(lab.groups[0]) as c:
        info = c.info
    ap = info.aperture
    assert ap is not None
    if lab.viommu == "intel":
        assert info.iova_pgsizes == 0x40201000
        assert ap == vii.IovaRange(0, 2 ** (lab.aw_bits or 39) - 1)
    elif lab.viommu == "amd":
        assert ap.start == 0
        assert any(h.start == 0xFD00000000 for h in info.holes), info.holes
    elif lab.viommu == "virtio":
        assert ap == vii.IovaRange(0, TOP)
    else:
        pytest.fail(f"unknown LAB_VIOMMU {lab.viommu}")
    assert MSI_HOLE in info.holes
    if lab.compat:
        # iommufd's compat container: DMA_AVAIL U32_MAX (no count limit), no MIGRATION.
        assert info.dma_avail == 2**32 - 1
        assert info.migration is None
        assert "migration" in info.absent, info.absent
        return
    assert info.dma_avail == (lab.dma_entry_limit or 65535)
    assert info.migration is not None and info.migration.page_sizes == [4096]
    assert info.absent == {}


def test_lab_every_way_of_naming_the_group_agrees(lab: Lab) -> None:
    group = lab.groups[0]
    with vii.open_group(group) as c:
        want = c.info.to_dict()
        # The caller's own fd: query() borrows it, from an int or an object with fileno().
        assert vii.query(c.fileno()).to_dict() == want
        assert vii.query(c).to_dict() == want
        dup = os.dup(c.fileno())
    try:
        # A dup of the container fd outlives close(), but closing the group fds detached
        # the groups, and with them the IOMMU model: the kernel says EINVAL, and the
        # library says what is missing.
        # On iommufd's compat container the IOAS stays, without a device: its answer would
        # describe no IOMMU, and the library refuses it the same way.
        with pytest.raises(OSError) as e:
            vii.query(dup)
        assert e.value.errno == errno.EINVAL
        if lab.compat:
            assert "no device of its groups is open" in str(e.value), e.value
        else:
            assert "no IOMMU model is set on this container" in str(e.value)
    finally:
        os.close(dup)
    for name in (str(group), f"/dev/vfio/{group}", Path(f"/dev/vfio/{group}")):
        with vii.open_group(name) as c:
            assert c.info.to_dict() == want, name
    if lab.devices:
        with vii.for_device(lab.devices[0]) as c:
            assert c.info.to_dict() == want
            assert c.groups == [group]
    with vii.open_container(*lab.groups) as c:
        assert c.groups == lab.groups
        assert c.info.iova_ranges is not None


def first_free(info: vii.IommuInfo, size: int, below: Optional[int] = None) -> int:
    """The lowest `size`-aligned IOVA where check() says `size` bytes can be mapped."""
    assert info.iova_ranges
    for r in info.iova_ranges:
        iova = max(r.start, 0x100000) + (-max(r.start, 0x100000) % size)
        if iova + size - 1 <= r.end and (below is None or iova + size <= below):
            assert info.check(iova, size) is None
            return iova
    raise AssertionError(f"no room for {size} bytes in {info.iova_ranges}")


def test_lab_map_dma_where_check_says_yes_and_fail_where_it_says_no(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        info = c.info
        page = info.page_sizes[0]
        iova = first_free(info, page)
        avail = c.query().dma_avail
        assert avail is not None
        with c.map_dma(iova, page) as buf:
            assert buf.mapped and (buf.iova, buf.size) == (iova, page)
            assert c.query().dma_avail == lab.dma_avail_after(avail, 1)
            buf.write(b"vfio-iommu-info", offset=8)
            assert buf.read(8, 15) == b"vfio-iommu-info"
            assert buf.read()[:8] == bytes(8)
            with pytest.raises(IndexError):
                buf.read(page - 1, 2)
            # The same IOVA again: the kernel refuses, and says why.
            with pytest.raises(OSError) as e:
                c.map_dma(iova, page)
            assert e.value.errno == errno.EEXIST and "overlaps an existing mapping" in str(e.value)
        assert not buf.mapped
        assert c.query().dma_avail == avail
        # In the MSI hole: check() says no, and so does the kernel.
        problem = info.check(MSI_HOLE.start, page)
        assert problem is not None and problem.code == "in_hole" and problem.range == MSI_HOLE
        with pytest.raises(OSError) as e:
            c.map_dma(MSI_HOLE.start, page)
        assert e.value.errno == errno.EINVAL
        assert "VFIO_IOMMU_MAP_DMA" in str(e.value) and "reserved hole" in str(e.value)
        # Beyond the aperture, where there is a beyond (intel's 39 or 48 bits).
        ap = info.aperture
        assert ap is not None
        if ap.end < TOP:
            problem = info.check(ap.end + 1, page)
            assert problem is not None and problem.code == "beyond_aperture"
            with pytest.raises(OSError) as e:
                c.map_dma(ap.end + 1, page)
            assert e.value.errno == errno.EINVAL
        assert c.query().dma_avail == avail


def test_lab_a_dropped_buffer_gives_its_mapping_back(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        page = c.info.page_sizes[0]
        avail = c.query().dma_avail
        assert avail is not None
        buf = c.map_dma(first_free(c.info, page), page)
        assert c.query().dma_avail == lab.dma_avail_after(avail, 1)
        del buf
        assert c.query().dma_avail == avail
        buf = c.map_dma(first_free(c.info, page), page)
    # Closing the container drops every mapping; the buffer knows.
    assert not buf.mapped
    with pytest.raises(ValueError, match="closed container"):
        buf.unmap()
    with pytest.raises(ValueError, match="closed container"):
        c.query()


def test_lab_a_busy_group_is_ebusy_naming_the_node(lab: Lab) -> None:
    group = lab.groups[0]
    with vii.open_group(group):
        with pytest.raises(OSError) as e:
            vii.open_group(group)
        assert e.value.errno == errno.EBUSY
        assert f"/dev/vfio/{group}" in str(e.value)
        with pytest.raises(OSError):
            vii.check_group(group)


def test_lab_without_permission_is_permission_error(lab: Lab) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nobody, who may open /dev/vfio/vfio but not the group
        os.close(r)
        try:
            os.setgid(65534)
            os.setuid(65534)
            vii.open_group(lab.groups[0])
            msg = "opened"
        except PermissionError as e:
            msg = f"PermissionError {e.errno} {e}"
        except BaseException as e:  # report anything else to the parent
            msg = f"{type(e).__name__} {e}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read().decode()
    os.waitpid(pid, 0)
    assert msg.startswith(f"PermissionError {errno.EACCES} "), msg
    assert f"/dev/vfio/{lab.groups[0]}" in msg


def test_lab_threads_query_one_container_while_another_maps(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        want = c.info
        page = want.page_sizes[0]
        limit = want.dma_avail
        assert limit is not None
        stop = threading.Event()
        problems: list[str] = []

        def reader() -> None:
            n = 0
            while not stop.is_set() or n < 20:
                info = c.query()
                n += 1
                if info.iova_ranges != want.iova_ranges:
                    problems.append(f"ranges changed: {info.iova_ranges}")
                if info.dma_avail is None or not limit - 1 <= info.dma_avail <= limit:
                    problems.append(f"dma_avail {info.dma_avail} outside [{limit - 1}, {limit}]")

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        iova = first_free(want, page)
        for _ in range(50):
            with c.map_dma(iova, page):
                pass
        stop.set()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a reader is stuck"
        assert problems == []
        assert c.query().dma_avail == limit


def unbound_function_beside_a_kernel_driver() -> Optional[tuple[str, str, str]]:
    """An unbound PCI function whose sibling (same slot) is on a non-VFIO driver (the q35
    ISA bridge 00:1f.0 on lpc_ich): binding the free one to vfio-pci makes a group that
    is not viable."""
    devices = Path("/sys/bus/pci/devices")

    def driver(name: str) -> Optional[str]:
        link = devices / name / "driver"
        return os.readlink(link).rsplit("/", 1)[-1] if link.exists() else None

    names = sorted(p.name for p in devices.iterdir())
    for free in names:
        if driver(free) is not None:
            continue
        for other in names:
            d = driver(other)
            if other != free and other.rsplit(".", 1)[0] == free.rsplit(".", 1)[0] and d and "vfio" not in d:
                return free, other, d
    return None


def test_lab_a_non_viable_group_names_the_device_to_rebind(lab: Lab) -> None:
    if not lab.viommu:
        pytest.skip("not in a lab scenario (this test rebinds devices)")
    found = unbound_function_beside_a_kernel_driver()
    assert found, "an unbound function beside one on a kernel driver (the lab loads lpc_ich)"
    free, blocker, driver = found
    dev = Path("/sys/bus/pci/devices") / free
    (dev / "driver_override").write_text("vfio-pci")
    Path("/sys/bus/pci/drivers_probe").write_text(free)
    try:
        group = int(os.readlink(dev / "iommu_group").rsplit("/", 1)[-1])
        with pytest.raises(vii.GroupNotViableError) as e:
            vii.open_group(group)
        with pytest.raises(vii.GroupNotViableError):
            vii.check_group(free)
    finally:
        Path("/sys/bus/pci/drivers/vfio-pci/unbind").write_text(free)
        (dev / "driver_override").write_text("\n")
    err = e.value
    assert isinstance(err, vii.VfioError) and isinstance(err, OSError)
    assert (err.code, err.group, err.path) == ("not_viable", group, f"/dev/vfio/{group}")
    assert (blocker, driver) in err.blockers
    assert f"device {blocker} is still bound to {driver}" in str(err)


EDU_MASK = 2**28 - 1  # QEMU edu's DMA mask: 28 bits
HT_HOLE = vii.IovaRange(0xFD00000000, 0xFFFFFFFFFF)


def test_lab_space_attributes_the_holes_to_the_groups_reserved_regions(lab: Lab) -> None:
    group = lab.groups[0]
    with vii.open_group(group) as c:
        space = c.space()
        info = c.info
    assert space is not None and info.iova_ranges is not None
    assert space.ranges == sorted(info.iova_ranges, key=lambda r: (r.start, r.end))
    assert [h.range for h in space.holes] == info.holes
    assert space.aperture == info.aperture and space.page_sizes == info.page_sizes
    msi = space.hole_at(MSI_HOLE.start)
    assert msi is not None and msi.range == MSI_HOLE
    assert [(r.type, r.range) for r in msi.causes] == [("msi", MSI_HOLE)]
    if lab.viommu == "amd":
        ht = space.hole_at(HT_HOLE.start)
        assert ht is not None and ht.range == HT_HOLE
        assert [(r.type, r.range) for r in ht.causes] == [("reserved", HT_HOLE)]
    # The same regions the group's sysfs file lists, and what `plan --json` says.
    sysfs = Path(f"/sys/kernel/iommu_groups/{group}/reserved_regions").read_text()
    # (The container's space also knows which group listed each region, for explain();
    # a space from the parsed file does not: the ranges, holes and causes are compared.)
    parsed = vii.IovaSpace.from_info(info, vii.parse_reserved_regions(sysfs))
    assert parsed is not None
    assert (space.ranges, space.page_sizes, space.holes) == (parsed.ranges, parsed.page_sizes, parsed.holes)
    rc, theirs, stderr = cli_json("plan", str(group))
    assert rc == 0, stderr
    assert theirs is not None and theirs["space"] == space.to_dict()


def test_lab_what_if_attach_predicts_the_space_of_both_groups(lab: Lab) -> None:
    if len(lab.groups) < 2:
        pytest.skip("one group (the two-group scenario attaches a second)")
    first, second = lab.groups[:2]
    with vii.open_group(first) as c:
        w = c.what_if_attach(second)
    assert w is not None
    assert w.exact and w.group == second and w.refusal is None, w.aperture
    with vii.open_container(first, second) as both:
        space = both.space()
    assert space is not None
    assert (w.after.ranges, w.after.holes) == (space.ranges, space.holes)
    rc, theirs, stderr = cli_json("plan", str(first), "--attach", str(second))
    assert rc == 0, stderr
    assert theirs is not None and theirs["what_if"] == w.to_dict()


def test_lab_inspect_of_this_process_sees_its_container_and_mappings(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        info = c.info
        page = info.page_sizes[0]
        iova = first_free(info, page)
        avail = c.query().dma_avail
        assert avail is not None
        with c.map_dma(iova, page), c.map_dma(iova + 2 * page, page):
            found = vii.inspect(os.getpid())
        assert found["pid"] == os.getpid()
        mine = [k for k in found["containers"] if lab.groups[0] in k["groups"]]
        assert len(mine) == 1, found
        assert mine[0]["dma_avail"] == lab.dma_avail_after(avail, 2)
        assert mine[0]["backend"] == lab.backend
        assert [g["group"] for g in found["groups"]] == [lab.groups[0]]
    with pytest.raises(FileNotFoundError):
        vii.inspect(2**31 - 1)


def test_lab_allocations_below_edus_mask_map_and_check_says_no_where_the_kernel_does(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        space = c.space()
        assert space is not None
        page = space.granule
        a = space.allocator()
        sizes = [page, 16 * page, 2 << 20]
        spans = [(a.alloc(size, size if size == 2 << 20 else 0, EDU_MASK), size) for size in sizes]
        avail = c.query().dma_avail
        assert avail is not None and avail >= len(spans)
        bufs = []
        for iova, size in spans:
            assert iova + size - 1 <= EDU_MASK and space.check(iova, size) is None
            bufs.append(c.map_dma(iova, size))  # the kernel accepts every one
        assert c.query().dma_avail == lab.dma_avail_after(avail, len(spans))
        # Where check() says no, the kernel says EINVAL, and the allocator will not reserve.
        refused = [(MSI_HOLE.start, page), (MSI_HOLE.start - page, 2 * page), (MSI_HOLE.end + 1 - page, 2 * page), (4 * page + page // 2, page)]
        ap = space.aperture
        assert ap is not None
        if ap.end < TOP:
            refused += [(ap.end + 1, page), (ap.end + 1 - page, 2 * page)]
        if lab.viommu == "amd":
            refused += [(HT_HOLE.start, page), (HT_HOLE.start - page, 2 * page), (HT_HOLE.end + 1 - page, page)]
        for iova, size in refused:
            problem = space.check(iova, size)
            assert problem is not None, hex(iova)
            with pytest.raises(OSError) as e:
                c.map_dma(iova, size)
            assert e.value.errno == errno.EINVAL, (hex(iova), e.value)
            with pytest.raises(vii.AllocationError) as ae:
                a.reserve(iova, size)
            assert ae.value.code in ("unusable", "misaligned"), ae.value
        # And right next to the holes, where it says yes, the kernel maps.
        for iova in (MSI_HOLE.start - page, MSI_HOLE.end + 1):
            assert space.check(iova, page) is None
            a.reserve(iova, page)
            with c.map_dma(iova, page):
                pass
        for buf in bufs:
            assert buf.unmap() == buf.size
        assert c.query().dma_avail == avail
        for iova, size in spans:
            assert a.free(iova) == size


def test_lab_container_backend_and_facts_are_the_clis(lab: Lab) -> None:
    group = lab.groups[0]
    with vii.open_group(group) as c:
        # The real type1, or iommufd's compat container where the kernel has it instead
        # (LAB_COMPAT=1): the library tells them apart.
        assert c.backend == lab.backend
        assert vii.container_backend(c.fileno()) == lab.backend
        facts = c.facts
        # The open container adds its groups' sysfs reserved regions; a bare info has none.
        mine, bare = facts.to_dict(), vii.type1_facts(c.info, lab.backend).to_dict()
        assert bare.pop("reserved_regions") is None
        regions = mine.pop("reserved_regions")
        assert regions["source"] == "sysfs:reserved_regions"
        assert any(r["type"] == "msi" for r in regions["value"]), regions
        assert mine == bare
        assert facts.reserved_regions is not None
        assert [r.type for r in facts.reserved_regions.value] == [r["type"] for r in regions["value"]]
        ranges = c.info.iova_ranges
    assert facts.iova_ranges is not None and facts.iova_ranges.value == ranges
    assert facts.iova_ranges.source == "type1:iova-range-cap"
    assert facts.mapping_limit is not None
    if lab.compat:
        # DMA_AVAIL U32_MAX: no count limit.
        assert facts.mapping_limit.value.unlimited
    else:
        assert facts.mapping_limit.value.remaining == (lab.dma_entry_limit or 65535)
    rc, theirs, stderr = cli_json("query", str(group))
    assert rc == 0 and theirs is not None, stderr
    assert theirs["facts"] == facts.to_dict()


def test_lab_open_iommufd_answers_or_says_the_kernel_has_none(lab: Lab) -> None:
    if not lab.devices:
        pytest.skip("no edu device named (LAB_EDU_BDFS)")
    bdf = lab.devices[0]
    if os.environ.get("LAB_IOMMUFD") != "1":
        # Debian's kernels: no /dev/iommu; the error says what to do.
        with pytest.raises(FileNotFoundError) as e:
            vii.open_iommufd(bdf)
        assert e.value.errno == errno.ENOENT
        assert "cannot open /dev/iommu" in str(e.value) and "CONFIG_IOMMUFD" in str(e.value)
        return
    with vii.open_iommufd(bdf) as d:
        assert d.pci_address == bdf and d.cdev.startswith("/dev/vfio/devices/vfio")
        assert d.dev_id > 0 and d.ioas > 0 and d.hwpt > 0
        assert d.fileno() >= 0
        assert d.iova_alignment == 4096
        ranges = d.iova_ranges
        assert all(r.end < MSI_HOLE.start or r.start > MSI_HOLE.end for r in ranges), ranges
        assert d.aperture == vii.IovaRange(ranges[0].start, ranges[-1].end)
        hw = d.hw_info
        facts = d.facts
        mine = d.to_dict()
    assert d.closed
    with pytest.raises(ValueError, match="closed"):
        d.fileno()
    assert d.iova_ranges == ranges  # what was read at open stays readable
    # 7.x adds IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED (1 << 3): the edu device has no ATS.
    ats_not_supported = 0 if lab.kernel.startswith("6.") else 1 << 3
    assert (hw.capabilities, hw.dirty_tracking, hw.truncated) == (ats_not_supported, False, False)
    if lab.viommu == "intel":
        assert (hw.type_name, hw.data_type, hw.data_len) == ("intel-vtd", 1, 24)
        assert hw.address_width == lab.aw_bits
        assert hw.page_sizes == 0x40201000
        regs = hw.registers
        assert regs is not None and ((regs["cap"] >> 16) & 0x3F) + 1 == lab.aw_bits
        assert facts.page_sizes is not None and facts.page_sizes.source == "iommufd:hw-info"
        assert facts.page_sizes.value == 0x40201000
        assert facts.address_width is not None and facts.address_width.value == lab.aw_bits
        assert ranges[-1].end == 2 ** (lab.aw_bits or 0) - 1
    elif lab.viommu == "amd" and not lab.kernel.startswith("6."):
        # 7.x: EFR and EFR2 (16 bytes); EFR.HATS = 2 gives 64 host address bits, no page sizes.
        assert (hw.type_name, hw.data_type, hw.data_len) == ("amd", 4, 16)
        assert hw.address_width == 64 and hw.page_sizes is None
        assert facts.page_sizes is None
        assert facts.address_width is not None and facts.address_width.value == 64
    elif lab.viommu == "amd":
        # Linux 6.12's AMD driver has no hw_info (IOMMU_HW_INFO_TYPE_AMD is 6.17).
        assert (hw.type_name, hw.data_type, hw.data_len, hw.data) == ("none", 0, 0, b"")
        assert hw.address_width is None and hw.page_sizes is None and hw.registers is None
        assert facts.page_sizes is None and facts.address_width is None
        assert any("IOMMU_HW_INFO_TYPE_NONE" in n for n in facts.notes), facts.notes
    else:
        pytest.fail(f"no iommufd scenario with {lab.viommu}")
    assert facts.backend == "iommufd"
    assert facts.iova_ranges is not None and facts.iova_ranges.value == ranges
    assert facts.iova_ranges.source == "iommufd:ioas-iova-ranges"
    assert facts.iova_alignment is not None and facts.iova_alignment.value == 4096
    assert facts.mapping_limit is not None and facts.mapping_limit.value.unlimited
    assert facts.dirty_tracking is not None
    assert (facts.dirty_tracking.value.kind, facts.dirty_tracking.value.hardware) == ("hardware", False)
    assert facts.dirty_tracking.source == "iommufd:hw-info-capabilities"
    # The same device through the group path, once the cdev is closed: the same ranges.
    with vii.for_device(bdf) as c:
        type1 = c.facts
    assert type1.iova_ranges is not None and type1.iova_ranges.value == ranges
    assert facts.differences(type1) == []
    # The CLI's iommufd answer has the same keys and values.
    rc, theirs, stderr = cli_json("query", bdf, "--backend", "iommufd")
    assert rc == 0 and theirs is not None, stderr
    assert {k: theirs[k] for k in mine} == mine
    assert mine["hw_info"] == hw.to_dict() and mine["facts"] == facts.to_dict()


# The ioctl numbers of this architecture, from the core (vfio_iommu_info::uapi::IOCTLS).
IOCTL = vii.ioctl_numbers()
VFIO_GROUP_SET_CONTAINER = IOCTL["VFIO_GROUP_SET_CONTAINER"]


def test_lab_a_group_fd_and_a_container_without_iommu_model_are_refused(lab: Lab) -> None:
    """The fds a confused caller might hand over: a group fd is not a container (ENOTTY),
    and a container with its group attached but no VFIO_SET_IOMMU yet is EINVAL naming
    the missing step. Each is an OSError with the errno and the fix, from query and from
    container_backend alike."""
    import fcntl
    import struct

    group = os.open(f"/dev/vfio/{lab.groups[0]}", os.O_RDWR)
    container = os.open("/dev/vfio/vfio", os.O_RDWR)
    try:
        for call in (vii.query, vii.container_backend):
            with pytest.raises(OSError) as e:
                call(group)
            assert e.value.errno == errno.ENOTTY, e.value
            assert "not a VFIO container" in str(e.value)
        fcntl.ioctl(group, VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
        with pytest.raises(OSError) as e:
            vii.query(container)
        assert e.value.errno == errno.EINVAL, e.value
        # type1: the kernel's EINVAL; iommufd's compat container answers for its empty IOAS,
        # which the library refuses (no device open), naming the same missing steps.
        assert "VFIO_SET_IOMMU" in str(e.value)
        assert ("no device of its groups is open" in str(e.value)) == lab.compat, e.value
    finally:
        os.close(group)
        os.close(container)


def test_lab_a_container_never_closes_a_fileno_closed_behind_its_back(lab: Lab) -> None:
    group = lab.groups[0]
    # The normal case: fileno() is the container's (query reaches it), and close() closes it.
    with vii.open_group(group) as c:
        fd = c.fileno()
        assert vii.query(fd).to_dict() == c.info.to_dict()
        assert f"fd={fd}" in repr(c)
    assert is_closed(fd)
    leaves_a_reused_fileno_open(lambda: vii.open_group(group), "Container")
    # The group was released all the same (else EBUSY).
    with vii.open_group(group) as again:
        assert again.info.iova_ranges is not None


def leaves_a_reused_fileno_open(open_object: Callable[[], Any], kind: str) -> None:
    """The program's bug: it closes the number fileno() gave, and a pipe takes it; the
    object, closed or collected, warns and leaves the pipe open."""
    for how in ("close", "collect"):
        obj = open_object()
        fd = obj.fileno()
        os.close(fd)
        r, w = os.pipe()
        try:
            assert r == fd
            with pytest.warns(RuntimeWarning, match=rf"{kind}: fd {fd} returned by fileno\(\) was closed"):
                if how == "close":
                    obj.close()
                else:
                    del obj
                    gc.collect()
            # The pipe is still open and still a pipe.
            os.write(w, b"x")
            assert os.read(r, 1) == b"x"
        finally:
            os.close(r)
            os.close(w)


def test_lab_an_iommufd_device_never_closes_a_fileno_closed_behind_its_back(lab: Lab) -> None:
    if os.environ.get("LAB_IOMMUFD") != "1" or not lab.devices:
        pytest.skip("no iommufd in this scenario")
    bdf = lab.devices[0]
    with vii.open_iommufd(bdf) as d:
        fd = d.fileno()
        assert fd >= 0 and d.fileno() == fd
    assert is_closed(fd)
    leaves_a_reused_fileno_open(lambda: vii.open_iommufd(bdf), "IommufdDevice")
    with vii.open_iommufd(bdf) as again:  # the device was released all the same
        assert again.ioas > 0


def test_lab_map_dma_refuses_the_top_page_of_the_64_bit_space(lab: Lab) -> None:
    with vii.open_group(lab.groups[0]) as c:
        page = c.info.page_sizes[0]
        avail = c.query().dma_avail
        # The last one is refused as such before any memory is allocated (not ENOMEM).
        for iova, size in ((2**64 - page, page), (2**64 - 2 * page, 2 * page), (2**63, 2**63)):
            with pytest.raises(vii.VfioError) as e:
                c.map_dma(iova, size)
            assert e.value.code == "top_page" and e.value.errno is None
            assert f"{iova:#x}" in str(e.value), str(e.value)
        assert c.query().dma_avail == avail  # nothing was mapped


def test_lab_dma_buffer_reads_and_writes_any_span(lab: Lab) -> None:
    # The buffer is accessed a machine word at a time: spans that start, end or stay inside
    # a word must read and write exactly their bytes.
    with vii.open_group(lab.groups[0]) as c:
        page = c.info.page_sizes[0]
        with c.map_dma(first_free(c.info, page), page) as buf:
            model = bytearray(page)
            n = 0
            for offset in range(0, 40):
                for length in (0, 1, 2, 3, 7, 8, 9, 15, 16, 17):
                    n = (n + 1) % 251
                    data = bytes((n + i) % 256 or 1 for i in range(length))
                    buf.write(data, offset=offset)
                    model[offset : offset + length] = data
                    assert buf.read(offset, length) == data
                    assert buf.read(0, 64) == bytes(model[:64]), (offset, length)
            buf.write(b"\xff" * 3, offset=page - 3)
            model[page - 3 :] = b"\xff" * 3
            assert buf.read() == bytes(model)
            assert buf.read(page - 5) == bytes(model[page - 5 :])


# The VMM's own fds, built the way a VMM does (src/query/cdev.rs, src/query/container.rs),
# for the queries on a caller's fds.
VFIO_SET_IOMMU = IOCTL["VFIO_SET_IOMMU"]
VFIO_GROUP_GET_DEVICE_FD = IOCTL["VFIO_GROUP_GET_DEVICE_FD"]
VFIO_TYPE1v2_IOMMU = 3
VFIO_DEVICE_BIND_IOMMUFD = IOCTL["VFIO_DEVICE_BIND_IOMMUFD"]
VFIO_DEVICE_ATTACH_IOMMUFD_PT = IOCTL["VFIO_DEVICE_ATTACH_IOMMUFD_PT"]
IOMMU_IOAS_ALLOC = IOCTL["IOMMU_IOAS_ALLOC"]


def _ioctl_out(fd: int, request: int, fmt: str, *fields: int) -> tuple[int, ...]:
    """Issues `request` with a struct packed from `fields`; returns the struct after."""
    import fcntl
    import struct

    buf = bytearray(struct.pack(fmt, *fields))
    fcntl.ioctl(fd, request, buf, True)
    return struct.unpack(fmt, buf)


def _cdev_of(bdf: str) -> str:
    (node,) = Path(f"/sys/bus/pci/devices/{bdf}/vfio-dev").iterdir()
    return f"/dev/vfio/devices/{node.name}"


def _every_region(fd: int, count: int) -> list[Any]:
    """The regions the device has (vfio-pci's VGA region is EINVAL on a device without one)."""
    regions = []
    for i in range(count):
        try:
            regions.append(vii.region_info(fd, i))
        except OSError as e:
            assert e.errno == errno.EINVAL and f"no region {i}" in str(e), e
    return regions


def _regions_agree_with_the_cli(bdf: str, info: Any, regions: list[Any]) -> None:
    rc, theirs, stderr = cli_json("device", bdf)
    assert rc == 0 and theirs is not None, stderr
    assert info.to_dict() == theirs["info"]
    by_index = {r["index"]: r for r in theirs["regions"] if "error" not in r}
    assert by_index == {r.index: r.to_dict() for r in regions}


def test_lab_queries_on_the_vmms_own_iommufd_and_device_cdev(lab: Lab) -> None:
    """open /dev/iommu, open the device cdev, bind, IOAS_ALLOC, attach: the fds a VMM has.
    ioas_ranges, hw_info, device_info and region_info on them agree with open_iommufd and
    the CLI; an IOAS id that does not exist and a region past the end raise errors naming
    them; the fds stay the caller's."""
    if not lab.devices:
        pytest.skip("no edu device named (LAB_EDU_BDFS)")
    if os.environ.get("LAB_IOMMUFD") != "1":
        pytest.skip("the kernel has no iommufd (the type1 test covers device fds)")
    bdf = lab.devices[0]
    with vii.open_iommufd(bdf) as d:
        want_ranges, want_alignment = d.iova_ranges, d.iova_alignment
        want_hw = d.hw_info.to_dict()
    iommufd = os.open("/dev/iommu", os.O_RDWR)
    cdev = os.open(_cdev_of(bdf), os.O_RDWR)
    try:
        dev_id = _ioctl_out(cdev, VFIO_DEVICE_BIND_IOMMUFD, "IIiI", 16, 0, iommufd, 0)[3]
        ioas = _ioctl_out(iommufd, IOMMU_IOAS_ALLOC, "III", 12, 0, 0)[2]
        _ioctl_out(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, "III", 12, 0, ioas)
        got = vii.ioas_ranges(iommufd, ioas)
        assert (got.ranges, got.alignment) == (want_ranges, want_alignment)
        assert got.aperture == vii.IovaRange(want_ranges[0].start, want_ranges[-1].end)
        assert vii.hw_info(iommufd, dev_id).to_dict() == want_hw
        missing = ioas + 1000
        with pytest.raises(OSError) as e:
            vii.ioas_ranges(iommufd, missing)
        assert e.value.errno == errno.ENOENT and f"no IOAS {missing}" in str(e.value), e.value
        info = vii.device_info(cdev)
        assert info.num_regions >= 9 and info.flags & 2  # vfio-pci: PCI, BARs, ROM, config...
        regions = _every_region(cdev, info.num_regions)
        past = info.num_regions + 3
        with pytest.raises(OSError) as e:
            vii.region_info(cdev, past)
        assert e.value.errno == errno.EINVAL and f"no region {past}" in str(e.value), e.value
        # Device fds answer no iommufd ioctl, and iommufds no device ioctl: refused up front.
        with pytest.raises(OSError) as e:
            vii.ioas_ranges(cdev, ioas)
        assert e.value.errno == errno.ENOTTY
        with pytest.raises(OSError) as e:
            vii.device_info(iommufd)
        assert e.value.errno == errno.ENOTTY
        os.fstat(iommufd)
        os.fstat(cdev)
    finally:
        os.close(cdev)
        os.close(iommufd)
    _regions_agree_with_the_cli(bdf, info, regions)


def test_lab_queries_on_the_vmms_own_type1_container_and_device_fd(lab: Lab) -> None:
    """A type1 container with the group and a device fd from VFIO_GROUP_GET_DEVICE_FD:
    query, device_info and region_info on them agree with for_device and the CLI."""
    if not lab.devices:
        pytest.skip("no edu device named (LAB_EDU_BDFS)")
    import fcntl
    import struct

    bdf = lab.devices[0]
    with vii.for_device(bdf) as c:
        want = c.info.to_dict()
        group = c.groups[0]
    group_fd = os.open(f"/dev/vfio/{group}", os.O_RDWR)
    container = os.open("/dev/vfio/vfio", os.O_RDWR)
    try:
        fcntl.ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
        fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
        device = fcntl.ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bytearray(bdf.encode() + b"\0"), True)
        try:
            assert vii.query(container).to_dict() == want
            info = vii.device_info(device)
            assert info.num_regions >= 9 and info.flags & 2
            regions = _every_region(device, info.num_regions)
            past = info.num_regions + 3
            with pytest.raises(OSError) as e:
                vii.region_info(device, past)
            assert e.value.errno == errno.EINVAL and f"no region {past}" in str(e.value), e.value
            with pytest.raises(OSError) as e:
                vii.device_info(group_fd)  # a group fd is no device fd
            assert e.value.errno == errno.ENOTTY
            os.fstat(device)
        finally:
            os.close(device)
    finally:
        os.close(container)
        os.close(group_fd)
    _regions_agree_with_the_cli(bdf, info, regions)
