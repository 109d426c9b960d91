//! The library in a few lines: the IOMMU info of a live group or PCI device, or of a
//! captured `VFIO_IOMMU_GET_INFO` buffer. (The `vfio-iommu-info` command does this and
//! more; this is what a program of your own would write.)
//!
//! ```text
//! cargo run --example query -- 0000:03:00.0
//! cargo run --example query -- --decode tests/fixtures/linux-6.12-amd/group-2/info-exact.bin
//! ```

use std::process::ExitCode;

use vfio_iommu_info::{decode, open_and_query, IommuInfo, Reported, Target, Type1Cap};

fn show(info: &IommuInfo) {
    if let Some(p) = info.iova_pgsizes {
        println!("page sizes  {p}");
    }
    match &info.iova_ranges {
        Reported::Present(ranges) => ranges.iter().for_each(|r| println!("usable      {r}")),
        Reported::Absent(why) => println!("no ranges   {}", why.explain(Type1Cap::IovaRange)),
    }
    if let Some(ap) = info.aperture() {
        println!("aperture    {ap}");
    }
    info.holes()
        .iter()
        .for_each(|h| println!("hole        {h}"));
    match &info.dma_avail {
        Reported::Present(n) => println!("DMA_AVAIL   {n}"),
        Reported::Absent(why) => println!("DMA_AVAIL   {}", why.explain(Type1Cap::DmaAvail)),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, file] if flag == "--decode" => std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|buf| decode(&buf).map_err(|e| e.to_string())),
        [target] => target
            .parse::<Target>()
            .and_then(|t| open_and_query(&t))
            .map(|(_container, info)| info)
            .map_err(|e| e.to_string()),
        _ => Err("usage: query TARGET | query --decode FILE".to_owned()),
    };
    match result {
        Ok(info) => {
            show(&info);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
