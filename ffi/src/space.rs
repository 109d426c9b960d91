//! The usable IOVA space of a container as an opaque object (since 0.2): its ranges, page
//! sizes, aperture, the holes with the reserved regions that cause them, the list a
//! virtual IOMMU must advertise as reserved, and checks of spans.

use std::ffi::{c_char, c_int, CString};
use std::sync::OnceLock;

use ::vfio_iommu_info::{
    Hole, HostPaths, IovaRange, IovaSpace, PageSizes, RegionKind, ReservedRegion, Type1Cap,
};

use ::vfio_iommu_info::facts::{Backend, DmaFacts};

use crate::args::{self, ListOut, Out, Sized32};
use crate::container::vfio_iommu_info_container;
use crate::info::{range_failure, vfio_iommu_info, vfio_iommu_info_range};
use crate::iommufd::{c_facts, vfio_iommu_info_facts};
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
    /// The backend that answered, as a `VFIO_IOMMU_INFO_BACKEND_*` code (0: not known).
    pub(crate) backend: u32,
    /// The facts the space was made from, in C (`None` for a space of the caller's ranges).
    facts: Option<vfio_iommu_info_facts>,
    /// The arrays the 0.4 calls lend, built on first use.
    lists: OnceLock<SpaceLists>,
}

/// The C arrays a space lends (since 0.4).
struct SpaceLists {
    ranges: Vec<vfio_iommu_info_range>,
    holes: Vec<vfio_iommu_info_hole>,
    reserved: Vec<vfio_iommu_info_range>,
    causes: Vec<Vec<vfio_iommu_info_reserved_region>>,
}

// SAFETY: the only pointers in `SpaceLists` are the `kind_name`s of its reserved regions,
// which point into the `CString`s of the same space's `holes`: immutable, and alive as
// long as the space.
unsafe impl Send for SpaceLists {}
// SAFETY: as for Send: the lists are never written after they are built.
unsafe impl Sync for SpaceLists {}

impl vfio_iommu_info_space {
    pub(crate) fn new(space: IovaSpace) -> vfio_iommu_info_space {
        vfio_iommu_info_space {
            holes: space.holes().iter().cloned().map(CHole::new).collect(),
            reserved: space.reserved(),
            space,
            backend: 0,
            facts: None,
            lists: OnceLock::new(),
        }
    }

    /// The space with the facts it was made from (and their backend, when `known`).
    fn with_facts(mut self, facts: &DmaFacts, known: bool) -> vfio_iommu_info_space {
        let c = c_facts(facts);
        self.backend = if known { c.backend } else { 0 };
        self.facts = Some(vfio_iommu_info_facts {
            size: std::mem::size_of::<vfio_iommu_info_facts>() as u32,
            ..c
        });
        self
    }

    fn lists(&self) -> &SpaceLists {
        self.lists.get_or_init(|| {
            let sized = |size: usize| size as u32;
            SpaceLists {
                ranges: self.space.ranges().iter().map(|r| (*r).into()).collect(),
                holes: self
                    .holes
                    .iter()
                    .map(|h| vfio_iommu_info_hole {
                        size: sized(std::mem::size_of::<vfio_iommu_info_hole>()),
                        ..h.view()
                    })
                    .collect(),
                reserved: self.reserved.iter().map(|r| (*r).into()).collect(),
                causes: self
                    .holes
                    .iter()
                    .map(|h| {
                        (0..h.cause_count())
                            .filter_map(|i| h.cause(i).ok())
                            .map(|c| vfio_iommu_info_reserved_region {
                                size: sized(std::mem::size_of::<vfio_iommu_info_reserved_region>()),
                                ..c
                            })
                            .collect()
                    })
                    .collect(),
            }
        })
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
    emit_handle(vfio_iommu_info_space::new(space), out)
}

/// [`emit`] for a space handle already made (with its facts).
pub(crate) fn emit_handle(
    handle: vfio_iommu_info_space,
    out: Out<*mut vfio_iommu_info_space>,
) -> Result<(), Failure> {
    let space = &handle.space;
    if let Some((a, b)) = overlapping(space.ranges()) {
        return Err(Failure::new(
            VFIO_IOMMU_INFO_E_INTERNAL,
            format!("the space's IOVA ranges {a} and {b} overlap; this is a bug, please report it"),
        ));
    }
    out.write(crate::handle::into_raw(handle));
    Ok(())
}

/// Stores in `*out` the space `facts` describe (since 0.4: every source goes through its
/// facts), or says why there is none. `known`: whether the facts' backend is known.
pub(crate) fn emit_facts(
    facts: &DmaFacts,
    known: bool,
    none: impl FnOnce() -> Failure,
    out: Out<*mut vfio_iommu_info_space>,
) -> Result<(), Failure> {
    let space = IovaSpace::from_facts(facts).ok_or_else(none)?;
    emit_handle(
        vfio_iommu_info_space::new(space).with_facts(facts, known),
        out,
    )
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
        // An info object does not know who served it: its facts read it as type1.
        let facts = DmaFacts::from_type1(&info.info, Backend::Type1);
        emit_facts(&facts, false, || info.absent(Type1Cap::IovaRange), out)
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_hole_causes()` (0.4), which lends a hole's causes in
/// one call; kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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
/// Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
/// kept, like every export of .so.0.
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

/// A whole space at once (since 0.4): its lists, lent by the space (valid until
/// `vfio_iommu_info_space_free()`; empty lists are NULL with a count of 0), and its
/// scalars. Filled by `vfio_iommu_info_space_view()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_space_view {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_space_view)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// Who answered: a `VFIO_IOMMU_INFO_BACKEND_*` code, or 0 when not known (a space of
    /// the caller's ranges, or of an info object, which does not say who served it).
    pub backend: u32,
    /// The usable IOVA ranges, ascending: a mapping must lie inside one.
    pub ranges: *const vfio_iommu_info_range,
    /// How many.
    pub range_count: usize,
    /// The holes inside the aperture, ascending; `vfio_iommu_info_space_hole_causes()`
    /// lends the reserved regions that cause hole `i`.
    pub holes: *const vfio_iommu_info_hole,
    /// How many.
    pub hole_count: usize,
    /// What a virtual IOMMU must advertise as reserved: the complement of the ranges in
    /// the 64-bit space, ascending.
    pub reserved: *const vfio_iommu_info_range,
    /// How many.
    pub reserved_count: usize,
    /// From the lowest start to the highest end of the ranges (`{0, 0}` without ranges).
    pub aperture: vfio_iommu_info_range,
    /// The supported page sizes (bit n: 2^n bytes), 0 when unknown.
    pub page_sizes: u64,
    /// The smallest page size, which every mapping's address and size must be a multiple
    /// of; 4096 when the page sizes are unknown.
    pub granule: u64,
    /// The facts the space was made from, each with its source (the mapping limit, i.e.
    /// DMA_AVAIL, the IOVA alignment, the address width...), lent by the space; NULL for
    /// a space of the caller's ranges (`vfio_iommu_info_space_new()`).
    pub facts: *const vfio_iommu_info_facts,
}

impl Sized32 for vfio_iommu_info_space_view {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_space_view { size, ..self }
    }
}

/// The whole space in one call into `*view`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_space_view)`: the ranges, holes and reserved list
/// (arrays the space lends until it is freed), the aperture, the page sizes and granule,
/// and the facts it was made from. With `vfio_iommu_info_container_space()` or
/// `vfio_iommu_info_ioas_space()` and `vfio_iommu_info_space_free()`, three calls answer
/// where a VMM may map.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`view->size`) or `VFIO_IOMMU_INFO_E_NULL`;
/// `*view` is written only on success. Since 0.4.
///
/// # Safety
/// `space` must be a live space of this library; `view` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_view(
    space: *const vfio_iommu_info_space,
    view: *mut vfio_iommu_info_space_view,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_view";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(view, "view")?.check_size("view")?;
        let lists = s.lists();
        let first = |len: usize, p: *const vfio_iommu_info_range| {
            if len == 0 {
                std::ptr::null()
            } else {
                p
            }
        };
        out.write_sized(vfio_iommu_info_space_view {
            size: 0,
            backend: s.backend,
            ranges: first(lists.ranges.len(), lists.ranges.as_ptr()),
            range_count: lists.ranges.len(),
            holes: if lists.holes.is_empty() {
                std::ptr::null()
            } else {
                lists.holes.as_ptr()
            },
            hole_count: lists.holes.len(),
            reserved: first(lists.reserved.len(), lists.reserved.as_ptr()),
            reserved_count: lists.reserved.len(),
            aperture: s
                .space
                .aperture()
                .map_or(vfio_iommu_info_range { start: 0, end: 0 }, Into::into),
            page_sizes: s.space.page_sizes().map_or(0, |p| p.bits()),
            granule: s.space.granule(),
            facts: s.facts.as_ref().map_or(std::ptr::null(), |f| f as *const _),
        });
        Ok(())
    })
}

/// The reserved regions (sysfs `reserved_regions` of the groups behind the space) that
/// cause hole `index` of the space, in one call: `*items` receives an array the space
/// lends until it is freed (NULL when the hole has no known cause) and `*count` its
/// length. A space of an info object or of the caller's ranges knows no causes.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the last hole, or
/// `VFIO_IOMMU_INFO_E_NULL`; nothing is written on failure. Since 0.4.
///
/// # Safety
/// `space` must be a live space of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_hole_causes(
    space: *const vfio_iommu_info_space,
    index: usize,
    items: *mut *const vfio_iommu_info_reserved_region,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_hole_causes";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = ListOut::new(items, count)?;
        let causes = &s.lists().causes;
        let list = causes
            .get(index)
            .ok_or_else(|| range_failure(index, causes.len()))?;
        out.write(list);
        Ok(())
    })
}

/// Why `[iova, iova + len)` cannot be mapped, in one line a VMM can print as its error
/// (since 0.6): the span, the problem (the same `VFIO_IOMMU_INFO_SPAN_*` checks in the same
/// order as `vfio_iommu_info_space_check()`), for a hole the hole and each reserved region
/// behind it (type, range, IOMMU group when the space knows it, see
/// `vfio_iommu_info_space_with_groups()`), for a span beyond the aperture the aperture and
/// the IOMMU's address width, and the fix. Exact up to 2^64-1.
///
/// Returns 0 and stores in `*text` NULL when the span can be mapped, or a NUL-terminated
/// string the caller frees with `vfio_iommu_info_string_free()` when it cannot; returns
/// `VFIO_IOMMU_INFO_E_NULL` (`*text` untouched) when `space` or `text` is NULL.
///
/// # Safety
/// `space` must be a live space of this library; `text` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_explain(
    space: *const vfio_iommu_info_space,
    iova: u64,
    len: u64,
    text: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_explain";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(text, "text")?;
        let answer = match s.space.explain(iova, len) {
            None => std::ptr::null_mut(),
            // The text is made of numbers and words: no NUL byte.
            Some(refusal) => CString::new(refusal.to_string())
                .map_err(Failure::invalid)?
                .into_raw(),
        };
        out.write(answer);
        Ok(())
    })
}

/// A new space: `space` with each hole attributed to the reserved regions of the IOMMU
/// groups `groups[0..count]` (sysfs `/sys/kernel/iommu_groups/N/reserved_regions`), each
/// region remembering its group, so that `vfio_iommu_info_space_explain()` and
/// `vfio_iommu_info_space_hole_causes()` can name them (since 0.6). For a caller holding
/// only a container or IOAS fd (`vfio_iommu_info_container_space()`,
/// `vfio_iommu_info_ioas_space()`) that knows its groups; the regions replace any the space
/// had. The ranges, page sizes, backend and facts are those of `space`.
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()` (independent of `space`). On failure, `*out` is untouched
/// and the code is a negative errno (a group's file cannot be read, e.g. `-ENOENT` for a
/// group that does not exist), `VFIO_IOMMU_INFO_E_SYSFS_FORMAT` (a line that cannot be
/// parsed), or `VFIO_IOMMU_INFO_E_NULL`; the last error names the file. `groups` may be
/// NULL when `count` is 0 (the holes then have no causes).
///
/// # Safety
/// `space` must be a live space of this library; `groups` must point to `count` readable
/// numbers; `out` must point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_space_with_groups(
    space: *const vfio_iommu_info_space,
    groups: *const u32,
    count: usize,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_with_groups";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `count` readable numbers at `groups`.
        let groups = unsafe { args::array(groups, count, "groups") }?;
        let attributed = s
            .space
            .clone()
            .with_groups(&HostPaths::default().sysfs, groups)
            .map_err(|e| Failure::from_error(&e))?;
        let mut handle = vfio_iommu_info_space::new(attributed);
        handle.backend = s.backend;
        handle.facts = s.facts;
        emit_handle(handle, out)
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.6":
    vfio_iommu_info_space_explain,
    vfio_iommu_info_space_with_groups,
);

symbol_versions!(
    "VFIO_IOMMU_INFO_0.4":
    vfio_iommu_info_space_view,
    vfio_iommu_info_space_hole_causes,
);

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
