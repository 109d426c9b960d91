//! The large SR-IOV host of issue 24's `list` benchmark (`bench/list_snapshot` runs it).
//!
//! ```text
//! big-host generate DIR SNAPSHOT [--pci-ids FILE]
//!     writes the host as a sysfs-shaped tree under DIR (keeping a tree it wrote before),
//!     and its snapshot to SNAPSHOT; checks that both list the same devices.
//! big-host time SNAPSHOT RUNS
//!     times the in-process `list` reads from SNAPSHOT, RUNS times, phase by phase, and
//!     prints the milliseconds as JSON: {"read": [..], "parse": [..], "list": [..]}.
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use vfio_iommu_info::sys::pci_ids::PciIds;
use vfio_iommu_info::Snapshot;
use vfio_iommu_info_bench::big_host::{list_reads, without_names, BigHost, DEVICES, GROUPS};

fn generate(dir: &Path, snapshot: &Path, pci_ids: Option<&Path>) -> Result<(), String> {
    let started = Instant::now();
    let host = BigHost::new();
    let wrote = host
        .write_tree(dir)
        .map_err(|e| format!("writing {}: {e}", dir.display()))?;
    let written = started.elapsed();
    let taken = Instant::now();
    let snap = host
        .snapshot(dir, pci_ids)
        .map_err(|e| format!("taking the snapshot of {}: {e}", dir.display()))?;
    let text = snap.to_text();
    let recorded = taken.elapsed();
    std::fs::write(snapshot, &text).map_err(|e| format!("writing {}: {e}", snapshot.display()))?;
    // The tree read live and the snapshot file replayed must list the same devices, and
    // the snapshot name them as the pci.ids file given does.
    let live = list_reads(&BigHost::paths(dir)).map_err(|e| format!("the tree: {e}"))?;
    let replayed = Snapshot::read(snapshot)
        .map_err(|e| e.to_string())
        .and_then(|s| list_reads(&s.paths()).map_err(|e| e.to_string()))
        .map_err(|e| format!("the snapshot: {e}"))?;
    let (live_count, replayed_count) = (live.len(), replayed.len());
    if live_count != DEVICES || without_names(live) != without_names(replayed.clone()) {
        return Err(format!(
            "the tree lists {live_count} devices and the snapshot {replayed_count}, not the same {DEVICES}"
        ));
    }
    let ids = match pci_ids {
        Some(path) => PciIds::parse(&String::from_utf8_lossy(
            &std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => PciIds::default(),
    };
    if let Some(d) = replayed
        .iter()
        .find(|d| d.name != d.ids.and_then(|(v, p)| ids.name(v, p)))
    {
        return Err(format!(
            "the snapshot names {} {:?}, not as the pci.ids given",
            d.address, d.name
        ));
    }
    eprintln!(
        "big-host: {} {} ({GROUPS} groups, {DEVICES} devices) in {:.0} ms and wrote {} ({} bytes, {} paths) in {:.0} ms; both list the same {DEVICES} devices",
        if wrote { "wrote" } else { "kept" },
        dir.display(),
        written.as_secs_f64() * 1e3,
        snapshot.display(),
        text.len(),
        snap.files.len(),
        recorded.as_secs_f64() * 1e3,
    );
    Ok(())
}

fn time(snapshot: &Path, runs: usize) -> Result<(), String> {
    let (mut read, mut parse, mut list) = (Vec::new(), Vec::new(), Vec::new());
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    for _ in 0..runs {
        let t = Instant::now();
        let bytes = std::fs::read(snapshot).map_err(|e| format!("{}: {e}", snapshot.display()))?;
        read.push(ms(t));
        let t = Instant::now();
        let snap = Snapshot::parse(&bytes)?;
        parse.push(ms(t));
        let t = Instant::now();
        let devices = list_reads(&snap.paths()).map_err(|e| e.to_string())?;
        list.push(ms(t));
        if devices.len() != DEVICES {
            return Err(format!("{} devices, not {DEVICES}", devices.len()));
        }
    }
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{{\"read\": [{}], \"parse\": [{}], \"list\": [{}]}}",
        show(&read),
        show(&parse),
        show(&list)
    );
    Ok(())
}

fn usage() -> String {
    "usage: big-host generate DIR SNAPSHOT [--pci-ids FILE] | big-host time SNAPSHOT RUNS"
        .to_owned()
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd, dir, snapshot, rest @ ..] if cmd == "generate" => {
            let pci_ids = match rest {
                [] => None,
                [flag, file] if flag == "--pci-ids" => Some(PathBuf::from(file)),
                _ => return Err(usage()),
            };
            generate(Path::new(dir), Path::new(snapshot), pci_ids.as_deref())
        }
        [cmd, snapshot, runs] if cmd == "time" => {
            let runs = runs.parse().map_err(|_| usage())?;
            time(Path::new(snapshot), runs)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("big-host: {e}");
            ExitCode::FAILURE
        }
    }
}
