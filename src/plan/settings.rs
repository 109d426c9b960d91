//! A [`GuestPlan`] in the VMMs' own words: a QEMU command-line fragment, a libvirt domain
//! XML fragment, cloud-hypervisor arguments. Each writes the plan as it is, refusals
//! included (so that a bad setting can be tried, as the lab does); callers show
//! [`GuestPlan::refusals`] first.

use std::fmt::Write as _;

use crate::facts::Backend;
use crate::iova::format_size;
use crate::plan::guest::{GuestPlan, RamKind, Viommu};
use crate::sys::sysfs::PciAddress;

/// How QEMU runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM: the guest's phys-bits must not exceed the host CPU's.
    Kvm,
    /// TCG (emulation, as in the lab).
    Tcg,
}

/// What QEMU needs besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuTarget {
    /// The accelerator.
    pub accel: Accel,
    /// The CPU model (`host` under KVM takes `host-phys-bits-limit`).
    pub cpu: String,
    /// The devices to pass through.
    pub devices: Vec<PciAddress>,
}

/// A size as QEMU parses it: a whole binary unit (`64M`), else bytes (`B`): a bare number
/// is MiB to `-m`.
fn qemu_size(bytes: u64) -> String {
    let s = format_size(u128::from(bytes));
    if s.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{s}B")
    } else {
        s
    }
}

/// The memory backend QEMU object for `size` bytes backed by `page`.
fn backend_object(id: &str, size: u64, page: u64) -> String {
    if page > 4096 {
        format!(
            "memory-backend-memfd,id={id},size={},hugetlb=on,hugetlbsize={}",
            qemu_size(size),
            qemu_size(page)
        )
    } else {
        format!("memory-backend-ram,id={id},size={}", qemu_size(size))
    }
}

/// The plan as QEMU arguments (q35): machine, accelerator, CPU with phys-bits, memory
/// (NUMA nodes, huge pages, pc-dimms at their addresses), the 64-bit PCI window, the
/// vIOMMU, then the devices (after the memory, so that a failed mapping fails the device's
/// realize rather than a running guest).
pub fn qemu_args(plan: &GuestPlan, target: &QemuTarget) -> Vec<String> {
    let req = &plan.request;
    let mut args: Vec<String> = Vec::new();
    let mut push = |a: &str, b: String| {
        args.push(a.to_owned());
        args.push(b);
    };
    let mut machine = "q35".to_owned();
    if let Some(m) = plan.max_ram_below_4g {
        let _ = write!(machine, ",max-ram-below-4g={}", qemu_size(m));
    }
    let one_backend = req.nodes.is_empty() && req.backing_page > 4096;
    if one_backend {
        machine.push_str(",memory-backend=ram0");
    }
    push("-machine", machine);
    push(
        "-accel",
        match target.accel {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
        .to_owned(),
    );
    let cpu = if target.cpu == "host" && req.phys_bits.is_none() {
        format!(
            "host,host-phys-bits=on,host-phys-bits-limit={}",
            plan.phys_bits
        )
    } else {
        format!("{},phys-bits={}", target.cpu, plan.phys_bits)
    };
    push("-cpu", cpu);
    let mut m = qemu_size(req.ram);
    if let Some(d) = plan.dimms {
        let _ = write!(m, ",slots={},maxmem={}", d.slots, qemu_size(d.maxmem));
    }
    push("-m", m);
    if one_backend {
        push("-object", backend_object("ram0", req.ram, req.backing_page));
    }
    for (i, &n) in req.nodes.iter().enumerate() {
        push(
            "-object",
            backend_object(&format!("ram{i}"), n, req.backing_page),
        );
        push("-numa", format!("node,nodeid={i},memdev=ram{i}"));
    }
    for piece in &plan.ram {
        if let RamKind::Fixed(i) = piece.kind {
            let size = piece.range.end - piece.range.start + 1;
            push(
                "-object",
                backend_object(&format!("dimm{i}"), size, req.backing_page),
            );
            push(
                "-device",
                format!(
                    "pc-dimm,id=d{i},memdev=dimm{i},addr={:#x}",
                    piece.range.start
                ),
            );
        }
    }
    push(
        "-global",
        format!(
            "q35-pcihost.pci-hole64-size={}",
            qemu_size(plan.hole64_size())
        ),
    );
    if let Some(v) = &plan.viommu {
        match (v.kind, v.aw_bits) {
            (Viommu::Intel, Some(aw)) => push(
                "-device",
                format!("intel-iommu,caching-mode=on,aw-bits={aw}"),
            ),
            (Viommu::Virtio, Some(aw)) => push("-device", format!("virtio-iommu-pci,aw-bits={aw}")),
            (Viommu::Amd, _) => push("-device", "amd-iommu".into()),
            _ => {}
        }
    }
    let iommufd = plan.host.backend == Backend::Iommufd;
    if iommufd {
        push("-object", "iommufd,id=iommufd0".into());
    }
    for d in &target.devices {
        push(
            "-device",
            if iommufd {
                format!("vfio-pci,host={d},iommufd=iommufd0")
            } else {
                format!("vfio-pci,host={d}")
            },
        );
    }
    args
}

/// `args` as one shell line (each argument quoted when it needs it).
pub fn shell_line(program: &str, args: &[String]) -> String {
    let quote = |a: &str| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || ",.=:/_-+@".contains(c))
        {
            a.to_owned()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plan as a libvirt domain XML fragment: the elements to merge into `<domain>`. The
/// memory-locking figure is a comment: libvirt sets QEMU's RLIMIT_MEMLOCK itself
/// (`qemuDomainGetMemLockLimitBytes`), and `<memtune><hard_limit>` would also cap the
/// whole process's memory.
pub fn libvirt_xml(plan: &GuestPlan, devices: &[PciAddress]) -> String {
    let req = &plan.request;
    let kib = |b: u64| b / 1024;
    let mut x = String::new();
    let fixed: u64 = plan
        .ram
        .iter()
        .filter(|p| matches!(p.kind, RamKind::Fixed(_)))
        .map(|p| p.range.end - p.range.start + 1)
        .fold(0, u64::saturating_add);
    if let Some(d) = plan.dimms {
        let _ = writeln!(
            x,
            "<maxMemory slots='{}' unit='KiB'>{}</maxMemory>",
            d.slots,
            kib(d.maxmem)
        );
    }
    let _ = writeln!(
        x,
        "<memory unit='KiB'>{}</memory>",
        kib(req.ram.saturating_add(fixed))
    );
    if req.backing_page > 4096 {
        let _ = writeln!(
            x,
            "<memoryBacking><hugepages><page size='{}' unit='KiB'/></hugepages></memoryBacking>",
            kib(req.backing_page)
        );
    }
    let _ = writeln!(
        x,
        "<!-- the backend pins up to {} KiB ({}): libvirt raises RLIMIT_MEMLOCK for VFIO itself; check it is at least this -->",
        kib(plan.memlock),
        plan.host.backend.name()
    );
    let _ = writeln!(x, "<cpu mode='host-passthrough'>");
    let _ = writeln!(
        x,
        "  <maxphysaddr mode='passthrough' limit='{}'/>",
        plan.phys_bits
    );
    if !req.nodes.is_empty() {
        let _ = writeln!(x, "  <numa>");
        for (i, &n) in req.nodes.iter().enumerate() {
            let _ = writeln!(x, "    <cell id='{i}' memory='{}' unit='KiB'/>", kib(n));
        }
        let _ = writeln!(x, "  </numa>");
    }
    let _ = writeln!(x, "</cpu>");
    let _ = writeln!(x, "<devices>");
    let _ = writeln!(
        x,
        "  <controller type='pci' model='pcie-root'><pcihole64 unit='KiB'>{}</pcihole64></controller>",
        kib(plan.hole64_size())
    );
    if let Some(v) = &plan.viommu {
        match (v.kind, v.aw_bits) {
            (Viommu::Intel, Some(aw)) => {
                let _ = writeln!(
                    x,
                    "  <iommu model='intel'><driver caching_mode='on' aw_bits='{aw}'/></iommu>"
                );
            }
            (Viommu::Virtio, Some(aw)) => {
                let _ = writeln!(
                    x,
                    "  <iommu model='virtio'><driver aw_bits='{aw}'/></iommu>"
                );
            }
            (kind, _) => {
                let _ = writeln!(x, "  <iommu model='{}'/>", kind.name());
            }
        }
    }
    for piece in &plan.ram {
        if let RamKind::Fixed(_) = piece.kind {
            let _ = writeln!(
                x,
                "  <memory model='dimm'><target><size unit='KiB'>{}</size><node>0</node></target><address type='dimm' base='{:#x}'/></memory>",
                kib(piece.range.end - piece.range.start + 1),
                piece.range.start
            );
        }
    }
    for d in devices {
        let driver = if plan.host.backend == Backend::Iommufd {
            "<driver iommufd='yes'/>"
        } else {
            ""
        };
        let _ = writeln!(
            x,
            "  <hostdev mode='subsystem' type='pci' managed='yes'>{driver}<source><address domain='{:#06x}' bus='{:#04x}' slot='{:#04x}' function='{:#x}'/></source></hostdev>",
            d.domain, d.bus, d.device, d.function
        );
    }
    let _ = writeln!(x, "</devices>");
    x
}

/// The plan as cloud-hypervisor arguments, or why it has none: cloud-hypervisor has
/// neither fixed-address RAM, nor `max-ram-below-4g`, nor a vIOMMU other than
/// virtio-iommu.
pub fn cloud_hypervisor_args(
    plan: &GuestPlan,
    devices: &[PciAddress],
) -> Result<Vec<String>, String> {
    let req = &plan.request;
    if !req.fixed.is_empty() {
        return Err("cloud-hypervisor places no RAM at fixed addresses (pc-dimms)".into());
    }
    if plan.max_ram_below_4g.is_some() {
        return Err(
            "the plan lowers RAM below 4 GiB, which cloud-hypervisor cannot (it fills up to 3 GiB)"
                .into(),
        );
    }
    let iommu = match plan.viommu.as_ref().map(|v| v.kind) {
        None => false,
        Some(Viommu::Virtio) => true,
        Some(k) => {
            return Err(format!(
                "cloud-hypervisor's only vIOMMU is virtio-iommu, not {}",
                k.name()
            ))
        }
    };
    let mut args = Vec::new();
    let huge = if req.backing_page > 4096 {
        format!(
            ",hugepages=on,hugepage_size={}",
            format_size(u128::from(req.backing_page))
        )
    } else {
        String::new()
    };
    if req.nodes.is_empty() {
        args.extend([
            "--memory".into(),
            format!("size={}{huge}", format_size(u128::from(req.ram))),
        ]);
    } else {
        args.extend(["--memory".into(), "size=0".into()]);
        for (i, &n) in req.nodes.iter().enumerate() {
            args.extend([
                "--memory-zone".into(),
                format!("id=mem{i},size={}{huge}", format_size(u128::from(n))),
            ]);
        }
        for i in 0..req.nodes.len() {
            args.extend([
                "--numa".into(),
                format!("guest_numa_id={i},memory_zones=mem{i}"),
            ]);
        }
    }
    args.extend([
        "--cpus".into(),
        format!("boot=1,max_phys_bits={}", plan.phys_bits),
    ]);
    if let Some(aw) = plan.viommu.as_ref().and_then(|v| v.aw_bits) {
        args.extend(["--platform".into(), format!("iommu_address_width={aw}")]);
    }
    for d in devices {
        args.extend([
            "--device".into(),
            format!(
                "path=/sys/bus/pci/devices/{d}/{}",
                if iommu { ",iommu=on" } else { "" }
            ),
        ]);
    }
    Ok(args)
}
