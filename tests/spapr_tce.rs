//! Properties of the sPAPR TCE decoder against the kernel's fill (the encoder): every
//! state the kernel can hold decodes back to itself at every `argsz` the kernel accepts,
//! in both byte orders; the bytes past what the kernel writes never matter; any byte of
//! what it writes, changed, either decodes to what the new bytes say or is refused at the
//! offset of that field; and a buffer cut short of what `argsz` says is refused.

use proptest::prelude::*;
use vfio_iommu_info::decode::encode_spapr_tce::SpaprTceState;
use vfio_iommu_info::decode::spapr_tce::DdwInfo;
use vfio_iommu_info::{decode_spapr_tce_with_order, ByteOrder, Ddw, DecodeErrorKind, PageSizes};

fn arb_state() -> impl Strategy<Value = SpaprTceState> {
    (
        any::<bool>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of((1u64.., 1u32.., 1u32..)),
    )
        .prop_map(|(big, start, size, ddw)| SpaprTceState {
            order: if big {
                ByteOrder::Big
            } else {
                ByteOrder::Little
            },
            dma32_window_start: start,
            dma32_window_size: size,
            ddw: ddw.map(|(p, w, l)| DdwInfo {
                page_sizes: PageSizes(p),
                max_dynamic_windows: w,
                levels: l,
            }),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_kernel_state_decodes_back_at_every_argsz(
        state in arb_state(),
        argsz in 16usize..96,
        canary in any::<u8>(),
    ) {
        let buf = state.encode_into_len(argsz, canary);
        let info = decode_spapr_tce_with_order(&buf, state.order).unwrap();
        prop_assert_eq!(info.argsz as usize, argsz);
        prop_assert_eq!(info.dma32_window_start, state.dma32_window_start);
        prop_assert_eq!(info.dma32_window_size, state.dma32_window_size);
        let want = match (state.ddw, argsz >= 32) {
            (None, _) => Ddw::Unsupported,
            (Some(_), false) => Ddw::NotReturned { argsz: argsz as u32 },
            (Some(d), true) => Ddw::Supported(d),
        };
        prop_assert_eq!(info.ddw, want);
        // Only the bytes the kernel writes count: a capture cut at them decodes the same.
        let written = if argsz >= 32 { 32 } else { 16 };
        prop_assert_eq!(decode_spapr_tce_with_order(&buf[..written], state.order).unwrap(), info);
    }

    #[test]
    fn only_argsz_says_what_the_kernel_wrote_not_the_buffers_length(
        state in arb_state(),
        argsz in 16usize..64,
        extra in 0usize..64,
        canary in any::<u8>(),
    ) {
        // A capture of the whole buffer: the bytes past what the kernel wrote for this
        // argsz are the caller's canaries, never a DDW block.
        let buf = state.encode_with_argsz(argsz, argsz + extra, canary);
        let info = decode_spapr_tce_with_order(&buf, state.order).unwrap();
        let want = match (state.ddw, argsz >= 32) {
            (None, _) => Ddw::Unsupported,
            (Some(_), false) => Ddw::NotReturned { argsz: argsz as u32 },
            (Some(d), true) => Ddw::Supported(d),
        };
        prop_assert_eq!(info.ddw, want);
    }

    #[test]
    fn a_buffer_short_of_its_argsz_is_refused_at_the_ddw_block(
        state in arb_state(),
        argsz in 32usize..4096,
        cut in 16usize..32,
    ) {
        let buf = state.encode_into_len(argsz, 0);
        let e = decode_spapr_tce_with_order(&buf[..cut], state.order).unwrap_err();
        prop_assert_eq!(e.offset, 16);
        let truncated = matches!(e.kind, DecodeErrorKind::Truncated { len, .. } if len == cut);
        prop_assert!(truncated, "{}", e);
    }

    #[test]
    fn a_changed_byte_decodes_to_what_it_says_or_is_refused_at_its_field(
        state in arb_state(),
        at in 0usize..32,
        byte in any::<u8>(),
    ) {
        let mut buf = state.encode();
        buf[at] = byte;
        match decode_spapr_tce_with_order(&buf, state.order) {
            Ok(info) => {
                // Re-encoding what was decoded gives the changed bytes back.
                let again = SpaprTceState {
                    order: state.order,
                    dma32_window_start: info.dma32_window_start,
                    dma32_window_size: info.dma32_window_size,
                    // Below argsz 32 the block is not written: any DDW keeps the flag.
                    ddw: match info.ddw {
                        Ddw::Supported(d) => Some(d),
                        Ddw::NotReturned { .. } => Some(DdwInfo {
                            page_sizes: PageSizes(0x1000),
                            max_dynamic_windows: 1,
                            levels: 1,
                        }),
                        Ddw::Unsupported => None,
                    },
                }
                .encode_into_len(info.argsz as usize, 0);
                let n = if info.argsz >= 32 { 32 } else { 16 };
                prop_assert_eq!(&again[..n], &buf[..n]);
            }
            Err(e) => {
                // The field the byte belongs to (argsz, flags, or a DDW field).
                let field = match at {
                    0..=3 => 0,
                    4..=7 => 4,
                    16..=23 => 16,
                    24..=27 => 24,
                    28..=31 => 28,
                    _ => usize::MAX,
                };
                // A changed argsz or flags can also make the ddw block wrong or missing.
                prop_assert!(e.offset == field || e.offset >= 16, "byte {} -> {}", at, e);
            }
        }
    }
}
