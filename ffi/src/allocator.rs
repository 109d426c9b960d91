//! An IOVA allocator over a space as an opaque object (since 0.2): allocations below a
//! device's DMA limit, releases, and fixed reservations.

use std::ffi::c_int;
use std::sync::{Mutex, MutexGuard};

use ::vfio_iommu_info::IovaAllocator;

use crate::args::{self, Out};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_INTERNAL};
use crate::space::vfio_iommu_info_space;

/// An IOVA allocator over a copy of a space: an opaque object from
/// `vfio_iommu_info_allocator_new()`, freed by `vfio_iommu_info_allocator_free()`.
///
/// Every span it hands out or reserves is a multiple of the granule (the smallest IOMMU
/// page size), aligned to it, inside one usable range, and never the last page of the
/// 64-bit space (Linux's type1 can map that page but never unmap it).
///
/// Thread safety: the allocator is internally locked. Its functions may be called on the
/// same allocator from several threads at once; each call is atomic. (A call that failed
/// with `VFIO_IOMMU_INFO_E_INTERNAL` in the middle of a change leaves the allocator
/// unusable: every later call returns `VFIO_IOMMU_INFO_E_INTERNAL`.)
pub struct vfio_iommu_info_allocator {
    inner: Mutex<IovaAllocator>,
}

impl vfio_iommu_info_allocator {
    fn lock(&self, function: &str) -> Result<MutexGuard<'_, IovaAllocator>, Failure> {
        self.inner.lock().map_err(|_| {
            Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!(
                    "{function}: an earlier call on this allocator failed with an internal error while changing it; its state is unknown: free it and make a new one"
                ),
            )
        })
    }
}

/// A new allocator over `space`, everything free. The allocator keeps its own copy of the
/// space: `space` may be freed first.
///
/// On success, returns 0 and stores the allocator in `*out`, freed with
/// `vfio_iommu_info_allocator_free()`; on failure, `*out` is untouched and the code is
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `out` must point to writable storage for
/// a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_new(
    space: *const vfio_iommu_info_space,
    out: *mut *mut vfio_iommu_info_allocator,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_new";
    guard(|| {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, F, "space") }?;
        let out = Out::new(out, F, "out")?;
        out.write(crate::handle::into_raw(vfio_iommu_info_allocator {
            inner: Mutex::new(IovaAllocator::new(&s.space)),
        }));
        Ok(())
    })
}

/// Frees an allocator. NULL is accepted and ignored. (This frees the allocator itself; to
/// give back one IOVA span, use `vfio_iommu_info_allocator_release()`.)
///
/// Since 0.2.
///
/// # Safety
/// `allocator` must be NULL or an allocator from this library not already freed, and no
/// other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_free(allocator: *mut vfio_iommu_info_allocator) {
    // SAFETY: per the contract, `allocator` is NULL or a handle of this library not freed
    // before and used by no other thread; `take` checks its kind.
    crate::result::guard_free(|| {
        unsafe { crate::handle::take(allocator, "vfio_iommu_info_allocator_free") }.map(drop)
    });
}

/// Allocates `size` bytes of IOVA space (rounded up to the granule) aligned to `align` (a
/// power of two; 0, or anything below the granule, means the granule), ending at or below
/// `limit`: the device's DMA limit, such as `(1ull << 28) - 1` for a device with 28
/// address bits, `UINT64_MAX` for none. Lower addresses are preferred.
///
/// On success, returns 0 and writes the IOVA to `*iova_out`; the span is
/// `[*iova_out, *iova_out + size rounded up to the granule)`. On failure, `*iova_out` is
/// untouched and the code is `VFIO_IOMMU_INFO_E_NO_ROOM` (no free span fits below
/// `limit`), `VFIO_IOMMU_INFO_E_INVALID` (`size` 0, or an `align` that is not a power of
/// two) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `allocator` must be a live allocator of this library; `iova_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_alloc(
    allocator: *mut vfio_iommu_info_allocator,
    size: u64,
    align: u64,
    limit: u64,
    iova_out: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_alloc";
    guard(|| {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator; it is only
        // borrowed shared (the lock serializes changes).
        let a = unsafe { args::object(allocator.cast_const(), F, "allocator") }?;
        let out = Out::new(iova_out, F, "iova_out")?;
        let iova = a
            .lock(F)?
            .alloc(size, align, limit)
            .map_err(|e| Failure::from_alloc(F, &e))?;
        out.write(iova);
        Ok(())
    })
}

/// Gives back the allocation or reservation that starts at `iova`, so that its span can
/// be allocated again. When `len_out` is not NULL, `*len_out` receives the span's length.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_NOT_ALLOCATED` when no live allocation or reservation
/// starts at `iova` (`*len_out` untouched), or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `allocator` must be a live allocator of this library; a non-NULL `len_out` must be
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_release(
    allocator: *mut vfio_iommu_info_allocator,
    iova: u64,
    len_out: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_release";
    guard(|| {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator.cast_const(), F, "allocator") }?;
        let out = Out::optional(len_out);
        let len = a
            .lock(F)?
            .free(iova)
            .map_err(|e| Failure::from_alloc(F, &e))?;
        if let Some(out) = out {
            out.write(len);
        }
        Ok(())
    })
}

/// Reserves `[iova, iova + len)` for a fixed mapping (identity-mapped guest RAM, a
/// device's fixed window): no allocation will use it until it is released with
/// `vfio_iommu_info_allocator_release(allocator, iova, ...)`.
///
/// Returns 0 or: `VFIO_IOMMU_INFO_E_UNUSABLE` when the kernel would not map the span
/// (outside the aperture, in a hole, across two ranges, or not a multiple of the granule;
/// `vfio_iommu_info_space_check()` says which), `VFIO_IOMMU_INFO_E_TOP_PAGE` when it
/// reaches the last page of the 64-bit space, `VFIO_IOMMU_INFO_E_OVERLAP` when it overlaps
/// a live allocation or reservation (the last error names one), `VFIO_IOMMU_INFO_E_INVALID`
/// for `len` 0, or `VFIO_IOMMU_INFO_E_NULL`. Nothing is reserved on failure.
///
/// Since 0.2.
///
/// # Safety
/// `allocator` must be a live allocator of this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_reserve(
    allocator: *mut vfio_iommu_info_allocator,
    iova: u64,
    len: u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_reserve";
    guard(|| {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator.cast_const(), F, "allocator") }?;
        a.lock(F)?
            .reserve(iova, len)
            .map_err(|e| Failure::from_alloc(F, &e))
    })
}

/// The number of live allocations and reservations.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `allocator` must be a live allocator of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_live_count(
    allocator: *const vfio_iommu_info_allocator,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_live_count";
    guard(|| {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator, F, "allocator") }?;
        let out = Out::new(count, F, "count")?;
        out.write(a.lock(F)?.live_count());
        Ok(())
    })
}

/// The allocator's granule: the smallest IOMMU page size of its space (4096 when unknown),
/// the unit of every span.
///
/// Returns 0 and writes `*granule`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `allocator` must be a live allocator of this library; `granule` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_allocator_granule(
    allocator: *const vfio_iommu_info_allocator,
    granule: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_allocator_granule";
    guard(|| {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator, F, "allocator") }?;
        let out = Out::new(granule, F, "granule")?;
        out.write(a.lock(F)?.granule());
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.2":
    vfio_iommu_info_allocator_new,
    vfio_iommu_info_allocator_free,
    vfio_iommu_info_allocator_alloc,
    vfio_iommu_info_allocator_release,
    vfio_iommu_info_allocator_reserve,
    vfio_iommu_info_allocator_live_count,
    vfio_iommu_info_allocator_granule,
);

#[cfg(test)]
mod tests {
    use std::ptr;

    use super::*;
    use crate::result::{
        VFIO_IOMMU_INFO_E_INVALID, VFIO_IOMMU_INFO_E_NOT_ALLOCATED, VFIO_IOMMU_INFO_E_NO_ROOM,
        VFIO_IOMMU_INFO_E_NULL, VFIO_IOMMU_INFO_E_OVERLAP, VFIO_IOMMU_INFO_E_TOP_PAGE,
        VFIO_IOMMU_INFO_E_UNUSABLE,
    };
    use crate::space::vfio_iommu_info_space_free;
    use crate::testutil::*;

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
}
