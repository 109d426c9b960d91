//! The snapshot a foreign guest took (`lab/guest/snapshot.c`, run by
//! `lab/guest/init-foreign` after the capture program: the guest cannot run the project's
//! binaries), decoded on this host: tests/s390x.rs, tests/foreign.rs,
//! tests/arm64_iommufd.rs and tests/spapr_lab.rs call [`check`] on their capture
//! directory. What the snapshot replays must be what the capture program recorded of the
//! same boot, raw, through other calls: the group and its reserved regions, the
//! container's `VFIO_IOMMU_GET_INFO` or, on IBM POWER, `VFIO_IOMMU_SPAPR_TCE_GET_INFO`
//! (`info-exact.bin`), the device's
//! `VFIO_DEVICE_GET_INFO` (`device-exact.bin`) and regions (`region-N.bin`), in the
//! guest's byte order and page size.

// Each test binary uses a part of these; snapshots are read with the json feature.
#![allow(dead_code)]
#![cfg(feature = "json")]

use std::fs;
use std::path::Path;

use vfio_iommu_info::device_info::decode_device_info;
use vfio_iommu_info::region_info::{decode_region_info, PCI_VGA_REGION};
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{
    decode_spapr_tce_with_order, decode_with_order, ByteOrder, Errno, Error, HostSummary,
    PciAddress, Snapshot,
};

/// What the capture program's meta.txt says of the guest.
pub struct Guest<'a> {
    /// `uname -m`.
    pub arch: &'a str,
    pub byte_order: ByteOrder,
    /// The kernel's page size, when the capture recorded it.
    pub page_size: Option<u64>,
    /// The device bound to vfio-pci, and its group.
    pub bdf: &'a str,
    pub group: u32,
    /// Whether the container is type1's (or iommufd's compat): false on IBM POWER, whose
    /// container offers only sPAPR TCE.
    pub type1: bool,
}

/// The guest's snapshot in `dir`, checked against the capture beside it; returned for
/// the caller's own checks.
pub fn check(dir: &Path, guest: &Guest) -> Snapshot {
    let file = dir.join("snapshot.json");
    let s = Snapshot::read(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (lab/guest/snapshot.c did not run, or wrote what the library refuses)",
            file.display()
        )
    });
    let at = file.display();
    assert_eq!(s.taken_by, "lab/guest/snapshot.c", "{at}");
    assert_eq!(
        Snapshot::parse(s.to_text().as_bytes()).as_ref(),
        Ok(&s),
        "{at}: written back, it reads the same"
    );
    assert_eq!(s.machine.arch, guest.arch, "{at}");
    assert_eq!(s.machine.byte_order, guest.byte_order, "{at}");
    if let Some(page) = guest.page_size {
        assert_eq!(s.machine.page_size, page, "{at}");
    }

    // `list`: the group, viable, with the device on vfio-pci, and its reserved regions
    // as the capture copied them.
    let paths = s.paths();
    let summary = HostSummary::read(&paths).unwrap_or_else(|e| panic!("{at}: list: {e}"));
    let group = summary
        .groups
        .iter()
        .find(|g| g.group == guest.group)
        .unwrap_or_else(|| panic!("{at}: no group {} in {summary:?}", guest.group));
    assert!(group.viable, "{at}: group {} not viable", guest.group);
    let devices = paths.sysfs.group_devices(guest.group).unwrap();
    assert!(
        devices
            .iter()
            .any(|d| d.name == guest.bdf && d.driver.as_deref() == Some("vfio-pci")),
        "{at}: {} on vfio-pci in group {}: {devices:?}",
        guest.bdf,
        guest.group
    );
    let name = format!("reserved_regions-group{}", guest.group);
    let captured = fs::read_to_string(dir.join(&name)).unwrap();
    let replayed = paths.sysfs.reserved_regions(guest.group).unwrap();
    assert_eq!(
        replayed,
        parse_reserved_regions(&captured).unwrap(),
        "{at}: {name}"
    );

    // `query`: the container's answer is the capture's, in the guest's byte order.
    let container = s.container(&[guest.group]);
    if guest.type1 {
        let c = container.unwrap_or_else(|e| panic!("{at}: container: {e}"));
        let raw = fs::read(dir.join("info-exact.bin")).unwrap();
        let info = decode_with_order(&raw, guest.byte_order).unwrap();
        assert_eq!(c.info.iova_ranges, info.iova_ranges, "{at}: IOVA ranges");
        assert_eq!(c.info.iova_pgsizes, info.iova_pgsizes, "{at}: page sizes");
        assert_eq!(c.info.migration, info.migration, "{at}: migration");
        assert_eq!(c.info.dma_avail, info.dma_avail, "{at}: DMA_AVAIL");
        let facts = c.facts(&paths);
        assert!(facts.iova_ranges.is_some(), "{at}: facts {facts:?}");
    } else {
        // IBM POWER: the sPAPR TCE container's VFIO_IOMMU_SPAPR_TCE_GET_INFO, as the
        // capture's of the whole structure. type1's refusal of it is not recorded by the
        // lab's writer: named as missing, never guessed.
        let c = s
            .spapr_tce_container(&[guest.group])
            .unwrap_or_else(|e| panic!("{at}: sPAPR TCE container: {e}"));
        let raw = fs::read(dir.join("info-exact.bin")).unwrap();
        assert_eq!(
            c.info,
            decode_spapr_tce_with_order(&raw, guest.byte_order).unwrap(),
            "{at}: info-exact.bin"
        );
        assert_eq!(c.model, "VFIO_SPAPR_TCE_v2_IOMMU", "{at}");
        assert!(c.facts(&paths).iova_ranges.is_some(), "{at}");
        match container {
            Err(e @ Error::NotInSnapshot { .. }) => {
                assert!(e.to_string().contains("container"), "{at}: {e}")
            }
            other => panic!("{at}: type1 of an sPAPR TCE host replayed as {other:?}"),
        }
    }

    // `device`: opened through its group, as the capture's own calls saw it.
    let address: PciAddress = guest.bdf.parse().unwrap();
    let d = s
        .device(&address)
        .unwrap_or_else(|e| panic!("{at}: device {}: {e}", guest.bdf));
    assert_eq!(d.group, guest.group, "{at}");
    // argsz aside: the kernel raises it only when the buffer was too small, so it is the
    // size each program asked with (the library's 256 bytes, the capture's exact size).
    if let Ok(raw) = fs::read(dir.join("device-exact.bin")) {
        let mut captured = decode_device_info(&raw, guest.byte_order).unwrap();
        captured.argsz = d.info.argsz;
        assert_eq!(d.info, captured, "{at}: device-exact.bin");
    }
    assert_eq!(d.regions.len(), d.info.num_regions as usize, "{at}");
    // `guest` and `budget`: the BARs, walked over the registers the writer read as the
    // library does, each the size of its region; the process's memlock facts, in the
    // guest's pages.
    let bars = d.bars().unwrap_or_else(|e| panic!("{at}: BARs: {e}"));
    assert!(!bars.is_empty(), "{at}: no BAR");
    for bar in &bars {
        let region = d.regions[bar.index as usize].1.as_ref().unwrap();
        assert_eq!(bar.size, region.size, "{at}: BAR{}", bar.index);
    }
    let memlock = s
        .memlock_facts()
        .unwrap_or_else(|e| panic!("{at}: memlock: {e}"));
    assert_eq!(memlock.page_size, s.machine.page_size, "{at}");
    for (index, region) in &d.regions {
        match fs::read(dir.join(format!("region-{index}.bin"))) {
            Ok(raw) => {
                let replayed = region
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{at}: region {index}: {e}"));
                let mut captured = decode_region_info(&raw, guest.byte_order).unwrap();
                captured.argsz = replayed.argsz;
                assert_eq!(replayed, &captured, "{at}: region-{index}.bin");
            }
            // vfio-pci's VGA region exists only on a VGA device: the kernel's EINVAL, kept.
            Err(_) if *index == PCI_VGA_REGION => {
                let e = region.as_ref().expect_err("no VGA region on this device");
                assert_eq!(e.errno(), Some(Errno(libc::EINVAL)), "{at}: {e}");
            }
            Err(_) => {
                region
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{at}: region {index}: {e}"));
            }
        }
    }
    s
}
