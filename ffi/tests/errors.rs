//! Result codes and their text through the C ABI: library codes apart from errno, and
//! the allocator's refusals each with its code and the core's message (result.rs keeps
//! the unit tests of the panic boundary and the last error's storage).

mod common;

use std::ffi::{c_int, CStr};
use std::ptr;

use ::vfio_iommu_info::AllocError;
use common::*;
use vfio_iommu_info_ffi::*;

fn text(code: c_int) -> String {
    // SAFETY: strerror returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(vfio_iommu_info_strerror(code)) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn library_codes_never_collide_with_errno() {
    let codes = [
        VFIO_IOMMU_INFO_E_MALFORMED,
        VFIO_IOMMU_INFO_E_NULL,
        VFIO_IOMMU_INFO_E_INVALID,
        VFIO_IOMMU_INFO_E_ABSENT,
        VFIO_IOMMU_INFO_E_RANGE,
        VFIO_IOMMU_INFO_E_NOT_VIABLE,
        VFIO_IOMMU_INFO_E_NO_TYPE1,
        VFIO_IOMMU_INFO_E_NOT_CONTAINER,
        VFIO_IOMMU_INFO_E_SIZE,
        VFIO_IOMMU_INFO_E_NO_DEVICE,
        VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP,
        VFIO_IOMMU_INFO_E_API_VERSION,
        VFIO_IOMMU_INFO_E_SYSFS_FORMAT,
        VFIO_IOMMU_INFO_E_INTERNAL,
        VFIO_IOMMU_INFO_E_NO_ROOM,
        VFIO_IOMMU_INFO_E_NOT_ALLOCATED,
        VFIO_IOMMU_INFO_E_OVERLAP,
        VFIO_IOMMU_INFO_E_UNUSABLE,
        VFIO_IOMMU_INFO_E_TOP_PAGE,
        VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV,
    ];
    for (i, &code) in codes.iter().enumerate() {
        assert!(code < -4095, "{code} is inside the errno range");
        assert!(!codes[..i].contains(&code), "{code} twice");
        assert!(!text(code).contains("not a vfio-iommu-info"), "{code}");
    }
    assert_eq!(text(-libc::EPERM), "EPERM: operation not permitted");
    assert_eq!(text(1), "not a vfio-iommu-info result code");
    assert_eq!(text(c_int::MIN), "not a vfio-iommu-info result code");
}

#[test]
fn allocator_refusals_have_their_own_codes() {
    let space = space_of(AMD);
    let mut a = ptr::null_mut();
    // SAFETY: `space` is live, then freed once; `a` is a local.
    unsafe {
        assert_eq!(vfio_iommu_info_allocator_new(space, &mut a), 0);
        vfio_iommu_info_space_free(space);
    }
    let alloc = |size, align, limit| {
        let mut iova = 0;
        // SAFETY: `a` is live; `iova` is a local.
        unsafe { vfio_iommu_info_allocator_alloc(a, size, align, limit, &mut iova) }
    };
    // SAFETY: `a` is live; `len` is a local.
    let release = |iova| unsafe { vfio_iommu_info_allocator_release(a, iova, &mut 0) };
    // SAFETY: `a` is live.
    let reserve = |iova, len| unsafe { vfio_iommu_info_allocator_reserve(a, iova, len) };
    // Checked right after each call: the next call resets the last error.
    let check = |rc: c_int, function: &str, err: AllocError, code: c_int| {
        assert_eq!(rc, code, "{err:?}: {}", last_error());
        assert_eq!(last_error(), format!("{function}: {err} ({})", err.code()));
    };
    let alloc_f = "vfio_iommu_info_allocator_alloc";
    check(
        alloc(0, 0x1000, u64::MAX),
        alloc_f,
        AllocError::ZeroSize,
        VFIO_IOMMU_INFO_E_INVALID,
    );
    check(
        alloc(0x1000, 3, u64::MAX),
        alloc_f,
        AllocError::BadAlign(3),
        VFIO_IOMMU_INFO_E_INVALID,
    );
    check(
        alloc(1 << 40, 0x1000, 0xfff_ffff),
        alloc_f,
        AllocError::NoRoom {
            size: 1 << 40,
            align: 0x1000,
            limit: 0xfff_ffff,
        },
        VFIO_IOMMU_INFO_E_NO_ROOM,
    );
    check(
        release(0x1000),
        "vfio_iommu_info_allocator_release",
        AllocError::NotAllocated(0x1000),
        VFIO_IOMMU_INFO_E_NOT_ALLOCATED,
    );
    check(
        reserve(u64::MAX - 0xfff, 0x1000),
        "vfio_iommu_info_allocator_reserve",
        AllocError::TopPage {
            iova: u64::MAX - 0xfff,
            len: 0x1000,
        },
        VFIO_IOMMU_INFO_E_TOP_PAGE,
    );
    check(
        reserve(0x800, 0x1000),
        "vfio_iommu_info_allocator_reserve",
        AllocError::Misaligned {
            iova: 0x800,
            len: 0x1000,
            granule: 0x1000,
        },
        VFIO_IOMMU_INFO_E_UNUSABLE,
    );
    // SAFETY: freed once.
    unsafe { vfio_iommu_info_allocator_free(a) };
    assert!(text(VFIO_IOMMU_INFO_E_TOP_PAGE).contains("last page"));
}
