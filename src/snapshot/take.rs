//! Taking a snapshot: the library's own readers run once over the live host through a
//! recording view, so the snapshot holds exactly what they read, raw.

use std::path::Path;
use std::sync::Arc;

use crate::decode::bytes::ByteOrder;
use crate::decode::device_info::decode_device_info;
use crate::decode::ioas::encode_iova_ranges;
use crate::error::Error;
use crate::facts::ContainerBackend;
use crate::query::cdev::IommufdDevice;
use crate::query::container::{Container, Group, Target};
use crate::query::device::{bars_of, Device};
use crate::query::get_info::capture_type1_with;
use crate::query::host::HostSummary;
use crate::query::iommufd::rlimit_mode_val64;
use crate::query::report::{IommufdReport, Opened};
use crate::query::spapr_tce::capture_spapr_tce_with;
use crate::sys::arch::Arch;
use crate::sys::cpu;
use crate::sys::kernel::{page_size, SystemKernel};
use crate::sys::limits::{memlock_limit, ProcessMemlock};
use crate::sys::paths::HostPaths;
use crate::sys::pci_ids::{PciIds, PATHS as PCI_IDS_PATHS};
use crate::sys::sysfs::PciAddress;
use crate::sys::uapi::spapr_tce_info;
use crate::sys::view::{key_of, FsView, RecordedNode};

use super::{
    recorded_region, ConfigRead, DeviceAnswers, IommufdAnswers, Machine, RecordedContainer,
    RecordedDevice, RecordedError, RecordedHwInfo, RecordedIommufd, RecordedRanges,
    RecordedSpaprTce, Snapshot, TakenAs,
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
/// nothing is mapped) with its vfio-pci devices and their BAR registers (on IBM POWER the
/// sPAPR TCE container), the refusal of every other group's, and this process's memlock
/// limits. Containers the host refuses are recorded with the host's error. Then, every
/// container closed, each device of every group on the iommufd path as `query --backend
/// iommufd` asks it (bound to its own `/dev/iommu`, attached to a new IOAS, asked, closed:
/// nothing is mapped), or the host's refusal. Taking a snapshot never fails.
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
    let mut spapr_tce = Vec::new();
    let mut devices = Vec::new();
    for &group in &viable {
        containers.push(ask(&[group], &rec, &mut devices, &mut spapr_tce));
    }
    // The others are refused before anything is attached (no node, or not viable): kept
    // so that a command replayed for them fails as it did on the host.
    for &group in &refused {
        containers.push(ask(&[group], &rec, &mut devices, &mut spapr_tce));
    }
    if viable.len() > 1 {
        containers.push(ask(&viable, &rec, &mut Vec::new(), &mut spapr_tce));
    }

    // After every container is closed: a device its group's container holds refuses to
    // bind (EBUSY).
    let mut iommufd = Vec::new();
    for group in summary.iter().flat_map(|s| &s.groups) {
        for device in rec.sysfs.group_devices(group.group).unwrap_or_default() {
            let Ok(address) = device.name.parse::<PciAddress>() else {
                continue;
            };
            if iommufd
                .iter()
                .any(|d: &RecordedIommufd| d.address == address)
            {
                continue;
            }
            iommufd.push(RecordedIommufd {
                address,
                answer: ask_iommufd(&address, &rec).map_err(|e| RecordedError::of(&e)),
            });
        }
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
        spapr_tce,
        devices,
        iommufd,
    }
}

/// The device at `address` on the iommufd path, as `query --backend iommufd` (and
/// `device`, and `budget`) ask it: opened, bound and attached, then each question asked
/// once and its answer kept raw (or its error). Everything is closed on return.
fn ask_iommufd(address: &PciAddress, paths: &HostPaths) -> Result<IommufdAnswers, Error> {
    let device = IommufdDevice::open(address, paths)?;
    let kept = |e: &Error| RecordedError::of(e);
    let ranges = device.iova_ranges();
    let hw_info = device.hw_info();
    let iova_ranges = ranges
        .as_ref()
        .map(|r| RecordedRanges {
            iovas: encode_iova_ranges(&r.ranges),
            alignment: r.alignment,
            calls: r.calls,
        })
        .map_err(kept);
    let recorded_hw = hw_info.as_ref().map(RecordedHwInfo::of).map_err(kept);
    let opened = Opened {
        address: *address,
        cdev: device.cdev_path().to_owned(),
        dev_id: device.dev_id(),
        ioas: device.ioas(),
        hwpt: device.hwpt(),
    };
    if let Ok(ranges) = ranges {
        // The report reads its group's sysfs: recorded with it (the report is replayed).
        let _ = IommufdReport::from_answers(opened.clone(), ranges, hw_info, paths);
    }
    Ok(IommufdAnswers {
        cdev: opened.cdev,
        dev_id: opened.dev_id,
        ioas: opened.ioas,
        hwpt: opened.hwpt,
        iova_ranges,
        hw_info: recorded_hw,
        rlimit_mode: device.iommufd().rlimit_mode().map_err(|e| kept(&e)),
        device: device_answers(device.device()).map_err(|e| kept(&e)),
    })
}

/// One container of `groups`, opened and asked as `query` does, then closed; with one
/// group, each of its vfio-pci devices opened through it and asked as `device` does,
/// into `devices`. A container that offers only sPAPR TCE (IBM POWER) is kept with that
/// refusal, and asked again as `query` then asks it, into `spapr_tce`.
fn ask(
    groups: &[u32],
    paths: &HostPaths,
    devices: &mut Vec<RecordedDevice>,
    spapr_tce: &mut Vec<RecordedSpaprTce>,
) -> RecordedContainer {
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
        ask_devices(groups, &container, paths, devices);
        Ok((container.backend(), raw))
    });
    if let Err(Error::SpaprTceContainer { model, .. }) = answer {
        spapr_tce.push(ask_spapr_tce(groups, model, &targets, paths, devices));
    }
    RecordedContainer {
        groups: groups.to_vec(),
        answer: answer.map_err(|e| RecordedError::of(&e)),
        rlimit_mode,
    }
}

/// The sPAPR TCE container of `groups`, as `query` asks it (`VFIO_IOMMU_SPAPR_TCE_GET_INFO`
/// of the whole structure; no window is created), and its devices as [`ask`] does.
fn ask_spapr_tce(
    groups: &[u32],
    model: &'static str,
    targets: &[Target],
    paths: &HostPaths,
    devices: &mut Vec<RecordedDevice>,
) -> RecordedSpaprTce {
    let answer = Container::open_targets_spapr_tce(targets, paths).and_then(|container| {
        container.query_spapr_tce()?;
        let raw = capture_spapr_tce_with(
            &SystemKernel,
            std::os::fd::AsFd::as_fd(&container),
            spapr_tce_info::SIZE as u32,
        )?;
        ask_devices(groups, &container, paths, devices);
        Ok(raw)
    });
    RecordedSpaprTce {
        groups: groups.to_vec(),
        model,
        answer: answer.map_err(|e| RecordedError::of(&e)),
    }
}

/// With one group in `container`, each of its vfio-pci devices opened through it and
/// asked as `device` does, into `devices`.
fn ask_devices(
    groups: &[u32],
    container: &Container,
    paths: &HostPaths,
    devices: &mut Vec<RecordedDevice>,
) {
    let ([number], [group]) = (groups, container.groups()) else {
        return;
    };
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

/// The device `name` (at `address`) of `group`: its info buffer and each region's answer,
/// and the reads of configuration space its BARs take.
fn ask_device(
    group: &Group,
    name: &str,
    address: &PciAddress,
) -> Result<(DeviceAnswers, Vec<ConfigRead>), Error> {
    let device = group.open_device(name)?;
    let (info, regions) = device_answers(&device)?;
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

/// An open device's info buffer and each region's answer.
fn device_answers(device: &Device) -> Result<DeviceAnswers, Error> {
    let info = device.info_bytes()?;
    // The buffer just read, decoded: one VFIO_DEVICE_GET_INFO, as the replay decodes it.
    let count = decode_device_info(&info, ByteOrder::Native)?.num_regions;
    let regions = (0..count)
        .map(|i| device.region_bytes(i).map_err(|e| RecordedError::of(&e)))
        .collect();
    Ok((info, regions))
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
