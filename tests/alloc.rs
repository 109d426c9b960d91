//! Properties of the IOVA allocator under random spaces and random operation sequences:
//! never a span outside the ranges, in a hole, across two ranges, beyond the limit,
//! misaligned, overlapping a live span, or on the top page; frees give the space back.

use proptest::prelude::*;
use vfio_iommu_info::{AllocError, IovaAllocator, IovaRange, IovaSpace, PageSizes};

const G: u64 = 0x1000;

/// Usable ranges as the kernel reports them: page-aligned, ascending, some touching,
/// some separated by holes, the last one possibly ending at 2^64-1.
fn space() -> impl Strategy<Value = IovaSpace> {
    (
        prop::collection::vec((0u64..64, 1u64..64, any::<bool>()), 1..6),
        any::<bool>(),
    )
        .prop_map(|(pieces, to_top)| {
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
                ranges.push(IovaRange::new(u64::MAX - 63 * G + 1, u64::MAX).unwrap());
            }
            IovaSpace::new(&ranges, Some(PageSizes(0x4020_1000)))
        })
}

#[derive(Debug, Clone)]
enum Op {
    Alloc {
        pages: u64,
        align_shift: u32,
        limit_pages: Option<u64>,
    },
    Free(usize),
    Reserve {
        page: u64,
        pages: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u64..40, 0u32..6, prop::option::of(1u64..400)).prop_map(|(pages, align_shift, limit_pages)| Op::Alloc { pages, align_shift, limit_pages }),
        2 => any::<prop::sample::Index>().prop_map(|i| Op::Free(i.index(usize::MAX))),
        1 => (0u64..600, 1u64..20).prop_map(|(page, pages)| Op::Reserve { page, pages }),
    ]
}

fn check_span_is_sound(space: &IovaSpace, live: &[(u64, u64)], iova: u64, len: u64) {
    assert_eq!(iova % G, 0, "misaligned start {iova:#x}");
    assert_eq!(len % G, 0, "misaligned length {len:#x}");
    assert!(
        space.range_holding(iova, len).is_some(),
        "[{iova:#x}, +{len:#x}) is not inside one range of {:?}",
        space.ranges()
    );
    assert_eq!(space.check(iova, len), Ok(()));
    assert!(
        iova.checked_add(len).is_some(),
        "[{iova:#x}, +{len:#x}) reaches the top page"
    );
    for &(s, l) in live {
        assert!(
            iova + (len - 1) < s || s + (l - 1) < iova,
            "[{iova:#x}, +{len:#x}) overlaps [{s:#x}, +{l:#x})"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn allocations_are_always_mappable_and_disjoint(space in space(), ops in prop::collection::vec(op(), 1..80)) {
        let mut a = IovaAllocator::new(&space);
        let mut live: Vec<(u64, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Alloc { pages, align_shift, limit_pages } => {
                    let align = G << align_shift;
                    let limit = limit_pages.map_or(u64::MAX, |p| p * G - 1);
                    match a.alloc(pages * G, align, limit) {
                        Ok(iova) => {
                            check_span_is_sound(&space, &live, iova, pages * G);
                            prop_assert_eq!(iova % align, 0);
                            prop_assert!(iova + (pages * G - 1) <= limit);
                            live.push((iova, pages * G));
                        }
                        Err(AllocError::NoRoom { .. }) => {
                            // Then no free extent has an aligned span below the limit.
                            for e in a.free_extents() {
                                let at = e.start.checked_add(align - 1).map(|x| x & !(align - 1));
                                let fits = at.and_then(|at| at.checked_add(pages * G - 1)).is_some_and(|last| last <= e.end && last <= limit);
                                prop_assert!(!fits, "NoRoom although {e:?} holds it at {at:x?}");
                            }
                        }
                        Err(other) => prop_assert!(false, "unexpected {other}"),
                    }
                }
                Op::Free(i) => {
                    if live.is_empty() {
                        prop_assert_eq!(a.free(0x1234_5000), Err(AllocError::NotAllocated(0x1234_5000)));
                    } else {
                        let (iova, len) = live.swap_remove(i % live.len());
                        prop_assert_eq!(a.free(iova), Ok(len));
                    }
                }
                Op::Reserve { page, pages } => {
                    let (iova, len) = (page * G, pages * G);
                    match a.reserve(iova, len) {
                        Ok(()) => {
                            check_span_is_sound(&space, &live, iova, len);
                            live.push((iova, len));
                        }
                        Err(AllocError::Overlaps { .. }) => {
                            prop_assert!(live.iter().any(|&(s, l)| iova <= s + (l - 1) && s <= iova + (len - 1)));
                        }
                        Err(AllocError::Unusable { problem, .. }) => {
                            prop_assert_eq!(space.check(iova, len), Err(problem));
                        }
                        Err(other) => prop_assert!(false, "unexpected {other}"),
                    }
                }
            }
            prop_assert_eq!(a.live_count(), live.len());
        }
        // Freeing everything gives back the whole usable space, range by range.
        for (iova, _) in live {
            a.free(iova).unwrap();
        }
        let top_page = u64::MAX - G + 1;
        let whole: Vec<IovaRange> = space
            .ranges()
            .iter()
            .map(|r| IovaRange::new(r.start, r.end.min(top_page - 1)).unwrap())
            .collect();
        prop_assert_eq!(a.free_extents().collect::<Vec<_>>(), whole);
    }
}

#[test]
fn sixty_four_thousand_live_allocations_then_pairs() {
    let space = IovaSpace::new(
        &[
            IovaRange::new(0, 0xfedf_ffff).unwrap(),
            IovaRange::new(0xfef0_0000, 0x7f_ffff_ffff).unwrap(),
        ],
        Some(PageSizes(0x4020_1000)),
    );
    let mut a = IovaAllocator::new(&space);
    let mut live = Vec::new();
    for _ in 0..65536 {
        live.push(a.alloc(G, 0, u64::MAX).unwrap());
    }
    // Packed from the bottom, in order.
    assert_eq!(live[65535], 65535 * G);
    // Free every other one: 32768 one-page holes; a two-page request skips them all.
    for &iova in live.iter().step_by(2) {
        a.free(iova).unwrap();
    }
    assert_eq!(a.alloc(2 * G, 0, u64::MAX).unwrap(), 65536 * G);
    assert_eq!(a.alloc(G, 0, u64::MAX).unwrap(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Whatever ranges a corrupt capture or a caller hands over (overlapping, unaligned,
    /// at 2^64-1) and whatever is asked: no panic, and every span handed out is mappable.
    #[test]
    fn any_ranges_and_any_requests_never_panic(
        ranges in prop::collection::vec((any::<u64>(), any::<u64>()), 0..6),
        near in prop::collection::vec((0u64..0x10_0000, 0u64..0x10_0000), 0..6),
        pgsizes in any::<u64>(),
        requests in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), 0u8..3), 1..40),
        regions in prop::collection::vec((any::<u64>(), prop::option::of(any::<u64>())), 0..5),
    ) {
        let ranges: Vec<IovaRange> = ranges
            .into_iter()
            .chain(near)
            .map(|(a, b)| IovaRange::new(a.min(b), a.max(b)).unwrap())
            .collect();
        let space = IovaSpace::new(&ranges, Some(PageSizes(pgsizes)).filter(|p| p.0 != 0));
        let mut a = IovaAllocator::new(&space);
        let mut live = Vec::new();
        for (x, y, z, kind) in requests {
            match kind {
                0 => {
                    if let Ok(iova) = a.alloc(x % (1 << 40), y, z) {
                        let len = (x % (1 << 40)).div_ceil(a.granule()) * a.granule();
                        prop_assert_eq!(space.check(iova, len), Ok(()));
                        live.push(iova);
                    }
                }
                1 => {
                    let iova = live.get(x as usize % live.len().max(1)).copied().unwrap_or(x);
                    let _ = a.free(iova);
                }
                _ => {
                    if a.reserve(x, y % (1 << 40)).is_ok() {
                        prop_assert_eq!(space.check(x, y % (1 << 40)), Ok(()));
                    }
                }
            }
        }
        let regions: Vec<vfio_iommu_info::RamRegion> = regions
            .into_iter()
            .map(|(size, at)| vfio_iommu_info::RamRegion { size, at })
            .collect();
        match vfio_iommu_info::guest_layout(&space, &regions, Some(7)) {
            Ok(layout) => prop_assert_eq!(layout.placements.len(), regions.len()),
            Err(vfio_iommu_info::LayoutError::EmptyRegion { index }) => {
                prop_assert_eq!(regions[index].size, 0)
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
