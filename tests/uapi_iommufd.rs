//! The iommufd and VFIO-cdev part of the uapi layer, asserted against the values of
//! Linux's `include/uapi/linux/iommufd.h` and `vfio.h` (6.12). The machine's own headers
//! (Debian bookworm's linux-libc-dev, 6.1) have no iommufd.h to compile against; the
//! lab's iommufd scenarios run every one of these ioctls against a real 6.12 kernel.

use std::mem::{offset_of, size_of};

use vfio_iommu_info::uapi::*;

#[test]
fn iommufd_ioctl_numbers_are_the_documented_ones() {
    // The documented numbers are x86_64's; powerpc, mips and sparc add _IOC_NONE's bit 29.
    let io_none = match std::env::consts::ARCH {
        "powerpc" | "powerpc64" | "mips" | "mips64" | "mips32r6" | "mips64r6" | "sparc"
        | "sparc64" => 0x2000_0000,
        _ => 0,
    };
    for (name, ours, documented) in [
        ("IOMMU_DESTROY", IOMMU_DESTROY, 0x3b80),
        ("IOMMU_IOAS_ALLOC", IOMMU_IOAS_ALLOC, 0x3b81),
        ("IOMMU_IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, 0x3b84),
        ("IOMMU_IOAS_MAP", IOMMU_IOAS_MAP, 0x3b85),
        ("IOMMU_IOAS_UNMAP", IOMMU_IOAS_UNMAP, 0x3b86),
        ("IOMMU_VFIO_IOAS", IOMMU_VFIO_IOAS, 0x3b88),
        ("IOMMU_GET_HW_INFO", IOMMU_GET_HW_INFO, 0x3b8a),
        (
            "IOMMU_HWPT_GET_DIRTY_BITMAP",
            IOMMU_HWPT_GET_DIRTY_BITMAP,
            0x3b8c,
        ),
        ("VFIO_DEVICE_BIND_IOMMUFD", VFIO_DEVICE_BIND_IOMMUFD, 0x3b76),
        (
            "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
            VFIO_DEVICE_ATTACH_IOMMUFD_PT,
            0x3b77,
        ),
        (
            "VFIO_DEVICE_DETACH_IOMMUFD_PT",
            VFIO_DEVICE_DETACH_IOMMUFD_PT,
            0x3b78,
        ),
    ] {
        assert_eq!(ours, documented | io_none, "{name}");
    }
    assert_eq!(
        (
            IOMMU_IOAS_MAP_FIXED_IOVA,
            IOMMU_IOAS_MAP_WRITEABLE,
            IOMMU_IOAS_MAP_READABLE
        ),
        (1, 2, 4)
    );
    assert_eq!(
        [
            IOMMU_HW_INFO_TYPE_NONE,
            IOMMU_HW_INFO_TYPE_INTEL_VTD,
            IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
            IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV,
            IOMMU_HW_INFO_TYPE_AMD
        ],
        [0, 1, 2, 3, 4]
    );
    // Linux 7.3's iommufd.h (6.17+): enum iommufd_hw_info_flags.
    assert_eq!(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1);
    assert_eq!(IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 8);
    assert_eq!(
        [
            IOMMU_HW_CAP_DIRTY_TRACKING,
            IOMMU_HW_CAP_PCI_PASID_EXEC,
            IOMMU_HW_CAP_PCI_PASID_PRIV
        ],
        [1, 2, 4]
    );
}

#[test]
fn iommufd_structures_have_the_kernels_layout() {
    assert_eq!(size_of::<IommuDestroy>(), 8);
    assert_eq!(size_of::<IommuIoasAlloc>(), 12);
    assert_eq!(offset_of!(IommuIoasAlloc, out_ioas_id), 8);
    assert_eq!(size_of::<IommuIovaRange>(), 16);
    assert_eq!(size_of::<IommuIoasIovaRanges>(), 32);
    assert_eq!(offset_of!(IommuIoasIovaRanges, num_iovas), 8);
    assert_eq!(offset_of!(IommuIoasIovaRanges, allowed_iovas), 16);
    assert_eq!(offset_of!(IommuIoasIovaRanges, out_iova_alignment), 24);
    assert_eq!(size_of::<IommuIoasMap>(), 40);
    assert_eq!(offset_of!(IommuIoasMap, user_va), 16);
    assert_eq!(offset_of!(IommuIoasMap, iova), 32);
    assert_eq!(size_of::<IommuIoasUnmap>(), 24);
    assert_eq!(offset_of!(IommuIoasUnmap, length), 16);
    assert_eq!(size_of::<IommuVfioIoas>(), 12);
    assert_eq!(offset_of!(IommuVfioIoas, op), 8);
    assert_eq!(size_of::<IommuOption>(), 24);
    assert_eq!(offset_of!(IommuOption, op), 8);
    assert_eq!(offset_of!(IommuOption, object_id), 12);
    assert_eq!(offset_of!(IommuOption, val64), 16);
    assert_eq!(size_of::<IommuHwInfo>(), 40);
    assert_eq!(offset_of!(IommuHwInfo, data_uptr), 16);
    assert_eq!(offset_of!(IommuHwInfo, out_data_type), 24);
    assert_eq!(offset_of!(IommuHwInfo, out_max_pasid_log2), 28);
    assert_eq!(offset_of!(IommuHwInfo, out_capabilities), 32);
    assert_eq!(size_of::<VfioDeviceBindIommufd>(), 16);
    assert_eq!(offset_of!(VfioDeviceBindIommufd, out_devid), 12);
    assert_eq!(size_of::<VfioDeviceAttachIommufdPt>(), 12);
    assert_eq!(offset_of!(VfioDeviceAttachIommufdPt, pt_id), 8);
}
