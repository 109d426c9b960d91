//! The IOVA allocator through the C ABI: allocations under a limit, releases,
//! reservations and their refusals, out-parameters untouched on failure.

mod common;

use std::ffi::c_int;
use std::ptr;

use common::*;
use vfio_iommu_info_ffi::*;

const EDU: u64 = (1 << 28) - 1;

/// An allocator over a fixture's space; the space is freed at once (the allocator
/// keeps its own copy).
fn allocator(scenario: &str) -> *mut vfio_iommu_info_allocator {
    let space = space_of(scenario);
    let mut a = ptr::null_mut();
    // SAFETY: `space` is live, then freed once; `a` is a local.
    unsafe {
        assert_eq!(vfio_iommu_info_allocator_new(space, &mut a), 0);
        vfio_iommu_info_space_free(space);
    }
    a
}

fn alloc(
    a: *mut vfio_iommu_info_allocator,
    size: u64,
    align: u64,
    limit: u64,
) -> Result<u64, c_int> {
    let mut iova = 0xdead;
    // SAFETY: `a` is live; `iova` is a local.
    match unsafe { vfio_iommu_info_allocator_alloc(a, size, align, limit, &mut iova) } {
        0 => Ok(iova),
        code => {
            assert_eq!(iova, 0xdead, "iova_out written on failure");
            Err(code)
        }
    }
}

fn live(a: *const vfio_iommu_info_allocator) -> usize {
    let mut n = 0;
    // SAFETY: `a` is live; `n` is a local.
    assert_eq!(
        unsafe { vfio_iommu_info_allocator_live_count(a, &mut n) },
        0
    );
    n
}

#[test]
fn allocations_below_a_28_bit_limit() {
    let a = allocator(INTEL39);
    assert_eq!(alloc(a, 100, 0, EDU), Ok(0));
    assert_eq!(alloc(a, 0x20_0000, 0x20_0000, EDU), Ok(0x20_0000));
    assert_eq!(
        alloc(a, 0x1000, 0, EDU),
        Ok(0x1000),
        "lower addresses first"
    );
    // 1 GiB cannot end below 2^28.
    assert_eq!(alloc(a, 1 << 30, 0, EDU), Err(VFIO_IOMMU_INFO_E_NO_ROOM));
    let e = last_error();
    assert!(
        e.starts_with("vfio_iommu_info_allocator_alloc: no free IOVA span of 0x40000000"),
        "{e}"
    );
    assert!(e.ends_with("(no_room)"), "{e}");
    assert_eq!(alloc(a, 1 << 30, 1 << 30, u64::MAX), Ok(1 << 30));
    assert_eq!(alloc(a, 0, 0, u64::MAX), Err(VFIO_IOMMU_INFO_E_INVALID));
    assert_eq!(
        alloc(a, 0x1000, 0x3000, u64::MAX),
        Err(VFIO_IOMMU_INFO_E_INVALID)
    );
    assert!(
        last_error().contains("not a power of two"),
        "{}",
        last_error()
    );
    // A size near 2^64 is no room, not an overflow.
    assert_eq!(
        alloc(a, u64::MAX, 0, u64::MAX),
        Err(VFIO_IOMMU_INFO_E_NO_ROOM)
    );
    assert_eq!(
        alloc(a, 0x1000, 1 << 63, u64::MAX),
        Err(VFIO_IOMMU_INFO_E_NO_ROOM)
    );
    assert_eq!(live(a), 4);
    // SAFETY: `a` is live until freed; out-pointers are locals.
    unsafe {
        let mut granule = 0;
        assert_eq!(vfio_iommu_info_allocator_granule(a, &mut granule), 0);
        assert_eq!(granule, 0x1000);
        let mut len = 0;
        assert_eq!(vfio_iommu_info_allocator_release(a, 0, &mut len), 0);
        assert_eq!(len, 0x1000, "100 bytes took one granule");
        assert_eq!(
            vfio_iommu_info_allocator_release(a, 0x20_0000, ptr::null_mut()),
            0
        );
        let mut len = 77;
        assert_eq!(
            vfio_iommu_info_allocator_release(a, 0, &mut len),
            VFIO_IOMMU_INFO_E_NOT_ALLOCATED
        );
        assert_eq!(len, 77);
        assert!(
            last_error().contains("IOVA 0x0 is not the start"),
            "{}",
            last_error()
        );
        assert_eq!(live(a), 2);
        assert_eq!(alloc(a, 0x1000, 0, EDU), Ok(0), "released space is reused");
        vfio_iommu_info_allocator_free(a);
    }
}

#[test]
fn reservations_that_conflict_get_their_own_codes() {
    let a = allocator(INTEL39);
    // SAFETY: `a` is live until freed.
    unsafe {
        assert_eq!(vfio_iommu_info_allocator_reserve(a, 0, 1 << 30), 0);
        assert_eq!(alloc(a, 0x1000, 0, u64::MAX), Ok(1 << 30));
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 0x3fff_f000, 0x2000),
            VFIO_IOMMU_INFO_E_OVERLAP
        );
        assert!(
            last_error().contains("overlaps the live span at 0x40000000"),
            "{}",
            last_error()
        );
        // The MSI window, beyond the 39-bit aperture, misaligned, empty.
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 0xfee0_0000, 0x1000),
            VFIO_IOMMU_INFO_E_UNUSABLE
        );
        assert!(
            last_error().contains("inside the reserved hole"),
            "{}",
            last_error()
        );
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 1 << 39, 0x1000),
            VFIO_IOMMU_INFO_E_UNUSABLE
        );
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 0x4000_0800, 0x1000),
            VFIO_IOMMU_INFO_E_UNUSABLE
        );
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 0x8000_0000, 0),
            VFIO_IOMMU_INFO_E_INVALID
        );
        // A span that wraps past 2^64 is unusable, not an overflow.
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, u64::MAX - 0xfff, 0x2000),
            VFIO_IOMMU_INFO_E_UNUSABLE
        );
        assert_eq!(live(a), 2, "failed reservations reserve nothing");
        assert_eq!(vfio_iommu_info_allocator_release(a, 0, ptr::null_mut()), 0);
        assert_eq!(vfio_iommu_info_allocator_reserve(a, 0x3fff_f000, 0x1000), 0);
        vfio_iommu_info_allocator_free(a);
    }
    // AMD's ranges reach 2^64-1; the top page is kept out.
    let a = allocator(AMD);
    // SAFETY: `a` is live until freed.
    unsafe {
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, u64::MAX - 0xfff, 0x1000),
            VFIO_IOMMU_INFO_E_TOP_PAGE
        );
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, u64::MAX - 0x1fff, 0x1000),
            0
        );
        assert_eq!(
            vfio_iommu_info_allocator_reserve(a, 0xfd_0000_0000, 0x1000),
            VFIO_IOMMU_INFO_E_UNUSABLE
        );
        vfio_iommu_info_allocator_free(a);
    }
}

#[test]
fn null_pointers_are_codes() {
    let a = allocator(AMD);
    let none: *mut vfio_iommu_info_allocator = ptr::null_mut();
    let space = space_of(AMD);
    // SAFETY: every pointer is NULL, a local, or live.
    unsafe {
        let (mut x, mut n) = (9u64, 9usize);
        let mut out = ptr::null_mut();
        let codes = [
            vfio_iommu_info_allocator_new(ptr::null(), &mut out),
            vfio_iommu_info_allocator_new(space, ptr::null_mut()),
            vfio_iommu_info_allocator_alloc(none, 0x1000, 0, u64::MAX, &mut x),
            vfio_iommu_info_allocator_alloc(a, 0x1000, 0, u64::MAX, ptr::null_mut()),
            vfio_iommu_info_allocator_release(none, 0, &mut x),
            vfio_iommu_info_allocator_reserve(none, 0, 0x1000),
            vfio_iommu_info_allocator_live_count(none, &mut n),
            vfio_iommu_info_allocator_live_count(a, ptr::null_mut()),
            vfio_iommu_info_allocator_granule(none, &mut x),
            vfio_iommu_info_allocator_granule(a, ptr::null_mut()),
        ];
        assert!(
            codes.iter().all(|&c| c == VFIO_IOMMU_INFO_E_NULL),
            "{codes:?}"
        );
        assert_eq!((x, n, out), (9, 9, ptr::null_mut()));
        assert!(last_error().contains("granule is NULL"), "{}", last_error());
        assert_eq!(live(a), 0, "the NULL iova_out allocated nothing");
        vfio_iommu_info_allocator_free(none);
        vfio_iommu_info_allocator_free(a);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn threads_share_one_allocator() {
    struct Shared(*mut vfio_iommu_info_allocator);
    // SAFETY: the allocator is internally locked; the pointer stays live until every
    // thread is joined.
    unsafe impl Sync for Shared {}
    let a = Shared(allocator(AMD));
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let a = &a;
                s.spawn(move || {
                    let mine: Vec<u64> = (0..500)
                        .map(|_| alloc(a.0, 0x1000, 0, EDU).unwrap())
                        .collect();
                    // Release half again, concurrently with the others' allocations.
                    for &iova in mine.iter().step_by(2) {
                        // SAFETY: `a` is live; this thread allocated `iova`.
                        assert_eq!(
                            unsafe {
                                vfio_iommu_info_allocator_release(a.0, iova, ptr::null_mut())
                            },
                            0
                        );
                    }
                    mine.into_iter().skip(1).step_by(2).collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 8 * 250, "an IOVA was handed out twice");
    assert_eq!(live(a.0), 8 * 250);
    // SAFETY: every thread is joined; freed once.
    unsafe { vfio_iommu_info_allocator_free(a.0) };
}
