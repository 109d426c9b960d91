//! IOVA ranges (inclusive ends, safe up to 2^64-1) and IOMMU page-size bitmaps.

use std::fmt;

/// A range of IO virtual addresses, `start..=end`; `end` is inclusive, so the range
/// `[0, 2^64-1]` (a whole 64-bit IOVA space, as AMD and virtio-iommu report) is
/// representable and its size (2^64) is returned as a `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IovaRange {
    /// First address of the range.
    pub start: u64,
    /// Last address of the range (inclusive).
    pub end: u64,
}

impl IovaRange {
    /// The whole 64-bit IOVA space, `[0, 2^64-1]`.
    pub const FULL: IovaRange = IovaRange {
        start: 0,
        end: u64::MAX,
    };

    /// `start..=end`; `None` when `start > end`.
    pub const fn new(start: u64, end: u64) -> Option<IovaRange> {
        if start <= end {
            Some(IovaRange { start, end })
        } else {
            None
        }
    }

    /// Number of addresses in the range (1 to 2^64; 0 for an inverted range built by hand
    /// from the public fields).
    pub const fn size(&self) -> u128 {
        if self.end < self.start {
            return 0;
        }
        (self.end - self.start) as u128 + 1
    }

    /// Whether `iova` lies inside the range.
    pub const fn contains(&self, iova: u64) -> bool {
        self.start <= iova && iova <= self.end
    }

    /// Whether `[iova, iova + len)` lies wholly inside the range (`len` 0 is never inside).
    pub fn contains_span(&self, iova: u64, len: u64) -> bool {
        if len == 0 {
            return false;
        }
        match iova.checked_add(len - 1) {
            Some(last) => self.start <= iova && last <= self.end,
            None => false,
        }
    }
}

impl fmt::Display for IovaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x}]", self.start, self.end)
    }
}

/// The lowest start and the highest end of `ranges`: the IOMMU's aperture, the "DMA
/// window" of the seed thread. `None` when `ranges` is empty.
pub fn aperture(ranges: &[IovaRange]) -> Option<IovaRange> {
    let start = ranges.iter().map(|r| r.start).min()?;
    let end = ranges.iter().map(|r| r.end).max()?;
    Some(IovaRange { start, end })
}

/// The gaps inside the aperture that no range covers, in ascending order. Ranges may
/// come in any order and may overlap or touch; touching ranges leave no hole.
pub fn holes(ranges: &[IovaRange]) -> Vec<IovaRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut holes = Vec::new();
    let mut covered_to: Option<u64> = None; // highest address covered so far
    for r in sorted {
        if let Some(top) = covered_to {
            // A gap exists when this range starts more than one past the covered top.
            if let Some(gap_start) = top.checked_add(1) {
                if r.start > gap_start {
                    holes.push(IovaRange {
                        start: gap_start,
                        end: r.start - 1,
                    });
                }
            }
            covered_to = Some(top.max(r.end));
        } else {
            covered_to = Some(r.end);
        }
    }
    holes
}

/// `base` minus every range of `remove`: the pieces of `base` no removed range touches,
/// ascending. `remove` may be in any order, overlap, or reach outside `base`.
pub fn subtract(base: IovaRange, remove: &[IovaRange]) -> Vec<IovaRange> {
    let mut cuts = remove.to_vec();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = Some(base.start); // next address not yet emitted or removed
    for cut in cuts {
        let Some(f) = from else { break };
        if cut.end < f || cut.start > base.end {
            continue;
        }
        if cut.start > f {
            out.push(IovaRange {
                start: f,
                end: cut.start - 1,
            });
        }
        from = cut.end.checked_add(1).filter(|&n| n <= base.end);
    }
    if let Some(f) = from {
        out.push(IovaRange {
            start: f,
            end: base.end,
        });
    }
    out
}

/// Why `[iova, iova + len)` cannot be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanProblem {
    /// A span of 0 bytes.
    Empty,
    /// `iova + len` runs past 2^64.
    Wraps,
    /// There is no IOVA list to check against.
    NoRanges,
    /// The span reaches outside the aperture (the IOMMU's address width).
    BeyondAperture {
        /// The aperture.
        aperture: IovaRange,
    },
    /// The span touches a reserved hole inside the aperture.
    InHole {
        /// The (first) hole it touches.
        hole: IovaRange,
    },
    /// The span runs from one usable range into the next with no hole between: the kernel
    /// accepts a mapping only inside one range.
    AcrossRanges,
    /// The span is not aligned to the smallest IOMMU page size.
    Misaligned {
        /// The smallest page size.
        page: u64,
    },
}

impl SpanProblem {
    /// A stable machine-readable code: `empty`, `wraps`, `no_ranges`, `beyond_aperture`,
    /// `in_hole`, `across_ranges`, `misaligned`.
    pub const fn code(&self) -> &'static str {
        match self {
            SpanProblem::Empty => "empty",
            SpanProblem::Wraps => "wraps",
            SpanProblem::NoRanges => "no_ranges",
            SpanProblem::BeyondAperture { .. } => "beyond_aperture",
            SpanProblem::InHole { .. } => "in_hole",
            SpanProblem::AcrossRanges => "across_ranges",
            SpanProblem::Misaligned { .. } => "misaligned",
        }
    }

    /// The range the span hit: the aperture it reaches beyond, or the hole it touches.
    pub const fn range(&self) -> Option<IovaRange> {
        match self {
            SpanProblem::BeyondAperture { aperture } => Some(*aperture),
            SpanProblem::InHole { hole } => Some(*hole),
            _ => None,
        }
    }

    /// The smallest page size a misaligned span is not aligned to.
    pub const fn page_size(&self) -> Option<u64> {
        match self {
            SpanProblem::Misaligned { page } => Some(*page),
            _ => None,
        }
    }
}

impl fmt::Display for SpanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanProblem::Empty => f.write_str("the span is empty"),
            SpanProblem::Wraps => f.write_str("the span runs past the end of the 64-bit address space"),
            SpanProblem::NoRanges => f.write_str("the container reports no IOVA ranges to map into"),
            SpanProblem::BeyondAperture { aperture } => write!(
                f,
                "beyond the IOMMU aperture {aperture} (the IOMMU cannot address it: check its address width)"
            ),
                        SpanProblem::InHole { hole } => write!(f, "inside the reserved hole {hole}"),
            SpanProblem::AcrossRanges => {
                f.write_str("across two IOVA ranges: a mapping must lie inside one range")
            }
            SpanProblem::Misaligned { page } => write!(
                f,
                "not aligned to the smallest IOMMU page size ({}): the address and the size must be multiples of it",
                format_size(u128::from(*page))
            ),
        }
    }
}

/// Whether `[iova, iova + len)` can be mapped given the usable `ranges` and page sizes:
/// `Ok`, or the first reason it cannot (outside the aperture, in a hole, misaligned).
/// Exact to 2^64-1.
pub fn check_span(
    ranges: &[IovaRange],
    pgsizes: Option<PageSizes>,
    iova: u64,
    len: u64,
) -> Result<(), SpanProblem> {
    if len == 0 {
        return Err(SpanProblem::Empty);
    }
    let last = iova.checked_add(len - 1).ok_or(SpanProblem::Wraps)?;
    let aperture = aperture(ranges).ok_or(SpanProblem::NoRanges)?;
    if iova < aperture.start || last > aperture.end {
        return Err(SpanProblem::BeyondAperture { aperture });
    }
    if !ranges.iter().any(|r| r.contains_span(iova, len)) {
        return Err(holes(ranges)
            .into_iter()
            .find(|h| h.start <= last && iova <= h.end)
            .map_or(SpanProblem::AcrossRanges, |hole| SpanProblem::InHole {
                hole,
            }));
    }
    if let Some(page) = pgsizes.and_then(PageSizes::smallest) {
        if iova % page != 0 || len % page != 0 {
            return Err(SpanProblem::Misaligned { page });
        }
    }
    Ok(())
}

/// A bitmap of IOMMU page sizes: bit `n` set means pages of 2^n bytes are supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PageSizes(pub u64);

impl PageSizes {
    /// The raw bitmap.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The smallest supported page size: the granule of every mapping. `None` when empty.
    pub const fn smallest(self) -> Option<u64> {
        if self.0 == 0 {
            None
        } else {
            Some(1u64 << self.0.trailing_zeros())
        }
    }

    /// Whether pages of `size` bytes are supported.
    pub const fn supports(self, size: u64) -> bool {
        size.is_power_of_two() && self.0 & size != 0
    }

    /// Every supported size, ascending.
    pub fn sizes(self) -> impl Iterator<Item = u64> {
        (0..64u32)
            .filter(move |b| self.0 & (1u64 << b) != 0)
            .map(|b| 1u64 << b)
    }
}

/// `4K`, `2M`, `1G`, `512G`, `16E`: a power-of-two size with a binary unit.
pub fn format_size(size: u128) -> String {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut value = size;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && value >= 1024 && value % 1024 == 0 {
        value /= 1024;
        unit += 1;
    }
    format!("{value}{}", UNITS[unit])
}

/// A size for people: exact when a whole number of a binary unit (`4K`, `12G`), else the
/// largest unit with one decimal and a `~` (`~1008.0G`, `~4.0G`).
pub fn format_size_human(size: u128) -> String {
    let exact = format_size(size);
    if exact.len() <= 5 {
        // At most four digits and a unit: readable as it is.
        return exact;
    }
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && size >= 1u128 << (10 * (unit + 1)) {
        unit += 1;
    }
    let value = size as f64 / (1u128 << (10 * unit)) as f64;
    format!("~{value:.1}{}", UNITS[unit])
}

impl fmt::Display for PageSizes {
    /// Every size: `4K 2M 1G`. The alternate form (`{:#}`) writes a run of three or more
    /// consecutive powers of two as `4K..256G` (AMD's bitmap has 39 sizes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        if !f.alternate() {
            let sizes: Vec<String> = self.sizes().map(|s| format_size(u128::from(s))).collect();
            return f.write_str(&sizes.join(" "));
        }
        let mut parts = Vec::new();
        let mut bit = 0u32;
        while bit < 64 {
            if self.0 & (1u64 << bit) == 0 {
                bit += 1;
                continue;
            }
            let mut last = bit;
            while last < 63 && self.0 & (1u64 << (last + 1)) != 0 {
                last += 1;
            }
            if last >= bit + 2 {
                parts.push(format!(
                    "{}..{}",
                    format_size(1u128 << bit),
                    format_size(1u128 << last)
                ));
            } else {
                for b in bit..=last {
                    parts.push(format_size(1u128 << b));
                }
            }
            bit = last + 1;
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    #[test]
    fn full_64bit_range_has_size_2_pow_64() {
        let full = r(0, u64::MAX);
        assert_eq!(full.size(), 1u128 << 64);
        assert!(full.contains(u64::MAX));
        assert!(full.contains_span(u64::MAX, 1));
        assert!(!full.contains_span(u64::MAX, 2), "wraps past 2^64");
        assert!(!full.contains_span(5, 0));
        assert_eq!(IovaRange::new(2, 1), None);
    }

    #[test]
    fn aperture_and_holes_of_amd_layout() {
        // amd-iommu on Linux 6.12 (kernel-protocol.md, section 3), given out of order.
        let ranges = [
            r(0x100_0000_0000, u64::MAX),
            r(0, 0xfedf_ffff),
            r(0xfef0_0000, 0xfc_ffff_ffff),
        ];
        assert_eq!(aperture(&ranges), Some(r(0, u64::MAX)));
        assert_eq!(
            holes(&ranges),
            vec![
                r(0xfee0_0000, 0xfeef_ffff),
                r(0xfd_0000_0000, 0xff_ffff_ffff)
            ]
        );
    }

    #[test]
    fn touching_and_overlapping_ranges_leave_no_hole() {
        let ranges = [r(0, 9), r(10, 20), r(5, 15), r(30, u64::MAX), r(40, 50)];
        assert_eq!(holes(&ranges), vec![r(21, 29)]);
        assert_eq!(holes(&[]), vec![]);
        assert_eq!(aperture(&[]), None);
    }

    #[test]
    fn subtract_cuts_reserved_regions_out_of_an_aperture() {
        let msi = r(0xfee0_0000, 0xfeef_ffff);
        let ht = r(0xfd_0000_0000, 0xff_ffff_ffff);
        assert_eq!(
            subtract(r(0, u64::MAX), &[ht, msi]),
            vec![
                r(0, 0xfedf_ffff),
                r(0xfef0_0000, 0xfc_ffff_ffff),
                r(0x100_0000_0000, u64::MAX)
            ]
        );
        // Cuts at the edges, overlapping, outside, and covering everything.
        assert_eq!(subtract(r(10, 20), &[r(0, 10), r(20, 30)]), vec![r(11, 19)]);
        assert_eq!(
            subtract(r(10, 20), &[r(12, 14), r(13, 15), r(40, 50)]),
            vec![r(10, 11), r(16, 20)]
        );
        assert_eq!(subtract(r(10, 20), &[r(0, u64::MAX)]), vec![]);
        assert_eq!(subtract(r(0, u64::MAX), &[r(5, u64::MAX)]), vec![r(0, 4)]);
        assert_eq!(subtract(r(0, u64::MAX), &[]), vec![r(0, u64::MAX)]);
    }

    #[test]
    fn spans_are_checked_against_aperture_holes_and_pages() {
        let ranges = [r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)];
        let pg = Some(PageSizes(0x4020_1000));
        assert_eq!(check_span(&ranges, pg, 0x1000, 0x2000), Ok(()));
        assert_eq!(check_span(&ranges, pg, 0x7f_ffff_f000, 0x1000), Ok(()));
        assert_eq!(
            check_span(&ranges, pg, 0x80_0000_0000, 0x1000),
            Err(SpanProblem::BeyondAperture {
                aperture: r(0, 0x7f_ffff_ffff)
            })
        );
        assert_eq!(
            check_span(&ranges, pg, 0xfed0_0000, 0x20_0000),
            Err(SpanProblem::InHole {
                hole: r(0xfee0_0000, 0xfeef_ffff)
            }),
            "a span straddling into the MSI window"
        );
        assert_eq!(
            check_span(&ranges, pg, 0x1800, 0x1000),
            Err(SpanProblem::Misaligned { page: 4096 })
        );
        assert_eq!(check_span(&ranges, pg, 0, 0), Err(SpanProblem::Empty));
        assert_eq!(
            check_span(&ranges, pg, u64::MAX, 2),
            Err(SpanProblem::Wraps)
        );
        assert_eq!(check_span(&[], pg, 0, 1), Err(SpanProblem::NoRanges));
        assert_eq!(
            check_span(&[r(0, 0xffff), r(0x1_0000, 0x1_ffff)], pg, 0xf000, 0x2000),
            Err(SpanProblem::AcrossRanges)
        );
        let full = [r(0, u64::MAX)];
        assert_eq!(check_span(&full, pg, u64::MAX - 0xfff, 0x1000), Ok(()));
    }

    #[test]
    fn page_sizes_display_and_queries() {
        let intel = PageSizes(0x4020_1000);
        assert_eq!(intel.to_string(), "4K 2M 1G");
        assert_eq!(intel.smallest(), Some(4096));
        assert!(intel.supports(2 << 20));
        assert!(!intel.supports(8192));
        assert_eq!(
            intel.sizes().collect::<Vec<_>>(),
            vec![4096, 2 << 20, 1 << 30]
        );
        assert_eq!(format!("{:#}", PageSizes(0xffff_ffff_ffff_f000)), "4K..8E");
        assert_eq!(
            format!("{:#}", PageSizes(0x000f_ff7f_ffff_f000)),
            "4K..256G 1T..2P"
        );
        assert_eq!(format!("{:#}", intel), "4K 2M 1G");
        assert!(PageSizes(0x000f_ff7f_ffff_f000)
            .to_string()
            .starts_with("4K 8K 16K 32K"));
        assert!(PageSizes(0x000f_ff7f_ffff_f000)
            .to_string()
            .ends_with("256G 1T 2T 4T 8T 16T 32T 64T 128T 256T 512T 1P 2P"));
        assert_eq!(PageSizes(0x3000).to_string(), "4K 8K");
        assert_eq!(PageSizes(0).to_string(), "none");
        assert_eq!(PageSizes(0).smallest(), None);
    }

    #[test]
    fn sizes_format_with_binary_units() {
        assert_eq!(format_size(4096), "4K");
        assert_eq!(format_size(1 << 30), "1G");
        assert_eq!(format_size(1u128 << 64), "16E");
        assert_eq!(format_size(4097), "4097");
        assert_eq!(format_size(3 << 20), "3M");
        assert_eq!(format_size_human(4078 << 20), "4078M");
        assert_eq!(format_size_human(1_032_209u128 << 20), "~1008.0G");
        assert_eq!(format_size_human((1u128 << 64) - (1u128 << 40)), "~16.0E");
        assert_eq!(format_size_human(12 << 30), "12G");
    }
}
