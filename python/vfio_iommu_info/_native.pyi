"""The native module of vfio_iommu_info (PyO3). Import from ``vfio_iommu_info``."""

import os
from types import TracebackType
from typing import Any, Literal, Protocol, final

from typing_extensions import Self, TypeAlias

__version__: str
__all__ = [
    "Absence",
    "Capability",
    "Container",
    "DmaBuffer",
    "GroupNotViableError",
    "IommuInfo",
    "IovaRange",
    "MalformedInfoError",
    "Migration",
    "SpanProblem",
    "UnknownCap",
    "VfioError",
    "__version__",
    "check_group",
    "decode",
    "for_device",
    "open_container",
    "open_group",
    "query",
]

_ByteOrder: TypeAlias = Literal["native", "little", "big", "le", "be"]
_Buffer: TypeAlias = bytes | bytearray | memoryview

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_Fd: TypeAlias = int | _HasFileno
_Group: TypeAlias = int | str | os.PathLike[str]

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
    """``not_viable``, ``no_type1``, ``not_container``, ``size``, ``no_iommu_group``,
    ``api_version``, ``sysfs_format`` or ``internal``."""

class GroupNotViableError(VfioError):
    """An IOMMU group with a device on a driver other than a VFIO driver."""

    group: int | None
    path: str
    blockers: list[tuple[str, str]]
    """(device, driver) for each device to rebind to vfio-pci or unbind."""

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
    def name(self) -> Literal["IOVA_RANGE", "MIGRATION", "DMA_AVAIL"] | None: ...
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
        "other",
    ]: ...
    @property
    def message(self) -> str: ...
    @property
    def range(self) -> IovaRange | None:
        """The aperture (``beyond_aperture``) or the hole (``in_hole``)."""
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
    def to_dict(self) -> dict[str, Any]:
        """The object ``vfio-iommu-info decode --json`` prints."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class DmaBuffer:
    """Memory owned by this object, mapped for DMA at ``iova``."""

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
    def query(self) -> IommuInfo: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    def map_dma(
        self, iova: int, size: int, *, readable: bool = True, writable: bool = True
    ) -> DmaBuffer: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...

def decode(data: _Buffer, byte_order: _ByteOrder = "native") -> IommuInfo:
    """Decodes a ``VFIO_IOMMU_GET_INFO`` buffer as a kernel filled it."""

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
