//! `ioctl_numbers()`: the core's VFIO and iommufd ioctl numbers, for Python callers that
//! issue ioctls of their own (`fcntl.ioctl`), so none of them spells a number by hand.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use vfio_iommu_info::uapi;

/// Every VFIO and iommufd ioctl number the library knows, by its C name, for the
/// architecture this module was built for (`VFIO_GROUP_GET_STATUS` is `0x3B67` on x86_64,
/// arm64 or s390x and `0x20003B67` on ppc64le: `vfio_iommu_info::ioc`).
#[pyfunction]
pub(crate) fn ioctl_numbers() -> BTreeMap<&'static str, u32> {
    uapi::IOCTLS
        .iter()
        .map(|i| (i.name, i.number(vfio_iommu_info::ioc::TARGET)))
        .collect()
}
