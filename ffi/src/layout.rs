//! A guest layout for an identity map as an opaque object (since 0.2): where each guest
//! RAM region goes in usable IOVA space, or why it cannot, and the mapping counts against
//! DMA_AVAIL.

use std::ffi::{c_char, c_int};

use ::vfio_iommu_info::layout::{guest_layout, Conflict, Layout, Placement, RamRegion};

use crate::args::{self, Out, Sized32};
use crate::info::{range_failure, vfio_iommu_info_range};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_INTERNAL};
use crate::space::{vfio_iommu_info_reserved_region, vfio_iommu_info_space, CHole};
use crate::span::{
    problem_code, VFIO_IOMMU_INFO_SPAN_OK, VFIO_IOMMU_INFO_SPAN_OVERLAPS,
    VFIO_IOMMU_INFO_SPAN_TOP_PAGE,
};

/// `vfio_iommu_info_ram_region.flags`: the region must go at `addr` (since 0.2).
pub const VFIO_IOMMU_INFO_RAM_FIXED: u32 = 1;

/// `dma_avail` of `vfio_iommu_info_layout_new()` and `vfio_iommu_info_mappings`: unknown
/// (since 0.2).
pub const VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN: i64 = -1;

/// The region was placed: at its fixed address, or where the layout chose (since 0.2).
pub const VFIO_IOMMU_INFO_PLACEMENT_PLACED: u32 = 0;
/// A fixed region the kernel would not map at its address, or that overlaps another
/// fixed region (`problem` says which) (since 0.2).
pub const VFIO_IOMMU_INFO_PLACEMENT_CONFLICT: u32 = 1;
/// No usable range has room for the region at the alignment it needs (since 0.2).
pub const VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM: u32 = 2;

/// A guest RAM region for `vfio_iommu_info_layout_new()`, in an array the caller owns
/// (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vfio_iommu_info_ram_region {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_ram_region)`, the same in every
    /// element of the array. Read, never written.
    pub size: u32,
    /// 0, or `VFIO_IOMMU_INFO_RAM_FIXED`; other bits are `VFIO_IOMMU_INFO_E_INVALID`.
    pub flags: u32,
    /// The region's length in bytes (not 0).
    pub len: u64,
    /// With `VFIO_IOMMU_INFO_RAM_FIXED`: its guest physical address (== IOVA); ignored
    /// without.
    pub addr: u64,
}

impl Sized32 for vfio_iommu_info_ram_region {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_ram_region { size, ..self }
    }
}

/// Where one region went, or why it could not (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_placement {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_placement)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// `VFIO_IOMMU_INFO_PLACEMENT_PLACED`, `_CONFLICT` or `_NO_ROOM`.
    pub result: u32,
    /// `PLACED`: the addresses to map (a region the layout placed takes its length rounded
    /// up to the granule); `CONFLICT`: the addresses asked for (the end saturates at
    /// 2^64-1); `NO_ROOM`: zero.
    pub range: vfio_iommu_info_range,
    /// The region's length as given.
    pub len: u64,
    /// `PLACED` by the layout: the alignment chosen (the largest IOMMU page size not above
    /// min(len, 1 GiB), so huge pages can map it); `PLACED` at a fixed address or
    /// `CONFLICT`: 0; `NO_ROOM`: the alignment it needed.
    pub align: u64,
    /// `CONFLICT`: why, a `VFIO_IOMMU_INFO_SPAN_*` code (`BEYOND_APERTURE`, `IN_HOLE`,
    /// `ACROSS_RANGES`, `MISALIGNED`, `OVERLAPS` another fixed region, `TOP_PAGE`); else
    /// `VFIO_IOMMU_INFO_SPAN_OK`.
    pub problem: u32,
    /// `IN_HOLE`: the types of the reserved regions causing the hole (bit
    /// `VFIO_IOMMU_INFO_REGION_*` set), as in `vfio_iommu_info_hole`; else 0.
    pub hole_cause_types: u32,
    /// `BEYOND_APERTURE`: the aperture; `IN_HOLE`: the hole; `OVERLAPS`: the fixed region
    /// it overlaps (one given before it); else zero.
    pub problem_range: vfio_iommu_info_range,
    /// `MISALIGNED`: the smallest page size; else 0.
    pub page_size: u64,
    /// `IN_HOLE`: the number of reserved regions causing the hole, read with
    /// `vfio_iommu_info_layout_hole_cause()`; else 0.
    pub hole_cause_count: usize,
}

impl Sized32 for vfio_iommu_info_placement {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_placement { size, ..self }
    }
}

/// The mappings a layout needs, against DMA_AVAIL (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_mappings {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_mappings)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// 1 when every region was placed, else 0.
    pub all_placed: u32,
    /// The mappings needed with one `VFIO_IOMMU_MAP_DMA` per placed region (how QEMU maps
    /// RAM).
    pub per_region: u64,
    /// The DMA_AVAIL given to `vfio_iommu_info_layout_new()`, or
    /// `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
    pub dma_avail: i64,
    /// 1 when `per_region` fits DMA_AVAIL, 0 when not, -1 when DMA_AVAIL is unknown.
    pub fits: i32,
    /// Always 0 (padding).
    pub reserved: u32,
    /// The smallest page size whose mapping count (`vfio_iommu_info_layout_page()`) fits
    /// DMA_AVAIL, for a VMM that maps page by page; 0 when none does or DMA_AVAIL is
    /// unknown.
    pub smallest_fitting_page: u64,
}

impl Sized32 for vfio_iommu_info_mappings {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_mappings { size, ..self }
    }
}

/// How many mappings the placed regions need in pages of one size (since 0.2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_mapping_count {
    /// The page size: one `VFIO_IOMMU_MAP_DMA` per page (how DPDK and SPDK map hugepages).
    pub page_size: u64,
    /// The mappings needed.
    pub entries: u64,
}

/// A guest layout: an opaque object from `vfio_iommu_info_layout_new()`, freed by
/// `vfio_iommu_info_layout_free()`. Immutable: it may be read from several threads.
pub struct vfio_iommu_info_layout {
    layout: Layout,
    /// Per placement, its C view (`size` 0).
    placements: Vec<vfio_iommu_info_placement>,
    /// Per placement, the hole of an `IN_HOLE` conflict.
    holes: Vec<Option<CHole>>,
}

/// The code, range and page size of a conflict's reason.
fn conflict_code(
    function: &str,
    reason: &Conflict,
) -> Result<(u32, vfio_iommu_info_range, u64), Failure> {
    let zero = vfio_iommu_info_range { start: 0, end: 0 };
    Ok(match reason {
        Conflict::Unusable(p) => problem_code(function, p)?,
        Conflict::OverlapsRegion { range, .. } => {
            (VFIO_IOMMU_INFO_SPAN_OVERLAPS, (*range).into(), 0)
        }
        Conflict::TopPage => (VFIO_IOMMU_INFO_SPAN_TOP_PAGE, zero, 0),
        other => {
            return Err(Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!("{function}: conflict {other:?} has no code"),
            ))
        }
    })
}

fn c_placement(
    function: &str,
    placement: &Placement,
    region: &RamRegion,
) -> Result<(vfio_iommu_info_placement, Option<CHole>), Failure> {
    let zero = vfio_iommu_info_range { start: 0, end: 0 };
    let mut c = vfio_iommu_info_placement {
        size: 0,
        result: VFIO_IOMMU_INFO_PLACEMENT_PLACED,
        range: zero,
        len: region.size,
        align: 0,
        problem: VFIO_IOMMU_INFO_SPAN_OK,
        hole_cause_types: 0,
        problem_range: zero,
        page_size: 0,
        hole_cause_count: 0,
    };
    let mut hole = None;
    match placement {
        Placement::Placed { range, align } => {
            c.range = (*range).into();
            c.align = *align;
        }
        Placement::Conflict {
            range,
            reason,
            hole: h,
        } => {
            c.result = VFIO_IOMMU_INFO_PLACEMENT_CONFLICT;
            c.range = (*range).into();
            (c.problem, c.problem_range, c.page_size) = conflict_code(function, reason)?;
            if let Some(h) = h {
                let h = CHole::new(h.clone());
                c.hole_cause_types = h.cause_types();
                c.hole_cause_count = h.cause_count();
                hole = Some(h);
            }
        }
        Placement::NoRoom { align, .. } => {
            c.result = VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM;
            c.align = *align;
        }
    }
    Ok((c, hole))
}

impl vfio_iommu_info_layout {
    fn placement_index(&self, index: usize, function: &str) -> Result<usize, Failure> {
        if index < self.placements.len() {
            Ok(index)
        } else {
            Err(range_failure(function, index, self.placements.len()))
        }
    }
}

/// Lays out guest RAM in `space` for an identity map (guest physical address == IOVA), the
/// way a VMM places the memory it will map with `VFIO_IOMMU_MAP_DMA`: the fixed regions
/// first, each checked against the usable ranges and the fixed regions before it, then the
/// others in the order given, lowest address first, each aligned to the largest IOMMU page
/// size not above min(len, 1 GiB) so huge pages can map it.
///
/// `regions` is an array of `n_regions` structs whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_ram_region)` (the same in every element); it may be NULL
/// when `n_regions` is 0, and the library does not keep it. `dma_avail` is the container's
/// DMA_AVAIL (`vfio_iommu_info_dma_avail()`), 0 to `UINT32_MAX`, or
/// `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
///
/// A region that cannot be placed is an answer, not an error: its placement says why. On
/// success, returns 0 and stores a new layout in `*out`, freed with
/// `vfio_iommu_info_layout_free()` (independent of `space`). On failure, `*out` is
/// untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (an element's `size` too small or
/// not the same in every element, unknown `flags` bits, a `len` of 0, a `dma_avail` out of
/// range) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Since 0.2.
///
/// # Safety
/// `space` must be a live space of this library; `regions` must point to `n_regions`
/// readable elements of `regions[0].size` bytes each; `out` must point to writable storage
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_new(
    space: *const vfio_iommu_info_space,
    regions: *const vfio_iommu_info_ram_region,
    n_regions: usize,
    dma_avail: i64,
    out: *mut *mut vfio_iommu_info_layout,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_new";
    guard(|| {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, F, "space") }?;
        let out = Out::new(out, F, "out")?;
        // SAFETY: the caller guarantees `n_regions` elements of `regions[0].size` bytes.
        let given = unsafe { args::sized_array(regions, n_regions, F, "regions") }?;
        let dma_avail = match dma_avail {
            VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN => None,
            n => Some(u32::try_from(n).map_err(|_| {
                Failure::invalid(
                    F,
                    format_args!(
                        "dma_avail {n} is neither a count (0 to {}) nor VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN (-1)",
                        u32::MAX
                    ),
                )
            })?),
        };
        let mut ram = Vec::with_capacity(given.len());
        for (i, r) in given.iter().enumerate() {
            if r.flags & !VFIO_IOMMU_INFO_RAM_FIXED != 0 {
                return Err(Failure::invalid(
                    F,
                    format_args!(
                        "regions[{i}].flags {:#x} has bits other than VFIO_IOMMU_INFO_RAM_FIXED",
                        r.flags
                    ),
                ));
            }
            if r.len == 0 {
                return Err(Failure::invalid(F, format_args!("regions[{i}].len is 0")));
            }
            ram.push(RamRegion {
                size: r.len,
                at: (r.flags & VFIO_IOMMU_INFO_RAM_FIXED != 0).then_some(r.addr),
            });
        }
        let layout = guest_layout(&s.space, &ram, dma_avail)
            .map_err(|e| Failure::invalid(F, format_args!("{e}")))?;
        if layout.placements.len() != ram.len() {
            return Err(Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!(
                    "{F}: {} placements for {} regions",
                    layout.placements.len(),
                    ram.len()
                ),
            ));
        }
        let mut placements = Vec::with_capacity(ram.len());
        let mut holes = Vec::with_capacity(ram.len());
        for (p, r) in layout.placements.iter().zip(&ram) {
            let (c, hole) = c_placement(F, p, r)?;
            placements.push(c);
            holes.push(hole);
        }
        out.write(crate::handle::into_raw(vfio_iommu_info_layout {
            layout,
            placements,
            holes,
        }));
        Ok(())
    })
}

/// Frees a layout. NULL is accepted and ignored.
///
/// Since 0.2.
///
/// # Safety
/// `layout` must be NULL or a layout from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_free(layout: *mut vfio_iommu_info_layout) {
    // SAFETY: per the contract, `layout` is NULL or a handle of this library not freed
    // before and used by no other thread; `take` checks its kind.
    crate::result::guard_free(|| {
        unsafe { crate::handle::take(layout, "vfio_iommu_info_layout_free") }.map(drop)
    });
}

/// The number of placements: one per region, in the order the regions were given.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_placement_count(
    layout: *const vfio_iommu_info_layout,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_placement_count";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        Out::new(count, F, "count")?.write(l.placements.len());
        Ok(())
    })
}

/// The placement of region `index` (the order given to `vfio_iommu_info_layout_new()`),
/// into `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_placement)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_placement(
    layout: *const vfio_iommu_info_layout,
    index: usize,
    out: *mut vfio_iommu_info_placement,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_placement";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        let out = Out::new(out, F, "out")?;
        let out = out.check_size(F, "out")?;
        out.write_sized(l.placements[l.placement_index(index, F)?]);
        Ok(())
    })
}

/// The reserved region `cause_index` among those causing the hole that placement
/// `index`'s fixed region falls in (`problem` `VFIO_IOMMU_INFO_SPAN_IN_HOLE`,
/// `hole_cause_count` of them), into `*region`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_reserved_region)`. `region->kind_name` is owned by the
/// layout.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE` (either index; a placement with no hole has no
/// causes), `VFIO_IOMMU_INFO_E_INVALID` (`region->size`) or `VFIO_IOMMU_INFO_E_NULL`.
/// Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `region` must point to a writable
/// struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_hole_cause(
    layout: *const vfio_iommu_info_layout,
    index: usize,
    cause_index: usize,
    region: *mut vfio_iommu_info_reserved_region,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_hole_cause";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        let out = Out::new(region, F, "region")?;
        let out = out.check_size(F, "region")?;
        let cause = match &l.holes[l.placement_index(index, F)?] {
            Some(hole) => hole.cause(cause_index, F)?,
            None => return Err(range_failure(F, cause_index, 0)),
        };
        out.write_sized(cause);
        Ok(())
    })
}

/// The mappings the layout needs, against DMA_AVAIL, into `*out`, whose `size` the caller
/// sets to `sizeof(struct vfio_iommu_info_mappings)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*out`
/// is written only on success. Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_mappings(
    layout: *const vfio_iommu_info_layout,
    out: *mut vfio_iommu_info_mappings,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_mappings";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        let out = Out::new(out, F, "out")?;
        let out = out.check_size(F, "out")?;
        let layout = &l.layout;
        out.write_sized(vfio_iommu_info_mappings {
            size: 0,
            all_placed: u32::from(layout.all_placed()),
            per_region: layout.per_region,
            dma_avail: layout
                .dma_avail
                .map_or(VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN, i64::from),
            fits: layout.fits().map_or(-1, i32::from),
            reserved: 0,
            smallest_fitting_page: layout.smallest_fitting_page().unwrap_or(0),
        });
        Ok(())
    })
}

/// The number of page sizes the layout counts mappings for: the IOMMU page sizes up to
/// 1 GiB (none when the page sizes are unknown).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_page_count(
    layout: *const vfio_iommu_info_layout,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_page_count";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        Out::new(count, F, "count")?.write(l.layout.per_page.len());
        Ok(())
    })
}

/// The mapping count at `index`, ascending by page size: how many `VFIO_IOMMU_MAP_DMA`
/// calls the placed regions need in pages of that size.
///
/// Returns 0 and writes `*out`, `VFIO_IOMMU_INFO_E_RANGE`, or `VFIO_IOMMU_INFO_E_NULL`.
/// Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_page(
    layout: *const vfio_iommu_info_layout,
    index: usize,
    out: *mut vfio_iommu_info_mapping_count,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_page";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        let out = Out::new(out, F, "out")?;
        let pages = &l.layout.per_page;
        let c = pages
            .get(index)
            .ok_or_else(|| range_failure(F, index, pages.len()))?;
        out.write(vfio_iommu_info_mapping_count {
            page_size: c.page_size,
            entries: c.entries,
        });
        Ok(())
    })
}

/// The layout as the JSON object `vfio-iommu-info plan --json` prints under `layout`
/// (`placements`, `all_placed`, `mappings`), exact integers up to 2^64-1. On success,
/// `*json` receives a NUL-terminated string the caller frees with
/// `vfio_iommu_info_string_free()`.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success. Since 0.2.
///
/// # Safety
/// `layout` must be a live layout of this library; `json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_to_json(
    layout: *const vfio_iommu_info_layout,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_to_json";
    guard(|| {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, F, "layout") }?;
        let out = Out::new(json, F, "json")?;
        let text = ::vfio_iommu_info::json::layout_to_json(&l.layout).to_string();
        out.write(crate::info::json_string(F, text)?);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.2":
    vfio_iommu_info_layout_new,
    vfio_iommu_info_layout_free,
    vfio_iommu_info_layout_placement_count,
    vfio_iommu_info_layout_placement,
    vfio_iommu_info_layout_hole_cause,
    vfio_iommu_info_layout_mappings,
    vfio_iommu_info_layout_page_count,
    vfio_iommu_info_layout_page,
    vfio_iommu_info_layout_to_json,
);

#[cfg(test)]
mod tests {
    use std::ptr;

    use ::vfio_iommu_info::layout::guest_layout;
    use ::vfio_iommu_info::IovaSpace;

    use super::*;
    use crate::info::vfio_iommu_info_string_free;
    use crate::span::VFIO_IOMMU_INFO_SPAN_MISALIGNED;

    const GIB: u64 = 1 << 30;
    use crate::result::{
        VFIO_IOMMU_INFO_E_INVALID, VFIO_IOMMU_INFO_E_NULL, VFIO_IOMMU_INFO_E_RANGE,
    };
    use crate::space::{
        vfio_iommu_info_space_free, vfio_iommu_info_space_new, VFIO_IOMMU_INFO_REGION_RESERVED,
    };
    use crate::span::{VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE, VFIO_IOMMU_INFO_SPAN_IN_HOLE};
    use crate::testutil::*;

    fn ram(len: u64) -> vfio_iommu_info_ram_region {
        vfio_iommu_info_ram_region { len, ..sized() }
    }

    fn fixed(len: u64, addr: u64) -> vfio_iommu_info_ram_region {
        vfio_iommu_info_ram_region {
            flags: VFIO_IOMMU_INFO_RAM_FIXED,
            addr,
            ..ram(len)
        }
    }

    fn r(start: u64, end: u64) -> vfio_iommu_info_range {
        vfio_iommu_info_range { start, end }
    }

    fn layout_of(
        space: *const vfio_iommu_info_space,
        regions: &[vfio_iommu_info_ram_region],
        dma_avail: i64,
    ) -> *mut vfio_iommu_info_layout {
        let mut l = ptr::null_mut();
        // SAFETY: `space` is live; `regions` is a valid array; `l` is a local.
        let rc = unsafe {
            vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), dma_avail, &mut l)
        };
        assert_eq!(rc, 0, "{}", last_error());
        l
    }

    fn placements(l: *const vfio_iommu_info_layout) -> Vec<vfio_iommu_info_placement> {
        let mut n = 0;
        // SAFETY: `l` is live; out-pointers are locals.
        unsafe {
            assert_eq!(vfio_iommu_info_layout_placement_count(l, &mut n), 0);
            (0..n)
                .map(|i| {
                    let mut p: vfio_iommu_info_placement = sized();
                    assert_eq!(vfio_iommu_info_layout_placement(l, i, &mut p), 0);
                    assert_eq!(p.size as usize, std::mem::size_of_val(&p));
                    p
                })
                .collect()
        }
    }

    fn mappings(l: *const vfio_iommu_info_layout) -> vfio_iommu_info_mappings {
        let mut m: vfio_iommu_info_mappings = sized();
        // SAFETY: `l` is live; `m` is a local with its size set.
        assert_eq!(unsafe { vfio_iommu_info_layout_mappings(l, &mut m) }, 0);
        m
    }

    #[test]
    fn amd_ram_goes_around_the_hypertransport_hole() {
        let space = space_of(AMD);
        let regions = [
            ram(3 * GIB),
            fixed(1008 * GIB, 4 * GIB),
            fixed(8 * GIB, 1012 * GIB),
            ram(64 * GIB),
        ];
        let l = layout_of(space, &regions, 65535);
        let p = placements(l);
        let summary: Vec<_> = p
            .iter()
            .map(|p| (p.result, p.range, p.len, p.align))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                    r(0, 3 * GIB - 1),
                    3 * GIB,
                    GIB
                ),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                    r(4 * GIB, 1012 * GIB - 1),
                    1008 * GIB,
                    0
                ),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                    r(1012 * GIB, 1020 * GIB - 1),
                    8 * GIB,
                    0
                ),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                    r(1 << 40, (1 << 40) + 64 * GIB - 1),
                    64 * GIB,
                    GIB
                ),
            ]
        );
        assert_eq!(
            (p[2].problem, p[2].problem_range, p[2].hole_cause_count),
            (
                VFIO_IOMMU_INFO_SPAN_IN_HOLE,
                r(0xfd_0000_0000, 0xff_ffff_ffff),
                0
            )
        );
        assert_eq!(p[0].problem, VFIO_IOMMU_INFO_SPAN_OK);
        let m = mappings(l);
        assert_eq!(
            (
                m.all_placed,
                m.per_region,
                m.dma_avail,
                m.fits,
                m.smallest_fitting_page
            ),
            (0, 3, 65535, 1, 0x200_0000), // 1075 GiB in 32 MiB pages: 34400 mappings
        );
        // The counts and the JSON are the core's.
        let model_space =
            IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap()).unwrap();
        let ram: Vec<RamRegion> = regions
            .iter()
            .map(|r| RamRegion {
                size: r.len,
                at: (r.flags != 0).then_some(r.addr),
            })
            .collect();
        let model = guest_layout(&model_space, &ram, Some(65535)).unwrap();
        // SAFETY: `l` is live until freed; out-pointers are locals.
        unsafe {
            let mut n = 0;
            assert_eq!(vfio_iommu_info_layout_page_count(l, &mut n), 0);
            assert_eq!(n, model.per_page.len());
            for (i, want) in model.per_page.iter().enumerate() {
                let mut c = vfio_iommu_info_mapping_count {
                    page_size: 0,
                    entries: 0,
                };
                assert_eq!(vfio_iommu_info_layout_page(l, i, &mut c), 0);
                assert_eq!((c.page_size, c.entries), (want.page_size, want.entries));
            }
            let mut c = vfio_iommu_info_mapping_count {
                page_size: 1,
                entries: 1,
            };
            assert_eq!(
                vfio_iommu_info_layout_page(l, n, &mut c),
                VFIO_IOMMU_INFO_E_RANGE
            );
            assert_eq!((c.page_size, c.entries), (1, 1));
            let mut json = ptr::null_mut();
            assert_eq!(vfio_iommu_info_layout_to_json(l, &mut json), 0);
            assert_eq!(
                c_str(json),
                ::vfio_iommu_info::json::layout_to_json(&model).to_string()
            );
            vfio_iommu_info_string_free(json);
            vfio_iommu_info_layout_free(l);
            vfio_iommu_info_space_free(space);
        }
    }

    #[test]
    fn conflicts_say_why_and_name_the_holes_causes() {
        let model = IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap())
            .unwrap()
            .with_reserved_regions(&reserved_regions(AMD));
        let mut l = ptr::null_mut();
        let regions = [
            fixed(GIB, 0),
            fixed(0x1000, 0x3fff_f000),      // overlaps the first
            fixed(0x1000, u64::MAX - 0xfff), // the top page
            fixed(0x2000, 0xfd_0000_0000),   // the HyperTransport hole
            ram(0x1000),
        ];
        // SAFETY: the space is a boxed object of this module's sibling, freed once; the
        // other pointers are locals.
        unsafe {
            let space = crate::space::tests_support::boxed(model);
            assert_eq!(
                vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), -1, &mut l),
                0
            );
            vfio_iommu_info_space_free(space);
            let p = placements(l);
            let problems: Vec<_> = p.iter().map(|p| (p.result, p.problem)).collect();
            assert_eq!(
                problems,
                [
                    (VFIO_IOMMU_INFO_PLACEMENT_PLACED, VFIO_IOMMU_INFO_SPAN_OK),
                    (
                        VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                        VFIO_IOMMU_INFO_SPAN_OVERLAPS
                    ),
                    (
                        VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                        VFIO_IOMMU_INFO_SPAN_TOP_PAGE
                    ),
                    (
                        VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                        VFIO_IOMMU_INFO_SPAN_IN_HOLE
                    ),
                    (VFIO_IOMMU_INFO_PLACEMENT_PLACED, VFIO_IOMMU_INFO_SPAN_OK),
                ]
            );
            assert_eq!(p[1].problem_range, r(0, GIB - 1), "the region it overlaps");
            assert_eq!(p[2].range, r(u64::MAX - 0xfff, u64::MAX));
            assert_eq!(
                (p[3].hole_cause_count, p[3].hole_cause_types),
                (1, 1 << VFIO_IOMMU_INFO_REGION_RESERVED)
            );
            let mut c: vfio_iommu_info_reserved_region = sized();
            assert_eq!(vfio_iommu_info_layout_hole_cause(l, 3, 0, &mut c), 0);
            assert_eq!(
                (c.kind, c.range),
                (
                    VFIO_IOMMU_INFO_REGION_RESERVED,
                    r(0xfd_0000_0000, 0xff_ffff_ffff)
                )
            );
            assert_eq!(c_str(c.kind_name), "reserved");
            assert_eq!(
                vfio_iommu_info_layout_hole_cause(l, 3, 1, &mut c),
                VFIO_IOMMU_INFO_E_RANGE
            );
            assert_eq!(
                vfio_iommu_info_layout_hole_cause(l, 0, 0, &mut c),
                VFIO_IOMMU_INFO_E_RANGE
            );
            assert_eq!(
                vfio_iommu_info_layout_hole_cause(l, 5, 0, &mut c),
                VFIO_IOMMU_INFO_E_RANGE
            );
            let m = mappings(l);
            assert_eq!(
                (m.dma_avail, m.fits, m.smallest_fitting_page),
                (VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN, -1, 0)
            );
            vfio_iommu_info_layout_free(l);
        }
    }

    #[test]
    fn no_room_beyond_the_intel_aperture_and_unknown_page_sizes() {
        let space = space_of(INTEL39);
        let l = layout_of(
            space,
            &[
                ram(3 * GIB),
                ram(64 * GIB),
                ram(1 << 40),
                fixed(0x1000, 1 << 39),
            ],
            2,
        );
        let p = placements(l);
        assert_eq!(
            (p[2].result, p[2].len, p[2].align, p[2].range),
            (VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM, 1 << 40, GIB, r(0, 0))
        );
        assert_eq!(
            (p[3].problem, p[3].problem_range),
            (VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE, r(0, (1 << 39) - 1))
        );
        assert_eq!(p[1].range, r(4 * GIB, 68 * GIB - 1), "above the MSI window");
        let m = mappings(l);
        assert_eq!((m.per_region, m.fits), (2, 1));
        // SAFETY: freed once each.
        unsafe {
            vfio_iommu_info_layout_free(l);
            vfio_iommu_info_space_free(space);
        }
        // Without page sizes, the 4 KiB granule still applies to fixed regions.
        let mut space = ptr::null_mut();
        let ranges = [r(0, 0xffff_ffff)];
        // SAFETY: a valid array and out-pointer; freed once.
        unsafe {
            assert_eq!(
                vfio_iommu_info_space_new(ranges.as_ptr(), 1, 0, &mut space),
                0
            )
        };
        let l = layout_of(space, &[fixed(0x800, 0x800), ram(0x800)], -1);
        let p = placements(l);
        assert_eq!(
            (p[0].problem, p[0].page_size),
            (VFIO_IOMMU_INFO_SPAN_MISALIGNED, 0x1000)
        );
        assert_eq!(
            (p[1].result, p[1].range, p[1].len, p[1].align),
            (VFIO_IOMMU_INFO_PLACEMENT_PLACED, r(0, 0xfff), 0x800, 0x1000),
            "the granule is what gets mapped"
        );
        // SAFETY: `l` is live; freed once each.
        unsafe {
            let mut n = 9;
            assert_eq!(vfio_iommu_info_layout_page_count(l, &mut n), 0);
            assert_eq!(n, 0, "no page sizes to count mappings in");
            vfio_iommu_info_layout_free(l);
            vfio_iommu_info_space_free(space);
        }
    }

    #[test]
    fn region_arrays_are_sized_and_checked() {
        let space = space_of(INTEL39);
        let mut l = ptr::null_mut();
        // SAFETY: valid arrays (or NULL with 0), local out-pointers; freed once.
        unsafe {
            // A caller built against a later, larger struct: its stride is respected.
            #[repr(C)]
            #[derive(Clone, Copy)]
            struct Later {
                region: vfio_iommu_info_ram_region,
                extra: u64,
            }
            let mut later = [
                Later {
                    region: fixed(GIB, 0),
                    extra: u64::MAX,
                },
                Later {
                    region: ram(GIB),
                    extra: u64::MAX,
                },
            ];
            for e in &mut later {
                e.region.size = std::mem::size_of::<Later>() as u32;
            }
            let p = later.as_ptr().cast::<vfio_iommu_info_ram_region>();
            assert_eq!(
                vfio_iommu_info_layout_new(space, p, 2, -1, &mut l),
                0,
                "{}",
                last_error()
            );
            let got = placements(l);
            assert_eq!(
                (got[0].range, got[1].range),
                (r(0, GIB - 1), r(GIB, 2 * GIB - 1))
            );
            vfio_iommu_info_layout_free(l);

            // No regions at all.
            l = ptr::null_mut();
            assert_eq!(
                vfio_iommu_info_layout_new(space, ptr::null(), 0, 0, &mut l),
                0
            );
            assert!(placements(l).is_empty());
            assert_eq!(mappings(l).all_placed, 1);
            vfio_iommu_info_layout_free(l);

            l = ptr::null_mut();
            let bad = |regions: &[vfio_iommu_info_ram_region],
                       dma_avail: i64,
                       l: &mut *mut vfio_iommu_info_layout| {
                vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), dma_avail, l)
            };
            let mut small = ram(GIB);
            small.size = 16;
            assert_eq!(bad(&[small], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert!(
                last_error().contains("regions[0].size is 16"),
                "{}",
                last_error()
            );
            let mut odd = [ram(GIB), ram(GIB)];
            odd[1].size += 8;
            assert_eq!(bad(&odd, -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert!(
                last_error().contains("regions[1].size is 32, but regions[0].size is 24"),
                "{}",
                last_error()
            );
            let mut unaligned = ram(GIB);
            unaligned.size = 28;
            assert_eq!(bad(&[unaligned], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            let mut flags = ram(GIB);
            flags.flags = 2;
            assert_eq!(bad(&[flags], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert_eq!(bad(&[ram(0)], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert!(
                last_error().contains("regions[0].len is 0"),
                "{}",
                last_error()
            );
            assert_eq!(bad(&[ram(GIB)], -2, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert_eq!(bad(&[ram(GIB)], 1 << 32, &mut l), VFIO_IOMMU_INFO_E_INVALID);
            assert_eq!(bad(&[ram(GIB)], u32::MAX.into(), &mut l), 0);
            vfio_iommu_info_layout_free(l);
            l = ptr::null_mut();
            // A stride times the count past any array: refused before reading.
            let huge = ram(GIB);
            assert_eq!(
                vfio_iommu_info_layout_new(space, &huge, usize::MAX / 8, -1, &mut l),
                VFIO_IOMMU_INFO_E_INVALID
            );
            assert!(l.is_null(), "out written on failure");

            // NULLs.
            let regions = [ram(GIB)];
            let codes = [
                vfio_iommu_info_layout_new(ptr::null(), regions.as_ptr(), 1, -1, &mut l),
                vfio_iommu_info_layout_new(space, ptr::null(), 1, -1, &mut l),
                vfio_iommu_info_layout_new(space, regions.as_ptr(), 1, -1, ptr::null_mut()),
            ];
            assert_eq!(codes, [VFIO_IOMMU_INFO_E_NULL; 3]);
            let l = layout_of(space, &regions, -1);
            let none: *const vfio_iommu_info_layout = ptr::null();
            let mut n = 5usize;
            let mut p: vfio_iommu_info_placement = sized();
            let mut m: vfio_iommu_info_mappings = sized();
            let mut c: vfio_iommu_info_reserved_region = sized();
            let mut mc = vfio_iommu_info_mapping_count {
                page_size: 0,
                entries: 0,
            };
            let mut json = ptr::null_mut();
            let codes = [
                vfio_iommu_info_layout_placement_count(none, &mut n),
                vfio_iommu_info_layout_placement_count(l, ptr::null_mut()),
                vfio_iommu_info_layout_placement(none, 0, &mut p),
                vfio_iommu_info_layout_placement(l, 0, ptr::null_mut()),
                vfio_iommu_info_layout_hole_cause(none, 0, 0, &mut c),
                vfio_iommu_info_layout_mappings(none, &mut m),
                vfio_iommu_info_layout_mappings(l, ptr::null_mut()),
                vfio_iommu_info_layout_page_count(none, &mut n),
                vfio_iommu_info_layout_page(none, 0, &mut mc),
                vfio_iommu_info_layout_to_json(none, &mut json),
                vfio_iommu_info_layout_to_json(l, ptr::null_mut()),
            ];
            assert_eq!(codes, [VFIO_IOMMU_INFO_E_NULL; 11]);
            assert_eq!((n, json), (5, ptr::null_mut()));
            assert_eq!(
                vfio_iommu_info_layout_placement(l, 1, &mut p),
                VFIO_IOMMU_INFO_E_RANGE
            );
            p.size = 8;
            assert_eq!(
                vfio_iommu_info_layout_placement(l, 0, &mut p),
                VFIO_IOMMU_INFO_E_INVALID
            );
            assert_eq!((p.size, p.len), (8, 0));
            vfio_iommu_info_layout_free(ptr::null_mut());
            vfio_iommu_info_layout_free(l);
            vfio_iommu_info_space_free(space);
        }
    }

    /// Inputs at every edge of the 64-bit space, through the space, the allocator and the
    /// layout: no call may panic (the boundary would turn a panic into E_INTERNAL).
    #[test]
    fn edge_inputs_never_reach_a_panic() {
        use crate::allocator::*;
        use crate::space::vfio_iommu_info_space_check;
        use crate::span::vfio_iommu_info_verdict;
        const M: u64 = u64::MAX;
        let values = [
            0,
            1,
            0x7ff,
            0x800,
            0xfff,
            0x1000,
            0x1001,
            0x20_0000,
            GIB - 1,
            GIB,
            GIB + 1,
            0xfd_0000_0000,
            1 << 39,
            (1 << 39) - 1,
            1 << 63,
            M - 0x1fff,
            M - 0x1000,
            M - 0xfff,
            M - 1,
            M,
        ];
        let spaces = [
            (vec![r(0, M)], 0x1000),
            (vec![r(M - 0xfff, M)], 0x1000),
            (vec![r(0, 0)], 0),
            (vec![r(M, M)], 1),
            (vec![r(1, M - 1)], 1 << 63),
            (vec![r(0, 0xfff), r(0x1000, M)], M),
            (vec![], 0),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut calls = 0;
        for (ranges, pgsizes) in &spaces {
            let mut space = ptr::null_mut();
            // SAFETY: a valid array and out-pointer; every object is freed once.
            unsafe {
                assert_eq!(
                    vfio_iommu_info_space_new(ranges.as_ptr(), ranges.len(), *pgsizes, &mut space),
                    0
                );
                let mut a = ptr::null_mut();
                assert_eq!(vfio_iommu_info_allocator_new(space, &mut a), 0);
                for _ in 0..400 {
                    let (x, y, z) = (
                        values[next(values.len())],
                        values[next(values.len())],
                        values[next(values.len())],
                    );
                    let mut iova = 0;
                    let mut v: vfio_iommu_info_verdict = sized();
                    let codes = [
                        vfio_iommu_info_allocator_alloc(a, x, y, z, &mut iova),
                        vfio_iommu_info_allocator_reserve(a, x, y),
                        vfio_iommu_info_allocator_release(a, x, ptr::null_mut()),
                        vfio_iommu_info_space_check(space, x, y, &mut v),
                    ];
                    assert!(
                        !codes.contains(&VFIO_IOMMU_INFO_E_INTERNAL),
                        "{x:#x} {y:#x} {z:#x}: {}",
                        last_error()
                    );
                    let regions: Vec<_> = (0..1 + next(4))
                        .map(|_| {
                            let len = values[next(values.len())].max(1);
                            if next(2) == 0 {
                                ram(len)
                            } else {
                                fixed(len, values[next(values.len())])
                            }
                        })
                        .collect();
                    let dma = [-1, 0, 1, i64::from(u32::MAX)][next(4)];
                    let mut l = ptr::null_mut();
                    let rc = vfio_iommu_info_layout_new(
                        space,
                        regions.as_ptr(),
                        regions.len(),
                        dma,
                        &mut l,
                    );
                    assert_eq!(rc, 0, "{regions:?}: {}", last_error());
                    let _ = placements(l);
                    let _ = mappings(l);
                    let mut json = ptr::null_mut();
                    assert_eq!(vfio_iommu_info_layout_to_json(l, &mut json), 0);
                    vfio_iommu_info_string_free(json);
                    vfio_iommu_info_layout_free(l);
                    calls += 5;
                }
                vfio_iommu_info_allocator_free(a);
                vfio_iommu_info_space_free(space);
            }
        }
        assert!(calls > 10_000);
    }
}
