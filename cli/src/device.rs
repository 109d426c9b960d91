//! `device`: what a VFIO device says about itself (`VFIO_DEVICE_GET_INFO` and each region's
//! `VFIO_DEVICE_GET_REGION_INFO`, with their capability chains: the s390 zPCI DMA window,
//! sparse mmap areas, region types), through its group or its iommufd cdev; and
//! `decode --kind device|region` for captures of those buffers.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};
use vfio_iommu_info::cdev::IommufdDevice;
use vfio_iommu_info::device::Device;
use vfio_iommu_info::device_info::{DeviceCap, DeviceInfo};
use vfio_iommu_info::iova::format_size_human;
use vfio_iommu_info::json::{device_info_to_json, range, region_info_to_json};
use vfio_iommu_info::region_info::{RegionCap, RegionInfo};
use vfio_iommu_info::{Container, Error, HostPaths, PciAddress, Target};

use crate::backend::BackendArg;
use crate::render::{columns, hex};
use crate::{print_json, print_text, Failure, EXIT_FAILURE};

/// vfio-pci's region names by index (`VFIO_PCI_*_REGION_INDEX`).
fn region_name(index: u32) -> String {
    match index {
        0..=5 => format!("BAR{index}"),
        6 => "ROM".to_owned(),
        7 => "config".to_owned(),
        8 => "VGA".to_owned(),
        n => format!("region {n}"),
    }
}

/// The flags of a device-info buffer, as words.
fn device_flags(flags: u32) -> String {
    let names = [
        (1 << 0, "RESET"),
        (1 << 1, "PCI"),
        (1 << 2, "PLATFORM"),
        (1 << 3, "AMBA"),
        (1 << 4, "CCW"),
        (1 << 5, "AP"),
        (1 << 6, "FSL_MC"),
        (1 << 7, "CAPS"),
        (1 << 8, "CDX"),
    ];
    let words: Vec<&str> = names
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("{flags:#x} {}", words.join(" "))
}

fn region_flags(r: &RegionInfo) -> String {
    let mut w = Vec::new();
    if r.readable() {
        w.push("READ");
    }
    if r.writable() {
        w.push("WRITE");
    }
    if r.mmappable() {
        w.push("MMAP");
    }
    w.join(" ")
}

fn region_caps(r: &RegionInfo) -> String {
    r.caps
        .iter()
        .map(|c| match c {
            RegionCap::SparseMmap { areas, .. } => {
                let a: Vec<String> = areas
                    .iter()
                    .map(|a| format!("{:#x}+{:#x}", a.offset, a.size))
                    .collect();
                format!("SPARSE_MMAP [{}]", a.join(" "))
            }
            RegionCap::Type(t) => format!("TYPE {t}"),
            other => other.name().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The device-info block (flags, counts, the zPCI window, the capabilities).
pub fn render_device_info(d: &DeviceInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<13}{}", "flags", device_flags(d.flags));
    let _ = writeln!(
        out,
        "{:<13}{} regions, {} IRQ types",
        "counts", d.num_regions, d.num_irqs
    );
    match d.dma_window() {
        Some(w) => {
            let _ = writeln!(
                out,
                "{:<13}{} - {}  ({}: ZPCI_BASE start_dma..end_dma, the s390 DMA window)",
                "zPCI window",
                hex(w.start),
                hex(w.end),
                format_size_human(w.size())
            );
        }
        None => {
            let _ = writeln!(out, "{:<13}none (not an s390 zPCI device)", "zPCI window");
        }
    }
    let caps: Vec<String> = d
        .caps
        .iter()
        .map(|c| match c {
            DeviceCap::ZpciBase(b) => {
                format!(
                    "ZPCI_BASE v{} (fh {}, gid {})",
                    b.version,
                    b.fh.map_or_else(|| "-".to_owned(), |f| format!("{f:#x}")),
                    b.gid
                )
            }
            DeviceCap::ZpciGroup(g) => format!(
                "ZPCI_GROUP v{} (msi_addr {:#x}, noi {})",
                g.version, g.msi_addr, g.noi
            ),
            DeviceCap::PciAtomicComp { flags, .. } => format!("PCI_ATOMIC_COMP (flags {flags:#x})"),
            DeviceCap::Unknown(u) => format!("unknown id {} v{} at {}", u.id, u.version, u.offset),
            other => other.name().to_owned(),
        })
        .collect();
    let _ = writeln!(
        out,
        "{:<13}{}",
        "caps",
        if caps.is_empty() {
            "none".to_owned()
        } else {
            caps.join(", ")
        }
    );
    out
}

/// One row a region: index name size offset flags caps.
pub fn region_row(r: &RegionInfo) -> Vec<String> {
    vec![
        r.index.to_string(),
        region_name(r.index),
        format_size_human(u128::from(r.size)),
        hex(r.offset),
        region_flags(r),
        region_caps(r),
    ]
}

/// Every region of `device`; one the kernel refuses (vfio-pci's VGA region without VGA:
/// EINVAL) is reported with its error, not as a failure of the whole command.
fn regions(device: &Device, count: u32) -> Vec<(u32, Result<RegionInfo, Error>)> {
    (0..count).map(|i| (i, device.region(i))).collect()
}

/// `device --json`: the device, how it was opened, its info and each region (or why
/// reading it failed).
fn document(
    address: &PciAddress,
    via: &str,
    info: &vfio_iommu_info::device_info::DeviceInfo,
    regions: &[(u32, Result<RegionInfo, Error>)],
) -> Value {
    json!({
        "device": address.to_string(),
        "via": via,
        "info": device_info_to_json(info),
        "dma_window": info.dma_window().as_ref().map(range),
        "regions": regions.iter().map(|(i, r)| match r {
            Ok(r) => region_info_to_json(r),
            Err(e) => json!({ "index": i, "error": e.to_string(), "errno": e.errno().map(|e| e.0) }),
        }).collect::<Vec<Value>>(),
    })
}

/// `device TARGET`, live or from a snapshot.
pub fn device(
    target: &Target,
    backend: BackendArg,
    json: bool,
    snapshot: Option<&Path>,
) -> Result<(), Failure> {
    let fail = Failure::lib;
    let address: PciAddress = match target {
        Target::Device(a) => *a,
        other => {
            return Err(Failure::new(
                format!("`device` needs a PCI address, not {other}: `vfio-iommu-info list` shows each group's devices"),
                crate::EXIT_USAGE,
            ))
        }
    };
    let snapshot = snapshot.map(crate::snapshot::load).transpose()?;
    let paths = snapshot
        .as_ref()
        .map_or_else(HostPaths::default, |s| s.paths());
    // The device fd comes from its group (which needs a container with an IOMMU model),
    // or from its iommufd cdev (bound and attached).
    let use_iommufd = match backend {
        BackendArg::Iommufd => true,
        BackendArg::Type1 | BackendArg::SpaprTce => false,
        BackendArg::Auto => {
            !paths.exists(&paths.vfio_dir.join("vfio")).map_err(fail)?
                && paths.exists(&paths.iommufd).map_err(fail)?
        }
    };
    if let Some(snapshot) = &snapshot {
        if use_iommufd {
            let d = snapshot.iommufd(&address).map_err(fail)?;
            let via = format!("{} (iommufd)", d.opened.cdev.display());
            let d = d.device.map_err(fail)?;
            return answer(&address, &via, &d.info, &d.regions, json);
        }
        let d = snapshot.device(&address).map_err(fail)?;
        let via = format!(
            "{} (group)",
            paths.vfio_dir.join(d.group.to_string()).display()
        );
        return answer(&address, &via, &d.info, &d.regions, json);
    }
    let (via, holder): (String, Holder) = if use_iommufd {
        let d = IommufdDevice::open(&address, &paths).map_err(fail)?;
        (
            format!("{} (iommufd)", d.cdev_path().display()),
            Holder::Iommufd(d),
        )
    } else {
        let targets = [Target::Device(address)];
        let c = match backend {
            BackendArg::SpaprTce => Container::open_targets_spapr_tce(&targets, &paths),
            // POWER: a container that offers only sPAPR TCE opens the group as well.
            BackendArg::Auto => match Container::open_targets(&targets, &paths) {
                Err(vfio_iommu_info::Error::SpaprTceContainer { .. }) => {
                    Container::open_targets_spapr_tce(&targets, &paths)
                }
                other => other,
            },
            _ => Container::open_targets(&targets, &paths),
        }
        .map_err(fail)?;
        let group = c
            .groups()
            .first()
            .ok_or_else(|| Failure::new("the container holds no group".to_owned(), EXIT_FAILURE))?;
        let dev = group.open_device(&address.to_string()).map_err(fail)?;
        (
            format!("{} (group)", group.path().display()),
            Holder::Group(c, dev),
        )
    };
    let dev = holder.device();
    let info = dev.info().map_err(fail)?;
    let regions = regions(dev, info.num_regions);
    answer(&address, &via, &info, &regions, json)
}

/// `device`'s answer: the device, how it was opened, its info and each region.
fn answer(
    address: &PciAddress,
    via: &str,
    info: &vfio_iommu_info::device_info::DeviceInfo,
    regions: &[(u32, Result<RegionInfo, Error>)],
    json: bool,
) -> Result<(), Failure> {
    if json {
        return print_json(&document(address, via, info, regions));
    }
    let mut out = format!("{:<13}{address} via {via}\n", "device");
    out.push_str(&render_device_info(info));
    let _ = writeln!(out, "{:<13}{}", "regions", regions.len());
    let rows: Vec<Vec<String>> = regions
        .iter()
        .map(|(i, r)| match r {
            Ok(r) => region_row(r),
            Err(e) => vec![
                i.to_string(),
                region_name(*i),
                format!(
                    "not available: {}",
                    e.errno().map_or_else(|| e.to_string(), |n| n.to_string())
                ),
            ],
        })
        .collect();
    out.push_str(&columns(&rows, "  "));
    print_text(&out)
}

/// What keeps the device fd usable: its container (with the group: held, never read) or
/// its iommufd.
enum Holder {
    Group(#[allow(dead_code)] Container, Device),
    Iommufd(IommufdDevice),
}

impl Holder {
    fn device(&self) -> &Device {
        match self {
            Holder::Group(_, d) => d,
            Holder::Iommufd(d) => d.device(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use vfio_iommu_info::ByteOrder;

    /// The s390x zPCI device the lab captured (its info and its eight regions, one read
    /// failing): the document is what schemas/device.schema.json says.
    #[test]
    fn the_zpci_device_is_what_schemas_device_says() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = root.join("tests/fixtures/linux-6.12-s390x-zpci");
        let info = vfio_iommu_info::device_info::decode_device_info(
            &std::fs::read(dir.join("device-exact.bin")).unwrap(),
            ByteOrder::Big,
        )
        .unwrap();
        let mut regions: Vec<(u32, Result<RegionInfo, Error>)> = (0..8)
            .map(|i| {
                let bytes = std::fs::read(dir.join(format!("region-{i}.bin"))).unwrap();
                let r = vfio_iommu_info::region_info::decode_region_info(&bytes, ByteOrder::Big)
                    .map_err(Error::from);
                (i, r)
            })
            .collect();
        regions.push((
            8,
            Err(Error::Ioctl {
                ioctl: "VFIO_DEVICE_GET_REGION_INFO",
                target: "fd 5".to_owned(),
                errno: vfio_iommu_info::Errno(libc::EINVAL),
                hint: None,
            }),
        ));
        let address: PciAddress = "0001:00:00.0".parse().unwrap();
        let doc = vfio_iommu_info::json::document(document(
            &address,
            "/dev/vfio/0 (group)",
            &info,
            &regions,
        ));
        assert!(doc["dma_window"]["end_hex"].is_string(), "{doc:#}");
        crate::testing::assert_schema("device", doc);
    }
}
