//! A snapshot file (`vfio-iommu-info snapshot -o FILE`, `--snapshot FILE`): arbitrary bytes,
//! as a bug report's attachment may be. Parsing either refuses them with a message or
//! yields a snapshot that writes back to text which parses to the same snapshot; then
//! everything the commands do with it: the host summary, every group's sysfs answers, the
//! CPU's address width, the taking process's memlock limits, each recorded container
//! decoded in the snapshot's byte order with its facts and rlimit mode, and each recorded
//! device's info, regions and BARs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::{HostSummary, Snapshot};

fuzz_target!(|data: &[u8]| {
    let snapshot = match Snapshot::parse(data) {
        Ok(s) => s,
        Err(message) => {
            assert!(!message.is_empty());
            return;
        }
    };
    let text = snapshot.to_text();
    assert_eq!(Snapshot::parse(text.as_bytes()).as_ref(), Ok(&snapshot));
    let paths = snapshot.paths();
    let _ = snapshot.kernel_release();
    let _ = vfio_iommu_info::sys::cpu::phys_bits_at(&paths);
    let _ = (snapshot.memlock_facts(), snapshot.memlock_rlimit());
    if let Ok(summary) = HostSummary::read(&paths) {
        let _ = (summary.viable_groups(), summary.address_width());
        for g in &summary.groups {
            let _ = paths.sysfs.default_domain_type(g.group);
            let _ = paths.sysfs.group_devices(g.group);
            let _ = paths.exists(&paths.vfio_dir.join(g.group.to_string()));
        }
    }
    for c in &snapshot.containers {
        if let Ok(replayed) = snapshot.container(&c.groups) {
            let facts = replayed.facts(&paths);
            let _ = vfio_iommu_info::json::facts_to_json(&facts).to_string();
            let _ = vfio_iommu_info::json::info_to_json(&replayed.info).to_string();
            let _ = replayed.rlimit_mode();
        }
    }
    for d in &snapshot.devices {
        if let Ok(replayed) = snapshot.device(&d.address) {
            let _ = vfio_iommu_info::json::device_info_to_json(&replayed.info).to_string();
            for (_, region) in &replayed.regions {
                match region {
                    Ok(r) => drop(vfio_iommu_info::json::region_info_to_json(r).to_string()),
                    Err(e) => drop(e.to_string()),
                }
            }
            if let Ok(bars) = replayed.bars() {
                assert!(bars.iter().all(|b| b.index < 6 && b.size > 0));
            }
        }
    }
});
