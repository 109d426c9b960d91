//! The JSON form of [`IommuInfo`]: the object `vfio-iommu-info decode --json` prints and
//! the Python package's `to_dict()` returns. It is a contract: these keys, exact integers
//! (up to 2^64-1), `null` for what the kernel did not report.
//!
//! | key | value |
//! |---|---|
//! | `argsz`, `flags` | integers as found in the buffer |
//! | `iova_pgsizes` | integer, or `null` when the PGSIZES flag is clear |
//! | `caps_truncated` | the kernel had capabilities that did not fit the buffer |
//! | `iova_ranges` | `null`, or `[{"start", "end"}]` (end inclusive) in the kernel's order |
//! | `migration` | `null`, or `{"flags", "pgsize_bitmap", "max_dirty_bitmap_size"}` |
//! | `dma_avail` | `null`, or an integer |
//! | `unknown_caps` | `[{"id", "version", "offset"}]` |
//! | `cap_offset` | integer or `null` (extra) |
//! | `aperture` | `null` or `{"start", "end"}` (extra) |
//! | `holes` | `[{"start", "end"}]` (extra) |
//! | `absent` | `{"iova_ranges" / "migration" / "dma_avail": {"code", "reason"}}` for each absent item (extra) |
//! | `chain` | `[{"id", "version", "offset"}]`, every capability in chain order (extra) |

use serde_json::{json, Map, Value};

/// The keys every `decode --json` object has (the contract); the others are extras.
pub const CONTRACT_KEYS: [&str; 8] = [
    "argsz",
    "flags",
    "iova_pgsizes",
    "caps_truncated",
    "iova_ranges",
    "migration",
    "dma_avail",
    "unknown_caps",
];

use crate::decode::type1::{IommuInfo, Reported, Type1Cap};
use crate::iova::{IovaRange, SpanProblem};
use crate::plan::layout::{Conflict, Layout, Placement};
use crate::plan::space::{Hole, IovaSpace};

/// `{"start": .., "end": ..}`.
pub fn range(r: &IovaRange) -> Value {
    json!({ "start": r.start, "end": r.end })
}

/// The contract object for `info`.
pub fn info_to_json(info: &IommuInfo) -> Value {
    let mut absent = Map::new();
    let mut note = |key: &str, cap: Type1Cap, why: Option<crate::Absence>| {
        if let Some(why) = why {
            absent.insert(
                key.to_owned(),
                json!({ "code": why.code(), "reason": why.explain(cap) }),
            );
        }
    };
    note(
        "iova_ranges",
        Type1Cap::IovaRange,
        info.iova_ranges.absence(),
    );
    note("migration", Type1Cap::Migration, info.migration.absence());
    note("dma_avail", Type1Cap::DmaAvail, info.dma_avail.absence());
    json!({
        "argsz": info.argsz,
        "flags": info.flags,
        "iova_pgsizes": info.iova_pgsizes.map(|p| p.0),
        "caps_truncated": info.caps_truncated,
        "iova_ranges": match &info.iova_ranges {
            Reported::Present(r) => Value::Array(r.iter().map(range).collect()),
            Reported::Absent(_) => Value::Null,
        },
        "migration": match &info.migration {
            Reported::Present(m) => json!({
                "flags": m.flags,
                "pgsize_bitmap": m.pgsize_bitmap.0,
                "max_dirty_bitmap_size": m.max_dirty_bitmap_size,
            }),
            Reported::Absent(_) => Value::Null,
        },
        "dma_avail": info.dma_avail.present().copied(),
        "unknown_caps": info.unknown_caps.iter()
            .map(|u| json!({ "id": u.id, "version": u.version, "offset": u.offset }))
            .collect::<Vec<_>>(),
        "cap_offset": info.cap_offset,
        "aperture": info.aperture().as_ref().map(range),
        "holes": info.holes().iter().map(range).collect::<Vec<_>>(),
        "absent": absent,
        "chain": info.chain.iter()
            .map(|c| json!({ "id": c.id, "version": c.version, "offset": c.offset }))
            .collect::<Vec<_>>(),
    })
}

/// `{"code", "message", "range", "page_size"}`: `range` is the aperture or the hole the
/// span hit (else `null`), `page_size` the smallest page size it is misaligned to (else
/// `null`).
pub fn span_problem(p: &SpanProblem) -> Value {
    let (hit, page) = match p {
        SpanProblem::BeyondAperture { aperture } => (Some(aperture), None),
        SpanProblem::InHole { hole } => (Some(hole), None),
        SpanProblem::Misaligned { page } => (None, Some(*page)),
        _ => (None, None),
    };
    json!({
        "code": p.code(),
        "message": p.to_string(),
        "range": hit.map(range),
        "page_size": page,
    })
}

/// Why a fixed region of a layout cannot go at its address, as [`span_problem`] (with
/// the codes of [`Conflict::code`]): for `overlaps_region`, `range` is the other region's
/// addresses and `region` its index.
pub fn conflict(c: &Conflict) -> Value {
    match c {
        Conflict::Unusable(p) => span_problem(p),
        Conflict::OverlapsRegion { index, range: r } => json!({
            "code": c.code(), "message": c.to_string(), "range": range(r), "page_size": null,
            "region": index,
        }),
        _ => json!({
            "code": c.code(), "message": c.to_string(), "range": null, "page_size": null,
        }),
    }
}

/// `{"start", "end", "causes": [{"start", "end", "type"}]}`.
pub fn hole(h: &Hole) -> Value {
    let mut v = range(&h.range);
    v["causes"] = h
        .causes
        .iter()
        .map(|r| {
            let mut c = range(&r.range);
            c["type"] = json!(r.kind.name());
            c
        })
        .collect();
    v
}

/// The JSON form of an [`IovaSpace`] (`vfio-iommu-info plan --json`, key `space`):
///
/// | key | value |
/// |---|---|
/// | `ranges` | `[{"start", "end"}]` ascending |
/// | `iova_pgsizes` | the page-size bitmap (as in `decode --json`), or `null` when not reported |
/// | `granule` | the smallest page size (4096 when not reported) |
/// | `aperture` | `{"start", "end"}` or `null` |
/// | `holes` | `[{"start", "end", "causes": [{"start", "end", "type"}]}]` |
/// | `reserved` | `[{"start", "end"}]`: what a virtual IOMMU must advertise as reserved |
pub fn space_to_json(space: &IovaSpace) -> Value {
    json!({
        "ranges": space.ranges().iter().map(range).collect::<Vec<_>>(),
        "iova_pgsizes": space.page_sizes().map(|p| p.0),
        "granule": space.granule(),
        "aperture": space.aperture().as_ref().map(range),
        "holes": space.holes().iter().map(hole).collect::<Vec<_>>(),
        "reserved": space.reserved().iter().map(range).collect::<Vec<_>>(),
    })
}

/// The JSON form of a [`Layout`] (`vfio-iommu-info plan --json`, key `layout`):
/// `placements` in the order given, each `{"result": "placed", "start", "end", "size",
/// "align"}`, `{"result": "conflict", "start", "end", "size", "problem", "hole"}` (the
/// `problem` as [`conflict`]) or `{"result": "no_room", "size", "align"}`; `all_placed`;
/// and `mappings`: `{"per_region", "per_page":
/// [{"page_size", "entries"}], "dma_avail", "fits", "smallest_fitting_page"}`.
pub fn layout_to_json(layout: &Layout) -> Value {
    let size = |r: &IovaRange| u64::try_from(r.size()).unwrap_or(u64::MAX);
    let placements: Vec<Value> = layout
        .placements
        .iter()
        .map(|p| match p {
            Placement::Placed { range: r, align } => json!({
                "result": "placed", "start": r.start, "end": r.end, "size": size(r), "align": align,
            }),
            Placement::Conflict {
                range: r,
                reason,
                hole: h,
            } => json!({
                "result": "conflict", "start": r.start, "end": r.end, "size": size(r),
                "problem": conflict(reason),
                "hole": h.as_ref().map(hole),
            }),
            Placement::NoRoom { size, align } => json!({
                "result": "no_room", "size": size, "align": align,
            }),
        })
        .collect();
    json!({
        "placements": placements,
        "all_placed": layout.all_placed(),
        "mappings": {
            "per_region": layout.per_region,
            "per_page": layout.per_page.iter()
                .map(|c| json!({ "page_size": c.page_size, "entries": c.entries }))
                .collect::<Vec<_>>(),
            "dma_avail": layout.dma_avail,
            "fits": layout.fits(),
            "smallest_fitting_page": layout.smallest_fitting_page(),
        },
    })
}

/// The JSON form of [`DmaFacts`](crate::facts::DmaFacts) (`query --json`, key `facts`):
/// `backend` (`type1`, `iommufd-compat`, `iommufd`); one key per fact, each `null` when
/// the backend did not say, or `{"value", "source"}` (`source` as
/// [`Source::name`](crate::facts::Source::name)): `iova_ranges` (`[{"start", "end"}]`),
/// `page_sizes` (integer bitmap), `iova_alignment`, `address_width` (integers),
/// `mapping_limit` (`{"remaining": n}` or `"unlimited"`), `dirty_tracking`
/// (`{"type1": {"pgsize_bitmap", "max_dirty_bitmap_size"}}` or `{"hardware": bool}`),
/// `reserved_regions` (`[{"start", "end", "type"}]` from sysfs); and `notes` (strings).
pub fn facts_to_json(f: &crate::facts::DmaFacts) -> Value {
    use crate::facts::{DirtyTracking, Fact, MappingLimit};
    fn fact<T>(f: &Option<Fact<T>>, value: impl Fn(&T) -> Value) -> Value {
        match f {
            Some(f) => json!({ "value": value(&f.value), "source": f.source.name() }),
            None => Value::Null,
        }
    }
    json!({
        "backend": f.backend.name(),
        "iova_ranges": fact(&f.iova_ranges, |r| r.iter().map(range).collect::<Vec<_>>().into()),
        "page_sizes": fact(&f.page_sizes, |p| json!(p.bits())),
        "iova_alignment": fact(&f.iova_alignment, |a| json!(a)),
        "address_width": fact(&f.address_width, |w| json!(w)),
        "mapping_limit": fact(&f.mapping_limit, |m| match m {
            MappingLimit::Remaining(n) => json!({ "remaining": n }),
            MappingLimit::Unlimited => json!("unlimited"),
        }),
        "dirty_tracking": fact(&f.dirty_tracking, |d| match d {
            DirtyTracking::Type1 { pgsize_bitmap, max_dirty_bitmap_size } => json!({
                "type1": { "pgsize_bitmap": pgsize_bitmap.bits(), "max_dirty_bitmap_size": max_dirty_bitmap_size }
            }),
            DirtyTracking::Hardware(b) => json!({ "hardware": b }),
        }),
        "reserved_regions": fact(&f.reserved_regions, |r| r.iter().map(|r| {
            let mut o = range(&r.range);
            o["type"] = json!(r.kind.name());
            o
        }).collect::<Vec<_>>().into()),
        "notes": f.notes,
    })
}

/// The JSON form of [`HwInfo`](crate::decode::hw_info::HwInfo): `type` (name), `data_type`,
/// `data_len`, `truncated`, `capabilities` (integer or `null` before Linux 6.7),
/// `max_pasid_log2`, `data` (hex string of the bytes received), and `decoded`: `null`, or
/// the registers with what they mean (`{"intel_vtd": {"cap", "ecap", "flags",
/// "address_width", "supported_address_widths", "second_stage_page_sizes",
/// "first_stage_page_sizes", "scalable_mode", "dirty_tracking_hardware", "nested",
/// "interrupt_remapping"}}`, `{"arm_smmuv3": {...}}`, `{"amd": {...}}`), or
/// `{"error": message}`.
pub fn hw_info_to_json(hw: &crate::decode::hw_info::HwInfo) -> Value {
    use crate::decode::hw_info::HwData;
    let decoded = match hw.decode() {
        Ok(HwData::None) => Value::Null,
        Ok(HwData::IntelVtd(v)) => json!({ "intel_vtd": {
            "cap": v.cap, "ecap": v.ecap, "flags": v.flags,
            "address_width": v.address_width(),
            "supported_address_widths": v.supported_address_widths(),
            "second_stage_page_sizes": v.second_stage_page_sizes().bits(),
            "first_stage_page_sizes": v.first_stage_page_sizes().map(|p| p.bits()),
            "scalable_mode": v.scalable_mode(),
            "dirty_tracking_hardware": v.dirty_tracking_hardware(),
            "nested": v.nested(),
            "interrupt_remapping": v.interrupt_remapping(),
        }}),
        Ok(HwData::ArmSmmuV3(s)) => json!({ "arm_smmuv3": {
            "idr": s.idr, "iidr": s.iidr, "aidr": s.aidr, "flags": s.flags,
            "output_address_bits": s.output_address_bits(),
            "page_sizes": s.page_sizes().map(|p| p.bits()),
            "stage1": s.stages().0, "stage2": s.stages().1,
            "dirty_tracking_hardware": s.dirty_tracking_hardware(),
        }}),
        Ok(HwData::Amd(a)) => json!({ "amd": {
            "efr": a.efr, "efr2": a.efr2,
            "host_address_bits": a.host_address_bits(),
            "dirty_tracking_hardware": a.dirty_tracking_hardware(),
            "pasid_max_bits": a.pasid_max_bits(),
        }}),
        Ok(HwData::Unknown { .. }) => Value::Null,
        Err(e) => json!({ "error": e.to_string() }),
    };
    json!({
        "type": hw.type_name(),
        "data_type": hw.data_type,
        "data_len": hw.data_len,
        "truncated": hw.truncated(),
        "capabilities": hw.capabilities,
        "max_pasid_log2": hw.max_pasid_log2,
        "data": hw.data.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "decoded": decoded,
    })
}

/// The JSON form of [`DeviceInfo`](crate::decode::device_info::DeviceInfo)
/// (`vfio-iommu-info device --json`, `decode --kind device --json`): `argsz`, `flags`,
/// `num_regions`, `num_irqs`, `cap_offset` (or `null`), `caps_truncated`, `dma_window`
/// (ZPCI_BASE's `[start_dma, end_dma]` or `null`), and `caps` in chain order, each with
/// `name`, `version` and its fields (`zpci_base`: `start_dma end_dma pchid vfn fmb_length
/// pft gid fh`; `zpci_group`: `dasm msi_addr flags mui noi maxstbl zpci_version
/// imaxstbl`; `zpci_util`/`zpci_pfip`: `bytes` as hex; `pci_atomic_comp`: `flags`;
/// unknown: `id offset bytes`).
pub fn device_info_to_json(d: &crate::decode::device_info::DeviceInfo) -> Value {
    use crate::decode::device_info::DeviceCap;
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let caps: Vec<Value> = d
        .caps
        .iter()
        .map(|c| match c {
            DeviceCap::ZpciBase(b) => json!({
                "name": c.name(), "version": b.version, "start_dma": b.start_dma,
                "end_dma": b.end_dma, "pchid": b.pchid, "vfn": b.vfn,
                "fmb_length": b.fmb_length, "pft": b.pft, "gid": b.gid, "fh": b.fh,
            }),
            DeviceCap::ZpciGroup(g) => json!({
                "name": c.name(), "version": g.version, "dasm": g.dasm,
                "msi_addr": g.msi_addr, "flags": g.flags, "mui": g.mui, "noi": g.noi,
                "maxstbl": g.maxstbl, "zpci_version": g.zpci_version, "imaxstbl": g.imaxstbl,
            }),
            DeviceCap::ZpciUtil { version, util_str } => {
                json!({ "name": c.name(), "version": version, "bytes": hex(util_str) })
            }
            DeviceCap::ZpciPfip { version, pfip } => {
                json!({ "name": c.name(), "version": version, "bytes": hex(pfip) })
            }
            DeviceCap::PciAtomicComp { version, flags } => {
                json!({ "name": c.name(), "version": version, "flags": flags })
            }
            DeviceCap::Unknown(u) => json!({
                "name": c.name(), "id": u.id, "version": u.version, "offset": u.offset,
                "bytes": hex(&u.bytes),
            }),
        })
        .collect();
    json!({
        "argsz": d.argsz,
        "flags": d.flags,
        "num_regions": d.num_regions,
        "num_irqs": d.num_irqs,
        "cap_offset": d.cap_offset,
        "caps_truncated": d.caps_truncated,
        "dma_window": d.dma_window().as_ref().map(range),
        "caps": caps,
    })
}

/// The JSON form of [`RegionInfo`](crate::decode::region_info::RegionInfo): `index`, `argsz`,
/// `flags`, `size`, `offset`, `cap_offset` (or `null`), `caps_truncated`, and `caps` in
/// chain order, each with `name` and `version` and its fields (`SPARSE_MMAP`: `areas`
/// `[{"offset", "size"}]`; `TYPE`: `type`, `subtype`, `type_name` (or `null`);
/// `NVLINK2_SSATGT`: `tgt`; `NVLINK2_LNKSPD`: `link_speed`; unknown: `id`, `offset`).
pub fn region_info_to_json(r: &crate::decode::region_info::RegionInfo) -> Value {
    use crate::decode::region_info::RegionCap;
    let caps: Vec<Value> = r
        .caps
        .iter()
        .map(|c| {
            let mut v = json!({ "name": c.name(), "version": c.version() });
            match c {
                RegionCap::SparseMmap { areas, .. } => {
                    v["areas"] = areas
                        .iter()
                        .map(|a| json!({ "offset": a.offset, "size": a.size }))
                        .collect();
                }
                RegionCap::Type(t) => {
                    v["type"] = json!(t.region_type);
                    v["subtype"] = json!(t.subtype);
                    v["type_name"] = json!(t.name());
                }
                RegionCap::Nvlink2Ssatgt { tgt, .. } => v["tgt"] = json!(tgt),
                RegionCap::Nvlink2Lnkspd { link_speed, .. } => v["link_speed"] = json!(link_speed),
                RegionCap::Unknown(u) => {
                    v["id"] = json!(u.id);
                    v["offset"] = json!(u.offset);
                }
                _ => {}
            }
            v
        })
        .collect();
    json!({
        "index": r.index,
        "argsz": r.argsz,
        "flags": r.flags,
        "size": r.size,
        "offset": r.offset,
        "cap_offset": r.cap_offset,
        "caps_truncated": r.caps_truncated,
        "caps": caps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::encode::{CapSpec, KernelState};

    #[test]
    fn the_contract_keys_and_exact_integers() {
        let k = KernelState::padded(
            u64::MAX,
            vec![
                CapSpec::DmaAvail(7),
                CapSpec::IovaRange(vec![IovaRange::new(0xfef0_0000, u64::MAX).unwrap()]),
            ],
        );
        let v = info_to_json(&crate::decode(&k.encode()).unwrap());
        for key in CONTRACT_KEYS {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert_eq!(v["iova_pgsizes"].as_u64(), Some(u64::MAX));
        assert_eq!(v["iova_ranges"][0]["end"].as_u64(), Some(u64::MAX));
        assert_eq!(v["migration"], Value::Null);
        assert_eq!(v["dma_avail"], 7);
        assert_eq!(v["absent"]["migration"]["code"], "not_in_chain");
        assert!(v["absent"].get("dma_avail").is_none());
        assert!(serde_json::to_string(&v)
            .unwrap()
            .contains("18446744073709551615"));
    }

    #[test]
    fn space_and_layout_objects() {
        use crate::plan::layout::{guest_layout, RamRegion};
        use crate::sys::sysfs::{RegionKind, ReservedRegion};
        let r = |s, e| IovaRange::new(s, e).unwrap();
        let space = IovaSpace::new(
            &[r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)],
            Some(crate::PageSizes(0x4020_1000)),
        )
        .with_reserved_regions(&[ReservedRegion {
            range: r(0xfee0_0000, 0xfeef_ffff),
            kind: RegionKind::Msi,
        }]);
        let v = space_to_json(&space);
        assert_eq!(v["granule"], 4096);
        assert_eq!(v["holes"][0]["start"], 0xfee0_0000u64);
        assert_eq!(v["holes"][0]["causes"][0]["type"], "msi");
        assert_eq!(v["reserved"][1]["start"], 0x80_0000_0000u64);
        assert_eq!(v["reserved"][1]["end"], u64::MAX);
        let l = guest_layout(
            &space,
            &[
                RamRegion {
                    size: 1 << 30,
                    at: None,
                },
                RamRegion {
                    size: 1 << 20,
                    at: Some(0xfee0_0000),
                },
            ],
            Some(1),
        )
        .unwrap();
        let v = layout_to_json(&l);
        assert_eq!(v["placements"][0]["result"], "placed");
        assert_eq!(v["placements"][0]["align"], 1u64 << 30);
        assert_eq!(v["placements"][1]["result"], "conflict");
        assert_eq!(v["placements"][1]["problem"]["code"], "in_hole");
        assert_eq!(v["placements"][1]["hole"]["causes"][0]["type"], "msi");
        assert_eq!(v["all_placed"], false);
        assert_eq!(v["mappings"]["per_region"], 1);
        assert_eq!(v["mappings"]["fits"], true);
    }
}

/// The iommufd path's report on one device, as `vfio-iommu-info query --backend iommufd
/// --json` prints it after `backend` and `backend_reason`: `device`, `group`, `cdev`,
/// `dev_id`, `ioas`, `hwpt`, `iova_ranges`, `iova_alignment`, `aperture`, `holes`,
/// `hw_info` (or `{"error": ...}`), `facts`, `reserved_regions`.
pub fn iommufd_report_to_json(r: &crate::query::report::IommufdReport) -> Value {
    let space = r.space();
    json!({
        "device": r.address.to_string(),
        "group": r.group,
        "cdev": r.cdev.display().to_string(),
        "dev_id": r.dev_id,
        "ioas": r.ioas,
        "hwpt": r.hwpt,
        "iova_ranges": r.ranges.ranges.iter().map(range).collect::<Vec<_>>(),
        "iova_alignment": r.ranges.alignment,
        "aperture": space.aperture().as_ref().map(range),
        "holes": space.holes().iter().map(hole).collect::<Vec<_>>(),
        "hw_info": match &r.hw_info {
            Ok(h) => hw_info_to_json(h),
            Err(e) => json!({ "error": e.to_string() }),
        },
        "facts": facts_to_json(&r.facts),
        "reserved_regions": r.reserved_regions.iter().map(|(g, region)| {
            let mut o = range(&region.range);
            o["group"] = json!(g);
            o["type"] = json!(region.kind.name());
            o
        }).collect::<Vec<Value>>(),
    })
}
