//! The 0.4 calls on a space: the whole space in one call (`vfio_iommu_info_space_view`),
//! a hole's causes in one call, and the entry points on the caller's own fds refusing
//! what is not the node they need. Each list must equal what the 0.2 getters give.

mod common;

use std::os::fd::AsRawFd;
use std::ptr;

use ::vfio_iommu_info::IovaSpace;
use common::*;
use vfio_iommu_info_ffi::*;

/// A slice over a list the library lends (`ptr` NULL exactly when `count` is 0).
///
/// # Safety
/// `ptr` must be what the library lent, with `count` elements, alive for `'a`.
unsafe fn lent<'a, T>(ptr: *const T, count: usize) -> &'a [T] {
    assert_eq!(ptr.is_null(), count == 0, "NULL exactly for an empty list");
    if count == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(ptr, count) }
    }
}

fn view(space: *const vfio_iommu_info_space) -> vfio_iommu_info_space_view {
    let mut v: vfio_iommu_info_space_view = sized();
    // SAFETY: `space` is live; `v` is a local.
    let rc = unsafe { vfio_iommu_info_space_view(space, &mut v) };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(
        v.size as usize,
        std::mem::size_of::<vfio_iommu_info_space_view>()
    );
    v
}

#[test]
fn the_view_lends_what_the_getters_give_one_by_one() {
    for scenario in ["linux-6.12-amd", "linux-6.12-intel-aw39", "linux-6.1-amd"] {
        let space = space_of(scenario);
        let v = view(space);
        // SAFETY: the lists live until the space is freed, below; out-params are locals.
        unsafe {
            let ranges = lent(v.ranges, v.range_count);
            let holes = lent(v.holes, v.hole_count);
            let reserved = lent(v.reserved, v.reserved_count);
            let mut n = 0usize;
            assert_eq!(vfio_iommu_info_space_range_count(space, &mut n), 0);
            assert_eq!(n, ranges.len());
            for (i, r) in ranges.iter().enumerate() {
                let mut x = vfio_iommu_info_range { start: 1, end: 1 };
                assert_eq!(vfio_iommu_info_space_range(space, i, &mut x), 0);
                assert_eq!(x, *r, "{scenario} range {i}");
            }
            assert_eq!(vfio_iommu_info_space_hole_count(space, &mut n), 0);
            assert_eq!(n, holes.len());
            for (i, h) in holes.iter().enumerate() {
                let mut x: vfio_iommu_info_hole = sized();
                assert_eq!(vfio_iommu_info_space_hole(space, i, &mut x), 0);
                assert_eq!(x, *h, "{scenario} hole {i}");
            }
            assert_eq!(vfio_iommu_info_space_reserved_count(space, &mut n), 0);
            for (i, r) in reserved.iter().enumerate() {
                let mut x = vfio_iommu_info_range { start: 1, end: 1 };
                assert_eq!(vfio_iommu_info_space_reserved(space, i, &mut x), 0);
                assert_eq!(x, *r);
            }
            let mut a = vfio_iommu_info_range { start: 1, end: 1 };
            assert_eq!(vfio_iommu_info_space_aperture(space, &mut a), 0);
            assert_eq!(a, v.aperture);
            let (mut pg, mut granule) = (0u64, 0u64);
            assert_eq!(vfio_iommu_info_space_page_sizes(space, &mut pg), 0);
            assert_eq!(vfio_iommu_info_space_granule(space, &mut granule), 0);
            assert_eq!((pg, granule), (v.page_sizes, v.granule));
            // A space of an info object: its facts read it as type1, who served it unknown.
            assert_eq!(v.backend, 0);
            let facts = &*v.facts;
            assert_eq!(
                facts.size as usize,
                std::mem::size_of::<vfio_iommu_info_facts>()
            );
            assert_eq!(facts.mapping_limit_kind, VFIO_IOMMU_INFO_LIMIT_REMAINING);
            assert_eq!(facts.iova_range_count, ranges.len());
            // The same pointers on a second call: the lists are built once.
            let again = view(space);
            assert_eq!((again.ranges, again.holes), (v.ranges, v.holes));
            vfio_iommu_info_space_free(space);
        }
    }
}

#[test]
fn hole_causes_come_in_one_call() {
    let scenario = "linux-6.12-amd";
    let model = IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(scenario)).unwrap())
        .unwrap()
        .with_reserved_regions(&reserved_regions(scenario));
    let space = space_handle_for_tests(model);
    let v = view(space);
    // SAFETY: `space` is live until freed; out-params are locals.
    unsafe {
        let holes = lent(v.holes, v.hole_count);
        for (i, h) in holes.iter().enumerate() {
            let (mut items, mut count) = (ptr::null(), usize::MAX);
            assert_eq!(
                vfio_iommu_info_space_hole_causes(space, i, &mut items, &mut count),
                0
            );
            let causes = lent(items, count);
            assert_eq!(causes.len(), h.cause_count);
            for (j, c) in causes.iter().enumerate() {
                let mut x: vfio_iommu_info_reserved_region = sized();
                assert_eq!(vfio_iommu_info_space_hole_cause(space, i, j, &mut x), 0);
                assert_eq!(x, *c);
            }
        }
        // AMD's HyperTransport hole (the second) is caused by a "reserved" region.
        let (mut items, mut count) = (ptr::null(), 0);
        assert_eq!(
            vfio_iommu_info_space_hole_causes(space, 1, &mut items, &mut count),
            0
        );
        assert_eq!(c_str(lent(items, count)[0].kind_name), "reserved");
        // Past the last hole: a range error, nothing written.
        let (mut items, mut count) = (ptr::null(), 7usize);
        assert_eq!(
            vfio_iommu_info_space_hole_causes(space, holes.len(), &mut items, &mut count),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!((items, count), (ptr::null(), 7));
        assert!(last_error().starts_with("vfio_iommu_info_space_hole_causes: "));
        // NULLs are codes, and neither output is written when one is NULL.
        assert_eq!(
            vfio_iommu_info_space_hole_causes(space, 0, ptr::null_mut(), &mut count),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(count, 7);
        assert_eq!(
            vfio_iommu_info_space_hole_causes(space, 0, &mut items, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(items.is_null());
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn a_space_of_the_callers_ranges_has_no_facts() {
    let ranges = [vfio_iommu_info_range {
        start: 0,
        end: 0xffff,
    }];
    let mut space = ptr::null_mut();
    // SAFETY: valid arrays and out-pointers; the space is freed once.
    unsafe {
        assert_eq!(
            vfio_iommu_info_space_new(ranges.as_ptr(), 1, 0, &mut space),
            0
        );
        let v = view(space);
        assert!(v.facts.is_null());
        assert_eq!((v.backend, v.range_count, v.hole_count), (0, 1, 0));
        assert!(v.holes.is_null());
        assert_eq!(v.granule, 4096);
        // A size too small: refused, nothing written.
        let mut small: vfio_iommu_info_space_view = sized();
        small.size = 8;
        assert_eq!(
            vfio_iommu_info_space_view(space, &mut small),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(small.range_count, 0);
        assert_eq!(
            vfio_iommu_info_space_view(space, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_space_view(ptr::null(), &mut small),
            VFIO_IOMMU_INFO_E_NULL
        );
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn the_callers_fds_are_checked_before_any_ioctl() {
    let null = std::fs::File::open("/dev/null").unwrap();
    let fd = null.as_raw_fd();
    let mut space = ptr::null_mut();
    let mut hw: vfio_iommu_info_hw_info = sized();
    // SAFETY: out-pointers are locals; the fds are open (or deliberately not).
    unsafe {
        assert_eq!(
            vfio_iommu_info_container_space(fd, &mut space),
            -libc::ENOTTY
        );
        assert!(
            last_error().contains("not a VFIO container"),
            "{}",
            last_error()
        );
        assert_eq!(vfio_iommu_info_ioas_space(fd, 1, &mut space), -libc::ENOTTY);
        assert!(
            last_error().contains("not iommufd's node"),
            "{}",
            last_error()
        );
        assert_eq!(vfio_iommu_info_hw_info_query(fd, 1, &mut hw), -libc::ENOTTY);
        for bad in [-1, i32::MIN, 1 << 30] {
            assert_eq!(
                vfio_iommu_info_container_space(bad, &mut space),
                -libc::EBADF
            );
            assert!(
                last_error().contains(&format!("container_fd {bad} is not an open")),
                "{}",
                last_error()
            );
            assert_eq!(vfio_iommu_info_ioas_space(bad, 1, &mut space), -libc::EBADF);
            assert_eq!(vfio_iommu_info_hw_info_query(bad, 1, &mut hw), -libc::EBADF);
        }
        assert!(space.is_null());
        assert!(hw.data.is_null() && hw.data_type == 0);
        assert_eq!(
            vfio_iommu_info_container_space(fd, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_hw_info_query(fd, 1, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
    }
}
