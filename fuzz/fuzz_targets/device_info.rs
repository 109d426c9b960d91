//! `VFIO_DEVICE_GET_INFO` buffers (`struct vfio_device_info` and its capability chain:
//! the s390 ZPCI capabilities, PCI atomic completers, unknown ones): the whole input is
//! the buffer, decoded in every byte order by `decode_device_info`; then what a user reads
//! from the `DeviceInfo`: every capability, the ZPCI DMA window, the JSON form, and the
//! `IovaSpace` of that window (checks, allocator, guest layout: see `exercise_space`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::device_info::{decode_device_info, DeviceCap};
use vfio_iommu_info::{json, IovaSpace};
use vfio_iommu_info_fuzz::{exercise_space, Input, ORDERS};

fuzz_target!(|data: &[u8]| {
    let mut p = Input::from_end(data);
    for order in ORDERS {
        let info = match decode_device_info(data, order) {
            Ok(info) => info,
            Err(e) => {
                let _ = (e.to_string(), format!("{e:?}"), e.offset, e.structure);
                continue;
            }
        };
        assert_eq!(info.caps.len(), info.chain.len());
        for (cap, at) in info.caps.iter().zip(&info.chain) {
            let _ = (cap.name(), format!("{cap:?}"));
            assert!(
                at.offset < data.len(),
                "capability at {} past the buffer",
                at.offset
            );
            if let DeviceCap::Unknown(u) = cap {
                assert_eq!((u.id, u.offset), (at.id, at.offset));
            }
        }
        let window = info.dma_window();
        if let Some(base) = info.zpci_base() {
            assert_eq!(window, base.dma_window());
        }
        let _ = json::device_info_to_json(&info).to_string();
        if let Some(w) = window {
            exercise_space(&IovaSpace::new(&[w], None), &mut p);
        }
    }
});
