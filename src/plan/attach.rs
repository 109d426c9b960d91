//! What-if for hotplug: the IOVA space a container or an IOAS will have once another IOMMU
//! group (or a device of it) is attached, predicted before the attach.
//!
//! Both backends compute it the same way. type1 (`vfio_iommu_type1_attach_group`) clips
//! the container's IOVA list to the new domain's aperture and removes the group's reserved
//! regions but `direct-relaxable` ones; iommufd reserves the same regions in the IOAS
//! (`iopt_table_enforce_dev_resv_regions`) and everything outside the domain's aperture
//! (`iopt_table_add_domain`), which is why its header says to query the ranges again after
//! an attach. The regions come from sysfs; the aperture is the one a unit already serving
//! the container has, or VT-d's registers say; for other units it is named as unknown and
//! the prediction is an upper bound.

use std::fmt;

use crate::decode::hw_info::VtdRegisters;
use crate::error::{Errno, Error};
use crate::facts::Backend;
use crate::iova::{self, IovaRange};
use crate::plan::predict::{predict_attach, Mapping, Refused};
use crate::plan::space::IovaSpace;
use crate::sys::sysfs::{IommuUnit, ReservedRegion, Sysfs};

/// The aperture of the domain the attached group gets, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewAperture {
    /// The group sits behind `iommu`, a unit that already serves a group of the
    /// container: every domain of a unit has the same geometry, so the space's aperture
    /// stays.
    Shared {
        /// The unit's name in `/sys/class/iommu`.
        iommu: String,
    },
    /// From the unit's registers: VT-d's SAGAW and MGAW (sysfs `intel-iommu/cap`), see
    /// [`VtdRegisters::paging_domain_width`].
    Registers {
        /// The unit's name in `/sys/class/iommu`.
        iommu: String,
        /// The domain's address width in bits.
        bits: u8,
        /// `[0, 2^bits - 1]`.
        range: IovaRange,
    },
    /// Given by the caller, who knows the new domain's geometry.
    Given(IovaRange),
    /// Not known: the prediction keeps the space's aperture, so the kernel's ranges will
    /// be these or narrower.
    Unknown {
        /// The unit, when sysfs names it.
        iommu: Option<String>,
        /// Why its geometry is not known.
        why: String,
    },
}

impl NewAperture {
    /// The aperture the attach clips the space to; `None` when it keeps the space's.
    pub fn range(&self) -> Option<IovaRange> {
        match self {
            NewAperture::Registers { range, .. } | NewAperture::Given(range) => Some(*range),
            NewAperture::Shared { .. } | NewAperture::Unknown { .. } => None,
        }
    }

    /// Whether the prediction made with it is exact (every case but
    /// [`NewAperture::Unknown`]).
    pub fn known(&self) -> bool {
        !matches!(self, NewAperture::Unknown { .. })
    }
}

impl fmt::Display for NewAperture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewAperture::Shared { iommu } => write!(
                f,
                "unchanged: {iommu} already serves the container, and its domains share one geometry"
            ),
            NewAperture::Registers { iommu, bits, range } => write!(
                f,
                "{range}: {iommu}'s {bits}-bit paging domains (VT-d SAGAW and MGAW)"
            ),
            NewAperture::Given(range) => write!(f, "{range}: as given"),
            NewAperture::Unknown { iommu: Some(iommu), why } => {
                write!(f, "unknown for {iommu}: {why}; the ranges may end up narrower")
            }
            NewAperture::Unknown { iommu: None, why } => {
                write!(f, "unknown: {why}; the ranges may end up narrower")
            }
        }
    }
}

/// Why the attach takes a piece of the space away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenBy {
    /// One of the new group's reserved regions.
    Region(ReservedRegion),
    /// The new domain's aperture ends before (or starts after) the piece.
    Aperture(IovaRange),
}

impl fmt::Display for TakenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TakenBy::Region(r) => write!(f, "reserved region {} ({})", r.range, r.kind.name()),
            TakenBy::Aperture(a) => write!(f, "outside the new domain's aperture {a}"),
        }
    }
}

/// A piece of the space the attach takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The addresses.
    pub range: IovaRange,
    /// Why.
    pub why: TakenBy,
}

/// Why the kernel refuses the attach itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachRefusal {
    /// type1 refuses an attach that leaves no IOVA (a disjoint aperture, or regions
    /// covering all of it) with `EINVAL`.
    NothingLeft {
        /// `EINVAL`.
        errno: Errno,
    },
    /// A live mapping lies in what the attach takes away (see [`predict_attach`]).
    Mapping(Refused),
}

impl AttachRefusal {
    /// The errno the attach fails with.
    pub fn errno(&self) -> Errno {
        match self {
            AttachRefusal::NothingLeft { errno } => *errno,
            AttachRefusal::Mapping(r) => r.errno,
        }
    }
}

impl fmt::Display for AttachRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachRefusal::NothingLeft { errno } => write!(
                f,
                "the attach fails with {errno}: it would leave the container no IOVA"
            ),
            AttachRefusal::Mapping(r) => write!(
                f,
                "the attach fails with {}: mapping {} ({:#x} bytes at {:#x}) lies where it takes the space away",
                r.errno, r.index, r.mapping.len, r.mapping.iova
            ),
        }
    }
}

/// The space before and after attaching a group, with what the attach takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    /// The group attached.
    pub group: u32,
    /// The space now.
    pub before: IovaSpace,
    /// The space after the attach, each hole attributed to the regions of the groups
    /// before and of the new one.
    pub after: IovaSpace,
    /// The new domain's aperture.
    pub aperture: NewAperture,
    /// The new group's reserved regions, as sysfs lists them.
    pub regions: Vec<ReservedRegion>,
    /// What the attach takes away from the space, ascending; a piece two regions cover is
    /// listed for each.
    pub taken: Vec<Taken>,
}

impl WhatIf {
    /// Whether the prediction is exact: the aperture is known. Otherwise the kernel's
    /// ranges after the attach lie inside [`WhatIf::after`]'s.
    pub fn exact(&self) -> bool {
        self.aperture.known()
    }

    /// Whether the attach changes the usable ranges.
    pub fn changes(&self) -> bool {
        self.before.ranges() != self.after.ranges()
    }

    /// Whether, and why, the kernel refuses the attach on `backend` for a container or
    /// IOAS that holds the mappings `live`: type1 when nothing is left, then the first
    /// live mapping the space after the attach does not hold.
    pub fn refusal(&self, backend: Backend, live: &[Mapping]) -> Option<AttachRefusal> {
        if self.after.ranges().is_empty() && matches!(backend, Backend::Type1) {
            return Some(AttachRefusal::NothingLeft {
                errno: Errno(libc::EINVAL),
            });
        }
        predict_attach(&self.after, backend, live).map(AttachRefusal::Mapping)
    }
}

/// The space `before` will have once `group`, with these sysfs `regions`, is attached to
/// a domain with `aperture`.
pub fn what_if(
    before: &IovaSpace,
    group: u32,
    regions: &[ReservedRegion],
    aperture: NewAperture,
) -> WhatIf {
    let mut taken = Vec::new();
    let mut ranges = before.ranges().to_vec();
    if let Some(ap) = aperture.range() {
        for r in &ranges {
            taken.extend(iova::subtract(*r, &[ap]).into_iter().map(|range| Taken {
                range,
                why: TakenBy::Aperture(ap),
            }));
        }
        ranges.retain_mut(|r| match intersection(*r, ap) {
            Some(inside) => {
                *r = inside;
                true
            }
            None => false,
        });
    }
    let excluded: Vec<&ReservedRegion> = regions
        .iter()
        .filter(|r| r.kind.excluded_from_iova_list())
        .collect();
    for region in &excluded {
        taken.extend(
            ranges
                .iter()
                .filter_map(|r| intersection(*r, region.range))
                .map(|range| Taken {
                    range,
                    why: TakenBy::Region((*region).clone()),
                }),
        );
    }
    let cuts: Vec<IovaRange> = excluded.iter().map(|r| r.range).collect();
    // Each range splits where a region cuts it; pieces of two ranges never merge (type1
    // keeps its list's nodes apart, and iommufd's ranges never touch).
    let after_ranges: Vec<IovaRange> = ranges
        .iter()
        .flat_map(|r| iova::subtract(*r, &cuts))
        .collect();
    taken.sort_by_key(|t| t.range);
    // The page sizes stay the space's: the intersection over the domains, which a unit
    // already serving the container does not narrow.
    let after =
        IovaSpace::new(&after_ranges, before.page_sizes()).with_origins_of(before, group, regions);
    WhatIf {
        group,
        before: before.clone(),
        after,
        aperture,
        regions: regions.to_vec(),
        taken,
    }
}

/// [`what_if`] with the facts read from sysfs: `group`'s reserved regions and IOMMU unit,
/// and the units of the groups already `attached` to the container or IOAS whose space is
/// `before` (groups whose domain constrains it).
///
/// # Errors
/// A sysfs file of `group` or of an attached group that cannot be read or parsed.
pub fn what_if_attach(
    before: &IovaSpace,
    attached: &[u32],
    group: u32,
    sysfs: &Sysfs,
) -> Result<WhatIf, Error> {
    let regions = sysfs.reserved_regions(group)?;
    let aperture = new_aperture(sysfs, attached, sysfs.iommu_of_group(group)?)?;
    Ok(what_if(before, group, &regions, aperture))
}

/// The aperture of the domain a group behind `unit` gets.
fn new_aperture(
    sysfs: &Sysfs,
    attached: &[u32],
    unit: Option<IommuUnit>,
) -> Result<NewAperture, Error> {
    let Some(unit) = unit else {
        return Ok(NewAperture::Unknown {
            iommu: None,
            why: "no device of the group links to its IOMMU in sysfs".to_owned(),
        });
    };
    for &g in attached {
        if sysfs
            .iommu_of_group(g)?
            .is_some_and(|u| u.name == unit.name)
        {
            return Ok(NewAperture::Shared { iommu: unit.name });
        }
    }
    let Some((cap, ecap)) = unit.vtd else {
        return Ok(NewAperture::Unknown {
            iommu: Some(unit.name),
            why: "only VT-d's registers in sysfs give a unit's geometry (Linux 7 sizes an AMD unit's page table from the ACPI IVRS table; SMMUv3 and virtio-iommu from registers and config space sysfs does not show)".to_owned(),
        });
    };
    let regs = VtdRegisters {
        flags: 0,
        cap,
        ecap,
    };
    Ok(match regs.paging_domain_width() {
        Some(bits) => NewAperture::Registers {
            iommu: unit.name,
            bits,
            range: IovaRange {
                start: 0,
                end: u64::MAX >> (64 - u32::from(bits).clamp(1, 64)),
            },
        },
        None => NewAperture::Unknown {
            iommu: Some(unit.name),
            why: format!("VT-d cap {cap:#x} ecap {ecap:#x}: no second-stage depth, or first-stage tables whose width follows the CPU's paging mode"),
        },
    })
}

/// The addresses `a` and `b` share.
fn intersection(a: IovaRange, b: IovaRange) -> Option<IovaRange> {
    IovaRange::new(a.start.max(b.start), a.end.min(b.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::PageSizes;
    use crate::sys::sysfs::RegionKind;

    const MSI: (u64, u64) = (0xfee0_0000, 0xfeef_ffff);

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    fn region(start: u64, end: u64, kind: RegionKind) -> ReservedRegion {
        ReservedRegion {
            range: r(start, end),
            kind,
        }
    }

    fn msi() -> ReservedRegion {
        region(MSI.0, MSI.1, RegionKind::Msi)
    }

    fn intel48() -> IovaSpace {
        IovaSpace::new(
            &[r(0, MSI.0 - 1), r(MSI.1 + 1, (1 << 48) - 1)],
            Some(PageSizes(0x4020_1000)),
        )
        .with_reserved_regions(&[msi()])
    }

    #[test]
    fn a_group_behind_the_same_unit_with_the_same_regions_changes_nothing() {
        let before = intel48();
        let w = what_if(
            &before,
            3,
            &[msi()],
            NewAperture::Shared {
                iommu: "dmar0".into(),
            },
        );
        assert!(w.exact() && !w.changes());
        assert_eq!(w.after.ranges(), before.ranges());
        assert_eq!(w.after.page_sizes(), before.page_sizes());
        assert!(w.taken.is_empty(), "{:?}", w.taken);
        assert_eq!(w.after.groups_of(&msi()), vec![3]);
        assert_eq!(w.after.holes()[0].causes, vec![msi()]);
    }

    #[test]
    fn a_first_attach_to_an_empty_ioas_clips_to_the_registers_and_removes_the_regions() {
        let before = IovaSpace::new(&[IovaRange::FULL], None);
        let aperture = NewAperture::Registers {
            iommu: "dmar0".into(),
            bits: 48,
            range: r(0, (1 << 48) - 1),
        };
        let relaxable = region(0, 0xff_ffff, RegionKind::DirectRelaxable);
        let w = what_if(&before, 2, &[relaxable, msi()], aperture);
        assert_eq!(
            w.after.ranges(),
            &[r(0, MSI.0 - 1), r(MSI.1 + 1, (1 << 48) - 1)]
        );
        assert_eq!(
            w.taken,
            vec![
                Taken {
                    range: r(MSI.0, MSI.1),
                    why: TakenBy::Region(msi())
                },
                Taken {
                    range: r(1 << 48, u64::MAX),
                    why: TakenBy::Aperture(r(0, (1 << 48) - 1))
                },
            ]
        );
        assert!(w.changes() && w.exact());
        assert_eq!(w.refusal(Backend::Iommufd, &[]), None);
    }

    #[test]
    fn an_unknown_aperture_removes_only_the_regions_and_says_it_is_not_exact() {
        let before = IovaSpace::new(&[IovaRange::FULL], None);
        let ht = region(0xfd_0000_0000, 0xff_ffff_ffff, RegionKind::Reserved);
        let w = what_if(
            &before,
            2,
            &[msi(), ht.clone()],
            NewAperture::Unknown {
                iommu: Some("ivhd0".into()),
                why: "AMD".into(),
            },
        );
        assert!(!w.exact());
        assert_eq!(
            w.after.ranges(),
            &[
                r(0, MSI.0 - 1),
                r(MSI.1 + 1, 0xfc_ffff_ffff),
                r(0x100_0000_0000, u64::MAX)
            ]
        );
        assert_eq!(w.after.hole_at(0xfd_0000_0000).unwrap().causes, vec![ht]);
    }

    #[test]
    fn type1_refuses_an_attach_that_leaves_nothing_and_both_refuse_a_live_mapping_in_a_hole() {
        let before = intel48();
        let disjoint = what_if(
            &before,
            3,
            &[],
            NewAperture::Given(r(1 << 50, (1 << 51) - 1)),
        );
        assert!(disjoint.after.ranges().is_empty());
        assert_eq!(
            disjoint.refusal(Backend::Type1, &[]).map(|r| r.errno().0),
            Some(libc::EINVAL)
        );
        // Not type1's rule: iommufd accepts an IOAS with no usable IOVA.
        assert_eq!(disjoint.refusal(Backend::Iommufd, &[]), None);

        let before = IovaSpace::new(&[r(0, (1 << 48) - 1)], None);
        let rmrr = region(0x7000_0000, 0x7000_ffff, RegionKind::Direct);
        let w = what_if(
            &before,
            3,
            &[rmrr],
            NewAperture::Shared {
                iommu: "dmar0".into(),
            },
        );
        let live = [
            Mapping {
                iova: 0,
                len: 0x1000,
            },
            Mapping {
                iova: 0x7000_8000,
                len: 0x1000,
            },
        ];
        let type1 = w.refusal(Backend::Type1, &live).expect("refused");
        assert_eq!(type1.errno().0, libc::EINVAL);
        assert!(matches!(type1, AttachRefusal::Mapping(ref m) if m.index == 1));
        assert_eq!(
            w.refusal(Backend::Iommufd, &live).map(|r| r.errno().0),
            Some(libc::EADDRINUSE)
        );
        assert_eq!(w.refusal(Backend::Type1, &live[..1]), None);
    }

    #[test]
    fn vtd_registers_give_the_paging_domain_width() {
        // QEMU's intel-iommu: MGAW = aw-bits - 1 (bits 16-21), SAGAW 39 (bit 9), 48 (bit 10).
        let vtd = |aw: u64, sagaw: u64, ecap: u64| VtdRegisters {
            flags: 0,
            cap: ((aw - 1) << 16) | (sagaw << 8),
            ecap,
        };
        assert_eq!(vtd(39, 0b010, 0).paging_domain_width(), Some(39));
        assert_eq!(vtd(48, 0b110, 0).paging_domain_width(), Some(48));
        // A 57-bit table narrowed to MGAW.
        assert_eq!(vtd(52, 0b1110, 0).paging_domain_width(), Some(52));
        assert_eq!(vtd(48, 0, 0).paging_domain_width(), None);
        // Scalable mode with first-stage tables wider than 48 bits: the CPU decides.
        let sm_flts = (1 << 43) | (1 << 47);
        assert_eq!(vtd(57, 0b1110, sm_flts).paging_domain_width(), None);
        assert_eq!(vtd(48, 0b110, sm_flts).paging_domain_width(), Some(48));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn ranges() -> impl Strategy<Value = Vec<IovaRange>> {
            prop::collection::vec((any::<u64>(), any::<u64>()), 0..6).prop_map(|v| {
                v.into_iter()
                    .map(|(a, b)| IovaRange::new(a.min(b), a.max(b)).unwrap())
                    .collect()
            })
        }

        fn kind() -> impl Strategy<Value = RegionKind> {
            prop_oneof![
                Just(RegionKind::Msi),
                Just(RegionKind::Reserved),
                Just(RegionKind::Direct),
                Just(RegionKind::DirectRelaxable),
            ]
        }

        proptest! {
            /// An address is usable after the attach exactly when it was before, lies in
            /// the aperture and in no excluded region; every range after lies in one
            /// range before; what is taken was usable and is not after.
            #[test]
            fn after_is_before_within_the_aperture_minus_the_regions(
                before in ranges(),
                cuts in ranges(),
                kinds in prop::collection::vec(kind(), 6),
                aperture in prop::option::of((any::<u64>(), any::<u64>())),
            ) {
                let space = IovaSpace::new(&before, None);
                let regions: Vec<ReservedRegion> = cuts
                    .iter()
                    .zip(kinds)
                    .map(|(range, kind)| ReservedRegion { range: *range, kind })
                    .collect();
                let ap = aperture.map(|(a, b)| r(a.min(b), a.max(b)));
                let new = match ap {
                    Some(a) => NewAperture::Given(a),
                    None => NewAperture::Shared { iommu: "u".into() },
                };
                let w = what_if(&space, 1, &regions, new);
                let usable_before = |x: u64| space.ranges().iter().any(|r| r.contains(x));
                let usable_after = |x: u64| w.after.ranges().iter().any(|r| r.contains(x));
                let mut probes = vec![0, u64::MAX];
                for range in space.ranges().iter().chain(&cuts).chain(ap.iter()) {
                    for x in [range.start, range.end] {
                        probes.extend([x.saturating_sub(1), x, x.saturating_add(1)]);
                    }
                }
                for x in probes {
                    let expected = usable_before(x)
                        && ap.is_none_or(|a| a.contains(x))
                        && !regions
                            .iter()
                            .any(|g| g.kind.excluded_from_iova_list() && g.range.contains(x));
                    prop_assert_eq!(usable_after(x), expected, "at {:#x}", x);
                    let taken = w.taken.iter().any(|t| t.range.contains(x));
                    prop_assert_eq!(taken, usable_before(x) && !expected, "taken at {:#x}", x);
                }
                for a in w.after.ranges() {
                    prop_assert!(space.ranges().iter().any(|b| b.start <= a.start && a.end <= b.end));
                }
            }
        }
    }
}
