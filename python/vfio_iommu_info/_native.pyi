"""The native module of vfio_iommu_info (PyO3). Import from ``vfio_iommu_info``."""

import os
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, final

from typing_extensions import Self, TypeAlias

__version__: str
__all__ = [
    "Absence",
    "AllocationError",
    "Capability",
    "Container",
    "DeviceInfo",
    "DirtyTracking",
    "DmaBuffer",
    "Fact",
    "Facts",
    "GroupNotViableError",
    "GuestPlan",
    "Hole",
    "HwInfo",
    "IoasRanges",
    "IommuInfo",
    "IommufdDevice",
    "IovaAllocator",
    "IovaRange",
    "IovaSpace",
    "Layout",
    "MalformedInfoError",
    "MappingLimit",
    "Migration",
    "MmapArea",
    "Placement",
    "RegionInfo",
    "RegionType",
    "ReservedRegion",
    "SpanProblem",
    "SpaprTceInfo",
    "UnknownCap",
    "VfioError",
    "WhatIf",
    "ZpciBase",
    "ZpciGroup",
    "__version__",
    "check_group",
    "container_backend",
    "decode",
    "decode_device_info",
    "decode_region_info",
    "decode_spapr_tce",
    "device_info",
    "for_device",
    "hw_info",
    "inspect",
    "ioas_ranges",
    "ioctl_numbers",
    "open_container",
    "open_group",
    "open_iommufd",
    "parse_reserved_regions",
    "query",
    "query_spapr_tce",
    "region_info",
    "spapr_tce_create_window",
    "spapr_tce_remove_window",
    "type1_facts",
]

_ByteOrder: TypeAlias = Literal["native", "little", "big", "le", "be"]
_Buffer: TypeAlias = bytes | bytearray | memoryview

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_Fd: TypeAlias = int | _HasFileno
_Group: TypeAlias = int | str | os.PathLike[str]
_Range: TypeAlias = IovaRange | tuple[int, int]
_Region: TypeAlias = ReservedRegion | tuple[int, int, str]
_RamRegion: TypeAlias = int | tuple[int, int | None]
_CapName: TypeAlias = Literal[
    "IOVA_RANGE",
    "MIGRATION",
    "DMA_AVAIL",
    "ZPCI_BASE",
    "ZPCI_GROUP",
    "ZPCI_UTIL",
    "ZPCI_PFIP",
    "PCI_ATOMIC_COMP",
    "SPARSE_MMAP",
    "TYPE",
    "MSIX_MAPPABLE",
    "NVLINK2_SSATGT",
    "NVLINK2_LNKSPD",
]
_Backend: TypeAlias = Literal["type1", "iommufd-compat", "iommufd", "spapr-tce"]
_Source: TypeAlias = Literal[
    "type1:iova_pgsizes",
    "type1:iova-range-cap",
    "type1:dma-avail-cap",
    "type1:migration-cap",
    "iommufd:ioas-iova-ranges",
    "iommufd:hw-info",
    "iommufd:hw-info-capabilities",
    "sysfs:reserved_regions",
    "spapr:dma32-window",
    "spapr:default-window-tce-size",
    "spapr:ddw",
]
_T = TypeVar("_T", covariant=True)
_AllocCode: TypeAlias = Literal[
    "zero_size", "bad_align", "no_room", "not_allocated", "unusable", "top_page", "overlaps", "misaligned"
]

class MalformedInfoError(ValueError):
    """A buffer that is not a well-formed VFIO info structure."""

    offset: int
    """The byte offset of the field or capability at fault."""
    structure: str
    """The C structure being decoded."""
    ioctl: str | None
    """The ioctl whose reply was malformed, or None for a capture."""
    fd: int | None
    """The fd that ioctl was issued on, or None for a capture."""

class VfioError(OSError):
    """A condition the library detected itself (``errno`` is None)."""

    code: str
    """``not_viable`` (for iommufd: the device is not on vfio-pci), ``no_device_cdev``
    (on vfio-pci without a VFIO device node), ``no_type1``, ``not_container``, ``size``,
    ``no_iommu_group``, ``api_version``, ``sysfs_format`` or ``top_page`` (``map_dma`` of
    a mapping ending at 2**64): the core's ``ErrorKind`` codes."""

class GroupNotViableError(VfioError):
    """An IOMMU group with a device on a driver other than a VFIO driver."""

    group: int | None
    path: str
    blockers: list[tuple[str, str]]
    """(device, driver) for each device to rebind to vfio-pci or unbind."""

class AllocationError(Exception):
    """An ``IovaAllocator`` refused (not a ``ValueError``: most refusals depend on the
    allocator's state, not on the arguments)."""

    code: _AllocCode
    """The core's stable code."""
    problem: SpanProblem | None
    """Why an ``unusable`` reservation cannot be mapped, else None."""
    other: tuple[int, int] | None
    """The live ``(iova, size)`` an ``overlaps`` reservation hits, else None."""

@final
class IovaRange:
    """An inclusive IOVA range ``[start, end]``."""

    def __new__(cls, start: int, end: int) -> Self: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def size(self) -> int:
        """``end - start + 1`` (up to 2**64)."""
    def __contains__(self, iova: object, /) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __getnewargs__(self) -> tuple[int, int]: ...

@final
class Migration:
    """Dirty-page tracking (the MIGRATION capability)."""

    @property
    def version(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def pgsize_bitmap(self) -> int: ...
    @property
    def max_dirty_bitmap_size(self) -> int: ...
    @property
    def page_sizes(self) -> list[int]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class UnknownCap:
    """A capability whose id this library does not know, kept raw."""

    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def data(self) -> bytes:
        """Its bytes, header included, to the next capability or the buffer's end."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Capability:
    """Where a capability sits in the chain."""

    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def name(self) -> _CapName | None:
        """IOMMU info: ``IOVA_RANGE``, ``MIGRATION``, ``DMA_AVAIL``; device info:
        ``ZPCI_BASE``, ``ZPCI_GROUP``, ``ZPCI_UTIL``, ``ZPCI_PFIP``, ``PCI_ATOMIC_COMP``;
        region info: ``SPARSE_MMAP``, ``TYPE``, ``MSIX_MAPPABLE``, ``NVLINK2_SSATGT``,
        ``NVLINK2_LNKSPD``; None for an id this library does not know."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Absence:
    """Why an item is absent."""

    @property
    def code(
        self,
    ) -> Literal["no_capability_chain", "did_not_fit", "chain_not_placed", "not_in_chain"]: ...
    @property
    def reason(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SpanProblem:
    """Why a span cannot be mapped."""

    @property
    def code(
        self,
    ) -> Literal[
        "empty",
        "wraps",
        "no_ranges",
        "beyond_aperture",
        "in_hole",
        "across_ranges",
        "misaligned",
        "overlaps_region",
        "top_page",
        "other",
    ]:
        """``overlaps_region`` and ``top_page`` only in a ``Placement``, never from a check."""
    @property
    def message(self) -> str: ...
    @property
    def range(self) -> IovaRange | None:
        """The aperture (``beyond_aperture``), the hole (``in_hole``), or the region
        overlapped (``overlaps_region``)."""
    @property
    def page_size(self) -> int | None:
        """The smallest IOMMU page size (``misaligned``)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class IommuInfo:
    """What a type1 container told about its IOMMU."""

    @property
    def argsz(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def iova_pgsizes(self) -> int | None: ...
    @property
    def page_sizes(self) -> list[int]: ...
    @property
    def cap_offset(self) -> int | None: ...
    @property
    def caps_truncated(self) -> bool: ...
    @property
    def iova_ranges(self) -> list[IovaRange] | None: ...
    @property
    def migration(self) -> Migration | None: ...
    @property
    def dma_avail(self) -> int | None: ...
    @property
    def unknown_caps(self) -> list[UnknownCap]: ...
    @property
    def chain(self) -> list[Capability]: ...
    @property
    def aperture(self) -> IovaRange | None: ...
    @property
    def holes(self) -> list[IovaRange]: ...
    @property
    def absent(self) -> dict[Literal["iova_ranges", "migration", "dma_avail"], Absence]: ...
    def check(self, iova: int, size: int) -> SpanProblem | None:
        """None when ``[iova, iova + size)`` can be mapped, else the first reason not."""
    def space(self) -> IovaSpace | None:
        """The usable space (holes without causes), or None without IOVA ranges."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info decode --json`` prints, without its
        ``schema_version``: exact integers, and beside each address, size and bitmap a
        ``KEY_hex`` string (``"end_hex": "0xffffffffffffffff"``) for readers that round
        numbers above 2**53 (jq 1.6, JavaScript)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class ReservedRegion:
    """A line of an IOMMU group's sysfs ``reserved_regions``."""

    def __new__(cls, start: int, end: int, type: str) -> Self: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int:
        """Inclusive."""
    @property
    def type(self) -> str:
        """``msi``, ``reserved``, ``direct``, ``direct-relaxable`` or another sysfs type."""
    @property
    def range(self) -> IovaRange: ...
    @property
    def makes_hole(self) -> bool:
        """Whether the kernel removes such regions from the IOVA list (all but
        ``direct-relaxable``)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __getnewargs__(self) -> tuple[int, int, str]: ...

@final
class Hole:
    """A hole inside the aperture and the reserved regions that cause it."""

    @property
    def range(self) -> IovaRange: ...
    @property
    def causes(self) -> list[ReservedRegion]:
        """Empty when not known."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class IovaSpace:
    """The usable IOVA space: ranges, page sizes, aperture, holes and their causes."""

    def __new__(cls, ranges: Iterable[_Range], page_sizes: int | Iterable[int] | None = None) -> Self:
        """``page_sizes``: the bitmap (an int) or the sizes in bytes (empty: unknown)."""
    @staticmethod
    def from_info(info: IommuInfo, reserved_regions: Iterable[_Region] | None = None) -> IovaSpace | None:
        """None when the info has no IOVA ranges."""
    def with_reserved_regions(self, reserved_regions: Iterable[_Region]) -> IovaSpace: ...
    @property
    def ranges(self) -> list[IovaRange]:
        """Ascending."""
    @property
    def page_sizes(self) -> list[int]:
        """Ascending; empty when not reported."""
    @property
    def iova_pgsizes(self) -> int | None:
        """The bitmap, or None when not reported."""
    @property
    def granule(self) -> int:
        """The smallest page size (4096 when not reported)."""
    @property
    def aperture(self) -> IovaRange | None: ...
    @property
    def holes(self) -> list[Hole]: ...
    @property
    def reserved(self) -> list[IovaRange]:
        """The complement of the ranges in the 64-bit space: what a virtual IOMMU must
        advertise as reserved."""
    def check(self, iova: int, size: int) -> SpanProblem | None:
        """None when ``[iova, iova + size)`` can be mapped, else the first reason not."""
    def explain(self, iova: int, size: int) -> str | None:
        """None when ``[iova, iova + size)`` can be mapped, else one line saying why not:
        the hole and the reserved regions behind it (or the aperture and the IOMMU's
        address width), and the fix."""
    def hole_at(self, iova: int) -> Hole | None: ...
    def range_holding(self, iova: int, size: int) -> IovaRange | None: ...
    def allocator(self) -> IovaAllocator: ...
    def layout(self, regions: Iterable[_RamRegion], dma_avail: int | None = None) -> Layout:
        """Guest RAM regions for an identity map: sizes, or ``(size, at)`` tuples.
        ``ValueError`` for a region of 0 bytes."""
    def plan_guest(
        self,
        ram: int,
        *,
        nodes: Sequence[int] = ...,
        dimms: Sequence[tuple[int, int]] = ...,
        backing_page: int = 4096,
        bars: Sequence[int] = ...,
        devices: int = 1,
        viommu: str = "none",
        phys_bits: int | None = None,
        backend: str = "type1",
        dma_avail: int | None = None,
        cpu_phys_bits: int | None = None,
    ) -> GuestPlan:
        """A whole guest's plan in this space (QEMU's q35 memory map). ``dimms``: ``(size,
        at)`` pairs; ``viommu``: none, intel, amd, virtio, smmuv3; ``backend``: type1,
        iommufd-compat, iommufd. ``ValueError`` for a request that is no guest."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info plan --json`` prints under ``space``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class IovaAllocator:
    """Hands out IOVA spans the kernel will map; safe to share between threads."""

    def __new__(cls, space: IovaSpace) -> Self: ...
    def alloc(self, size: int, align: int = 0, limit: int = 18446744073709551615) -> int:
        """The lowest IOVA of ``size`` bytes aligned to ``align``, ending at or below
        ``limit`` (a device's DMA mask)."""
    def free(self, iova: int) -> int:
        """Frees the span starting at ``iova``; returns its size."""
    def reserve(self, iova: int, size: int) -> None: ...
    @property
    def live(self) -> list[tuple[int, int]]:
        """``(iova, size)`` of every live allocation and reservation, ascending."""
    @property
    def free_extents(self) -> list[IovaRange]: ...
    @property
    def granule(self) -> int: ...
    @property
    def space(self) -> IovaSpace: ...
    def __len__(self) -> int: ...

@final
class Placement:
    """Where a guest RAM region went, or why it could not."""

    @property
    def result(self) -> Literal["placed", "conflict", "no_room"]: ...
    @property
    def range(self) -> IovaRange | None:
        """None for ``no_room``."""
    @property
    def size(self) -> int:
        """As asked."""
    @property
    def align(self) -> int | None:
        """The alignment chosen (0 for a fixed region) or needed (``no_room``); None for
        a conflict."""
    @property
    def problem(self) -> SpanProblem | None:
        """Why a conflicting region cannot go there; None unless a conflict."""
    @property
    def overlaps(self) -> int | None:
        """The index of the fixed region an ``overlaps_region`` conflict overlaps."""
    @property
    def hole(self) -> Hole | None: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class GuestPlan:
    """A whole guest's settings from the host's facts, with the budgets and refusals."""

    @property
    def fits(self) -> bool: ...
    @property
    def phys_bits(self) -> int: ...
    @property
    def max_ram_below_4g(self) -> int | None: ...
    @property
    def mmio64(self) -> IovaRange: ...
    @property
    def aw_bits(self) -> int | None: ...
    @property
    def mappings(self) -> int: ...
    @property
    def memlock(self) -> int: ...
    @property
    def refusals(self) -> list[str]: ...
    def first_over_memlock(self, limit: int) -> tuple[int, int] | None:
        """The ``(iova, size)`` the kernel refuses with ENOMEM under RLIMIT_MEMLOCK
        ``limit``, or None."""
    def qemu_args(self, devices: Sequence[str] = ..., accel: str = "kvm", cpu: str = "host") -> list[str]: ...
    def libvirt_xml(self, devices: Sequence[str] = ...) -> str: ...
    def cloud_hypervisor_args(self, devices: Sequence[str] = ...) -> list[str]:
        """``ValueError`` with the reason when cloud-hypervisor cannot take the plan."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info guest --json`` prints, without ``settings`` and
        ``schema_version``."""

@final
class Layout:
    """A guest layout for an identity map, and the mappings it needs."""

    @property
    def placements(self) -> list[Placement]: ...
    @property
    def per_region(self) -> int: ...
    @property
    def per_page(self) -> list[tuple[int, int]]:
        """``(page_size, entries)`` for each page size up to 1 GiB, ascending."""
    @property
    def dma_avail(self) -> int | None: ...
    @property
    def all_placed(self) -> bool: ...
    @property
    def fits(self) -> bool | None: ...
    @property
    def smallest_fitting_page(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info plan --json`` prints under ``layout``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class DmaBuffer:
    """Memory owned by this object, mapped for DMA at ``iova``.

    ``read()`` and ``write()`` access it with atomic word-sized loads and stores (relaxed:
    no ordering with the device is implied), so threads (free-threaded builds included)
    and the device may use it at once; ``unmap()`` and collection release the GIL around
    ``VFIO_IOMMU_UNMAP_DMA``."""

    @property
    def iova(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def mapped(self) -> bool: ...
    def read(self, offset: int = 0, length: int | None = None) -> bytes: ...
    def write(self, data: _Buffer, offset: int = 0) -> None: ...
    def unmap(self) -> int:
        """Unmaps the IOVA; returns the bytes the kernel unmapped."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...

@final
class Container:
    """An open type1 container with its groups attached and the model set."""

    @property
    def info(self) -> IommuInfo:
        """The info queried when the container was opened."""
    @property
    def groups(self) -> list[int | str]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def backend(self) -> Literal["type1", "iommufd-compat"]:
        """Who serves the container (asked at open)."""
    @property
    def facts(self) -> Facts:
        """The facts of ``info`` as the container's backend means them."""
    def query(self) -> IommuInfo: ...
    def space(self) -> IovaSpace | None:
        """Queried now, holes attributed to the groups' sysfs reserved regions."""
    def fileno(self) -> int:
        """A fd of the container, owned by this object (closed by ``close()``).

        A duplicate of the private fd the library works through. Do not ``os.close()``
        it: ``os.dup()`` it for a fd of your own. Closed behind the object's back, it is
        never closed again by the object (the number may name another file by then):
        ``fileno()`` and ``close()`` warn (``RuntimeWarning``) and leave it alone, and
        ``fileno()`` hands out a fresh duplicate."""
    def close(self) -> None:
        """Closes the groups, the container and the fd ``fileno()`` returned. Idempotent."""
    def what_if_attach(self, group: int | str | os.PathLike[str]) -> WhatIf | None:
        """The space once ``group`` (number, path or PCI address) is attached, predicted
        from sysfs without attaching it; None without IOVA ranges."""
    def map_dma(
        self, iova: int, size: int, *, readable: bool = True, writable: bool = True
    ) -> DmaBuffer:
        """Maps fresh memory at ``iova``; a mapping ending at 2**64 raises ``VfioError``
        with code ``top_page`` (type1 could not unmap it)."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...

@final
class WhatIf:
    """What attaching a group makes of a container's space."""

    @property
    def group(self) -> int: ...
    @property
    def exact(self) -> bool:
        """The new domain's aperture is known; otherwise the kernel's ranges lie inside
        ``after``'s."""
    @property
    def changes(self) -> bool: ...
    @property
    def before(self) -> IovaSpace: ...
    @property
    def after(self) -> IovaSpace: ...
    @property
    def aperture(self) -> str:
        """The new domain's aperture and where it comes from, in words."""
    @property
    def taken(self) -> list[tuple[IovaRange, str]]:
        """``(range, why)`` for each piece the attach takes away."""
    @property
    def refusal(self) -> tuple[str, int] | None:
        """``(why, errno)`` when the kernel would refuse the attach."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info plan --attach --json`` prints under ``what_if``."""

@final
class ZpciBase:
    """The ZPCI_BASE device capability: where an s390 PCI function may DMA."""

    @property
    def version(self) -> int: ...
    @property
    def start_dma(self) -> int: ...
    @property
    def end_dma(self) -> int:
        """Inclusive."""
    @property
    def pchid(self) -> int: ...
    @property
    def vfn(self) -> int: ...
    @property
    def fmb_length(self) -> int: ...
    @property
    def pft(self) -> int: ...
    @property
    def gid(self) -> int: ...
    @property
    def fh(self) -> int | None:
        """The function handle (version 2 and later)."""
    @property
    def dma_window(self) -> IovaRange | None:
        """``[start_dma, end_dma]``, or None when the kernel reports it inverted."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class ZpciGroup:
    """The ZPCI_GROUP device capability: what an s390 PCI function's group supports."""

    @property
    def version(self) -> int: ...
    @property
    def dasm(self) -> int: ...
    @property
    def msi_addr(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def mui(self) -> int: ...
    @property
    def noi(self) -> int: ...
    @property
    def maxstbl(self) -> int: ...
    @property
    def zpci_version(self) -> int:
        """The zPCI architecture version (``version`` in the kernel's struct)."""
    @property
    def imaxstbl(self) -> int | None:
        """Version 2 and later."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class DeviceInfo:
    """What ``VFIO_DEVICE_GET_INFO`` said about a device."""

    def to_dict(self) -> dict[str, Any]:
        """What ``vfio-iommu-info decode --kind device --json`` prints."""
    @property
    def argsz(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def num_regions(self) -> int: ...
    @property
    def num_irqs(self) -> int: ...
    @property
    def cap_offset(self) -> int | None: ...
    @property
    def caps_truncated(self) -> bool:
        """The kernel's capabilities did not fit the buffer (query again with ``argsz``)."""
    @property
    def dma_window(self) -> IovaRange | None:
        """The s390 function's DMA window (ZPCI_BASE), or None."""
    @property
    def zpci_base(self) -> ZpciBase | None: ...
    @property
    def zpci_group(self) -> ZpciGroup | None: ...
    @property
    def zpci_util(self) -> bytes | None:
        """The utility string, EBCDIC."""
    @property
    def zpci_pfip(self) -> bytes | None: ...
    @property
    def atomic_comp(self) -> int | None:
        """PCI_ATOMIC_COMP's flags: 1 32-bit, 2 64-bit, 4 128-bit completers."""
    @property
    def unknown_caps(self) -> list[UnknownCap]: ...
    @property
    def chain(self) -> list[Capability]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class MmapArea:
    """``size`` bytes from ``offset`` of a region that may be mmapped."""

    @property
    def offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def end(self) -> int | None:
        """``offset + size``, or None past 2**64."""
    def lies_within(self, region_size: int) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class RegionType:
    """The TYPE region capability: what a device-specific region is."""

    @property
    def version(self) -> int: ...
    @property
    def type(self) -> int:
        """A ``VFIO_REGION_TYPE_*``, or ``(1 << 31) | pci_vendor``."""
    @property
    def subtype(self) -> int: ...
    @property
    def pci_vendor(self) -> int | None: ...
    @property
    def name(self) -> str | None:
        """The subtype's ``<linux/vfio.h>`` name (``INTEL_IGD_OPREGION``...), or None."""
    @property
    def type_name(self) -> Literal["PCI_VENDOR", "GFX", "CCW", "MIGRATION_DEPRECATED"] | None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class RegionInfo:
    """What ``VFIO_DEVICE_GET_REGION_INFO`` said about one region."""

    def to_dict(self) -> dict[str, Any]:
        """What ``vfio-iommu-info decode --kind region --json`` prints."""
    @property
    def argsz(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def cap_offset(self) -> int | None:
        """None without the CAPS flag (the kernel then leaves the caller's value)."""
    @property
    def caps_truncated(self) -> bool: ...
    @property
    def size(self) -> int: ...
    @property
    def offset(self) -> int:
        """Where the region is in the device fd."""
    @property
    def readable(self) -> bool: ...
    @property
    def writable(self) -> bool: ...
    @property
    def mmappable(self) -> bool: ...
    @property
    def sparse_mmap(self) -> list[MmapArea] | None: ...
    @property
    def region_type(self) -> RegionType | None: ...
    @property
    def msix_mappable(self) -> bool: ...
    @property
    def nvlink2_ssatgt(self) -> int | None: ...
    @property
    def nvlink2_lnkspd(self) -> int | None: ...
    @property
    def mmap_areas(self) -> list[MmapArea]:
        """Nothing without MMAP; the SPARSE_MMAP areas; else the whole region."""
    @property
    def areas_outside(self) -> list[MmapArea]:
        """SPARSE_MMAP areas running past the region's end."""
    @property
    def unknown_caps(self) -> list[UnknownCap]: ...
    @property
    def chain(self) -> list[Capability]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Fact(Generic[_T]):
    """A fact and where it came from."""

    @property
    def value(self) -> _T: ...
    @property
    def source(self) -> _Source: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class MappingLimit:
    """How many more mappings the kernel accepts."""

    @property
    def remaining(self) -> int | None:
        """This many more (type1's DMA_AVAIL), or None when ``unlimited``."""
    @property
    def unlimited(self) -> bool:
        """No mapping count limit (iommufd; its compat container's DMA_AVAIL of U32_MAX)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class DirtyTracking:
    """Dirty-page tracking as the backend describes it."""

    @property
    def kind(self) -> Literal["type1", "hardware"]: ...
    @property
    def pgsize_bitmap(self) -> int | None:
        """type1: the page sizes the dirty bitmap can be kept at."""
    @property
    def max_dirty_bitmap_size(self) -> int | None:
        """type1: the largest dirty bitmap, in bytes."""
    @property
    def hardware(self) -> bool | None:
        """hardware: whether the IOMMU tracks dirty pages for the device."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Facts:
    """What one backend says about mapping DMA, each fact with its source (None: absent,
    ``notes`` says why)."""

    @property
    def backend(self) -> _Backend: ...
    @property
    def iova_ranges(self) -> Fact[list[IovaRange]] | None: ...
    @property
    def page_sizes(self) -> Fact[int] | None:
        """A bitmap (bit n: 2**n bytes)."""
    @property
    def iova_alignment(self) -> Fact[int] | None:
        """iommufd's ``out_iova_alignment`` (not the page sizes the IOMMU supports)."""
    @property
    def address_width(self) -> Fact[int] | None: ...
    @property
    def mapping_limit(self) -> Fact[MappingLimit] | None: ...
    @property
    def dirty_tracking(self) -> Fact[DirtyTracking] | None: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def reserved_regions(self) -> Fact[list[ReservedRegion]] | None:
        """The sysfs reserved regions of the groups behind the answer."""
    @property
    def dynamic_windows(self) -> Fact[dict[str, int]] | None:
        """sPAPR TCE's dynamic DMA windows: ``page_sizes`` (a bitmap),
        ``max_dynamic_windows``, ``levels``."""
    def differences(self, other: Facts) -> list[tuple[str, str, str]]:
        """``(field, this value, other value)`` where the two disagree on a fact both have."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info query --json`` prints under ``facts``."""

@final
class HwInfo:
    """``IOMMU_GET_HW_INFO``: the IOMMU hardware behind a device."""

    @property
    def type_name(self) -> Literal["none", "intel-vtd", "arm-smmuv3", "tegra241-cmdqv", "amd", "unknown"]: ...
    @property
    def data_type(self) -> int: ...
    @property
    def data_len(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def capabilities(self) -> int | None:
        """``IOMMU_HW_CAP_*``, or None before Linux 6.7."""
    @property
    def max_pasid_log2(self) -> int: ...
    @property
    def kernel_page_size(self) -> int:
        """``PAGE_SIZE`` of the kernel that answered (the SMMUv3 domain's granule follows it)."""
    @property
    def address_width(self) -> int | None: ...
    @property
    def page_sizes(self) -> int | None: ...
    @property
    def dirty_tracking(self) -> bool | None:
        """The kernel's IOMMU_HW_CAP_DIRTY_TRACKING, or None before Linux 6.7."""
    @property
    def dirty_tracking_hardware(self) -> bool | None:
        """What the registers say, or None without registers."""
    @property
    def registers(self) -> dict[str, Any] | None:
        """VT-d ``cap``/``ecap``/``flags``, SMMUv3 ``idr``/``iidr``/``aidr``/``flags``,
        AMD ``efr``/``efr2``; None without registers."""
    @property
    def decode_error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]:
        """The object ``query --backend iommufd --json`` prints under ``hw_info``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class IommufdDevice:
    """A PCI device bound to its own iommufd and attached to a fresh IOAS."""

    @property
    def pci_address(self) -> str: ...
    @property
    def cdev(self) -> str: ...
    @property
    def dev_id(self) -> int: ...
    @property
    def ioas(self) -> int: ...
    @property
    def hwpt(self) -> int: ...
    @property
    def iova_ranges(self) -> list[IovaRange]: ...
    @property
    def iova_alignment(self) -> int: ...
    @property
    def aperture(self) -> IovaRange | None: ...
    @property
    def hw_info(self) -> HwInfo:
        """Read at open; raises the kernel's OSError when IOMMU_GET_HW_INFO failed."""
    @property
    def facts(self) -> Facts: ...
    @property
    def closed(self) -> bool: ...
    def fileno(self) -> int:
        """A fd of the iommufd, owned by this object (closed by ``close()``).

        A duplicate of the private fd the library works through. Do not ``os.close()``
        it: ``os.dup()`` it for a fd of your own. Closed behind the object's back, it is
        never closed again by the object (the number may name another file by then):
        ``fileno()`` and ``close()`` warn (``RuntimeWarning``) and leave it alone, and
        ``fileno()`` hands out a fresh duplicate."""
    def close(self) -> None:
        """Closes the device, the iommufd and the fd ``fileno()`` returned. Idempotent."""
    def to_dict(self) -> dict[str, Any]:
        """What ``vfio-iommu-info query --backend iommufd --json`` prints after ``backend``
        and ``backend_reason``: ``device``, ``group``, ``cdev``, ``dev_id``, ``ioas``,
        ``hwpt``, ``iova_ranges``, ``iova_alignment``, ``aperture``, ``holes``, ``hw_info``
        (or ``{"error": ...}``), ``facts``, ``reserved_regions``."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...

def inspect(pid: int) -> dict[str, Any]:
    """What process ``pid`` holds of VFIO and iommufd (containers with DMA_AVAIL live, groups,
    device fds, iommufd IOAS) and its locked memory: ``vfio-iommu-info inspect PID --json``'s
    object. Needs ptrace access to the process (``PermissionError`` otherwise)."""

def open_iommufd(pci_address: str) -> IommufdDevice:
    """The iommufd dance for one PCI device: /dev/iommu, its VFIO cdev, bind, IOAS, attach."""

@final
class IoasRanges:
    """What ``IOMMU_IOAS_IOVA_RANGES`` said about an IOAS."""

    def __eq__(self, other: object, /) -> bool: ...
    @property
    def ranges(self) -> list[IovaRange]: ...
    @property
    def alignment(self) -> int:
        """``out_iova_alignment``: every mapping's IOVA and length is a multiple of it."""
    @property
    def aperture(self) -> IovaRange | None: ...

def ioas_ranges(iommufd_fd: _Fd, ioas_id: int) -> IoasRanges:
    """``IOMMU_IOAS_IOVA_RANGES`` of an IOAS on an iommufd the caller owns (the fd stays
    the caller's). OSError for a fd that is not iommufd's or an id that is no IOAS."""

def hw_info(iommufd_fd: _Fd, dev_id: int) -> HwInfo:
    """``IOMMU_GET_HW_INFO`` for a device bound to an iommufd the caller owns (``dev_id``
    from ``VFIO_DEVICE_BIND_IOMMUFD``). OSError for a fd that is not iommufd's."""

def device_info(device_fd: _Fd) -> DeviceInfo:
    """``VFIO_DEVICE_GET_INFO`` on a VFIO device fd the caller owns (from
    ``VFIO_GROUP_GET_DEVICE_FD`` or an opened device cdev), decoded. OSError for a fd that
    is not a VFIO device fd."""

def region_info(device_fd: _Fd, index: int) -> RegionInfo:
    """``VFIO_DEVICE_GET_REGION_INFO`` of region ``index`` on a VFIO device fd the caller
    owns, decoded. OSError (EINVAL) naming the index for a region the device lacks."""

def type1_facts(info: IommuInfo, backend: Literal["type1", "iommufd-compat"] = "type1") -> Facts:
    """The facts of a type1 answer as ``backend`` means them."""

def container_backend(container_fd: _Fd) -> Literal["type1", "iommufd-compat"]:
    """Who serves a container fd the caller opened (after VFIO_SET_IOMMU); OSError when
    the fd is not a VFIO container."""

def ioctl_numbers() -> dict[str, int]:
    """Every VFIO and iommufd ioctl number the library knows, by its C name, for the
    architecture this module was built for (``VFIO_GROUP_GET_STATUS`` is ``0x3B67`` on
    x86_64, arm64 or s390x and ``0x20003B67`` on ppc64le), for ``fcntl.ioctl``."""

def decode(data: _Buffer, byte_order: _ByteOrder = "native") -> IommuInfo:
    """Decodes a ``VFIO_IOMMU_GET_INFO`` buffer as a kernel filled it."""

def decode_device_info(data: _Buffer, byte_order: _ByteOrder = "native") -> DeviceInfo:
    """Decodes a ``VFIO_DEVICE_GET_INFO`` buffer as a kernel filled it."""

def decode_region_info(data: _Buffer, byte_order: _ByteOrder = "native") -> RegionInfo:
    """Decodes a ``VFIO_DEVICE_GET_REGION_INFO`` buffer as a kernel filled it."""

@final
class SpaprTceInfo:
    """What ``VFIO_IOMMU_SPAPR_TCE_GET_INFO`` said (IBM POWER): the default 32-bit window
    and the dynamic DMA windows."""

    def to_dict(self) -> dict[str, Any]:
        """What ``vfio-iommu-info decode --kind spapr-tce --json`` prints."""
    @property
    def argsz(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def dma32_window_start(self) -> int: ...
    @property
    def dma32_window_size(self) -> int: ...
    @property
    def default_window(self) -> IovaRange | None:
        """The default window (inclusive), None when its size is 0."""
    @property
    def default_window_page_size(self) -> int:
        """4096: the kernel creates the default window with 4K TCEs."""
    @property
    def ddw_state(self) -> Literal["supported", "not_returned", "unsupported"]: ...
    @property
    def ddw_page_sizes(self) -> int | None: ...
    @property
    def ddw_max_windows(self) -> int | None: ...
    @property
    def ddw_levels(self) -> int | None: ...
    @property
    def ddw_expected_start(self) -> int | None:
        """2**59 where PowerNV and QEMU's pseries put a dynamic window: an expectation."""
    @property
    def facts(self) -> Facts: ...
    def __eq__(self, other: object, /) -> bool: ...

def decode_spapr_tce(data: _Buffer, byte_order: _ByteOrder = "native") -> SpaprTceInfo:
    """Decodes a ``VFIO_IOMMU_SPAPR_TCE_GET_INFO`` buffer as a kernel filled it."""

def query_spapr_tce(container_fd: _Fd) -> SpaprTceInfo:
    """``VFIO_IOMMU_SPAPR_TCE_GET_INFO`` on an sPAPR container fd the caller owns. Creates
    nothing."""

def spapr_tce_create_window(container_fd: _Fd, page_shift: int, window_size: int, levels: int = 0) -> int:
    """``VFIO_IOMMU_SPAPR_TCE_CREATE``: creates a dynamic window, returns its start (the
    platform's choice)."""

def spapr_tce_remove_window(container_fd: _Fd, start: int) -> None:
    """``VFIO_IOMMU_SPAPR_TCE_REMOVE``: removes the window that starts at ``start``."""

def query(container_fd: _Fd) -> IommuInfo:
    """Queries a type1 container fd the caller owns (one ioctl on the common path)."""

def open_group(group: _Group) -> Container:
    """The whole VFIO dance for an IOMMU group."""

def for_device(pci_address: str) -> Container:
    """The whole VFIO dance for the IOMMU group of a PCI device."""

def open_container(*targets: _Group) -> Container:
    """One container for several groups or PCI addresses."""

def check_group(group: _Group) -> None:
    """Raises what opening the group would (not viable, busy, missing)."""

def parse_reserved_regions(text: str) -> list[ReservedRegion]:
    """Parses a group's sysfs ``reserved_regions``."""
