//! The one seam to the kernel for every query whose answer the library decodes.
//!
//! Each method is one ioctl on a descriptor, with every buffer the kernel fills passed as
//! a Rust slice: [`SystemKernel`] turns the slices into the user pointers the kernel
//! wants; a test or a fuzz target implements [`Kernel`] to play a kernel (every `argsz`
//! case, counts that grow between calls, errors) with nothing unsafe. The calls that only
//! set things up (attach a group, bind a device, allocate an IOAS, map) carry no answer to
//! decode and go to the kernel directly (`sys::ioctl`).

use std::os::fd::BorrowedFd;

use crate::error::Errno;
use crate::sys::ioctl::{argsz_ioctl, struct_ioctl};
use crate::sys::uapi;
/// The argument structures a [`Kernel`] fills, as `<linux/iommufd.h>` lays them out.
pub use crate::sys::uapi::{IommuHwInfo, IommuIoasIovaRanges, IommuIovaRange};

/// The `argsz`-led VFIO queries: the caller sets `argsz` (the first 4 bytes, native
/// order) to at most the buffer's length; the kernel fills at most `argsz` bytes and, when
/// its capability chain did not fit, says how many it needs in `argsz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VfioQuery {
    /// `VFIO_IOMMU_GET_INFO` on a type1 container.
    IommuGetInfo,
    /// `VFIO_DEVICE_GET_INFO` on a device fd.
    DeviceGetInfo,
    /// `VFIO_DEVICE_GET_REGION_INFO` on a device fd (the region index at bytes 8..12).
    DeviceGetRegionInfo,
    /// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` on an sPAPR TCE container (fixed size: 32 bytes).
    SpaprTceGetInfo,
    /// `VFIO_IOMMU_SPAPR_TCE_CREATE` on a v2 sPAPR TCE container: in `page_shift`,
    /// `window_size`, `levels`; out `start_addr` (40 bytes). Creates a window.
    SpaprTceCreate,
    /// `VFIO_IOMMU_SPAPR_TCE_REMOVE` on a v2 sPAPR TCE container: in `start_addr` (16
    /// bytes). Removes a window.
    SpaprTceRemove,
}

impl VfioQuery {
    /// The ioctl's name, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            VfioQuery::IommuGetInfo => "VFIO_IOMMU_GET_INFO",
            VfioQuery::DeviceGetInfo => "VFIO_DEVICE_GET_INFO",
            VfioQuery::DeviceGetRegionInfo => "VFIO_DEVICE_GET_REGION_INFO",
            VfioQuery::SpaprTceGetInfo => "VFIO_IOMMU_SPAPR_TCE_GET_INFO",
            VfioQuery::SpaprTceCreate => "VFIO_IOMMU_SPAPR_TCE_CREATE",
            VfioQuery::SpaprTceRemove => "VFIO_IOMMU_SPAPR_TCE_REMOVE",
        }
    }

    /// The ioctl's request number.
    pub const fn request(self) -> u32 {
        match self {
            VfioQuery::IommuGetInfo => uapi::VFIO_IOMMU_GET_INFO,
            VfioQuery::DeviceGetInfo => uapi::VFIO_DEVICE_GET_INFO,
            VfioQuery::DeviceGetRegionInfo => uapi::VFIO_DEVICE_GET_REGION_INFO,
            VfioQuery::SpaprTceGetInfo => uapi::VFIO_IOMMU_SPAPR_TCE_GET_INFO,
            VfioQuery::SpaprTceCreate => uapi::VFIO_IOMMU_SPAPR_TCE_CREATE,
            VfioQuery::SpaprTceRemove => uapi::VFIO_IOMMU_SPAPR_TCE_REMOVE,
        }
    }
}

/// A kernel that answers the library's queries. [`SystemKernel`] is the running one.
pub trait Kernel {
    /// One `argsz`-led VFIO query with `buf` as the argument (`argsz` <= `buf.len()`).
    fn vfio_query(&self, fd: BorrowedFd<'_>, query: VfioQuery, buf: &mut [u8])
        -> Result<(), Errno>;

    /// `IOMMU_IOAS_IOVA_RANGES` with `arg`, whose `num_iovas` is `ranges.len()`: the
    /// kernel fills at most that many ranges, sets `num_iovas` to how many there are, and
    /// answers `EMSGSIZE` when they did not fit. `arg.allowed_iovas` is the
    /// implementation's to set. By default ENOTTY, as a kernel without iommufd answers.
    fn ioas_iova_ranges(
        &self,
        fd: BorrowedFd<'_>,
        arg: &mut IommuIoasIovaRanges,
        ranges: &mut [IommuIovaRange],
    ) -> Result<(), Errno> {
        let _ = (fd, arg, ranges);
        Err(Errno(libc::ENOTTY))
    }

    /// `IOMMU_GET_HW_INFO` with `arg`, whose `data_len` is `data.len()`: the kernel fills
    /// at most that many bytes and sets `data_len` to the length of its data (which may be
    /// larger). `arg.data_uptr` is the implementation's to set. By default ENOTTY, as a
    /// kernel before 6.6 answers.
    fn hw_info(
        &self,
        fd: BorrowedFd<'_>,
        arg: &mut IommuHwInfo,
        data: &mut [u8],
    ) -> Result<(), Errno> {
        let _ = (fd, arg, data);
        Err(Errno(libc::ENOTTY))
    }

    /// The kernel's `PAGE_SIZE` in bytes, which the answers of `IOMMU_GET_HW_INFO` are
    /// read with (an SMMUv3 domain's granule follows it). By default the running
    /// kernel's ([`page_size`]); a test plays a 16 or 64 KiB arm64 kernel here.
    fn page_size(&self) -> u64 {
        page_size()
    }
}

/// The running kernel's page size (`sysconf(_SC_PAGESIZE)`); 4096 if sysconf cannot say,
/// which Linux's sysconf never does.
pub fn page_size() -> u64 {
    // SAFETY: sysconf takes a plain integer name and touches no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

/// The running kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemKernel;

impl Kernel for SystemKernel {
    fn vfio_query(
        &self,
        fd: BorrowedFd<'_>,
        query: VfioQuery,
        buf: &mut [u8],
    ) -> Result<(), Errno> {
        argsz_ioctl(fd, query.request(), buf).map(drop)
    }

    fn ioas_iova_ranges(
        &self,
        fd: BorrowedFd<'_>,
        arg: &mut IommuIoasIovaRanges,
        ranges: &mut [IommuIovaRange],
    ) -> Result<(), Errno> {
        arg.num_iovas = u32::try_from(ranges.len()).map_err(|_| Errno(libc::EINVAL))?;
        arg.allowed_iovas = ranges.as_mut_ptr() as u64;
        // SAFETY: the one user pointer in `arg`, `allowed_iovas`, points to `ranges`:
        // `num_iovas` repr(C) `iommu_iova_range` elements, alive and exclusively borrowed
        // for the call; the kernel writes at most `num_iovas` of them.
        unsafe { struct_ioctl(fd, uapi::IOMMU_IOAS_IOVA_RANGES, arg) }.map(drop)
    }

    fn hw_info(
        &self,
        fd: BorrowedFd<'_>,
        arg: &mut IommuHwInfo,
        data: &mut [u8],
    ) -> Result<(), Errno> {
        arg.data_len = u32::try_from(data.len()).map_err(|_| Errno(libc::EINVAL))?;
        arg.data_uptr = data.as_mut_ptr() as u64;
        // SAFETY: the one user pointer in `arg`, `data_uptr`, points to `data`: `data_len`
        // bytes, alive and exclusively borrowed for the call; the kernel writes at most
        // `data_len` bytes there.
        unsafe { struct_ioctl(fd, uapi::IOMMU_GET_HW_INFO, arg) }.map(drop)
    }
}
