//! `query --backend`: which kernel interface answers (type1 through `/dev/vfio/vfio`, or
//! iommufd through `/dev/iommu` and the device's VFIO cdev), and the iommufd answer.

use std::path::Path;

use clap::ValueEnum;
use serde_json::{json, Value};
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::json::iommufd_report_to_json;
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::{HostPaths, PciAddress, Target};

use crate::render;
use crate::{print_json, print_text, Failure, EXIT_FAILURE, EXIT_USAGE};

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// type1 when `/dev/vfio/vfio` exists (the container every VMM supports), else
    /// iommufd for a PCI address when `/dev/iommu` exists.
    Auto,
    /// The VFIO container (`vfio_iommu_type1`, or iommufd's compat container behind the
    /// same node: the output says which).
    Type1,
    /// iommufd: bind the device's cdev, allocate an IOAS, attach, ask (one PCI address).
    Iommufd,
}

/// The backend chosen, and why (printed with the answer).
pub enum Chosen {
    /// The VFIO container path.
    Type1(String),
    /// The iommufd path for one device.
    Iommufd(PciAddress, String),
}

/// Picks the backend for `targets`.
pub fn choose(arg: BackendArg, targets: &[Target], paths: &HostPaths) -> Result<Chosen, Failure> {
    let single_device = match targets {
        [Target::Device(a)] => Some(*a),
        _ => None,
    };
    let container = paths.vfio_dir.join("vfio");
    match arg {
        BackendArg::Type1 => Ok(Chosen::Type1("--backend type1".to_owned())),
        BackendArg::Iommufd => match single_device {
            Some(a) => Ok(Chosen::Iommufd(a, "--backend iommufd".to_owned())),
            None => Err(Failure(
                "--backend iommufd needs exactly one PCI address: iommufd binds devices, not groups (`vfio-iommu-info list` shows each group's devices)".to_owned(),
                EXIT_USAGE,
            )),
        },
        BackendArg::Auto if container.exists() => Ok(Chosen::Type1(format!(
            "auto: {} exists; --backend iommufd asks {}",
            container.display(),
            paths.iommufd.display()
        ))),
        BackendArg::Auto => match single_device {
            Some(a) if paths.iommufd.exists() => Ok(Chosen::Iommufd(
                a,
                format!(
                    "auto: no {}, {} exists",
                    container.display(),
                    paths.iommufd.display()
                ),
            )),
            _ => Ok(Chosen::Type1(format!(
                "auto: neither {} nor (for one PCI address) {} answers; trying the container",
                container.display(),
                paths.iommufd.display()
            ))),
        },
    }
}

fn failed(e: vfio_iommu_info::Error) -> Failure {
    Failure(e.to_string(), EXIT_FAILURE)
}

/// `query --backend iommufd ADDRESS`.
pub fn query_iommufd(
    address: &PciAddress,
    reason: &str,
    paths: &HostPaths,
    json: bool,
) -> Result<(), Failure> {
    let (_device, r) = IommufdReport::open(address, paths).map_err(failed)?;
    if json {
        let mut v = json!({ "backend": "iommufd", "backend_reason": reason });
        if let (Some(out), Value::Object(report)) = (v.as_object_mut(), iommufd_report_to_json(&r))
        {
            out.extend(report);
        }
        return print_json(&v);
    }
    let group = r.group;
    let mut out = format!(
        "target       device {address}{}\n",
        group
            .map(|g| format!(" (IOMMU group {g})"))
            .unwrap_or_default()
    );
    out.push_str(&format!(
        "backend      iommufd ({reason}): {}, dev id {}, IOAS {}, HWPT {}\n",
        r.cdev.display(),
        r.dev_id,
        r.ioas,
        r.hwpt
    ));
    out.push_str(&render::ranges_block(&r.ranges.ranges, &r.reserved_regions));
    out.push_str(&format!(
        "{:<13}{:#x}: every mapping's IOVA and length must be a multiple of it\n",
        "alignment", r.ranges.alignment
    ));
    out.push_str(&match &r.hw_info {
        Ok(h) => format!("{:<13}{}\n", "hw info", render::hw_info(h)),
        Err(e) => format!("{:<13}not available: {e}\n", "hw info"),
    });
    out.push_str(&render::provenance(&r.facts));
    print_text(&out)
}

/// The backend line of the type1 path.
pub fn type1_line(facts: &DmaFacts, reason: &str, container: &Path) -> String {
    format!(
        "backend      {} ({reason}): {}\n",
        facts.backend.name(),
        container.display()
    )
}
