//! Output a person reads at a glance: aligned columns, hex addresses, sizes in K/M/G/T.

use std::fmt::Write as _;

use vfio_iommu_info::decode::spapr_tce::DDW_EXPECTED_START;
use vfio_iommu_info::facts::{DirtyTracking, DmaFacts, MappingLimit, Source};
use vfio_iommu_info::hw_info::{HwData, HwInfo};
use vfio_iommu_info::iova::{self, format_size_human};
use vfio_iommu_info::{
    Ddw, IommuInfo, IovaRange, PageSizes, Reported, ReservedRegion, SpaprTceInfo, Type1Cap,
};

/// `0x00000000fee00000`: every address the same width, so columns line up.
/// The first line of `query`'s text: what was queried and its IOMMU groups.
pub fn target_line<T: std::fmt::Display, G: std::fmt::Display>(
    targets: &[T],
    groups: &[G],
) -> String {
    let join = |items: Vec<String>| items.join(", ");
    format!(
        "target       {} (IOMMU group {})\n",
        join(targets.iter().map(|t| t.to_string()).collect()),
        join(groups.iter().map(|g| g.to_string()).collect())
    )
}

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

/// One range as a row: its start, `-`, its end, its size.
pub fn range_row(r: &IovaRange) -> Vec<String> {
    vec![
        hex(r.start),
        "-".into(),
        hex(r.end),
        format_size_human(r.size()),
    ]
}

/// The ranges, a row each (see [`range_row`]), in aligned columns after `indent`.
pub fn range_rows(ranges: &[IovaRange], indent: &str) -> String {
    let rows: Vec<Vec<String>> = ranges.iter().map(range_row).collect();
    columns(&rows, indent)
}

/// The IOVA ranges with their sizes, the aperture, and the holes with the reserved
/// regions (and group) each comes from.
pub fn ranges_block(ranges: &[IovaRange], regions: &[(u32, ReservedRegion)]) -> String {
    let mut out = String::new();
    let label = |out: &mut String, l: &str, v: &str| {
        let _ = writeln!(out, "{l:<13}{v}");
    };
    label(&mut out, "IOVA ranges", &ranges.len().to_string());
    out.push_str(&range_rows(ranges, "  "));
    if let Some(ap) = iova::aperture(ranges) {
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
    let holes = iova::holes(ranges);
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
    out
}

/// Where each fact came from (`sources` rows: fact, value, source) and the notes on what
/// is missing or means something else than it seems.
pub fn provenance(f: &DmaFacts) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, value: String, source: Source| {
        rows.push(vec![name.to_owned(), value, format!("[{source}]")]);
    };
    if let Some(r) = &f.iova_ranges {
        row("IOVA ranges", format!("{} ranges", r.value.len()), r.source);
    }
    if let Some(p) = &f.page_sizes {
        row("page sizes", format!("{:#x}", p.value.bits()), p.source);
    }
    if let Some(a) = &f.iova_alignment {
        row("alignment", format!("{:#x}", a.value), a.source);
    }
    if let Some(w) = &f.address_width {
        row("address width", format!("{} bits", w.value), w.source);
    }
    if let Some(m) = &f.mapping_limit {
        let v = match m.value {
            MappingLimit::Remaining(n) => format!("{n} more mappings"),
            MappingLimit::Unlimited => "no count limit".to_owned(),
        };
        row("mapping limit", v, m.source);
    }
    if let Some(d) = &f.dirty_tracking {
        let v = match d.value {
            DirtyTracking::Type1 { pgsize_bitmap, .. } => {
                format!("type1 bitmaps ({pgsize_bitmap})")
            }
            DirtyTracking::Hardware(true) => "the IOMMU tracks dirty pages".to_owned(),
            DirtyTracking::Hardware(false) => "the IOMMU cannot track dirty pages".to_owned(),
        };
        row("dirty tracking", v, d.source);
    }
    if let Some(d) = &f.dynamic_windows {
        row(
            "DDW",
            format!(
                "{} windows, pages {}, levels {}",
                d.value.max_dynamic_windows, d.value.page_sizes, d.value.levels
            ),
            d.source,
        );
    }
    if let Some(r) = &f.reserved_regions {
        let n = r.value.len();
        let noun = if n == 1 { "region" } else { "regions" };
        row("reserved", format!("{n} {noun}"), r.source);
    }
    let mut out = String::from("sources\n");
    out.push_str(&columns(&rows, "  "));
    for n in &f.notes {
        let _ = writeln!(out, "{:<13}{n}", "note");
    }
    out
}

/// An sPAPR TCE answer: the default window (the aperture and the one usable range, 4K
/// TCEs), the dynamic windows' limits and where one would go.
pub fn spapr_tce(info: &SpaprTceInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13}argsz {}, flags {:#x} (DDW {})",
        "header",
        info.argsz,
        info.flags,
        if info.flags & 1 != 0 { "set" } else { "clear" }
    );
    match info.default_window() {
        Some(w) => {
            let _ = writeln!(
                out,
                "{:<13}{} - {}  ({}: the default 32-bit DMA window, 4K TCEs; IOVAs are bus addresses)",
                "window",
                hex(w.start),
                hex(w.end),
                format_size_human(w.size())
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{:<13}none (dma32_window_size 0): map only in a dynamic window",
                "window"
            );
        }
    }
    let _ = writeln!(out, "{:<13}{}", "DDW", info.ddw);
    if !matches!(info.ddw, Ddw::Unsupported) {
        let _ = writeln!(
            out,
            "{:<13}the platform picks a dynamic window's start (VFIO_IOMMU_SPAPR_TCE_CREATE returns it); expected {:#x} (2^59) on PowerNV and QEMU's pseries",
            "placement", DDW_EXPECTED_START
        );
    }
    out
}

/// `IOMMU_GET_HW_INFO` in one line: the type, its length, and what the registers say.
pub fn hw_info(h: &HwInfo) -> String {
    let caps = match h.capabilities {
        Some(c) => {
            let mut names: Vec<String> =
                h.capability_names().iter().map(|n| n.to_string()).collect();
            if h.unknown_capabilities() != 0 {
                names.push(format!("unknown {:#x}", h.unknown_capabilities()));
            }
            if names.is_empty() {
                names.push("none".to_owned());
            }
            format!("capabilities {c:#x} ({})", names.join(", "))
        }
        None => "capabilities not reported (Linux 6.6)".to_owned(),
    };
    let regs = match h.decode() {
        Ok(HwData::IntelVtd(v)) => format!(
            ": cap {:#x} ecap {:#x}, {}-bit, page sizes {}, scalable mode {}",
            v.cap,
            v.ecap,
            v.address_width(),
            v.second_stage_page_sizes(),
            if v.scalable_mode() { "on" } else { "off" }
        ),
        Ok(HwData::ArmSmmuV3(s)) => {
            let sizes = |p: Option<PageSizes>| p.map_or("none".to_owned(), |p| p.to_string());
            format!(
                ": IDR {:x?}, IIDR {:#x}, AIDR {:#x}, {}-bit IOVA, page sizes {} (the {} KiB \
                 kernel's granule; the hardware allows {})",
                s.idr,
                s.iidr,
                s.aidr,
                s.input_address_bits()
                    .map_or("?".to_owned(), |b| b.to_string()),
                sizes(s.page_sizes(h.kernel_page_size)),
                h.kernel_page_size / 1024,
                sizes(s.hardware_page_sizes()),
            )
        }
        Ok(HwData::Amd(a)) => format!(": EFR {:#x} EFR2 {:#x}", a.efr, a.efr2),
        Ok(HwData::None) => ": the driver reports no hardware data".to_owned(),
        Ok(_) => String::new(),
        Err(e) => format!(": {e}"),
    };
    format!("{} ({} bytes), {caps}{regs}", h.type_name(), h.data_len)
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
        Reported::Present(ranges) => out.push_str(&ranges_block(ranges, regions)),
        Reported::Absent(why) => label(
            &mut out,
            "IOVA ranges",
            &format!("none: {}", why.explain(Type1Cap::IovaRange)),
        ),
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
    fn smmuv3_line_says_the_domains_page_sizes_and_what_the_hardware_allows() {
        // The registers Linux 7.3 on arm64 handed over for QEMU's SMMUv3 (lab scenario
        // linux-7.3-arm64-iommufd, tests/fixtures/linux-7.3-arm64-iommufd/meta.txt): flags,
        // reserved, IDR0-5, IIDR, AIDR.
        let words: [u32; 10] = [0, 0, 0x0d40_101a, 0x0273_0010, 0, 0x1404, 0, 0x74, 0, 1];
        let data: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut h = HwInfo {
            data_type: 2,
            data_len: 40,
            data,
            capabilities: Some(8),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: vfio_iommu_info::ByteOrder::Native,
        };
        let line = hw_info(&h);
        assert!(
            line.contains("48-bit IOVA, page sizes 4K 2M 1G (the 4 KiB kernel's granule; the hardware allows 4K 16K 64K 2M 32M 512M 1G)"),
            "{line}"
        );
        // 7.3's capability bit 3 (IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED: QEMU's edu has no ATS).
        assert!(
            line.starts_with("arm-smmuv3 (40 bytes), capabilities 0x8 (pci-ats-not-supported):"),
            "{line}"
        );
        h.kernel_page_size = 1 << 16;
        assert!(line != hw_info(&h) && hw_info(&h).contains("page sizes 64K 512M (the 64 KiB"));
        h.capabilities = Some(0x11);
        assert!(
            hw_info(&h).contains("capabilities 0x11 (dirty-tracking, unknown 0x10):"),
            "{}",
            hw_info(&h)
        );
        h.capabilities = Some(0);
        assert!(hw_info(&h).contains("capabilities 0x0 (none):"));
        h.capabilities = None;
        assert!(hw_info(&h).contains("capabilities not reported (Linux 6.6):"));
    }

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
