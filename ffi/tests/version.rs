//! The version through the C ABI, and the sizes of the structs (the ABI, as
//! CHANGELOG.md records them).

use vfio_iommu_info_ffi::*;

#[test]
fn version_macros_match_the_package() {
    let v = |s: &str| s.parse::<u32>().unwrap();
    assert_eq!(
        VFIO_IOMMU_INFO_VERSION_MAJOR,
        v(env!("CARGO_PKG_VERSION_MAJOR"))
    );
    assert_eq!(
        VFIO_IOMMU_INFO_VERSION_MINOR,
        v(env!("CARGO_PKG_VERSION_MINOR"))
    );
    assert_eq!(
        VFIO_IOMMU_INFO_VERSION_PATCH,
        v(env!("CARGO_PKG_VERSION_PATCH"))
    );
    let packed = (v(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
        | (v(env!("CARGO_PKG_VERSION_MINOR")) << 8)
        | v(env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(vfio_iommu_info_version(), packed);
    // SAFETY: a static NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(vfio_iommu_info_version_string()) };
    assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

/// The sizes of the structs on a 64-bit target, as CHANGELOG.md records them: a sized
/// struct only grows by appending fields, in a new release.
#[test]
#[cfg(target_pointer_width = "64")]
fn struct_sizes_are_the_abi() {
    use std::mem::size_of;
    let sizes = [
        size_of::<vfio_iommu_info_header>(),
        size_of::<vfio_iommu_info_migration>(),
        size_of::<vfio_iommu_info_cap>(),
        size_of::<vfio_iommu_info_verdict>(),
        size_of::<vfio_iommu_info_range>(),
        // 0.2
        size_of::<vfio_iommu_info_hole>(),
        size_of::<vfio_iommu_info_reserved_region>(),
        size_of::<vfio_iommu_info_ram_region>(),
        size_of::<vfio_iommu_info_placement>(),
        size_of::<vfio_iommu_info_mappings>(),
        size_of::<vfio_iommu_info_mapping_count>(),
        // 0.3
        size_of::<vfio_iommu_info_device_header>(),
        size_of::<vfio_iommu_info_zpci_base>(),
        size_of::<vfio_iommu_info_zpci_group>(),
        size_of::<vfio_iommu_info_region_header>(),
        size_of::<vfio_iommu_info_mmap_area>(),
        size_of::<vfio_iommu_info_region_type>(),
    ];
    assert_eq!(
        sizes,
        [20, 32, 32, 32, 16, 32, 32, 24, 80, 40, 16, 28, 56, 56, 40, 24, 40]
    );
}
