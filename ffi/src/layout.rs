//! A guest layout for an identity map as an opaque object (since 0.2): where each guest
//! RAM region goes in usable IOVA space, or why it cannot, and the mapping counts against
//! DMA_AVAIL.

use std::ffi::{c_char, c_int};

use ::vfio_iommu_info::layout::{guest_layout, Conflict, Layout, Placement, RamRegion};

use crate::args::{self, ListOut, Out, Sized32};
use crate::info::{lent, range_failure, vfio_iommu_info_range};
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
    /// Per placement, its C view, `size` set to `sizeof(struct vfio_iommu_info_placement)`:
    /// what `vfio_iommu_info_layout_placements()` lends.
    placements: Vec<vfio_iommu_info_placement>,
    /// The mapping count per page size, ascending: what `vfio_iommu_info_layout_pages()`
    /// lends.
    pages: Vec<vfio_iommu_info_mapping_count>,
    /// Per placement, the hole of an `IN_HOLE` conflict.
    holes: Vec<Option<CHole>>,
}

/// The code, range and page size of a conflict's reason.
fn conflict_code(reason: &Conflict) -> Result<(u32, vfio_iommu_info_range, u64), Failure> {
    let zero = vfio_iommu_info_range { start: 0, end: 0 };
    Ok(match reason {
        Conflict::Unusable(p) => problem_code(p)?,
        Conflict::OverlapsRegion { range, .. } => {
            (VFIO_IOMMU_INFO_SPAN_OVERLAPS, (*range).into(), 0)
        }
        Conflict::TopPage => (VFIO_IOMMU_INFO_SPAN_TOP_PAGE, zero, 0),
        other => {
            return Err(Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!("conflict {other:?} has no code"),
            ))
        }
    })
}

fn c_placement(
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
            (c.problem, c.problem_range, c.page_size) = conflict_code(reason)?;
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
    fn placement_index(&self, index: usize) -> Result<usize, Failure> {
        if index < self.placements.len() {
            Ok(index)
        } else {
            Err(range_failure(index, self.placements.len()))
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
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `n_regions` elements of `regions[0].size` bytes.
        let given = unsafe { args::sized_array(regions, n_regions, "regions") }?;
        let dma_avail = match dma_avail {
            VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN => None,
            n => Some(u32::try_from(n).map_err(|_| {
                Failure::invalid(format_args!(
                        "dma_avail {n} is neither a count (0 to {}) nor VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN (-1)",
                        u32::MAX
                    ),
                )
            })?),
        };
        let mut ram = Vec::with_capacity(given.len());
        for (i, r) in given.iter().enumerate() {
            if r.flags & !VFIO_IOMMU_INFO_RAM_FIXED != 0 {
                return Err(Failure::invalid(format_args!(
                    "regions[{i}].flags {:#x} has bits other than VFIO_IOMMU_INFO_RAM_FIXED",
                    r.flags
                )));
            }
            if r.len == 0 {
                return Err(Failure::invalid(format_args!("regions[{i}].len is 0")));
            }
            ram.push(RamRegion {
                size: r.len,
                at: (r.flags & VFIO_IOMMU_INFO_RAM_FIXED != 0).then_some(r.addr),
            });
        }
        let layout = guest_layout(&s.space, &ram, dma_avail)
            .map_err(|e| Failure::invalid(format_args!("{e}")))?;
        if layout.placements.len() != ram.len() {
            return Err(Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!(
                    "{} placements for {} regions",
                    layout.placements.len(),
                    ram.len()
                ),
            ));
        }
        let mut placements = Vec::with_capacity(ram.len());
        let mut holes = Vec::with_capacity(ram.len());
        for (p, r) in layout.placements.iter().zip(&ram) {
            let (c, hole) = c_placement(p, r)?;
            placements.push(lent(c));
            holes.push(hole);
        }
        let pages = layout
            .per_page
            .iter()
            .map(|c| vfio_iommu_info_mapping_count {
                page_size: c.page_size,
                entries: c.entries,
            })
            .collect();
        out.write(crate::handle::into_raw(vfio_iommu_info_layout {
            layout,
            placements,
            pages,
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
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(layout, "vfio_iommu_info_layout_free") }
}

/// The number of placements: one per region, in the order the regions were given.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
///
/// Superseded by `vfio_iommu_info_layout_placements()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `layout` must be a live layout of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_placement_count(
    layout: *const vfio_iommu_info_layout,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_placement_count";
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        Out::new(count, "count")?.write(l.placements.len());
        Ok(())
    })
}

/// The placement of region `index` (the order given to `vfio_iommu_info_layout_new()`),
/// into `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_placement)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.2.
///
/// Superseded by `vfio_iommu_info_layout_placements()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
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
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        out.write_sized(l.placements[l.placement_index(index)?]);
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
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = Out::new(region, "region")?;
        let out = out.check_size("region")?;
        let cause = match &l.holes[l.placement_index(index)?] {
            Some(hole) => hole.cause(cause_index)?,
            None => return Err(range_failure(cause_index, 0)),
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
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
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
/// Superseded by `vfio_iommu_info_layout_pages()` (0.4), which lends the whole list in one
/// call; kept, like every export of .so.0.
///
/// # Safety
/// `layout` must be a live layout of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_page_count(
    layout: *const vfio_iommu_info_layout,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_page_count";
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        Out::new(count, "count")?.write(l.layout.per_page.len());
        Ok(())
    })
}

/// The mapping count at `index`, ascending by page size: how many `VFIO_IOMMU_MAP_DMA`
/// calls the placed regions need in pages of that size.
///
/// Returns 0 and writes `*out`, `VFIO_IOMMU_INFO_E_RANGE`, or `VFIO_IOMMU_INFO_E_NULL`.
/// Since 0.2.
///
/// Superseded by `vfio_iommu_info_layout_pages()` (0.4), which lends the whole list in one
/// call; kept, like every export of .so.0.
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
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = Out::new(out, "out")?;
        let pages = &l.pages;
        let c = pages
            .get(index)
            .ok_or_else(|| range_failure(index, pages.len()))?;
        out.write(*c);
        Ok(())
    })
}

/// Every placement, one per region in the order the regions were given to
/// `vfio_iommu_info_layout_new()`, in one call: `*items` receives an array of `*count`
/// structs that the layout lends, read-only and valid until `vfio_iommu_info_layout_free()`
/// (NULL and 0 for a layout of no regions), each with `size` set to
/// `sizeof(struct vfio_iommu_info_placement)` of 0.4, the array's stride.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`layout`, `items` or `count`); nothing is
/// written on failure. Since 0.4.
///
/// # Safety
/// `layout` must be a live layout of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_placements(
    layout: *const vfio_iommu_info_layout,
    items: *mut *const vfio_iommu_info_placement,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_placements";
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = ListOut::new(items, count)?;
        out.write(&l.placements);
        Ok(())
    })
}

/// The mapping counts, ascending by page size (the IOMMU page sizes up to 1 GiB; none
/// when the page sizes are unknown), in one call: `*items` receives an array of `*count`
/// structs that the layout lends, read-only and valid until `vfio_iommu_info_layout_free()`
/// (NULL and 0 when there is none).
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`layout`, `items` or `count`); nothing is
/// written on failure. Since 0.4.
///
/// # Safety
/// `layout` must be a live layout of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_layout_pages(
    layout: *const vfio_iommu_info_layout,
    items: *mut *const vfio_iommu_info_mapping_count,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_layout_pages";
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = ListOut::new(items, count)?;
        out.write(&l.pages);
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
    guard(F, || {
        // SAFETY: per the contract, `layout` is NULL or a live layout.
        let l = unsafe { args::object(layout, "layout") }?;
        let out = Out::new(json, "json")?;
        let text = ::vfio_iommu_info::json::layout_to_json(&l.layout).to_string();
        out.write(crate::info::json_string(text)?);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.4":
    vfio_iommu_info_layout_placements,
    vfio_iommu_info_layout_pages,
);

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
