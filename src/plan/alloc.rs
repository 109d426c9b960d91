//! An IOVA allocator for user-space drivers: hands out spans of the usable IOVA space
//! that the kernel will map (inside one range, aligned to the IOMMU's smallest page, below
//! the device's DMA limit), and takes fixed reservations (identity-mapped guest RAM).
//!
//! Free space is kept as extents in two ordered structures: by start address (to merge
//! on free and find the extent holding a reservation) and, per size class (floor of
//! log2 of the length), the starts of the extents of that class. An allocation that
//! needs `size + align - granule` bytes to fit whatever the extent's alignment looks at
//! the lowest extent of each class that large, which all fit: O(64 log n) whatever the
//! number of live allocations. It then prefers a lower address: it looks at up to 64 free
//! extents below that choice for one that fits (an exact fit, or one aligned by luck), so
//! that allocations pack from the bottom. Only when no class-fit exists below the limit
//! does it walk every extent below the limit (near exhaustion, or a tight limit).

use std::collections::{BTreeMap, BTreeSet};

use crate::iova::{IovaRange, SpanProblem};
use crate::plan::space::IovaSpace;

/// Why the allocator said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllocError {
    /// A request for 0 bytes.
    #[error("cannot allocate or reserve 0 bytes")]
    ZeroSize,
    /// An alignment that is not a power of two.
    #[error("alignment {0:#x} is not a power of two")]
    BadAlign(u64),
    /// No free span fits.
    #[error("no free IOVA span of {size:#x} bytes aligned to {align:#x} ends at or below {limit:#x} (the device's DMA limit)")]
    NoRoom {
        /// Bytes asked for, rounded up to the granule.
        size: u64,
        /// The alignment used (at least the granule).
        align: u64,
        /// The highest address the span could end at.
        limit: u64,
    },
    /// `free` of an address that starts no live allocation or reservation.
    #[error("IOVA {0:#x} is not the start of a live allocation or reservation")]
    NotAllocated(u64),
    /// A reservation outside the usable space.
    #[error("cannot reserve [{iova:#x}, +{len:#x}): {problem}")]
    Unusable {
        /// Its start.
        iova: u64,
        /// Its length.
        len: u64,
        /// Why the kernel would not map it.
        problem: SpanProblem,
    },
    /// A reservation that would span the last page of the 64-bit space.
    #[error("cannot reserve [{iova:#x}, +{len:#x}): it reaches the last page of the 64-bit space, which Linux's type1 can map but never unmap (iova + size wraps to 0); the allocator keeps that page out")]
    TopPage {
        /// Its start.
        iova: u64,
        /// Its length.
        len: u64,
    },
    /// A reservation over live allocations.
    #[error("cannot reserve [{iova:#x}, +{len:#x}): it overlaps the live span at {other:#x} (+{other_len:#x})")]
    Overlaps {
        /// Its start.
        iova: u64,
        /// Its length.
        len: u64,
        /// Start of a live span it overlaps.
        other: u64,
        /// That span's length.
        other_len: u64,
    },
    /// A reservation not aligned to the granule.
    #[error("cannot reserve [{iova:#x}, +{len:#x}): the start and length must be multiples of the IOMMU's smallest page size {granule:#x}")]
    Misaligned {
        /// Its start.
        iova: u64,
        /// Its length.
        len: u64,
        /// The smallest page size.
        granule: u64,
    },
}

impl AllocError {
    /// The refusal's class, shared with [`crate::Error::kind`]'s.
    pub const fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            AllocError::ZeroSize | AllocError::BadAlign(_) => ErrorKind::BadArgument,
            AllocError::NoRoom { .. } => ErrorKind::NoRoom,
            AllocError::NotAllocated(_) => ErrorKind::NotAllocated,
            AllocError::Overlaps { .. } => ErrorKind::Overlap,
            AllocError::Unusable { .. } | AllocError::Misaligned { .. } => ErrorKind::Unusable,
            AllocError::TopPage { .. } => ErrorKind::TopPage,
        }
    }

    /// A stable machine-readable code: `zero_size`, `bad_align`, `no_room`,
    /// `not_allocated`, `unusable`, `top_page`, `overlaps`, `misaligned`.
    pub const fn code(&self) -> &'static str {
        match self {
            AllocError::ZeroSize => "zero_size",
            AllocError::BadAlign(_) => "bad_align",
            AllocError::NoRoom { .. } => "no_room",
            AllocError::NotAllocated(_) => "not_allocated",
            AllocError::Unusable { .. } => "unusable",
            AllocError::TopPage { .. } => "top_page",
            AllocError::Overlaps { .. } => "overlaps",
            AllocError::Misaligned { .. } => "misaligned",
        }
    }
}

/// How many free extents below the best class-fit an allocation looks at for a lower one.
const LOWER_PEEK: usize = 64;

/// Number of size classes: extents are shorter than 2^64 (the top page is kept out).
const CLASSES: usize = 64;

/// The class of an extent of `len` bytes (1 <= len < 2^64): floor(log2(len)).
fn class_of(len: u64) -> usize {
    (63 - len.leading_zeros()) as usize
}

/// `v` rounded up to a multiple of the power of two `a`, if that fits in 64 bits.
fn align_up(v: u64, a: u64) -> Option<u64> {
    v.checked_add(a - 1).map(|x| x & !(a - 1))
}

/// Allocates and reserves spans of an [`IovaSpace`].
#[derive(Debug, Clone)]
pub struct IovaAllocator {
    /// The usable ranges, trimmed to the granule, without the top page.
    ranges: Vec<IovaRange>,
    space: IovaSpace,
    granule: u64,
    /// Free extents: start -> inclusive end.
    free: BTreeMap<u64, u64>,
    /// Starts of the free extents of each size class.
    classes: Vec<BTreeSet<u64>>,
    /// Live allocations and reservations: start -> length.
    live: BTreeMap<u64, u64>,
}

impl IovaAllocator {
    /// An allocator over `space`, everything free. Every span it hands out is a multiple
    /// of the smallest IOMMU page size (the granule), aligned to it, inside one usable
    /// range, and never the last page of the 64-bit space (Linux's type1 cannot unmap a
    /// mapping that ends at 2^64).
    pub fn new(space: &IovaSpace) -> IovaAllocator {
        let granule = space.granule();
        let top_page = u64::MAX - (granule - 1);
        let ranges: Vec<IovaRange> = space
            .ranges()
            .iter()
            .filter_map(|r| {
                let start = align_up(r.start, granule)?;
                // The last granule boundary inside the range, minus one; the top page goes.
                let end_excl = r.end.min(top_page - 1).checked_add(1)? & !(granule - 1);
                IovaRange::new(start, end_excl.checked_sub(1)?)
            })
            .collect();
        let mut a = IovaAllocator {
            ranges: Vec::new(),
            space: space.clone(),
            granule,
            free: BTreeMap::new(),
            classes: vec![BTreeSet::new(); CLASSES],
            live: BTreeMap::new(),
        };
        for r in &ranges {
            a.insert_free(r.start, r.end);
        }
        a.ranges = ranges;
        a
    }

    /// The smallest IOMMU page size: the unit of every span.
    pub fn granule(&self) -> u64 {
        self.granule
    }

    /// The space allocated from.
    pub fn space(&self) -> &IovaSpace {
        &self.space
    }

    /// Number of live allocations and reservations.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The live spans (start, length), ascending.
    pub fn live(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.live.iter().map(|(&s, &l)| (s, l))
    }

    /// The free extents, ascending.
    pub fn free_extents(&self) -> impl Iterator<Item = IovaRange> + '_ {
        self.free
            .iter()
            .map(|(&start, &end)| IovaRange { start, end })
    }

    fn insert_free(&mut self, start: u64, end: u64) {
        self.free.insert(start, end);
        self.classes[class_of(end - start + 1)].insert(start);
    }

    fn remove_free(&mut self, start: u64) -> Option<u64> {
        let end = self.free.remove(&start)?;
        self.classes[class_of(end - start + 1)].remove(&start);
        Some(end)
    }

    /// Takes `[at, at + size)` out of the free extent starting at `extent`.
    fn carve(&mut self, extent: u64, at: u64, size: u64) {
        let Some(end) = self.remove_free(extent) else {
            return;
        };
        if at > extent {
            self.insert_free(extent, at - 1);
        }
        let last = at + (size - 1);
        if last < end {
            self.insert_free(last + 1, end);
        }
        self.live.insert(at, size);
    }

    /// Where a span of `size` bytes aligned to `align` would start in the extent
    /// `[start, end]`, ending at or below `limit`.
    fn fit(start: u64, end: u64, size: u64, align: u64, limit: u64) -> Option<u64> {
        let at = align_up(start, align)?;
        let last = at.checked_add(size - 1)?;
        (last <= end && last <= limit).then_some(at)
    }

    /// Allocates `size` bytes (rounded up to the granule) aligned to `align` (a power of
    /// two; 0 or anything below the granule means the granule), ending at or below
    /// `limit` (the device's DMA mask: `(1 << 28) - 1` for a 28-bit device, `u64::MAX`
    /// for none). Returns the IOVA.
    pub fn alloc(&mut self, size: u64, align: u64, limit: u64) -> Result<u64, AllocError> {
        if size == 0 {
            return Err(AllocError::ZeroSize);
        }
        if align != 0 && !align.is_power_of_two() {
            return Err(AllocError::BadAlign(align));
        }
        let align = align.max(self.granule);
        let no_room = |size| AllocError::NoRoom { size, align, limit };
        let size = align_up(size, self.granule).ok_or(no_room(size))?;
        // Every extent of at least `need` bytes holds the span whatever its alignment.
        let mut best: Option<(u64, u64)> = None; // (at, extent)
        if let Some(need) = size.checked_add(align - self.granule) {
            let first_class = class_of(need) + usize::from(!need.is_power_of_two());
            for class in first_class..CLASSES {
                let Some(&start) = self.classes[class].first() else {
                    continue;
                };
                let end = self.free[&start];
                if let Some(at) = Self::fit(start, end, size, align, limit) {
                    if best.is_none_or(|(b, _)| at < b) {
                        best = Some((at, start));
                    }
                }
            }
        }
        // Lower addresses first: a smaller extent below the choice may fit too (exactly, or
        // by luck of alignment). Look at a bounded number of them when there is a choice,
        // and at all of them (below the limit) only when nothing else fits.
        let below = best.map_or(limit, |(at, _)| at);
        let lower = self
            .free
            .range(..=below)
            .take(if best.is_some() {
                LOWER_PEEK
            } else {
                usize::MAX
            })
            .filter(|(&s, &e)| e - s >= size - 1)
            .find_map(|(&s, &e)| Some((Self::fit(s, e, size, align, limit)?, s)));
        if let Some((at, extent)) = lower {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, extent));
            }
        }
        let (at, extent) = best.ok_or(no_room(size))?;
        self.carve(extent, at, size);
        Ok(at)
    }

    /// Frees the allocation or reservation starting at `iova`; returns its length.
    pub fn free(&mut self, iova: u64) -> Result<u64, AllocError> {
        let len = self
            .live
            .remove(&iova)
            .ok_or(AllocError::NotAllocated(iova))?;
        let (mut start, mut end) = (iova, iova + (len - 1));
        // Merge with free neighbours inside the same range (never across two ranges:
        // the kernel maps only inside one).
        let i = self.ranges.partition_point(|r| r.end < iova);
        let range = self.ranges[i];
        if let Some((&ps, &pe)) = self.free.range(..start).next_back() {
            if pe.checked_add(1) == Some(start) && ps >= range.start {
                self.remove_free(ps);
                start = ps;
            }
        }
        if let Some(next) = end.checked_add(1).filter(|&n| n <= range.end) {
            if let Some(ne) = self.remove_free(next) {
                end = ne;
            }
        }
        self.insert_free(start, end);
        Ok(len)
    }

    /// Reserves `[iova, iova + len)` for a fixed mapping (identity-mapped guest RAM): it
    /// must be usable, granule-aligned and free.
    pub fn reserve(&mut self, iova: u64, len: u64) -> Result<(), AllocError> {
        if len == 0 {
            return Err(AllocError::ZeroSize);
        }
        let g = self.granule;
        if iova % g != 0 || len % g != 0 {
            return Err(AllocError::Misaligned {
                iova,
                len,
                granule: g,
            });
        }
        if let Err(problem) = self.space.check(iova, len) {
            return Err(AllocError::Unusable { iova, len, problem });
        }
        let last = iova + (len - 1);
        if let Some((&s, &e)) = self.free.range(..=iova).next_back() {
            if e >= last {
                self.carve(s, iova, len);
                return Ok(());
            }
        }
        if !self.ranges.iter().any(|r| r.contains_span(iova, len)) {
            return Err(AllocError::TopPage { iova, len });
        }
        // Usable but not free: name a live span it overlaps (the one starting at or below
        // the end closest to it).
        let (other, other_len) = self
            .live
            .range(..=last)
            .next_back()
            .map(|(&s, &l)| (s, l))
            .filter(|&(s, l)| s + (l - 1) >= iova)
            .unwrap_or((iova, 0));
        Err(AllocError::Overlaps {
            iova,
            len,
            other,
            other_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::PageSizes;

    fn r(start: u64, end: u64) -> IovaRange {
        IovaRange::new(start, end).unwrap()
    }

    fn intel39() -> IovaSpace {
        IovaSpace::new(
            &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
            Some(PageSizes(0x4020_1000)),
        )
    }

    #[test]
    fn allocations_honour_the_limit_alignment_and_granule() {
        let mut a = IovaAllocator::new(&intel39());
        let edu = (1 << 28) - 1;
        let x = a.alloc(100, 0, edu).unwrap();
        assert_eq!((x, a.live().next()), (0, Some((0, 0x1000))));
        let y = a.alloc(0x20_0000, 0x20_0000, edu).unwrap();
        assert_eq!(y, 0x20_0000);
        assert!(y + 0x20_0000 - 1 <= edu);
        // A 1 GiB span cannot end below 2^28.
        assert_eq!(
            a.alloc(1 << 30, 0, edu),
            Err(AllocError::NoRoom {
                size: 1 << 30,
                align: 0x1000,
                limit: edu
            })
        );
        assert_eq!(a.alloc(1 << 30, 1 << 30, u64::MAX).unwrap(), 1 << 30);
        assert_eq!(a.alloc(0, 0, u64::MAX), Err(AllocError::ZeroSize));
        assert_eq!(a.alloc(1, 3, u64::MAX), Err(AllocError::BadAlign(3)));
    }

    #[test]
    fn nothing_crosses_a_hole_or_a_range_boundary() {
        // Two touching ranges: a span may not run from one into the other.
        let space = IovaSpace::new(&[r(0, 0x1fff), r(0x2000, 0x3fff)], None);
        let mut a = IovaAllocator::new(&space);
        assert!(matches!(
            a.alloc(0x3000, 0, u64::MAX),
            Err(AllocError::NoRoom { .. })
        ));
        let x = a.alloc(0x2000, 0, u64::MAX).unwrap();
        let y = a.alloc(0x2000, 0, u64::MAX).unwrap();
        assert_eq!((x, y), (0, 0x2000));
        a.free(x).unwrap();
        a.free(y).unwrap();
        // Freed extents merge back, but not across the boundary.
        assert_eq!(
            a.free_extents().collect::<Vec<_>>(),
            vec![r(0, 0x1fff), r(0x2000, 0x3fff)]
        );
    }

    #[test]
    fn the_top_page_is_kept_out() {
        let space = IovaSpace::new(&[r(u64::MAX - 0x3fff, u64::MAX)], None);
        let mut a = IovaAllocator::new(&space);
        assert_eq!(
            a.free_extents().collect::<Vec<_>>(),
            vec![r(u64::MAX - 0x3fff, u64::MAX - 0x1000)]
        );
        assert_eq!(
            a.reserve(u64::MAX - 0xfff, 0x1000),
            Err(AllocError::TopPage {
                iova: u64::MAX - 0xfff,
                len: 0x1000
            })
        );
        assert!(a.alloc(0x3000, 0, u64::MAX).is_ok());
        assert!(a.alloc(0x1000, 0, u64::MAX).is_err());
    }

    #[test]
    fn reservations_must_be_usable_aligned_and_free() {
        let mut a = IovaAllocator::new(&intel39());
        a.reserve(0, 1 << 30).unwrap();
        assert_eq!(a.alloc(0x1000, 0, u64::MAX).unwrap(), 1 << 30);
        assert_eq!(
            a.reserve(0x3fff_f000, 0x2000),
            Err(AllocError::Overlaps {
                iova: 0x3fff_f000,
                len: 0x2000,
                other: 1 << 30,
                other_len: 0x1000
            })
        );
        assert!(matches!(
            a.reserve(0xfee0_0000, 0x1000),
            Err(AllocError::Unusable {
                problem: SpanProblem::InHole { .. },
                ..
            })
        ));
        assert!(matches!(
            a.reserve(0x80_0000_0000, 0x1000),
            Err(AllocError::Unusable {
                problem: SpanProblem::BeyondAperture { .. },
                ..
            })
        ));
        assert!(matches!(
            a.reserve(0x800, 0x1000),
            Err(AllocError::Misaligned { .. })
        ));
        assert_eq!(a.free(0), Ok(1 << 30));
        assert_eq!(a.free(0), Err(AllocError::NotAllocated(0)));
        assert_eq!(a.alloc(0x1000, 0, u64::MAX).unwrap(), 0);
    }

    #[test]
    fn the_fallback_finds_a_lucky_alignment() {
        // One 8 KiB extent at an 8 KiB boundary: an 8 KiB span aligned to 8 KiB fits
        // although the extent is smaller than size + align - granule.
        let space = IovaSpace::new(&[r(0x2000, 0x3fff)], None);
        let mut a = IovaAllocator::new(&space);
        assert_eq!(a.alloc(0x2000, 0x2000, u64::MAX), Ok(0x2000));
    }
}
