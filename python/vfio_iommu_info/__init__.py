"""Where user space may map DMA through a VFIO IOMMU, and why not elsewhere.

Linux reports a type1 container's IOMMU through the capability chain of
``VFIO_IOMMU_GET_INFO``: the usable IOVA ranges (the aperture minus reserved holes such
as the MSI window or AMD's HyperTransport hole), the supported page sizes, dirty-page
tracking (MIGRATION) and how many more mappings the container accepts (DMA_AVAIL).

>>> import vfio_iommu_info as vii
>>> with vii.open_group(4) as container:              # doctest: +SKIP
...     info = container.info
...     print(info.aperture, info.holes, info.dma_avail)

``decode()`` reads a captured buffer; ``query()`` a container fd the caller owns;
``open_group()``, ``for_device()`` and ``open_container()`` do the whole VFIO dance.
Malformed buffers raise ``MalformedInfoError`` (a ``ValueError``, with the byte offset);
kernel refusals raise ``OSError`` subclasses carrying errno (``PermissionError``,
``FileNotFoundError``...); conditions the library detects itself raise ``VfioError``.

Planning: ``Container.space()`` (or ``IovaSpace.from_info(info, reserved_regions)``)
gives an ``IovaSpace``: the holes with the reserved regions that cause them, ``check()``,
an ``allocator()`` (``IovaAllocator``: IOVAs below a device's DMA mask; refusals raise
``AllocationError``) and ``layout()`` (guest RAM for an identity map, counted against
DMA_AVAIL).
"""

# The public names are the native module's (its __all__, listed in _native.pyi).
from ._native import *  # noqa: F403
from ._native import __all__ as __all__
