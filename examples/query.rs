//! Prints what a VMM needs to know about a VFIO IOMMU: for a live group or PCI device, or
//! for a captured `VFIO_IOMMU_GET_INFO` buffer.
//!
//! ```text
//! cargo run --example query -- 4               # IOMMU group 4
//! cargo run --example query -- 0000:03:00.0    # the group of a PCI device
//! cargo run --example query -- --decode tests/fixtures/linux-6.12-amd/group-2/info-exact.bin [--big]
//! ```

use std::process::ExitCode;

use vfio_iommu_info::iova::format_size_human as format_size;
use vfio_iommu_info::{
    decode_with_order, open_and_query, ByteOrder, IommuInfo, Reported, Sysfs, Target, Type1Cap,
};

fn print_info(info: &IommuInfo, groups: &[u32]) {
    match info.iova_pgsizes {
        Some(p) => println!("page sizes     {p}  ({:#x})", p.0),
        None => println!("page sizes     not reported (PGSIZES flag clear)"),
    }
    match &info.iova_ranges {
        Reported::Present(ranges) => {
            println!("IOVA ranges    {}", ranges.len());
            for r in ranges {
                println!(
                    "  {:#018x} - {:#018x}  {:>6}",
                    r.start,
                    r.end,
                    format_size(r.size())
                );
            }
        }
        Reported::Absent(why) => println!(
            "IOVA ranges    absent: {}",
            why.explain(Type1Cap::IovaRange)
        ),
    }
    if let Some(ap) = info.aperture() {
        println!(
            "aperture       {:#x} - {:#x} (the DMA window)",
            ap.start, ap.end
        );
    }
    let reserved: Vec<_> = groups
        .iter()
        .flat_map(|&g| Sysfs::default().reserved_regions(g).unwrap_or_default())
        .collect();
    for h in info.holes() {
        let from: Vec<&str> = reserved
            .iter()
            .filter(|r| r.overlaps(h))
            .map(|r| r.kind.name())
            .collect();
        let from = if from.is_empty() {
            String::new()
        } else {
            format!("  ({})", from.join(", "))
        };
        println!(
            "  hole {:#018x} - {:#018x}  {:>6}{from}",
            h.start,
            h.end,
            format_size(h.size())
        );
    }
    match &info.dma_avail {
        Reported::Present(n) => println!("DMA_AVAIL      {n} more mappings"),
        Reported::Absent(why) => {
            println!("DMA_AVAIL      absent: {}", why.explain(Type1Cap::DmaAvail))
        }
    }
    match &info.migration {
        Reported::Present(m) => println!(
            "migration      dirty tracking in {} pages, bitmaps up to {} bytes",
            m.pgsize_bitmap, m.max_dirty_bitmap_size
        ),
        Reported::Absent(why) => println!(
            "migration      absent: {}",
            why.explain(Type1Cap::Migration)
        ),
    }
    for u in &info.unknown_caps {
        println!(
            "unknown cap    id {} version {} at offset {}",
            u.id, u.version, u.offset
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--decode") if args.len() >= 2 => {
            let order = if args.iter().any(|a| a == "--big") {
                ByteOrder::Big
            } else {
                ByteOrder::Native
            };
            std::fs::read(&args[1])
                .map_err(|e| format!("{}: {e}", args[1]))
                .and_then(|buf| {
                    decode_with_order(&buf, order).map_err(|e| format!("{}: {e}", args[1]))
                })
                .map(|info| {
                    println!("capture        {} ({order} byte order)", args[1]);
                    print_info(&info, &[]);
                })
        }
        Some(target) => target
            .parse::<Target>()
            .and_then(|t| open_and_query(&t))
            .map(|(container, info)| {
                let groups: Vec<u32> = container
                    .groups()
                    .iter()
                    .filter_map(|g| g.number())
                    .collect();
                println!("target         {target} (IOMMU group {groups:?})");
                print_info(&info, &groups);
            })
            .map_err(|e| e.to_string()),
        None => Err("usage: query TARGET | query --decode FILE [--big]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
