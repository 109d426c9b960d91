//! `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffers (`struct vfio_iommu_spapr_tce_info`, IBM
//! POWER): the whole input is the buffer, decoded in every byte order by
//! `decode_spapr_tce_with_order`. An accepted buffer must be what the encoder (the kernel's
//! fill) writes for its own `argsz`, byte for byte over what the kernel writes; then the
//! default window, the facts and the JSON; `detect_iommu_info` must agree with both
//! decoders; and the same bytes served by a fake kernel to the query and to CREATE (its
//! `start_addr`) must come back checked, never trusted.
#![no_main]

use std::os::fd::{AsFd, BorrowedFd};

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::decode::encode_spapr_tce::SpaprTceState;
use vfio_iommu_info::decode::spapr_tce::DdwInfo;
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::query::spapr_tce::{create_window_with, query_spapr_tce_with, WindowRequest};
use vfio_iommu_info::sys::kernel::{Kernel, VfioQuery};
use vfio_iommu_info::{
    decode_spapr_tce_with_order, decode_with_order, detect_iommu_info, json, Ddw, Detected, Errno,
    PageSizes,
};
use vfio_iommu_info_fuzz::ORDERS;

/// A kernel that answers every sPAPR call with the input's bytes.
struct Echo<'a>(&'a [u8]);

impl Kernel for Echo<'_> {
    fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    for order in ORDERS {
        let info = match decode_spapr_tce_with_order(data, order) {
            Ok(info) => info,
            Err(e) => {
                let _ = (e.to_string(), format!("{e:?}"), e.offset, e.structure);
                assert!(e.offset <= data.len().max(32));
                continue;
            }
        };
        // The encoder (the kernel's fill) writes the same bytes for the same state and
        // argsz. Without the ddw block (argsz < 32) its contents do not matter.
        let placeholder = DdwInfo {
            page_sizes: PageSizes(0x1000),
            max_dynamic_windows: 1,
            levels: 1,
        };
        let state = SpaprTceState {
            order,
            dma32_window_start: info.dma32_window_start,
            dma32_window_size: info.dma32_window_size,
            ddw: match info.ddw {
                Ddw::Supported(d) => Some(d),
                Ddw::NotReturned { .. } => Some(placeholder),
                Ddw::Unsupported => None,
            },
        };
        let written = if info.argsz >= 32 { 32 } else { 16 };
        if info.argsz <= 1 << 16 {
            let mut again = state.encode_into_len(info.argsz as usize, 0);
            again.truncate(written);
            assert_eq!(&again[..], &data[..written], "decode and encode disagree");
        }
        if let Some(w) = info.default_window() {
            assert!(w.start <= w.end && w.end < 1 << 33);
        }
        let facts = DmaFacts::from_spapr_tce(&info);
        let _ = (
            json::facts_to_json(&facts).to_string(),
            json::spapr_tce_to_json(&info).to_string(),
        );
        let _ = info.ddw.to_string();
        // A buffer sPAPR accepts is also read by type1 (the reason `decode` refuses to guess).
        match detect_iommu_info(data, order) {
            Detected::Ambiguous { spapr_tce, .. } | Detected::SpaprTce(spapr_tce) => {
                assert_eq!(spapr_tce, info)
            }
            other => panic!("detect disagrees with decode: {other:?}"),
        }
        assert_eq!(
            matches!(detect_iommu_info(data, order), Detected::Ambiguous { .. }),
            decode_with_order(data, order).is_ok()
        );
    }
    // The same bytes as a kernel's answers.
    let null = std::fs::File::open("/dev/null").expect("/dev/null");
    let _ = query_spapr_tce_with(&Echo(data), null.as_fd()).map(|i| i.default_window());
    let req = WindowRequest {
        page_shift: 16,
        window_size: 1 << 32,
        levels: 1,
    };
    if let Ok(w) = create_window_with(&Echo(data), null.as_fd(), req) {
        let r = w.range().expect("a created window is checked to fit");
        assert_eq!(r.start, w.start);
    }
});
