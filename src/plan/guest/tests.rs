use super::*;
use crate::iova::PageSizes;
use crate::plan::predict::{predict_dma, Prediction};
use crate::sys::sysfs::{RegionKind, ReservedRegion};

const PAGES: PageSizes = PageSizes(0x4020_1000);

fn r(start: u64, end: u64) -> IovaRange {
    IovaRange::new(start, end).unwrap()
}

/// Linux 6.12, intel-iommu with a 39-bit aperture.
fn intel39() -> IovaSpace {
    IovaSpace::new(
        &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
        Some(PAGES),
    )
}

/// Linux 6.12, amd-iommu: the MSI window and the HyperTransport hole.
fn amd() -> IovaSpace {
    IovaSpace::new(
        &[
            r(0, 0xfedf_ffff),
            r(0xfef0_0000, 0xfc_ffff_ffff),
            r(0x100_0000_0000, u64::MAX),
        ],
        Some(PAGES),
    )
    .with_reserved_regions(&[ReservedRegion {
        range: r(0xfd_0000_0000, 0xff_ffff_ffff),
        kind: RegionKind::Reserved,
    }])
}

fn host(dma_avail: Option<u32>) -> HostFacts {
    HostFacts {
        backend: Backend::Type1,
        dma_avail,
        cpu_phys_bits: Some(46),
        memlock: None,
    }
}

fn items(p: &GuestPlan) -> Vec<&str> {
    p.refusals.iter().map(|r| r.item.as_str()).collect()
}

#[test]
fn intel_39_bits_caps_phys_bits_and_the_window() {
    let p = plan_guest(&intel39(), host(Some(65535)), &GuestRequest::new(8 * GIB)).unwrap();
    assert!(p.fits(), "{:?}", p.refusals);
    assert_eq!(p.phys_bits, 39);
    assert_eq!(p.below_4g(), 2 * GIB);
    assert_eq!(p.ram[1].range, r(FOUR_GIB, 10 * GIB - 1));
    // The window starts at the GiB after RAM, QEMU's default 32 GiB.
    assert_eq!(p.mmio64, r(10 * GIB, 42 * GIB - 1));
    assert!(matches!(
        p.reasons
            .iter()
            .find(|r| r.item == "phys-bits")
            .unwrap()
            .fact,
        Fact::Aperture(_)
    ));
}

#[test]
fn amd_hypertransport_hole_keeps_the_guest_below_it() {
    let p = plan_guest(&amd(), host(None), &GuestRequest::new(64 * MIB)).unwrap();
    assert!(p.fits());
    // 2^39 <= 0xfd00000000 < 2^40.
    assert_eq!(p.phys_bits, 39);
    let why = p.reasons.iter().find(|r| r.item == "phys-bits").unwrap();
    assert!(
        matches!(&why.fact, Fact::Hole(h) if h.range.start == 0xfd_0000_0000 && !h.causes.is_empty())
    );
}

#[test]
fn host_cpu_bits_bound_a_wide_aperture() {
    let space = IovaSpace::new(&[r(0, 0xfedf_ffff), r(0xfef0_0000, u64::MAX)], Some(PAGES));
    let mut h = host(None);
    h.cpu_phys_bits = Some(40);
    let p = plan_guest(&space, h, &GuestRequest::new(GIB)).unwrap();
    assert_eq!(p.phys_bits, 40);
    h.cpu_phys_bits = None;
    let p = plan_guest(&space, h, &GuestRequest::new(GIB)).unwrap();
    assert_eq!(p.phys_bits, MAX_PHYS_BITS);
}

#[test]
fn a_fixed_region_in_the_hole_is_refused_with_einval_and_the_librarys_words() {
    let mut req = GuestRequest::new(64 * MIB);
    req.fixed.push(FixedRam {
        at: 0xfd_0000_0000,
        size: 2 * MIB,
    });
    let mut p = plan_guest(&amd(), host(None), &req).unwrap();
    let f = p.refusals.iter().find(|r| r.item == "fixed[0]").unwrap();
    assert_eq!(f.errno, Some(libc::EINVAL));
    assert_eq!(
        f.why,
        amd().explain(0xfd_0000_0000, 2 * MIB).unwrap().to_string()
    );
    // The prediction of QEMU's maps agrees: the pc-dimm's map is the one refused.
    let pred = predict_dma(&amd(), Backend::Type1, None, &p.maps);
    assert!(matches!(pred, Prediction::Refused(ref x) if x.mapping.iova == 0xfd_0000_0000));
    p.refusals.clear();
}

#[test]
fn phys_bits_above_the_aperture_is_refused_with_the_nearest() {
    let mut req = GuestRequest::new(64 * MIB);
    req.phys_bits = Some(48);
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    assert_eq!(items(&p), ["phys-bits"]);
    assert_eq!(p.refusals[0].nearest.as_deref(), Some("phys-bits 39"));
    assert_eq!(p.phys_bits, 48);
}

#[test]
fn qemus_own_maps_match_what_the_lab_traced() {
    // tests/qemu_oracle.rs's base run: 64 MiB, SeaBIOS.
    let p = plan_guest(&intel39(), host(None), &GuestRequest::new(64 * MIB)).unwrap();
    let m = |iova: u64, end: u64| {
        DmaOp::Map(Mapping {
            iova,
            len: end - iova + 1,
        })
    };
    assert_eq!(
        p.maps,
        [
            m(0, 0x3ff_ffff),
            m(0xfffc_0000, 0xffff_ffff),
            DmaOp::Unmap(Mapping {
                iova: 0,
                len: 64 * MIB
            }),
            m(0, 0xb_ffff),
            m(0xc_0000, 0xd_ffff),
            m(0xe_0000, 0xf_ffff),
            m(0x10_0000, 0x3ff_ffff),
        ]
    );
    assert_eq!(p.mappings, 5);
    assert_eq!(p.memlock, 64 * MIB + 256 * KIB);
    // A kernel that pins the zero page in place charges nothing for the BIOS at realize
    // (not loaded yet) nor for the empty option ROM: the peak is the RAM mapped whole.
    assert_eq!(p.memlock_zero_page, 64 * MIB);
    let m = |iova: u64, end: u64| Mapping {
        iova,
        len: end - iova + 1,
    };
    assert_eq!(
        p.first_over_memlock(p.memlock - 4096),
        Some(m(0xfffc_0000, 0xffff_ffff))
    );
    assert_eq!(
        p.first_over_memlock_zero_page(64 * MIB - 4096),
        Some(m(0, 0x3ff_ffff))
    );
    assert_eq!(p.first_over_memlock_zero_page(64 * MIB), None);
    // Once started (after the reset's maps), QEMU holds RAM around the option ROM and the
    // BIOS's alias, SeaBIOS's image, the ROM and the alias (Linux 6.12 and 7.3 in the lab);
    // a kernel that pins the zero page charges only the RAM (Linux 6.1 in the lab).
    assert_eq!(p.memlock_live, 64 * MIB + 256 * KIB);
    assert_eq!(p.memlock_live_zero_page, 64 * MIB - 256 * KIB);
}

#[test]
fn per_page_counts_every_piece_of_ram() {
    let mut req = GuestRequest::new(8 * GIB);
    req.fixed = vec![FixedRam {
        at: 12 * GIB,
        size: 2 * MIB,
    }];
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    // 2 GiB below 4 GiB, 6 GiB above it and a 2 MiB pc-dimm.
    let counts: Vec<(u64, u64)> = p
        .per_page
        .iter()
        .map(|c| (c.page_size, c.entries))
        .collect();
    assert_eq!(
        counts,
        [
            (4 * KIB, 2 * 1024 * 1024 + 512),
            (2 * MIB, 4 * 1024 + 1),
            (GIB, 8 + 1)
        ]
    );
}

#[test]
fn numa_nodes_split_sections() {
    let mut req = GuestRequest::new(4 * GIB);
    req.nodes = vec![GIB, 3 * GIB];
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    let maps: Vec<(u64, u64)> = p
        .maps
        .iter()
        .filter_map(|o| match o {
            DmaOp::Map(m) => Some((m.iova, m.len)),
            _ => None,
        })
        .collect();
    // Below 4 GiB: node 0 [0, 1G) and node 1 [1G, 2G); above: node 1's rest.
    assert!(maps.contains(&(0, GIB)));
    assert!(maps.contains(&(GIB, GIB)));
    assert!(maps.contains(&(FOUR_GIB, 2 * GIB)));
    assert_eq!(p.memlock, 4 * GIB + 256 * KIB);
}

#[test]
fn the_mapping_budget_is_refused_with_enospc_and_a_limit() {
    let p = plan_guest(&intel39(), host(Some(4)), &GuestRequest::new(64 * MIB)).unwrap();
    let f = p.refusals.iter().find(|r| r.item == "mappings").unwrap();
    assert_eq!(f.errno, Some(libc::ENOSPC));
    assert!(f.nearest.as_deref().unwrap().contains(">= 5"));
}

#[test]
fn only_type1_without_a_viommu_refuses_the_mappings_dma_avail_cannot_hold() {
    // A 64 MiB guest's QEMU holds 5 mappings at once.
    for backend in [
        Backend::Type1,
        Backend::Iommufd,
        Backend::IommufdCompat,
        Backend::SpaprTce,
    ] {
        for dma_avail in [None, Some(0), Some(4), Some(5), Some(u32::MAX)] {
            for viommu in [Viommu::None, Viommu::Virtio] {
                let mut req = GuestRequest::new(64 * MIB);
                req.viommu = viommu;
                let h = HostFacts {
                    backend,
                    ..host(dma_avail)
                };
                let p = plan_guest(&intel39(), h, &req).unwrap();
                let f: Vec<String> = p
                    .refusals
                    .iter()
                    .filter(|r| r.item == "mappings")
                    .map(ToString::to_string)
                    .collect();
                let refused = backend == Backend::Type1
                    && viommu == Viommu::None
                    && dma_avail.is_some_and(|a| a < 5);
                let want = dma_avail.filter(|_| refused).map(|a| {
                    format!("mappings: QEMU needs 5 mappings at once; the container accepts {a} (DMA_AVAIL); nearest that fits: vfio_iommu_type1 dma_entry_limit >= 5 (it was {a} more than the container held)")
                });
                assert_eq!(
                    f,
                    Vec::from_iter(want),
                    "{backend:?} {dma_avail:?} {viommu:?}"
                );
            }
        }
    }
}

#[test]
fn intel_viommu_width_and_amd_refused() {
    let mut req = GuestRequest::new(GIB);
    req.viommu = Viommu::Intel;
    let p = plan_guest(&amd(), host(None), &req).unwrap();
    assert_eq!(p.viommu.as_ref().unwrap().aw_bits, Some(39));
    assert!(p.maps.is_empty());
    req.devices = 2;
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    assert_eq!(p.viommu.as_ref().unwrap().aw_bits, Some(39));
    assert_eq!(p.memlock, 2 * GIB);
    req.viommu = Viommu::Amd;
    assert_eq!(
        items(&plan_guest(&amd(), host(None), &req).unwrap()),
        ["viommu"]
    );
}

#[test]
fn virtio_viommu_advertises_the_holes() {
    let mut req = GuestRequest::new(GIB);
    req.viommu = Viommu::Virtio;
    let p = plan_guest(&amd(), host(None), &req).unwrap();
    let v = p.viommu.unwrap();
    assert_eq!(v.aw_bits, Some(64));
    assert_eq!(v.reserved, amd().reserved());
}

#[test]
fn bars_too_large_for_the_aperture_are_refused() {
    let mut req = GuestRequest::new(GIB);
    req.bars = vec![512 * GIB];
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    assert!(items(&p).contains(&"bars"), "{:?}", p.refusals);
    req.bars = vec![64 * GIB, 16 * MIB];
    let p = plan_guest(&intel39(), host(None), &req).unwrap();
    assert!(p.fits(), "{:?}", p.refusals);
    assert!(p.hole64_size() >= 64 * GIB + 16 * MIB);
}

#[test]
fn bad_requests_are_errors() {
    let sp = intel39();
    let h = host(None);
    assert_eq!(
        plan_guest(&sp, h, &GuestRequest::new(0)),
        Err(GuestError::NoRam)
    );
    assert!(matches!(
        plan_guest(&sp, h, &GuestRequest::new(4097)),
        Err(GuestError::NotPageMultiple { .. })
    ));
    let mut req = GuestRequest::new(GIB);
    req.nodes = vec![GIB, GIB];
    assert!(matches!(
        plan_guest(&sp, h, &req),
        Err(GuestError::NodesMismatch { .. })
    ));
    let mut req = GuestRequest::new(GIB);
    req.fixed.push(FixedRam {
        at: u64::MAX - 4095,
        size: 8192,
    });
    assert!(matches!(
        plan_guest(&sp, h, &req),
        Err(GuestError::BadSize { .. })
    ));
    let mut req = GuestRequest::new(GIB);
    req.backing_page = 3 << 20;
    assert!(matches!(
        plan_guest(&sp, h, &req),
        Err(GuestError::BadPage(_))
    ));
}

#[test]
fn a_hole_inside_low_ram_lowers_max_ram_below_4g() {
    let space = IovaSpace::new(
        &[r(0, 0x7a3b_ffff), r(0x7a3e_0000, 0x7f_ffff_ffff)],
        Some(PAGES),
    );
    let p = plan_guest(&space, host(None), &GuestRequest::new(4 * GIB)).unwrap();
    assert!(p.fits(), "{:?}", p.refusals);
    assert_eq!(p.max_ram_below_4g, Some(0x7a3c_0000));
    assert_eq!(p.below_4g(), 0x7a3c_0000);
}

#[test]
fn a_memlock_limit_below_the_figure_is_refused_with_enomem_and_the_limit_to_set() {
    let mut h = host(None);
    let facts = |soft: u64| crate::plan::budget::MemlockFacts {
        soft_limit: Some(soft),
        locked: Some(0),
        ..Default::default()
    };
    let figure = 64 * MIB + 256 * KIB;
    h.memlock = Some(facts(figure));
    let p = plan_guest(&intel39(), h, &GuestRequest::new(64 * MIB)).unwrap();
    assert!(p.fits(), "{:?}", p.refusals);
    assert_eq!(
        p.memlock_budget.as_ref().unwrap().charged_to.name(),
        "process"
    );
    h.memlock = Some(facts(figure - 4096));
    let p = plan_guest(&intel39(), h, &GuestRequest::new(64 * MIB)).unwrap();
    let r = p.refusals.iter().find(|r| r.item == "memlock").unwrap();
    assert_eq!(r.errno, Some(libc::ENOMEM));
    assert!(
        r.nearest
            .as_deref()
            .unwrap()
            .contains(&(figure / 1024).to_string()),
        "{r:?}"
    );
}

/// The peaks before the live set (`predict::LiveSet`), kept as the oracle of the property
/// tests: the live mappings and their bytes summed again after every op.
mod reference {
    use super::*;

    pub(super) fn peaks_charging(ops: &[DmaOp], free: &[usize]) -> (u64, u64) {
        // Each live mapping with the bytes it is charged.
        let mut live: Vec<(Mapping, u64)> = Vec::new();
        let (mut n, mut bytes) = (0u64, 0u64);
        for (i, op) in ops.iter().enumerate() {
            match op {
                DmaOp::Map(m) => live.push((*m, if free.contains(&i) { 0 } else { m.len })),
                DmaOp::Unmap(u) => live.retain(|(m, _)| {
                    let end = u128::from(m.iova) + u128::from(m.len);
                    !(m.iova >= u.iova && end <= u128::from(u.iova) + u128::from(u.len))
                }),
            }
            n = n.max(live.len() as u64);
            bytes = bytes.max(live.iter().map(|(_, c)| *c).fold(0, u64::saturating_add));
        }
        (n, bytes)
    }

    /// The guest plan's `per_page` before `layout::per_page` counted it for both.
    pub(super) fn per_page(space: &IovaSpace, ram: &[RamPiece]) -> Vec<MappingCount> {
        space
            .page_sizes()
            .unwrap_or_default()
            .sizes()
            .filter(|&p| p <= GIB)
            .map(|page_size| MappingCount {
                page_size,
                entries: ram
                    .iter()
                    .map(|r| {
                        let len = u128::from(r.range.end - r.range.start) + 1;
                        u64::try_from(len.div_ceil(u128::from(page_size))).unwrap_or(u64::MAX)
                    })
                    .fold(0, u64::saturating_add),
            })
            .collect()
    }

    /// `first_over` before it took one pass: the peak of every prefix, summed again.
    pub(super) fn first_over(ops: &[DmaOp], free: &[usize], limit: u64) -> Option<Mapping> {
        (1..=ops.len()).find_map(|i| match ops[i - 1] {
            DmaOp::Map(m) if peaks_charging(&ops[..i], free).1 > limit => Some(m),
            _ => None,
        })
    }
}

mod properties {
    use super::*;
    use crate::plan::predict::tests::tangled_ops;
    use proptest::prelude::*;

    /// Indices into a sequence of up to 32 ops whose maps charge nothing.
    fn free() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(0usize..32, 0..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The peaks of mappings and of charged bytes are what they were before the live
        /// set, with and without free maps, on tangled sequences (unmaps that cut, nest,
        /// are empty or reach 2^64).
        #[test]
        fn peaks_answer_as_before(ops in tangled_ops(), free in free()) {
            prop_assert_eq!(peaks_charging(&ops, &free), reference::peaks_charging(&ops, &free));
            prop_assert_eq!(peaks_charging(&ops, &[]), reference::peaks_charging(&ops, &[]));
        }

        /// The mappings RAM needs page by page are what the plan counted before the
        /// layout's count served it, for any page sizes (1-byte pages too) and any RAM
        /// (the whole 64-bit space too).
        #[test]
        fn per_page_answers_as_before(pgsizes in prop::option::of(any::<u64>()), ends in prop::collection::vec((any::<u64>(), any::<u64>(), any::<bool>()), 0..6)) {
            let space = IovaSpace::new(&[r(0, u64::MAX)], pgsizes.map(PageSizes));
            let ram: Vec<RamPiece> = ends
                .into_iter()
                .map(|(a, b, whole)| RamPiece {
                    range: if whole { r(0, u64::MAX) } else { r(a.min(b), a.max(b)) },
                    kind: RamKind::Below4G,
                })
                .collect();
            let ranges: Vec<IovaRange> = ram.iter().map(|p| p.range).collect();
            prop_assert_eq!(per_page(&space, &ranges), reference::per_page(&space, &ram));
        }

        /// The map that first crosses a memlock limit is the one the prefix-by-prefix
        /// search found, with and without free maps.
        #[test]
        fn first_over_answers_as_before(ops in tangled_ops(), free in free(), limit in any::<u64>(), pick in any::<prop::sample::Index>()) {
            // Any limit, or one at or next to a charge the sequence reaches.
            let mut limits = vec![limit, 0, u64::MAX];
            for (_, _, charged) in charged_steps(&ops, &free) {
                limits.extend([charged.saturating_sub(1), charged, charged.saturating_add(1)]);
            }
            let limit = limits[pick.index(limits.len())];
            prop_assert_eq!(first_over(&ops, &free, limit), reference::first_over(&ops, &free, limit));
            prop_assert_eq!(first_over(&ops, &[], limit), reference::first_over(&ops, &[], limit));
        }
    }
}

#[test]
fn only_an_x86_64_host_runs_the_planned_q35_guest() {
    use crate::sys::arch::Arch;
    assert_eq!(plans_for(&Arch::X86_64), Ok(()));
    for (arch, name) in [
        (Arch::Aarch64, "aarch64"),
        (Arch::S390x, "s390x"),
        (Arch::PowerPc64, "ppc64le"),
        (Arch::Other("mips64".into()), "mips64"),
    ] {
        let e = plans_for(&arch).unwrap_err();
        assert_eq!(e, GuestError::HostNotX86(name.into()));
        assert!(
            e.to_string().contains(&format!("this host is {name},")),
            "{e}"
        );
    }
}
