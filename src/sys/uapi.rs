//! The parts of Linux's `include/uapi/linux/vfio.h` this library speaks: ioctl numbers,
//! constants, and the byte layout of the structures it reads.
//!
//! Layouts are given as offsets because every buffer is decoded from bytes with
//! bounds-checked, unaligned reads (the kernel packs some capabilities at 4-byte aligned
//! offsets). The `#[repr(C)]` structs here are only the small arguments the library passes
//! *to* the kernel. Every number is asserted by the tests in `tests/uapi.rs`, against the
//! machine's own `<linux/vfio.h>` where it has them.

use super::ioc;

/// `VFIO_TYPE`: the ioctl "type" byte of every VFIO ioctl (`';'`).
pub const VFIO_TYPE: u32 = b';' as u32;
/// `VFIO_BASE`: the first VFIO ioctl number.
pub const VFIO_BASE: u32 = 100;

/// `_IO(VFIO_TYPE, VFIO_BASE + nr)` of the architecture the crate is compiled for
/// ([`ioc::TARGET`]): VFIO ioctls carry neither a direction nor a size (the structures
/// carry `argsz` instead), so one number can mean different things on different file
/// types (see [`VFIO_IOMMU_GET_INFO`]). "No direction" is still a bit of its own on
/// powerpc, mips, sparc and alpha: the hexadecimal values in this module's comments are
/// x86_64's, arm64's, s390x's (`ioc::IocEncoding::Generic`).
pub const fn vfio_io(nr: u32) -> u32 {
    assert!(
        nr <= 0xff - VFIO_BASE,
        "VFIO_BASE + nr must fit _IOC_NR's 8 bits"
    );
    ioc::TARGET.io(VFIO_TYPE as u8, (VFIO_BASE + nr) as u8)
}

/// `VFIO_GET_API_VERSION` (0x3B64) on `/dev/vfio/vfio`: returns [`VFIO_API_VERSION`].
pub const VFIO_GET_API_VERSION: u32 = vfio_io(0);
/// `VFIO_CHECK_EXTENSION` (0x3B65): does the container support an IOMMU model?
pub const VFIO_CHECK_EXTENSION: u32 = vfio_io(1);
/// `VFIO_SET_IOMMU` (0x3B66): choose the container's IOMMU model.
pub const VFIO_SET_IOMMU: u32 = vfio_io(2);
/// `VFIO_GROUP_GET_STATUS` (0x3B67) on a group fd.
pub const VFIO_GROUP_GET_STATUS: u32 = vfio_io(3);
/// `VFIO_GROUP_SET_CONTAINER` (0x3B68) on a group fd; the argument points to the container fd.
pub const VFIO_GROUP_SET_CONTAINER: u32 = vfio_io(4);
/// `VFIO_GROUP_UNSET_CONTAINER` (0x3B69) on a group fd.
pub const VFIO_GROUP_UNSET_CONTAINER: u32 = vfio_io(5);
/// `VFIO_GROUP_GET_DEVICE_FD` (0x3B6A) on a group fd.
pub const VFIO_GROUP_GET_DEVICE_FD: u32 = vfio_io(6);
/// `VFIO_DEVICE_GET_INFO` (0x3B6B) on a device fd.
pub const VFIO_DEVICE_GET_INFO: u32 = vfio_io(7);
/// `VFIO_DEVICE_GET_REGION_INFO` (0x3B6C) on a device fd.
pub const VFIO_DEVICE_GET_REGION_INFO: u32 = vfio_io(8);
/// `VFIO_IOMMU_GET_INFO` (0x3B70) on a type1 container.
///
/// The same number is `VFIO_IOMMU_SPAPR_TCE_GET_INFO` on an sPAPR container and
/// `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO` on a vfio-pci device fd.
pub const VFIO_IOMMU_GET_INFO: u32 = vfio_io(12);
/// `VFIO_IOMMU_MAP_DMA` (0x3B71) on a type1 container.
pub const VFIO_IOMMU_MAP_DMA: u32 = vfio_io(13);
/// `VFIO_IOMMU_UNMAP_DMA` (0x3B72) on a type1 container.
pub const VFIO_IOMMU_UNMAP_DMA: u32 = vfio_io(14);

/// `VFIO_IOMMU_ENABLE` (0x3B73) on an sPAPR TCE v1 container (v2 refuses it).
pub const VFIO_IOMMU_ENABLE: u32 = vfio_io(15);
/// `VFIO_IOMMU_DISABLE` (0x3B74) on an sPAPR TCE v1 container.
pub const VFIO_IOMMU_DISABLE: u32 = vfio_io(16);
/// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (0x3B70, the number of [`VFIO_IOMMU_GET_INFO`]) on an
/// sPAPR TCE container: `struct vfio_iommu_spapr_tce_info`, see [`spapr_tce_info`].
pub const VFIO_IOMMU_SPAPR_TCE_GET_INFO: u32 = vfio_io(12);
/// `VFIO_IOMMU_SPAPR_REGISTER_MEMORY` (0x3B75): a v2 container maps only memory
/// registered (pinned and accounted) first.
pub const VFIO_IOMMU_SPAPR_REGISTER_MEMORY: u32 = vfio_io(17);
/// `VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY` (0x3B76).
pub const VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: u32 = vfio_io(18);
/// `VFIO_IOMMU_SPAPR_TCE_CREATE` (0x3B77): creates a dynamic DMA window (v2 only); see
/// [`spapr_tce_create`].
pub const VFIO_IOMMU_SPAPR_TCE_CREATE: u32 = vfio_io(19);
/// `VFIO_IOMMU_SPAPR_TCE_REMOVE` (0x3B78): removes a window by its start (v2 only); see
/// [`spapr_tce_remove`].
pub const VFIO_IOMMU_SPAPR_TCE_REMOVE: u32 = vfio_io(20);

/// The only VFIO API version there has ever been.
pub const VFIO_API_VERSION: i32 = 0;
/// `VFIO_TYPE1_IOMMU`: the original type1 model.
pub const VFIO_TYPE1_IOMMU: u32 = 1;
/// `VFIO_SPAPR_TCE_IOMMU`: IBM POWER's model (not type1).
pub const VFIO_SPAPR_TCE_IOMMU: u32 = 2;
/// `VFIO_TYPE1v2_IOMMU`: type1 with the v2 unmap semantics; what every VMM uses.
pub const VFIO_TYPE1V2_IOMMU: u32 = 3;
/// `VFIO_SPAPR_TCE_v2_IOMMU`: IBM POWER's second model.
pub const VFIO_SPAPR_TCE_V2_IOMMU: u32 = 7;
/// `VFIO_NOIOMMU_IOMMU`: no IOMMU at all (unsafe mode); there is no IOVA space to report.
pub const VFIO_NOIOMMU_IOMMU: u32 = 8;

/// `struct vfio_group_status` flag: every device of the group is usable by VFIO.
pub const VFIO_GROUP_FLAGS_VIABLE: u32 = 1 << 0;
/// `struct vfio_group_status` flag: the group is attached to a container.
pub const VFIO_GROUP_FLAGS_CONTAINER_SET: u32 = 1 << 1;

/// `VFIO_IOMMU_INFO_PGSIZES`: `iova_pgsizes` is valid.
pub const VFIO_IOMMU_INFO_PGSIZES: u32 = 1 << 0;
/// `VFIO_IOMMU_INFO_CAPS`: the kernel has a capability chain (it may not have fit).
pub const VFIO_IOMMU_INFO_CAPS: u32 = 1 << 1;

/// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE` (Linux 5.4).
pub const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: u16 = 1;
/// `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION` (Linux 5.8).
pub const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: u16 = 2;
/// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL` (Linux 5.10). Note: no `CAP_` in the C name.
pub const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: u16 = 3;

/// `VFIO_DMA_MAP_FLAG_READ`: the device may read the mapping.
pub const VFIO_DMA_MAP_FLAG_READ: u32 = 1 << 0;
/// `VFIO_DMA_MAP_FLAG_WRITE`: the device may write the mapping.
pub const VFIO_DMA_MAP_FLAG_WRITE: u32 = 1 << 1;

/// `VFIO_IOMMU_SPAPR_INFO_DDW`: dynamic DMA windows are supported and (when `argsz`
/// covers it) the `ddw` block is filled.
pub const VFIO_IOMMU_SPAPR_INFO_DDW: u32 = 1 << 0;

/// `struct vfio_iommu_spapr_tce_info` with its `struct vfio_iommu_spapr_tce_ddw_info ddw`.
pub mod spapr_tce_info {
    /// Offset of `argsz` (the kernel never rewrites it).
    pub const ARGSZ: usize = 0;
    /// Offset of `flags` ([`VFIO_IOMMU_SPAPR_INFO_DDW`](super::VFIO_IOMMU_SPAPR_INFO_DDW)).
    pub const FLAGS: usize = 4;
    /// Offset of `dma32_window_start` (u32, a PCI bus address in bytes).
    pub const DMA32_WINDOW_START: usize = 8;
    /// Offset of `dma32_window_size` (u32, bytes).
    pub const DMA32_WINDOW_SIZE: usize = 12;
    /// `offsetofend(dma32_window_size)`: the smallest `argsz` the kernel accepts, and all
    /// it writes back when `argsz` is below [`SIZE`].
    pub const MIN_SIZE: usize = 16;
    /// Offset of `ddw.pgsizes` (u64, a bitmap of the page sizes a dynamic window can use).
    pub const DDW_PGSIZES: usize = 16;
    /// Offset of `ddw.max_dynamic_windows_supported` (u32).
    pub const DDW_MAX_DYNAMIC_WINDOWS: usize = 24;
    /// Offset of `ddw.levels` (u32, the most TCE table levels a window may have).
    pub const DDW_LEVELS: usize = 28;
    /// `sizeof(struct vfio_iommu_spapr_tce_info)` = `offsetofend(ddw)`: the kernel copies
    /// the `ddw` block back only when `argsz` reaches this.
    pub const SIZE: usize = 32;
}

/// `struct vfio_iommu_spapr_tce_create`, the argument of [`VFIO_IOMMU_SPAPR_TCE_CREATE`].
pub mod spapr_tce_create {
    /// Offset of `page_shift` (u32, in).
    pub const PAGE_SHIFT: usize = 8;
    /// Offset of `window_size` (u64, in).
    pub const WINDOW_SIZE: usize = 16;
    /// Offset of `levels` (u32, in).
    pub const LEVELS: usize = 24;
    /// Offset of `start_addr` (u64, out: the bus address the platform chose).
    pub const START_ADDR: usize = 32;
    /// `sizeof` = `offsetofend(start_addr)`, the kernel's minimum `argsz`.
    pub const SIZE: usize = 40;
}

/// `struct vfio_iommu_spapr_tce_remove`, the argument of [`VFIO_IOMMU_SPAPR_TCE_REMOVE`].
pub mod spapr_tce_remove {
    /// Offset of `start_addr` (u64, the window's start as CREATE returned it).
    pub const START_ADDR: usize = 8;
    /// `sizeof` = `offsetofend(start_addr)`, the kernel's minimum `argsz`.
    pub const SIZE: usize = 16;
}

/// `struct vfio_info_cap_header`: `id` u16 @0, `version` u16 @2, `next` u32 @4.
pub mod cap_header {
    /// Offset of `id`.
    pub const ID: usize = 0;
    /// Offset of `version`.
    pub const VERSION: usize = 2;
    /// Offset of `next` (an absolute offset from the start of the info buffer; 0 ends).
    pub const NEXT: usize = 4;
    /// Size of the header.
    pub const SIZE: usize = 8;
}

/// `struct vfio_iommu_type1_info`.
pub mod type1_info {
    /// Offset of `argsz`.
    pub const ARGSZ: usize = 0;
    /// Offset of `flags`.
    pub const FLAGS: usize = 4;
    /// Offset of `iova_pgsizes`.
    pub const IOVA_PGSIZES: usize = 8;
    /// Offset of `cap_offset` (Linux 5.4+).
    pub const CAP_OFFSET: usize = 16;
    /// Offset of `pad` (Linux 6.6+; earlier kernels leave these bytes as the caller wrote them).
    pub const PAD: usize = 20;
    /// `offsetofend(iova_pgsizes)`: the smallest `argsz` the kernel accepts, and the whole
    /// structure before Linux 5.4.
    pub const MIN_SIZE: usize = 16;
    /// The bytes of the fixed part Linux 5.4 to 6.5 write back (through `cap_offset`).
    /// Their capabilities still start at `sizeof` = 24 on 64-bit, packed at raw sizes.
    pub const PACKED_SIZE: usize = 20;
    /// `sizeof(struct vfio_iommu_type1_info)` on 64-bit (since 6.6 with an explicit `pad`):
    /// where the chain starts; since 6.6 every capability is padded to 8 bytes.
    pub const PADDED_SIZE: usize = 24;
}

/// `struct vfio_iommu_type1_info_cap_iova_range`.
pub mod cap_iova_range {
    /// Offset of `nr_iovas` (u32).
    pub const NR_IOVAS: usize = 8;
    /// Offset of `reserved` (u32).
    pub const RESERVED: usize = 12;
    /// Offset of the `iova_ranges[]` array of `struct vfio_iova_range`.
    pub const RANGES: usize = 16;
    /// Size of one `struct vfio_iova_range` {`start` u64, `end` u64 (inclusive)}.
    pub const RANGE_SIZE: usize = 16;
}

/// `struct vfio_iommu_type1_info_cap_migration`.
pub mod cap_migration {
    /// Offset of `flags` (u32).
    pub const FLAGS: usize = 8;
    /// Offset of `pgsize_bitmap` (u64); bytes 12..16 are a hole, uninitialised on old kernels.
    pub const PGSIZE_BITMAP: usize = 16;
    /// Offset of `max_dirty_bitmap_size` (u64, in bytes).
    pub const MAX_DIRTY_BITMAP_SIZE: usize = 24;
    /// Size of version 1.
    pub const SIZE: usize = 32;
}

/// `struct vfio_iommu_type1_info_dma_avail`.
pub mod cap_dma_avail {
    /// Offset of `avail` (u32).
    pub const AVAIL: usize = 8;
    /// Size of version 1.
    pub const SIZE: usize = 12;
}

/// `struct vfio_region_info` (`VFIO_DEVICE_GET_REGION_INFO`): 32 bytes on every kernel,
/// all of which the kernel writes back; capabilities start right after it.
pub mod region_info {
    /// Offset of `argsz`.
    pub const ARGSZ: usize = 0;
    /// Offset of `flags` (`VFIO_REGION_INFO_FLAG_*`).
    pub const FLAGS: usize = 4;
    /// Offset of `index`.
    pub const INDEX: usize = 8;
    /// Offset of `cap_offset`.
    pub const CAP_OFFSET: usize = 12;
    /// Offset of `size` (u64).
    pub const SIZE_FIELD: usize = 16;
    /// Offset of `offset` (u64): where the region is in the device fd.
    pub const OFFSET: usize = 24;
    /// `sizeof(struct vfio_region_info)`: the smallest `argsz` the kernel accepts, and
    /// where its chain starts.
    pub const SIZE: usize = 32;
    /// `VFIO_REGION_INFO_CAP_SPARSE_MMAP`.
    pub const CAP_SPARSE_MMAP: u16 = 1;
    /// `VFIO_REGION_INFO_CAP_TYPE`.
    pub const CAP_TYPE: u16 = 2;
    /// `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE` (header only).
    pub const CAP_MSIX_MAPPABLE: u16 = 3;
    /// `VFIO_REGION_INFO_CAP_NVLINK2_SSATGT` (no longer produced since Linux 5.13).
    pub const CAP_NVLINK2_SSATGT: u16 = 4;
    /// `VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD` (no longer produced since Linux 5.13).
    pub const CAP_NVLINK2_LNKSPD: u16 = 5;
    /// Offset of `nr_areas` (u32) in `struct vfio_region_info_cap_sparse_mmap`.
    pub const SPARSE_NR_AREAS: usize = 8;
    /// Offset of the `areas[]` array of `struct vfio_region_sparse_mmap_area`.
    pub const SPARSE_AREAS: usize = 16;
    /// Size of one `struct vfio_region_sparse_mmap_area` {`offset` u64, `size` u64}.
    pub const SPARSE_AREA_SIZE: usize = 16;
    /// Offset of `type` (u32) in `struct vfio_region_info_cap_type`.
    pub const TYPE_TYPE: usize = 8;
    /// Offset of `subtype` (u32) in `struct vfio_region_info_cap_type`.
    pub const TYPE_SUBTYPE: usize = 12;
    /// `sizeof(struct vfio_region_info_cap_type)`.
    pub const TYPE_SIZE: usize = 16;
    /// Offset of `tgt` (u64) in `struct vfio_region_info_cap_nvlink2_ssatgt`.
    pub const SSATGT_TGT: usize = 8;
    /// Offset of `link_speed` (u32) in `struct vfio_region_info_cap_nvlink2_lnkspd`.
    pub const LNKSPD_LINK_SPEED: usize = 8;
    /// `sizeof` either NVLINK2 capability.
    pub const NVLINK2_SIZE: usize = 16;
}

/// `struct vfio_group_status`, the argument of [`VFIO_GROUP_GET_STATUS`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioGroupStatus {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_GROUP_FLAGS_*`.
    pub flags: u32,
}

/// `struct vfio_iommu_type1_dma_map`, the argument of [`VFIO_IOMMU_MAP_DMA`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioDmaMap {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_DMA_MAP_FLAG_*`.
    pub flags: u32,
    /// Process virtual address of the memory to map.
    pub vaddr: u64,
    /// IO virtual address the device will use.
    pub iova: u64,
    /// Size of the mapping in bytes.
    pub size: u64,
}

/// `struct vfio_iommu_type1_dma_unmap` without its flexible `data[]`, the argument of
/// [`VFIO_IOMMU_UNMAP_DMA`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioDmaUnmap {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_DMA_UNMAP_FLAG_*`.
    pub flags: u32,
    /// First IO virtual address to unmap.
    pub iova: u64,
    /// Size in bytes; on return, the size actually unmapped.
    pub size: u64,
}

// --- iommufd (include/uapi/linux/iommufd.h) and the VFIO device cdev ---------------

/// `IOMMUFD_TYPE`: the ioctl "type" byte of iommufd, the same `';'` as VFIO's.
pub const IOMMUFD_TYPE: u32 = b';' as u32;

/// `_IO(IOMMUFD_TYPE, nr)` of the architecture the crate is compiled for: like VFIO,
/// iommufd ioctls carry no size (the structures start with `size`).
pub const fn iommufd_io(nr: u32) -> u32 {
    assert!(nr <= 0xff, "nr must fit _IOC_NR's 8 bits");
    ioc::TARGET.io(IOMMUFD_TYPE as u8, nr as u8)
}

/// `IOMMU_DESTROY` (0x3B80) on `/dev/iommu`: frees an object (an IOAS, a HWPT) by id.
pub const IOMMU_DESTROY: u32 = iommufd_io(0x80);
/// `IOMMU_IOAS_ALLOC` (0x3B81): a new, empty I/O address space.
pub const IOMMU_IOAS_ALLOC: u32 = iommufd_io(0x81);
/// `IOMMU_IOAS_IOVA_RANGES` (0x3B84): the IOVA ranges an IOAS may map.
pub const IOMMU_IOAS_IOVA_RANGES: u32 = iommufd_io(0x84);
/// `IOMMU_IOAS_MAP` (0x3B85): map user memory into an IOAS.
pub const IOMMU_IOAS_MAP: u32 = iommufd_io(0x85);
/// `IOMMU_IOAS_UNMAP` (0x3B86): unmap a range of an IOAS.
pub const IOMMU_IOAS_UNMAP: u32 = iommufd_io(0x86);
/// `IOMMU_OPTION` (0x3B87): get or set an option of the iommufd context or of an object
/// (`IOMMU_OPTION_RLIMIT_MODE`: how pinned pages are charged).
pub const IOMMU_OPTION: u32 = iommufd_io(0x87);
/// `IOMMU_VFIO_IOAS` (0x3B88): get or set the IOAS of the VFIO compatibility container;
/// only an iommufd answers it, which is how a `/dev/vfio/vfio` served by iommufd shows.
pub const IOMMU_VFIO_IOAS: u32 = iommufd_io(0x88);
/// `IOMMU_GET_HW_INFO` (0x3B8A, Linux 6.6): the IOMMU's hardware description for a device.
pub const IOMMU_GET_HW_INFO: u32 = iommufd_io(0x8a);
/// `IOMMU_HWPT_GET_DIRTY_BITMAP` (0x3B8C, Linux 6.7). Only probed: a kernel that does not
/// know it (ENOTTY) predates `out_capabilities` of [`IOMMU_GET_HW_INFO`].
pub const IOMMU_HWPT_GET_DIRTY_BITMAP: u32 = iommufd_io(0x8c);

/// `VFIO_DEVICE_BIND_IOMMUFD` (0x3B76, Linux 6.6) on a device cdev.
pub const VFIO_DEVICE_BIND_IOMMUFD: u32 = vfio_io(18);
/// `VFIO_DEVICE_ATTACH_IOMMUFD_PT` (0x3B77) on a bound device cdev.
pub const VFIO_DEVICE_ATTACH_IOMMUFD_PT: u32 = vfio_io(19);
/// `VFIO_DEVICE_DETACH_IOMMUFD_PT` (0x3B78) on a bound device cdev.
pub const VFIO_DEVICE_DETACH_IOMMUFD_PT: u32 = vfio_io(20);

/// An ioctl of `<linux/vfio.h>` or `<linux/iommufd.h>` by its C name: `_IO(';', nr)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UapiIoctl {
    /// The C macro's name.
    pub name: &'static str,
    /// `_IOC_NR` (for VFIO, `VFIO_BASE` + its index).
    pub nr: u8,
}

impl UapiIoctl {
    /// Its number on an architecture with encoding `enc`.
    pub const fn number(self, enc: ioc::IocEncoding) -> u32 {
        enc.io(VFIO_TYPE as u8, self.nr)
    }
}

const fn vfio(name: &'static str, index: u8) -> UapiIoctl {
    UapiIoctl {
        name,
        nr: VFIO_BASE as u8 + index,
    }
}

const fn iommufd(name: &'static str, nr: u8) -> UapiIoctl {
    UapiIoctl { name, nr }
}

/// Every VFIO and iommufd ioctl this module has a constant for, under the header's name,
/// and the sPAPR TCE ones (the POWER container's, with its `VFIO_EEH_PE_OP`).
/// `tests/ioctl_arch.rs` holds every `vfio_io`/`iommufd_io` constant of this file to this
/// list; `make ioctl-check` holds this list, on every architecture of
/// [`ioc::LINUX_ARCHES`], to the kernel's headers.
pub const IOCTLS: &[UapiIoctl] = &[
    vfio("VFIO_GET_API_VERSION", 0),
    vfio("VFIO_CHECK_EXTENSION", 1),
    vfio("VFIO_SET_IOMMU", 2),
    vfio("VFIO_GROUP_GET_STATUS", 3),
    vfio("VFIO_GROUP_SET_CONTAINER", 4),
    vfio("VFIO_GROUP_UNSET_CONTAINER", 5),
    vfio("VFIO_GROUP_GET_DEVICE_FD", 6),
    vfio("VFIO_DEVICE_GET_INFO", 7),
    vfio("VFIO_DEVICE_GET_REGION_INFO", 8),
    vfio("VFIO_IOMMU_GET_INFO", 12),
    vfio("VFIO_IOMMU_SPAPR_TCE_GET_INFO", 12),
    vfio("VFIO_IOMMU_MAP_DMA", 13),
    vfio("VFIO_IOMMU_UNMAP_DMA", 14),
    vfio("VFIO_IOMMU_ENABLE", 15),
    vfio("VFIO_IOMMU_DISABLE", 16),
    vfio("VFIO_IOMMU_SPAPR_REGISTER_MEMORY", 17),
    vfio("VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", 18),
    vfio("VFIO_IOMMU_SPAPR_TCE_CREATE", 19),
    vfio("VFIO_IOMMU_SPAPR_TCE_REMOVE", 20),
    vfio("VFIO_EEH_PE_OP", 21),
    vfio("VFIO_DEVICE_BIND_IOMMUFD", 18),
    vfio("VFIO_DEVICE_ATTACH_IOMMUFD_PT", 19),
    vfio("VFIO_DEVICE_DETACH_IOMMUFD_PT", 20),
    iommufd("IOMMU_DESTROY", 0x80),
    iommufd("IOMMU_IOAS_ALLOC", 0x81),
    iommufd("IOMMU_IOAS_IOVA_RANGES", 0x84),
    iommufd("IOMMU_IOAS_MAP", 0x85),
    iommufd("IOMMU_IOAS_UNMAP", 0x86),
    iommufd("IOMMU_OPTION", 0x87),
    iommufd("IOMMU_VFIO_IOAS", 0x88),
    iommufd("IOMMU_GET_HW_INFO", 0x8a),
    iommufd("IOMMU_HWPT_GET_DIRTY_BITMAP", 0x8c),
];

/// The number of the ioctl named `name` (its C name) on the architecture the crate is
/// compiled for.
pub fn ioctl_number(name: &str) -> Option<u32> {
    IOCTLS
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.number(ioc::TARGET))
}

/// `IOMMU_IOAS_MAP_FIXED_IOVA`: map at the given IOVA rather than let the kernel choose.
pub const IOMMU_IOAS_MAP_FIXED_IOVA: u32 = 1 << 0;
/// `IOMMU_IOAS_MAP_WRITEABLE`: the device may write the mapping.
pub const IOMMU_IOAS_MAP_WRITEABLE: u32 = 1 << 1;
/// `IOMMU_IOAS_MAP_READABLE`: the device may read the mapping.
pub const IOMMU_IOAS_MAP_READABLE: u32 = 1 << 2;

/// `IOMMU_OPTION_RLIMIT_MODE`: the context-wide option (object id 0) saying whether pinned
/// pages are charged to the process (`val64` 1: `mm->locked_vm`) or to the user (0).
pub const IOMMU_OPTION_RLIMIT_MODE: u32 = 0;
/// `IOMMU_OPTION_OP_SET`: the op of [`IommuOption`] that sets the value.
pub const IOMMU_OPTION_OP_SET: u16 = 0;
/// `IOMMU_OPTION_OP_GET`: the op of [`IommuOption`] that reads the value into `val64`.
pub const IOMMU_OPTION_OP_GET: u16 = 1;

/// `IOMMU_VFIO_IOAS_GET`: the op of [`IommuVfioIoas`] that reads the compat IOAS id.
pub const IOMMU_VFIO_IOAS_GET: u16 = 0;

/// `enum iommu_hw_info_type`: `IOMMU_HW_INFO_TYPE_NONE`, the driver reports no data.
pub const IOMMU_HW_INFO_TYPE_NONE: u32 = 0;
/// `IOMMU_HW_INFO_TYPE_INTEL_VTD`: `struct iommu_hw_info_vtd`.
pub const IOMMU_HW_INFO_TYPE_INTEL_VTD: u32 = 1;
/// `IOMMU_HW_INFO_TYPE_ARM_SMMUV3` (Linux 6.8): `struct iommu_hw_info_arm_smmuv3`.
pub const IOMMU_HW_INFO_TYPE_ARM_SMMUV3: u32 = 2;
/// `IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV` (Linux 6.16): NVIDIA's SMMUv3 extension.
pub const IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: u32 = 3;
/// `IOMMU_HW_INFO_TYPE_AMD` (Linux 6.17): `struct iommu_hw_info_amd`.
pub const IOMMU_HW_INFO_TYPE_AMD: u32 = 4;

/// `IOMMU_HW_INFO_FLAG_INPUT_TYPE` in [`IommuHwInfo::flags`] (Linux 6.17): the data type
/// field carries an input, the type of data asked for (`in_data_type`); without it the
/// driver answers its default type. The library never sets it: its one question is the
/// default type, and a kernel before 6.17 refuses any flag (EOPNOTSUPP).
pub const IOMMU_HW_INFO_FLAG_INPUT_TYPE: u32 = 1 << 0;

/// `IOMMU_HW_CAP_DIRTY_TRACKING` in `out_capabilities` (Linux 6.7).
pub const IOMMU_HW_CAP_DIRTY_TRACKING: u64 = 1 << 0;
/// `IOMMU_HW_CAP_PCI_PASID_EXEC` (Linux 6.12).
pub const IOMMU_HW_CAP_PCI_PASID_EXEC: u64 = 1 << 1;
/// `IOMMU_HW_CAP_PCI_PASID_PRIV` (Linux 6.12).
pub const IOMMU_HW_CAP_PCI_PASID_PRIV: u64 = 1 << 2;
/// `IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED` (Linux 6.17): ATS cannot be used on this device
/// (its absence means ATS may be enabled). Linux 7.3 sets it for QEMU's edu device.
pub const IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED: u64 = 1 << 3;

/// `struct iommu_destroy`, the argument of [`IOMMU_DESTROY`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuDestroy {
    /// Size of this structure.
    pub size: u32,
    /// The object to free.
    pub id: u32,
}

/// `struct iommu_ioas_alloc`, the argument of [`IOMMU_IOAS_ALLOC`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuIoasAlloc {
    /// Size of this structure.
    pub size: u32,
    /// Must be 0.
    pub flags: u32,
    /// Out: the new IOAS's id.
    pub out_ioas_id: u32,
}

/// `struct iommu_iova_range`: one element of the array [`IOMMU_IOAS_IOVA_RANGES`] fills.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuIovaRange {
    /// First IOVA.
    pub start: u64,
    /// Last IOVA (inclusive).
    pub last: u64,
}

/// `struct iommu_ioas_iova_ranges`, the argument of [`IOMMU_IOAS_IOVA_RANGES`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuIoasIovaRanges {
    /// Size of this structure.
    pub size: u32,
    /// The IOAS to ask about.
    pub ioas_id: u32,
    /// In: elements of `allowed_iovas`; out: how many ranges there are (may be more).
    pub num_iovas: u32,
    /// Must be 0.
    pub reserved: u32,
    /// User pointer to an array of `num_iovas` [`IommuIovaRange`].
    pub allowed_iovas: u64,
    /// Out: the alignment every mapping's IOVA and length must have.
    pub out_iova_alignment: u64,
}

/// `struct iommu_ioas_map`, the argument of [`IOMMU_IOAS_MAP`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuIoasMap {
    /// Size of this structure.
    pub size: u32,
    /// `IOMMU_IOAS_MAP_*`.
    pub flags: u32,
    /// The IOAS to map into.
    pub ioas_id: u32,
    /// Must be 0.
    pub reserved: u32,
    /// Process virtual address of the memory.
    pub user_va: u64,
    /// Length in bytes.
    pub length: u64,
    /// In (with FIXED_IOVA) or out: the IOVA.
    pub iova: u64,
}

/// `struct iommu_ioas_unmap`, the argument of [`IOMMU_IOAS_UNMAP`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuIoasUnmap {
    /// Size of this structure.
    pub size: u32,
    /// The IOAS.
    pub ioas_id: u32,
    /// First IOVA to unmap.
    pub iova: u64,
    /// In: bytes to unmap; out: bytes unmapped.
    pub length: u64,
}

/// `struct iommu_option`, the argument of [`IOMMU_OPTION`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuOption {
    /// Size of this structure (24).
    pub size: u32,
    /// `IOMMU_OPTION_*`.
    pub option_id: u32,
    /// `IOMMU_OPTION_OP_GET` or `IOMMU_OPTION_OP_SET`.
    pub op: u16,
    /// Must be 0.
    pub reserved: u16,
    /// The object the option belongs to, 0 for the context's own options.
    pub object_id: u32,
    /// In (SET) or out (GET): the value.
    pub val64: u64,
}

/// `struct iommu_vfio_ioas`, the argument of [`IOMMU_VFIO_IOAS`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuVfioIoas {
    /// Size of this structure.
    pub size: u32,
    /// In (SET) or out (GET): the compat IOAS.
    pub ioas_id: u32,
    /// `IOMMU_VFIO_IOAS_GET` (0), `_SET` (1) or `_CLEAR` (2).
    pub op: u16,
    /// Must be 0.
    pub reserved: u16,
}

/// `struct iommu_hw_info` (40 bytes since Linux 6.7; 32 in 6.6, without
/// `out_capabilities`), the argument of [`IOMMU_GET_HW_INFO`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IommuHwInfo {
    /// Size of this structure.
    pub size: u32,
    /// 0, or (Linux 6.17) [`IOMMU_HW_INFO_FLAG_INPUT_TYPE`].
    pub flags: u32,
    /// The bound device's id (from `VFIO_DEVICE_BIND_IOMMUFD`).
    pub dev_id: u32,
    /// In: bytes at `data_uptr`; out: the length of the kernel's data (may be larger).
    pub data_len: u32,
    /// User pointer to the type-specific data buffer.
    pub data_uptr: u64,
    /// Out: `IOMMU_HW_INFO_TYPE_*`. In (`in_data_type`, the same field, Linux 6.17): the
    /// type asked for, read only with [`IOMMU_HW_INFO_FLAG_INPUT_TYPE`].
    pub out_data_type: u32,
    /// Out (Linux 6.12): log2 of the PASIDs the device supports, 0 without PASID.
    pub out_max_pasid_log2: u8,
    /// Must be 0.
    pub reserved: [u8; 3],
    /// Out (Linux 6.7): `IOMMU_HW_CAP_*`.
    pub out_capabilities: u64,
}

/// `struct vfio_device_bind_iommufd`, the argument of [`VFIO_DEVICE_BIND_IOMMUFD`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioDeviceBindIommufd {
    /// Size of this structure.
    pub argsz: u32,
    /// Must be 0.
    pub flags: u32,
    /// The `/dev/iommu` fd to bind to.
    pub iommufd: i32,
    /// Out: the device's id in that iommufd.
    pub out_devid: u32,
}

/// `struct vfio_device_attach_iommufd_pt`, the argument of
/// [`VFIO_DEVICE_ATTACH_IOMMUFD_PT`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioDeviceAttachIommufdPt {
    /// Size of this structure.
    pub argsz: u32,
    /// Must be 0.
    pub flags: u32,
    /// In: an IOAS or HWPT id; out: the HWPT the device was attached to.
    pub pt_id: u32,
}
