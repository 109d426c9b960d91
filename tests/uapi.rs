//! Every ioctl number, constant, size and offset of the uapi layer, asserted against the
//! values of Linux's `include/uapi/linux/vfio.h` and, where the machine has the header,
//! against the C compiler's own answer.

use std::mem::{offset_of, size_of};
use std::process::Command;

use vfio_iommu_info::uapi::*;

/// (C expression, our value). The C side is evaluated by the machine's compiler.
fn table() -> Vec<(&'static str, u64)> {
    vec![
        ("VFIO_GET_API_VERSION", VFIO_GET_API_VERSION as u64),
        ("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION as u64),
        ("VFIO_SET_IOMMU", VFIO_SET_IOMMU as u64),
        ("VFIO_GROUP_GET_STATUS", VFIO_GROUP_GET_STATUS as u64),
        ("VFIO_GROUP_SET_CONTAINER", VFIO_GROUP_SET_CONTAINER as u64),
        (
            "VFIO_GROUP_UNSET_CONTAINER",
            VFIO_GROUP_UNSET_CONTAINER as u64,
        ),
        ("VFIO_GROUP_GET_DEVICE_FD", VFIO_GROUP_GET_DEVICE_FD as u64),
        ("VFIO_DEVICE_GET_INFO", VFIO_DEVICE_GET_INFO as u64),
        (
            "VFIO_DEVICE_GET_REGION_INFO",
            VFIO_DEVICE_GET_REGION_INFO as u64,
        ),
        ("VFIO_IOMMU_GET_INFO", VFIO_IOMMU_GET_INFO as u64),
        ("VFIO_IOMMU_MAP_DMA", VFIO_IOMMU_MAP_DMA as u64),
        ("VFIO_IOMMU_UNMAP_DMA", VFIO_IOMMU_UNMAP_DMA as u64),
        ("VFIO_API_VERSION", VFIO_API_VERSION as u64),
        ("VFIO_TYPE1_IOMMU", VFIO_TYPE1_IOMMU as u64),
        ("VFIO_SPAPR_TCE_IOMMU", VFIO_SPAPR_TCE_IOMMU as u64),
        ("VFIO_TYPE1v2_IOMMU", VFIO_TYPE1V2_IOMMU as u64),
        ("VFIO_SPAPR_TCE_v2_IOMMU", VFIO_SPAPR_TCE_V2_IOMMU as u64),
        ("VFIO_NOIOMMU_IOMMU", VFIO_NOIOMMU_IOMMU as u64),
        ("VFIO_IOMMU_ENABLE", VFIO_IOMMU_ENABLE as u64),
        ("VFIO_IOMMU_DISABLE", VFIO_IOMMU_DISABLE as u64),
        (
            "VFIO_IOMMU_SPAPR_TCE_GET_INFO",
            VFIO_IOMMU_SPAPR_TCE_GET_INFO as u64,
        ),
        (
            "VFIO_IOMMU_SPAPR_REGISTER_MEMORY",
            VFIO_IOMMU_SPAPR_REGISTER_MEMORY as u64,
        ),
        (
            "VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY",
            VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY as u64,
        ),
        (
            "VFIO_IOMMU_SPAPR_TCE_CREATE",
            VFIO_IOMMU_SPAPR_TCE_CREATE as u64,
        ),
        (
            "VFIO_IOMMU_SPAPR_TCE_REMOVE",
            VFIO_IOMMU_SPAPR_TCE_REMOVE as u64,
        ),
        (
            "VFIO_IOMMU_SPAPR_INFO_DDW",
            VFIO_IOMMU_SPAPR_INFO_DDW as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, flags)",
            spapr_tce_info::FLAGS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, dma32_window_start)",
            spapr_tce_info::DMA32_WINDOW_START as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, dma32_window_size)",
            spapr_tce_info::DMA32_WINDOW_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, ddw.pgsizes)",
            spapr_tce_info::DDW_PGSIZES as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, ddw.max_dynamic_windows_supported)",
            spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, ddw.levels)",
            spapr_tce_info::DDW_LEVELS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_info, dma32_window_size) + sizeof(__u32)",
            spapr_tce_info::MIN_SIZE as u64,
        ),
        (
            "sizeof(struct vfio_iommu_spapr_tce_info)",
            spapr_tce_info::SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_create, page_shift)",
            spapr_tce_create::PAGE_SHIFT as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_create, window_size)",
            spapr_tce_create::WINDOW_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_create, levels)",
            spapr_tce_create::LEVELS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_create, start_addr)",
            spapr_tce_create::START_ADDR as u64,
        ),
        (
            "sizeof(struct vfio_iommu_spapr_tce_create)",
            spapr_tce_create::SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_spapr_tce_remove, start_addr)",
            spapr_tce_remove::START_ADDR as u64,
        ),
        (
            "sizeof(struct vfio_iommu_spapr_tce_remove)",
            spapr_tce_remove::SIZE as u64,
        ),
        ("VFIO_GROUP_FLAGS_VIABLE", VFIO_GROUP_FLAGS_VIABLE as u64),
        (
            "VFIO_GROUP_FLAGS_CONTAINER_SET",
            VFIO_GROUP_FLAGS_CONTAINER_SET as u64,
        ),
        ("VFIO_IOMMU_INFO_PGSIZES", VFIO_IOMMU_INFO_PGSIZES as u64),
        ("VFIO_IOMMU_INFO_CAPS", VFIO_IOMMU_INFO_CAPS as u64),
        (
            "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE",
            VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE as u64,
        ),
        (
            "VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION",
            VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION as u64,
        ),
        (
            "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL",
            VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL as u64,
        ),
        ("VFIO_DMA_MAP_FLAG_READ", VFIO_DMA_MAP_FLAG_READ as u64),
        ("VFIO_DMA_MAP_FLAG_WRITE", VFIO_DMA_MAP_FLAG_WRITE as u64),
        (
            "offsetof(struct vfio_info_cap_header, id)",
            cap_header::ID as u64,
        ),
        (
            "offsetof(struct vfio_info_cap_header, version)",
            cap_header::VERSION as u64,
        ),
        (
            "offsetof(struct vfio_info_cap_header, next)",
            cap_header::NEXT as u64,
        ),
        (
            "sizeof(struct vfio_info_cap_header)",
            cap_header::SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info, argsz)",
            type1_info::ARGSZ as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info, flags)",
            type1_info::FLAGS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info, iova_pgsizes)",
            type1_info::IOVA_PGSIZES as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info, cap_offset)",
            type1_info::CAP_OFFSET as u64,
        ),
        // 24 on every 64-bit kernel: before 6.6 as implicit tail padding, since 6.6 as `pad`.
        (
            "sizeof(struct vfio_iommu_type1_info)",
            type1_info::PADDED_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_iova_range, nr_iovas)",
            cap_iova_range::NR_IOVAS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_iova_range, reserved)",
            cap_iova_range::RESERVED as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges)",
            cap_iova_range::RANGES as u64,
        ),
        (
            "sizeof(struct vfio_iova_range)",
            cap_iova_range::RANGE_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_migration, flags)",
            cap_migration::FLAGS as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_migration, pgsize_bitmap)",
            cap_migration::PGSIZE_BITMAP as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size)",
            cap_migration::MAX_DIRTY_BITMAP_SIZE as u64,
        ),
        (
            "sizeof(struct vfio_iommu_type1_info_cap_migration)",
            cap_migration::SIZE as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_info_dma_avail, avail)",
            cap_dma_avail::AVAIL as u64,
        ),
        (
            "sizeof(struct vfio_iommu_type1_info_dma_avail)",
            cap_dma_avail::SIZE as u64,
        ),
        // struct vfio_region_info and its capabilities (region_info.rs).
        (
            "offsetof(struct vfio_region_info, argsz)",
            region_info::ARGSZ as u64,
        ),
        (
            "offsetof(struct vfio_region_info, flags)",
            region_info::FLAGS as u64,
        ),
        (
            "offsetof(struct vfio_region_info, index)",
            region_info::INDEX as u64,
        ),
        (
            "offsetof(struct vfio_region_info, cap_offset)",
            region_info::CAP_OFFSET as u64,
        ),
        (
            "offsetof(struct vfio_region_info, size)",
            region_info::SIZE_FIELD as u64,
        ),
        (
            "offsetof(struct vfio_region_info, offset)",
            region_info::OFFSET as u64,
        ),
        ("sizeof(struct vfio_region_info)", region_info::SIZE as u64),
        (
            "VFIO_REGION_INFO_CAP_SPARSE_MMAP",
            region_info::CAP_SPARSE_MMAP as u64,
        ),
        ("VFIO_REGION_INFO_CAP_TYPE", region_info::CAP_TYPE as u64),
        (
            "VFIO_REGION_INFO_CAP_MSIX_MAPPABLE",
            region_info::CAP_MSIX_MAPPABLE as u64,
        ),
        (
            "VFIO_REGION_INFO_CAP_NVLINK2_SSATGT",
            region_info::CAP_NVLINK2_SSATGT as u64,
        ),
        (
            "VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD",
            region_info::CAP_NVLINK2_LNKSPD as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_sparse_mmap, nr_areas)",
            region_info::SPARSE_NR_AREAS as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_sparse_mmap, areas)",
            region_info::SPARSE_AREAS as u64,
        ),
        (
            "sizeof(struct vfio_region_sparse_mmap_area)",
            region_info::SPARSE_AREA_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_type, type)",
            region_info::TYPE_TYPE as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_type, subtype)",
            region_info::TYPE_SUBTYPE as u64,
        ),
        (
            "sizeof(struct vfio_region_info_cap_type)",
            region_info::TYPE_SIZE as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_nvlink2_ssatgt, tgt)",
            region_info::SSATGT_TGT as u64,
        ),
        (
            "offsetof(struct vfio_region_info_cap_nvlink2_lnkspd, link_speed)",
            region_info::LNKSPD_LINK_SPEED as u64,
        ),
        (
            "sizeof(struct vfio_region_info_cap_nvlink2_ssatgt)",
            region_info::NVLINK2_SIZE as u64,
        ),
        (
            "sizeof(struct vfio_region_info_cap_nvlink2_lnkspd)",
            region_info::NVLINK2_SIZE as u64,
        ),
        (
            "VFIO_REGION_INFO_FLAG_READ",
            vfio_iommu_info::region_info::FLAG_READ as u64,
        ),
        (
            "VFIO_REGION_INFO_FLAG_WRITE",
            vfio_iommu_info::region_info::FLAG_WRITE as u64,
        ),
        (
            "VFIO_REGION_INFO_FLAG_MMAP",
            vfio_iommu_info::region_info::FLAG_MMAP as u64,
        ),
        (
            "VFIO_REGION_INFO_FLAG_CAPS",
            vfio_iommu_info::region_info::FLAG_CAPS as u64,
        ),
        // `(1 << 31)` is a negative int in C; the kernel stores it in a __u32.
        (
            "(__u32)VFIO_REGION_TYPE_PCI_VENDOR_TYPE",
            vfio_iommu_info::region_info::region_type::PCI_VENDOR_TYPE as u64,
        ),
        (
            "VFIO_REGION_TYPE_PCI_VENDOR_MASK",
            vfio_iommu_info::region_info::region_type::PCI_VENDOR_MASK as u64,
        ),
        (
            "VFIO_REGION_TYPE_GFX",
            vfio_iommu_info::region_info::region_type::GFX as u64,
        ),
        (
            "VFIO_REGION_TYPE_CCW",
            vfio_iommu_info::region_info::region_type::CCW as u64,
        ),
        (
            "VFIO_REGION_TYPE_MIGRATION_DEPRECATED",
            vfio_iommu_info::region_info::region_type::MIGRATION_DEPRECATED as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION",
            vfio_iommu_info::region_info::region_type::INTEL_IGD_OPREGION as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG",
            vfio_iommu_info::region_info::region_type::INTEL_IGD_HOST_CFG as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG",
            vfio_iommu_info::region_info::region_type::INTEL_IGD_LPC_CFG as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM",
            vfio_iommu_info::region_info::region_type::NVIDIA_NVLINK2_RAM as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD",
            vfio_iommu_info::region_info::region_type::IBM_NVLINK2_ATSD as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_GFX_EDID",
            vfio_iommu_info::region_info::region_type::GFX_EDID as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD",
            vfio_iommu_info::region_info::region_type::CCW_ASYNC_CMD as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_CCW_SCHIB",
            vfio_iommu_info::region_info::region_type::CCW_SCHIB as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_CCW_CRW",
            vfio_iommu_info::region_info::region_type::CCW_CRW as u64,
        ),
        (
            "VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED",
            vfio_iommu_info::region_info::region_type::MIGRATION_DEPRECATED_SUBTYPE as u64,
        ),
        (
            "VFIO_PCI_ROM_REGION_INDEX",
            vfio_iommu_info::region_info::PCI_ROM_REGION as u64,
        ),
        (
            "VFIO_PCI_CONFIG_REGION_INDEX",
            vfio_iommu_info::device::PCI_CONFIG_REGION as u64,
        ),
        (
            "VFIO_PCI_VGA_REGION_INDEX",
            vfio_iommu_info::region_info::PCI_VGA_REGION as u64,
        ),
        (
            "VFIO_PCI_NUM_REGIONS",
            vfio_iommu_info::region_info::PCI_NUM_REGIONS as u64,
        ),
        (
            "sizeof(struct vfio_group_status)",
            size_of::<VfioGroupStatus>() as u64,
        ),
        (
            "sizeof(struct vfio_iommu_type1_dma_map)",
            size_of::<VfioDmaMap>() as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_dma_map, vaddr)",
            offset_of!(VfioDmaMap, vaddr) as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_dma_map, iova)",
            offset_of!(VfioDmaMap, iova) as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_dma_map, size)",
            offset_of!(VfioDmaMap, size) as u64,
        ),
        (
            "sizeof(struct vfio_iommu_type1_dma_unmap)",
            size_of::<VfioDmaUnmap>() as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_dma_unmap, iova)",
            offset_of!(VfioDmaUnmap, iova) as u64,
        ),
        (
            "offsetof(struct vfio_iommu_type1_dma_unmap, size)",
            offset_of!(VfioDmaUnmap, size) as u64,
        ),
    ]
}

/// `_IOC_NONE << _IOC_DIRSHIFT`: "no direction" is bit 29 on powerpc, mips and sparc
/// (`asm/ioctl.h`), nothing elsewhere.
const IO_NONE: u32 = if cfg!(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
)) {
    0x2000_0000
} else {
    0
};

#[test]
fn ioctl_numbers_match_the_documented_values() {
    // From Documentation and kernel-protocol.md: _IO(';', 100 + n), x86_64's numbers.
    assert_eq!(VFIO_GET_API_VERSION, 0x3B64 | IO_NONE);
    assert_eq!(VFIO_CHECK_EXTENSION, 0x3B65 | IO_NONE);
    assert_eq!(VFIO_SET_IOMMU, 0x3B66 | IO_NONE);
    assert_eq!(VFIO_GROUP_GET_STATUS, 0x3B67 | IO_NONE);
    assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3B68 | IO_NONE);
    assert_eq!(VFIO_GROUP_UNSET_CONTAINER, 0x3B69 | IO_NONE);
    assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3B6A | IO_NONE);
    assert_eq!(VFIO_DEVICE_GET_INFO, 0x3B6B | IO_NONE);
    assert_eq!(VFIO_DEVICE_GET_REGION_INFO, 0x3B6C | IO_NONE);
    assert_eq!(VFIO_IOMMU_GET_INFO, 0x3B70 | IO_NONE);
    assert_eq!(VFIO_IOMMU_MAP_DMA, 0x3B71 | IO_NONE);
    assert_eq!(VFIO_IOMMU_UNMAP_DMA, 0x3B72 | IO_NONE);
}

#[test]
fn spapr_ioctls_are_the_vfio_numbers_100_plus_n() {
    // One number, two meanings: what the container's IOMMU model is decides.
    assert_eq!(VFIO_IOMMU_SPAPR_TCE_GET_INFO, VFIO_IOMMU_GET_INFO);
    assert_eq!(
        [
            VFIO_IOMMU_ENABLE,
            VFIO_IOMMU_DISABLE,
            VFIO_IOMMU_SPAPR_REGISTER_MEMORY,
            VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY,
            VFIO_IOMMU_SPAPR_TCE_CREATE,
            VFIO_IOMMU_SPAPR_TCE_REMOVE
        ],
        [
            vfio_io(15),
            vfio_io(16),
            vfio_io(17),
            vfio_io(18),
            vfio_io(19),
            vfio_io(20)
        ]
    );
}

#[test]
fn layouts_match_the_documented_values() {
    assert_eq!(
        (
            cap_header::ID,
            cap_header::VERSION,
            cap_header::NEXT,
            cap_header::SIZE
        ),
        (0, 2, 4, 8)
    );
    assert_eq!(
        (
            type1_info::ARGSZ,
            type1_info::FLAGS,
            type1_info::IOVA_PGSIZES,
            type1_info::CAP_OFFSET,
            type1_info::PAD
        ),
        (0, 4, 8, 16, 20)
    );
    assert_eq!(
        (
            type1_info::MIN_SIZE,
            type1_info::PACKED_SIZE,
            type1_info::PADDED_SIZE
        ),
        (16, 20, 24)
    );
    assert_eq!(
        (
            cap_iova_range::NR_IOVAS,
            cap_iova_range::RANGES,
            cap_iova_range::RANGE_SIZE
        ),
        (8, 16, 16)
    );
    assert_eq!(
        (
            cap_migration::FLAGS,
            cap_migration::PGSIZE_BITMAP,
            cap_migration::MAX_DIRTY_BITMAP_SIZE,
            cap_migration::SIZE
        ),
        (8, 16, 24, 32)
    );
    assert_eq!((cap_dma_avail::AVAIL, cap_dma_avail::SIZE), (8, 12));
    assert_eq!(
        (
            spapr_tce_info::ARGSZ,
            spapr_tce_info::FLAGS,
            spapr_tce_info::DMA32_WINDOW_START,
            spapr_tce_info::DMA32_WINDOW_SIZE,
            spapr_tce_info::MIN_SIZE,
            spapr_tce_info::DDW_PGSIZES,
            spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS,
            spapr_tce_info::DDW_LEVELS,
            spapr_tce_info::SIZE
        ),
        (0, 4, 8, 12, 16, 16, 24, 28, 32)
    );
    assert_eq!(
        (
            spapr_tce_create::PAGE_SHIFT,
            spapr_tce_create::WINDOW_SIZE,
            spapr_tce_create::LEVELS,
            spapr_tce_create::START_ADDR,
            spapr_tce_create::SIZE
        ),
        (8, 16, 24, 32, 40)
    );
    assert_eq!(
        (spapr_tce_remove::START_ADDR, spapr_tce_remove::SIZE),
        (8, 16)
    );
    assert_eq!(size_of::<VfioGroupStatus>(), 8);
    assert_eq!(size_of::<VfioDmaMap>(), 32);
    assert_eq!(size_of::<VfioDmaUnmap>(), 24);
}

/// Compiles a C program against the machine's `<linux/vfio.h>` that prints every entry of
/// the table, and compares. Skips (with a message) when there is no compiler or header,
/// unless `VFIO_IOMMU_INFO_REQUIRE_CC=1` (set by `make test`) makes that a failure.
#[test]
fn layouts_match_the_machines_linux_vfio_h() {
    let required = std::env::var("VFIO_IOMMU_INFO_REQUIRE_CC").as_deref() == Ok("1");
    if !std::path::Path::new("/usr/include/linux/vfio.h").exists() {
        assert!(
            !required,
            "/usr/include/linux/vfio.h is missing: apt-get install linux-libc-dev"
        );
        eprintln!("skipped: /usr/include/linux/vfio.h is missing (apt-get install linux-libc-dev)");
        return;
    }
    let table = table();
    let mut src = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/vfio.h>\nint main(void) {\n",
    );
    for (expr, _) in &table {
        src.push_str(&format!(
            "  printf(\"%llu\\n\", (unsigned long long)({expr}));\n"
        ));
    }
    src.push_str("  return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("vfio-uapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("uapi.c");
    let exe = dir.join("uapi");
    std::fs::write(&c, src).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = match Command::new(&cc).arg("-o").arg(&exe).arg(&c).status() {
        Ok(s) => s,
        Err(e) => {
            assert!(!required, "cannot run the C compiler {cc}: {e}");
            eprintln!("skipped: cannot run the C compiler {cc}: {e}");
            return;
        }
    };
    assert!(status.success(), "{cc} failed on {}", c.display());
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let values: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(values.len(), table.len());
    for ((expr, ours), theirs) in table.iter().zip(values) {
        assert_eq!(
            *ours, theirs,
            "{expr}: ours {ours:#x}, <linux/vfio.h> {theirs:#x}"
        );
    }
}
