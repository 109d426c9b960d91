//! Why a span is refused, in one line a VMM can print as its error: the span, the problem,
//! the hole and the reserved regions behind it (or the aperture and the IOMMU's address
//! width), and what to do about it. [`IovaSpace::explain`] makes it; the C ABI and Python
//! only pass its text on.

use std::fmt;

use crate::iova::{format_size, IovaRange, SpanProblem};
use crate::plan::space::IovaSpace;
use crate::sys::sysfs::ReservedRegion;

/// A reserved region behind a hole, with the IOMMU groups that list it (empty when the
/// space was not made with [`IovaSpace::with_groups`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The region (sysfs `reserved_regions`).
    pub region: ReservedRegion,
    /// The groups whose `reserved_regions` list it, ascending.
    pub groups: Vec<u32>,
}

/// Why `[iova, iova + len)` cannot be mapped, with what a person needs to fix it. Its
/// [`Display`](fmt::Display) is one line in the library's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The first address of the span.
    pub iova: u64,
    /// Its length in bytes.
    pub len: u64,
    /// The first reason it cannot be mapped (the one [`IovaSpace::check`] gives).
    pub problem: SpanProblem,
    /// For [`SpanProblem::InHole`]: the reserved regions that cause the hole (empty when
    /// the space knows none).
    pub causes: Vec<Cause>,
    /// The nearest usable range below the span's trouble (the hole, or the aperture's top
    /// range for a span above it), if any.
    pub below: Option<IovaRange>,
    /// The nearest usable range above it (for a span below the aperture, its lowest range).
    pub above: Option<IovaRange>,
}

impl IovaSpace {
    /// Why `[iova, iova + len)` cannot be mapped, or `None` when it can: the same checks
    /// in the same order as [`IovaSpace::check`] (so `explain` is `None` exactly when
    /// `check` is `Ok`), with the hole's causes and the nearest usable ranges. Exact to
    /// 2^64-1.
    pub fn explain(&self, iova: u64, len: u64) -> Option<Refusal> {
        let problem = self.check(iova, len).err()?;
        let ranges = self.ranges();
        // The last range ending before `addr`, and the first starting after it.
        let before = |addr: u64| ranges.iter().rev().find(|r| r.end < addr).copied();
        let after = |addr: u64| ranges.iter().find(|r| r.start > addr).copied();
        let (causes, below, above) = match problem {
            SpanProblem::InHole { hole } => {
                let causes = self
                    .hole_at(hole.start)
                    .map(|h| {
                        h.causes
                            .iter()
                            .map(|region| Cause {
                                groups: self.groups_of(region),
                                region: region.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (causes, before(hole.start), after(hole.end))
            }
            SpanProblem::BeyondAperture { aperture } if iova < aperture.start => {
                (Vec::new(), None, ranges.first().copied())
            }
            SpanProblem::BeyondAperture { .. } => (Vec::new(), ranges.last().copied(), None),
            _ => (Vec::new(), None, None),
        };
        Some(Refusal {
            iova,
            len,
            problem,
            causes,
            below,
            above,
        })
    }
}

/// The number of address bits an IOMMU needs to reach `end`: 39 for 0x7f_ffff_ffff.
fn address_bits(end: u64) -> u32 {
    u64::BITS - end.leading_zeros()
}

/// `[a, b]`, `[a, b] and [c, d]` or `[a, b], [c, d] and [e, f]`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Refusal {
    /// The span as `[first, last] (N bytes)`, or as `iova` and `len` when it is empty or
    /// runs past 2^64.
    fn span(&self) -> String {
        match self
            .len
            .checked_sub(1)
            .and_then(|n| self.iova.checked_add(n))
        {
            Some(last) => format!(
                "{} ({:#x} bytes, {})",
                IovaRange {
                    start: self.iova,
                    end: last
                },
                self.len,
                format_size(u128::from(self.len))
            ),
            None => format!("{:#x} + {:#x} bytes", self.iova, self.len),
        }
    }

    fn causes_text(&self) -> String {
        if self.causes.is_empty() {
            return "no reserved region is known behind it (the groups' sysfs reserved_regions were not read)".to_owned();
        }
        let each: Vec<String> = self
            .causes
            .iter()
            .map(|c| {
                let groups = match c.groups.as_slice() {
                    [] => String::new(),
                    [g] => format!(" of IOMMU group {g}"),
                    gs => format!(
                        " of IOMMU groups {}",
                        list(&gs.iter().map(u32::to_string).collect::<Vec<_>>())
                    ),
                };
                format!(
                    "the {} region {}{groups}",
                    c.region.kind.name(),
                    c.region.range
                )
            })
            .collect();
        format!("reserved by {}", list(&each))
    }

    fn nearest(&self) -> String {
        let mut near = Vec::new();
        if let Some(b) = self.below {
            near.push(format!("{b} below"));
        }
        if let Some(a) = self.above {
            near.push(format!("{a} above"));
        }
        match near.as_slice() {
            [] => String::new(),
            [one] => format!(" (the nearest usable range is {one})"),
            _ => format!(" (the nearest usable ranges are {})", list(&near)),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot map {}: {}", self.span(), self.problem)?;
        match self.problem {
            SpanProblem::InHole { hole } => write!(
                f,
                ", {}; place guest RAM outside {hole}{}",
                self.causes_text(),
                self.nearest()
            ),
            SpanProblem::BeyondAperture { aperture } if self.iova < aperture.start => write!(
                f,
                "; place guest RAM at or above {:#x}{}",
                aperture.start,
                self.nearest()
            ),
            SpanProblem::BeyondAperture { aperture } => {
                let bits = address_bits(aperture.end);
                write!(f, "; the IOMMU addresses {bits} bits")?;
                if aperture.end.checked_add(1).is_some_and(u64::is_power_of_two) {
                    write!(
                        f,
                        "; keep guest RAM below 2^{bits} ({:#x}): give the guest phys-bits <= {bits}, or less RAM (maxmem) so that it ends at or below {:#x}",
                        u128::from(aperture.end) + 1,
                        aperture.end
                    )?;
                } else {
                    write!(
                        f,
                        "; keep guest RAM at or below {:#x}: give the guest less RAM (maxmem) so that it ends there",
                        aperture.end
                    )?;
                }
                f.write_str(&self.nearest())
            }
            SpanProblem::Misaligned { page } => write!(
                f,
                "; align the address and the size to {page:#x} bytes"
            ),
            SpanProblem::AcrossRanges => f.write_str(
                "; split the mapping where one usable range ends and the next begins",
            ),
            SpanProblem::Empty => f.write_str("; map at least one page"),
            SpanProblem::Wraps => f.write_str("; give an address and size whose sum is at most 2^64"),
            SpanProblem::NoRanges => f.write_str(
                "; query the container once a group is attached and the IOMMU model is set, or map without the library's check",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::PageSizes;
    use crate::sys::sysfs::{RegionKind, Sysfs};
    use proptest::prelude::*;

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    fn msi() -> ReservedRegion {
        ReservedRegion {
            range: r(0xfee0_0000, 0xfeef_ffff),
            kind: RegionKind::Msi,
        }
    }

    // Linux 6.12, amd-iommu (tests/fixtures/linux-6.12-amd), with group 12's regions.
    fn amd() -> IovaSpace {
        let dir = tempdir("amd");
        let group = dir.join("kernel/iommu_groups/12");
        std::fs::create_dir_all(&group).unwrap();
        std::fs::write(
            group.join("reserved_regions"),
            "0x00000000fee00000 0x00000000feefffff msi\n0x000000fd00000000 0x000000ffffffffff reserved\n",
        )
        .unwrap();
        let space = IovaSpace::new(
            &[
                r(0, 0xfedf_ffff),
                r(0xfef0_0000, 0xfc_ffff_ffff),
                r(0x100_0000_0000, u64::MAX),
            ],
            Some(PageSizes(0x000f_ff7f_ffff_f000)),
        )
        .with_groups(&Sysfs::new(&dir), &[12])
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        space
    }

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vfio-iommu-info-refusal-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_span_in_the_msi_hole_names_the_hole_the_region_its_group_and_the_fix() {
        let space = amd();
        let refusal = space.explain(0xfee0_0000, 0x20_0000).unwrap();
        assert_eq!(refusal.causes.len(), 1);
        assert_eq!(refusal.causes[0].groups, vec![12]);
        assert_eq!(
            refusal.to_string(),
            "cannot map [0xfee00000, 0xfeffffff] (0x200000 bytes, 2M): inside the reserved hole \
             [0xfee00000, 0xfeefffff], reserved by the msi region [0xfee00000, 0xfeefffff] of \
             IOMMU group 12; place guest RAM outside [0xfee00000, 0xfeefffff] (the nearest \
             usable ranges are [0x0, 0xfedfffff] below and [0xfef00000, 0xfcffffffff] above)"
        );
        assert!(space.explain(0, 0x8000_0000).is_none());
    }

    #[test]
    fn the_hypertransport_hole_near_the_top_and_spans_near_2_pow_64() {
        let space = amd();
        let text = space
            .explain(0xfd_0000_0000, 0x1_0000_0000)
            .unwrap()
            .to_string();
        assert!(
            text.contains(
                "reserved by the reserved region [0xfd00000000, 0xffffffffff] of IOMMU group 12"
            ),
            "{text}"
        );
        assert!(
            text.contains("[0x10000000000, 0xffffffffffffffff] above"),
            "{text}"
        );
        // The last page of the 64-bit space maps; one byte more wraps.
        assert!(space.explain(u64::MAX - 0xfff, 0x1000).is_none());
        let wraps = space.explain(u64::MAX - 0xfff, 0x2000).unwrap();
        assert_eq!(wraps.problem, SpanProblem::Wraps);
        assert_eq!(
            wraps.to_string(),
            "cannot map 0xfffffffffffff000 + 0x2000 bytes: the span runs past the end of the \
             64-bit address space; give an address and size whose sum is at most 2^64"
        );
        let whole = space.explain(0, u64::MAX).unwrap();
        assert!(matches!(whole.problem, SpanProblem::InHole { .. }));
    }

    #[test]
    fn beyond_the_aperture_names_the_address_width_and_phys_bits() {
        // intel-iommu, 39 bits.
        let intel = IovaSpace::new(
            &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
            Some(PageSizes(0x4020_1000)),
        );
        let text = intel.explain(0x7f_ffff_f000, 0x2000).unwrap().to_string();
        assert_eq!(
            text,
            "cannot map [0x7ffffff000, 0x8000000fff] (0x2000 bytes, 8K): beyond the IOMMU \
             aperture [0x0, 0x7fffffffff] (the IOMMU cannot address it: check its address \
             width); the IOMMU addresses 39 bits; keep guest RAM below 2^39 (0x8000000000): \
             give the guest phys-bits <= 39, or less RAM (maxmem) so that it ends at or below \
             0x7fffffffff (the nearest usable range is [0xfef00000, 0x7fffffffff] below)"
        );
        // An aperture that ends off a power of two, and one that starts above 0.
        let odd = IovaSpace::new(&[r(0x1000, 0x1234_5fff)], None);
        let above = odd.explain(0x1234_5000, 0x2000).unwrap().to_string();
        assert!(
            above.contains("the IOMMU addresses 29 bits; keep guest RAM at or below 0x12345fff"),
            "{above}"
        );
        let below = odd.explain(0, 0x1000).unwrap().to_string();
        assert!(below.ends_with("place guest RAM at or above 0x1000 (the nearest usable range is [0x1000, 0x12345fff] above)"), "{below}");
    }

    #[test]
    fn the_other_problems_say_what_to_do() {
        let space = IovaSpace::new(
            &[r(0, 0xffff), r(0x1_0000, 0x1_ffff)],
            Some(PageSizes(0x1000)),
        );
        let text = |iova, len| space.explain(iova, len).unwrap().to_string();
        assert!(text(0x800, 0x1000).ends_with("; align the address and the size to 0x1000 bytes"));
        assert!(text(0xf000, 0x2000).contains("across two IOVA ranges"));
        assert!(text(0, 0).starts_with("cannot map 0x0 + 0x0 bytes: the span is empty"));
        let none = IovaSpace::new(&[], None).explain(0, 0x1000).unwrap();
        assert_eq!(none.problem, SpanProblem::NoRanges);
        // A hole without known causes says so.
        let bare = IovaSpace::new(&[r(0, 0xfff), r(0x3000, 0x3fff)], None);
        assert!(bare
            .explain(0x1000, 0x1000)
            .unwrap()
            .to_string()
            .contains("no reserved region is known behind it"));
    }

    #[test]
    fn with_groups_agrees_with_with_reserved_regions_and_names_every_group() {
        let dir = tempdir("groups");
        for g in [3, 7] {
            let group = dir.join(format!("kernel/iommu_groups/{g}"));
            std::fs::create_dir_all(&group).unwrap();
            std::fs::write(
                group.join("reserved_regions"),
                "0x00000000fee00000 0x00000000feefffff msi\n",
            )
            .unwrap();
        }
        let bare = IovaSpace::new(&[r(0, 0xfedf_ffff), r(0xfef0_0000, 0xffff_ffff)], None);
        let sysfs = Sysfs::new(&dir);
        let space = bare.clone().with_groups(&sysfs, &[7, 3]).unwrap();
        assert_eq!(
            space.holes(),
            bare.clone().with_reserved_regions(&[msi()]).holes()
        );
        assert_eq!(space.groups_of(&msi()), vec![3, 7]);
        let text = space.explain(0xfee0_0000, 0x1000).unwrap().to_string();
        assert!(text.contains("of IOMMU groups 3 and 7;"), "{text}");
        // A group without the file: the error names it.
        let err = bare.with_groups(&sysfs, &[9]).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("iommu_groups/9/reserved_regions"), "{err}");
    }

    proptest! {
        #[test]
        fn explain_is_none_exactly_when_check_is_ok(
            cuts in proptest::collection::vec(any::<u64>(), 0..8),
            page_bits in 0u64..4,
            iova in prop_oneof![any::<u64>(), (0u64..0x10_0000), (u64::MAX - 0x10_0000..=u64::MAX)],
            len in prop_oneof![any::<u64>(), (0u64..0x10_0000)],
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let ranges: Vec<IovaRange> = cuts
                .chunks(2)
                .filter_map(|c| IovaRange::new(c[0], *c.get(1).unwrap_or(&u64::MAX)))
                .collect();
            let pgsizes = (page_bits != 0).then(|| PageSizes(1 << (11 + page_bits)));
            let space = IovaSpace::new(&ranges, pgsizes).with_reserved_regions(&[msi()]);
            let refusal = space.explain(iova, len);
            prop_assert_eq!(refusal.is_none(), space.check(iova, len).is_ok());
            if let Some(refusal) = refusal {
                prop_assert_eq!(Err(refusal.problem), space.check(iova, len));
                let text = refusal.to_string();
                prop_assert!(text.starts_with("cannot map ") && !text.contains('\n'));
            }
        }
    }
}
