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
use crate::{print_json, print_text, Failure, Out, EXIT_FAILURE, EXIT_USAGE};

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
    /// IBM POWER's VFIO container (`vfio_iommu_spapr_tce`): the default window and the
    /// dynamic windows' limits (auto picks it when the container offers only sPAPR).
    SpaprTce,
}

/// The backend chosen, and why (printed with the answer).
pub enum Chosen {
    /// The VFIO container path.
    Type1(String),
    /// The iommufd path for one device.
    Iommufd(PciAddress, String),
    /// The sPAPR TCE container path.
    SpaprTce(String),
}

/// Picks the backend for `targets`.
pub fn choose(arg: BackendArg, targets: &[Target], paths: &HostPaths) -> Result<Chosen, Failure> {
    let single_device = match targets {
        [Target::Device(a)] => Some(*a),
        _ => None,
    };
    let container = paths.vfio_dir.join("vfio");
    let exists = |p: &Path| paths.exists(p).map_err(Failure::lib);
    match arg {
        BackendArg::Type1 => Ok(Chosen::Type1("--backend type1".to_owned())),
        BackendArg::SpaprTce => Ok(Chosen::SpaprTce("--backend spapr-tce".to_owned())),
        BackendArg::Iommufd => match single_device {
            Some(a) => Ok(Chosen::Iommufd(a, "--backend iommufd".to_owned())),
            None => Err(Failure::new(
                "--backend iommufd needs exactly one PCI address: iommufd binds devices, not groups (`vfio-iommu-info list` shows each group's devices)".to_owned(),
                EXIT_USAGE,
            )),
        },
        BackendArg::Auto if exists(&container)? => Ok(Chosen::Type1(format!(
            "auto: {} exists; --backend iommufd asks {}",
            container.display(),
            paths.iommufd.display()
        ))),
        BackendArg::Auto => match single_device {
            Some(a) if exists(&paths.iommufd)? => Ok(Chosen::Iommufd(
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
    Failure::lib(e)
}

/// `query --json` of a type1 container (or iommufd's compat one): the `decode --json`
/// object, the backend and why, the facts, the groups, and their reserved regions.
pub fn type1_document(
    info: &vfio_iommu_info::IommuInfo,
    facts: &vfio_iommu_info::facts::DmaFacts,
    reason: &str,
    groups: &[u32],
    regions: &[(u32, vfio_iommu_info::ReservedRegion)],
) -> Value {
    let mut v = vfio_iommu_info::json::info_to_json(info);
    v["backend"] = json!(facts.backend.name());
    v["backend_reason"] = json!(reason);
    v["facts"] = vfio_iommu_info::json::facts_to_json(facts);
    v["groups"] = json!(groups);
    v["reserved_regions"] = Value::Array(
        regions
            .iter()
            .map(|(g, r)| {
                let mut o = vfio_iommu_info::json::range(&r.range);
                o["group"] = json!(g);
                o["type"] = json!(r.kind.name());
                o
            })
            .collect(),
    );
    v
}

/// `query --backend iommufd --json`: the backend and why, then the report.
pub fn iommufd_document(reason: &str, r: &IommufdReport) -> Value {
    let mut v = json!({ "backend": "iommufd", "backend_reason": reason });
    if let (Some(out), Value::Object(report)) = (v.as_object_mut(), iommufd_report_to_json(r)) {
        out.extend(report);
    }
    v
}

/// `query --json` of an sPAPR TCE container, before any `created_window`.
pub fn spapr_tce_document(
    info: &vfio_iommu_info::SpaprTceInfo,
    facts: &vfio_iommu_info::facts::DmaFacts,
    reason: &str,
    groups: &[u32],
) -> Value {
    let mut v = vfio_iommu_info::json::spapr_tce_to_json(info);
    v["backend"] = json!(facts.backend.name());
    v["backend_reason"] = json!(reason);
    v["facts"] = vfio_iommu_info::json::facts_to_json(facts);
    v["groups"] = json!(groups);
    v
}

/// `query --backend iommufd ADDRESS`.
pub fn query_iommufd(
    address: &PciAddress,
    reason: &str,
    paths: &HostPaths,
    out: Out,
) -> Result<(), Failure> {
    let (_device, r) = IommufdReport::open(address, paths).map_err(failed)?;
    answer_iommufd(address, reason, &r, out)
}

/// `query --backend iommufd ADDRESS`'s answer from the report (live, or a snapshot's).
pub fn answer_iommufd(
    address: &PciAddress,
    reason: &str,
    r: &IommufdReport,
    out: Out,
) -> Result<(), Failure> {
    if out == Out::Prometheus {
        return print_text(&crate::export::query_prometheus(
            &address.to_string(),
            &r.facts,
        ));
    }
    if out == Out::Json {
        return print_json(&iommufd_document(reason, r));
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

/// `query` of an sPAPR TCE container (IBM POWER): `VFIO_IOMMU_SPAPR_TCE_GET_INFO`, and
/// with `save_raw` its 32-byte buffer. Creates no window.
pub fn query_spapr_tce(
    targets: &[Target],
    reason: &str,
    paths: &HostPaths,
    out: Out,
    save_raw: Option<(&Path, bool)>,
    create_window: Option<vfio_iommu_info::WindowRequest>,
) -> Result<(), Failure> {
    let container =
        vfio_iommu_info::Container::open_targets_spapr_tce(targets, paths).map_err(failed)?;
    let info = container.query_spapr_tce().map_err(failed)?;
    // Only on request: create a window, say where it went, remove it again.
    let created = match create_window {
        Some(req) => {
            let w = container.create_spapr_tce_window(req).map_err(failed)?;
            let removed = container.remove_spapr_tce_window(w.start);
            Some((req, w, removed))
        }
        None => None,
    };
    if let Some((path, force)) = save_raw {
        let raw = vfio_iommu_info::query::spapr_tce::capture_spapr_tce_with(
            &vfio_iommu_info::sys::kernel::SystemKernel,
            std::os::fd::AsFd::as_fd(&container),
            32,
        )
        .map_err(failed)?;
        crate::output::write_new(path, &raw, force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
    }
    let facts = container.spapr_tce_facts(&info, paths);
    let groups: Vec<u32> = container
        .groups()
        .iter()
        .filter_map(|g| g.number())
        .collect();
    answer_spapr_tce(
        targets,
        (&info, &facts, &groups),
        reason,
        paths,
        out,
        created,
    )
}

/// What a window created on request became: the request, the window, its removal.
type Created = (
    vfio_iommu_info::WindowRequest,
    vfio_iommu_info::CreatedWindow,
    Result<(), vfio_iommu_info::Error>,
);

/// `query`'s answer for an sPAPR TCE container (live, or from a snapshot): its info, facts
/// and groups, why this backend, and the window created on request.
pub fn answer_spapr_tce(
    targets: &[Target],
    (info, facts, groups): (&vfio_iommu_info::SpaprTceInfo, &DmaFacts, &[u32]),
    reason: &str,
    paths: &HostPaths,
    out: Out,
    created: Option<Created>,
) -> Result<(), Failure> {
    if out == Out::Prometheus {
        print_text(&crate::export::query_prometheus(
            &crate::container_label(targets),
            facts,
        ))?;
        return created_status(&created);
    }
    if out == Out::Json {
        let mut v = spapr_tce_document(info, facts, reason, groups);
        if let Some((req, w, removed)) = &created {
            v["created_window"] = json!({
                "start": w.start,
                "end": w.range().map(|r| r.end),
                "page_size": w.page_size,
                "levels": req.levels,
                "removed": removed.is_ok(),
                "remove_error": removed.as_ref().err().map(|e| e.to_string()),
            });
        }
        print_json(&v)?;
        return created_status(&created);
    }
    let mut out = render::target_line(targets, groups);
    out.push_str(&type1_line(facts, reason, &paths.vfio_dir.join("vfio")));
    out.push_str(&render::spapr_tce(info));
    if let Some((req, w, removed)) = &created {
        out.push_str(&format!(
            "{:<13}{} - {}  ({}, {} TCEs, {} level{}): the platform's start (VFIO_IOMMU_SPAPR_TCE_CREATE)\n",
            "created",
            render::hex(w.start),
            w.range().map_or_else(|| "?".to_owned(), |r| render::hex(r.end)),
            vfio_iommu_info::iova::format_size_human(u128::from(w.size)),
            vfio_iommu_info::iova::format_size(u128::from(w.page_size)),
            req.levels,
            if req.levels == 1 { "" } else { "s" }
        ));
        out.push_str(&match removed {
            Ok(()) => format!(
                "{:<13}the window at {} again (VFIO_IOMMU_SPAPR_TCE_REMOVE)\n",
                "removed",
                render::hex(w.start)
            ),
            Err(e) => format!(
                "{:<13}not removed: {e} (closing the container removes it)\n",
                "removed"
            ),
        });
    }
    out.push_str(&render::provenance(facts));
    print_text(&out)?;
    created_status(&created)
}

/// A window created but not removed is a failure (the container's close removes it).
fn created_status(created: &Option<Created>) -> Result<(), Failure> {
    match created {
        Some((_, _, Err(e))) => Err(Failure::new(
            format!("removing the window created: {e}"),
            EXIT_FAILURE,
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use vfio_iommu_info::facts::{Backend, DmaFacts};
    use vfio_iommu_info::hw_info::HwInfo;
    use vfio_iommu_info::iommufd::IoasRanges;
    use vfio_iommu_info::{IovaRange, RegionKind, ReservedRegion};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
    }

    fn msi(group: u32) -> (u32, ReservedRegion) {
        let range = IovaRange::new(0xfee0_0000, 0xfeef_ffff).unwrap();
        (
            group,
            ReservedRegion {
                range,
                kind: RegionKind::Msi,
            },
        )
    }

    #[test]
    fn type1_documents_of_every_capture_are_what_schemas_query_says() {
        let mut checked = 0;
        for scenario in std::fs::read_dir(fixtures()).unwrap() {
            for group in ["group-2", "group-4"] {
                let path = scenario.as_ref().unwrap().path().join(group);
                let Ok(bytes) = std::fs::read(path.join("info-exact.bin")) else {
                    continue;
                };
                let Ok(info) = vfio_iommu_info::decode(&bytes) else {
                    continue;
                };
                for backend in [Backend::Type1, Backend::IommufdCompat] {
                    let facts = DmaFacts::from_type1(&info, backend);
                    let doc = type1_document(&info, &facts, "auto", &[2], &[msi(2)]);
                    crate::testing::assert_schema("query", doc);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn iommufd_and_spapr_documents_are_what_schemas_query_says() {
        let ranges = IoasRanges {
            ranges: vec![
                IovaRange::new(0, 0xfedf_ffff).unwrap(),
                IovaRange::new(0xfef0_0000, 0xffff_ffff_ffff).unwrap(),
            ],
            alignment: 4096,
            calls: 1,
        };
        // The lab's VT-d registers (Linux 6.12, intel-iommu aw-bits=48).
        let mut data = vec![0u8; 8];
        data.extend(0x00d2_008c_222f_0686u64.to_ne_bytes());
        data.extend(0xf0_0f4au64.to_ne_bytes());
        let vtd = HwInfo {
            data_type: vfio_iommu_info::uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD,
            data_len: 24,
            data,
            capabilities: Some(0),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: vfio_iommu_info::ByteOrder::Native,
        };
        for hw in [
            Ok(vtd.clone()),
            Err(vfio_iommu_info::Error::BadArgument {
                what: "hw_info".to_owned(),
            }),
        ] {
            let facts = DmaFacts::from_iommufd(&ranges, hw.as_ref().ok());
            let r = IommufdReport {
                address: "0000:00:02.0".parse().unwrap(),
                group: Some(2),
                cdev: PathBuf::from("/dev/vfio/devices/vfio0"),
                dev_id: 1,
                ioas: 2,
                hwpt: 3,
                ranges: ranges.clone(),
                hw_info: hw,
                reserved_regions: vec![msi(2)],
                facts,
            };
            crate::testing::assert_schema("query", iommufd_document("--backend iommufd", &r));
        }
        let spapr = std::fs::read(
            fixtures().join("spapr-tce/synthesized-linux-6.12-pseries/info-exact.bin"),
        )
        .unwrap();
        let info = vfio_iommu_info::decode_spapr_tce_with_order(
            &spapr,
            vfio_iommu_info::ByteOrder::Little,
        )
        .unwrap();
        let facts = DmaFacts::from_spapr_tce(&info);
        crate::testing::assert_schema("query", spapr_tce_document(&info, &facts, "auto", &[1]));
    }
}
