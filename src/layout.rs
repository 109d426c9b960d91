//! Guest layout for an identity map (guest physical address == IOVA): places guest RAM
//! regions in usable IOVA space or says why a fixed one cannot go where it was asked
//! (the conflicts QEMU users meet above 1010 GiB on AMD), and counts the mappings against
//! DMA_AVAIL for each page size a VMM could map in (huge pages need fewer entries).

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
    /// A fixed region the kernel would not map there.
    Conflict {
        /// The addresses asked for (the end saturates at 2^64-1).
        range: IovaRange,
        /// Why: beyond the aperture, in a hole (see `hole`), misaligned, or `None`
        /// when it overlaps another region of the layout.
        problem: Option<SpanProblem>,
        /// The hole it falls in, with the reserved regions that cause it.
        hole: Option<Hole>,
    },
    /// No usable range has room for it at the alignment needed.
    NoRoom {
        /// Bytes.
        size: u64,
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
pub fn guest_layout(space: &IovaSpace, regions: &[RamRegion], dma_avail: Option<u32>) -> Layout {
    let mut alloc = IovaAllocator::new(space);
    let mut placements: Vec<Option<Placement>> = vec![None; regions.len()];
    for (i, r) in regions.iter().enumerate() {
        let Some(at) = r.at else { continue };
        let range = IovaRange {
            start: at,
            end: at.saturating_add(r.size.saturating_sub(1)),
        };
        placements[i] = Some(match alloc.reserve(at, r.size) {
            Ok(()) => Placement::Placed { range, align: 0 },
            Err(e) => {
                let problem = match e {
                    AllocError::Unusable { problem, .. } => Some(problem),
                    AllocError::Overlaps { .. } => None,
                    _ => space.check(at, r.size).err(),
                };
                let hole = match problem {
                    Some(SpanProblem::InHole { hole }) => space.hole_at(hole.start).cloned(),
                    _ => None,
                };
                Placement::Conflict {
                    range,
                    problem,
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
        let align = pages
            .sizes()
            .filter(|&p| p <= r.size.min(GIB))
            .last()
            .unwrap_or(space.granule());
        placements[i] = Some(match alloc.alloc(r.size, align, u64::MAX) {
            // The allocator rounds the size up to the granule: that is what gets mapped.
            Ok(at) => Placement::Placed {
                range: IovaRange {
                    start: at,
                    end: at + (r.size.div_ceil(alloc.granule()) * alloc.granule() - 1),
                },
                align,
            },
            Err(_) => Placement::NoRoom { size: r.size },
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
    Layout {
        placements,
        per_region: placed.len() as u64,
        per_page,
        dma_avail,
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
        let layout = guest_layout(&space, &regions, Some(65535));
        assert_eq!(
            layout.placements[0],
            Placement::Placed {
                range: r(0, 3 * GIB - 1),
                align: GIB
            }
        );
        match &layout.placements[1] {
            Placement::Conflict {
                problem: Some(SpanProblem::InHole { hole }),
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
        let layout = guest_layout(&space, &regions, None);
        assert!(matches!(layout.placements[0], Placement::Placed { .. }));
        assert!(matches!(
            layout.placements[1],
            Placement::Conflict { problem: None, .. }
        ));
        assert_eq!(layout.placements[2], Placement::NoRoom { size: 1 << 40 });
        assert_eq!(layout.fits(), None);
    }
}
