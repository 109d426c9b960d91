//! Guest layout for an identity map (guest physical address == IOVA): places guest RAM
//! regions in usable IOVA space or says why a fixed one cannot go where it was asked
//! (the conflicts QEMU users meet above 1010 GiB on AMD), and counts the mappings against
//! DMA_AVAIL for each page size a VMM could map in (huge pages need fewer entries).

use std::collections::BTreeMap;
use std::fmt;

use crate::iova::{IovaRange, SpanProblem};
use crate::plan::alloc::{AllocError, IovaAllocator};
use crate::plan::free_space::FreeSpace;
use crate::plan::space::{Hole, IovaSpace};

/// A guest RAM region: its size, and its guest physical address when fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamRegion {
    /// Bytes.
    pub size: u64,
    /// The address asked for; `None` to let the layout choose.
    pub at: Option<u64>,
}

/// Where a region went, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Placed (a fixed region at its address, the others where they fit).
    Placed {
        /// The addresses.
        range: IovaRange,
        /// The alignment chosen for a region the layout placed (its address for fixed
        /// ones: 0).
        align: u64,
    },
    /// A fixed region that cannot go at its address.
    Conflict {
        /// The addresses asked for (the end saturates at 2^64-1).
        range: IovaRange,
        /// Why.
        reason: Conflict,
        /// The hole it falls in, with the reserved regions that cause it.
        hole: Option<Hole>,
    },
    /// No usable range has room for it at the alignment needed.
    NoRoom {
        /// Bytes.
        size: u64,
        /// The alignment it needed (the one [`Placement::Placed`] would report).
        align: u64,
    },
}

/// Why a fixed region cannot go at its address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The kernel would not map it there: beyond the aperture, in a hole, across two
    /// ranges, or not aligned to the smallest IOMMU page size.
    Unusable(SpanProblem),
    /// It overlaps a fixed region given before it.
    OverlapsRegion {
        /// That region's index in the layout.
        index: usize,
        /// That region's addresses.
        range: IovaRange,
    },
    /// It reaches the last page of the 64-bit space, which Linux's type1 maps but can
    /// never unmap (`iova + size` wraps to 0).
    TopPage,
    /// The allocator refused it for a reason none of the above names (none does in this
    /// version: kept so that a new allocator rule is reported, not mislabelled).
    Refused(AllocError),
}

impl Conflict {
    /// A stable machine-readable code: the [`SpanProblem::code`] of an unusable span,
    /// `overlaps_region`, `top_page`, or the [`AllocError::code`] of a refusal.
    pub const fn code(&self) -> &'static str {
        match self {
            Conflict::Unusable(problem) => problem.code(),
            Conflict::OverlapsRegion { .. } => "overlaps_region",
            Conflict::TopPage => "top_page",
            Conflict::Refused(e) => e.code(),
        }
    }

    /// The span problem, for an unusable span.
    pub fn problem(&self) -> Option<&SpanProblem> {
        match self {
            Conflict::Unusable(problem) => Some(problem),
            _ => None,
        }
    }

    /// The range the region hit: the aperture or hole of an unusable span
    /// ([`SpanProblem::range`]), or the addresses of the fixed region it overlaps.
    pub fn range(&self) -> Option<IovaRange> {
        match self {
            Conflict::Unusable(problem) => problem.range(),
            Conflict::OverlapsRegion { range, .. } => Some(*range),
            _ => None,
        }
    }

    /// The index of the fixed region an `overlaps_region` conflict overlaps.
    pub fn region(&self) -> Option<usize> {
        match self {
            Conflict::OverlapsRegion { index, .. } => Some(*index),
            _ => None,
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Unusable(problem) => problem.fmt(f),
            Conflict::OverlapsRegion { index, range } => write!(
                f,
                "it overlaps region {index} at [{:#x}, {:#x}]",
                range.start, range.end
            ),
            Conflict::TopPage => f.write_str(
                "it reaches the last page of the 64-bit space, which Linux's type1 can map but never unmap (iova + size wraps to 0)",
            ),
            Conflict::Refused(e) => e.fmt(f),
        }
    }
}

/// A region [`guest_layout`] cannot lay out at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A region of 0 bytes.
    #[error("guest RAM region {index} has size 0: a region needs at least one byte")]
    EmptyRegion {
        /// Its index.
        index: usize,
    },
}

/// How many mappings the placed regions need when mapped in pages of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingCount {
    /// The page size (one `VFIO_IOMMU_MAP_DMA` per page: how DPDK and SPDK map hugepages).
    pub page_size: u64,
    /// The mappings needed.
    pub entries: u64,
}

/// A guest layout: one placement per region, in the order given, and the mapping counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Per region.
    pub placements: Vec<Placement>,
    /// Mappings needed with one `MAP_DMA` per placed region (how QEMU maps RAM).
    pub per_region: u64,
    /// Mappings needed per IOMMU page size (those up to 1 GiB), ascending.
    pub per_page: Vec<MappingCount>,
    /// How many more mappings the container accepts, when known.
    pub dma_avail: Option<u32>,
}

impl Layout {
    /// Whether every region was placed.
    pub fn all_placed(&self) -> bool {
        self.placements
            .iter()
            .all(|p| matches!(p, Placement::Placed { .. }))
    }

    /// Whether one mapping per region fits DMA_AVAIL (`None` when DMA_AVAIL is unknown).
    pub fn fits(&self) -> Option<bool> {
        Some(self.per_region <= u64::from(self.dma_avail?))
    }

    /// The smallest page size whose mapping count fits DMA_AVAIL, for a VMM that maps
    /// page by page.
    pub fn smallest_fitting_page(&self) -> Option<u64> {
        let avail = u64::from(self.dma_avail?);
        self.per_page
            .iter()
            .find(|c| c.entries <= avail)
            .map(|c| c.page_size)
    }
}

const GIB: u64 = 1 << 30;

/// Lays out `regions` in `space` for an identity map: fixed regions first (checked
/// against the ranges and each other), then the others ascending, each aligned to the
/// largest IOMMU page size not above min(size, 1 GiB) so huge pages can map it.
///
/// A region that cannot be placed is an answer (its [`Placement`] says why); only a
/// region of 0 bytes is an error.
pub fn guest_layout(
    space: &IovaSpace,
    regions: &[RamRegion],
    dma_avail: Option<u32>,
) -> Result<Layout, LayoutError> {
    if let Some(index) = regions.iter().position(|r| r.size == 0) {
        return Err(LayoutError::EmptyRegion { index });
    }
    let mut alloc = IovaAllocator::new(space);
    let mut placements: Vec<Option<Placement>> = vec![None; regions.len()];
    let mut fixed = BTreeMap::new();
    for (i, r) in regions.iter().enumerate() {
        let Some(at) = r.at else { continue };
        let range = IovaRange {
            start: at,
            end: at.saturating_add(r.size - 1),
        };
        placements[i] = Some(match alloc.reserve(at, r.size) {
            Ok(()) => {
                fixed.insert(at, (i, range));
                Placement::Placed { range, align: 0 }
            }
            Err(e) => {
                let reason = conflict(e, &fixed);
                let hole = match reason {
                    Conflict::Unusable(SpanProblem::InHole { hole }) => {
                        space.hole_at(hole.start).cloned()
                    }
                    _ => None,
                };
                Placement::Conflict {
                    range,
                    reason,
                    hole,
                }
            }
        });
    }
    // The others, in the order given, where the allocator would put them (the same
    // answers as `IovaAllocator::alloc(size, align, u64::MAX)`), with the free space
    // indexed so that each placement costs O(log n) whatever the fragmentation.
    let floating: Vec<(usize, u64, u64)> = regions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.at.is_none())
        .map(|(i, r)| (i, r.size, layout_align(space, r.size)))
        .collect();
    let granule = alloc.granule();
    let mut free = FreeSpace::new(
        granule,
        alloc.free_extents(),
        floating.iter().map(|&(_, _, align)| align),
    );
    for (i, size, align) in floating {
        placements[i] = Some(match free.alloc(size, align) {
            // The allocator rounds the size up to the granule: that is what gets mapped.
            Some((at, rounded)) => Placement::Placed {
                range: IovaRange {
                    start: at,
                    end: at + (rounded - 1),
                },
                align,
            },
            None => Placement::NoRoom { size, align },
        });
    }
    let placements: Vec<Placement> = placements.into_iter().flatten().collect();
    let placed: Vec<IovaRange> = placements
        .iter()
        .filter_map(|p| match p {
            Placement::Placed { range, .. } => Some(*range),
            _ => None,
        })
        .collect();
    Ok(Layout {
        placements,
        per_region: placed.len() as u64,
        per_page: per_page(space, &placed),
        dma_avail,
    })
}

/// The mappings `ranges` need when each is mapped one page at a time (one `MAP_DMA` per
/// page, as DPDK and SPDK map hugepages), for each IOMMU page size of `space` up to 1 GiB
/// (the default sizes when it reports none), ascending. Saturates at 2^64 - 1.
pub(crate) fn per_page(space: &IovaSpace, ranges: &[IovaRange]) -> Vec<MappingCount> {
    space
        .page_sizes()
        .unwrap_or_default()
        .sizes()
        .filter(|&p| p <= GIB)
        .map(|page_size| MappingCount {
            page_size,
            entries: ranges
                .iter()
                .map(|r| {
                    // [0, 2^64 - 1] is 2^64 bytes.
                    let len = u128::from(r.end - r.start) + 1;
                    u64::try_from(len.div_ceil(u128::from(page_size))).unwrap_or(u64::MAX)
                })
                .fold(0, u64::saturating_add),
        })
        .collect()
}

/// The alignment the layout gives a region it places: the largest IOMMU page size not
/// above min(size, 1 GiB), so huge pages can map it; else the granule.
fn layout_align(space: &IovaSpace, size: u64) -> u64 {
    space
        .page_sizes()
        .unwrap_or_default()
        .sizes()
        .filter(|&p| p <= size.min(GIB))
        .last()
        .unwrap_or(space.granule())
}

/// Why the allocator refused to reserve a fixed region. `fixed` maps the start of each
/// fixed region placed so far (the allocator's only live spans) to its index and range.
fn conflict(e: AllocError, fixed: &BTreeMap<u64, (usize, IovaRange)>) -> Conflict {
    match e {
        AllocError::Unusable { problem, .. } => Conflict::Unusable(problem),
        AllocError::TopPage { .. } => Conflict::TopPage,
        // Only when the page sizes are unknown: the allocator still maps in 4 KiB pages.
        AllocError::Misaligned { granule, .. } => {
            Conflict::Unusable(SpanProblem::Misaligned { page: granule })
        }
        AllocError::Overlaps { other, .. } => match fixed.get(&other) {
            Some(&(index, range)) => Conflict::OverlapsRegion { index, range },
            None => Conflict::Refused(e),
        },
        e => Conflict::Refused(e),
    }
}

/// The implementation before issue 18, kept as the oracle of the property test: the
/// allocator places each region, scanning every free extent when no size class fits.
#[cfg(test)]
mod reference {
    use super::*;

    /// Exactly `guest_layout` as of 36e6799.
    pub(super) fn guest_layout(
        space: &IovaSpace,
        regions: &[RamRegion],
        dma_avail: Option<u32>,
    ) -> Result<Layout, LayoutError> {
        if let Some(index) = regions.iter().position(|r| r.size == 0) {
            return Err(LayoutError::EmptyRegion { index });
        }
        let mut alloc = IovaAllocator::new(space);
        let mut placements: Vec<Option<Placement>> = vec![None; regions.len()];
        let mut fixed = BTreeMap::new();
        for (i, r) in regions.iter().enumerate() {
            let Some(at) = r.at else { continue };
            let range = IovaRange {
                start: at,
                end: at.saturating_add(r.size - 1),
            };
            placements[i] = Some(match alloc.reserve(at, r.size) {
                Ok(()) => {
                    fixed.insert(at, (i, range));
                    Placement::Placed { range, align: 0 }
                }
                Err(e) => {
                    let reason = conflict(e, &fixed);
                    let hole = match reason {
                        Conflict::Unusable(SpanProblem::InHole { hole }) => {
                            space.hole_at(hole.start).cloned()
                        }
                        _ => None,
                    };
                    Placement::Conflict {
                        range,
                        reason,
                        hole,
                    }
                }
            });
        }
        let pages = space.page_sizes().unwrap_or_default();
        for (i, r) in regions.iter().enumerate() {
            if r.at.is_some() {
                continue;
            }
            let align = layout_align(space, r.size);
            placements[i] = Some(match alloc.alloc(r.size, align, u64::MAX) {
                // The allocator rounds the size up to the granule: that is what gets mapped.
                Ok(at) => Placement::Placed {
                    range: IovaRange {
                        start: at,
                        end: at + (r.size.div_ceil(alloc.granule()) * alloc.granule() - 1),
                    },
                    align,
                },
                Err(_) => Placement::NoRoom {
                    size: r.size,
                    align,
                },
            });
        }
        let placements: Vec<Placement> = placements.into_iter().flatten().collect();
        let placed: Vec<u64> = placements
            .iter()
            .filter_map(|p| match p {
                Placement::Placed { range, .. } => Some(range.end - range.start + 1),
                _ => None,
            })
            .collect();
        let per_page = pages
            .sizes()
            .filter(|&p| p <= GIB)
            .map(|page_size| MappingCount {
                page_size,
                // Placed regions are disjoint below 2^64, so this cannot overflow; saturate anyway.
                entries: placed
                    .iter()
                    .fold(0u64, |n, s| n.saturating_add(s.div_ceil(page_size))),
            })
            .collect();
        Ok(Layout {
            placements,
            per_region: placed.len() as u64,
            per_page,
            dma_avail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::PageSizes;
    use crate::sys::sysfs::{RegionKind, ReservedRegion};

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    #[test]
    fn amd_above_1010_gib_is_the_hypertransport_hole() {
        let ht = ReservedRegion {
            range: r(0xfd_0000_0000, 0xff_ffff_ffff),
            kind: RegionKind::Reserved,
        };
        let space = IovaSpace::new(
            &[
                r(0, 0xfedf_ffff),
                r(0xfef0_0000, 0xfc_ffff_ffff),
                r(0x100_0000_0000, u64::MAX),
            ],
            Some(PageSizes(0x4020_1000)),
        )
        .with_reserved_regions(std::slice::from_ref(&ht));
        let regions = [
            RamRegion {
                size: 3 * GIB,
                at: None,
            },
            RamRegion {
                size: 8 * GIB,
                at: Some(1012 * GIB),
            },
            RamRegion {
                size: 64 * GIB,
                at: None,
            },
        ];
        let layout = guest_layout(&space, &regions, Some(65535)).unwrap();
        assert_eq!(
            layout.placements[0],
            Placement::Placed {
                range: r(0, 3 * GIB - 1),
                align: GIB
            }
        );
        match &layout.placements[1] {
            Placement::Conflict {
                reason: Conflict::Unusable(SpanProblem::InHole { hole }),
                hole: Some(h),
                ..
            } => {
                assert_eq!(*hole, ht.range);
                assert_eq!(h.causes, vec![ht.clone()]);
            }
            other => panic!("{other:?}"),
        }
        // 64 GiB go above the MSI hole, 1 GiB-aligned: at 4 GiB.
        assert_eq!(
            layout.placements[2],
            Placement::Placed {
                range: r(4 * GIB, 68 * GIB - 1),
                align: GIB
            }
        );
        assert!(!layout.all_placed());
        assert_eq!(layout.per_region, 2);
        assert_eq!(layout.fits(), Some(true));
        // 67 GiB in 4K pages: 17563648 entries; in 2M: 34304; in 1G: 67.
        assert_eq!(
            layout.per_page,
            vec![
                MappingCount {
                    page_size: 0x1000,
                    entries: 67 * GIB / 0x1000
                },
                MappingCount {
                    page_size: 0x20_0000,
                    entries: 67 * 512
                },
                MappingCount {
                    page_size: GIB,
                    entries: 67
                },
            ]
        );
        assert_eq!(layout.smallest_fitting_page(), Some(0x20_0000));
    }

    #[test]
    fn overlapping_fixed_regions_and_no_room() {
        let space = IovaSpace::new(&[r(0, 0x7f_ffff_ffff)], Some(PageSizes(0x4020_1000)));
        let regions = [
            RamRegion {
                size: 4 * GIB,
                at: Some(0),
            },
            RamRegion {
                size: GIB,
                at: Some(2 * GIB),
            },
            RamRegion {
                size: 1 << 40,
                at: None,
            },
        ];
        let layout = guest_layout(&space, &regions, None).unwrap();
        assert!(matches!(layout.placements[0], Placement::Placed { .. }));
        let reason = Conflict::OverlapsRegion {
            index: 0,
            range: r(0, 4 * GIB - 1),
        };
        assert_eq!(reason.code(), "overlaps_region");
        assert_eq!(
            reason.to_string(),
            "it overlaps region 0 at [0x0, 0xffffffff]"
        );
        assert_eq!(
            layout.placements[1],
            Placement::Conflict {
                range: r(2 * GIB, 3 * GIB - 1),
                reason,
                hole: None
            }
        );
        assert_eq!(
            layout.placements[2],
            Placement::NoRoom {
                size: 1 << 40,
                align: GIB
            }
        );
        assert_eq!(layout.fits(), None);
    }

    #[test]
    fn the_overlapped_region_is_named_among_many() {
        let space = IovaSpace::new(&[r(0, 0x7f_ffff_ffff)], Some(PageSizes(0x1000)));
        let mut regions: Vec<RamRegion> = (0..8)
            .map(|i| RamRegion {
                size: 0x1000,
                at: Some(i * 0x10_0000),
            })
            .collect();
        // Over region 5's page, starting before it.
        regions.push(RamRegion {
            size: 0x2000,
            at: Some(5 * 0x10_0000 - 0x1000),
        });
        let layout = guest_layout(&space, &regions, None).unwrap();
        match &layout.placements[8] {
            Placement::Conflict { reason, .. } => assert_eq!(
                *reason,
                Conflict::OverlapsRegion {
                    index: 5,
                    range: r(0x50_0000, 0x50_0fff)
                }
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_top_page_and_unknown_page_sizes_are_named_not_called_overlaps() {
        // Usable to 2^64-1: the kernel's ranges allow the top page, the allocator not.
        let space = IovaSpace::new(&[r(0, u64::MAX)], Some(PageSizes(0x1000)));
        let top = RamRegion {
            size: 0x2000,
            at: Some(u64::MAX - 0x1fff),
        };
        let layout = guest_layout(&space, &[top], None).unwrap();
        match &layout.placements[0] {
            Placement::Conflict { reason, range, .. } => {
                assert_eq!(*reason, Conflict::TopPage);
                assert_eq!(reason.code(), "top_page");
                assert_eq!(range.end, u64::MAX);
            }
            other => panic!("{other:?}"),
        }
        // Without page sizes the space checks no alignment, but mappings are 4 KiB pages.
        let unknown = IovaSpace::new(&[r(0, 0xffff_ffff)], None);
        let odd = RamRegion {
            size: 0x1000,
            at: Some(0x800),
        };
        let layout = guest_layout(&unknown, &[odd], None).unwrap();
        assert!(matches!(
            &layout.placements[0],
            Placement::Conflict {
                reason: Conflict::Unusable(SpanProblem::Misaligned { page: 0x1000 }),
                ..
            }
        ));
    }

    #[test]
    fn an_empty_region_is_an_error_not_a_placement() {
        let space = IovaSpace::new(&[r(0, 0xffff_ffff)], None);
        for at in [None, Some(0)] {
            let regions = [
                RamRegion {
                    size: GIB,
                    at: None,
                },
                RamRegion { size: 0, at },
            ];
            let e = guest_layout(&space, &regions, None).unwrap_err();
            assert_eq!(e, LayoutError::EmptyRegion { index: 1 });
            assert_eq!(
                e.to_string(),
                "guest RAM region 1 has size 0: a region needs at least one byte"
            );
        }
    }

    /// The placement's work (extents and tree nodes looked at) while `f` runs.
    fn probes<T>(f: impl FnOnce() -> T) -> (T, u64) {
        crate::plan::free_space::PROBES.with(|p| p.set(0));
        let out = f();
        (out, crate::plan::free_space::PROBES.with(|p| p.get()))
    }

    const G: u64 = 0x1000;

    /// The bound on the work of a layout of `n` regions: `c * n * log2(n)`.
    fn n_log_n(n: usize, c: u64) -> u64 {
        c * n as u64 * u64::from(usize::BITS - n.leading_zeros())
    }

    /// The audit's input (issue 18): `n` fixed pages, one every other page, fill a range
    /// of 2n pages; then `n` regions of two pages, which fit nowhere. The allocator
    /// looked at all n free pages for each of them: n^2 extents.
    fn fixed_and_unplaceable(n: usize) -> (IovaSpace, Vec<RamRegion>) {
        let space = IovaSpace::new(&[r(0, 2 * n as u64 * G - 1)], Some(PageSizes(0x4020_1000)));
        let mut regions: Vec<RamRegion> = (0..n as u64)
            .map(|i| RamRegion {
                size: G,
                at: Some(2 * i * G),
            })
            .collect();
        regions.extend((0..n).map(|_| RamRegion {
            size: 2 * G,
            at: None,
        }));
        (space, regions)
    }

    /// `n` free extents of 120 KiB that hold 64 KiB but not 64 KiB-aligned, then `n` that
    /// hold it exactly, and `n` regions of 64 KiB: no extent holds size + align - 4K, so
    /// the allocator scanned from the bottom for each, past every misaligned extent.
    fn misaligned_then_exact(n: usize) -> (IovaSpace, Vec<RamRegion>) {
        const K: u64 = 0x400;
        let n64 = n as u64;
        let end = (1u64 << 48) - 1;
        let space = IovaSpace::new(&[r(0, end)], Some(PageSizes(0x1_1000)));
        // Below, per 128K: 4K used, 120K free from 4K past a 64K boundary (60K above
        // the next one), 4K used.
        let mut regions = vec![RamRegion {
            size: 4 * K,
            at: Some(0),
        }];
        regions.extend((0..n64).map(|i| RamRegion {
            size: 8 * K,
            at: Some(i * 128 * K + 124 * K),
        }));
        // Above, per 128K: 64K free, 64K used, aligned.
        let base = n64 * 128 * K + 64 * K;
        regions.extend((0..n64).map(|i| RamRegion {
            size: 64 * K,
            at: Some(base + i * 128 * K + 64 * K),
        }));
        // The rest of the space is one fixed region.
        let top = base + n64 * 128 * K;
        regions.push(RamRegion {
            size: end - top + 1,
            at: Some(top),
        });
        regions.extend((0..n).map(|_| RamRegion {
            size: 64 * K,
            at: None,
        }));
        (space, regions)
    }

    #[test]
    fn the_audit_input_costs_n_log_n_not_n_squared() {
        let (space, regions) = fixed_and_unplaceable(20_000);
        let (layout, work) = probes(|| guest_layout(&space, &regions, None).unwrap());
        assert!(layout.placements[..20_000]
            .iter()
            .all(|p| matches!(p, Placement::Placed { .. })));
        assert!(layout.placements[20_000..].iter().all(|p| matches!(
            p,
            Placement::NoRoom {
                size: 0x2000,
                align: G
            }
        )));
        let bound = n_log_n(regions.len(), 8);
        assert!(
            work <= bound,
            "{work} probes for 40k regions, bound {bound}"
        );
    }

    #[test]
    fn misaligned_extents_are_skipped_in_log_n() {
        let n = 20_000;
        let (space, regions) = misaligned_then_exact(n);
        let (layout, work) = probes(|| guest_layout(&space, &regions, None).unwrap());
        let base = n as u64 * 0x2_0000 + 0x1_0000;
        assert!(layout.placements[..2 * n + 2]
            .iter()
            .all(|p| matches!(p, Placement::Placed { .. })));
        for (i, p) in layout.placements[2 * n + 2..].iter().enumerate() {
            let start = base + i as u64 * 0x2_0000;
            assert_eq!(
                *p,
                Placement::Placed {
                    range: r(start, start + 0xffff),
                    align: 0x1_0000
                }
            );
        }
        let bound = n_log_n(regions.len(), 8);
        assert!(
            work <= bound,
            "{work} probes for {} regions, bound {bound}",
            regions.len()
        );
        // The same answers as before, at a size the old code takes quickly.
        let (space, regions) = misaligned_then_exact(300);
        assert_eq!(
            guest_layout(&space, &regions, None),
            reference::guest_layout(&space, &regions, None)
        );
    }

    #[test]
    fn many_ram_regions_cost_n_log_n() {
        // 20k regions of 4K to 64M in a 39-bit space with the MSI hole: all placed, each
        // looking at the 64 lowest extents at most, and O(log n) tree nodes.
        let space = IovaSpace::new(
            &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
            Some(PageSizes(0x4020_1000)),
        );
        let regions: Vec<RamRegion> = (0..20_000u64)
            .map(|i| RamRegion {
                size: [G, 3 * G, 0x20_0000, 0x50_0000, 0x400_0000][(i % 5) as usize],
                at: None,
            })
            .collect();
        let (layout, work) = probes(|| guest_layout(&space, &regions, None).unwrap());
        assert!(layout.all_placed());
        let bound = n_log_n(regions.len(), 8);
        assert!(
            work <= bound,
            "{work} probes for 20k regions, bound {bound}"
        );
        let few = &regions[..2000];
        assert_eq!(
            guest_layout(&space, few, None),
            reference::guest_layout(&space, few, None)
        );
    }

    #[test]
    fn the_audit_input_has_the_old_answers() {
        let (space, regions) = fixed_and_unplaceable(500);
        assert_eq!(
            guest_layout(&space, &regions, Some(3)),
            reference::guest_layout(&space, &regions, Some(3))
        );
    }

    mod same_as_before {
        use super::super::*;
        use crate::iova::PageSizes;
        use proptest::prelude::*;

        const G: u64 = 0x1000;

        /// Ranges in pages from 0, some touching, some with holes, possibly one ending
        /// at 2^64-1; page sizes from none to AMD's 39.
        fn space() -> impl Strategy<Value = IovaSpace> {
            (
                prop::collection::vec((0u64..64, 1u64..96, any::<bool>()), 0..5),
                any::<bool>(),
                prop::sample::select(vec![
                    None,
                    Some(0),
                    Some(0x1000),
                    Some(0x2000),
                    Some(0x3000),
                    Some(0x1_7000),
                    Some(0x4020_1000),
                    Some(0x000f_ff7f_ffff_f000),
                ]),
            )
                .prop_map(|(pieces, to_top, pg)| {
                    let mut ranges = Vec::new();
                    let mut at = 0u64;
                    for (gap, len, touch) in pieces {
                        let start = if touch && !ranges.is_empty() {
                            at
                        } else {
                            at + gap * G
                        };
                        let end = start + len * G - 1;
                        ranges.push(IovaRange::new(start, end).unwrap());
                        at = end + 1;
                    }
                    if to_top {
                        ranges.push(IovaRange::new(u64::MAX - 95 * G + 1, u64::MAX).unwrap());
                    }
                    IovaSpace::new(&ranges, pg.map(PageSizes))
                })
        }

        fn size() -> impl Strategy<Value = u64> {
            prop_oneof![
                8 => (1u64..40).prop_map(|p| p * G),
                3 => 1u64..0x2_0000,
                1 => prop::sample::select(vec![
                    u64::MAX,
                    u64::MAX - G + 1,
                    u64::MAX - 2 * G + 1,
                    1 << 63,
                    (1 << 63) + 1,
                    1 << 62,
                    GIB,
                ]),
                1 => Just(0u64),
            ]
        }

        fn at() -> impl Strategy<Value = Option<u64>> {
            prop_oneof![
                6 => Just(None),
                4 => (0u64..700).prop_map(|p| Some(p * G)),
                1 => (0u64..0x30_0000).prop_map(Some),
                1 => (1u64..100).prop_map(|p| Some(0u64.wrapping_sub(p * G))),
                1 => prop::sample::select(vec![u64::MAX, u64::MAX - G, 1 << 63]).prop_map(Some),
            ]
        }

        /// Regions, after an optional comb of fixed pages that fragments the space into
        /// more than the allocator's 64-extent peek.
        fn regions() -> impl Strategy<Value = Vec<RamRegion>> {
            (
                prop::collection::vec(
                    (size(), at()).prop_map(|(size, at)| RamRegion { size, at }),
                    0..60,
                ),
                0u64..160,
                2u64..5,
                0u64..8,
                any::<prop::sample::Index>(),
            )
                .prop_map(|(mut regions, teeth, stride, offset, cut)| {
                    let comb = (0..teeth).map(|i| RamRegion {
                        size: G,
                        at: Some((offset + i * stride) * G),
                    });
                    // Anywhere in the list: fixed regions given before and after others.
                    let cut = cut.index(regions.len() + 1);
                    regions.splice(cut..cut, comb);
                    regions
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]

            #[test]
            fn guest_layout_answers_as_before(
                space in space(),
                regions in regions(),
                avail in prop::option::of(any::<u32>()),
            ) {
                prop_assert_eq!(
                    guest_layout(&space, &regions, avail),
                    super::super::reference::guest_layout(&space, &regions, avail)
                );
            }
        }
    }
}
