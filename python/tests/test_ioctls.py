"""ioctl_numbers(): the core's VFIO and iommufd ioctl numbers for this machine's
architecture, so Python code issuing its own ioctls spells none by hand."""

from __future__ import annotations

import platform

import vfio_iommu_info as vii

# _IOC_NONE << _IOC_DIRSHIFT: bit 29 on powerpc, mips and sparc (asm/ioctl.h), else 0.
IO_NONE = 0x2000_0000 if platform.machine().startswith(("ppc", "powerpc", "mips", "sparc")) else 0


def test_ioctl_numbers_are_this_architectures() -> None:
    numbers = vii.ioctl_numbers()
    for name, generic in [
        ("VFIO_GET_API_VERSION", 0x3B64),
        ("VFIO_GROUP_GET_STATUS", 0x3B67),
        ("VFIO_IOMMU_GET_INFO", 0x3B70),
        ("VFIO_IOMMU_SPAPR_TCE_GET_INFO", 0x3B70),
        ("VFIO_IOMMU_SPAPR_TCE_CREATE", 0x3B77),
        ("VFIO_EEH_PE_OP", 0x3B79),
        ("VFIO_DEVICE_BIND_IOMMUFD", 0x3B76),
        ("IOMMU_IOAS_ALLOC", 0x3B81),
        ("IOMMU_GET_HW_INFO", 0x3B8A),
    ]:
        assert numbers[name] == generic | IO_NONE, name
    # Every one is _IO(';', nr): the type byte, the none bit, nothing else.
    for name, number in numbers.items():
        assert number & ~0xFF == 0x3B00 | IO_NONE, (name, hex(number))
    assert len(numbers) >= 31
