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

//!
//! Each shape is defined once, as a [`serde::Serialize`] value (`info_shape`,
//! `space_shape`, ...): `*_to_json` turns it into a `serde_json::Value` for the command
//! and the C ABI, and the Python package serializes the same value straight into Python
//! objects, so the two cannot drift.
//!
//! # Exact 64-bit integers: `_hex` siblings
//!
//! Integers stay JSON numbers, exact to 2^64-1 (serde_json, Python and Go read them so),
//! but jq 1.6 (Debian's `/usr/bin/jq`) and JavaScript read numbers as doubles and round
//! anything above 2^53 (an IOVA range ending at 2^64-1 becomes 2^64). So beside every
//! integer under a key of [`HEX_KEYS`] (addresses, sizes, offsets, page-size and register
//! bitmaps, flags) there is a string sibling `KEY_hex` with the same value in lower-case hex:
//! `"end": 18446744073709551615, "end_hex": "0xffffffffffffffff"`; a list of such
//! integers gets a list of strings (`"nodes_hex": ["0x80000000"]`). It is always there,
//! whatever the value, so a script reads `.end_hex` without a test. The rule is written
//! once ([`HEX_KEYS`], [`hex_u64`]) and applied by serializers, never by a shape:
//! [`hexify`], which every `*_to_json` and [`document`] apply, and the Python package's
//! serializer as it builds `to_dict()`'s dicts (its tests hold the two equal for every
//! shape). Take the `_hex` string where precision matters (`jq -r
//! '.iova_ranges[].end_hex'`), the number for arithmetic in exact readers.
//!
//! # Documents: `schema_version`
//!
//! What the command prints at top level is a *document* ([`document`]): the object gets
//! `"schema_version": 1` ([`SCHEMA_VERSION`]) as its first key (`list --json` prints an
//! array, kept for the scripts that iterate it: each group object gets the key). The
//! version changes only when a key is removed or changes type or meaning; added keys do not
//! change it. Under `--json` a failure is a document too ([`error_document`]): `{"schema_version",
//! "error": {"message", "kind", "errno", "errno_name", "exit_status"}}` on standard output,
//! with the exit status unchanged. The JSON Schemas (draft 2020-12) of every document are
//! in the repository's `schemas/` folder, and the command's tests validate real outputs
//! against them.

use serde::Serialize;
use serde_json::Value;

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

use crate::decode::device_info::{DeviceCap, DeviceInfo};
use crate::decode::hw_info::{HwData, HwInfo};
use crate::decode::region_info::{RegionCap, RegionInfo};
use crate::decode::spapr_tce::{Ddw, DdwInfo, SpaprTceInfo, DDW_EXPECTED_START};
use crate::decode::type1::{IommuInfo, Type1Cap};
use crate::facts::{DirtyTracking, DmaFacts, Fact, MappingLimit};
use crate::iova::{IovaRange, SpanProblem};
use crate::plan::attach::{AttachRefusal, NewAperture, TakenBy, WhatIf};
use crate::plan::layout::{Conflict, Layout, Placement};
use crate::plan::space::{Hole, IovaSpace};
use crate::query::inspect::Inspection;
use crate::query::report::IommufdReport;
use crate::sys::sysfs::ReservedRegion;

/// A shape as a `serde_json::Value`. Every shape is maps with string keys, lists,
/// strings, integers, booleans and nulls, which `to_value` cannot fail on.
fn value(shape: impl Serialize) -> Value {
    let mut v = serde_json::to_value(shape).unwrap_or(Value::Null);
    hexify(&mut v);
    v
}

/// The version of the JSON documents the command prints (`schema_version`): raised only
/// when a key is removed or changes type or meaning.
pub const SCHEMA_VERSION: u64 = 1;

/// The keys whose integers get a `KEY_hex` string sibling (see the module doc):
/// addresses, sizes, page-size and register bitmaps, anything that may exceed 2^53.
pub const HEX_KEYS: &[&str] = &[
    // addresses and sizes
    "start",
    "end",
    "size",
    "iova",
    "len",
    "at",
    "base",
    "maxmem",
    "ram",
    "nodes",
    "bars",
    "granule",
    "align",
    "limit",
    "start_dma",
    "end_dma",
    "msi_addr",
    "tgt",
    "offset",
    "ddw_expected_start",
    "max_dirty_bitmap_size",
    // page sizes and bitmaps
    "page_size",
    "page_sizes",
    "iova_pgsizes",
    "pgsize_bitmap",
    "iova_alignment",
    "alignment",
    "smallest_fitting_page",
    "default_window_page_size",
    "kernel_page_size",
    "hardware_page_sizes",
    "first_stage_page_sizes",
    "second_stage_page_sizes",
    "flags",
    "cap",
    "ecap",
    "efr",
    "efr2",
    "dasm",
    "capabilities",
    "unknown_capabilities",
    // a fact's value (a page-size bitmap, an alignment)
    "value",
    // memory budgets, in bytes
    "memlock",
    "memlock_zero_page",
    "memlock_live",
    "memlock_live_zero_page",
    "memlock_soft_limit",
    "memlock_hard_limit",
    "rlimit_soft",
    "rlimit_hard",
    "needed",
    "allowed",
    "used",
    "available",
    "required_limit",
    "bytes",
    "vm_lck",
    "vm_pin",
];

/// `n` as its `_hex` sibling: `0x` and lower-case hex digits.
pub fn hex_u64(n: u64) -> String {
    hex_u64_in(n, &mut [0; 18]).to_owned()
}

/// [`hex_u64`] written into `buf`, without allocating (for serializers that make many).
pub fn hex_u64_in(n: u64, buf: &mut [u8; 18]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (16 - n.leading_zeros() as usize / 4).max(1);
    buf[0] = b'0';
    buf[1] = b'x';
    for i in 0..digits {
        buf[1 + digits - i] = DIGITS[((n >> (4 * i)) & 0xf) as usize];
    }
    // Only ASCII was written.
    std::str::from_utf8(&buf[..2 + digits]).unwrap_or("0x0")
}

/// Adds the `KEY_hex` sibling after every integer (or list of integers) under a key of
/// [`HEX_KEYS`], in every object of `v`. Idempotent: a sibling already there is rewritten.
pub fn hexify(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(hexify),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut item) in old {
                if key.ends_with("_hex") && map.contains_key(&key) {
                    continue;
                }
                hexify(&mut item);
                let sibling = HEX_KEYS
                    .contains(&key.as_str())
                    .then(|| hex_sibling(&item))
                    .flatten();
                map.insert(key.clone(), item);
                if let Some(h) = sibling {
                    map.insert(format!("{key}_hex"), h);
                }
            }
        }
        _ => {}
    }
}

fn hex_sibling(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| Value::String(hex_u64(n))),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            Some(Value::Array(items.iter().filter_map(hex_sibling).collect()))
        }
        _ => None,
    }
}

/// What the command prints at top level: `v` with `"schema_version"` first (for an array,
/// in each of its objects) and its `_hex` siblings made.
pub fn document(mut v: Value) -> Value {
    hexify(&mut v);
    match v {
        Value::Object(map) => Value::Object(versioned(map)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => Value::Object(versioned(map)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

fn versioned(map: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::with_capacity(map.len() + 1);
    out.insert("schema_version".to_owned(), Value::from(SCHEMA_VERSION));
    out.extend(map.into_iter().filter(|(k, _)| k != "schema_version"));
    out
}

/// The class of a failure the command reports by its exit status alone (no library
/// [`Error`](crate::Error) behind it): `refused` (1), `usage` (2), `malformed` (3),
/// `internal` (70), `failed` otherwise.
pub fn status_class(exit_status: u8) -> &'static str {
    match exit_status {
        1 => "refused",
        2 => "usage",
        3 => "malformed",
        70 => "internal",
        _ => "failed",
    }
}

/// The error document the command prints under `--json` when it fails:
/// `{"schema_version", "error": {"message", "kind", "errno", "errno_name", "exit_status"}}`.
/// `kind` is [`ErrorKind::code`](crate::ErrorKind::code) of the library error behind the
/// failure, or [`status_class`] of the exit status when there is none; `errno` and
/// `errno_name` are `null` unless a system call failed.
pub fn error_document(message: &str, kind: Option<crate::ErrorKind>, exit_status: u8) -> Value {
    let errno = match kind {
        Some(crate::ErrorKind::Os(e)) => Some(e),
        _ => None,
    };
    document(serde_json::json!({
        "error": {
            "message": message,
            "kind": kind.map_or_else(|| status_class(exit_status), |k| k.code()),
            "errno": errno.map(|e| e.0),
            "errno_name": errno.map(|e| e.name()),
            "exit_status": exit_status,
        }
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `{"start", "end"}` (end inclusive).
#[derive(Serialize)]
struct Range {
    start: u64,
    end: u64,
}

impl From<&IovaRange> for Range {
    fn from(r: &IovaRange) -> Self {
        Range {
            start: r.start,
            end: r.end,
        }
    }
}

fn ranges<'a>(rs: impl IntoIterator<Item = &'a IovaRange>) -> Vec<Range> {
    rs.into_iter().map(Range::from).collect()
}

/// `{"start", "end"}`.
pub fn range(r: &IovaRange) -> Value {
    value(Range::from(r))
}

/// `{"id", "version", "offset"}`.
#[derive(Serialize)]
struct CapAt {
    id: u16,
    version: u16,
    offset: usize,
}

#[derive(Serialize)]
struct Migration {
    flags: u32,
    pgsize_bitmap: u64,
    max_dirty_bitmap_size: u64,
}

#[derive(Serialize)]
struct Absence {
    code: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct Absent {
    #[serde(skip_serializing_if = "Option::is_none")]
    iova_ranges: Option<Absence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    migration: Option<Absence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dma_avail: Option<Absence>,
}

#[derive(Serialize)]
struct Info {
    argsz: u32,
    flags: u32,
    iova_pgsizes: Option<u64>,
    caps_truncated: bool,
    iova_ranges: Option<Vec<Range>>,
    migration: Option<Migration>,
    dma_avail: Option<u32>,
    unknown_caps: Vec<CapAt>,
    cap_offset: Option<u32>,
    aperture: Option<Range>,
    holes: Vec<Range>,
    absent: Absent,
    chain: Vec<CapAt>,
}

/// The contract object for `info`, as a [`Serialize`] value.
pub fn info_shape(info: &IommuInfo) -> impl Serialize {
    let why = |cap: Type1Cap| {
        info.absence(cap).map(|why| Absence {
            code: why.code(),
            reason: why.explain(cap),
        })
    };
    Info {
        argsz: info.argsz,
        flags: info.flags,
        iova_pgsizes: info.iova_pgsizes.map(|p| p.0),
        caps_truncated: info.caps_truncated,
        iova_ranges: info.iova_ranges.present().map(ranges),
        migration: info.migration.present().map(|m| Migration {
            flags: m.flags,
            pgsize_bitmap: m.pgsize_bitmap.0,
            max_dirty_bitmap_size: m.max_dirty_bitmap_size,
        }),
        dma_avail: info.dma_avail.present().copied(),
        unknown_caps: info
            .unknown_caps
            .iter()
            .map(|u| CapAt {
                id: u.id,
                version: u.version,
                offset: u.offset,
            })
            .collect(),
        cap_offset: info.cap_offset,
        aperture: info.aperture().as_ref().map(Range::from),
        holes: ranges(&info.holes()),
        absent: Absent {
            iova_ranges: why(Type1Cap::IovaRange),
            migration: why(Type1Cap::Migration),
            dma_avail: why(Type1Cap::DmaAvail),
        },
        chain: info
            .chain
            .iter()
            .map(|c| CapAt {
                id: c.id,
                version: c.version,
                offset: c.offset,
            })
            .collect(),
    }
}

/// The contract object for `info`.
pub fn info_to_json(info: &IommuInfo) -> Value {
    value(info_shape(info))
}

#[derive(Serialize)]
struct SpaprDdw {
    /// `supported`, `not_returned`, `unsupported` ([`Ddw::code`]).
    state: &'static str,
    #[serde(flatten)]
    info: Option<DdwShape>,
    reason: String,
}

#[derive(Serialize)]
struct Spapr {
    kind: &'static str,
    argsz: u32,
    flags: u32,
    dma32_window_start: u32,
    dma32_window_size: u32,
    default_window: Option<Range>,
    default_window_page_size: u64,
    ddw: SpaprDdw,
    ddw_expected_start: Option<u64>,
}

/// The object for an sPAPR TCE answer, as [`spapr_tce_to_json`] describes it.
pub fn spapr_tce_shape(info: &SpaprTceInfo) -> impl Serialize {
    Spapr {
        kind: "spapr-tce",
        argsz: info.argsz,
        flags: info.flags,
        dma32_window_start: info.dma32_window_start,
        dma32_window_size: info.dma32_window_size,
        default_window: info.default_window().as_ref().map(Range::from),
        default_window_page_size: crate::decode::spapr_tce::DEFAULT_WINDOW_PAGE_SIZE,
        ddw: SpaprDdw {
            state: info.ddw.code(),
            info: info.ddw.info().map(DdwShape::from),
            reason: info.ddw.to_string(),
        },
        ddw_expected_start: matches!(info.ddw, Ddw::Supported(_) | Ddw::NotReturned { .. })
            .then_some(DDW_EXPECTED_START),
    }
}

/// The JSON form of an sPAPR TCE answer (`decode --kind spapr-tce --json`): `kind`
/// (`"spapr-tce"`), `argsz`, `flags`, `dma32_window_start`, `dma32_window_size` as
/// found; `default_window` (`{"start", "end"}` inclusive, or `null` for size 0);
/// `default_window_page_size` (4096: the kernel's choice, not a field); `ddw`:
/// `{"state": "supported" | "not_returned" | "unsupported", "reason"}`, with
/// `page_sizes`, `max_dynamic_windows`, `levels` when supported; and
/// `ddw_expected_start` (2^59, where PowerNV and QEMU's pseries put a dynamic window:
/// an expectation, `null` without DDW; the platform decides).
pub fn spapr_tce_to_json(info: &SpaprTceInfo) -> Value {
    value(spapr_tce_shape(info))
}

/// A span problem, or a layout's conflict (`region`: the other region's index, for
/// `overlaps_region` only).
#[derive(Serialize)]
struct Problem {
    code: &'static str,
    message: String,
    range: Option<Range>,
    page_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<usize>,
}

impl From<&SpanProblem> for Problem {
    fn from(p: &SpanProblem) -> Self {
        Problem {
            code: p.code(),
            message: p.to_string(),
            range: p.range().as_ref().map(Range::from),
            page_size: p.page_size(),
            region: None,
        }
    }
}

impl From<&Conflict> for Problem {
    fn from(c: &Conflict) -> Self {
        Problem {
            code: c.code(),
            message: c.to_string(),
            range: c.range().as_ref().map(Range::from),
            page_size: c.problem().and_then(SpanProblem::page_size),
            region: c.region(),
        }
    }
}

/// `{"code", "message", "range", "page_size"}`: `range` is the aperture or the hole the
/// span hit (else `null`), `page_size` the smallest page size it is misaligned to (else
/// `null`).
pub fn span_problem(p: &SpanProblem) -> Value {
    value(Problem::from(p))
}

/// Why a fixed region of a layout cannot go at its address, as [`span_problem`] (with
/// the codes of [`Conflict::code`]): for `overlaps_region`, `range` is the other region's
/// addresses and `region` its index.
pub fn conflict(c: &Conflict) -> Value {
    value(Problem::from(c))
}

/// A reserved region: `{"start", "end", "type"}`.
#[derive(Serialize)]
struct Region {
    start: u64,
    end: u64,
    #[serde(rename = "type")]
    kind: String,
}

impl Region {
    fn of(r: &ReservedRegion) -> Region {
        Region {
            start: r.range.start,
            end: r.range.end,
            kind: r.kind.name().to_owned(),
        }
    }
}

#[derive(Serialize)]
struct HoleShape {
    start: u64,
    end: u64,
    causes: Vec<Region>,
}

impl From<&Hole> for HoleShape {
    fn from(h: &Hole) -> Self {
        HoleShape {
            start: h.range.start,
            end: h.range.end,
            causes: h.causes.iter().map(Region::of).collect(),
        }
    }
}

/// `{"start", "end", "causes": [{"start", "end", "type"}]}`.
pub fn hole(h: &Hole) -> Value {
    value(HoleShape::from(h))
}

#[derive(Serialize)]
struct Space {
    ranges: Vec<Range>,
    iova_pgsizes: Option<u64>,
    granule: u64,
    aperture: Option<Range>,
    holes: Vec<HoleShape>,
    reserved: Vec<Range>,
}

/// The JSON form of an [`IovaSpace`] (`vfio-iommu-info plan --json`, key `space`), as
/// [`space_to_json`] describes it, as a [`Serialize`] value.
pub fn space_shape(space: &IovaSpace) -> impl Serialize {
    Space {
        ranges: ranges(space.ranges()),
        iova_pgsizes: space.page_sizes().map(|p| p.0),
        granule: space.granule(),
        aperture: space.aperture().as_ref().map(Range::from),
        holes: space.holes().iter().map(HoleShape::from).collect(),
        reserved: ranges(&space.reserved()),
    }
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
    value(space_shape(space))
}

#[derive(Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum PlacementShape {
    Placed {
        start: u64,
        end: u64,
        size: u64,
        align: u64,
    },
    Conflict {
        start: u64,
        end: u64,
        size: u64,
        problem: Problem,
        hole: Option<HoleShape>,
    },
    NoRoom {
        size: u64,
        align: u64,
    },
}

#[derive(Serialize)]
struct PerPage {
    page_size: u64,
    entries: u64,
}

#[derive(Serialize)]
struct Mappings {
    per_region: u64,
    per_page: Vec<PerPage>,
    dma_avail: Option<u32>,
    fits: Option<bool>,
    smallest_fitting_page: Option<u64>,
}

#[derive(Serialize)]
struct LayoutShape {
    placements: Vec<PlacementShape>,
    all_placed: bool,
    mappings: Mappings,
}

/// The JSON form of a [`Layout`], as [`layout_to_json`] describes it, as a [`Serialize`]
/// value.
pub fn layout_shape(layout: &Layout) -> impl Serialize {
    let size = |r: &IovaRange| u64::try_from(r.size()).unwrap_or(u64::MAX);
    LayoutShape {
        placements: layout
            .placements
            .iter()
            .map(|p| match p {
                Placement::Placed { range: r, align } => PlacementShape::Placed {
                    start: r.start,
                    end: r.end,
                    size: size(r),
                    align: *align,
                },
                Placement::Conflict {
                    range: r,
                    reason,
                    hole,
                } => PlacementShape::Conflict {
                    start: r.start,
                    end: r.end,
                    size: size(r),
                    problem: reason.into(),
                    hole: hole.as_ref().map(HoleShape::from),
                },
                Placement::NoRoom { size, align } => PlacementShape::NoRoom {
                    size: *size,
                    align: *align,
                },
            })
            .collect(),
        all_placed: layout.all_placed(),
        mappings: Mappings {
            per_region: layout.per_region,
            per_page: layout
                .per_page
                .iter()
                .map(|c| PerPage {
                    page_size: c.page_size,
                    entries: c.entries,
                })
                .collect(),
            dma_avail: layout.dma_avail,
            fits: layout.fits(),
            smallest_fitting_page: layout.smallest_fitting_page(),
        },
    }
}

/// The JSON form of a [`Layout`] (`vfio-iommu-info plan --json`, key `layout`):
/// `placements` in the order given, each `{"result": "placed", "start", "end", "size",
/// "align"}`, `{"result": "conflict", "start", "end", "size", "problem", "hole"}` (the
/// `problem` as [`conflict`]) or `{"result": "no_room", "size", "align"}`; `all_placed`;
/// and `mappings`: `{"per_region", "per_page":
/// [{"page_size", "entries"}], "dma_avail", "fits", "smallest_fitting_page"}`.
pub fn layout_to_json(layout: &Layout) -> Value {
    value(layout_shape(layout))
}

#[derive(Serialize)]
struct FactShape<T> {
    value: T,
    source: &'static str,
}

fn fact<T, U>(f: &Option<Fact<T>>, value: impl FnOnce(&T) -> U) -> Option<FactShape<U>> {
    f.as_ref().map(|f| FactShape {
        value: value(&f.value),
        source: f.source.name(),
    })
}

#[derive(Serialize)]
enum Limit {
    #[serde(rename = "remaining")]
    Remaining(u32),
    #[serde(rename = "unlimited")]
    Unlimited,
}

#[derive(Serialize)]
enum Dirty {
    #[serde(rename = "type1")]
    Type1 {
        pgsize_bitmap: u64,
        max_dirty_bitmap_size: u64,
    },
    #[serde(rename = "hardware")]
    Hardware(bool),
}

#[derive(Serialize)]
struct Facts<'a> {
    backend: &'static str,
    iova_ranges: Option<FactShape<Vec<Range>>>,
    page_sizes: Option<FactShape<u64>>,
    iova_alignment: Option<FactShape<u64>>,
    address_width: Option<FactShape<u8>>,
    mapping_limit: Option<FactShape<Limit>>,
    dirty_tracking: Option<FactShape<Dirty>>,
    reserved_regions: Option<FactShape<Vec<Region>>>,
    dynamic_windows: Option<FactShape<DdwShape>>,
    notes: &'a [String],
}

/// `{"page_sizes", "max_dynamic_windows", "levels"}`.
#[derive(Serialize)]
struct DdwShape {
    page_sizes: u64,
    max_dynamic_windows: u32,
    levels: u32,
}

impl From<&DdwInfo> for DdwShape {
    fn from(d: &DdwInfo) -> Self {
        DdwShape {
            page_sizes: d.page_sizes.bits(),
            max_dynamic_windows: d.max_dynamic_windows,
            levels: d.levels,
        }
    }
}

/// The JSON form of [`DmaFacts`], as [`facts_to_json`] describes it, as a [`Serialize`]
/// value.
pub fn facts_shape(f: &DmaFacts) -> impl Serialize + '_ {
    Facts::of(f)
}

impl Facts<'_> {
    fn of(f: &DmaFacts) -> Facts<'_> {
        Facts {
            backend: f.backend.name(),
            iova_ranges: fact(&f.iova_ranges, |r| ranges(r)),
            page_sizes: fact(&f.page_sizes, |p| p.bits()),
            iova_alignment: fact(&f.iova_alignment, |a| *a),
            address_width: fact(&f.address_width, |w| *w),
            mapping_limit: fact(&f.mapping_limit, |m| match m {
                MappingLimit::Remaining(n) => Limit::Remaining(*n),
                MappingLimit::Unlimited => Limit::Unlimited,
            }),
            dirty_tracking: fact(&f.dirty_tracking, |d| match d {
                DirtyTracking::Type1 {
                    pgsize_bitmap,
                    max_dirty_bitmap_size,
                } => Dirty::Type1 {
                    pgsize_bitmap: pgsize_bitmap.bits(),
                    max_dirty_bitmap_size: *max_dirty_bitmap_size,
                },
                DirtyTracking::Hardware(b) => Dirty::Hardware(*b),
            }),
            reserved_regions: fact(&f.reserved_regions, |r| r.iter().map(Region::of).collect()),
            dynamic_windows: fact(&f.dynamic_windows, |d| DdwShape::from(d)),
            notes: &f.notes,
        }
    }
}

/// The JSON form of [`DmaFacts`] (`query --json`, key `facts`):
/// `backend` (`type1`, `iommufd-compat`, `iommufd`); one key per fact, each `null` when
/// the backend did not say, or `{"value", "source"}` (`source` as
/// [`Source::name`](crate::facts::Source::name)): `iova_ranges` (`[{"start", "end"}]`),
/// `page_sizes` (integer bitmap), `iova_alignment`, `address_width` (integers),
/// `mapping_limit` (`{"remaining": n}` or `"unlimited"`), `dirty_tracking`
/// (`{"type1": {"pgsize_bitmap", "max_dirty_bitmap_size"}}` or `{"hardware": bool}`),
/// `reserved_regions` (`[{"start", "end", "type"}]` from sysfs), `dynamic_windows`
/// (sPAPR TCE: `{"page_sizes", "max_dynamic_windows", "levels"}`); and `notes` (strings).
pub fn facts_to_json(f: &DmaFacts) -> Value {
    value(facts_shape(f))
}

#[derive(Serialize)]
enum Decoded {
    #[serde(rename = "intel_vtd")]
    IntelVtd {
        cap: u64,
        ecap: u64,
        flags: u32,
        address_width: u8,
        supported_address_widths: Vec<u8>,
        second_stage_page_sizes: u64,
        first_stage_page_sizes: Option<u64>,
        scalable_mode: bool,
        dirty_tracking_hardware: bool,
        nested: bool,
        interrupt_remapping: bool,
    },
    #[serde(rename = "arm_smmuv3")]
    ArmSmmuV3 {
        idr: [u32; 6],
        iidr: u32,
        aidr: u32,
        flags: u32,
        output_address_bits: Option<u8>,
        input_address_bits: Option<u8>,
        hardware_page_sizes: Option<u64>,
        page_sizes: Option<u64>,
        stage1: bool,
        stage2: bool,
        dirty_tracking_hardware: bool,
    },
    #[serde(rename = "amd")]
    Amd {
        efr: u64,
        efr2: u64,
        host_address_bits: Option<u8>,
        dirty_tracking_hardware: bool,
        pasid_max_bits: u8,
    },
    #[serde(rename = "error")]
    Error(String),
}

#[derive(Serialize)]
struct Hw {
    #[serde(rename = "type")]
    type_name: &'static str,
    data_type: u32,
    data_len: u32,
    truncated: bool,
    capabilities: Option<u64>,
    capability_names: Vec<&'static str>,
    unknown_capabilities: u64,
    max_pasid_log2: u8,
    kernel_page_size: u64,
    data: String,
    decoded: Option<Decoded>,
}

fn hw(hw: &HwInfo) -> Hw {
    let decoded = match hw.decode() {
        Ok(HwData::None) | Ok(HwData::Unknown { .. }) => None,
        Ok(HwData::IntelVtd(v)) => Some(Decoded::IntelVtd {
            cap: v.cap,
            ecap: v.ecap,
            flags: v.flags,
            address_width: v.address_width(),
            supported_address_widths: v.supported_address_widths(),
            second_stage_page_sizes: v.second_stage_page_sizes().bits(),
            first_stage_page_sizes: v.first_stage_page_sizes().map(|p| p.bits()),
            scalable_mode: v.scalable_mode(),
            dirty_tracking_hardware: v.dirty_tracking_hardware(),
            nested: v.nested(),
            interrupt_remapping: v.interrupt_remapping(),
        }),
        Ok(HwData::ArmSmmuV3(s)) => Some(Decoded::ArmSmmuV3 {
            idr: s.idr,
            iidr: s.iidr,
            aidr: s.aidr,
            flags: s.flags,
            output_address_bits: s.output_address_bits(),
            input_address_bits: s.input_address_bits(),
            hardware_page_sizes: s.hardware_page_sizes().map(|p| p.bits()),
            page_sizes: s.page_sizes(hw.kernel_page_size).map(|p| p.bits()),
            stage1: s.stages().0,
            stage2: s.stages().1,
            dirty_tracking_hardware: s.dirty_tracking_hardware(),
        }),
        Ok(HwData::Amd(a)) => Some(Decoded::Amd {
            efr: a.efr,
            efr2: a.efr2,
            host_address_bits: a.host_address_bits(),
            dirty_tracking_hardware: a.dirty_tracking_hardware(),
            pasid_max_bits: a.pasid_max_bits(),
        }),
        Err(e) => Some(Decoded::Error(e.to_string())),
    };
    Hw {
        type_name: hw.type_name(),
        data_type: hw.data_type,
        data_len: hw.data_len,
        truncated: hw.truncated(),
        capabilities: hw.capabilities,
        capability_names: hw.capability_names(),
        unknown_capabilities: hw.unknown_capabilities(),
        max_pasid_log2: hw.max_pasid_log2,
        kernel_page_size: hw.kernel_page_size,
        data: hex(&hw.data),
        decoded,
    }
}

/// The JSON form of [`HwInfo`], as [`hw_info_to_json`] describes it, as a [`Serialize`]
/// value.
pub fn hw_info_shape(h: &HwInfo) -> impl Serialize {
    hw(h)
}

/// The JSON form of [`HwInfo`]: `type` (name), `data_type`,
/// `data_len`, `truncated`, `capabilities` (integer or `null` before Linux 6.7),
/// `capability_names` (the set bits this library names, e.g. `["pci-ats-not-supported"]`;
/// see `hw_info::CAPABILITY_NAMES`), `unknown_capabilities` (set bits it does not name),
/// `max_pasid_log2`, `kernel_page_size` (the answering kernel's `PAGE_SIZE`), `data` (hex
/// string of the bytes received), and `decoded`: `null`, or
/// the registers with what they mean (`{"intel_vtd": {"cap", "ecap", "flags",
/// "address_width", "supported_address_widths", "second_stage_page_sizes",
/// "first_stage_page_sizes", "scalable_mode", "dirty_tracking_hardware", "nested",
/// "interrupt_remapping"}}`, `{"arm_smmuv3": {"idr", "iidr", "aidr", "flags",
/// "output_address_bits", "input_address_bits", "hardware_page_sizes" (every granule
/// IDR5 allows), "page_sizes" (the kernel's domain: one granule, see
/// `SmmuV3Registers::page_sizes`), "stage1", "stage2", "dirty_tracking_hardware"}}`,
/// `{"amd": {...}}`), or `{"error": message}`.
pub fn hw_info_to_json(h: &HwInfo) -> Value {
    value(hw(h))
}

/// A device capability: `name` first, then its fields.
#[derive(Serialize)]
#[serde(untagged)]
enum DeviceCapShape {
    ZpciBase {
        name: &'static str,
        version: u16,
        start_dma: u64,
        end_dma: u64,
        pchid: u16,
        vfn: u16,
        fmb_length: u16,
        pft: u8,
        gid: u8,
        fh: Option<u32>,
    },
    ZpciGroup {
        name: &'static str,
        version: u16,
        dasm: u64,
        msi_addr: u64,
        flags: u64,
        mui: u16,
        noi: u16,
        maxstbl: u16,
        zpci_version: u8,
        imaxstbl: Option<u16>,
    },
    Bytes {
        name: &'static str,
        version: u16,
        bytes: String,
    },
    Flags {
        name: &'static str,
        version: u16,
        flags: u32,
    },
    Unknown {
        name: &'static str,
        id: u16,
        version: u16,
        offset: usize,
        bytes: String,
    },
}

#[derive(Serialize)]
struct Device {
    argsz: u32,
    flags: u32,
    num_regions: u32,
    num_irqs: u32,
    cap_offset: Option<u32>,
    caps_truncated: bool,
    dma_window: Option<Range>,
    caps: Vec<DeviceCapShape>,
}

/// The JSON form of [`DeviceInfo`], as [`device_info_to_json`] describes it, as a
/// [`Serialize`] value.
pub fn device_info_shape(d: &DeviceInfo) -> impl Serialize {
    let caps = d
        .caps
        .iter()
        .map(|c| {
            let name = c.name();
            match c {
                DeviceCap::ZpciBase(b) => DeviceCapShape::ZpciBase {
                    name,
                    version: b.version,
                    start_dma: b.start_dma,
                    end_dma: b.end_dma,
                    pchid: b.pchid,
                    vfn: b.vfn,
                    fmb_length: b.fmb_length,
                    pft: b.pft,
                    gid: b.gid,
                    fh: b.fh,
                },
                DeviceCap::ZpciGroup(g) => DeviceCapShape::ZpciGroup {
                    name,
                    version: g.version,
                    dasm: g.dasm,
                    msi_addr: g.msi_addr,
                    flags: g.flags,
                    mui: g.mui,
                    noi: g.noi,
                    maxstbl: g.maxstbl,
                    zpci_version: g.zpci_version,
                    imaxstbl: g.imaxstbl,
                },
                DeviceCap::ZpciUtil { version, util_str } => DeviceCapShape::Bytes {
                    name,
                    version: *version,
                    bytes: hex(util_str),
                },
                DeviceCap::ZpciPfip { version, pfip } => DeviceCapShape::Bytes {
                    name,
                    version: *version,
                    bytes: hex(pfip),
                },
                DeviceCap::PciAtomicComp { version, flags } => DeviceCapShape::Flags {
                    name,
                    version: *version,
                    flags: *flags,
                },
                DeviceCap::Unknown(u) => DeviceCapShape::Unknown {
                    name,
                    id: u.id,
                    version: u.version,
                    offset: u.offset,
                    bytes: hex(&u.bytes),
                },
            }
        })
        .collect();
    Device {
        argsz: d.argsz,
        flags: d.flags,
        num_regions: d.num_regions,
        num_irqs: d.num_irqs,
        cap_offset: d.cap_offset,
        caps_truncated: d.caps_truncated,
        dma_window: d.dma_window().as_ref().map(Range::from),
        caps,
    }
}

/// The JSON form of [`DeviceInfo`]
/// (`vfio-iommu-info device --json`, `decode --kind device --json`): `argsz`, `flags`,
/// `num_regions`, `num_irqs`, `cap_offset` (or `null`), `caps_truncated`, `dma_window`
/// (ZPCI_BASE's `[start_dma, end_dma]` or `null`), and `caps` in chain order, each with
/// `name`, `version` and its fields (`zpci_base`: `start_dma end_dma pchid vfn fmb_length
/// pft gid fh`; `zpci_group`: `dasm msi_addr flags mui noi maxstbl zpci_version
/// imaxstbl`; `zpci_util`/`zpci_pfip`: `bytes` as hex; `pci_atomic_comp`: `flags`;
/// unknown: `id offset bytes`).
pub fn device_info_to_json(d: &DeviceInfo) -> Value {
    value(device_info_shape(d))
}

#[derive(Serialize)]
struct Area {
    offset: u64,
    size: u64,
}

/// The fields a region capability has after its `name` and `version`.
#[derive(Serialize)]
#[serde(untagged)]
enum RegionCapFields {
    SparseMmap {
        areas: Vec<Area>,
    },
    Type {
        #[serde(rename = "type")]
        region_type: u32,
        subtype: u32,
        type_name: Option<&'static str>,
    },
    Nvlink2Ssatgt {
        tgt: u64,
    },
    Nvlink2Lnkspd {
        link_speed: u32,
    },
    Unknown {
        id: u16,
        offset: usize,
    },
}

#[derive(Serialize)]
struct RegionCapShape {
    name: &'static str,
    version: u16,
    #[serde(flatten)]
    fields: Option<RegionCapFields>,
}

#[derive(Serialize)]
struct RegionShape {
    index: u32,
    argsz: u32,
    flags: u32,
    size: u64,
    offset: u64,
    cap_offset: Option<u32>,
    caps_truncated: bool,
    caps: Vec<RegionCapShape>,
}

/// The JSON form of [`RegionInfo`], as [`region_info_to_json`] describes it, as a
/// [`Serialize`] value.
pub fn region_info_shape(r: &RegionInfo) -> impl Serialize {
    let caps = r
        .caps
        .iter()
        .map(|c| RegionCapShape {
            name: c.name(),
            version: c.version(),
            fields: match c {
                RegionCap::SparseMmap { areas, .. } => Some(RegionCapFields::SparseMmap {
                    areas: areas
                        .iter()
                        .map(|a| Area {
                            offset: a.offset,
                            size: a.size,
                        })
                        .collect(),
                }),
                RegionCap::Type(t) => Some(RegionCapFields::Type {
                    region_type: t.region_type,
                    subtype: t.subtype,
                    type_name: t.name(),
                }),
                RegionCap::Nvlink2Ssatgt { tgt, .. } => {
                    Some(RegionCapFields::Nvlink2Ssatgt { tgt: *tgt })
                }
                RegionCap::Nvlink2Lnkspd { link_speed, .. } => {
                    Some(RegionCapFields::Nvlink2Lnkspd {
                        link_speed: *link_speed,
                    })
                }
                RegionCap::Unknown(u) => Some(RegionCapFields::Unknown {
                    id: u.id,
                    offset: u.offset,
                }),
                _ => None,
            },
        })
        .collect();
    RegionShape {
        index: r.index,
        argsz: r.argsz,
        flags: r.flags,
        size: r.size,
        offset: r.offset,
        cap_offset: r.cap_offset,
        caps_truncated: r.caps_truncated,
        caps,
    }
}

/// The JSON form of [`RegionInfo`]: `index`, `argsz`,
/// `flags`, `size`, `offset`, `cap_offset` (or `null`), `caps_truncated`, and `caps` in
/// chain order, each with `name` and `version` and its fields (`SPARSE_MMAP`: `areas`
/// `[{"offset", "size"}]`; `TYPE`: `type`, `subtype`, `type_name` (or `null`);
/// `NVLINK2_SSATGT`: `tgt`; `NVLINK2_LNKSPD`: `link_speed`; unknown: `id`, `offset`).
pub fn region_info_to_json(r: &RegionInfo) -> Value {
    value(region_info_shape(r))
}

/// `IOMMU_GET_HW_INFO`'s answer, or `{"error": message}`.
#[derive(Serialize)]
#[serde(untagged)]
enum HwOrError {
    Hw(Hw),
    Error { error: String },
}

/// A reserved region of a group: `{"start", "end", "group", "type"}`.
#[derive(Serialize)]
struct GroupRegion<'a> {
    start: u64,
    end: u64,
    group: u32,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Report<'a> {
    device: String,
    group: Option<u32>,
    cdev: String,
    dev_id: u32,
    ioas: u32,
    hwpt: u32,
    iova_ranges: Vec<Range>,
    iova_alignment: u64,
    aperture: Option<Range>,
    holes: Vec<HoleShape>,
    hw_info: HwOrError,
    facts: Facts<'a>,
    reserved_regions: Vec<GroupRegion<'a>>,
}

/// The iommufd path's report on one device, as [`iommufd_report_to_json`] describes it,
/// as a [`Serialize`] value.
pub fn iommufd_report_shape(r: &IommufdReport) -> impl Serialize + '_ {
    let space = r.space();
    Report {
        device: r.address.to_string(),
        group: r.group,
        cdev: r.cdev.display().to_string(),
        dev_id: r.dev_id,
        ioas: r.ioas,
        hwpt: r.hwpt,
        iova_ranges: ranges(&r.ranges.ranges),
        iova_alignment: r.ranges.alignment,
        aperture: space.aperture().as_ref().map(Range::from),
        holes: space.holes().iter().map(HoleShape::from).collect(),
        hw_info: match &r.hw_info {
            Ok(h) => HwOrError::Hw(hw(h)),
            Err(e) => HwOrError::Error {
                error: e.to_string(),
            },
        },
        facts: Facts::of(&r.facts),
        reserved_regions: r
            .reserved_regions
            .iter()
            .map(|(g, region)| GroupRegion {
                start: region.range.start,
                end: region.range.end,
                group: *g,
                kind: region.kind.name(),
            })
            .collect(),
    }
}

/// The iommufd path's report on one device, as `vfio-iommu-info query --backend iommufd
/// --json` prints it after `backend` and `backend_reason`: `device`, `group`, `cdev`,
/// `dev_id`, `ioas`, `hwpt`, `iova_ranges`, `iova_alignment`, `aperture`, `holes`,
/// `hw_info` (or `{"error": ...}`), `facts`, `reserved_regions`.
pub fn iommufd_report_to_json(r: &IommufdReport) -> Value {
    value(iommufd_report_shape(r))
}

/// The `guest --json` object: what was asked, the decisions (`phys_bits`,
/// `max_ram_below_4g`, `ram`, `dimms`, `mmio64`, `viommu`), QEMU's maps, the budgets
/// (`mappings`, `per_page`, `memlock`, `dma_avail`), each decision's reason with its fact,
/// and the refusals (`fits` is false when there is one).
pub fn guest_plan_to_json(p: &crate::plan::guest::GuestPlan) -> Value {
    let mut v = guest_plan_value(p);
    hexify(&mut v);
    v
}

fn guest_plan_value(p: &crate::plan::guest::GuestPlan) -> Value {
    use crate::plan::guest::{Fact as PlanFact, RamKind};
    use crate::plan::predict::DmaOp;
    use serde_json::json;
    let fact = |f: &PlanFact| match f {
        PlanFact::Aperture(r) => json!({"kind": "aperture", "range": range(r)}),
        PlanFact::Hole(h) => json!({"kind": "hole", "hole": hole(h)}),
        PlanFact::CpuPhysBits(b) => json!({"kind": "cpu_phys_bits", "bits": b}),
        PlanFact::DmaAvail(n) => json!({"kind": "dma_avail", "value": n}),
        PlanFact::Backend(b) => json!({"kind": "backend", "backend": b.name()}),
        PlanFact::Request => json!({"kind": "request"}),
        PlanFact::Vmm(rule) => json!({"kind": "vmm", "rule": rule}),
    };
    let req = &p.request;
    json!({
        "fits": p.fits(),
        "backend": p.host.backend.name(),
        "request": {
            "ram": req.ram,
            "nodes": req.nodes,
            "fixed": req.fixed.iter().map(|f| json!({"at": f.at, "size": f.size})).collect::<Vec<_>>(),
            "backing_page": req.backing_page,
            "bars": req.bars,
            "devices": req.devices,
            "viommu": req.viommu.name(),
            "phys_bits": req.phys_bits,
        },
        "phys_bits": p.phys_bits,
        "max_ram_below_4g": p.max_ram_below_4g,
        "ram": p.ram.iter().map(|r| json!({
            "range": range(&r.range),
            "kind": match r.kind {
                RamKind::Below4G => "below_4g".to_owned(),
                RamKind::Above4G => "above_4g".to_owned(),
                RamKind::Fixed(i) => format!("fixed[{i}]"),
            },
        })).collect::<Vec<_>>(),
        "dimms": p.dimms.map(|d| json!({"base": d.base, "maxmem": d.maxmem, "slots": d.slots})),
        "mmio64": range(&p.mmio64),
        "viommu": p.viommu.as_ref().map(|v| json!({
            "kind": v.kind.name(),
            "aw_bits": v.aw_bits,
            "reserved": v.reserved.iter().map(range).collect::<Vec<_>>(),
        })),
        "maps": p.maps.iter().map(|op| match op {
            DmaOp::Map(m) => json!({"op": "map", "iova": m.iova, "len": m.len}),
            DmaOp::Unmap(m) => json!({"op": "unmap", "iova": m.iova, "len": m.len}),
        }).collect::<Vec<_>>(),
        "mappings": p.mappings,
        "dma_avail": p.host.dma_avail,
        "per_page": p.per_page.iter().map(|c| json!({"page_size": c.page_size, "entries": c.entries})).collect::<Vec<_>>(),
        "memlock": p.memlock,
        "memlock_zero_page": p.memlock_zero_page,
        "memlock_live": p.memlock_live,
        "memlock_live_zero_page": p.memlock_live_zero_page,
        "memlock_budget": p.memlock_budget.as_ref().map(|b| json!({
            "charged_to": b.charged_to.name(),
            "needed": b.needed,
            "allowed": b.allowed,
            "used": b.used,
            "required_limit": b.required_limit,
            "verdict": b.verdict.name(),
            "changes": b.changes.iter().map(|c| c.change.to_string()).collect::<Vec<_>>(),
        })),
        "reasons": p.reasons.iter().map(|r| json!({"item": r.item, "why": r.why, "fact": fact(&r.fact)})).collect::<Vec<_>>(),
        "refusals": p.refusals.iter().map(|r| json!({
            "item": r.item,
            "why": r.why,
            "nearest": r.nearest,
            "errno": r.errno,
        })).collect::<Vec<_>>(),
    })
}

/// The JSON form of a [`WhatIf`] (`vfio-iommu-info plan --attach --json`, key
/// `what_if`), with the kernel's refusal of the attach when one is predicted:
///
/// | key | value |
/// |---|---|
/// | `group` | the group attached |
/// | `exact` | the aperture is known (otherwise the kernel's ranges lie inside `after`'s) |
/// | `changes` | the usable ranges change |
/// | `aperture` | `{"source": "shared" \| "registers" \| "given" \| "unknown", "iommu", "bits", "range", "why"}` |
/// | `regions` | the group's reserved regions, `[{"start", "end", "type"}]` |
/// | `taken` | `[{"start", "end", "cause": "region" \| "aperture", "region", "why"}]` |
/// | `before`, `after` | the space (see [`space_to_json`]) |
/// | `refusal` | `null`, or `{"errno", "errno_name", "why"}` |
pub fn what_if_to_json(w: &WhatIf, refusal: Option<&AttachRefusal>) -> Value {
    let mut v = what_if_value(w, refusal);
    hexify(&mut v);
    v
}

fn what_if_value(w: &WhatIf, refusal: Option<&AttachRefusal>) -> Value {
    use serde_json::json;
    let (source, iommu, bits, why) = match &w.aperture {
        NewAperture::Shared { iommu } => ("shared", Some(iommu.as_str()), None, None),
        NewAperture::Registers { iommu, bits, .. } => {
            ("registers", Some(iommu.as_str()), Some(*bits), None)
        }
        NewAperture::Given(_) => ("given", None, None, None),
        NewAperture::Unknown { iommu, why } => {
            ("unknown", iommu.as_deref(), None, Some(why.as_str()))
        }
    };
    json!({
        "group": w.group,
        "exact": w.exact(),
        "changes": w.changes(),
        "aperture": {
            "source": source,
            "iommu": iommu,
            "bits": bits,
            "range": w.aperture.range().as_ref().map(range),
            "why": why,
        },
        "regions": w.regions.iter().map(|r| value(Region::of(r))).collect::<Vec<_>>(),
        "taken": w.taken.iter().map(|t| json!({
            "start": t.range.start,
            "end": t.range.end,
            "cause": match t.why { TakenBy::Region(_) => "region", TakenBy::Aperture(_) => "aperture" },
            "region": match &t.why { TakenBy::Region(r) => value(Region::of(r)), TakenBy::Aperture(_) => Value::Null },
            "why": t.why.to_string(),
        })).collect::<Vec<_>>(),
        "before": space_to_json(&w.before),
        "after": space_to_json(&w.after),
        "refusal": refusal.map(|r| json!({
            "errno": r.errno().0,
            "errno_name": r.errno().name(),
            "why": r.to_string(),
        })),
    })
}

/// The JSON form of an [`Inspection`] (`vfio-iommu-info inspect PID --json`):
///
/// | key | value |
/// |---|---|
/// | `pid`, `comm` | the process (`comm` `null` when unreadable) |
/// | `containers` | `[{"fd", "backend", "info", "error", "dma_avail", "dma_entry_limit", "mappings_in_use", "groups", "groups_known"}]`: `info` is `decode --json`'s object or `null` with `error` `{"message", "errno"}` |
/// | `groups` | `[{"fd", "path", "group", "viable", "in_container"}]` |
/// | `devices` | the VFIO device fds' numbers |
/// | `iommufds` | `[{"fd", "ioas": [{"id", "ranges", "alignment"}], "charges"}]`: `charges` is `process`, `user` or `null` |
/// | `locked_memory` | `{"vm_lck", "vm_pin", "rlimit_soft", "rlimit_hard", "cap_ipc_lock"}`: bytes (`null`: unknown, or unlimited for the limits), and whether CAP_IPC_LOCK lifts the limit |
pub fn inspection_to_json(found: &Inspection) -> Value {
    let mut v = inspection_value(found);
    hexify(&mut v);
    v
}

fn inspection_value(found: &Inspection) -> Value {
    use serde_json::json;
    let error =
        |e: &crate::Error| json!({"message": e.to_string(), "errno": e.errno().map(|n| n.0)});
    json!({
        "pid": found.pid,
        "comm": found.comm,
        "containers": found.containers.iter().map(|c| json!({
            "fd": c.fd,
            "backend": crate::facts::Backend::from(c.backend).name(),
            "info": c.info.as_ref().ok().map(info_to_json),
            "error": c.info.as_ref().err().map(error),
            "dma_avail": c.info.as_ref().ok().and_then(|i| i.dma_avail.present().copied()),
            "dma_entry_limit": found.dma_entry_limit,
            "mappings_in_use": found.dma_entry_limit.and_then(|l| c.mappings_in_use(l)),
            "groups": c.groups,
            "groups_known": c.groups_known,
        })).collect::<Vec<_>>(),
        "groups": found.groups.iter().map(|g| json!({
            "fd": g.fd,
            "path": g.path.display().to_string(),
            "group": g.number,
            "viable": g.viable,
            "in_container": g.in_container,
        })).collect::<Vec<_>>(),
        "devices": found.devices,
        "iommufds": found.iommufds.iter().map(|d| json!({
            "fd": d.fd,
            "ioas": d.ioas.iter().map(|a| json!({
                "id": a.id,
                "ranges": ranges(&a.ranges.ranges),
                "alignment": a.ranges.alignment,
            })).collect::<Vec<_>>(),
            "charges": d.charges_process.ok().map(|p| if p { "process" } else { "user" }),
        })).collect::<Vec<_>>(),
        "locked_memory": {
            "vm_lck": found.locked.locked,
            "vm_pin": found.locked.pinned,
            "rlimit_soft": found.memlock.soft,
            "rlimit_hard": found.memlock.hard,
            "cap_ipc_lock": found.cap_ipc_lock,
        },
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
    fn every_hex_key_gets_its_exact_sibling_and_documents_their_version() {
        let v = document(serde_json::json!({
            "end": u64::MAX,
            "nodes": [1u64 << 31, u64::MAX],
            "bars": [],
            "iova_pgsizes": null,
            "argsz": 136,
            "inner": [{"start": (1u64 << 53) + 1, "end_hex": "stale"}],
        }));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "schema_version",
                "end",
                "end_hex",
                "nodes",
                "nodes_hex",
                "bars",
                "iova_pgsizes",
                "argsz",
                "inner"
            ]
        );
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["end_hex"], "0xffffffffffffffff");
        assert_eq!(
            v["nodes_hex"],
            serde_json::json!(["0x80000000", "0xffffffffffffffff"])
        );
        assert_eq!(v["inner"][0]["start_hex"], "0x20000000000001");
        // Not an integer under a hex key: no sibling; a stale one without its key: kept.
        assert!(v.get("iova_pgsizes_hex").is_none() && v.get("argsz_hex").is_none());
        assert_eq!(v["inner"][0]["end_hex"], "stale");
        // Applying it twice changes nothing.
        assert_eq!(document(v.clone()), v);
        // An array (list --json): each object gets the version.
        let list = document(serde_json::json!([{"group": 1}]));
        assert_eq!(list[0]["schema_version"], 1);
    }

    #[test]
    fn hex_strings_are_rusts_lower_case_hex() {
        for n in [
            0,
            1,
            0xf,
            0x10,
            0xfee0_0000,
            1 << 53,
            (1 << 53) + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(hex_u64(n), format!("{n:#x}"));
        }
        for shift in 0..64 {
            let n = 1u64 << shift;
            assert_eq!(hex_u64(n), format!("{n:#x}"));
            assert_eq!(hex_u64(n - 1), format!("{:#x}", n - 1));
        }
    }

    #[test]
    fn the_error_document_carries_kind_errno_and_status() {
        let e = error_document(
            "cannot open",
            Some(crate::ErrorKind::Os(crate::Errno(libc::ENOENT))),
            1,
        );
        assert_eq!(e["schema_version"], 1);
        assert_eq!(e["error"]["kind"], "os");
        assert_eq!(e["error"]["errno"], libc::ENOENT);
        assert_eq!(e["error"]["errno_name"], "ENOENT");
        assert_eq!(e["error"]["exit_status"], 1);
        let e = error_document("bad", None, 3);
        assert_eq!(e["error"]["kind"], "malformed");
        assert_eq!(e["error"]["errno"], Value::Null);
        let e = error_document("bad", Some(crate::ErrorKind::NotViable), 1);
        assert_eq!(e["error"]["kind"], "not_viable");
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
