//! The usable IOVA space of a container as an opaque object (since 0.2): its ranges, page
//! sizes, aperture, the holes with the reserved regions that cause them, the list a
//! virtual IOMMU must advertise as reserved, and checks of spans.

use std::ffi::{c_char, c_int, CString};

use ::vfio_iommu_info::{
    Hole, HostPaths, IovaRange, IovaSpace, PageSizes, RegionKind, ReservedRegion, Type1Cap,
};

use crate::args::{self, Out, Sized32};
use crate::container::vfio_iommu_info_container;
use crate::info::{range_failure, vfio_iommu_info, vfio_iommu_info_range};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_ABSENT, VFIO_IOMMU_INFO_E_INTERNAL};
use crate::span::{span_verdict, vfio_iommu_info_verdict};

/// A reserved-region type this library does not know; its sysfs name is in `kind_name`
/// (since 0.2).
pub const VFIO_IOMMU_INFO_REGION_OTHER: u32 = 0;
/// `direct`: identity-mapped for a device (an RMRR); removed from the IOVA ranges
/// (since 0.2).
pub const VFIO_IOMMU_INFO_REGION_DIRECT: u32 = 1;
/// `direct-relaxable`: identity-mapped but may be given up (USB and graphics RMRRs); stays
/// in the IOVA ranges, so it never causes a hole (since 0.2).
pub const VFIO_IOMMU_INFO_REGION_DIRECT_RELAXABLE: u32 = 2;
/// `reserved`: never mappable (AMD's HyperTransport hole at 0xfd00000000) (since 0.2).
pub const VFIO_IOMMU_INFO_REGION_RESERVED: u32 = 3;
/// `msi`: the MSI doorbell window (x86's 0xfee00000) (since 0.2).
pub const VFIO_IOMMU_INFO_REGION_MSI: u32 = 4;

/// `vfio_iommu_info_space_hole_at()`'s answer when the address lies in no hole: `SIZE_MAX`
/// (since 0.2). cbindgen cannot write `usize::MAX` as C, so ffi/cbindgen.toml defines it in
/// the header; a test checks the two agree.
pub const VFIO_IOMMU_INFO_NO_HOLE: usize = usize::MAX;

/// A hole inside the aperture: addresses no usable range covers, and a summary of the
/// reserved regions that cause it (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_hole {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_hole)`; on success, the number
    /// of bytes the library filled.
    pub size: u32,
    /// The types of its causes: bit `VFIO_IOMMU_INFO_REGION_*` is set (`1u << type`) when
    /// a cause has that type; 0 when no cause is known.
    pub cause_types: u32,
    /// The addresses.
    pub range: vfio_iommu_info_range,
    /// The number of reserved regions known to cause it (read them with
    /// `vfio_iommu_info_space_hole_cause()`): 0 for a space made from an info object or
    /// from ranges, which carry no reserved regions.
    pub cause_count: usize,
}

impl Sized32 for vfio_iommu_info_hole {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_hole { size, ..self }
    }
}

/// A reserved region of an IOMMU group (a line of sysfs
/// `/sys/kernel/iommu_groups/N/reserved_regions`) that causes a hole (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_reserved_region {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_reserved_region)`; on success,
    /// the number of bytes the library filled.
    pub size: u32,
    /// Its type: a `VFIO_IOMMU_INFO_REGION_*` code.
    pub kind: u32,
    /// The addresses (both ends inclusive).
    pub range: vfio_iommu_info_range,
    /// The type as sysfs names it (`"msi"`, `"reserved"`...): a NUL-terminated string
    /// owned by the object read from, valid until it is freed.
    pub kind_name: *const c_char,
}

impl Sized32 for vfio_iommu_info_reserved_region {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_reserved_region { size, ..self }
    }
}

fn kind_code(kind: &RegionKind) -> u32 {
    match kind {
        RegionKind::Direct => VFIO_IOMMU_INFO_REGION_DIRECT,
        RegionKind::DirectRelaxable => VFIO_IOMMU_INFO_REGION_DIRECT_RELAXABLE,
        RegionKind::Reserved => VFIO_IOMMU_INFO_REGION_RESERVED,
        RegionKind::Msi => VFIO_IOMMU_INFO_REGION_MSI,
        _ => VFIO_IOMMU_INFO_REGION_OTHER,
    }
}

/// A hole with the C strings of its causes' type names, which C borrows.
#[derive(Debug)]
pub(crate) struct CHole {
    hole: Hole,
    names: Vec<CString>,
}

impl CHole {
    pub(crate) fn new(hole: Hole) -> CHole {
        let names = hole
            .causes
            .iter()
            // A sysfs type name holds no NUL byte (it is a word of a text file).
            .map(|r| CString::new(r.kind.name()).unwrap_or_default())
            .collect();
        CHole { hole, names }
    }

    pub(crate) fn range(&self) -> IovaRange {
        self.hole.range
    }

    /// The bitmask of its causes' types.
    pub(crate) fn cause_types(&self) -> u32 {
        self.hole
            .causes
            .iter()
            .fold(0, |mask, r| mask | 1 << kind_code(&r.kind))
    }

    pub(crate) fn cause_count(&self) -> usize {
        self.hole.causes.len()
    }

    /// The C view (its `size` still 0).
    fn view(&self) -> vfio_iommu_info_hole {
        vfio_iommu_info_hole {
            size: 0,
            cause_types: self.cause_types(),
            range: self.hole.range.into(),
            cause_count: self.cause_count(),
        }
    }

    /// The C view of cause `index` (its `size` still 0).
    pub(crate) fn cause(&self, index: usize) -> Result<vfio_iommu_info_reserved_region, Failure> {
        let causes: &[ReservedRegion] = &self.hole.causes;
        let (region, name) = causes
            .get(index)
            .zip(self.names.get(index))
            .ok_or_else(|| range_failure(index, causes.len()))?;
        Ok(vfio_iommu_info_reserved_region {
            size: 0,
            kind: kind_code(&region.kind),
            range: region.range.into(),
            kind_name: name.as_ptr(),
        })
    }
}

/// The usable IOVA space of a container: an opaque object from
/// `vfio_iommu_info_space_from_info()`, `vfio_iommu_info_space_from_container()` or
/// `vfio_iommu_info_space_new()`, freed by `vfio_iommu_info_space_free()`. Immutable: it
/// may be read from several threads at once.
pub struct vfio_iommu_info_space {
    pub(crate) space: IovaSpace,
    holes: Vec<CHole>,
    reserved: Vec<IovaRange>,
}

impl vfio_iommu_info_space {
    fn new(space: IovaSpace) -> vfio_iommu_info_space {
        vfio_iommu_info_space {
            holes: space.holes().iter().cloned().map(CHole::new).collect(),
            reserved: space.reserved(),
            space,
        }
    }

    fn hole(&self, index: usize) -> Result<&CHole, Failure> {
        self.holes
            .get(index)
            .ok_or_else(|| range_failure(index, self.holes.len()))
    }
}

/// Two ranges of `ranges` (sorted, as an `IovaSpace` keeps them) that share an address.
fn overlapping(ranges: &[IovaRange]) -> Option<(IovaRange, IovaRange)> {
    ranges
        .windows(2)
        .find(|w| w[1].start <= w[0].end)
        .map(|w| (w[0], w[1]))
}

/// Stores `space` in `*out`. The core merges overlapping ranges (no kernel reports them; a
/// corrupt capture or a caller may); an allocator over ranges that still overlapped would
/// hand out one address twice, so that is checked here as an invariant.
fn emit(space: IovaSpace, out: Out<*mut vfio_iommu_info_space>) -> Result<(), Failure> {
    if let Some((a, b)) = overlapping(space.ranges()) {
        return Err(Failure::new(
            VFIO_IOMMU_INFO_E_INTERNAL,
            format!("the space's IOVA ranges {a} and {b} overlap; this is a bug, please report it"),
        ));
    }
    out.write(crate::handle::into_raw(vfio_iommu_info_space::new(space)));
    Ok(())
}

/// The usable IOVA space an info object reports: its IOVA ranges (ascending; ranges that
/// overlap, which no kernel reports, merged) and page sizes. Its holes carry no reserved
/// regions (an info object does not know them; a space from
/// `vfio_iommu_info_space_from_container()` does).
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()`; it does not refer to `info`, which may be freed first.
/// On failure, `*out` is untouched and the code is `VFIO_IOMMU_INFO_E_ABSENT` (no IOVA
/// ranges reported: `vfio_iommu_info_absence()` says why) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to writable storage for
/// a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_from_info(
    info: *const vfio_iommu_info,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_from_info";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let space =
            IovaSpace::from_info(&info.info).ok_or_else(|| info.absent(Type1Cap::IovaRange))?;
        emit(space, out)
    })
}

/// The usable IOVA space of an open container: it queries the container again and
/// attributes each hole to the reserved regions (sysfs
/// `/sys/kernel/iommu_groups/N/reserved_regions`) of the container's groups, so that
/// `vfio_iommu_info_space_hole_cause()` can say that a hole is the MSI window or AMD's
/// HyperTransport range.
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()` (independent of the container). On failure, `*out` is
/// untouched and the code is that of `vfio_iommu_info_container_query()`, a negative
/// errno or `VFIO_IOMMU_INFO_E_SYSFS_FORMAT` for a `reserved_regions` file that cannot be
/// read, `VFIO_IOMMU_INFO_E_ABSENT` when the container reports no IOVA ranges, or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `container` must be a live handle of this library; `out` must point to writable
/// storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_from_container(
    container: *const vfio_iommu_info_container,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_from_container";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        let out = Out::new(out, "out")?;
        let space = c
            .container
            .space(&HostPaths::default())
            .map_err(|e| Failure::from_error(&e))?
            .ok_or_else(|| {
                Failure::new(
                    VFIO_IOMMU_INFO_E_ABSENT,
                    "the container reports no IOVA ranges (IOVA_RANGE is absent): vfio_iommu_info_container_query() and vfio_iommu_info_absence() say why",
                )
            })?;
        emit(space, out)
    })
}

/// A space of the caller's own: `n_ranges` usable ranges at `ranges` (inclusive ends, in
/// any order; touching ranges stay apart, as the kernel maps only inside one; overlapping
/// ones are merged) and the page
/// sizes `page_sizes` (bit n: 2^n bytes; 0 when unknown, then the granule is 4 KiB and
/// spans are not checked for alignment). For planning against a saved or expected layout
/// without a capture. `ranges` may be NULL when `n_ranges` is 0 (an empty space: every
/// check is `VFIO_IOMMU_INFO_SPAN_NO_RANGES`).
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()`; the library does not keep `ranges`. On failure, `*out`
/// is untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (a range whose start is above
/// its end, or more ranges than memory can hold) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `ranges` must point to `n_ranges` readable ranges; `out` must point to writable storage
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_new(
    ranges: *const vfio_iommu_info_range,
    n_ranges: usize,
    page_sizes: u64,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_new";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `n_ranges` readable ranges at `ranges`.
        let given = unsafe { args::array(ranges, n_ranges, "ranges") }?;
        let mut list = Vec::with_capacity(given.len());
        for (i, r) in given.iter().enumerate() {
            list.push(IovaRange::new(r.start, r.end).ok_or_else(|| {
                Failure::invalid(format_args!(
                    "ranges[{i}] is inverted: start {:#x} is above end {:#x} (ends are inclusive)",
                    r.start, r.end
                ))
            })?);
        }
        let pgsizes = (page_sizes != 0).then_some(PageSizes(page_sizes));
        emit(IovaSpace::new(&list, pgsizes), out)
    })
}

/// Frees a space. NULL is accepted and ignored. Allocators and layouts made from it do not
/// refer to it and stay valid.
///
/// Since 0.2.
///
/// # Safety
/// `space` must be NULL or a space from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_free(space: *mut vfio_iommu_info_space) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(space, "vfio_iommu_info_space_free") }
}

/// The number of usable IOVA ranges.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_range_count(
    space: *const vfio_iommu_info_space,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_range_count";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        Out::new(count, "count")?.write(s.space.ranges().len());
        Ok(())
    })
}

/// The usable range at `index`, ascending (whatever the kernel's order). A mapping must
/// lie inside one range.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
/// or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_range(
    space: *const vfio_iommu_info_space,
    index: usize,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_range";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(range, "range")?;
        let ranges = s.space.ranges();
        let r = ranges
            .get(index)
            .ok_or_else(|| range_failure(index, ranges.len()))?;
        out.write((*r).into());
        Ok(())
    })
}

/// The supported IOMMU page sizes (bit n: pages of 2^n bytes).
///
/// Returns 0 and writes `*bitmap`, `VFIO_IOMMU_INFO_E_ABSENT` when they are unknown (the
/// kernel did not report them, or a space made with `page_sizes` 0), or
/// `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `bitmap` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_page_sizes(
    space: *const vfio_iommu_info_space,
    bitmap: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_page_sizes";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(bitmap, "bitmap")?;
        let sizes = s.space.page_sizes().ok_or_else(|| {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                "the page sizes are unknown (the kernel reported none)",
            )
        })?;
        out.write(sizes.bits());
        Ok(())
    })
}

/// The granule: the smallest IOMMU page size, which every mapping's address and size must
/// be a multiple of; 4096 when the page sizes are unknown.
///
/// Returns 0 and writes `*granule`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `granule` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_granule(
    space: *const vfio_iommu_info_space,
    granule: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_granule";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        Out::new(granule, "granule")?.write(s.space.granule());
        Ok(())
    })
}

/// The aperture: from the lowest start to the highest end of the usable ranges.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` for a space without ranges,
/// or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_aperture(
    space: *const vfio_iommu_info_space,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_aperture";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(range, "range")?;
        let aperture = s.space.aperture().ok_or_else(|| {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                "the space has no ranges, so no aperture",
            )
        })?;
        out.write(aperture.into());
        Ok(())
    })
}

/// The number of holes inside the aperture (0 when the ranges are contiguous).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_hole_count(
    space: *const vfio_iommu_info_space,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_hole_count";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        Out::new(count, "count")?.write(s.holes.len());
        Ok(())
    })
}

/// The hole at `index` (ascending), into `*hole`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_hole)`: its range, and the number and types of the
/// reserved regions that cause it.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`hole->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`; `*hole` is written only on success. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `hole` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_hole(
    space: *const vfio_iommu_info_space,
    index: usize,
    hole: *mut vfio_iommu_info_hole,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_hole";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(hole, "hole")?;
        let out = out.check_size("hole")?;
        out.write_sized(s.hole(index)?.view());
        Ok(())
    })
}

/// The reserved region `cause_index` (ascending) among those that cause hole
/// `hole_index`, into `*region`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_reserved_region)`. `region->kind_name` is owned by the
/// space.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE` (either index), `VFIO_IOMMU_INFO_E_INVALID`
/// (`region->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*region` is written only on success.
/// Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `region` must point to a writable
/// struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_hole_cause(
    space: *const vfio_iommu_info_space,
    hole_index: usize,
    cause_index: usize,
    region: *mut vfio_iommu_info_reserved_region,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_hole_cause";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(region, "region")?;
        let out = out.check_size("region")?;
        out.write_sized(s.hole(hole_index)?.cause(cause_index)?);
        Ok(())
    })
}

/// Which hole holds `iova`: `*index` receives its index (for
/// `vfio_iommu_info_space_hole()`), or `VFIO_IOMMU_INFO_NO_HOLE` (`SIZE_MAX`) when `iova`
/// lies in no hole (in a usable range, or outside the aperture). Not being in a hole is an
/// answer, not an error.
///
/// Returns 0, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `index` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_hole_at(
    space: *const vfio_iommu_info_space,
    iova: u64,
    index: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_hole_at";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(index, "index")?;
        let i = s.space.hole_at(iova).map_or(VFIO_IOMMU_INFO_NO_HOLE, |h| {
            s.holes.partition_point(|c| c.range().start < h.range.start)
        });
        out.write(i);
        Ok(())
    })
}

/// The number of ranges a virtual IOMMU must advertise as reserved so that a guest never
/// maps where the host cannot (virtio-iommu's `VIRTIO_IOMMU_RESV_MEM_T_RESERVED`): the
/// complement of the usable ranges in the 64-bit space, below and above the aperture
/// included (not to be confused with the holes' reserved regions).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_reserved_count(
    space: *const vfio_iommu_info_space,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_reserved_count";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        Out::new(count, "count")?.write(s.reserved.len());
        Ok(())
    })
}

/// The reserved range at `index` (ascending) of the list
/// `vfio_iommu_info_space_reserved_count()` counts.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE`, or `VFIO_IOMMU_INFO_E_NULL`.
/// Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_reserved(
    space: *const vfio_iommu_info_space,
    index: usize,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_reserved";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(range, "range")?;
        let r = s
            .reserved
            .get(index)
            .ok_or_else(|| range_failure(index, s.reserved.len()))?;
        out.write((*r).into());
        Ok(())
    })
}

/// `vfio_iommu_info_check()` against a space: whether `[iova, iova + len)` can be mapped,
/// exact up to 2^64-1, into `*verdict` (whose `size` the caller sets), with the same
/// `VFIO_IOMMU_INFO_SPAN_*` problems in the same order. For `IN_HOLE`,
/// `vfio_iommu_info_space_hole_at(space, verdict->range.start, ...)` finds the hole and
/// its causes.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`verdict->size`) or `VFIO_IOMMU_INFO_E_NULL`;
/// `*verdict` is written only on success. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `verdict` must point to a writable
/// struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_check(
    space: *const vfio_iommu_info_space,
    iova: u64,
    len: u64,
    verdict: *mut vfio_iommu_info_verdict,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_check";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(verdict, "verdict")?;
        let out = out.check_size("verdict")?;
        out.write_sized(span_verdict(s.space.check(iova, len))?);
        Ok(())
    })
}

/// The space as the JSON object `vfio-iommu-info plan --json` prints under `space`
/// (`ranges`, `iova_pgsizes`, `granule`, `aperture`, `holes` with their `causes`,
/// `reserved`), exact integers up to 2^64-1. On success, `*json` receives a NUL-terminated
/// string the caller frees with `vfio_iommu_info_string_free()`.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success. Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_to_json(
    space: *const vfio_iommu_info_space,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_to_json";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(json, "json")?;
        let text = ::vfio_iommu_info::json::space_to_json(&s.space).to_string();
        out.write(crate::info::json_string(text)?);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.2":
    vfio_iommu_info_space_from_info,
    vfio_iommu_info_space_from_container,
    vfio_iommu_info_space_new,
    vfio_iommu_info_space_free,
    vfio_iommu_info_space_range_count,
    vfio_iommu_info_space_range,
    vfio_iommu_info_space_page_sizes,
    vfio_iommu_info_space_granule,
    vfio_iommu_info_space_aperture,
    vfio_iommu_info_space_hole_count,
    vfio_iommu_info_space_hole,
    vfio_iommu_info_space_hole_cause,
    vfio_iommu_info_space_hole_at,
    vfio_iommu_info_space_reserved_count,
    vfio_iommu_info_space_reserved,
    vfio_iommu_info_space_check,
    vfio_iommu_info_space_to_json,
);

/// A space handle for a model built in Rust, with reserved regions, which only
/// `vfio_iommu_info_space_from_container()` attaches otherwise: for the integration tests
/// (ffi/tests) on a host without VFIO. Not part of the C ABI (not exported, not in the
/// header); freed by `vfio_iommu_info_space_free()`.
#[doc(hidden)]
pub fn space_handle_for_tests(space: IovaSpace) -> *mut vfio_iommu_info_space {
    crate::handle::into_raw(vfio_iommu_info_space::new(space))
}
