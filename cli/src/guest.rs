//! `vfio-iommu-info guest`: a whole guest's settings from the host's facts (the core's
//! `plan_guest`), in the VMM's own words; this module only gathers the facts and prints.

use std::fmt::Write as _;

use clap::ValueEnum;
use vfio_iommu_info::decode::region_info::BarKind;
use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::iova::{format_size, format_size_human};
use vfio_iommu_info::json::guest_plan_to_json;
use vfio_iommu_info::plan::guest::plans_for;
use vfio_iommu_info::plan::settings::{self, Accel, QemuTarget};
use vfio_iommu_info::query::device::PciBar;
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::sys::arch::Arch;
use vfio_iommu_info::{
    plan_guest, Container, GuestPlan, GuestRequest, HostFacts, HostPaths, IovaSpace, PciAddress,
    Snapshot, Target,
};

use crate::backend::{self, BackendArg};
use crate::{print_json, print_text, Failure, EXIT_FAILURE, EXIT_USAGE};

/// `--vmm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VmmArg {
    /// A QEMU command-line fragment (q35).
    Qemu,
    /// A libvirt domain XML fragment.
    Libvirt,
    /// cloud-hypervisor arguments.
    CloudHypervisor,
}

/// `--accel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AccelArg {
    /// KVM.
    Kvm,
    /// TCG.
    Tcg,
}

/// `--viommu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViommuArg {
    /// None: QEMU maps all guest RAM at start.
    None,
    /// intel-iommu.
    Intel,
    /// amd-iommu.
    Amd,
    /// virtio-iommu.
    Virtio,
    /// Arm SMMUv3.
    Smmuv3,
}

impl From<ViommuArg> for vfio_iommu_info::Viommu {
    fn from(v: ViommuArg) -> Self {
        match v {
            ViommuArg::None => Self::None,
            ViommuArg::Intel => Self::Intel,
            ViommuArg::Amd => Self::Amd,
            ViommuArg::Virtio => Self::Virtio,
            ViommuArg::Smmuv3 => Self::Smmuv3,
        }
    }
}

/// How to show the plan.
pub struct Output {
    /// Which VMM's words.
    pub vmm: VmmArg,
    /// QEMU's accelerator.
    pub accel: AccelArg,
    /// QEMU's CPU model.
    pub cpu: String,
    /// JSON instead of text.
    pub json: bool,
}

/// The library's error as the command's failure (exit 1).
fn failed(e: vfio_iommu_info::Error) -> Failure {
    Failure::lib(e)
}

/// The sizes of a device's 64-bit memory BARs (`bars`, live or replayed), which the
/// firmware puts in the 64-bit PCI window (region info for the sizes, the BAR registers in
/// config space for the kinds).
fn bars64(
    bars: Result<Vec<PciBar>, vfio_iommu_info::Error>,
    name: &str,
) -> Result<Vec<u64>, Failure> {
    let bars = bars.map_err(|e| {
        Failure::new(
            format!("{name}: reading its BARs: {e} (give their sizes with --bar SIZE instead)"),
            EXIT_FAILURE,
        )
    })?;
    Ok(bars
        .iter()
        .filter(|b| matches!(b.kind, BarKind::Mem64 { .. }))
        .map(|b| b.size)
        .collect())
}

/// The devices of `groups` a guest is given (each on vfio-pci, in the groups' order), with
/// their 64-bit BARs' sizes from `bars_of` (the group, the device's name and address).
fn passed_through(
    groups: &[u32],
    paths: &HostPaths,
    mut bars_of: impl FnMut(u32, &str, &PciAddress) -> Result<Vec<u64>, Failure>,
) -> Result<(Vec<PciAddress>, Vec<u64>), Failure> {
    let mut devices = Vec::new();
    let mut bars = Vec::new();
    for &n in groups {
        for d in paths.sysfs.group_devices(n).map_err(failed)? {
            let Ok(address) = d.name.parse::<PciAddress>() else {
                continue;
            };
            // A device another driver holds (a bridge of the group) is not passed.
            if d.driver.as_deref() != Some("vfio-pci") {
                continue;
            }
            bars.extend(bars_of(n, &d.name, &address)?);
            devices.push(address);
        }
    }
    Ok((devices, bars))
}

/// `guest` plans an x86 guest: an sPAPR TCE container is refused, live or not.
fn spapr_refused() -> Failure {
    Failure::new(
        "guest plans an x86 q35 guest; an sPAPR TCE container (IBM POWER) has its own windows: see `query`".into(),
        EXIT_USAGE,
    )
}

/// The error of a container that reports no IOVA range, live or not.
fn no_ranges() -> Failure {
    Failure::new(
        "the container reports no IOVA ranges (a kernel before 5.4): the plan needs them".into(),
        EXIT_FAILURE,
    )
}

/// [`host`]'s facts from a snapshot: its container of the targets' groups, its devices'
/// BARs, the CPU's width and the limits of the process that took it.
fn replayed(
    snapshot: &Snapshot,
    targets: &[Target],
    chosen: backend::Chosen,
    paths: &HostPaths,
    cpu_phys_bits: Option<u8>,
) -> Result<(IovaSpace, HostFacts, Vec<PciAddress>, Vec<u64>), Failure> {
    match chosen {
        backend::Chosen::Iommufd(address, _) => Err(failed(vfio_iommu_info::Error::NotInSnapshot {
            what: format!("device {address} through iommufd"),
            why: "a snapshot holds the VFIO container's answers (type1 and iommufd's compat container): ask with --backend type1".to_owned(),
        })),
        backend::Chosen::SpaprTce(_) => Err(spapr_refused()),
        backend::Chosen::Type1(_) => {
            let groups = crate::group_numbers(targets, paths)?;
            let container = snapshot.container(&groups).map_err(failed)?;
            let facts = container.facts(paths);
            let Some(space) = container.space(paths).map_err(failed)? else {
                return Err(no_ranges());
            };
            let (devices, bars) = passed_through(&groups, paths, |_, name, address| {
                let device = snapshot.device(address).map_err(failed)?;
                bars64(device.bars(), name)
            })?;
            let host = HostFacts {
                backend: facts.backend,
                dma_avail: container.info.dma_avail.present().copied(),
                cpu_phys_bits,
                memlock: Some(snapshot.memlock_facts().map_err(failed)?),
            };
            Ok((space, host, devices, bars))
        }
    }
}

/// The host's facts for `targets` on `backend` (or as `snapshot` recorded them): the
/// usable space and DMA_AVAIL, with the devices to pass through and their 64-bit BARs'
/// sizes.
fn host(
    targets: &[Target],
    arg: BackendArg,
    paths: &HostPaths,
    snapshot: Option<&Snapshot>,
) -> Result<(IovaSpace, HostFacts, Vec<PciAddress>, Vec<u64>), Failure> {
    let cpu_phys_bits = vfio_iommu_info::sys::cpu::phys_bits_at(paths).map_err(failed)?;
    let chosen = backend::choose(arg, targets, paths)?;
    if let Some(snapshot) = snapshot {
        return replayed(snapshot, targets, chosen, paths, cpu_phys_bits);
    }
    match chosen {
        backend::Chosen::Iommufd(address, _) => {
            let (device, report) = IommufdReport::open(&address, paths).map_err(failed)?;
            let host = HostFacts {
                backend: Backend::Iommufd,
                dma_avail: None,
                cpu_phys_bits,
                memlock: Some(vfio_iommu_info::MemlockFacts::current()),
            };
            let bars = bars64(device.device().bars(), &address.to_string())?;
            Ok((report.space(), host, vec![address], bars))
        }
        backend::Chosen::SpaprTce(_) => Err(spapr_refused()),
        backend::Chosen::Type1(_) => {
            let container = Container::open_targets(targets, paths).map_err(failed)?;
            let info = container.query().map_err(failed)?;
            let facts = container.facts(&info, paths);
            let Some(space) = container.space(paths).map_err(failed)? else {
                return Err(no_ranges());
            };
            let groups: Vec<u32> = container
                .groups()
                .iter()
                .filter_map(|g| g.number())
                .collect();
            let (devices, bars) = passed_through(&groups, paths, |n, name, _| {
                // iommufd's compat container opened its devices to attach them.
                if let Some(open) = container.devices().iter().find(|o| o.name() == name) {
                    return bars64(open.bars(), name);
                }
                let group = container
                    .groups()
                    .iter()
                    .find(|g| g.number() == Some(n))
                    .ok_or_else(|| {
                        Failure::new(format!("group {n} left the container"), EXIT_FAILURE)
                    })?;
                let device = group.open_device(name).map_err(failed)?;
                bars64(device.bars(), name)
            })?;
            let host = HostFacts {
                backend: facts.backend,
                dma_avail: info.dma_avail.present().copied(),
                cpu_phys_bits,
                memlock: Some(vfio_iommu_info::MemlockFacts::current()),
            };
            Ok((space, host, devices, bars))
        }
    }
}

/// Plans (on this host, or as `snapshot` recorded one), prints, and exits 1 when the host
/// cannot meet the plan.
pub fn guest(
    targets: &[Target],
    arg: BackendArg,
    mut req: GuestRequest,
    out: &Output,
    snapshot: Option<&Snapshot>,
) -> Result<std::process::ExitCode, Failure> {
    plans_for(&snapshot.map_or_else(Arch::host, Snapshot::arch))
        .map_err(|e| Failure::new(e.to_string(), EXIT_FAILURE))?;
    let paths = snapshot.map_or_else(HostPaths::default, Snapshot::paths);
    let (space, host, devices, bars) = host(targets, arg, &paths, snapshot)?;
    req.devices = u32::try_from(devices.len()).unwrap_or(u32::MAX).max(1);
    req.bars.extend(bars);
    let plan =
        plan_guest(&space, host, &req).map_err(|e| Failure::new(e.to_string(), EXIT_USAGE))?;
    if out.json {
        let mut v = guest_plan_to_json(&plan);
        v["settings"] = settings_json(&plan, &devices, out);
        print_json(&v)?;
    } else {
        print_text(&render(&plan, &devices, out))?;
    }
    Ok(if plan.fits() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(EXIT_FAILURE)
    })
}

fn qemu_target(devices: &[PciAddress], out: &Output) -> QemuTarget {
    QemuTarget {
        accel: match out.accel {
            AccelArg::Kvm => Accel::Kvm,
            AccelArg::Tcg => Accel::Tcg,
        },
        cpu: out.cpu.clone(),
        devices: devices.to_vec(),
    }
}

fn settings_json(plan: &GuestPlan, devices: &[PciAddress], out: &Output) -> serde_json::Value {
    match out.vmm {
        VmmArg::Qemu => serde_json::json!({
            "vmm": "qemu",
            "args": settings::qemu_args(plan, &qemu_target(devices, out)),
        }),
        VmmArg::Libvirt => serde_json::json!({
            "vmm": "libvirt",
            "xml": settings::libvirt_xml(plan, devices),
        }),
        VmmArg::CloudHypervisor => match settings::cloud_hypervisor_args(plan, devices) {
            Ok(args) => serde_json::json!({"vmm": "cloud-hypervisor", "args": args}),
            Err(why) => serde_json::json!({"vmm": "cloud-hypervisor", "error": why}),
        },
    }
}

/// The plan as text: settings (or the refusals), then each decision's reason.
fn render(plan: &GuestPlan, devices: &[PciAddress], out: &Output) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "backend      {}", plan.host.backend.name());
    let _ = writeln!(
        s,
        "phys-bits    {}   (guest RAM and BARs stay below {:#x})",
        plan.phys_bits,
        1u128 << plan.phys_bits
    );
    for r in &plan.ram {
        let _ = writeln!(
            s,
            "ram          {}  {}",
            r.range,
            format_size(u128::from(r.range.end - r.range.start) + 1)
        );
    }
    let _ = writeln!(
        s,
        "mmio64       {}  pci-hole64-size {}",
        plan.mmio64,
        format_size(u128::from(plan.hole64_size()))
    );
    if let Some(v) = &plan.viommu {
        let aw = v.aw_bits.map_or_else(|| "-".to_owned(), |b| b.to_string());
        let _ = writeln!(
            s,
            "viommu       {} aw-bits {aw}, {} reserved range(s) to advertise",
            v.kind.name(),
            v.reserved.len()
        );
    }
    let avail = plan.host.dma_avail.map_or_else(
        || "no limit reported".to_owned(),
        |a| format!("DMA_AVAIL {a}"),
    );
    let _ = writeln!(s, "mappings     {} at once ({avail})", plan.mappings);
    let _ = writeln!(
        s,
        "memlock      {} bytes ({}) pinned at most",
        plan.memlock,
        format_size_human(u128::from(plan.memlock))
    );
    if let Some(b) = &plan.memlock_budget {
        for line in b.to_string().lines() {
            let _ = writeln!(s, "             {line}");
        }
    }
    if !plan.fits() {
        let _ = writeln!(s, "\nthe host cannot meet this plan:");
        for r in &plan.refusals {
            let _ = writeln!(s, "  {r}");
        }
    }
    let _ = writeln!(
        s,
        "\nsettings ({}):",
        match out.vmm {
            VmmArg::Qemu => "qemu",
            VmmArg::Libvirt => "libvirt",
            VmmArg::CloudHypervisor => "cloud-hypervisor",
        }
    );
    match out.vmm {
        VmmArg::Qemu => {
            let args = settings::qemu_args(plan, &qemu_target(devices, out));
            let _ = writeln!(s, "  {}", settings::shell_line("qemu-system-x86_64", &args));
        }
        VmmArg::Libvirt => {
            for line in settings::libvirt_xml(plan, devices).lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        VmmArg::CloudHypervisor => match settings::cloud_hypervisor_args(plan, devices) {
            Ok(args) => {
                let _ = writeln!(s, "  {}", settings::shell_line("cloud-hypervisor", &args));
            }
            Err(why) => {
                let _ = writeln!(s, "  none: {why}");
            }
        },
    }
    let _ = writeln!(s, "\nwhy:");
    for r in &plan.reasons {
        let _ = writeln!(s, "  {:<17}{} (from {})", r.item, r.why, r.fact);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfio_iommu_info::{IovaRange, ReservedRegion};

    /// Plans in the AMD capture's space (the HyperTransport hole, a 39-bit IOMMU),
    /// fitting and refused, with each vIOMMU and each VMM's settings: the document is
    /// what schemas/guest.schema.json says.
    #[test]
    fn every_plan_is_what_schemas_guest_says() {
        let r = |s, e| IovaRange::new(s, e).unwrap();
        let space = IovaSpace::new(
            &[
                r(0, 0xfedf_ffff),
                r(0xfef0_0000, 0xfc_ffff_ffff),
                r(0x100_0000_0000, u64::MAX),
            ],
            Some(vfio_iommu_info::PageSizes(0xfff7_ffff_f000)),
        )
        .with_reserved_regions(&[ReservedRegion {
            range: r(0xfee0_0000, 0xfeef_ffff),
            kind: vfio_iommu_info::RegionKind::Msi,
        }]);
        let devices = ["0000:00:03.0".parse::<PciAddress>().unwrap()];
        let mut checked = 0;
        for viommu in [ViommuArg::None, ViommuArg::Intel, ViommuArg::Virtio] {
            for (ram, fixed, phys_bits, bars) in [
                (8u64 << 30, None, None, vec![16u64 << 30]),
                (
                    64 << 20,
                    Some((2u64 << 20, 0xfd_0000_0000u64)),
                    Some(48u8),
                    vec![],
                ),
            ] {
                let mut req = GuestRequest::new(ram);
                req.viommu = viommu.into();
                req.phys_bits = phys_bits;
                req.bars = bars;
                req.fixed
                    .extend(fixed.map(|(size, at)| vfio_iommu_info::FixedRam { at, size }));
                let memlock = vfio_iommu_info::plan::budget::MemlockFacts {
                    soft_limit: Some(64 << 20),
                    cap_ipc_lock: false,
                    locked: Some(0),
                    pinned: Some(0),
                    iommufd_process_mode: None,
                    page_size: 4096,
                };
                let hosts = [None, Some(memlock)].map(|memlock| HostFacts {
                    backend: vfio_iommu_info::facts::Backend::Type1,
                    dma_avail: Some(65535),
                    cpu_phys_bits: Some(48),
                    memlock,
                });
                let plans = hosts
                    .into_iter()
                    .filter_map(|h| plan_guest(&space, h, &req).ok());
                for (plan, vmm) in plans.flat_map(|p| {
                    [VmmArg::Qemu, VmmArg::Libvirt, VmmArg::CloudHypervisor].map(|v| (p.clone(), v))
                }) {
                    let out = Output {
                        vmm,
                        accel: AccelArg::Kvm,
                        cpu: "host".to_owned(),
                        json: true,
                    };
                    let mut v = guest_plan_to_json(&plan);
                    v["settings"] = settings_json(&plan, &devices, &out);
                    crate::testing::assert_schema("guest", v);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 24, "{checked}");
    }
}
