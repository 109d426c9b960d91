//! `vfio-iommu-info plan`: the decisions a VMM or a user-space driver makes before it maps
//! DMA. The usable space (aperture, holes and the reserved regions behind them, what a
//! virtual IOMMU must advertise as reserved), checks of spans, allocations below a
//! device's DMA limit, and a guest RAM layout for an identity map counted against
//! DMA_AVAIL.

use std::fmt::Write as _;

use serde_json::{json, Value};
use vfio_iommu_info::iova::format_size_human;
use vfio_iommu_info::json::{hole, layout_to_json, space_to_json, span_problem, what_if_to_json};
use vfio_iommu_info::{
    guest_layout, AllocError, AttachRefusal, IovaAllocator, IovaSpace, Layout, LayoutError,
    Placement, RamRegion, SpanProblem, WhatIf,
};

use crate::render::{columns, hex, range_row, range_rows};

/// What to plan, besides the space itself.
pub struct Request {
    /// Spans to check: `(iova, size)`.
    pub checks: Vec<(u64, u64)>,
    /// Sizes to allocate, in order, from one allocator.
    pub allocs: Vec<u64>,
    /// Alignment of the allocations (0: the IOMMU's smallest page).
    pub align: u64,
    /// The highest address an allocation may end at (the device's DMA mask).
    pub limit: u64,
    /// Guest RAM regions for an identity map.
    pub ram: Vec<RamRegion>,
    /// DMA_AVAIL, when known.
    pub dma_avail: Option<u32>,
}

/// One checked span.
pub struct Checked {
    iova: u64,
    size: u64,
    problem: Option<SpanProblem>,
}

/// One allocation attempt.
pub struct Allocated {
    size: u64,
    result: Result<u64, AllocError>,
}

/// The answers.
pub struct Plan {
    space: IovaSpace,
    checks: Vec<Checked>,
    allocs: Vec<Allocated>,
    limit: u64,
    align: u64,
    layout: Option<Layout>,
    dma_avail: Option<u32>,
    /// `--attach`: the space after attaching a group, and the kernel's refusal of the
    /// attach when one is predicted.
    pub what_if: Option<(WhatIf, Option<AttachRefusal>)>,
}

impl Plan {
    /// Whether something asked for cannot be done: a check said no, an allocation
    /// failed, a region could not be placed, or the mappings exceed DMA_AVAIL.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.problem.is_some())
            || self.allocs.iter().any(|a| a.result.is_err())
            || self
                .layout
                .as_ref()
                .is_some_and(|l| !l.all_placed() || l.fits() == Some(false))
            || self.what_if.as_ref().is_some_and(|(_, r)| r.is_some())
    }
}

/// Plans `req` in `space` (an error only for a guest RAM region of 0 bytes, which
/// [`parse_ram`] refuses).
pub fn plan(space: IovaSpace, req: &Request) -> Result<Plan, LayoutError> {
    let checks = req
        .checks
        .iter()
        .map(|&(iova, size)| Checked {
            iova,
            size,
            problem: space.check(iova, size).err(),
        })
        .collect();
    let mut alloc = IovaAllocator::new(&space);
    let allocs = req
        .allocs
        .iter()
        .map(|&size| Allocated {
            size,
            result: alloc.alloc(size, req.align, req.limit),
        })
        .collect();
    let layout = if req.ram.is_empty() {
        None
    } else {
        Some(guest_layout(&space, &req.ram, req.dma_avail)?)
    };
    let align = req.align.max(space.granule());
    Ok(Plan {
        space,
        checks,
        allocs,
        limit: req.limit,
        align,
        layout,
        dma_avail: req.dma_avail,
        what_if: None,
    })
}

/// The `plan --json` object: `space` (see `vfio_iommu_info::json::space_to_json`),
/// `dma_avail`, `checks`, `allocations`, `layout` (`null` without `--ram`) and `what_if`
/// (`null` without `--attach`; see `vfio_iommu_info::json::what_if_to_json`).
pub fn to_json(p: &Plan) -> Value {
    json!({
        "space": space_to_json(&p.space),
        "dma_avail": p.dma_avail,
        "checks": p.checks.iter().map(|c| json!({
            "iova": c.iova,
            "size": c.size,
            "ok": c.problem.is_none(),
            "problem": c.problem.as_ref().map(span_problem),
            "hole": hole_of(&p.space, c.problem.as_ref()).map(hole),
        })).collect::<Vec<_>>(),
        "allocations": p.allocs.iter().map(|a| json!({
            "size": a.size,
            "align": p.align,
            "limit": p.limit,
            "iova": a.result.as_ref().ok(),
            "error": a.result.as_ref().err().map(|e| json!({
                "code": e.code(),
                "message": e.to_string(),
            })),
        })).collect::<Vec<_>>(),
        "layout": p.layout.as_ref().map(layout_to_json),
        "what_if": p.what_if.as_ref().map(|(w, r)| what_if_to_json(w, r.as_ref())),
    })
}

/// The attributed hole a problem names, if it names one.
fn hole_of<'a>(
    space: &'a IovaSpace,
    problem: Option<&SpanProblem>,
) -> Option<&'a vfio_iommu_info::Hole> {
    match problem {
        Some(SpanProblem::InHole { hole }) => space.hole_at(hole.start),
        _ => None,
    }
}

/// `msi 0x..-0x..` for each reserved region behind a hole; "cause unknown" without.
fn causes(h: &vfio_iommu_info::Hole) -> String {
    if h.causes.is_empty() {
        return "(no reserved region known)".to_owned();
    }
    h.causes
        .iter()
        .map(|r| format!("{} {:#x}-{:#x}", r.kind.name(), r.range.start, r.range.end))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `4 KiB` for a size.
fn size(n: u64) -> String {
    format_size_human(u128::from(n))
}

/// The text report.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    let label = |out: &mut String, l: &str, v: &str| {
        let _ = writeln!(out, "{l:<13}{v}");
    };
    let s = &p.space;
    if let Some(ap) = s.aperture() {
        label(
            &mut out,
            "aperture",
            &format!(
                "{} - {}  ({}: the DMA window)",
                hex(ap.start),
                hex(ap.end),
                format_size_human(ap.size())
            ),
        );
    }
    label(&mut out, "usable", &s.ranges().len().to_string());
    out.push_str(&range_rows(s.ranges(), "  "));
    label(&mut out, "holes", &s.holes().len().to_string());
    let rows: Vec<Vec<String>> = s
        .holes()
        .iter()
        .map(|h| {
            let mut row = range_row(&h.range);
            row.push(causes(h));
            row
        })
        .collect();
    out.push_str(&columns(&rows, "  "));
    let page_sizes = match s.page_sizes() {
        Some(p) if p.sizes().count() > 8 => format!("{p:#}"),
        Some(p) => p.to_string(),
        None => "not reported".to_owned(),
    };
    label(
        &mut out,
        "page sizes",
        &format!("{page_sizes}  (granule {})", size(s.granule())),
    );
    let reserved = s.reserved();
    label(
        &mut out,
        "reserved",
        &format!(
            "{} (what a virtual IOMMU must advertise, e.g. virtio-iommu RESV_MEM)",
            reserved.len()
        ),
    );
    out.push_str(&range_rows(&reserved, "  "));
    for c in &p.checks {
        let verdict = match &c.problem {
            None => "ok: the kernel will map it".to_owned(),
            Some(problem) => match hole_of(s, Some(problem)) {
                Some(h) => format!("no: {problem}: {}", causes(h)),
                None => format!("no: {problem}"),
            },
        };
        label(
            &mut out,
            "check",
            &format!("{:#x} +{:#x}: {verdict}", c.iova, c.size),
        );
    }
    if !p.allocs.is_empty() {
        label(
            &mut out,
            "allocate",
            &format!(
                "aligned to {}, ending at or below {:#x}",
                size(p.align),
                p.limit
            ),
        );
        let rows: Vec<Vec<String>> = p
            .allocs
            .iter()
            .map(|a| match &a.result {
                Ok(iova) => vec![
                    size(a.size),
                    "->".into(),
                    hex(*iova),
                    "-".into(),
                    hex(iova.saturating_add(a.size - 1)),
                ],
                Err(e) => vec![size(a.size), "->".into(), format!("failed: {e}")],
            })
            .collect();
        out.push_str(&columns(&rows, "  "));
    }
    if let Some(layout) = &p.layout {
        render_layout(&mut out, layout);
    }
    if let Some((w, refusal)) = &p.what_if {
        render_what_if(&mut out, w, refusal.as_ref());
    }
    out
}

/// `--attach`: what the attach takes away, the ranges after it, and the refusal.
fn render_what_if(out: &mut String, w: &WhatIf, refusal: Option<&AttachRefusal>) {
    let _ = writeln!(
        out,
        "{:<13}group {} attached ({}, from sysfs)",
        "what if",
        w.group,
        if w.exact() { "exact" } else { "an upper bound" }
    );
    let _ = writeln!(out, "{:<13}{}", "  aperture", w.aperture);
    if w.taken.is_empty() {
        let _ = writeln!(out, "{:<13}nothing: the usable ranges stay", "  takes");
    } else {
        let _ = writeln!(out, "{:<13}{}", "  takes", w.taken.len());
        let rows: Vec<Vec<String>> = w
            .taken
            .iter()
            .map(|t| {
                let mut row = range_row(&t.range);
                row.push(t.why.to_string());
                row
            })
            .collect();
        out.push_str(&columns(&rows, "  "));
    }
    let _ = writeln!(out, "{:<13}{}", "  usable", w.after.ranges().len());
    out.push_str(&range_rows(w.after.ranges(), "  "));
    if let Some(r) = refusal {
        let _ = writeln!(out, "{:<13}{r}", "  refused");
    }
}

fn render_layout(out: &mut String, layout: &Layout) {
    let _ = writeln!(
        out,
        "{:<13}identity map (IOVA = guest physical)",
        "guest RAM"
    );
    let rows: Vec<Vec<String>> = layout
        .placements
        .iter()
        .map(|p| match p {
            Placement::Placed { range, align } => {
                let mut row = vec![
                    format_size_human(range.size()),
                    "->".into(),
                    hex(range.start),
                    "-".into(),
                    hex(range.end),
                ];
                if *align != 0 {
                    row.push(format!("align {}", size(*align)));
                } else {
                    row.push("fixed".into());
                }
                row
            }
            Placement::Conflict {
                range,
                reason,
                hole: h,
            } => {
                let why = match h {
                    Some(h) => format!("{reason}: {}", causes(h)),
                    None => reason.to_string(),
                };
                vec![
                    format!("{}@{:#x}", format_size_human(range.size()), range.start),
                    "->".into(),
                    format!("conflict: {why}"),
                ]
            }
            Placement::NoRoom { size: n, align } => vec![
                size(*n),
                "->".into(),
                format!(
                    "no room: no usable range has it free aligned to {}",
                    size(*align)
                ),
            ],
        })
        .collect();
    out.push_str(&columns(&rows, "  "));
    let avail = match layout.dma_avail {
        Some(n) => format!(
            "DMA_AVAIL {n}: {}",
            if layout.fits() == Some(true) {
                "fits"
            } else {
                "EXCEEDS"
            }
        ),
        None => "DMA_AVAIL unknown".to_owned(),
    };
    let _ = writeln!(
        out,
        "{:<13}{} with one MAP_DMA per region; {avail}",
        "mappings", layout.per_region
    );
    // The sizes VMMs map in (4K, 2M, 1G) and the smallest that fits; `--json` has all.
    let smallest = layout.smallest_fitting_page();
    let per_page: Vec<String> = layout
        .per_page
        .iter()
        .filter(|c| {
            [1 << 12, 1 << 21, 1 << 30].contains(&c.page_size) || Some(c.page_size) == smallest
        })
        .map(|c| format!("{}: {}", size(c.page_size), c.entries))
        .collect();
    if !per_page.is_empty() {
        let fitting = match (layout.dma_avail, smallest) {
            (None, _) => String::new(),
            (Some(_), Some(p)) => format!("; pages of {} or larger fit", size(p)),
            (Some(_), None) => "; no page size fits".to_owned(),
        };
        let _ = writeln!(out, "{:<13}per page {}{fitting}", "", per_page.join(", "));
    }
}

/// `SIZE` with an optional K, M, G or T suffix (binary), hex with 0x, or decimal.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 10),
        Some((i, 'M' | 'm')) => (&s[..i], 20),
        Some((i, 'G' | 'g')) => (&s[..i], 30),
        Some((i, 'T' | 't')) => (&s[..i], 40),
        _ => (s, 0),
    };
    let n = crate::parse_u64(digits).map_err(|_| {
        format!("{s:?} is not a size (a number with an optional K, M, G or T suffix)")
    })?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} does not fit in 64 bits"))
}

/// `SIZE` or `SIZE@ADDR`.
pub fn parse_ram(s: &str) -> Result<RamRegion, String> {
    let (size, at) = match s.split_once('@') {
        Some((size, at)) => (size, Some(parse_size(at)?)),
        None => (s, None),
    };
    match parse_size(size)? {
        0 => Err(format!("{s:?}: a region of 0 bytes")),
        size => Ok(RamRegion { size, at }),
    }
}

/// `IOVA:SIZE` (or `IOVA+SIZE`).
pub fn parse_span(s: &str) -> Result<(u64, u64), String> {
    let Some((iova, len)) = s.split_once([':', '+']) else {
        return Err(format!("{s:?}: expected IOVA:SIZE, e.g. 0xfee00000:4K"));
    };
    Ok((parse_size(iova)?, parse_size(len)?))
}

/// `PAGE:SIZE[:LEVELS]` for `query --create-window` (sPAPR TCE): a power-of-two page
/// size, the window's size, and the TCE table levels (default 1).
pub fn parse_window(s: &str) -> Result<vfio_iommu_info::WindowRequest, String> {
    let mut parts = s.split(':');
    let (Some(page), Some(size)) = (parts.next(), parts.next()) else {
        return Err(format!("{s:?}: expected PAGE:SIZE[:LEVELS], e.g. 64K:4G"));
    };
    let levels = match parts.next() {
        Some(l) => l
            .parse::<u32>()
            .map_err(|_| format!("{s:?}: LEVELS {l:?} is not a number"))?,
        None => 1,
    };
    if parts.next().is_some() {
        return Err(format!("{s:?}: expected PAGE:SIZE[:LEVELS], e.g. 64K:4G"));
    }
    let page = parse_size(page)?;
    if !page.is_power_of_two() {
        return Err(format!(
            "{s:?}: the page size {page:#x} is not a power of two"
        ));
    }
    Ok(vfio_iommu_info::WindowRequest {
        page_shift: page.trailing_zeros(),
        window_size: parse_size(size)?,
        levels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Live plans with --attach: the space with the causes of its holes, and what_if with
    /// each kind of aperture, taking space and refused: the documents are what
    /// schemas/plan.schema.json says.
    #[test]
    fn plans_with_what_if_are_what_schemas_plan_says() {
        use vfio_iommu_info::facts::Backend;
        use vfio_iommu_info::plan::attach::{what_if, NewAperture};
        use vfio_iommu_info::{IovaRange, RegionKind, ReservedRegion};
        let r = |s, e| IovaRange::new(s, e).unwrap();
        let region = |s, e, kind| ReservedRegion {
            range: r(s, e),
            kind,
        };
        let msi = region(0xfee0_0000, 0xfeef_ffff, RegionKind::Msi);
        let space = IovaSpace::new(
            &[r(0, u64::MAX)],
            Some(vfio_iommu_info::PageSizes(0x4020_1000)),
        )
        .with_reserved_regions(std::slice::from_ref(&msi));
        let req = Request {
            checks: vec![(0xfee0_0000, 0x1000), (0x1000, 0x1000)],
            allocs: vec![0x10000],
            align: 0,
            limit: u64::MAX,
            ram: vec![
                RamRegion {
                    size: 1 << 30,
                    at: None,
                },
                RamRegion {
                    size: 1 << 20,
                    at: Some(0xfee0_0000),
                },
            ],
            dma_avail: Some(65535),
        };
        let their_regions = [
            msi,
            region(0xfd_0000_0000, 0xff_ffff_ffff, RegionKind::Reserved),
        ];
        let apertures = [
            NewAperture::Shared {
                iommu: "dmar0".to_owned(),
            },
            NewAperture::Registers {
                iommu: "dmar1".to_owned(),
                bits: 39,
                range: r(0, (1 << 39) - 1),
            },
            NewAperture::Given(r(0, 0xfff)),
            NewAperture::Unknown {
                iommu: None,
                why: "AMD".to_owned(),
            },
        ];
        for aperture in apertures {
            let mut p = plan(space.clone(), &req).unwrap();
            let w = what_if(&p.space, 5, &their_regions, aperture);
            let refusal = w.refusal(Backend::Type1, &[]);
            p.what_if = Some((w, refusal));
            crate::testing::assert_schema("plan", to_json(&p));
        }
    }

    #[test]
    fn window_requests_parse() {
        assert_eq!(
            parse_window("64K:4G"),
            Ok(vfio_iommu_info::WindowRequest {
                page_shift: 16,
                window_size: 4 << 30,
                levels: 1
            })
        );
        assert_eq!(
            parse_window("16M:1T:2").map(|w| (w.page_shift, w.levels)),
            Ok((24, 2))
        );
        for bad in ["64K", "48K:4G", "64K:4G:x", "64K:4G:1:1"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_regions_parse() {
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("16777215T"), Ok(16_777_215 << 40));
        assert!(parse_size("16777216T").is_err());
        assert!(parse_size("G").is_err());
        assert_eq!(
            parse_ram("1G@0xfd00000000"),
            Ok(RamRegion {
                size: 1 << 30,
                at: Some(0xfd_0000_0000)
            })
        );
        assert!(parse_ram("0@0").is_err());
        assert_eq!(parse_span("0xfee00000:4K"), Ok((0xfee0_0000, 4096)));
        assert!(parse_span("0xfee00000").is_err());
    }
}
