//! `VFIO_DEVICE_GET_REGION_INFO` buffers (`struct vfio_region_info` and its capability
//! chain: sparse mmap areas, region types, MSI-X mappable, NVLink2, unknown ones): the
//! whole input is the buffer, decoded in every byte order by `decode_region_info`; then
//! everything a user reads from the `RegionInfo`: the flags, the sparse areas, the type and
//! its names, the mmap areas and those outside the region, the JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::json;
use vfio_iommu_info::region_info::{decode_region_info, RegionCap};
use vfio_iommu_info_fuzz::ORDERS;

fuzz_target!(|data: &[u8]| {
    for order in ORDERS {
        let info = match decode_region_info(data, order) {
            Ok(info) => info,
            Err(e) => {
                let _ = (e.to_string(), format!("{e:?}"), e.offset, e.structure);
                continue;
            }
        };
        assert_eq!(info.caps.len(), info.chain.len());
        for (cap, at) in info.caps.iter().zip(&info.chain) {
            let _ = (cap.name(), format!("{cap:?}"));
            assert_eq!((cap.id(), cap.version()), (at.id, at.version));
            assert!(
                at.offset < data.len(),
                "capability at {} past the buffer",
                at.offset
            );
            if let RegionCap::Unknown(u) = cap {
                assert_eq!(u.offset, at.offset);
            }
        }
        let _ = (info.readable(), info.writable(), info.mmappable());
        let _ = info.msix_mappable();
        if let Some(areas) = info.sparse_mmap() {
            for a in areas {
                let _ = (a.end(), a.lies_within(info.size));
            }
        }
        if let Some(t) = info.region_type() {
            let _ = (t.pci_vendor(), t.type_name(), t.name(), t.to_string());
        }
        let areas = info.mmap_areas();
        let outside = info.areas_outside();
        for a in &outside {
            assert!(!a.lies_within(info.size));
        }
        assert!(outside.len() <= info.sparse_mmap().map_or(0, <[_]>::len));
        if !info.mmappable() {
            assert!(areas.is_empty());
        }
        let _ = json::region_info_to_json(&info).to_string();
    }
});
