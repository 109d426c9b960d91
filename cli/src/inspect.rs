//! `inspect PID`: what a running process holds of VFIO and iommufd, and how close it is to
//! its limits. The core (`vfio_iommu_info::query::inspect`) borrows and asks; this file
//! prints its answer as text or JSON.

use std::fmt::Write as _;
use std::process::ExitCode;

use vfio_iommu_info::iova::format_size_human;
use vfio_iommu_info::json::inspection_to_json;
use vfio_iommu_info::query::inspect::{inspect as inspect_process, Inspection};
use vfio_iommu_info::HostPaths;

use crate::render::range_rows;
use crate::{print_json, print_text, Failure, EXIT_FAILURE};

/// `inspect PID [--json]`: exit 1 when the process holds no VFIO or iommufd fd.
pub fn inspect(pid: i32, json: bool) -> Result<ExitCode, Failure> {
    let found = inspect_process(pid, &HostPaths::default()).map_err(Failure::lib)?;
    if found.is_empty() {
        return Err(Failure::new(
            format!(
                "{} holds no VFIO container, group or device fd and no iommufd fd: nothing to inspect",
                who(&found)
            ),
            EXIT_FAILURE,
        ));
    }
    if json {
        print_json(&inspection_to_json(&found))?;
    } else {
        print_text(&render(&found))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn who(found: &Inspection) -> String {
    match &found.comm {
        Some(c) => format!("process {} ({c})", found.pid),
        None => format!("process {}", found.pid),
    }
}

fn bytes(n: Option<u64>, none: &str) -> String {
    n.map_or_else(|| none.to_owned(), |b| format_size_human(u128::from(b)))
}

/// The text report.
fn render(found: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", who(found));
    for c in &found.containers {
        let backend = vfio_iommu_info::facts::Backend::from(c.backend).name();
        let groups = match (c.groups_known, c.groups.as_slice()) {
            (false, _) => "groups: not known (the process holds several containers)".to_owned(),
            (true, []) => "no group".to_owned(),
            (true, g) => format!(
                "group{} {}",
                if g.len() > 1 { "s" } else { "" },
                g.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            ),
        };
        let _ = writeln!(out, "  container  fd {}  {backend}  {groups}", c.fd);
        match &c.info {
            Ok(info) => {
                let avail = match (info.dma_avail.present(), found.dma_entry_limit) {
                    (Some(a), Some(limit)) => match c.mappings_in_use(limit) {
                        Some(used) => format!(
                            "DMA_AVAIL {a}: {used} mappings in use of dma_entry_limit {limit}"
                        ),
                        None => format!("DMA_AVAIL {a}"),
                    },
                    (Some(a), None) => format!("DMA_AVAIL {a}"),
                    (None, _) => "DMA_AVAIL not reported".to_owned(),
                };
                let _ = writeln!(out, "    {avail}");
                if let Some(r) = info.iova_ranges.present() {
                    let _ = writeln!(out, "    usable ranges {}", r.len());
                    out.push_str(&range_rows(r, "    "));
                }
            }
            Err(e) => {
                let _ = writeln!(out, "    no answer: {e}");
            }
        }
    }
    for g in &found.groups {
        let number = g
            .number
            .map_or_else(|| "no group number".to_owned(), |n| format!("group {n}"));
        let _ = writeln!(
            out,
            "  group      fd {}  {}  {number}  {}, {}",
            g.fd,
            g.path.display(),
            if g.viable { "viable" } else { "not viable" },
            if g.in_container {
                "in a container"
            } else {
                "in no container"
            }
        );
    }
    if !found.devices.is_empty() {
        let fds: Vec<String> = found.devices.iter().map(i32::to_string).collect();
        let _ = writeln!(out, "  devices    fd {}", fds.join(" "));
    }
    for d in &found.iommufds {
        let charges = match d.charges_process {
            Ok(true) => "charges the process",
            Ok(false) => "charges the user",
            Err(_) => "charging not reported",
        };
        let _ = writeln!(
            out,
            "  iommufd    fd {}  {charges}  {} IOAS",
            d.fd,
            d.ioas.len()
        );
        for a in &d.ioas {
            let _ = writeln!(
                out,
                "    IOAS {}  usable ranges {}  alignment {}",
                a.id,
                a.ranges.ranges.len(),
                format_size_human(u128::from(a.ranges.alignment))
            );
            out.push_str(&range_rows(&a.ranges.ranges, "    "));
        }
    }
    let limit = format!(
        "RLIMIT_MEMLOCK {}, hard {}",
        bytes(found.memlock.soft, "unlimited"),
        bytes(found.memlock.hard, "unlimited")
    );
    let limit = match found.cap_ipc_lock {
        Some(true) => format!("not limited: CAP_IPC_LOCK ({limit})"),
        _ => limit,
    };
    let _ = writeln!(
        out,
        "  locked     VmLck {}  VmPin {}  {limit}",
        bytes(found.locked.locked, "unknown"),
        bytes(found.locked.pinned, "unknown"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use vfio_iommu_info::facts::ContainerBackend;
    use vfio_iommu_info::iommufd::IoasRanges;
    use vfio_iommu_info::query::inspect::{
        InspectedContainer, InspectedGroup, InspectedIoas, InspectedIommufd,
    };
    use vfio_iommu_info::sys::limits::{LockedMemory, MemlockRlimit};
    use vfio_iommu_info::IovaRange;

    /// A VMM holding a type1 container (the AMD capture's answer), one whose query
    /// failed, its groups, a device and an iommufd: the document is what
    /// schemas/inspect.schema.json says.
    #[test]
    fn an_inspection_is_what_schemas_inspect_says() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let info = vfio_iommu_info::decode(
            &std::fs::read(root.join("tests/fixtures/linux-6.12-amd/group-2/info-exact.bin"))
                .unwrap(),
        )
        .unwrap();
        let failed = vfio_iommu_info::Error::BadArgument {
            what: "a test".to_owned(),
        };
        let found = Inspection {
            pid: 4242,
            comm: Some("qemu-system-x86".to_owned()),
            containers: vec![
                InspectedContainer {
                    fd: 12,
                    backend: ContainerBackend::Vfio,
                    info: Ok(info),
                    groups: vec![2],
                    groups_known: true,
                },
                InspectedContainer {
                    fd: 13,
                    backend: ContainerBackend::IommufdCompat { ioas: Some(1) },
                    info: Err(failed),
                    groups: vec![],
                    groups_known: false,
                },
            ],
            groups: vec![InspectedGroup {
                fd: 14,
                path: PathBuf::from("/dev/vfio/2"),
                number: Some(2),
                viable: true,
                in_container: true,
            }],
            devices: vec![15],
            iommufds: vec![InspectedIommufd {
                fd: 16,
                ioas: vec![InspectedIoas {
                    id: 2,
                    ranges: IoasRanges {
                        ranges: vec![IovaRange::new(0, u64::MAX).unwrap()],
                        alignment: 4096,
                        calls: 1,
                    },
                }],
                charges_process: Ok(false),
            }],
            locked: LockedMemory {
                locked: Some(8 << 30),
                pinned: None,
            },
            memlock: MemlockRlimit {
                soft: Some(64 << 20),
                hard: None,
            },
            cap_ipc_lock: Some(false),
            dma_entry_limit: Some(65535),
        };
        let doc = vfio_iommu_info::json::document(inspection_to_json(&found));
        assert_eq!(
            doc["iommufds"][0]["ioas"][0]["ranges"][0]["end_hex"],
            "0xffffffffffffffff"
        );
        crate::testing::assert_schema("inspect", doc);
    }
}
