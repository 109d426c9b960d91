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

use crate::iova::{IovaRange, SpanProblem};
use crate::layout::{Conflict, Layout, Placement};
use crate::space::{Hole, IovaSpace};
use crate::type1::{IommuInfo, Reported, Type1Cap};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{CapSpec, KernelState};

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
        use crate::layout::{guest_layout, RamRegion};
        use crate::sysfs::{RegionKind, ReservedRegion};
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
