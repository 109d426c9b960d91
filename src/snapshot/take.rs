//! Taking a snapshot: the library's own readers run once over the live host through a
//! recording view, so the snapshot holds exactly what they read, raw.

use std::path::Path;
use std::sync::Arc;

use crate::decode::bytes::ByteOrder;
use crate::decode::device_info::decode_device_info;
use crate::error::Error;
use crate::facts::ContainerBackend;
use crate::query::container::{Container, Group, Target};
use crate::query::device::bars_of;
use crate::query::get_info::capture_type1_with;
use crate::query::host::HostSummary;
use crate::query::iommufd::rlimit_mode_val64;
use crate::sys::arch::Arch;
use crate::sys::cpu;
use crate::sys::kernel::{page_size, SystemKernel};
use crate::sys::limits::{memlock_limit, ProcessMemlock};
use crate::sys::paths::HostPaths;
use crate::sys::pci_ids::{PciIds, PATHS as PCI_IDS_PATHS};
use crate::sys::sysfs::PciAddress;
use crate::sys::view::{key_of, FsView, RecordedNode};

use super::{
    recorded_region, ConfigRead, DeviceAnswers, Machine, RecordedContainer, RecordedDevice,
    RecordedError, Snapshot, TakenAs,
};

/// The modules whose parameters a snapshot keeps (what decides limits and behaviour).
const MODULES: [&str; 5] = [
    "vfio",
    "vfio_iommu_type1",
    "vfio_pci",
    "iommufd",
    "vfio_iommu_spapr_tce",
];

/// Records the host `paths` name (normally [`HostPaths::default`]): every group, device
/// and IOMMU unit sysfs shows, the modules' parameters, the CPU's address sizes, each
/// VFIO-viable group's container alone and all of them together (opened, asked, closed:
/// nothing is mapped) with its vfio-pci devices and their BAR registers, the refusal of
/// every other group's, and this process's memlock limits. Containers the host refuses
/// are recorded with the host's error; taking a snapshot never fails.
pub fn take(paths: &HostPaths) -> Snapshot {
    // Before anything is opened, as `budget` reads them before it opens its container.
    let memlock = ProcessMemlock::current();
    // Recorded under the host's names whatever the roots (a test's fake sysfs), as
    // `Snapshot::paths` replays them.
    let view = FsView::recording_at(vec![
        (paths.sysfs.root().to_owned(), "sys".to_owned()),
        (paths.vfio_dir.clone(), "dev/vfio".to_owned()),
        (paths.iommufd.clone(), "dev/iommu".to_owned()),
        (paths.proc.clone(), "proc".to_owned()),
    ]);
    let rec = HostPaths {
        sysfs: paths.sysfs.clone().with_view(view.clone()),
        ..paths.clone()
    };
    let _ = view.read(&rec.proc.join("sys/kernel/osrelease"));
    let summary = HostSummary::read(&rec).ok();
    let mut identities = Vec::new();
    let mut viable = Vec::new();
    let mut refused = Vec::new();
    for group in summary.iter().flat_map(|s| &s.groups) {
        let number = group.group;
        let _ = rec.sysfs.default_domain_type(number);
        // Asked of every group, as `list` asks it.
        let node = rec.vfio_dir.join(number.to_string());
        let has_node = rec.exists(&node).unwrap_or(false);
        if has_node {
            // What `explain` checks of the process it runs in.
            let _ = view.may_open_rdwr(&node);
        }
        if group.viable && has_node {
            viable.push(number);
        } else {
            refused.push(number);
        }
        for device in rec.sysfs.group_devices(number).unwrap_or_default() {
            let id = rec.sysfs.pci_identity(&device.name);
            identities.extend(id.vendor.zip(id.device));
            if let Ok(address) = device.name.parse::<PciAddress>() {
                let _ = rec.sysfs.group_of_device(&address);
                let _ = rec.sysfs.driver_of_device(&address);
                let _ = rec.sysfs.vfio_cdev_of_device(&address);
            }
        }
    }
    for module in MODULES {
        if rec.sysfs.has_module(module) {
            let params = rec
                .sysfs
                .root()
                .join("module")
                .join(module)
                .join("parameters");
            for name in view.read_dir(&params).unwrap_or_default() {
                let _ = view.read(&params.join(name));
            }
        }
    }
    let _ = rec.sysfs.has_vfio_pci_driver();
    let container_node = rec.vfio_dir.join("vfio");
    if rec.exists(&container_node).unwrap_or(false) {
        let _ = view.may_open_rdwr(&container_node);
    }
    let _ = rec.exists(&rec.iommufd);

    let mut containers = Vec::new();
    let mut devices = Vec::new();
    for &group in &viable {
        containers.push(ask(&[group], &rec, &mut devices));
    }
    // The others are refused before anything is attached (no node, or not viable): kept
    // so that a command replayed for them fails as it did on the host.
    for &group in &refused {
        containers.push(ask(&[group], &rec, &mut devices));
    }
    if viable.len() > 1 {
        containers.push(ask(&viable, &rec, &mut Vec::new()));
    }

    let mut files = view.recorded();
    record_pci_ids(&mut files, &identities);
    record_cpuinfo(&mut files, &paths.proc.join("cpuinfo"));
    Snapshot {
        taken_by: format!("vfio-iommu-info {}", crate::VERSION),
        machine: Machine {
            arch: Arch::host().name().to_owned(),
            byte_order: ByteOrder::Native.resolve(),
            page_size: page_size(),
        },
        taken_as: TakenAs {
            memlock_limit: memlock_limit(),
            memlock: Some(memlock),
        },
        files: Arc::new(files),
        containers,
        devices,
    }
}

/// One container of `groups`, opened and asked as `query` does, then closed; with one
/// group, each of its vfio-pci devices opened through it and asked as `device` does,
/// into `devices`.
fn ask(groups: &[u32], paths: &HostPaths, devices: &mut Vec<RecordedDevice>) -> RecordedContainer {
    let targets: Vec<Target> = groups.iter().map(|&g| Target::Group(g)).collect();
    let mut rlimit_mode = None;
    let answer = Container::open_targets(&targets, paths).and_then(|container| {
        // The checks `query` makes (a type1 reply, a compat container with a device) first.
        container.query()?;
        let fd = std::os::fd::AsFd::as_fd(&container);
        let raw = capture_type1_with(&SystemKernel, fd)?;
        // What `budget` asks of a compat container (a type1 one has no such option).
        if let ContainerBackend::IommufdCompat { .. } = container.backend() {
            rlimit_mode = Some(rlimit_mode_val64(fd).map_err(|e| RecordedError::of(&e)));
        }
        if let ([number], [group]) = (groups, container.groups()) {
            for device in paths.sysfs.group_devices(*number).unwrap_or_default() {
                let on_vfio = device.driver.as_deref() == Some("vfio-pci");
                if let (true, Ok(address)) = (on_vfio, device.name.parse::<PciAddress>()) {
                    let (answer, config) = match ask_device(group, &device.name, &address) {
                        Ok((answers, config)) => (Ok(answers), config),
                        Err(e) => (Err(RecordedError::of(&e)), Vec::new()),
                    };
                    devices.push(RecordedDevice {
                        address,
                        group: *number,
                        answer,
                        config,
                    });
                }
            }
        }
        Ok((container.backend(), raw))
    });
    RecordedContainer {
        groups: groups.to_vec(),
        answer: answer.map_err(|e| RecordedError::of(&e)),
        rlimit_mode,
    }
}

/// The device `name` (at `address`) of `group`: its info buffer and each region's answer,
/// and the reads of configuration space its BARs take.
fn ask_device(
    group: &Group,
    name: &str,
    address: &PciAddress,
) -> Result<(DeviceAnswers, Vec<ConfigRead>), Error> {
    let device = group.open_device(name)?;
    let info = device.info_bytes()?;
    // The buffer just read, decoded: one VFIO_DEVICE_GET_INFO, as the replay decodes it.
    let count = decode_device_info(&info, ByteOrder::Native)?.num_regions;
    let regions: Vec<Result<Vec<u8>, RecordedError>> = (0..count)
        .map(|i| device.region_bytes(i).map_err(|e| RecordedError::of(&e)))
        .collect();
    // The walk `Device::bars` makes, over the region answers just recorded (as the replay
    // walks them), each register it reads kept as the kernel returned it. Where it stops
    // (a region or a register refused), the replay stops too.
    let mut config = Vec::new();
    let _ = bars_of(
        |index| recorded_region(&regions, index, ByteOrder::Native, address),
        |region, offset| {
            let mut dword = [0u8; 4];
            let answer = device.read(region, offset, &mut dword).map(|()| dword);
            config.push(ConfigRead {
                offset,
                answer: answer.as_ref().map(|d| *d).map_err(RecordedError::of),
            });
            answer
        },
    );
    Ok(((info, regions), config))
}

/// Of the CPU's description, only the line `guest` reads (the address sizes), under
/// `cpuinfo`'s own key; the errno when it cannot be read.
fn record_cpuinfo(files: &mut crate::sys::view::RecordedTree, path: &Path) {
    let file = match FsView::Live.read(path) {
        // Not UTF-8: no width live (`phys_bits_at`), and none replayed from an empty line.
        Ok(bytes) => Ok(std::str::from_utf8(&bytes)
            .map(cpu::snapshot_subset)
            .unwrap_or_default()
            .into_bytes()),
        Err(e) => Err(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    files.insert(
        "proc/cpuinfo".to_owned(),
        RecordedNode {
            file: Some(file),
            ..RecordedNode::default()
        },
    );
}

/// Only the pci.ids lines that name the recorded devices, under the path the host's
/// database was found at (the paths searched before it recorded as missing): the names
/// replay the same, and the snapshot stays small.
fn record_pci_ids(files: &mut crate::sys::view::RecordedTree, identities: &[(u16, u16)]) {
    for path in PCI_IDS_PATHS {
        let Some(key) = key_of(Path::new(path)) else {
            continue;
        };
        match FsView::Live.read(Path::new(path)) {
            Ok(bytes) => {
                let ids = PciIds::parse(&String::from_utf8_lossy(&bytes));
                let subset = ids.subset(identities.iter().copied());
                files.insert(
                    key,
                    RecordedNode {
                        file: Some(Ok(subset.into_bytes())),
                        ..RecordedNode::default()
                    },
                );
                return;
            }
            Err(e) => {
                files.insert(
                    key,
                    RecordedNode {
                        file: Some(Err(e.raw_os_error().unwrap_or(libc::EIO))),
                        ..RecordedNode::default()
                    },
                );
            }
        }
    }
}
