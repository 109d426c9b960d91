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
    fn lock(&self) -> Result<MutexGuard<'_, IovaAllocator>, Failure> {
        self.inner.lock().map_err(|_| {
            Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                "an earlier call on this allocator failed with an internal error while changing it; its state is unknown: free it and make a new one",
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
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(out, "out")?;
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
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(allocator, "vfio_iommu_info_allocator_free") }
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
    guard(F, || {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator; it is only
        // borrowed shared (the lock serializes changes).
        let a = unsafe { args::object(allocator.cast_const(), "allocator") }?;
        let out = Out::new(iova_out, "iova_out")?;
        let iova = a
            .lock()?
            .alloc(size, align, limit)
            .map_err(|e| Failure::from_alloc(&e))?;
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
    guard(F, || {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator.cast_const(), "allocator") }?;
        let out = Out::optional(len_out);
        let len = a.lock()?.free(iova).map_err(|e| Failure::from_alloc(&e))?;
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
    guard(F, || {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator.cast_const(), "allocator") }?;
        a.lock()?
            .reserve(iova, len)
            .map_err(|e| Failure::from_alloc(&e))
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
    guard(F, || {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator, "allocator") }?;
        let out = Out::new(count, "count")?;
        out.write(a.lock()?.live_count());
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
    guard(F, || {
        // SAFETY: per the contract, `allocator` is NULL or a live allocator.
        let a = unsafe { args::object(allocator, "allocator") }?;
        let out = Out::new(granule, "granule")?;
        out.write(a.lock()?.granule());
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
