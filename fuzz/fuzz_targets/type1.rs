//! `VFIO_IOMMU_GET_INFO` buffers (`struct vfio_iommu_type1_info` and its capability
//! chain): the whole input is the buffer, decoded in every byte order by both
//! `InfoView::parse` (the borrowed view and its accessors) and `decode_with_order`, which
//! must agree; then everything a user does with the `IommuInfo`: aperture, holes,
//! absences and their explanations, the JSON form, the facts, and the `IovaSpace` built
//! from it (checks, allocator, guest layout: see `exercise_space`). The numbers passed to
//! those come from the input read backwards (a capture's unused tail).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::facts::{Backend, DmaFacts};
use vfio_iommu_info::type1::Type1Cap;
use vfio_iommu_info::{decode_with_order, json, InfoView, IovaSpace, Reported};
use vfio_iommu_info_fuzz::{exercise_space, Input, ORDERS};

fuzz_target!(|data: &[u8]| {
    let mut p = Input::from_end(data);
    for order in ORDERS {
        let decoded = decode_with_order(data, order);
        let view = match InfoView::parse(data, order) {
            Ok(view) => view,
            Err(e) => {
                let e2 = decoded.expect_err("decode accepted what InfoView::parse refused");
                assert_eq!(e.to_string(), e2.to_string());
                let _ = (format!("{e:?}"), e.offset, e.structure);
                continue;
            }
        };
        let info = decoded.expect("InfoView::parse accepted what decode refused");
        assert_eq!(view.to_info(), info);
        assert_eq!(view.argsz(), info.argsz);
        assert_eq!(view.flags(), info.flags);
        assert_eq!(view.iova_pgsizes(), info.iova_pgsizes);
        assert_eq!(view.cap_offset(), info.cap_offset);
        assert_eq!(view.caps_truncated(), info.caps_truncated);
        match view.iova_ranges() {
            Reported::Present(r) => {
                let n = r.len();
                let v: Vec<_> = r.collect();
                assert_eq!(v.len(), n);
                assert_eq!(Some(&v), info.iova_ranges.present());
            }
            other => assert_eq!(other.absence(), info.iova_ranges.absence()),
        }
        assert_eq!(view.migration(), info.migration);
        assert_eq!(view.dma_avail(), info.dma_avail);
        assert_eq!(view.caps().count(), info.chain.len());
        assert_eq!(view.unknown_cap_count(), info.unknown_caps.len());
        let _ = format!("{view:?}");

        let aperture = info.aperture();
        for h in info.holes() {
            let a = aperture.expect("holes without an aperture");
            assert!(a.start <= h.start && h.end <= a.end);
        }
        for cap in [Type1Cap::IovaRange, Type1Cap::Migration, Type1Cap::DmaAvail] {
            if let Some(a) = info.absence(cap) {
                let _ = (a.explain(cap), format!("{a:?}"));
            }
        }
        if let Some(pg) = info.iova_pgsizes {
            let _ = (pg.to_string(), pg.smallest(), pg.sizes().count());
        }
        let _ = json::info_to_json(&info).to_string();
        for backend in [Backend::Type1, Backend::IommufdCompat] {
            let facts = DmaFacts::from_type1(&info, backend);
            let _ = json::facts_to_json(&facts).to_string();
            assert!(facts.differences(&facts).is_empty());
        }
        if let Some(space) = IovaSpace::from_info(&info) {
            exercise_space(&space, &mut p);
        }
    }
});
