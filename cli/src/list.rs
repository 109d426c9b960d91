//! `vfio-iommu-info list`: every IOMMU group, its devices and drivers, whether VFIO can
//! use it, and its reserved regions. sysfs only: no root, no VFIO needed.

use std::path::PathBuf;

use serde_json::{json, Value};
use vfio_iommu_info::sys::pci_ids::PciIds;
use vfio_iommu_info::{Error, GroupBlocker, HostPaths, ReservedRegion};

use crate::render::{columns, hex};

/// A device of a group.
pub struct Device {
    name: String,
    vendor: Option<u16>,
    device: Option<u16>,
    class: Option<u32>,
    description: Option<String>,
    driver: Option<String>,
}

/// A group and what VFIO would make of it.
pub struct GroupInfo {
    number: u32,
    domain_type: Option<String>,
    blockers: Vec<GroupBlocker>,
    vfio_node: Option<PathBuf>,
    devices: Vec<Device>,
    regions: Vec<ReservedRegion>,
    error: Option<String>,
}

/// Reads one group from sysfs.
fn read_group(number: u32, paths: &HostPaths, ids: &PciIds) -> Result<GroupInfo, Error> {
    let sysfs = &paths.sysfs;
    let listed = sysfs.group_devices(number)?;
    let blockers = vfio_iommu_info::sysfs::blockers(&listed);
    let devices = listed
        .into_iter()
        .map(|d| {
            let id = sysfs.pci_identity(&d.name);
            Device {
                description: id.vendor.zip(id.device).and_then(|(v, p)| ids.name(v, p)),
                class: id.class,
                vendor: id.vendor,
                device: id.device,
                driver: d.driver,
                name: d.name,
            }
        })
        .collect();
    let node = paths.vfio_dir.join(number.to_string());
    Ok(GroupInfo {
        number,
        domain_type: sysfs.default_domain_type(number)?,
        blockers,
        vfio_node: paths.exists(&node)?.then_some(node),
        devices,
        // Informative only (and absent before Linux 4.11): never a reason to fail the group.
        regions: sysfs.reserved_regions(number).unwrap_or_default(),
        error: None,
    })
}

/// Reads every group from sysfs; a group that cannot be read (it vanished, or a file is
/// unreadable) is listed with the error instead of ending the listing.
pub fn collect(paths: &HostPaths, ids: &PciIds) -> Result<Vec<GroupInfo>, Error> {
    Ok(paths
        .sysfs
        .groups()?
        .into_iter()
        .map(|number| {
            read_group(number, paths, ids).unwrap_or_else(|e| GroupInfo {
                number,
                domain_type: None,
                blockers: Vec::new(),
                vfio_node: None,
                devices: Vec::new(),
                regions: Vec::new(),
                error: Some(e.to_string()),
            })
        })
        .collect())
}

/// The human listing: a header line per group, then its devices and its reserved
/// regions, each block in columns aligned across all groups.
pub fn render(groups: &[GroupInfo]) -> String {
    if groups.is_empty() {
        return "no IOMMU groups: the IOMMU is disabled or absent (enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on)\n".to_owned();
    }
    let device_rows: Vec<Vec<String>> = groups
        .iter()
        .flat_map(|g| &g.devices)
        .map(|d| {
            vec![
                d.name.clone(),
                match (d.vendor, d.device) {
                    (Some(v), Some(p)) => format!("{v:04x}:{p:04x}"),
                    _ => "-".into(),
                },
                d.class
                    .map(|c| format!("[{:04x}]", c >> 8))
                    .unwrap_or_else(|| "-".into()),
                d.driver.clone().unwrap_or_else(|| "(no driver)".into()),
                d.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let region_rows: Vec<Vec<String>> = groups
        .iter()
        .flat_map(|g| &g.regions)
        .map(|r| {
            vec![
                "reserved".into(),
                hex(r.range.start),
                "-".into(),
                hex(r.range.end),
                r.kind.name().to_owned(),
            ]
        })
        .collect();
    let device_lines = columns(&device_rows, "  ");
    let region_lines = columns(&region_rows, "  ");
    let (mut devices, mut regions) = (device_lines.lines(), region_lines.lines());
    let mut out = String::new();
    for g in groups {
        if let Some(e) = &g.error {
            out.push_str(&format!("IOMMU group {}  (cannot read: {e})\n", g.number));
            continue;
        }
        let viable = if g.blockers.is_empty() {
            "viable".to_owned()
        } else {
            let who: Vec<String> = g
                .blockers
                .iter()
                .map(|b| format!("{} on {}", b.device, b.driver))
                .collect();
            format!("not viable: {}", who.join(", "))
        };
        let node = match &g.vfio_node {
            Some(p) => format!(", {}", p.display()),
            None => String::new(),
        };
        let kind = g
            .domain_type
            .as_deref()
            .map(|t| format!("type {t}, "))
            .unwrap_or_default();
        out.push_str(&format!(
            "IOMMU group {}  ({kind}{viable}{node})\n",
            g.number
        ));
        for line in devices
            .by_ref()
            .take(g.devices.len())
            .chain(regions.by_ref().take(g.regions.len()))
        {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The JSON listing.
pub fn to_json(groups: &[GroupInfo]) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| {
                json!({
                    "group": g.number,
                    "error": g.error,
                    "type": g.domain_type,
                    "viable": g.blockers.is_empty(),
                    "blockers": g.blockers.iter().map(|b| json!({"device": b.device, "driver": b.driver})).collect::<Vec<_>>(),
                    "vfio_node": g.vfio_node.as_ref().map(|p| p.display().to_string()),
                    "devices": g.devices.iter().map(|d| json!({
                        "address": d.name,
                        "vendor": d.vendor,
                        "device": d.device,
                        "class": d.class,
                        "name": d.description,
                        "driver": d.driver,
                    })).collect::<Vec<_>>(),
                    "reserved_regions": g.regions.iter().map(|r| json!({
                        "start": r.range.start,
                        "end": r.range.end,
                        "type": r.kind.name(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::Path;

    use super::*;
    use crate::export;
    use vfio_iommu_info::{HostSummary, Sysfs};

    /// A host in a directory: group 2 holds 00:03.0 on vfio-pci behind the VT-d unit
    /// dmar0 (the lab's 48-bit registers), group 5 holds 00:1f.0 on lpc_ich;
    /// vfio_iommu_type1 is loaded with its default dma_entry_limit.
    fn fake_host(root: &Path) -> HostPaths {
        let _ = std::fs::remove_dir_all(root);
        let sys = root.join("sys");
        let add = |group: u32, dev: &str, driver: &str, ids: [&str; 3], iommu: Option<&str>| {
            let g = sys.join("kernel/iommu_groups").join(group.to_string());
            std::fs::create_dir_all(g.join("devices")).unwrap();
            std::fs::write(g.join("type"), "DMA\n").unwrap();
            std::fs::write(
                g.join("reserved_regions"),
                "0x00000000fee00000 0x00000000feefffff msi\n0x000000fd00000000 0x000000ffffffffff reserved\n",
            )
            .unwrap();
            let d = sys.join("bus/pci/devices").join(dev);
            std::fs::create_dir_all(&d).unwrap();
            for (file, value) in ["vendor", "device", "class"].iter().zip(ids) {
                std::fs::write(d.join(file), format!("{value}\n")).unwrap();
            }
            std::fs::create_dir_all(sys.join("bus/pci/drivers").join(driver)).unwrap();
            symlink(
                format!("../../../../bus/pci/drivers/{driver}"),
                d.join("driver"),
            )
            .unwrap();
            if let Some(unit) = iommu {
                symlink(format!("../../../../class/iommu/{unit}"), d.join("iommu")).unwrap();
            }
            symlink(&d, g.join("devices").join(dev)).unwrap();
        };
        add(
            2,
            "0000:00:03.0",
            "vfio-pci",
            ["0x1234", "0x11e8", "0x00ff00"],
            Some("dmar0"),
        );
        add(
            5,
            "0000:00:1f.0",
            "lpc_ich",
            ["0x8086", "0x2918", "0x060100"],
            None,
        );
        let vtd = sys.join("class/iommu/dmar0/intel-iommu");
        std::fs::create_dir_all(&vtd).unwrap();
        std::fs::write(vtd.join("cap"), "d2008c222f0686\n").unwrap();
        std::fs::write(vtd.join("ecap"), "f00f4a\n").unwrap();
        let params = sys.join("module/vfio_iommu_type1/parameters");
        std::fs::create_dir_all(&params).unwrap();
        std::fs::write(params.join("dma_entry_limit"), "65535\n").unwrap();
        HostPaths {
            vfio_dir: root.join("dev/vfio"),
            sysfs: Sysfs::new(sys),
            ..HostPaths::default()
        }
    }

    #[test]
    fn a_host_as_json_nfd_and_prometheus() {
        let root = std::env::temp_dir().join(format!("vfio-list-{}", std::process::id()));
        let paths = fake_host(&root);
        let groups = collect(&paths, &PciIds::default()).unwrap();
        let doc = vfio_iommu_info::json::document(to_json(&groups));
        assert_eq!(doc[0]["schema_version"], 1);
        assert_eq!(doc[1]["reserved_regions"][1]["end_hex"], "0xffffffffff");
        crate::testing::assert_schema("list", doc);

        let host = HostSummary::read(&paths).unwrap();
        let nfd = export::tests::check_nfd(&export::nfd(&host));
        let get = |k: &str| nfd.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("vfio-iommu-info.iommu"), Some("true"));
        assert_eq!(get("vfio-iommu-info.groups"), Some("2"));
        assert_eq!(get("vfio-iommu-info.groups-viable"), Some("1"));
        assert_eq!(get("vfio-iommu-info.address-width"), Some("48"));
        assert_eq!(get("vfio-iommu-info.dma-avail"), Some("65535"));
        let samples = export::tests::check_exposition(&export::list_prometheus(&host));
        let value = |s: &str| samples.iter().find(|(n, _)| n == s).map(|(_, v)| *v);
        assert_eq!(value("vfio_iommu_info_groups_viable"), Some(1.0));
        assert_eq!(
            value("vfio_iommu_info_group_viable{group=\"5\"}"),
            Some(0.0)
        );
        assert_eq!(
            value("vfio_iommu_info_group_reserved_regions{group=\"2\"}"),
            Some(2.0)
        );
        assert_eq!(
            value("vfio_iommu_info_group_address_width_bits{group=\"2\"}"),
            Some(48.0)
        );
        assert_eq!(
            value("vfio_iommu_info_group_address_width_bits{group=\"5\"}"),
            None
        );
        assert_eq!(value("vfio_iommu_info_dma_entry_limit"), Some(65535.0));
        let _ = std::fs::remove_dir_all(root);
    }
}
