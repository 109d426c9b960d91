//! Why a span is refused, through the C ABI (0.6): the text is the core's
//! `IovaSpace::explain` word for word, NULL exactly when the span maps, and
//! `vfio_iommu_info_space_with_groups` keeps the ranges, page sizes and backend.

mod common;

use std::ffi::{c_char, CStr};
use std::ptr;

use ::vfio_iommu_info::IovaSpace;
use common::*;
use vfio_iommu_info_ffi::*;

/// The text for a span, or `None`, freeing the string.
fn explain(space: *const vfio_iommu_info_space, iova: u64, len: u64) -> Option<String> {
    let mut text: *mut c_char = ptr::null_mut();
    // SAFETY: `space` is live; `text` is a local.
    let rc = unsafe { vfio_iommu_info_space_explain(space, iova, len, &mut text) };
    assert_eq!(rc, 0, "{}", last_error());
    if text.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string of the library, freed once below.
    let s = unsafe { CStr::from_ptr(text) }.to_str().unwrap().to_owned();
    // SAFETY: as above.
    unsafe { vfio_iommu_info_string_free(text) };
    Some(s)
}

#[test]
fn the_text_is_the_cores_and_null_exactly_when_the_span_maps() {
    let regions = reserved_regions("linux-6.12-amd");
    let space = space_of("linux-6.12-amd");
    let mut v: vfio_iommu_info_space_view = sized();
    // SAFETY: `space` is live; `v` is a local.
    assert_eq!(unsafe { vfio_iommu_info_space_view(space, &mut v) }, 0);
    // SAFETY: the view lends `range_count` ranges.
    let ranges: Vec<_> = unsafe { std::slice::from_raw_parts(v.ranges, v.range_count) }
        .iter()
        .map(|r| ::vfio_iommu_info::IovaRange::new(r.start, r.end).unwrap())
        .collect();
    let model = IovaSpace::new(&ranges, Some(::vfio_iommu_info::PageSizes(v.page_sizes)))
        .with_reserved_regions(&regions);
    let handle = space_handle_for_tests(model.clone());
    let spans = [
        (0, 1 << 30),
        (0xfee0_0000, 0x20_0000),
        (0xfd_0000_0000, 0x1000),
        (0x1000, 0x800),
        (u64::MAX - 0xfff, 0x1000),
        (u64::MAX - 0xfff, 0x2000),
        (0, 0),
        (0, u64::MAX),
    ];
    for (iova, len) in spans {
        let want = model.explain(iova, len).map(|r| r.to_string());
        assert_eq!(explain(handle, iova, len), want, "{iova:#x} + {len:#x}");
        assert_eq!(want.is_none(), model.check(iova, len).is_ok());
    }
    let msi = explain(handle, 0xfee0_0000, 0x1000).unwrap();
    assert!(
        msi.contains("reserved by the msi region [0xfee00000, 0xfeefffff]"),
        "{msi}"
    );
    // SAFETY: both live, each freed once.
    unsafe {
        vfio_iommu_info_space_free(handle);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn with_groups_keeps_the_space_and_refuses_what_it_cannot_read() {
    let space = space_of("linux-6.12-intel-aw39");
    let mut with = ptr::null_mut();
    // SAFETY: `space` is live; `with` is a local; no groups.
    assert_eq!(
        unsafe { vfio_iommu_info_space_with_groups(space, ptr::null(), 0, &mut with) },
        0
    );
    let (mut a, mut b): (vfio_iommu_info_space_view, vfio_iommu_info_space_view) =
        (sized(), sized());
    // SAFETY: both live; views are locals.
    unsafe {
        assert_eq!(vfio_iommu_info_space_view(space, &mut a), 0);
        assert_eq!(vfio_iommu_info_space_view(with, &mut b), 0);
    }
    assert_eq!(
        (
            a.range_count,
            a.hole_count,
            a.page_sizes,
            a.aperture,
            a.backend
        ),
        (
            b.range_count,
            b.hole_count,
            b.page_sizes,
            b.aperture,
            b.backend
        )
    );
    // A group that no host has: the errno of the file, its path in the last error, and
    // `out` untouched.
    let groups = [4_000_000_000u32];
    let mut untouched = ptr::dangling_mut::<vfio_iommu_info_space>();
    // SAFETY: one readable group; `untouched` is a local.
    let rc =
        unsafe { vfio_iommu_info_space_with_groups(space, groups.as_ptr(), 1, &mut untouched) };
    assert_eq!(rc, -libc::ENOENT, "{}", last_error());
    assert!(last_error().contains("iommu_groups/4000000000/reserved_regions"));
    assert_eq!(untouched, ptr::dangling_mut());
    // SAFETY: NULL arguments are refused before anything is read.
    unsafe {
        assert_eq!(
            vfio_iommu_info_space_with_groups(space, ptr::null(), 2, &mut with),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_space_explain(ptr::null(), 0, 1, &mut ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        vfio_iommu_info_space_free(with);
        vfio_iommu_info_space_free(space);
    }
}
