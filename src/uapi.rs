//! The parts of Linux's `include/uapi/linux/vfio.h` this library speaks: ioctl numbers,
//! constants, and the byte layout of the structures it reads.
//!
//! Layouts are given as offsets because every buffer is decoded from bytes with
//! bounds-checked, unaligned reads (the kernel packs some capabilities at 4-byte aligned
//! offsets). The `#[repr(C)]` structs here are only the small arguments the library passes
//! *to* the kernel. Every number is asserted by the tests in `tests/uapi.rs`, against the
//! machine's own `<linux/vfio.h>` where it has them.

/// `VFIO_TYPE`: the ioctl "type" byte of every VFIO ioctl (`';'`).
pub const VFIO_TYPE: u32 = b';' as u32;
/// `VFIO_BASE`: the first VFIO ioctl number.
pub const VFIO_BASE: u32 = 100;

/// `_IO(VFIO_TYPE, VFIO_BASE + nr)`: VFIO ioctls carry neither a direction nor a size
/// (the structures carry `argsz` instead), so one number can mean different things on
/// different file types (see [`VFIO_IOMMU_GET_INFO`]).
pub const fn vfio_io(nr: u32) -> u32 {
    (VFIO_TYPE << 8) | (VFIO_BASE + nr)
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

/// `struct vfio_group_status`, the argument of [`VFIO_GROUP_GET_STATUS`](super::VFIO_GROUP_GET_STATUS).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VfioGroupStatus {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_GROUP_FLAGS_*`.
    pub flags: u32,
}

/// `struct vfio_iommu_type1_dma_map`, the argument of [`VFIO_IOMMU_MAP_DMA`](super::VFIO_IOMMU_MAP_DMA).
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
/// [`VFIO_IOMMU_UNMAP_DMA`](super::VFIO_IOMMU_UNMAP_DMA).
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
