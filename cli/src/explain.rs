//! `vfio-iommu-info explain TARGET`: every step between the user and a working container
//! for a device, each with what was found and, when it fails, the fix.

use serde_json::{json, Value};
use vfio_iommu_info::decode::spapr_tce::DDW_EXPECTED_START;
use vfio_iommu_info::facts::{Backend, DmaFacts};
use vfio_iommu_info::sys::limits::{memlock_limit, MemlockLimit};
use vfio_iommu_info::{
    check_span, Arch, Container, Ddw, Error, HostPaths, IommuInfo, PciAddress, Reported, Snapshot,
    SpanProblem, Target,
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

/// Where the answers that are not files come from: the containers `explain` opens and the
/// limits of the process it runs in, on this host or as a snapshot recorded them.
#[derive(Clone, Copy)]
pub enum Answers<'a> {
    /// This host, this process.
    Live,
    /// A snapshot: its containers, and the limits of the process that took it.
    Snapshot(&'a Snapshot),
}

impl Answers<'_> {
    /// A type1 container of `group`, asked as `query` asks it.
    fn type1(self, group: u32, paths: &HostPaths) -> Result<IommuInfo, Error> {
        match self {
            Answers::Live => {
                Container::open_targets(&[Target::Group(group)], paths).and_then(|c| c.query())
            }
            Answers::Snapshot(s) => s.container(&[group]).map(|c| c.info),
        }
    }

    /// The limit on pinned memory of the process that asks.
    fn memlock(self) -> Option<MemlockLimit> {
        match self {
            Answers::Live => memlock_limit(),
            Answers::Snapshot(s) => s.taken_as.memlock_limit,
        }
    }
}

/// Runs every check for `target` on this machine's architecture (or the snapshot's).
pub fn explain(
    target: &Target,
    span: Option<&Span>,
    paths: &HostPaths,
    answers: Answers<'_>,
) -> Report {
    let arch = match answers {
        Answers::Live => Arch::host(),
        Answers::Snapshot(s) => s.arch(),
    };
    explain_on(target, span, paths, &arch, answers)
}

/// Runs every check for `target` as on `arch`: which IOMMU a container has, and so which
/// modules and checks apply, is the architecture's (sPAPR TCE on POWER).
pub fn explain_on(
    target: &Target,
    span: Option<&Span>,
    paths: &HostPaths,
    arch: &Arch,
    answers: Answers<'_>,
) -> Report {
    let mut r = Report {
        target: target.to_string(),
        checks: Vec::new(),
    };
    let sysfs = &paths.sysfs;
    let power = arch.container_backend() == Some(Backend::SpaprTce);

    // The IOMMU and the modules.
    let groups = sysfs.groups().unwrap_or_default();
    if groups.is_empty() {
        let fix = if power {
            "on POWER every PCI device sits behind a TCE table: boot a kernel with CONFIG_SPAPR_TCE_IOMMU (Debian's has it) and check dmesg for the device's PE"
        } else {
            "enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)"
        };
        r.add(
            "iommu",
            Status::Fail,
            "no IOMMU groups in /sys/kernel/iommu_groups",
            Some(fix.into()),
        );
    } else {
        r.add(
            "iommu",
            Status::Ok,
            format!("{} IOMMU groups", groups.len()),
            None,
        );
    }
    match arch.container_backend() {
        Some(Backend::SpaprTce) => r.add(
            "platform",
            Status::Ok,
            format!("{arch} (IBM POWER): a VFIO container has the sPAPR TCE IOMMU, not type1"),
            None,
        ),
        Some(b) => r.add(
            "platform",
            Status::Ok,
            format!("{arch}: a VFIO container has the {} IOMMU (or iommufd's compat container)", b.name()),
            None,
        ),
        None => r.add(
            "platform",
            Status::Warn,
            format!("{arch}: which VFIO IOMMU it has is unknown here; the checks accept type1 or sPAPR TCE"),
            None,
        ),
    }

    let vfio_driver = sysfs.has_vfio_pci_driver();
    let loaded = |m: &str| match m {
        "vfio" => paths.view().exists(&paths.vfio_dir.join("vfio")) || sysfs.has_module("vfio"),
        "vfio-pci" => vfio_driver,
        // iommufd's VFIO compatibility can stand in for vfio_iommu_type1.
        "vfio_iommu_type1" => sysfs.has_module("vfio_iommu_type1") || sysfs.has_module("iommufd"),
        other => sysfs.has_module(other),
    };
    let (wanted, backend_name) = match arch.container_modules() {
        Some([a, b, c]) => (vec![a, b, c], c.to_owned()),
        // An unknown architecture: either backend will do.
        None => {
            let backend = ["vfio_iommu_type1", "vfio_iommu_spapr_tce"]
                .into_iter()
                .find(|m| loaded(m))
                .unwrap_or("vfio_iommu_type1");
            (
                vec!["vfio", "vfio-pci", backend],
                format!("{backend} (or vfio_iommu_spapr_tce on POWER)"),
            )
        }
    };
    let missing: Vec<&str> = wanted.iter().copied().filter(|m| !loaded(m)).collect();
    if missing.is_empty() {
        r.add(
            "modules",
            Status::Ok,
            format!("vfio, vfio-pci and {} are loaded", wanted[2]),
            None,
        );
    } else {
        r.add(
            "modules",
            Status::Fail,
            format!("not loaded: {}", missing.join(", ")),
            Some(format!("modprobe vfio-pci {backend_name}")),
        );
    }

    // The device and its group.
    let group = match target {
        Target::Device(addr) => device_checks(&mut r, addr, paths),
        Target::Group(n) => Some(*n),
        Target::GroupPath(p) => p.file_name().and_then(|n| n.to_str()?.parse().ok()),
    };
    let Some(group) = group else {
        if let Target::GroupPath(p) = target {
            r.add(
                "target",
                Status::Fail,
                format!("cannot tell an IOMMU group from {}", p.display()),
                Some(format!(
                    "name the group by number or as {}/N, or give the device's PCI address",
                    paths.vfio_dir.display()
                )),
            );
        }
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
    let view = paths.view();
    // The first node this process may not open read-write, or cannot tell about.
    let denied = [&container_node, &node]
        .into_iter()
        .map(|p| (p, view.may_open_rdwr(p)))
        .find(|(_, may)| !matches!(may, Ok(true)));
    if !view.exists(&container_node) {
        r.add(
            "permissions",
            Status::Fail,
            format!(
                "{} does not exist: vfio is not loaded",
                container_node.display()
            ),
            Some("modprobe vfio-pci".into()),
        );
    } else if !view.exists(&node) {
        r.add(
            "permissions",
            Status::Fail,
            format!(
                "{} does not exist: no device of group {group} is bound to vfio-pci",
                node.display()
            ),
            Some("bind the group's devices to vfio-pci (see above)".into()),
        );
    } else if let Some((denied, may)) = denied {
        match may {
            Err(e) => r.add("permissions", Status::Fail, e.to_string(), None),
            Ok(_) => r.add(
                "permissions",
                Status::Fail,
                format!("no read/write access to {}", denied.display()),
                Some(format!(
                    "run as root, or give this user access: chown $USER {}",
                    denied.display()
                )),
            ),
        }
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

    if power {
        spapr_checks(&mut r, group, span, paths, answers);
        return r;
    }
    // The dance itself: interrupt remapping shows up here as EPERM from VFIO_SET_IOMMU.
    // What isolates MSIs (and so the advice) depends on the architecture.
    let unsafe_irqs = paths.sysfs.type1_module_param("allow_unsafe_interrupts");
    let info = match answers.type1(group, paths) {
        Ok(info) => {
            r.add(
                "container",
                Status::Ok,
                "VFIO_SET_IOMMU and VFIO_IOMMU_GET_INFO succeeded",
                None,
            );
            match unsafe_irqs.as_deref() {
                Some("Y") | Some("1") => r.add(
                    "interrupt-remapping",
                    Status::Warn,
                    format!("allowed only by allow_unsafe_interrupts=Y: with {} a device can forge MSIs", arch.msi_isolation()),
                    Some(format!("for untrusted devices, {}", arch.msi_isolation_fix())),
                ),
                Some(_) => r.add("interrupt-remapping", Status::Ok, "the platform remaps interrupts (allow_unsafe_interrupts is off)", None),
                None => r.add("interrupt-remapping", Status::Ok, "VFIO accepted the group (allow_unsafe_interrupts unknown)", None),
            }
            Some(info)
        }
        Err(Error::SpaprTceContainer { .. }) => {
            // An architecture not known to be POWER, whose container is sPAPR anyway.
            spapr_checks(&mut r, group, span, paths, answers);
            return r;
        }
        Err(e) => {
            // type1 refuses at VFIO_SET_IOMMU (or when a group joins a container whose model
            // is set); iommufd's VFIO compat container when the device is bound, i.e. opened
            // (VFIO_GROUP_GET_DEVICE_FD, which the library does on that backend).
            let eperm = matches!(&e, Error::Ioctl { ioctl: "VFIO_SET_IOMMU" | "VFIO_GROUP_SET_CONTAINER" | "VFIO_GROUP_GET_DEVICE_FD", errno, .. } if errno.0 == libc::EPERM);
            // The parameter belongs to whoever serves /dev/vfio/vfio: vfio_iommu_type1, or
            // iommufd when its compat container does (no vfio_iommu_type1 then).
            let module = if paths.sysfs.has_module("vfio_iommu_type1") {
                "vfio_iommu_type1"
            } else {
                "iommufd"
            };
            r.add("container", Status::Fail, e.to_string(), None);
            if eperm {
                r.add(
                    "interrupt-remapping",
                    Status::Fail,
                    format!(
                        "{} ({}) and allow_unsafe_interrupts is {}",
                        arch.msi_isolation(),
                        arch,
                        unsafe_irqs.as_deref().unwrap_or("unset")
                    ),
                    Some(arch.unsafe_interrupts_hint(module)),
                );
            } else {
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
    memlock_check(&mut r, answers);
    if let Some(span) = span {
        iova_check(&mut r, &info, span, group, paths);
    }
    r
}

/// The container checks of an sPAPR TCE container (IBM POWER): the model set, the
/// default window and dynamic windows, and an IOVA against the windows. No type1 check
/// (interrupt remapping, DMA_AVAIL) applies there.
fn spapr_checks(
    r: &mut Report,
    group: u32,
    span: Option<&Span>,
    paths: &HostPaths,
    answers: Answers<'_>,
) {
    let opened = match answers {
        Answers::Live => Container::open_targets_spapr_tce(&[Target::Group(group)], paths),
        Answers::Snapshot(_) => Err(Error::NotInSnapshot {
            what: format!("an sPAPR TCE container of group {group}"),
            why: "a snapshot holds type1 containers only".to_owned(),
        }),
    };
    let container = match opened {
        Ok(c) => c,
        Err(e) => {
            r.add("container", Status::Fail, e.to_string(), None);
            r.add("ddw", Status::Skip, "no container to ask", None);
            if span.is_some() {
                r.add("iova", Status::Skip, "no container to ask", None);
            }
            return;
        }
    };
    let model = match container.model() {
        Some(m) if m == vfio_iommu_info::uapi::VFIO_SPAPR_TCE_V2_IOMMU => "VFIO_SPAPR_TCE_v2_IOMMU",
        _ => "VFIO_SPAPR_TCE_IOMMU (v1)",
    };
    let info = match container.query_spapr_tce() {
        Ok(info) => {
            r.add(
                "container",
                Status::Ok,
                format!("VFIO_SET_IOMMU ({model}) and VFIO_IOMMU_SPAPR_TCE_GET_INFO succeeded"),
                None,
            );
            info
        }
        Err(e) => {
            r.add("container", Status::Fail, e.to_string(), None);
            return;
        }
    };
    let facts = DmaFacts::from_spapr_tce(&info);
    match (&info.ddw, model.starts_with("VFIO_SPAPR_TCE_v2")) {
        (Ddw::Supported(_), _) => r.add(
            "ddw",
            Status::Ok,
            format!(
                "dynamic DMA windows: {}; a window's start is the platform's choice (expected {DDW_EXPECTED_START:#x} = 2^59 on PowerNV and QEMU's pseries)",
                info.ddw
            ),
            None,
        ),
        (Ddw::NotReturned { .. }, _) => r.add("ddw", Status::Ok, info.ddw.to_string(), None),
        (Ddw::Unsupported, true) => r.add(
            "ddw",
            Status::Warn,
            "no dynamic DMA windows on this platform: only the default window can be mapped",
            None,
        ),
        (Ddw::Unsupported, false) => r.add(
            "ddw",
            Status::Warn,
            "a v1 container has no dynamic DMA windows, and MAP_DMA needs VFIO_IOMMU_ENABLE first",
            Some("use VFIO_SPAPR_TCE_v2_IOMMU (a kernel with it: 4.2 or later)".into()),
        ),
    }
    memlock_check(r, answers);
    let Some(span) = span else { return };
    let what = format!("IOVA {}+{:#x}", hex(span.iova), span.size);
    let window = facts
        .iova_ranges
        .as_ref()
        .map(|f| f.value.clone())
        .unwrap_or_default();
    let pages = facts.page_sizes.as_ref().map(|f| f.value);
    let create = format!(
        "map inside the default window {}, or create a dynamic window (VFIO_IOMMU_SPAPR_TCE_CREATE; the platform picks its start, expected {DDW_EXPECTED_START:#x})",
        window
            .first()
            .map_or_else(|| "(none)".to_owned(), |w| format!("[{}, {}]", hex(w.start), hex(w.end)))
    );
    match check_span(&window, pages, span.iova, span.size) {
        Ok(()) => r.add(
            "iova",
            Status::Ok,
            format!("{what} lies inside the default window (4K TCEs); a v2 container maps only memory registered with VFIO_IOMMU_SPAPR_REGISTER_MEMORY"),
            None,
        ),
        Err(SpanProblem::Misaligned { page }) => r.add(
            "iova",
            Status::Fail,
            format!("{what} is not aligned to the default window's TCE size ({page:#x})"),
            Some(format!("align the address and the size to {page:#x} bytes")),
        ),
        Err(p) => r.add(
            "iova",
            Status::Fail,
            format!("{what} is outside the default window: {p}"),
            Some(create),
        ),
    }
}

/// MAP_DMA pins memory: without CAP_IPC_LOCK it counts against RLIMIT_MEMLOCK.
fn memlock_check(r: &mut Report, answers: Answers<'_>) {
    match answers.memlock() {
        None => {}
        Some(MemlockLimit::Root) => r.add(
            "memlock",
            Status::Ok,
            "CAP_IPC_LOCK is effective: pinned memory is not limited",
            None,
        ),
        Some(MemlockLimit::Unlimited) => {
            r.add("memlock", Status::Ok, "RLIMIT_MEMLOCK is unlimited", None)
        }
        Some(MemlockLimit::Bytes(limit)) => r.add(
            "memlock",
            Status::Warn,
            format!(
                "RLIMIT_MEMLOCK is {}: MAP_DMA fails with ENOMEM once that much memory is pinned",
                vfio_iommu_info::iova::format_size_human(u128::from(limit))
            ),
            Some("raise it for the VMM (ulimit -l, or LimitMEMLOCK= in a systemd unit) to at least the guest memory".into()),
        ),
    }
}

fn device_checks(r: &mut Report, addr: &PciAddress, paths: &HostPaths) -> Option<u32> {
    let group = match paths.sysfs.group_of_device(addr) {
        Ok(g) => g,
        Err(e) => {
            r.add("device", Status::Fail, e.to_string(), None);
            return None;
        }
    };
    let driver = paths.sysfs.driver_of_device(addr).ok().flatten();
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
    let limit = paths.sysfs.type1_module_param("dma_entry_limit");
    let of = limit
        .as_deref()
        .map(|l| format!(" (dma_entry_limit {l})"))
        .unwrap_or_default();
    let fix = || {
        Some(
            "raise vfio_iommu_type1's dma_entry_limit, or map fewer, larger (huge page) regions"
                .to_owned(),
        )
    };
    // The count is per container: what a new container gets, not what a running VMM's
    // container has left.
    match &info.dma_avail {
        Reported::Present(u32::MAX) => r.add(
            "dma-avail",
            Status::Ok,
            "no mapping limit (iommufd's VFIO container)",
            None,
        ),
        Reported::Present(0) => r.add(
            "dma-avail",
            Status::Fail,
            format!("a new container accepts no mappings at all{of}"),
            fix(),
        ),
        Reported::Present(n) if *n < 1024 => r.add(
            "dma-avail",
            Status::Warn,
            format!("a new container accepts only {n} mappings{of}"),
            fix(),
        ),
        Reported::Present(n) => r.add(
            "dma-avail",
            Status::Ok,
            format!("a new container accepts {n} mappings{of}"),
            None,
        ),
        Reported::Absent(why) => r.add(
            "dma-avail",
            Status::Ok,
            why.explain(vfio_iommu_info::Type1Cap::DmaAvail),
            None,
        ),
    }
}

fn iova_check(r: &mut Report, info: &IommuInfo, span: &Span, group: u32, paths: &HostPaths) {
    let ranges = info.iova_ranges.present().cloned().unwrap_or_default();
    let what = format!("IOVA {}+{:#x}", hex(span.iova), span.size);
    let usable: Vec<String> = ranges
        .iter()
        .map(|x| format!("[{}, {}]", hex(x.start), hex(x.end)))
        .collect();
    let inside = || {
        Some(format!(
            "map inside one of the usable ranges: {}",
            usable.join(", ")
        ))
    };
    let problem = match check_span(&ranges, info.iova_pgsizes, span.iova, span.size) {
        Ok(()) if span.iova.checked_add(span.size).is_none() => {
            r.add(
                "iova",
                Status::Warn,
                format!("{what} can be mapped but ends at 2^64: Linux (6.1 and 6.12 seen) cannot unmap such a mapping until the container closes"),
                Some("leave the last page of the 64-bit space unmapped".into()),
            );
            return;
        }
        Ok(()) => {
            r.add(
                "iova",
                Status::Ok,
                format!("{what} lies inside a usable IOVA range"),
                None,
            );
            return;
        }
        Err(p) => p,
    };
    let (detail, fix) = match problem {
        SpanProblem::InHole { hole } => {
            let regions = paths.sysfs.reserved_regions(group).unwrap_or_default();
            let from: Vec<String> = regions
                .iter()
                .filter(|x| x.causes_hole(hole))
                .map(|x| {
                    format!(
                        "{} region {} - {}",
                        x.kind.name(),
                        hex(x.range.start),
                        hex(x.range.end)
                    )
                })
                .collect();
            let from = if from.is_empty() {
                String::new()
            } else {
                format!(" (the {})", from.join(", "))
            };
            (
                format!(
                    "{what} falls in the reserved hole {} - {}{from}",
                    hex(hole.start),
                    hex(hole.end)
                ),
                inside(),
            )
        }
        SpanProblem::BeyondAperture { aperture } => (
            format!(
                "{what} is beyond the IOMMU aperture {} - {}: the IOMMU cannot address it",
                hex(aperture.start),
                hex(aperture.end)
            ),
            inside(),
        ),
        SpanProblem::AcrossRanges => (
            format!("{what} runs across two IOVA ranges"),
            Some("split it into one mapping per range".into()),
        ),
        SpanProblem::Misaligned { page } => (
            format!(
                "{what} is not aligned to the smallest IOMMU page size ({})",
                vfio_iommu_info::iova::format_size(u128::from(page))
            ),
            Some(format!("align the address and the size to {page:#x} bytes")),
        ),
        SpanProblem::NoRanges => (
            format!("{what} cannot be checked: the container reports no IOVA ranges"),
            None,
        ),
        other => (format!("{what}: {other}"), None),
    };
    r.add("iova", Status::Fail, detail, fix);
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
    let count = |st| r.checks.iter().filter(|c| c.status == st).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    out.push_str(&match (failed, warned) {
        (0, 0) => "all checks passed\n".to_owned(),
        (0, w) => format!("no check failed; {w} warning(s)\n"),
        (f, _) => format!("{f} check(s) failed\n"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;
    use vfio_iommu_info::encode::{CapSpec, KernelState};
    use vfio_iommu_info::{IovaRange, Sysfs};

    /// A fake host: group 5 holds 00:1f.0 on lpc_ich and 00:1f.3 unbound; `modules` are
    /// the entries of /sys/module; /dev/vfio exists only when `dev_vfio`.
    struct Fake(PathBuf);

    impl Fake {
        fn new(name: &str, modules: &[&str], dev_vfio: bool) -> Fake {
            let root =
                std::env::temp_dir().join(format!("vfio-explain-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let sys = root.join("sys");
            let group = sys.join("kernel/iommu_groups/5");
            std::fs::create_dir_all(group.join("devices")).unwrap();
            std::fs::write(
                group.join("reserved_regions"),
                "0x00000000fee00000 0x00000000feefffff msi\n",
            )
            .unwrap();
            for (dev, driver) in [("0000:00:1f.0", Some("lpc_ich")), ("0000:00:1f.3", None)] {
                let d = sys.join("bus/pci/devices").join(dev);
                std::fs::create_dir_all(&d).unwrap();
                if let Some(drv) = driver {
                    symlink(
                        format!("../../../../bus/pci/drivers/{drv}"),
                        d.join("driver"),
                    )
                    .unwrap();
                }
                symlink("../../../../kernel/iommu_groups/5", d.join("iommu_group")).unwrap();
                symlink(&d, group.join("devices").join(dev)).unwrap();
            }
            std::fs::create_dir_all(sys.join("bus/pci/drivers/vfio-pci")).unwrap();
            for m in modules {
                std::fs::create_dir_all(sys.join("module").join(m).join("parameters")).unwrap();
            }
            if dev_vfio {
                std::fs::create_dir_all(root.join("dev/vfio")).unwrap();
            }
            Fake(root)
        }

        fn paths(&self) -> HostPaths {
            HostPaths {
                vfio_dir: self.0.join("dev/vfio"),
                sysfs: Sysfs::new(self.0.join("sys")),
                iommufd: self.0.join("dev/iommu"),
                ..HostPaths::default()
            }
        }

        fn check<'a>(&self, r: &'a Report, name: &str) -> &'a Check {
            r.checks
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no {name} check: {}", render(r)))
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The type1 checks, whatever machine runs the tests (shadows `super::explain`).
    fn explain(target: &Target, span: Option<&Span>, paths: &HostPaths) -> Report {
        explain_on(target, span, paths, &Arch::X86_64, Answers::Live)
    }

    #[test]
    fn every_report_is_what_schemas_explain_says() {
        let span = Span {
            iova: 0xfee0_0000,
            size: 0x1000,
        };
        for (name, modules, dev_vfio) in [
            ("schema-none", &[][..], false),
            ("schema-type1", &["vfio", "vfio_iommu_type1"][..], true),
            ("schema-spapr", &["vfio", "vfio_iommu_spapr_tce"][..], true),
        ] {
            let f = Fake::new(name, modules, dev_vfio);
            for (target, span) in [(Target::Group(5), None), (Target::Group(7), Some(&span))] {
                for arch in ["x86_64", "ppc64le", "s390x"] {
                    let r = explain_on(
                        &target,
                        span,
                        &f.paths(),
                        &Arch::from_name(arch),
                        Answers::Live,
                    );
                    crate::testing::assert_schema("explain", to_json(&r));
                }
            }
        }
    }

    #[test]
    fn power_wants_the_spapr_module_and_gives_no_type1_advice() {
        let power = Arch::from_name("ppc64le");
        let f = Fake::new("power-missing", &["vfio"], true);
        let r = explain_on(&Target::Group(5), None, &f.paths(), &power, Answers::Live);
        let text = render(&r);
        assert!(
            f.check(&r, "platform").detail.contains("sPAPR TCE"),
            "{text}"
        );
        let m = f.check(&r, "modules");
        assert_eq!(m.status, Status::Fail, "{text}");
        assert_eq!(m.detail, "not loaded: vfio_iommu_spapr_tce", "{text}");
        assert_eq!(
            m.fix.as_deref(),
            Some("modprobe vfio-pci vfio_iommu_spapr_tce")
        );
        assert!(
            !text.contains("type1") || text.contains("not type1"),
            "{text}"
        );
        assert!(!text.contains("interrupt"), "{text}");
        // /dev/vfio has no group node: the container step fails, sPAPR's way.
        assert_eq!(f.check(&r, "container").status, Status::Fail, "{text}");
        assert_eq!(f.check(&r, "ddw").status, Status::Skip, "{text}");
        let f = Fake::new("power-loaded", &["vfio", "vfio_iommu_spapr_tce"], true);
        let r = explain_on(&Target::Group(5), None, &f.paths(), &power, Answers::Live);
        assert_eq!(
            f.check(&r, "modules").detail,
            "vfio, vfio-pci and vfio_iommu_spapr_tce are loaded"
        );
        // The same host as x86_64 wants type1.
        let r = explain(&Target::Group(5), None, &f.paths());
        assert_eq!(
            f.check(&r, "modules").detail,
            "not loaded: vfio_iommu_type1"
        );
    }

    #[test]
    fn an_unknown_architecture_is_named_and_either_backend_will_do() {
        let odd = Arch::from_name("sparc64");
        let f = Fake::new("odd", &["vfio", "vfio_iommu_spapr_tce"], true);
        let r = explain_on(&Target::Group(5), None, &f.paths(), &odd, Answers::Live);
        let p = f.check(&r, "platform");
        assert_eq!(p.status, Status::Warn);
        assert!(
            p.detail
                .starts_with("sparc64 (an architecture this library does not know)"),
            "{}",
            p.detail
        );
        assert_eq!(f.check(&r, "modules").status, Status::Ok, "{}", render(&r));
    }

    #[test]
    fn a_target_without_a_group_fails_instead_of_passing() {
        let f = Fake::new("nogroup", &["vfio", "vfio_iommu_type1"], true);
        let r = explain(
            &Target::GroupPath("/tmp/not-a-group".into()),
            None,
            &f.paths(),
        );
        assert!(r.failed(), "{}", render(&r));
        assert_eq!(f.check(&r, "target").status, Status::Fail);
        assert!(!render(&r).contains("all checks passed"));
    }

    #[test]
    fn a_device_and_group_on_other_drivers_fail_with_the_rebind_commands() {
        let f = Fake::new("blocked", &["vfio", "vfio_iommu_type1"], true);
        let r = explain(
            &Target::Device("0000:00:1f.0".parse().unwrap()),
            None,
            &f.paths(),
        );
        let device = f.check(&r, "device");
        assert_eq!(device.status, Status::Fail);
        assert!(
            device.detail.contains("bound to lpc_ich, not vfio-pci"),
            "{}",
            device.detail
        );
        let group = f.check(&r, "group");
        assert_eq!(group.status, Status::Fail);
        assert!(
            group
                .detail
                .contains("0000:00:1f.0 is still bound to lpc_ich"),
            "{}",
            group.detail
        );
        assert!(group
            .fix
            .as_deref()
            .unwrap()
            .contains("echo vfio-pci > /sys/bus/pci/devices/0000:00:1f.0/driver_override"));
        assert!(
            !group.detail.contains("0000:00:1f.3 is still"),
            "an unbound device does not block"
        );
    }

    #[test]
    fn modules_iommufd_and_a_missing_dev_vfio_are_told_apart() {
        let f = Fake::new("iommufd", &["vfio", "iommufd"], false);
        let r = explain(&Target::Group(5), None, &f.paths());
        assert_eq!(
            f.check(&r, "modules").status,
            Status::Ok,
            "iommufd's container stands in for type1"
        );
        let perms = f.check(&r, "permissions");
        assert_eq!(perms.status, Status::Fail);
        assert!(
            perms.detail.contains("vfio is not loaded"),
            "{}",
            perms.detail
        );
        let f = Fake::new("nomods", &[], false);
        let r = explain(&Target::Group(5), None, &f.paths());
        let m = f.check(&r, "modules");
        assert_eq!(
            (m.status, m.detail.as_str()),
            (Status::Fail, "not loaded: vfio, vfio_iommu_type1")
        );
    }

    #[test]
    fn no_iommu_groups_is_the_first_failure() {
        let f = Fake::new("noiommu", &["vfio"], false);
        std::fs::remove_dir_all(f.0.join("sys/kernel/iommu_groups")).unwrap();
        let r = explain(&Target::Group(5), None, &f.paths());
        assert_eq!(r.checks[0].name, "iommu");
        assert_eq!(r.checks[0].status, Status::Fail);
        assert!(r.checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("intel_iommu=on"));
    }

    fn info(ranges: Vec<IovaRange>) -> IommuInfo {
        vfio_iommu_info::decode(
            &KernelState::padded(0x4020_1000, vec![CapSpec::IovaRange(ranges)]).encode(),
        )
        .unwrap()
    }

    fn iova_verdict(ranges: Vec<IovaRange>, iova: u64, size: u64) -> Check {
        let f = Fake::new(&format!("iova-{iova:x}-{size:x}"), &[], false);
        let mut r = Report {
            target: "t".into(),
            checks: Vec::new(),
        };
        iova_check(&mut r, &info(ranges), &Span { iova, size }, 5, &f.paths());
        r.checks.pop().unwrap()
    }

    #[test]
    fn every_span_problem_reads_as_a_sentence_with_its_own_fix() {
        let r = |a, b| IovaRange::new(a, b).unwrap();
        let intel = || vec![r(0, 0xfedf_ffff), r(0xfef0_0000, 0x7f_ffff_ffff)];
        let c = iova_verdict(intel(), 0xfee0_0000, 0x1000);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("falls in the reserved hole 0x00000000fee00000 - 0x00000000feefffff (the msi region"), "{}", c.detail);
        assert!(c
            .fix
            .unwrap()
            .starts_with("map inside one of the usable ranges"));
        let c = iova_verdict(intel(), 0x80_0000_0000, 0x1000);
        assert!(
            c.detail
                .contains("is beyond the IOMMU aperture 0x0000000000000000 - 0x0000007fffffffff"),
            "{}",
            c.detail
        );
        let c = iova_verdict(intel(), 0x1800, 0x1000);
        assert!(
            c.detail
                .contains("is not aligned to the smallest IOMMU page size (4K)"),
            "{}",
            c.detail
        );
        assert_eq!(
            c.fix.as_deref(),
            Some("align the address and the size to 0x1000 bytes")
        );
        let c = iova_verdict(vec![r(0, 0xffff), r(0x1_0000, 0x1_ffff)], 0xf000, 0x2000);
        assert!(
            c.detail.ends_with("runs across two IOVA ranges"),
            "{}",
            c.detail
        );
        let c = iova_verdict(intel(), 0x1000, 0x2000);
        assert_eq!(c.status, Status::Ok);
        let c = iova_verdict(vec![r(0, u64::MAX)], u64::MAX - 0xfff, 0x1000);
        assert_eq!(
            c.status,
            Status::Warn,
            "the top page maps but cannot be unmapped: {}",
            c.detail
        );
    }
}
