//! Guest layout for an identity map (guest physical address == IOVA): places guest RAM
//! regions in usable IOVA space or says why a fixed one cannot go where it was asked
//! (the conflicts QEMU users meet above 1010 GiB on AMD), and counts the mappings against
//! DMA_AVAIL for each page size a VMM could map in (huge pages need fewer entries).

use std::collections::BTreeMap;
use std::fmt;

use crate::alloc::{AllocError, IovaAllocator};
use crate::iova::{IovaRange, SpanProblem};
use crate::space::{Hole, IovaSpace};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::PageSizes;
    use crate::sysfs::{RegionKind, ReservedRegion};

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
}
