//! Output a person reads at a glance: aligned columns, hex addresses, sizes in K/M/G/T.

use std::fmt::Write as _;

use vfio_iommu_info::iova::format_size_human;
use vfio_iommu_info::{IommuInfo, IovaRange, Reported, ReservedRegion, Type1Cap};

/// `0x00000000fee00000`: every address the same width, so columns line up.
pub fn hex(v: u64) -> String {
    format!("{v:#018x}")
}

/// Rows of cells as aligned columns, each line indented. The last cell of a row is not
/// padded and does not widen its column (a long message ends a short row).
pub fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter(|r| c + 1 < r.len())
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `39-bit` when the aperture is a whole power-of-two address space from 0.
fn address_width(ap: IovaRange) -> Option<u32> {
    let size = ap.size();
    (ap.start == 0 && size.is_power_of_two()).then(|| size.trailing_zeros())
}

/// The reserved regions a hole comes from, as `msi (group 2)`.
pub fn hole_sources(hole: IovaRange, regions: &[(u32, ReservedRegion)]) -> String {
    let names: Vec<String> = regions
        .iter()
        .filter(|(_, r)| r.causes_hole(hole))
        .map(|(g, r)| format!("{} (group {g})", r.kind.name()))
        .collect();
    names.join(", ")
}

/// What a VMM needs from an `IommuInfo`, as a labelled block; `regions` (with their group)
/// attribute the holes when known.
pub fn info(info: &IommuInfo, regions: &[(u32, ReservedRegion)]) -> String {
    let mut out = String::new();
    let label = |out: &mut String, l: &str, v: &str| {
        let _ = writeln!(out, "{l:<13}{v}");
    };
    match info.iova_pgsizes {
        // AMD's bitmap holds 39 sizes: runs of consecutive powers of two are written a..b.
        Some(p) if p.sizes().count() > 8 => label(
            &mut out,
            "page sizes",
            &format!("{p:#}  ({:#x}: every power of two in each run)", p.0),
        ),
        Some(p) => label(&mut out, "page sizes", &format!("{p}  ({:#x})", p.0)),
        None => label(
            &mut out,
            "page sizes",
            "not reported (the PGSIZES flag is clear)",
        ),
    }
    match &info.iova_ranges {
        Reported::Present(ranges) => {
            label(&mut out, "IOVA ranges", &ranges.len().to_string());
            let rows: Vec<Vec<String>> = ranges
                .iter()
                .map(|r| {
                    vec![
                        hex(r.start),
                        "-".into(),
                        hex(r.end),
                        format_size_human(r.size()),
                    ]
                })
                .collect();
            out.push_str(&columns(&rows, "  "));
        }
        Reported::Absent(why) => label(
            &mut out,
            "IOVA ranges",
            &format!("none: {}", why.explain(Type1Cap::IovaRange)),
        ),
    }
    if let Some(ap) = info.aperture() {
        let width = address_width(ap)
            .map(|b| format!(", {b}-bit"))
            .unwrap_or_default();
        label(
            &mut out,
            "aperture",
            &format!(
                "{} - {}  ({}{width}: the DMA window)",
                hex(ap.start),
                hex(ap.end),
                format_size_human(ap.size())
            ),
        );
    }
    let holes = info.holes();
    if info.iova_ranges.present().is_some() {
        label(&mut out, "holes", &holes.len().to_string());
        let rows: Vec<Vec<String>> = holes
            .iter()
            .map(|h| {
                vec![
                    hex(h.start),
                    "-".into(),
                    hex(h.end),
                    format_size_human(h.size()),
                    hole_sources(*h, regions),
                ]
            })
            .collect();
        out.push_str(&columns(&rows, "  "));
    }
    match &info.dma_avail {
        Reported::Present(n) => label(&mut out, "DMA_AVAIL", &format!("{n} more mappings")),
        Reported::Absent(why) => label(
            &mut out,
            "DMA_AVAIL",
            &format!("not reported: {}", why.explain(Type1Cap::DmaAvail)),
        ),
    }
    match &info.migration {
        Reported::Present(m) => label(
            &mut out,
            "migration",
            &format!(
                "dirty tracking in {} pages, bitmaps up to {} (flags {:#x})",
                m.pgsize_bitmap,
                format_size_human(u128::from(m.max_dirty_bitmap_size)),
                m.flags
            ),
        ),
        Reported::Absent(why) => label(
            &mut out,
            "migration",
            &format!("not reported: {}", why.explain(Type1Cap::Migration)),
        ),
    }
    for u in &info.unknown_caps {
        label(
            &mut out,
            "unknown cap",
            &format!("id {} version {} at offset {}", u.id, u.version, u.offset),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_do_not_pad_the_last_cell() {
        let rows = vec![
            vec!["a".into(), "bbb".into(), "c".into()],
            vec!["aaaa".into(), "b".into(), "cc".into()],
        ];
        assert_eq!(columns(&rows, "  "), "  a     bbb  c\n  aaaa  b    cc\n");
        let rows = vec![
            vec!["a".into(), "a long message".into()],
            vec!["b".into(), "c".into(), "d".into()],
        ];
        assert_eq!(columns(&rows, ""), "a  a long message\nb  c  d\n");
    }

    #[test]
    fn widths_of_apertures() {
        assert_eq!(
            address_width(IovaRange::new(0, 0x7f_ffff_ffff).unwrap()),
            Some(39)
        );
        assert_eq!(
            address_width(IovaRange::new(0, u64::MAX).unwrap()),
            Some(64)
        );
        assert_eq!(
            address_width(IovaRange::new(0x1_0000_0000, 0x1_3fff_ffff).unwrap()),
            None
        );
    }
}
