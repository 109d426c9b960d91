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

use crate::iova::IovaRange;
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
}
