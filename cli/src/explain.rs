//! `vfio-iommu-info explain TARGET`: every step between the user and a working container
//! for a device, each with what was found and, when it fails, the fix.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{json, Value};
use vfio_iommu_info::{
    check_span, Container, Error, HostPaths, IommuInfo, PciAddress, Reported, SpanProblem, Target,
};

use crate::render::{columns, hex};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but deserves attention.
    Warn,
    /// Stands between the user and a working container.
    Fail,
    /// Not checked because an earlier step failed.
    Skip,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check: its name, outcome, what was found, and the fix.
pub struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    fix: Option<String>,
}

/// All checks for a target.
pub struct Report {
    target: String,
    checks: Vec<Check>,
}

impl Report {
    fn add(
        &mut self,
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
            fix,
        });
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// A span the user wants to map.
pub struct Span {
    /// First address.
    pub iova: u64,
    /// Bytes.
    pub size: u64,
}

fn bind_fix(device: &str) -> String {
    format!(
        "echo vfio-pci > /sys/bus/pci/devices/{device}/driver_override; echo {device} > /sys/bus/pci/devices/{device}/driver/unbind 2>/dev/null; echo {device} > /sys/bus/pci/drivers_probe"
    )
}

fn accessible(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

fn read_param(name: &str, paths: &HostPaths) -> Option<String> {
    let p = paths
        .sysfs
        .root()
        .join("module/vfio_iommu_type1/parameters")
        .join(name);
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// Runs every check for `target`.
pub fn explain(target: &Target, span: Option<&Span>, paths: &HostPaths) -> Report {
    let mut r = Report {
        target: target.to_string(),
        checks: Vec::new(),
    };
    let sysfs = &paths.sysfs;

    // The IOMMU and the modules.
    let groups = sysfs.groups().unwrap_or_default();
    if groups.is_empty() {
        r.add("iommu", Status::Fail, "no IOMMU groups in /sys/kernel/iommu_groups", Some("enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)".into()));
    } else {
        r.add(
            "iommu",
            Status::Ok,
            format!("{} IOMMU groups", groups.len()),
            None,
        );
    }
    let root = sysfs.root();
    let modules = [
        (
            "vfio",
            paths.vfio_dir.join("vfio").exists() || root.join("module/vfio").exists(),
        ),
        ("vfio-pci", root.join("bus/pci/drivers/vfio-pci").exists()),
        (
            "vfio_iommu_type1",
            root.join("module/vfio_iommu_type1").exists(),
        ),
    ];
    let missing: Vec<&str> = modules
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(m, _)| *m)
        .collect();
    if missing.is_empty() {
        r.add(
            "modules",
            Status::Ok,
            "vfio, vfio-pci and vfio_iommu_type1 are loaded",
            None,
        );
    } else {
        r.add(
            "modules",
            Status::Fail,
            format!("not loaded: {}", missing.join(", ")),
            Some("modprobe vfio-pci vfio_iommu_type1".into()),
        );
    }

    // The device and its group.
    let group = match target {
        Target::Device(addr) => device_checks(&mut r, addr, paths),
        Target::Group(n) => Some(*n),
        Target::GroupPath(p) => p.file_name().and_then(|n| n.to_str()?.parse().ok()),
    };
    let Some(group) = group else {
        r.add("container", Status::Skip, "no IOMMU group to open", None);
        return r;
    };
    match sysfs.group_devices(group) {
        Ok(devices) => {
            let blockers: Vec<_> = devices.iter().filter(|d| !d.allows_vfio()).collect();
            let list: Vec<String> = devices
                .iter()
                .map(|d| {
                    format!(
                        "{} ({})",
                        d.name,
                        d.driver.as_deref().unwrap_or("no driver")
                    )
                })
                .collect();
            if blockers.is_empty() {
                r.add(
                    "group",
                    Status::Ok,
                    format!("IOMMU group {group} is viable: {}", list.join(", ")),
                    None,
                );
            } else {
                let who: Vec<String> = blockers
                    .iter()
                    .map(|d| {
                        format!(
                            "{} is still bound to {}",
                            d.name,
                            d.driver.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                let fix: Vec<String> = blockers.iter().map(|d| bind_fix(&d.name)).collect();
                r.add(
                    "group",
                    Status::Fail,
                    format!("IOMMU group {group} is not viable: {}", who.join(", ")),
                    Some(fix.join("\n")),
                );
            }
        }
        Err(e) => r.add("group", Status::Fail, e.to_string(), None),
    }

    // Permissions on the device nodes.
    let node = paths.vfio_dir.join(group.to_string());
    let container_node = paths.vfio_dir.join("vfio");
    if !node.exists() {
        r.add(
            "permissions",
            Status::Fail,
            format!(
                "{} does not exist: no device of group {group} is bound to vfio-pci",
                node.display()
            ),
            Some("bind the group's devices to vfio-pci (see above)".into()),
        );
    } else if !accessible(&node) || !accessible(&container_node) {
        r.add(
            "permissions",
            Status::Fail,
            format!(
                "no read/write access to {} or {}",
                container_node.display(),
                node.display()
            ),
            Some(format!(
                "run as root, or give this user access: chown $USER {}",
                node.display()
            )),
        );
    } else {
        r.add(
            "permissions",
            Status::Ok,
            format!(
                "{} and {} are accessible",
                container_node.display(),
                node.display()
            ),
            None,
        );
    }

    // The dance itself: interrupt remapping shows up here as EPERM from VFIO_SET_IOMMU.
    let unsafe_irqs = read_param("allow_unsafe_interrupts", paths);
    let info = match Container::open_targets(&[Target::Group(group)], paths).and_then(|c| c.query())
    {
        Ok(info) => {
            r.add(
                "container",
                Status::Ok,
                "VFIO_SET_IOMMU and VFIO_IOMMU_GET_INFO succeeded",
                None,
            );
            let detail = match unsafe_irqs.as_deref() {
                Some("Y") | Some("1") => "allowed by vfio_iommu_type1 allow_unsafe_interrupts=Y (the platform may lack interrupt remapping: devices can forge MSIs)".to_owned(),
                _ => "the platform remaps interrupts (allow_unsafe_interrupts is off)".to_owned(),
            };
            r.add("interrupt-remapping", Status::Ok, detail, None);
            Some(info)
        }
        Err(e) => {
            let eperm = matches!(&e, Error::Ioctl { ioctl: "VFIO_SET_IOMMU", errno, .. } if errno.0 == libc::EPERM);
            if eperm {
                r.add("container", Status::Fail, e.to_string(), None);
                r.add(
                    "interrupt-remapping",
                    Status::Fail,
                    format!("the platform has no interrupt remapping and allow_unsafe_interrupts is {}", unsafe_irqs.as_deref().unwrap_or("unset")),
                    Some("load vfio_iommu_type1 with allow_unsafe_interrupts=1 (echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts), or use a platform with interrupt remapping".into()),
                );
            } else {
                r.add("container", Status::Fail, e.to_string(), None);
                r.add(
                    "interrupt-remapping",
                    Status::Skip,
                    "VFIO_SET_IOMMU was not reached",
                    None,
                );
            }
            None
        }
    };
    let Some(info) = info else {
        r.add("dma-avail", Status::Skip, "no container to ask", None);
        if span.is_some() {
            r.add("iova", Status::Skip, "no container to ask", None);
        }
        return r;
    };
    dma_avail_check(&mut r, &info, paths);
    if let Some(span) = span {
        iova_check(&mut r, &info, span, group, paths);
    }
    r
}

fn device_checks(r: &mut Report, addr: &PciAddress, paths: &HostPaths) -> Option<u32> {
    let group = match paths.sysfs.group_of_device(addr) {
        Ok(g) => g,
        Err(e) => {
            r.add("device", Status::Fail, e.to_string(), None);
            return None;
        }
    };
    let driver = std::fs::read_link(paths.sysfs.pci_device_dir(addr).join("driver"))
        .ok()
        .and_then(|t| Some(t.file_name()?.to_string_lossy().into_owned()));
    match driver.as_deref() {
        Some(d) if d.contains("vfio") => r.add(
            "device",
            Status::Ok,
            format!("{addr} is in IOMMU group {group}, bound to {d}"),
            None,
        ),
        other => r.add(
            "device",
            Status::Fail,
            format!(
                "{addr} is in IOMMU group {group} but bound to {}, not vfio-pci",
                other.unwrap_or("no driver")
            ),
            Some(bind_fix(&addr.to_string())),
        ),
    }
    Some(group)
}

fn dma_avail_check(r: &mut Report, info: &IommuInfo, paths: &HostPaths) {
    let limit = read_param("dma_entry_limit", paths);
    let of = limit
        .as_deref()
        .map(|l| format!(" (dma_entry_limit {l})"))
        .unwrap_or_default();
    match &info.dma_avail {
        Reported::Present(0) => r.add("dma-avail", Status::Fail, format!("no more mappings accepted{of}"), Some("raise vfio_iommu_type1's dma_entry_limit, or map fewer, larger (huge page) regions".into())),
        Reported::Present(n) if *n < 1024 => r.add("dma-avail", Status::Warn, format!("only {n} more mappings{of}"), Some("raise vfio_iommu_type1's dma_entry_limit, or map fewer, larger (huge page) regions".into())),
        Reported::Present(n) => r.add("dma-avail", Status::Ok, format!("{n} more mappings{of}"), None),
        Reported::Absent(why) => r.add("dma-avail", Status::Ok, why.explain(vfio_iommu_info::Type1Cap::DmaAvail), None),
    }
}

fn iova_check(r: &mut Report, info: &IommuInfo, span: &Span, group: u32, paths: &HostPaths) {
    let ranges = info.iova_ranges.present().cloned().unwrap_or_default();
    let what = format!("IOVA {}+{:#x}", hex(span.iova), span.size);
    let usable: Vec<String> = ranges
        .iter()
        .map(|x| format!("[{}, {}]", hex(x.start), hex(x.end)))
        .collect();
    match check_span(&ranges, info.iova_pgsizes, span.iova, span.size) {
        Ok(()) => r.add(
            "iova",
            Status::Ok,
            format!("{what} lies inside the usable IOVA ranges"),
            None,
        ),
        Err(problem) => {
            let from = match problem {
                SpanProblem::InHole { hole } => {
                    let regions = paths.sysfs.reserved_regions(group).unwrap_or_default();
                    let names: Vec<String> = regions
                        .iter()
                        .filter(|x| x.overlaps(hole))
                        .map(|x| {
                            format!(
                                " (reserved region {} - {} {})",
                                hex(x.range.start),
                                hex(x.range.end),
                                x.kind.name()
                            )
                        })
                        .collect();
                    names.concat()
                }
                _ => String::new(),
            };
            r.add(
                "iova",
                Status::Fail,
                format!("{what} is {problem}{from}"),
                Some(format!(
                    "map inside the usable ranges: {}",
                    usable.join(", ")
                )),
            );
        }
    }
}

/// The human report.
pub fn render(r: &Report) -> String {
    let mut out = format!("explain {}\n", r.target);
    let rows: Vec<Vec<String>> = r
        .checks
        .iter()
        .map(|c| vec![c.status.name().into(), c.name.into(), c.detail.clone()])
        .collect();
    let lines = columns(&rows, "  ");
    for (line, c) in lines.lines().zip(&r.checks) {
        out.push_str(line);
        out.push('\n');
        if let Some(fix) = &c.fix {
            for f in fix.lines() {
                out.push_str(&format!("        fix: {f}\n"));
            }
        }
    }
    let failed = r.checks.iter().filter(|c| c.status == Status::Fail).count();
    out.push_str(&if failed == 0 {
        "all checks passed\n".to_owned()
    } else {
        format!("{failed} check(s) failed\n")
    });
    out
}

/// The JSON report.
pub fn to_json(r: &Report) -> Value {
    json!({
        "target": r.target,
        "ok": !r.failed(),
        "checks": r.checks.iter().map(|c| json!({
            "check": c.name,
            "status": c.status.name().to_lowercase(),
            "detail": c.detail,
            "fix": c.fix,
        })).collect::<Vec<_>>(),
    })
}
