//! A Rust VMM's VFIO objects, opened by cloud-hypervisor's stack (vfio-ioctls), and what
//! vfio-iommu-info says on their fds before the VMM maps guest memory.
//!
//! ```text
//! cargo run -p vfio-iommu-info-rust-vmm --example vmm_fds -- 0000:00:03.0            # container, group, device
//! cargo run -p vfio-iommu-info-rust-vmm --example vmm_fds -- 0000:00:03.0 --iommufd  # the cdev on /dev/iommu
//! ```
//!
//! The device must be bound to vfio-pci with its group viable; run as root (or with access
//! to `/dev/vfio`). No KVM device is needed. Exit status 1 when vfio-ioctls or the library
//! refuses, 2 for bad usage.

use std::os::fd::AsRawFd;
use std::process::ExitCode;

use vfio_iommu_info::facts::{Backend, DmaFacts, MappingLimit};
use vfio_iommu_info::{HostPaths, IovaSpace, PciAddress, Type1Cap};
use vfio_iommu_info_rust_vmm::{
    iommufd_answers, type1_answers, DeviceAnswers, IommufdStack, StackError, Type1Stack,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (address, iommufd) = match args.as_slice() {
        [a] => (a, false),
        [a, flag] if flag == "--iommufd" => (a, true),
        _ => {
            eprintln!(
                "usage: vmm_fds PCI-ADDRESS [--iommufd]   (e.g. 0000:00:03.0, bound to vfio-pci)"
            );
            return ExitCode::from(2);
        }
    };
    let address: PciAddress = match address.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vmm_fds: {e}");
            return ExitCode::from(2);
        }
    };
    let paths = HostPaths::default();
    let run = if iommufd {
        iommufd_path(&address, &paths)
    } else {
        type1_path(&address, &paths)
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmm_fds: {e}");
            ExitCode::FAILURE
        }
    }
}

fn type1_path(address: &PciAddress, paths: &HostPaths) -> Result<(), StackError> {
    let vmm = Type1Stack::open(address, paths)?;
    println!(
        "vfio-ioctls  VfioContainer::new(None) + VfioDevice::new({}): container fd {}, device fd {}, group {} (no KVM device)",
        vmm.sysfs_path().display(),
        vmm.container_fd().as_raw_fd(),
        vmm.device_fd().as_raw_fd(),
        vmm.group()
    );
    let answers = type1_answers(vmm.container_fd(), vmm.device_fd(), &[vmm.group()], paths)?;
    println!(
        "backend      {} (VFIO_IOMMU_GET_INFO on the VMM's container fd)",
        Backend::from(answers.backend).name()
    );
    print_space(&answers.facts, answers.space.as_ref());
    // DMA_AVAIL as the facts read it: iommufd's compat container reports U32_MAX for "no
    // count".
    match (
        answers.info.dma_avail.present(),
        answers.facts.mapping_limit.as_ref().map(|f| f.value),
    ) {
        (Some(n), Some(MappingLimit::Remaining(_))) => println!("DMA_AVAIL    {n} more mappings"),
        (Some(n), Some(MappingLimit::Unlimited)) => {
            println!("DMA_AVAIL    {n}: no count limit (see the notes)")
        }
        _ => println!(
            "DMA_AVAIL    {}",
            answers.info.dma_avail.absence().map_or_else(
                || "not reported".to_owned(),
                |a| a.explain(Type1Cap::DmaAvail)
            )
        ),
    }
    print_facts(&answers.facts);
    print_device(&answers.device);
    Ok(())
}

fn iommufd_path(address: &PciAddress, paths: &HostPaths) -> Result<(), StackError> {
    let vmm = IommufdStack::open(address, paths)?;
    println!(
        "vfio-ioctls  IommuFd::new() + VfioIommufd::new(.., None, None) + VfioDevice::new({}, .., true): iommufd fd {}, IOAS {}, device fd {}, dev id {} (no KVM device)",
        vmm.sysfs_path().display(),
        vmm.iommufd_fd().as_raw_fd(),
        vmm.ioas(),
        vmm.device_fd().as_raw_fd(),
        vmm.dev_id()
    );
    let answers = iommufd_answers(
        vmm.iommufd_fd(),
        vmm.ioas(),
        vmm.dev_id(),
        vmm.device_fd(),
        vmm.address(),
        paths,
    )?;
    println!("backend      iommufd (IOMMU_IOAS_IOVA_RANGES on the VMM's iommufd and IOAS)");
    print_space(&answers.facts, answers.space.as_ref());
    println!(
        "alignment    {:#x}: every mapping's IOVA and length must be a multiple of it",
        answers.ranges.alignment
    );
    match &answers.hw_info {
        Ok(hw) => println!(
            "hw info      {} ({} bytes), capabilities {:#x}",
            hw.type_name(),
            hw.data_len,
            hw.capabilities.unwrap_or(0)
        ),
        Err(e) => println!("hw info      {e}"),
    }
    print_facts(&answers.facts);
    print_device(&answers.device);
    Ok(())
}

fn print_space(facts: &DmaFacts, space: Option<&IovaSpace>) {
    let Some(space) = space else {
        println!("IOVA ranges  none reported");
        return;
    };
    if let Some(p) = space.page_sizes() {
        println!("page sizes   {p:#}  ({:#x})", p.bits());
    }
    println!("IOVA ranges  {}", space.ranges().len());
    for r in space.ranges() {
        println!("  {r}");
    }
    if let Some(a) = space.aperture() {
        println!("aperture     {a}");
    }
    println!("holes        {}", space.holes().len());
    for h in space.holes() {
        let causes: Vec<String> = h
            .causes
            .iter()
            .map(|c| format!("{} {}", c.kind.name(), c.range))
            .collect();
        let causes = if causes.is_empty() {
            match &facts.reserved_regions {
                Some(_) => "no reserved region of the group explains it".to_owned(),
                None => "reserved regions not read (see notes)".to_owned(),
            }
        } else {
            causes.join(", ")
        };
        println!("  {}  caused by {causes}", h.range);
    }
}

fn print_facts(facts: &DmaFacts) {
    println!("sources");
    let row = |what: &str, source: Option<String>| {
        if let Some(s) = source {
            println!("  {what:<15} [{s}]");
        }
    };
    row(
        "IOVA ranges",
        facts.iova_ranges.as_ref().map(|f| f.source.to_string()),
    );
    row(
        "page sizes",
        facts.page_sizes.as_ref().map(|f| f.source.to_string()),
    );
    row(
        "alignment",
        facts.iova_alignment.as_ref().map(|f| f.source.to_string()),
    );
    row(
        "mapping limit",
        facts.mapping_limit.as_ref().map(|f| f.source.to_string()),
    );
    row(
        "dirty tracking",
        facts.dirty_tracking.as_ref().map(|f| f.source.to_string()),
    );
    row(
        "reserved",
        facts
            .reserved_regions
            .as_ref()
            .map(|f| f.source.to_string()),
    );
    for note in &facts.notes {
        println!("note         {note}");
    }
}

fn print_device(device: &DeviceAnswers) {
    println!(
        "device       flags {:#x}, {} regions, {} irqs (VFIO_DEVICE_GET_INFO on the VMM's device fd)",
        device.info.flags, device.info.num_regions, device.info.num_irqs
    );
    for (index, region) in &device.regions {
        match region {
            Ok(r) => {
                let mut what = Vec::new();
                if r.readable() {
                    what.push("read");
                }
                if r.writable() {
                    what.push("write");
                }
                if r.mmappable() {
                    what.push("mmap");
                }
                println!(
                    "  region {index}  size {:#x}  offset {:#x}  flags {:#x} ({})",
                    r.size,
                    r.offset,
                    r.flags,
                    what.join(" ")
                );
            }
            Err(e) => println!("  region {index}  {e}"),
        }
    }
}
