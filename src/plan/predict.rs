//! What the kernel will answer to a sequence of DMA maps and unmaps, before any is made:
//! the check a VMM runs over its guest RAM layout (and its hotplug), and what the lab holds
//! against QEMU (the QEMU oracle, `tests/qemu_oracle.rs`).
//!
//! The prediction follows each backend's own order of checks, because it decides the
//! errno when a mapping is wrong twice over (for type1, a full budget wins over a hole):
//! - type1 (`vfio_dma_do_map`): size and alignment (`EINVAL`), wrap (`EINVAL`), overlap
//!   with a mapping (`EEXIST`), no `dma_avail` left (`ENOSPC`), outside the IOVA list
//!   (`EINVAL`);
//! - iommufd, and its VFIO compatibility container (`iopt_check_iova` for a fixed IOVA):
//!   alignment (`EINVAL`), wrap (`EOVERFLOW`), a reserved IOVA (`EINVAL`; the aperture's
//!   outside is reserved too), overlap (`EEXIST`); it has no mapping budget.

use std::fmt;

use crate::error::Errno;
use crate::facts::Backend;
use crate::iova::{IovaRange, SpanProblem};
use crate::plan::space::IovaSpace;

/// One mapping a VMM will make: `len` bytes at `iova`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The first IOVA.
    pub iova: u64,
    /// The length in bytes.
    pub len: u64,
}

/// Why the kernel refuses a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapRefusal {
    /// The span itself: empty, wrapping, misaligned, or outside the usable ranges.
    Span(SpanProblem),
    /// The span overlaps an earlier mapping of the sequence.
    Overlaps(IovaRange),
    /// type1's budget is spent: `avail` mappings were free when the sequence started
    /// (`VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`, from `dma_entry_limit`).
    Budget {
        /// The mappings the container accepted before the sequence.
        avail: u32,
    },
}

impl fmt::Display for MapRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapRefusal::Span(problem) => problem.fmt(f),
            MapRefusal::Overlaps(range) => write!(f, "overlaps the earlier mapping {range}"),
            MapRefusal::Budget { avail } => write!(
                f,
                "the container accepts no more mappings: {avail} were free (DMA_AVAIL; raise vfio_iommu_type1's dma_entry_limit or map larger pieces)"
            ),
        }
    }
}

/// One step of a sequence: a map, or an unmap of the mappings inside a span (which gives
/// their budget back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmaOp {
    /// `VFIO_IOMMU_MAP_DMA` / `IOMMU_IOAS_MAP` with a fixed IOVA.
    Map(Mapping),
    /// `VFIO_IOMMU_UNMAP_DMA` / `IOMMU_IOAS_UNMAP` of every mapping inside the span.
    Unmap(Mapping),
}

/// The first map of a sequence the kernel refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its index in the sequence.
    pub index: usize,
    /// The mapping.
    pub mapping: Mapping,
    /// The errno the map ioctl returns for it.
    pub errno: Errno,
    /// Why.
    pub why: MapRefusal,
}

/// The kernel's answer to a sequence of mappings, predicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prediction {
    /// Every step succeeds.
    AllMapped,
    /// This one fails (and, as VMMs stop there, the rest are not judged).
    Refused(Refused),
    /// The facts do not decide it; the reason says which is missing.
    Unknown(&'static str),
}

/// Predicts the kernel's answer to mapping `maps` in order (see [`predict_dma`]).
pub fn predict_maps(
    space: &IovaSpace,
    backend: Backend,
    dma_avail: Option<u32>,
    maps: &[Mapping],
) -> Prediction {
    let ops: Vec<DmaOp> = maps.iter().copied().map(DmaOp::Map).collect();
    predict_dma(space, backend, dma_avail, &ops)
}

/// Predicts the kernel's answer to `ops`, in order, on a container or IOAS whose usable
/// space is `space`, served by `backend`, with `dma_avail` mappings free when the sequence
/// starts (type1's budget; `None` when the kernel reports none, as before Linux 5.10 and
/// under iommufd). An unmap gives back the budget of the mappings inside its span.
///
/// `Unknown` for sPAPR TCE (its windows take TCEs, not a type1 IOVA list), for a space
/// with no IOVA ranges (a kernel before 5.4 reports no list to check against), and for an
/// unmap that would split a mapping (type1 refuses it, iommufd may split: not modelled).
pub fn predict_dma(
    space: &IovaSpace,
    backend: Backend,
    dma_avail: Option<u32>,
    ops: &[DmaOp],
) -> Prediction {
    if backend == Backend::SpaprTce {
        return Prediction::Unknown(
            "sPAPR TCE maps into DMA windows, not a type1 IOVA list: not predicted",
        );
    }
    if space.ranges().is_empty() {
        return Prediction::Unknown("the kernel reported no IOVA ranges to check against");
    }
    let page = space.page_sizes().and_then(|p| p.smallest());
    let mut mapped: Vec<IovaRange> = Vec::new();
    // Only type1 has a budget; iommufd and its compat container never return ENOSPC here.
    let mut left = if backend == Backend::Type1 {
        dma_avail
    } else {
        None
    };
    for (index, op) in ops.iter().enumerate() {
        let m = match *op {
            DmaOp::Map(m) => m,
            DmaOp::Unmap(u) => {
                let Some(last) = u.len.checked_sub(1).and_then(|l| u.iova.checked_add(l)) else {
                    return Prediction::Unknown("an empty or wrapping unmap is not predicted");
                };
                let before = mapped.len();
                let mut split = false;
                mapped.retain(|r| {
                    let touches = r.start <= last && u.iova <= r.end;
                    split |= touches && (r.start < u.iova || r.end > last);
                    !touches
                });
                if split {
                    return Prediction::Unknown("an unmap that splits a mapping is not predicted");
                }
                let freed = u32::try_from(before - mapped.len()).unwrap_or(u32::MAX);
                left = left.map(|n| n.saturating_add(freed));
                continue;
            }
        };
        let refuse = |errno: i32, why: MapRefusal| {
            Prediction::Refused(Refused {
                index,
                mapping: m,
                errno: Errno(errno),
                why,
            })
        };
        // Arguments first, in every backend.
        if m.len == 0 {
            return refuse(libc::EINVAL, MapRefusal::Span(SpanProblem::Empty));
        }
        if let Some(page) = page {
            if m.iova % page != 0 || m.len % page != 0 {
                return refuse(
                    libc::EINVAL,
                    MapRefusal::Span(SpanProblem::Misaligned { page }),
                );
            }
        }
        let Some(last) = m.iova.checked_add(m.len - 1) else {
            let errno = if backend == Backend::Type1 {
                libc::EINVAL
            } else {
                libc::EOVERFLOW
            };
            return refuse(errno, MapRefusal::Span(SpanProblem::Wraps));
        };
        let overlap = mapped
            .iter()
            .find(|r| r.start <= last && m.iova <= r.end)
            .copied();
        let placement = space.check(m.iova, m.len).err();
        if backend == Backend::Type1 {
            if let Some(r) = overlap {
                return refuse(libc::EEXIST, MapRefusal::Overlaps(r));
            }
            if let (Some(avail), Some(0)) = (dma_avail, left) {
                return refuse(libc::ENOSPC, MapRefusal::Budget { avail });
            }
            if let Some(problem) = placement {
                return refuse(libc::EINVAL, MapRefusal::Span(problem));
            }
        } else {
            if let Some(problem) = placement {
                return refuse(libc::EINVAL, MapRefusal::Span(problem));
            }
            if let Some(r) = overlap {
                return refuse(libc::EEXIST, MapRefusal::Overlaps(r));
            }
        }
        left = left.map(|n| n - 1);
        mapped.push(IovaRange {
            start: m.iova,
            end: last,
        });
    }
    Prediction::AllMapped
}

/// Predicts attaching a device (its group, or its cdev to an IOAS) to a container or IOAS
/// that already holds the mappings `live`, where `space` is the usable space once the
/// device is attached: the first live mapping the space refuses, or `None` when the attach
/// succeeds. iommufd (and its VFIO compatibility container, where `VFIO_GROUP_GET_DEVICE_FD`
/// attaches) enforces the device's reserved regions and the domain's aperture on the IOAS
/// and refuses with `EADDRINUSE`; type1 refuses a group whose reserved regions or aperture
/// conflict with existing mappings with `EINVAL`.
///
/// This is what a VMM meets when it maps guest RAM before it opens the device: QEMU 10's
/// legacy container does, and on iommufd's compat container (where an IOAS without a
/// device's domain accepts any IOVA) a RAM section in a hole fails at the device's open
/// with EADDRINUSE instead of at the map.
pub fn predict_attach(space: &IovaSpace, backend: Backend, live: &[Mapping]) -> Option<Refused> {
    let errno = match backend {
        Backend::Type1 | Backend::SpaprTce => libc::EINVAL,
        Backend::Iommufd | Backend::IommufdCompat => libc::EADDRINUSE,
    };
    live.iter().enumerate().find_map(|(index, m)| {
        space.check(m.iova, m.len).err().map(|problem| Refused {
            index,
            mapping: *m,
            errno: Errno(errno),
            why: MapRefusal::Span(problem),
        })
    })
}

/// The mappings live after `ops` (maps minus what unmaps cover), in the order they were
/// made; for [`predict_attach`] after a sequence [`predict_dma`] accepted.
pub fn live_after(ops: &[DmaOp]) -> Vec<Mapping> {
    let mut live = LiveSet::new(UnmapTakes::Touching);
    for op in ops {
        live.apply(op, false);
    }
    live.into_mappings()
}

/// Which live mappings an unmap takes away. The two rules differ for an unmap that cuts a
/// mapping in two (which [`predict_dma`] leaves `Unknown`), for empty spans and
/// overlapping mappings (which it refuses), and for a mapping of the last byte of the
/// 64-bit space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnmapTakes {
    /// Every mapping that shares an IOVA with the span, ends saturating at 2^64 - 1:
    /// what [`live_after`] reports.
    Touching,
    /// Only the mappings wholly inside the span: what the guest plan counts at its peaks.
    Inside,
}

impl UnmapTakes {
    /// Whether the unmap `u` takes the live mapping `m`.
    fn takes(self, m: &Mapping, u: &Mapping) -> bool {
        match self {
            UnmapTakes::Touching => {
                let end = u.iova.saturating_add(u.len);
                !(m.iova.saturating_add(m.len) <= u.iova || m.iova >= end)
            }
            UnmapTakes::Inside => {
                let end = u128::from(m.iova) + u128::from(m.len);
                m.iova >= u.iova && end <= u128::from(u.iova) + u128::from(u.len)
            }
        }
    }
}

/// The mappings live while a sequence of [`DmaOp`]s is applied, one op at a time, each
/// with the bytes it is charged, and their total kept as it goes: the one account of what
/// a sequence leaves mapped, for [`live_after`] and for the guest plan's peaks of mappings
/// and pinned memory (`plan::guest`).
#[derive(Debug, Clone)]
pub(crate) struct LiveSet {
    takes: UnmapTakes,
    /// The live mappings in the order they were made, each with its charge.
    live: Vec<(Mapping, u64)>,
    /// The sum of the charges in `live`: in u128, where no count of u64s overflows.
    charged: u128,
}

impl LiveSet {
    /// Nothing mapped yet; unmaps take what `takes` says.
    pub(crate) fn new(takes: UnmapTakes) -> LiveSet {
        LiveSet {
            takes,
            live: Vec::new(),
            charged: 0,
        }
    }

    /// Applies `op`: a map is charged its length, or nothing when `free`; an unmap gives
    /// back the charges of the mappings it takes.
    pub(crate) fn apply(&mut self, op: &DmaOp, free: bool) {
        match op {
            DmaOp::Map(m) => {
                let charge = if free { 0 } else { m.len };
                self.live.push((*m, charge));
                self.charged += u128::from(charge);
            }
            DmaOp::Unmap(u) => {
                let (takes, mut freed) = (self.takes, 0u128);
                self.live.retain(|(m, charge)| {
                    let taken = takes.takes(m, u);
                    if taken {
                        freed += u128::from(*charge);
                    }
                    !taken
                });
                self.charged -= freed;
            }
        }
    }

    /// How many mappings are live.
    pub(crate) fn count(&self) -> usize {
        self.live.len()
    }

    /// The bytes the live mappings are charged, saturating at 2^64 - 1.
    pub(crate) fn charged(&self) -> u64 {
        u64::try_from(self.charged).unwrap_or(u64::MAX)
    }

    /// The live mappings, in the order they were made.
    pub(crate) fn into_mappings(self) -> Vec<Mapping> {
        self.live.into_iter().map(|(m, _)| m).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::iova::PageSizes;
    use proptest::prelude::*;

    /// Sequences whose maps and unmaps nest, overlap, cut one another and are empty, over a
    /// few pages at 0 and at the top of the 64-bit space (and anywhere, now and then).
    pub(crate) fn tangled_ops() -> impl Strategy<Value = Vec<DmaOp>> {
        let iova = prop_oneof![
            4 => (0u64..12).prop_map(|p| p * 0x1000),
            2 => (1u64..12).prop_map(|p| 0u64.wrapping_sub(p * 0x1000)),
            1 => Just(u64::MAX),
            1 => any::<u64>(),
        ];
        let len = prop_oneof![
            6 => (0u64..6).prop_map(|p| p * 0x1000),
            1 => Just(1u64),
            1 => any::<u64>(),
        ];
        let op = (prop::bool::weighted(0.7), iova, len).prop_map(|(map, iova, len)| {
            let m = Mapping { iova, len };
            if map {
                DmaOp::Map(m)
            } else {
                DmaOp::Unmap(m)
            }
        });
        prop::collection::vec(op, 0..32)
    }

    /// `live_after` before the live set (`LiveSet`), kept as the oracle of the property
    /// test.
    fn live_after_reference(ops: &[DmaOp]) -> Vec<Mapping> {
        let mut live: Vec<Mapping> = Vec::new();
        for op in ops {
            match *op {
                DmaOp::Map(m) => live.push(m),
                DmaOp::Unmap(u) => {
                    let end = u.iova.saturating_add(u.len);
                    live.retain(|m| m.iova.saturating_add(m.len) <= u.iova || m.iova >= end);
                }
            }
        }
        live
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// `live_after` answers as before it kept its mappings in a `LiveSet`, after every
        /// prefix of a tangled sequence.
        #[test]
        fn live_after_answers_as_before(ops in tangled_ops()) {
            for i in 0..=ops.len() {
                prop_assert_eq!(live_after(&ops[..i]), live_after_reference(&ops[..i]));
            }
        }
    }

    const MIB2: u64 = 2 << 20;

    /// AMD's layout: the MSI window, the HyperTransport hole below 1 TiB, a 48-bit aperture.
    fn amd() -> IovaSpace {
        IovaSpace::new(
            &[
                IovaRange {
                    start: 0,
                    end: 0xfedf_ffff,
                },
                IovaRange {
                    start: 0xfef0_0000,
                    end: 0xfc_ffff_ffff,
                },
                IovaRange {
                    start: 0x100_0000_0000,
                    end: (1 << 48) - 1,
                },
            ],
            Some(PageSizes(0x4000_0000_0000_1000 | 0x20_0000)),
        )
    }

    fn map(iova: u64, len: u64) -> Mapping {
        Mapping { iova, len }
    }

    fn refused(p: Prediction) -> (usize, i32, &'static str) {
        match p {
            Prediction::Refused(r) => (
                r.index,
                r.errno.0,
                match r.why {
                    MapRefusal::Span(s) => s.code(),
                    MapRefusal::Overlaps(_) => "overlaps",
                    MapRefusal::Budget { .. } => "budget",
                },
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn usable_spans_map() {
        let maps = [
            map(0, 0xa_0000),
            map(0x1_0000_0000, MIB2),
            map(0xfc_ffe0_0000, MIB2),
        ];
        for b in [Backend::Type1, Backend::Iommufd, Backend::IommufdCompat] {
            assert_eq!(
                predict_maps(&amd(), b, Some(3), &maps),
                Prediction::AllMapped
            );
        }
    }

    #[test]
    fn hole_edges_and_aperture_are_einval() {
        for m in [
            map(0xfd_0000_0000, MIB2),
            map(0xff_ffe0_0000, MIB2),
            map(1 << 48, MIB2),
            map(0xfee0_0000, 0x1000),
        ] {
            for b in [Backend::Type1, Backend::Iommufd, Backend::IommufdCompat] {
                let (i, e, _) = refused(predict_maps(&amd(), b, None, &[map(0, 0x1000), m]));
                assert_eq!((i, e), (1, libc::EINVAL), "{m:?} {b:?}");
            }
        }
        assert_eq!(
            refused(predict_maps(
                &amd(),
                Backend::Type1,
                None,
                &[map(1 << 48, MIB2)]
            ))
            .2,
            "beyond_aperture"
        );
        assert_eq!(
            refused(predict_maps(
                &amd(),
                Backend::Type1,
                None,
                &[map(0xfd_0000_0000, MIB2)]
            ))
            .2,
            "in_hole"
        );
    }

    #[test]
    fn type1_budget_is_enospc_and_wins_over_a_hole() {
        let maps = [
            map(0, 0x1000),
            map(0x1_0000_0000, MIB2),
            map(0xfd_0000_0000, MIB2),
        ];
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, Some(2), &maps)),
            (2, libc::ENOSPC, "budget")
        );
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, Some(3), &maps)),
            (2, libc::EINVAL, "in_hole")
        );
        // iommufd has no budget: the hole decides.
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Iommufd, Some(2), &maps)),
            (2, libc::EINVAL, "in_hole")
        );
        assert_eq!(
            predict_maps(&amd(), Backend::Type1, Some(2), &maps[..2]),
            Prediction::AllMapped
        );
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, Some(0), &maps)),
            (0, libc::ENOSPC, "budget")
        );
    }

    #[test]
    fn argument_errors_come_first_and_wrap_differs_by_backend() {
        let misaligned = [map(0, 0x1000), map(0x1_0000_0800, 0x1000)];
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, Some(1), &misaligned)),
            (1, libc::EINVAL, "misaligned")
        );
        let wrap = [map(u64::MAX - 0xfff, 0x2000)];
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, None, &wrap)),
            (0, libc::EINVAL, "wraps")
        );
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Iommufd, None, &wrap)),
            (0, libc::EOVERFLOW, "wraps")
        );
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, None, &[map(0, 0)])),
            (0, libc::EINVAL, "empty")
        );
        // The last page of the 64-bit space does not wrap.
        let top = IovaSpace::new(
            &[IovaRange {
                start: 0,
                end: u64::MAX,
            }],
            Some(PageSizes(0x1000)),
        );
        assert_eq!(
            predict_maps(&top, Backend::Type1, None, &[map(u64::MAX - 0xfff, 0x1000)]),
            Prediction::AllMapped
        );
    }

    #[test]
    fn overlap_is_eexist_before_the_budget_in_type1() {
        let maps = [map(0x1_0000_0000, MIB2), map(0x1_0010_0000, MIB2)];
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Type1, Some(1), &maps)),
            (1, libc::EEXIST, "overlaps")
        );
        assert_eq!(
            refused(predict_maps(&amd(), Backend::Iommufd, None, &maps)),
            (1, libc::EEXIST, "overlaps")
        );
    }

    #[test]
    fn unmaps_give_the_budget_back() {
        // QEMU's boot: RAM and BIOS mapped, RAM unmapped, four pieces of it mapped again.
        let ops = [
            DmaOp::Map(map(0, 0x400_0000)),
            DmaOp::Map(map(0xfffc_0000, 0x4_0000)),
            DmaOp::Unmap(map(0, 0x400_0000)),
            DmaOp::Map(map(0, 0xc_0000)),
            DmaOp::Map(map(0xc_0000, 0x2_0000)),
            DmaOp::Map(map(0xe_0000, 0x2_0000)),
            DmaOp::Map(map(0x10_0000, 0x3f0_0000)),
        ];
        let space = amd();
        assert_eq!(
            predict_dma(&space, Backend::Type1, Some(5), &ops),
            Prediction::AllMapped
        );
        assert_eq!(
            refused(predict_dma(&space, Backend::Type1, Some(4), &ops)),
            (6, libc::ENOSPC, "budget")
        );
        // Without the unmap, the first piece overlaps the RAM still mapped.
        let mut no_unmap = ops.to_vec();
        no_unmap.remove(2);
        assert_eq!(
            refused(predict_dma(&space, Backend::Type1, None, &no_unmap)),
            (2, libc::EEXIST, "overlaps")
        );
        // An unmap that cuts a mapping in two is not guessed at.
        let split = [
            DmaOp::Map(map(0, 0x40_0000)),
            DmaOp::Unmap(map(0, 0x20_0000)),
        ];
        assert!(matches!(
            predict_dma(&space, Backend::Type1, None, &split),
            Prediction::Unknown(_)
        ));
    }

    #[test]
    fn attaching_after_maps_in_a_hole_is_refused() {
        let ops = [
            DmaOp::Map(map(0, 0x400_0000)),
            DmaOp::Map(map(0xfd_0000_0000, MIB2)),
            DmaOp::Unmap(map(0, 0x400_0000)),
            DmaOp::Map(map(0, 0xc_0000)),
        ];
        let live = live_after(&ops);
        assert_eq!(live, [map(0xfd_0000_0000, MIB2), map(0, 0xc_0000)]);
        let r = predict_attach(&amd(), Backend::IommufdCompat, &live).expect("refused");
        assert_eq!(
            (r.index, r.errno.0, r.mapping),
            (0, libc::EADDRINUSE, map(0xfd_0000_0000, MIB2))
        );
        assert_eq!(
            predict_attach(&amd(), Backend::Type1, &live).map(|r| r.errno.0),
            Some(libc::EINVAL)
        );
        assert_eq!(predict_attach(&amd(), Backend::Iommufd, &live[1..]), None);
    }

    #[test]
    fn unknown_without_ranges_or_for_spapr() {
        let none = IovaSpace::new(&[], None);
        assert!(matches!(
            predict_maps(&none, Backend::Type1, None, &[map(0, 0x1000)]),
            Prediction::Unknown(_)
        ));
        assert!(matches!(
            predict_maps(&amd(), Backend::SpaprTce, None, &[map(0, 0x1000)]),
            Prediction::Unknown(_)
        ));
    }

    mod properties {
        use super::*;

        fn space() -> impl Strategy<Value = IovaSpace> {
            (
                prop::collection::vec((any::<u64>(), any::<u64>()), 1..6),
                any::<u64>(),
            )
                .prop_map(|(r, pgsizes)| {
                    let ranges: Vec<IovaRange> = r
                        .into_iter()
                        .map(|(a, b)| IovaRange {
                            start: a.min(b),
                            end: a.max(b),
                        })
                        .collect();
                    IovaSpace::new(&ranges, Some(PageSizes(pgsizes)))
                })
        }

        fn op() -> impl Strategy<Value = DmaOp> {
            (any::<bool>(), any::<u64>(), any::<u64>(), 0u8..4).prop_map(
                |(map, iova, len, scale)| {
                    // Small spans as often as huge ones: near 2^64 and across ranges both.
                    let len = if scale == 0 { len } else { len >> (scale * 16) };
                    let m = Mapping { iova, len };
                    if map {
                        DmaOp::Map(m)
                    } else {
                        DmaOp::Unmap(m)
                    }
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// One map: refused exactly when the space refuses the span, with EINVAL (or
            /// EOVERFLOW for a wrap under iommufd); never a panic, near 2^64 too.
            #[test]
            fn one_map_is_refused_iff_the_space_refuses_it(space in space(), iova in any::<u64>(), len in any::<u64>()) {
                for backend in [Backend::Type1, Backend::Iommufd, Backend::IommufdCompat] {
                    let p = predict_maps(&space, backend, None, &[Mapping { iova, len }]);
                    match (space.check(iova, len), p) {
                        (Ok(()), Prediction::AllMapped) => {}
                        (Err(_), Prediction::Refused(r)) => {
                            prop_assert_eq!(r.index, 0);
                            prop_assert!(r.errno.0 == libc::EINVAL || (r.errno.0 == libc::EOVERFLOW && backend != Backend::Type1));
                        }
                        (c, p) => prop_assert!(false, "check {:?} but prediction {:?}", c, p),
                    }
                }
            }

            /// Any sequence: a refused step is a map, the steps before it are what the
            /// space and the budget allow, and a budget never refuses under iommufd.
            #[test]
            fn any_sequence_is_judged_without_panic(space in space(), ops in prop::collection::vec(op(), 0..24), avail in prop::option::of(0u32..8)) {
                for backend in [Backend::Type1, Backend::Iommufd] {
                    match predict_dma(&space, backend, avail, &ops) {
                        Prediction::Refused(r) => {
                            prop_assert_eq!(ops[r.index], DmaOp::Map(r.mapping));
                            if let MapRefusal::Budget { .. } = r.why {
                                prop_assert_eq!(backend, Backend::Type1);
                            }
                            // The steps before the refused one are accepted on their own.
                            prop_assert!(!matches!(predict_dma(&space, backend, avail, &ops[..r.index]), Prediction::Refused(_)));
                        }
                        Prediction::AllMapped | Prediction::Unknown(_) => {}
                    }
                }
            }
        }
    }
}
