//! A snapshot file (`vfio-iommu-info snapshot -o FILE`, `--snapshot FILE`): arbitrary bytes,
//! as a bug report's attachment may be. Parsing either refuses them with a message or
//! yields a snapshot that writes back to text which parses to the same snapshot; then
//! everything the commands do with it: the host summary, every group's sysfs answers, the
//! CPU's address width, the taking process's memlock limits, each recorded container
//! (type1, iommufd's compat, IBM POWER's sPAPR TCE) decoded in the snapshot's byte order
//! with its facts and rlimit mode, each recorded device's info, regions and BARs; and each
//! device recorded on the iommufd path: its IOAS ranges and hardware info decoded in the
//! snapshot's byte order into the report `query --backend iommufd` prints (its space,
//! facts, JSON), its rlimit mode and its info and regions through its node.
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
    for c in &snapshot.spapr_tce {
        if let Ok(replayed) = snapshot.spapr_tce_container(&c.groups) {
            let facts = replayed.facts(&paths);
            let _ = vfio_iommu_info::json::facts_to_json(&facts).to_string();
            let _ = vfio_iommu_info::json::spapr_tce_to_json(&replayed.info).to_string();
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
    for d in &snapshot.iommufd {
        if let Ok(replayed) = snapshot.iommufd(&d.address) {
            let _ = replayed.rlimit_mode.as_ref().map_err(|e| e.to_string());
            if let Ok(device) = &replayed.device {
                let _ = vfio_iommu_info::json::device_info_to_json(&device.info).to_string();
            }
            if let Ok(hw) = &replayed.hw_info {
                let _ = (hw.decode(), hw.page_sizes(), hw.capability_names());
            }
            match replayed.report(&paths) {
                Ok(report) => {
                    let space = report.space();
                    let _ = (space.aperture(), space.holes().len());
                    let _ = vfio_iommu_info::json::iommufd_report_to_json(&report).to_string();
                }
                Err(e) => drop(e.to_string()),
            }
        }
    }
});
