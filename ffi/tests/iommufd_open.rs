//! iommufd through the C ABI: struct sizes, the names of sources and backends, and an
//! open that fails cleanly (iommufd.rs keeps the unit tests of the conversions and of the
//! open's failures on a fake host).

use std::ffi::{c_char, CStr};
use std::ptr;

use ::vfio_iommu_info::facts::{Backend, Source};
use vfio_iommu_info_ffi::*;

fn last() -> String {
    // SAFETY: never NULL; valid until the next call on this thread.
    unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn text(p: *const c_char) -> String {
    // SAFETY: the _str functions return static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[test]
#[cfg(target_pointer_width = "64")]
fn struct_sizes_are_the_abi() {
    use std::mem::size_of;
    assert_eq!(
        [
            size_of::<vfio_iommu_info_facts>(),
            size_of::<vfio_iommu_info_iommufd_ids>(),
            size_of::<vfio_iommu_info_hw_info>(),
        ],
        [96, 40, 152]
    );
}

#[test]
fn every_source_and_backend_has_the_cores_name() {
    let sources = [
        (
            VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES,
            Source::Type1PageSizes,
        ),
        (
            VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP,
            Source::Type1IovaRangeCap,
        ),
        (
            VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP,
            Source::Type1DmaAvailCap,
        ),
        (
            VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP,
            Source::Type1MigrationCap,
        ),
        (VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS, Source::IommufdIoas),
        (
            VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_INFO,
            Source::IommufdHwInfo,
        ),
        (
            VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_CAPABILITIES,
            Source::IommufdHwCapabilities,
        ),
        (VFIO_IOMMU_INFO_SOURCE_SYSFS, Source::Sysfs),
    ];
    for (code, s) in sources {
        assert_eq!(text(vfio_iommu_info_source_str(code)), s.name());
    }
    for (code, b) in [
        (VFIO_IOMMU_INFO_BACKEND_TYPE1, Backend::Type1),
        (
            VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT,
            Backend::IommufdCompat,
        ),
        (VFIO_IOMMU_INFO_BACKEND_IOMMUFD, Backend::Iommufd),
    ] {
        assert_eq!(text(vfio_iommu_info_backend_str(code)), b.name());
    }
    assert_eq!(text(vfio_iommu_info_source_str(0)), "none");
    assert_eq!(text(vfio_iommu_info_source_str(99)), "unknown");
    assert_eq!(text(vfio_iommu_info_backend_str(0)), "unknown");
}

#[test]
fn open_fails_cleanly_and_writes_nothing() {
    let sentinel = 0x5a5a as *mut vfio_iommu_info_iommufd;
    let mut out = sentinel;
    // SAFETY: a NUL-terminated string and a writable out-pointer.
    let rc = unsafe { vfio_iommu_info_iommufd_open(c"4".as_ptr(), &mut out) };
    assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
    assert!(
        last().contains("iommufd binds devices, not IOMMU groups"),
        "{}",
        last()
    );
    assert_eq!(out, sentinel);
    // SAFETY: as above.
    let rc = unsafe { vfio_iommu_info_iommufd_open(ptr::null(), &mut out) };
    assert_eq!(rc, VFIO_IOMMU_INFO_E_NULL);
    // SAFETY: as above.
    let rc = unsafe { vfio_iommu_info_iommufd_open(c"00:03.0".as_ptr(), ptr::null_mut()) };
    assert_eq!(rc, VFIO_IOMMU_INFO_E_NULL);
    assert_eq!(out, sentinel);
}
