//! `vfio-iommu-info list`: every IOMMU group, its devices and drivers, whether VFIO can
//! use it, and its reserved regions. sysfs only: no root, no VFIO needed.

use std::path::PathBuf;

use serde_json::{json, Value};
use vfio_iommu_info::{Error, GroupBlocker, HostPaths, ReservedRegion};

use crate::pci_ids::PciIds;
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
        vfio_node: node.exists().then_some(node),
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
