//! `decode` on buffers filled the way each kernel generation fills them, on malformed
//! buffers, and on arbitrary bytes (property tests).

use proptest::prelude::*;
use vfio_iommu_info::encode::{CapSpec, KernelLayout, KernelState};
use vfio_iommu_info::{
    decode, decode_with_order, Absence, ByteOrder, DecodeErrorKind, IovaRange, Migration,
    PageSizes, Reported,
};

fn r(start: u64, end: u64) -> IovaRange {
    IovaRange::new(start, end).unwrap()
}

const MIGRATION: Migration = Migration {
    version: 1,
    flags: 0,
    pgsize_bitmap: PageSizes(0x1000),
    max_dirty_bitmap_size: 0x1000_0000,
};

/// What Linux builds on a type1 container: MIGRATION, DMA_AVAIL, IOVA_RANGE.
fn kernel(layout: KernelLayout, pgsizes: u64, ranges: Vec<IovaRange>) -> KernelState {
    KernelState {
        layout,
        order: ByteOrder::Native,
        iova_pgsizes: pgsizes,
        caps: vec![
            CapSpec::Migration(MIGRATION),
            CapSpec::DmaAvail(65535),
            CapSpec::IovaRange(ranges),
        ],
    }
}

fn amd_ranges() -> Vec<IovaRange> {
    vec![
        r(0, 0xfedf_ffff),
        r(0xfef0_0000, 0xfc_ffff_ffff),
        r(0x100_0000_0000, u64::MAX),
    ]
}

#[test]
fn linux_6_1_packed_chain_puts_iova_range_at_68() {
    let k = kernel(
        KernelLayout::Packed,
        0x4020_1000,
        vec![r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
    );
    let buf = k.encode();
    assert_eq!(buf.len(), 84 + 16 * 2);
    let info = decode(&buf).unwrap();
    let offsets: Vec<_> = info.chain.iter().map(|c| (c.id, c.offset)).collect();
    assert_eq!(offsets, vec![(2, 24), (3, 56), (1, 68)]);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 2);
    assert_eq!(info.migration, Reported::Present(MIGRATION));
    assert_eq!(info.dma_avail, Reported::Present(65535));
    assert_eq!(info.aperture(), Some(r(0, 0x7f_ffff_ffff)));
}

#[test]
fn linux_6_12_padded_chain_puts_iova_range_at_72_and_handles_2_pow_64() {
    let buf = kernel(KernelLayout::Padded, 0x000f_ff7f_ffff_f000, amd_ranges()).encode();
    assert_eq!(buf.len(), 88 + 16 * 3);
    let info = decode(&buf).unwrap();
    assert_eq!(info.chain.last().map(|c| c.offset), Some(72));
    assert_eq!(info.cap_offset, Some(24));
    assert_eq!(info.iova_ranges, Reported::Present(amd_ranges()));
    assert_eq!(info.aperture(), Some(r(0, u64::MAX)));
    assert_eq!(info.aperture().unwrap().size(), 1u128 << 64);
    assert_eq!(
        info.holes(),
        vec![
            r(0xfee0_0000, 0xfeef_ffff),
            r(0xfd_0000_0000, 0xff_ffff_ffff)
        ]
    );
    assert!(!info.caps_truncated);
}

#[test]
fn large_buffer_keeps_argsz_and_ignores_the_garbage_tail() {
    let k = kernel(
        KernelLayout::Padded,
        0x4020_1000,
        vec![r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
    );
    let buf = k.encode_into_len(4096, 0xAA);
    assert_eq!(&buf[..4], &4096u32.to_ne_bytes());
    assert!(buf[k.needed_size()..].iter().all(|&b| b == 0xAA));
    let info = decode(&buf).unwrap();
    assert_eq!(info.argsz, 4096);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 2);
    assert!(info.unknown_caps.is_empty());
}

#[test]
fn small_buffers_report_the_needed_size_and_why_caps_are_absent() {
    let k = kernel(KernelLayout::Padded, 0x4020_1000, vec![r(0, 0xfedf_ffff)]);
    let needed = k.needed_size() as u32;
    for len in [16usize, 20, 24, 64, needed as usize - 1] {
        let buf = k.encode_into_len(len, 0xAA);
        let info = decode(&buf).unwrap_or_else(|e| panic!("len {len}: {e}"));
        assert!(info.caps_truncated, "len {len}");
        assert_eq!(info.argsz, needed);
        assert_eq!(info.iova_pgsizes, Some(PageSizes(0x4020_1000)));
        let why = Absence::DidNotFit {
            needed,
            available: len,
        };
        assert_eq!(info.iova_ranges, Reported::Absent(why));
        assert_eq!(info.dma_avail, Reported::Absent(why));
        assert_eq!(info.migration, Reported::Absent(why));
        assert_eq!(info.aperture(), None);
    }
}

#[test]
fn pre_5_4_kernel_has_no_chain() {
    let mut k = kernel(KernelLayout::Legacy, 0x1000, vec![r(0, 0xffff_ffff)]);
    k.caps.clear();
    let buf = k.encode_into_len(1024, 0xAA);
    let info = decode(&buf).unwrap();
    assert_eq!(info.flags, 1);
    assert!(!info.caps_truncated);
    assert_eq!(
        info.cap_offset, None,
        "bytes 16.. are the caller's garbage, not cap_offset"
    );
    assert_eq!(
        info.iova_ranges,
        Reported::Absent(Absence::NoCapabilityChain)
    );
    assert!(info.absence(vfio_iommu_info::Type1Cap::DmaAvail).is_some());
    let text = Absence::NoCapabilityChain.explain(vfio_iommu_info::Type1Cap::IovaRange);
    assert!(text.contains("5.4"), "{text}");
}

#[test]
fn missing_caps_in_a_present_chain_are_explained_per_capability() {
    // A Linux 5.4-5.7 kernel: IOVA_RANGE only.
    let k = KernelState {
        layout: KernelLayout::Packed,
        order: ByteOrder::Native,
        iova_pgsizes: 0x1000,
        caps: vec![CapSpec::IovaRange(vec![r(0, 0xffff_ffff)])],
    };
    let info = decode(&k.encode()).unwrap();
    assert_eq!(info.dma_avail, Reported::Absent(Absence::NotInChain));
    assert!(Absence::NotInChain
        .explain(vfio_iommu_info::Type1Cap::DmaAvail)
        .contains("5.10"));
    assert!(Absence::NotInChain
        .explain(vfio_iommu_info::Type1Cap::Migration)
        .contains("5.8"));
    // An mdev-only container: MIGRATION and DMA_AVAIL, no IOVA list.
    let k = KernelState {
        caps: vec![CapSpec::Migration(MIGRATION), CapSpec::DmaAvail(3)],
        ..k
    };
    let info = decode(&k.encode()).unwrap();
    assert_eq!(info.iova_ranges, Reported::Absent(Absence::NotInChain));
    assert!(Absence::NotInChain
        .explain(vfio_iommu_info::Type1Cap::IovaRange)
        .contains("empty IOVA list"));
    assert_eq!(info.holes(), vec![]);
}

#[test]
fn pgsizes_flag_clear_means_no_page_sizes() {
    let mut buf = kernel(KernelLayout::Padded, 0x1000, vec![]).encode();
    buf[4..8].copy_from_slice(&2u32.to_ne_bytes()); // CAPS only
    assert_eq!(decode(&buf).unwrap().iova_pgsizes, None);
}

#[test]
fn big_endian_captures_decode_with_an_explicit_order() {
    // The s390x capture shape of lab-recipe.md: one range [4G, 5G-1].
    let k = KernelState {
        layout: KernelLayout::Padded,
        order: ByteOrder::Big,
        iova_pgsizes: 0x1000,
        caps: vec![
            CapSpec::Migration(MIGRATION),
            CapSpec::DmaAvail(65535),
            CapSpec::IovaRange(vec![r(0x1_0000_0000, 0x1_3fff_ffff)]),
        ],
    };
    let buf = k.encode();
    assert_eq!(&buf[4..8], &[0, 0, 0, 3], "flags written big-endian");
    let info = decode_with_order(&buf, ByteOrder::Big).unwrap();
    assert_eq!(
        info.iova_ranges,
        Reported::Present(vec![r(0x1_0000_0000, 0x1_3fff_ffff)])
    );
    assert_eq!(info.iova_pgsizes, Some(PageSizes(0x1000)));
    // Read in the wrong order the same bytes are nonsense, and decode says so precisely.
    if cfg!(target_endian = "little") {
        assert!(
            decode(&buf).is_err() || decode(&buf).unwrap().iova_pgsizes != Some(PageSizes(0x1000))
        );
    }
}

#[test]
fn unknown_and_future_caps_are_kept_raw_and_known_ones_still_decode() {
    let k = KernelState {
        layout: KernelLayout::Padded,
        order: ByteOrder::Native,
        iova_pgsizes: 0x1000,
        caps: vec![
            CapSpec::Raw {
                id: 77,
                version: 3,
                payload: vec![1, 2, 3, 4, 5],
            },
            // A future MIGRATION v2 that appends 8 bytes.
            CapSpec::Raw {
                id: 2,
                version: 2,
                payload: {
                    let mut p = vec![0u8; 32];
                    p[8..16].copy_from_slice(&0x1000u64.to_ne_bytes());
                    p[16..24].copy_from_slice(&0x4000u64.to_ne_bytes());
                    p[24..32].copy_from_slice(&0xdead_beefu64.to_ne_bytes());
                    p
                },
            },
            CapSpec::IovaRange(vec![r(0, 0xffff)]),
        ],
    };
    let info = decode(&k.encode()).unwrap();
    assert_eq!(info.unknown_caps.len(), 1);
    let u = &info.unknown_caps[0];
    assert_eq!((u.id, u.version, u.offset), (77, 3, 24));
    assert_eq!(&u.bytes[8..13], &[1, 2, 3, 4, 5]);
    assert_eq!(u.bytes.len(), 16, "up to the next capability (padded to 8)");
    let m = info.migration.present().unwrap();
    assert_eq!(
        (m.version, m.pgsize_bitmap, m.max_dirty_bitmap_size),
        (2, PageSizes(0x1000), 0x4000)
    );
}

/// A 6.12-style buffer with one IOVA_RANGE cap at 24 to corrupt.
fn one_range_buffer() -> Vec<u8> {
    KernelState::padded(0x1000, vec![CapSpec::IovaRange(vec![r(0, 0xfff)])]).encode()
}

fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

#[test]
fn malformed_buffers_name_the_offset_and_the_problem() {
    // Under 16 bytes.
    for len in 0..16 {
        let e = decode(&vec![0u8; len]).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::TooShort { needed: 16, .. }),
            "{e}"
        );
    }
    // cap_offset into the fixed header.
    let mut b = one_range_buffer();
    put32(&mut b, 16, 8);
    let e = decode(&b).unwrap_err();
    assert_eq!(
        e.offset, 16,
        "reported at the cap_offset field, with the value in the text"
    );
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::CapOffsetInHeader { cap_offset: 8, .. }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("vfio_iommu_type1_info at byte offset 16: capability offset 8 points into"),
        "{e}"
    );
    // cap_offset past the end, and argsz does not ask for more: not a truncation.
    let mut b = one_range_buffer();
    put32(&mut b, 16, 4000);
    let e = decode(&b).unwrap_err();
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::CapHeaderOutside {
                cap_offset: 4000,
                ..
            }
        ),
        "{e}"
    );
    // A header that straddles the end.
    let mut b = one_range_buffer();
    let len = b.len() as u32;
    put32(&mut b, 16, len - 4);
    assert!(matches!(
        decode(&b).unwrap_err().kind,
        DecodeErrorKind::CapHeaderOutside { .. }
    ));
    // Self-loop (of a known and of an unknown capability) and two-cap loop.
    let mut b = one_range_buffer();
    put32(&mut b, 24 + 4, 24);
    let e = decode(&b).unwrap_err();
    assert_eq!(
        e.offset, 28,
        "reported at the next field that points to itself"
    );
    assert!(
        matches!(e.kind, DecodeErrorKind::ChainLoops { hops: 1 }),
        "{e}"
    );
    let mut b = KernelState::padded(
        0x1000,
        vec![
            CapSpec::DmaAvail(1),
            CapSpec::Raw {
                id: 9,
                version: 1,
                payload: vec![0; 8],
            },
        ],
    )
    .encode();
    put32(&mut b, 40 + 4, 40);
    let e = decode(&b).unwrap_err();
    assert_eq!(e.offset, 44, "{e}");
    assert!(
        matches!(e.kind, DecodeErrorKind::ChainLoops { hops: 1 }),
        "{e}"
    );
    let mut b = KernelState::padded(
        0x1000,
        vec![
            CapSpec::DmaAvail(1),
            CapSpec::Raw {
                id: 9,
                version: 1,
                payload: vec![],
            },
        ],
    )
    .encode();
    put32(&mut b, 40 + 4, 24);
    let e = decode(&b).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::ChainLoops { .. }), "{e}");
    // Range counts that do not fit, including ones that overflow 32-bit multiplication.
    for count in [2u32, 0x1000_0000, 0x1000_0001, u32::MAX] {
        let mut b = one_range_buffer();
        put32(&mut b, 24 + 8, count);
        let e = decode(&b).unwrap_err();
        assert_eq!(e.offset, 32, "{e}");
        match e.kind {
            DecodeErrorKind::RangeCountTooLarge {
                count: c, needed, ..
            } => {
                assert_eq!(c, count);
                assert_eq!(needed, 16 + 16 * u64::from(count));
            }
            other => panic!("{other:?}"),
        }
    }
    // An inverted range.
    let mut b = one_range_buffer();
    b[40..48].copy_from_slice(&0x2000u64.to_ne_bytes());
    assert!(matches!(
        decode(&b).unwrap_err().kind,
        DecodeErrorKind::InvertedRange {
            index: 0,
            start: 0x2000,
            end: 0xfff
        }
    ));
    // A known cap truncated by the end of the buffer.
    let b = KernelState::padded(0x1000, vec![CapSpec::Migration(MIGRATION)]).encode();
    let e = decode(&b[..40]).unwrap_err();
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::CapTooShort {
                name: "MIGRATION",
                needed: 32,
                available: 16,
                ..
            }
        ),
        "{e}"
    );
    // The same capability twice.
    let b = KernelState::padded(0x1000, vec![CapSpec::DmaAvail(1), CapSpec::DmaAvail(2)]).encode();
    assert!(matches!(
        decode(&b).unwrap_err().kind,
        DecodeErrorKind::DuplicateCap {
            id: 3,
            first_offset: 24,
            ..
        }
    ));
}

#[test]
fn a_header_inside_a_known_capability_is_an_overlap_not_data() {
    // IOVA_RANGE at 24 with 2 ranges (24..72); its next points into its own range array,
    // where the bytes happen to form a DMA_AVAIL header.
    let mut b = KernelState::padded(
        0x1000,
        vec![CapSpec::IovaRange(vec![
            r(0, 0xfff),
            r(0x3_0000_0000, 0x3_0000_0fff),
        ])],
    )
    .encode();
    put32(&mut b, 24 + 4, 56);
    b[56..58].copy_from_slice(&3u16.to_ne_bytes());
    b[58..60].copy_from_slice(&1u16.to_ne_bytes());
    b[60..64].copy_from_slice(&0u32.to_ne_bytes());
    let e = decode(&b).unwrap_err();
    assert_eq!(
        e.offset, 28,
        "reported at the next field that points into the capability"
    );
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::CapOverlaps {
                cap_offset: 56,
                name: "IOVA_RANGE",
                other_offset: 24,
                other_end: 72
            }
        ),
        "{e}"
    );
    // The chain goes back to a known capability whose ranges run over one it passed:
    // DMA_AVAIL at 96 (in the last range's end, past the IOVA_RANGE's own 24..104) first,
    // then IOVA_RANGE at 24 with 4 ranges.
    let mut b = KernelState::padded(
        0x1000,
        vec![CapSpec::IovaRange(vec![
            r(0, 0xfff),
            r(0x1_0000, 0x1_0fff),
            r(0x2_0000, 0x2_0fff),
            r(0x3_0000, 0x3_0fff),
        ])],
    )
    .encode();
    b.extend([0u8; 16]);
    put32(&mut b, 16, 96);
    b[96..98].copy_from_slice(&3u16.to_ne_bytes());
    b[98..100].copy_from_slice(&1u16.to_ne_bytes());
    put32(&mut b, 100, 24);
    put32(&mut b, 104, 7);
    put32(&mut b, 28, 0);
    let e = decode(&b).unwrap_err();
    assert_eq!(
        e.offset, 24,
        "reported at the capability that overlaps: {e}"
    );
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::CapOverlaps {
                cap_offset: 24,
                name: "DMA_AVAIL",
                other_offset: 96,
                other_end: 108
            }
        ),
        "{e}"
    );
    // Going back is fine where nothing is overlapped: the same chain with 2 ranges.
    put32(&mut b, 24 + 8, 2);
    let info = decode(&b).unwrap();
    assert_eq!(info.iova_ranges.present().map(Vec::len), Some(2));
    assert_eq!(info.dma_avail.present(), Some(&7));
    assert_eq!(
        info.chain.iter().map(|c| c.offset).collect::<Vec<_>>(),
        [96, 24]
    );
    // A known capability laid over an earlier one's fields.
    let mut b = KernelState::padded(
        0x1000,
        vec![CapSpec::Migration(MIGRATION), CapSpec::DmaAvail(5)],
    )
    .encode();
    put32(&mut b, 24 + 4, 40); // DMA_AVAIL "at 40", inside MIGRATION's 24..56
    b[40..42].copy_from_slice(&3u16.to_ne_bytes());
    b[44..48].copy_from_slice(&0u32.to_ne_bytes());
    assert!(matches!(
        decode(&b).unwrap_err().kind,
        DecodeErrorKind::CapOverlaps {
            name: "MIGRATION",
            ..
        }
    ));
}

#[test]
fn packed_kernels_write_back_16_bytes_when_argsz_cannot_hold_cap_offset() {
    let k = kernel(KernelLayout::Packed, 0x1000, vec![r(0, 0xfff)]);
    let b = k.encode_into_len(18, 0xAA);
    assert_eq!(&b[16..18], &[0xAA, 0xAA], "bytes 16.. stay the caller's");
    assert!(decode(&b).unwrap().caps_truncated);
    let b = k.encode_into_len(20, 0xAA);
    assert_eq!(&b[16..20], &[0, 0, 0, 0], "cap_offset 0 written");
}

#[test]
fn caps_flag_without_a_placed_chain_is_explained_not_guessed() {
    let mut b = one_range_buffer();
    put32(&mut b, 16, 0);
    let info = decode(&b).unwrap();
    assert!(!info.caps_truncated, "argsz does not exceed the buffer");
    assert_eq!(info.iova_ranges, Reported::Absent(Absence::ChainNotPlaced));
}

#[test]
fn cap_offset_beyond_a_short_capture_with_larger_argsz_is_a_truncation() {
    let b = one_range_buffer();
    let mut short = b[..24].to_vec();
    put32(&mut short, 16, 40); // cap_offset beyond these 24 bytes, argsz says 56
    let info = decode(&short).unwrap();
    assert!(info.caps_truncated);
}

// ---- properties ----

fn arb_range() -> impl Strategy<Value = IovaRange> {
    (any::<u64>(), any::<u64>()).prop_map(|(a, b)| r(a.min(b), a.max(b)))
}

fn arb_caps() -> impl Strategy<Value = Vec<CapSpec>> {
    let migration = (any::<u32>(), any::<u64>(), any::<u64>(), 1u16..4).prop_map(
        |(flags, pg, max, version)| {
            CapSpec::Migration(Migration {
                version,
                flags,
                pgsize_bitmap: PageSizes(pg),
                max_dirty_bitmap_size: max,
            })
        },
    );
    let unknown = (
        4u16..2000,
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(id, version, payload)| CapSpec::Raw {
            id,
            version,
            payload,
        });
    (
        proptest::option::of(proptest::collection::vec(arb_range(), 0..12)),
        proptest::option::of(migration),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(unknown, 0..3),
    )
        .prop_map(|(ranges, migration, avail, unknown)| {
            let mut caps = Vec::new();
            if let Some(m) = migration {
                caps.push(m);
            }
            if let Some(a) = avail {
                caps.push(CapSpec::DmaAvail(a));
            }
            if let Some(r) = ranges {
                caps.push(CapSpec::IovaRange(r));
            }
            caps.extend(unknown);
            caps
        })
        .prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512), big in any::<bool>()) {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let _ = decode_with_order(&bytes, order);
    }

    #[test]
    fn chain_shaped_noise_never_panics(
        caps in arb_caps(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
    ) {
        let mut buf = KernelState::padded(0x1000, caps).encode();
        for (at, byte) in flips {
            let i = at % buf.len();
            buf[i] = byte;
        }
        let _ = decode(&buf);
    }

    #[test]
    fn chains_from_a_model_decode_back_to_it_in_any_order(
        caps in arb_caps(),
        pgsizes in any::<u64>(),
        packed in any::<bool>(),
        big in any::<bool>(),
        extra in 0usize..64,
    ) {
        let layout = if packed { KernelLayout::Packed } else { KernelLayout::Padded };
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let k = KernelState { layout, order, iova_pgsizes: pgsizes, caps: caps.clone() };
        let buf = k.encode_into_len(k.needed_size() + extra, 0xAA);
        let info = decode_with_order(&buf, order).unwrap();
        prop_assert_eq!(info.iova_pgsizes, Some(PageSizes(pgsizes)));
        prop_assert!(!info.caps_truncated);
        prop_assert_eq!(info.chain.len(), caps.len());
        let mut unknown = info.unknown_caps.iter();
        for cap in &caps {
            match cap {
                CapSpec::IovaRange(ranges) => prop_assert_eq!(info.iova_ranges.present(), Some(ranges)),
                CapSpec::Migration(m) => prop_assert_eq!(info.migration.present(), Some(m)),
                CapSpec::DmaAvail(a) => prop_assert_eq!(info.dma_avail.present(), Some(a)),
                CapSpec::Raw { id, version, payload } => {
                    let u = unknown.next().unwrap();
                    prop_assert_eq!((u.id, u.version), (*id, *version));
                    prop_assert_eq!(&u.bytes[8..8 + payload.len()], &payload[..]);
                }
            }
        }
        if !caps.iter().any(|c| matches!(c, CapSpec::DmaAvail(_))) {
            prop_assert_eq!(info.dma_avail, Reported::Absent(if caps.is_empty() { Absence::NoCapabilityChain } else { Absence::NotInChain }));
        }
        // Every byte string shorter than the chain is reported as truncated, never misread.
        let short = k.encode_into_len(k.needed_size().saturating_sub(1).max(16), 0xAA);
        let s = decode_with_order(&short, order).unwrap();
        if !caps.is_empty() && k.needed_size() > 16 {
            prop_assert!(s.caps_truncated);
        }
    }

        #[test]
    fn chains_laid_out_in_any_physical_order_decode_the_same(
        caps in arb_caps().prop_filter("two caps or more", |c| c.len() >= 2),
        seed in any::<u64>(),
        big in any::<bool>(),
    ) {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let k = KernelState { layout: KernelLayout::Padded, order, iova_pgsizes: 0x1000, caps };
        let buf = k.encode();
        let straight = decode_with_order(&buf, order).unwrap();
        let scattered = scatter(&buf, &straight, seed, order);
        let info = decode_with_order(&scattered, order).unwrap();
        prop_assert_eq!(&info.iova_ranges, &straight.iova_ranges);
        prop_assert_eq!(&info.migration, &straight.migration);
        prop_assert_eq!(&info.dma_avail, &straight.dma_avail);
        let ids = |i: &vfio_iommu_info::IommuInfo| i.chain.iter().map(|c| (c.id, c.version)).collect::<Vec<_>>();
        prop_assert_eq!(ids(&info), ids(&straight));
        for (a, b) in info.unknown_caps.iter().zip(&straight.unknown_caps) {
            prop_assert_eq!((a.id, a.version), (b.id, b.version));
            let n = a.bytes.len().min(b.bytes.len());
            prop_assert!(n >= 8);
            prop_assert_eq!(&a.bytes[8..n], &b.bytes[8..n]);
        }
    }

    #[test]
    fn holes_and_ranges_partition_the_aperture(ranges in proptest::collection::vec(arb_range(), 1..10)) {
        let ap = vfio_iommu_info::iova::aperture(&ranges).unwrap();
        let holes = vfio_iommu_info::iova::holes(&ranges);
        for h in &holes {
            prop_assert!(ap.start < h.start && h.end < ap.end);
            for rg in &ranges {
                prop_assert!(h.end < rg.start || h.start > rg.end, "hole {} overlaps range {}", h, rg);
            }
        }
        let covered: u128 = {
            let mut s = ranges.clone();
            s.sort();
            let mut total = 0u128;
            let mut top: Option<u64> = None;
            for rg in s {
                let from = match top { Some(t) if t >= rg.end => continue, Some(t) if t >= rg.start => t + 1, _ => rg.start };
                total += (rg.end - from) as u128 + 1;
                top = Some(rg.end);
            }
            total
        };
        let hole_total: u128 = holes.iter().map(|h| h.size()).sum();
        prop_assert_eq!(covered + hole_total, ap.size());
    }
}

/// Moves each capability of a kernel-built (contiguous) chain to a shuffled physical place
/// while keeping the logical chain order: `next` pointers then run backwards and forwards.
fn scatter(buf: &[u8], info: &vfio_iommu_info::IommuInfo, seed: u64, order: ByteOrder) -> Vec<u8> {
    let offsets: Vec<usize> = info.chain.iter().map(|c| c.offset).collect();
    let spans: Vec<(usize, usize)> = offsets
        .iter()
        .enumerate()
        .map(|(i, &o)| (o, offsets.get(i + 1).copied().unwrap_or(buf.len())))
        .collect();
    let mut perm: Vec<usize> = (0..spans.len()).collect();
    let mut x = seed | 1;
    for i in (1..perm.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        perm.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut out = buf[..24].to_vec();
    let mut new_offset = vec![0usize; spans.len()];
    for &logical in &perm {
        let (a, b) = spans[logical];
        new_offset[logical] = out.len();
        out.extend_from_slice(&buf[a..b]);
    }
    let put = |out: &mut Vec<u8>, at: usize, v: u32| {
        let bytes = if order == ByteOrder::Big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        out[at..at + 4].copy_from_slice(&bytes);
    };
    put(&mut out, 16, new_offset[0] as u32);
    for i in 0..spans.len() {
        let next = new_offset.get(i + 1).copied().unwrap_or(0) as u32;
        put(&mut out, new_offset[i] + 4, next);
    }
    out
}
