//! The usable IOVA space of a container as one value: the aperture (the seed's "DMA
//! window"), the holes inside it with the reserved regions that cause them, the list a
//! virtual IOMMU must advertise as reserved, and the check of a span.

use crate::decode::type1::IommuInfo;
use crate::error::Error;
use crate::facts::DmaFacts;
use crate::iova::{self, check_span, IovaRange, PageSizes, SpanProblem};
use crate::sys::sysfs::{ReservedRegion, Sysfs};

/// A hole inside the aperture, with the reserved regions (from sysfs `reserved_regions`
/// of the container's groups) that account for it; empty when none is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// The addresses no range covers.
    pub range: IovaRange,
    /// The reserved regions that overlap the hole and that the kernel removes from the
    /// IOVA list (`msi`, `reserved`, `direct`).
    pub causes: Vec<ReservedRegion>,
}

/// The usable IOVA space: ranges (sorted, as the kernel reported them otherwise), page
/// sizes, and attributed holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IovaSpace {
    ranges: Vec<IovaRange>,
    pgsizes: Option<PageSizes>,
    holes: Vec<Hole>,
    /// The IOMMU group each reserved region came from, when [`IovaSpace::with_groups`]
    /// read them (a region several groups list appears once per group).
    origins: Vec<(u32, ReservedRegion)>,
}

impl IovaSpace {
    /// The space of these usable `ranges` (any order) and page sizes. Touching ranges are
    /// kept apart, as the kernel maps only inside one; overlapping ones, which no kernel
    /// reports but a corrupt capture may hold, are merged.
    pub fn new(ranges: &[IovaRange], pgsizes: Option<PageSizes>) -> IovaSpace {
        let mut sorted = ranges.to_vec();
        sorted.sort_unstable();
        let mut merged: Vec<IovaRange> = Vec::with_capacity(sorted.len());
        for r in sorted {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let sorted = merged;
        let holes = iova::holes(&sorted)
            .into_iter()
            .map(|range| Hole {
                range,
                causes: Vec::new(),
            })
            .collect();
        IovaSpace {
            ranges: sorted,
            pgsizes,
            holes,
            origins: Vec::new(),
        }
    }

    /// The space a container reported, or `None` when it reported no IOVA ranges (see
    /// [`IommuInfo::absence`]).
    pub fn from_info(info: &IommuInfo) -> Option<IovaSpace> {
        Some(IovaSpace::new(
            info.iova_ranges.present()?,
            info.iova_pgsizes,
        ))
    }

    /// The space the facts describe, whatever answered them (type1, iommufd's compat
    /// container, an IOAS): their ranges and page sizes, each hole attributed to their
    /// reserved regions. `None` when they hold no IOVA ranges.
    pub fn from_facts(facts: &DmaFacts) -> Option<IovaSpace> {
        let ranges = &facts.iova_ranges.as_ref()?.value;
        let space = IovaSpace::new(ranges, facts.page_sizes.as_ref().map(|f| f.value));
        Some(match &facts.reserved_regions {
            Some(regions) => space.with_reserved_regions(&regions.value),
            None => space,
        })
    }

    /// Attributes each hole to the reserved regions that cause it (the sysfs
    /// `reserved_regions` of the container's groups, all of them together).
    pub fn with_reserved_regions(mut self, regions: &[ReservedRegion]) -> IovaSpace {
        // Regions given without their groups: forget the groups of earlier ones.
        self.origins.clear();
        for hole in &mut self.holes {
            hole.causes = regions
                .iter()
                .filter(|r| r.causes_hole(hole.range))
                .cloned()
                .collect();
            hole.causes.sort_by_key(|r| r.range);
            hole.causes.dedup();
        }
        self
    }

    /// Attributes each hole to the reserved regions of these IOMMU groups (sysfs
    /// `/sys/kernel/iommu_groups/N/reserved_regions` under `sysfs`), remembering which
    /// group listed each, so that [`IovaSpace::explain`] can name it. For a caller that
    /// holds only a container or IOAS fd and knows its groups; [`Container::space`] reads
    /// its own groups the same way.
    ///
    /// # Errors
    /// The first group whose `reserved_regions` cannot be read or parsed
    /// ([`Error::Sysfs`], [`Error::SysfsFormat`], naming the file).
    ///
    /// [`Container::space`]: crate::Container::space
    pub fn with_groups(self, sysfs: &Sysfs, groups: &[u32]) -> Result<IovaSpace, Error> {
        let mut origins = Vec::new();
        for &group in groups {
            origins.extend(
                sysfs
                    .reserved_regions(group)?
                    .into_iter()
                    .map(|r| (group, r)),
            );
        }
        let regions: Vec<ReservedRegion> = origins.iter().map(|(_, r)| r.clone()).collect();
        let mut space = self.with_reserved_regions(&regions);
        space.origins = origins;
        Ok(space)
    }

    /// This space with its holes attributed to what `other` knows (the reserved regions
    /// behind its holes, and which group listed each) and to `regions` of `group`: the
    /// space a container will have once `group` is attached to the one `other` describes.
    pub(crate) fn with_origins_of(
        self,
        other: &IovaSpace,
        group: u32,
        regions: &[ReservedRegion],
    ) -> IovaSpace {
        let mut origins = other.origins.clone();
        origins.extend(regions.iter().map(|r| (group, r.clone())));
        let all: Vec<ReservedRegion> = other
            .holes
            .iter()
            .flat_map(|h| h.causes.iter())
            .chain(origins.iter().map(|(_, r)| r))
            .cloned()
            .collect();
        let mut space = self.with_reserved_regions(&all);
        space.origins = origins;
        space
    }

    /// The IOMMU groups that list `region` among their reserved regions, ascending (empty
    /// unless the space was made with [`IovaSpace::with_groups`]).
    pub fn groups_of(&self, region: &ReservedRegion) -> Vec<u32> {
        let mut groups: Vec<u32> = self
            .origins
            .iter()
            .filter(|(_, r)| r == region)
            .map(|(g, _)| *g)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The usable ranges, ascending.
    pub fn ranges(&self) -> &[IovaRange] {
        &self.ranges
    }

    /// The supported IOMMU page sizes, when reported.
    pub fn page_sizes(&self) -> Option<PageSizes> {
        self.pgsizes
    }

    /// The smallest page size: every mapping's address and size are multiples of it.
    /// 4 KiB when the kernel did not report page sizes.
    pub fn granule(&self) -> u64 {
        self.pgsizes.and_then(PageSizes::smallest).unwrap_or(4096)
    }

    /// The aperture: the lowest start to the highest end. `None` without ranges.
    pub fn aperture(&self) -> Option<IovaRange> {
        iova::aperture(&self.ranges)
    }

    /// The holes inside the aperture, ascending.
    pub fn holes(&self) -> &[Hole] {
        &self.holes
    }

    /// The hole containing `iova`, if any.
    pub fn hole_at(&self, iova: u64) -> Option<&Hole> {
        let i = self.holes.partition_point(|h| h.range.end < iova);
        self.holes.get(i).filter(|h| h.range.contains(iova))
    }

    /// What a virtual IOMMU must advertise as reserved so that a guest never maps where
    /// the host cannot (virtio-iommu's `VIRTIO_IOMMU_RESV_MEM_T_RESERVED` regions): the
    /// complement of the usable ranges in the 64-bit space, below and above the aperture
    /// included. Empty only when the ranges cover everything.
    pub fn reserved(&self) -> Vec<IovaRange> {
        iova::subtract(IovaRange::FULL, &self.ranges)
    }

    /// Whether `[iova, iova + len)` can be mapped: `Ok`, or the first reason not (see
    /// [`check_span`]); [`IovaSpace::hole_at`] tells which reserved region a hole comes
    /// from. Exact to 2^64-1.
    pub fn check(&self, iova: u64, len: u64) -> Result<(), SpanProblem> {
        check_span(&self.ranges, self.pgsizes, iova, len)
    }

    /// The range that holds `[iova, iova + len)` whole, if one does.
    pub fn range_holding(&self, iova: u64, len: u64) -> Option<IovaRange> {
        let i = self.ranges.partition_point(|r| r.end < iova);
        self.ranges[i..]
            .iter()
            .take_while(|r| r.start <= iova)
            .find(|r| r.contains_span(iova, len))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::sysfs::RegionKind;

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    #[test]
    fn every_source_gives_the_same_space_through_its_facts() {
        use crate::decode::ioas::IoasRanges;
        let ranges = vec![r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)];
        let msi = ReservedRegion {
            range: r(0xfee0_0000, 0xfeef_ffff),
            kind: RegionKind::Msi,
        };
        let ioas = IoasRanges {
            ranges: ranges.clone(),
            alignment: 4096,
            calls: 1,
        };
        let facts = DmaFacts::from_iommufd(&ioas, None).with_sysfs(Ok(vec![msi.clone()]));
        let space = IovaSpace::from_facts(&facts).unwrap();
        assert_eq!(space.ranges(), &ranges[..]);
        assert_eq!(space.holes().len(), 1);
        assert_eq!(space.holes()[0].causes, vec![msi]);
        // The same ranges without reserved regions: the hole, without a cause.
        let bare = IovaSpace::from_facts(&DmaFacts::from_iommufd(&ioas, None)).unwrap();
        assert_eq!(bare.holes()[0].range, space.holes()[0].range);
        assert!(bare.holes()[0].causes.is_empty());
        // No ranges, no space.
        let rangeless = DmaFacts {
            iova_ranges: None,
            ..facts
        };
        assert!(IovaSpace::from_facts(&rangeless).is_none());
    }

    #[test]
    fn overlapping_ranges_merge_and_touching_ones_stay_apart() {
        let s = IovaSpace::new(
            &[
                r(0x1000, 0x2fff),
                r(0, 0x1fff),
                r(0x1000, 0x1fff),
                r(0x3000, 0x3fff),
                r(0x2_0000, u64::MAX),
                r(0x2_0000, 0x3_0000),
            ],
            None,
        );
        assert_eq!(
            s.ranges(),
            [r(0, 0x2fff), r(0x3000, 0x3fff), r(0x2_0000, u64::MAX)]
        );
        assert_eq!(s.holes().len(), 1);
    }

    fn amd() -> IovaSpace {
        // Linux 6.12, amd-iommu (tests/fixtures/linux-6.12-amd).
        IovaSpace::new(
            &[
                r(0x100_0000_0000, u64::MAX),
                r(0, 0xfedf_ffff),
                r(0xfef0_0000, 0xfc_ffff_ffff),
            ],
            Some(PageSizes(0x000f_ff7f_ffff_f000)),
        )
    }

    #[test]
    fn holes_are_attributed_to_the_regions_that_cause_them() {
        let regions = [
            ReservedRegion {
                range: r(0xfee0_0000, 0xfeef_ffff),
                kind: RegionKind::Msi,
            },
            ReservedRegion {
                range: r(0xfd_0000_0000, 0xff_ffff_ffff),
                kind: RegionKind::Reserved,
            },
            // Relaxable regions stay in the IOVA list: they cause no hole.
            ReservedRegion {
                range: r(0, 0xff_ffff),
                kind: RegionKind::DirectRelaxable,
            },
        ];
        let space = amd().with_reserved_regions(&regions);
        let holes = space.holes();
        assert_eq!(holes.len(), 2);
        assert_eq!(holes[0].range, r(0xfee0_0000, 0xfeef_ffff));
        assert_eq!(holes[0].causes, vec![regions[0].clone()]);
        assert_eq!(holes[1].causes, vec![regions[1].clone()]);
        assert_eq!(space.hole_at(0xfd_8000_0000), Some(&holes[1]));
        assert_eq!(space.hole_at(0xfedf_ffff), None);
        assert_eq!(space.hole_at(0xfef0_0000), None);
    }

    #[test]
    fn the_reserved_list_is_the_complement_in_the_64_bit_space() {
        assert_eq!(
            amd().reserved(),
            vec![
                r(0xfee0_0000, 0xfeef_ffff),
                r(0xfd_0000_0000, 0xff_ffff_ffff)
            ]
        );
        // intel-iommu, 39 bits: everything above the aperture too.
        let intel = IovaSpace::new(
            &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
            Some(PageSizes(0x4020_1000)),
        );
        assert_eq!(
            intel.reserved(),
            vec![r(0xfee0_0000, 0xfeef_ffff), r(0x80_0000_0000, u64::MAX)]
        );
        assert_eq!(IovaSpace::new(&[r(0, u64::MAX)], None).reserved(), vec![]);
        assert_eq!(IovaSpace::new(&[], None).reserved(), vec![IovaRange::FULL]);
    }

    #[test]
    fn range_holding_finds_the_one_range() {
        let space = amd();
        assert_eq!(space.range_holding(0, 0x1000), Some(r(0, 0xfedf_ffff)));
        assert_eq!(space.range_holding(0xfedf_f000, 0x2000), None);
        assert_eq!(
            space.range_holding(u64::MAX - 0xfff, 0x1000),
            Some(r(0x100_0000_0000, u64::MAX))
        );
        assert_eq!(space.range_holding(u64::MAX, 2), None);
        assert_eq!(space.granule(), 0x1000);
    }
}
