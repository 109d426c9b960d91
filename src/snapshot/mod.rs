//! Host snapshots: everything the library reads from a host, recorded raw, so that a bug
//! report carries the facts and every command answers offline as it did live.
//!
//! A [`Snapshot`] holds:
//! - every host file the library read while taking it, as the host answered (contents,
//!   link targets, directory listings, whether a node exists, or the errno): the sysfs
//!   files and links of the IOMMU groups and their devices, the IOMMU units' registers,
//!   the VFIO and iommufd module parameters, the kernel release
//!   (`/proc/sys/kernel/osrelease`), whether `/dev/vfio/*` and `/dev/iommu` exist, and the
//!   lines of pci.ids that name the host's devices;
//! - of `/proc/cpuinfo`, only its first `address sizes` line (the CPU's physical address
//!   width `guest` plans with): no model, flags, microcode or serial number;
//! - for each VFIO-viable group, and for all of them together, the container's raw
//!   `VFIO_IOMMU_GET_INFO` buffer as the kernel filled it and who served it (type1 or
//!   iommufd's compat container, with the compat container's raw
//!   `IOMMU_OPTION_RLIMIT_MODE` answer), or the error the host gave; for every other
//!   group, the host's refusal;
//! - on IBM POWER, whose container offers only sPAPR TCE, each such group's raw
//!   `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer (or the host's error) and the model offered;
//! - for each vfio-pci device of those groups, opened through its group as `device` opens
//!   it, the raw `VFIO_DEVICE_GET_INFO` buffer, each region's
//!   `VFIO_DEVICE_GET_REGION_INFO` buffer (or the errno), and the BAR registers of its
//!   configuration space that `guest` reads (each dword as the kernel returned it, or the
//!   error): no other byte of configuration space;
//! - for each device of an IOMMU group, what `query --backend iommufd` asked of it: the
//!   device node opened, bound to a fresh `/dev/iommu` and attached to a new IOAS (the ids
//!   the kernel gave), then the raw `IOMMU_IOAS_IOVA_RANGES` array and
//!   `out_iova_alignment`, `IOMMU_GET_HW_INFO`'s data type, data, capabilities and PASID
//!   width, `IOMMU_OPTION`'s rlimit mode, and the device's info and region buffers through
//!   its node; each as the kernel answered or the host's error (no iommufd, no device
//!   node, not on vfio-pci...), and nothing mapped;
//! - the machine (architecture, byte order, page size) and the version that took it;
//! - what the process that took it could do: whether it could open `/dev/vfio/*`
//!   read-write, its limit on pinned memory (what `explain` checks), and what `budget`
//!   and `guest` read of their own process: `RLIMIT_MEMLOCK` (soft and hard), whether it
//!   had `CAP_IPC_LOCK`, and its `VmLck` and `VmPin` (those two lines of
//!   `/proc/self/status`, nothing else of it).
//!
//! It holds nothing else: no process, memory or environment of the host, no host or user
//! name, no serial number or MAC address, no file outside what the list above names.
//!
//! Replaying ([`Snapshot::paths`], [`Snapshot::container`], [`Snapshot::device`],
//! [`Snapshot::iommufd`]) reads nothing from the host.
//! A question the snapshot holds no answer for is an error naming it, never a guess.

mod file;
mod take;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::decode::bytes::ByteOrder;
use crate::decode::device_info::{decode_device_info, DeviceInfo};
use crate::decode::hw_info::HwInfo;
use crate::decode::ioas::{decode_iova_ranges, IoasRanges};
use crate::decode::region_info::{decode_region_info, RegionInfo};
use crate::decode::spapr_tce::{decode_spapr_tce_with_order, SpaprTceInfo};
use crate::decode::type1::{decode_with_order, IommuInfo};
use crate::error::{Error, ErrorKind};
use crate::facts::{ContainerBackend, DmaFacts};
use crate::plan::attach::{what_if_attach, WhatIf};
use crate::plan::budget::MemlockFacts;
use crate::plan::space::IovaSpace;
use crate::query::device::{bars_of, PciBar};
use crate::query::iommufd::is_process_mode;
use crate::query::report::{IommufdReport, Opened};
use crate::sys::arch::Arch;
use crate::sys::limits::{MemlockLimit, MemlockRlimit, ProcessMemlock};
use crate::sys::paths::HostPaths;
use crate::sys::sysfs::PciAddress;
use crate::sys::uapi::IOCTLS;
use crate::sys::view::{FsView, RecordedTree};

pub use file::{FORMAT, MAX_SNAPSHOT_SIZE, SCHEMA_VERSION};
pub use take::take;

/// The machine a snapshot was taken on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `uname -m`'s name of its architecture (`x86_64`, `s390x`...).
    pub arch: String,
    /// The byte order its kernel's buffers are in.
    pub byte_order: ByteOrder,
    /// Its kernel's page size in bytes.
    pub page_size: u64,
}

/// An error the host gave while the snapshot was taken, kept so that replaying it gives
/// the same error: its message and class, and for a failed ioctl what `explain` reads
/// (which ioctl, on what, and the hint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedError {
    /// The message, as the error displayed it.
    pub message: String,
    /// Its class (with the errno for [`ErrorKind::Os`]).
    pub kind: ErrorKind,
    /// For a failed ioctl: its name, the object it named, and the hint.
    pub ioctl: Option<RecordedIoctl>,
}

/// The parts of a failed ioctl's error ([`Error::Ioctl`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedIoctl {
    /// The ioctl's name (`VFIO_SET_IOMMU`).
    pub name: String,
    /// What it was called on, as the message named it (`container /dev/vfio/vfio (fd 3,
    /// groups 4)`: the fd is the snapshot's).
    pub target: String,
    /// What the message said to do.
    pub hint: Option<String>,
}

impl RecordedError {
    /// `e`, kept.
    pub fn of(e: &Error) -> RecordedError {
        let ioctl = match e {
            Error::Ioctl {
                ioctl,
                target,
                hint,
                ..
            } => Some(RecordedIoctl {
                name: (*ioctl).to_owned(),
                target: target.clone(),
                hint: hint.clone(),
            }),
            _ => None,
        };
        RecordedError {
            message: e.to_string(),
            kind: e.kind(),
            ioctl,
        }
    }

    /// The error again: a failed ioctl this library knows as [`Error::Ioctl`] with the
    /// same parts, anything else as [`Error::Replayed`] with the same message and class.
    pub fn to_error(&self) -> Error {
        if let (Some(i), ErrorKind::Os(errno)) = (&self.ioctl, self.kind) {
            if let Some(known) = IOCTLS.iter().find(|k| k.name == i.name) {
                return Error::Ioctl {
                    ioctl: known.name,
                    target: i.target.clone(),
                    errno,
                    hint: i.hint.clone(),
                };
            }
        }
        Error::Replayed {
            message: self.message.clone(),
            kind: self.kind,
        }
    }
}

/// What the process that took the snapshot could do (what `explain` checks of the
/// process it runs in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TakenAs {
    /// Its limit on pinned memory, when `getrlimit` answered.
    pub memlock_limit: Option<MemlockLimit>,
    /// What limited the memory it could pin (what `budget` and `guest` read of their own
    /// process); `None` when not recorded (a snapshot of an earlier version).
    pub memlock: Option<ProcessMemlock>,
}

/// One container the snapshot's host was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedContainer {
    /// Its groups, ascending.
    pub groups: Vec<u32>,
    /// The host's answer: who served the container and its raw `VFIO_IOMMU_GET_INFO`
    /// buffer, or the host's error.
    pub answer: Result<(ContainerBackend, Vec<u8>), RecordedError>,
    /// iommufd's compat container only: `IOMMU_OPTION_RLIMIT_MODE`'s raw `val64`, or the
    /// host's error; `None` when not asked (a type1 container has no such option).
    pub rlimit_mode: Option<Result<u64, RecordedError>>,
}

/// One IBM POWER container the snapshot's host was asked about: it offered only an sPAPR
/// TCE model, so its groups were asked through `VFIO_IOMMU_SPAPR_TCE_GET_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSpaprTce {
    /// Its groups, ascending.
    pub groups: Vec<u32>,
    /// The model the container offered: `VFIO_SPAPR_TCE_v2_IOMMU` or
    /// `VFIO_SPAPR_TCE_IOMMU`.
    pub model: &'static str,
    /// The raw `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer, or the host's error.
    pub answer: Result<Vec<u8>, RecordedError>,
}

/// An sPAPR TCE container's answer, replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedSpaprTce {
    /// Its groups, ascending.
    pub groups: Vec<u32>,
    /// The model's name (`VFIO_SPAPR_TCE_v2_IOMMU`).
    pub model: &'static str,
    /// The raw buffer.
    pub raw: Vec<u8>,
    /// The buffer, decoded in the snapshot machine's byte order.
    pub info: SpaprTceInfo,
}

impl ReplayedSpaprTce {
    /// The answer as [`DmaFacts`], with the groups' reserved regions, as
    /// [`crate::Container::spapr_tce_facts`] makes them live.
    pub fn facts(&self, paths: &HostPaths) -> DmaFacts {
        let regions = paths
            .sysfs
            .reserved_regions_of_groups(self.groups.iter().copied());
        DmaFacts::from_spapr_tce(&self.info).with_sysfs(regions)
    }
}

/// A device's recorded answers: its raw `VFIO_DEVICE_GET_INFO` buffer and each region's
/// raw `VFIO_DEVICE_GET_REGION_INFO` buffer or error, by index.
pub type DeviceAnswers = (Vec<u8>, Vec<Result<Vec<u8>, RecordedError>>);

/// One device of a VFIO-viable group, opened through its group as `device` opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDevice {
    /// Its PCI address.
    pub address: PciAddress,
    /// Its IOMMU group.
    pub group: u32,
    /// Its answers, or the host's error.
    pub answer: Result<DeviceAnswers, RecordedError>,
    /// The reads of its configuration space that [`crate::query::device::Device::bars`]
    /// makes (its BAR registers), in order; empty when the device was not opened.
    pub config: Vec<ConfigRead>,
}

/// One dword of a device's configuration space, read through its config region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRead {
    /// The offset in configuration space (`0x10` for BAR0's register).
    pub offset: u64,
    /// The 4 bytes as the kernel returned them (little-endian, whatever the machine), or
    /// the host's error.
    pub answer: Result<[u8; 4], RecordedError>,
}

/// A device's answers, replayed.
#[derive(Debug)]
pub struct ReplayedDevice {
    /// Its IOMMU group (the device was opened through `/dev/vfio/GROUP`).
    pub group: u32,
    /// `VFIO_DEVICE_GET_INFO`, decoded in the snapshot machine's byte order.
    pub info: DeviceInfo,
    /// Each region by index: decoded, or the host's error.
    pub regions: Vec<(u32, Result<RegionInfo, Error>)>,
    /// What [`ReplayedDevice::bars`] reads: the recorded device and its byte order.
    recorded: RecordedDevice,
    order: ByteOrder,
}

/// A recorded region's answer, decoded in `order` (or the host's error again).
fn replay_region(
    answer: &Result<Vec<u8>, RecordedError>,
    order: ByteOrder,
) -> Result<RegionInfo, Error> {
    match answer {
        Ok(raw) => decode_region_info(raw, order).map_err(Error::from),
        Err(e) => Err(e.to_error()),
    }
}

impl ReplayedDevice {
    /// The device's implemented BARs as [`crate::query::device::Device::bars`] finds them
    /// live: the same walk over the recorded region infos and BAR registers.
    ///
    /// # Errors
    /// The host's error for a region or register it refused; [`Error::NotInSnapshot`]
    /// for a region or register the snapshot never read (one of an earlier version).
    pub fn bars(&self) -> Result<Vec<PciBar>, Error> {
        let address = self.recorded.address;
        let regions = match &self.recorded.answer {
            Ok((_, regions)) => regions.as_slice(),
            Err(e) => return Err(e.to_error()),
        };
        bars_of(
            |index| recorded_region(regions, index, self.order, &address),
            |_, offset| match self.recorded.config.iter().find(|r| r.offset == offset) {
                Some(ConfigRead {
                    answer: Ok(dword), ..
                }) => Ok(*dword),
                Some(ConfigRead { answer: Err(e), .. }) => Err(e.to_error()),
                None => Err(not_read(format!(
                    "configuration space of device {address} at {offset:#x}"
                ))),
            },
        )
    }
}

/// What the snapshot of a device never read.
fn not_read(what: String) -> Error {
    Error::NotInSnapshot {
        what,
        why: "the snapshot did not read it: take one with this version, with the device bound to vfio-pci".to_owned(),
    }
}

/// Region `index` of the device at `address` from its recorded `regions`, decoded in
/// `order`: what taking a snapshot walks the BARs over, and what replaying it does.
pub(super) fn recorded_region(
    regions: &[Result<Vec<u8>, RecordedError>],
    index: u32,
    order: ByteOrder,
    address: &PciAddress,
) -> Result<RegionInfo, Error> {
    match regions.get(index as usize) {
        Some(answer) => replay_region(answer, order),
        None => Err(not_read(format!("region {index} of device {address}"))),
    }
}

/// One device asked on the iommufd path, as `query --backend iommufd` asks it: its node
/// opened, bound to a fresh `/dev/iommu`, attached to a new IOAS, then asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedIommufd {
    /// Its PCI address.
    pub address: PciAddress,
    /// The answers, or the host's error opening, binding, allocating or attaching.
    pub answer: Result<IommufdAnswers, RecordedError>,
}

/// What the kernel answered for a device bound to an iommufd and attached to an IOAS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommufdAnswers {
    /// The device node (`/dev/vfio/devices/vfioN`).
    pub cdev: PathBuf,
    /// The id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    pub dev_id: u32,
    /// The IOAS `IOMMU_IOAS_ALLOC` gave.
    pub ioas: u32,
    /// The HWPT `VFIO_DEVICE_ATTACH_IOMMUFD_PT` answered.
    pub hwpt: u32,
    /// `IOMMU_IOAS_IOVA_RANGES` of the IOAS.
    pub iova_ranges: Result<RecordedRanges, RecordedError>,
    /// `IOMMU_GET_HW_INFO` of the device.
    pub hw_info: Result<RecordedHwInfo, RecordedError>,
    /// `IOMMU_OPTION` (`IOMMU_OPTION_RLIMIT_MODE`, GET) of the iommufd: `true` in process
    /// mode.
    pub rlimit_mode: Result<bool, RecordedError>,
    /// The device's `VFIO_DEVICE_GET_INFO` and region buffers, asked through its node.
    pub device: Result<DeviceAnswers, RecordedError>,
}

/// `IOMMU_IOAS_IOVA_RANGES`, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRanges {
    /// The `iommu_iova_range` array (`allowed_iovas`, `num_iovas` of them), in the snapshot
    /// machine's byte order.
    pub iovas: Vec<u8>,
    /// `out_iova_alignment`.
    pub alignment: u64,
    /// How many calls the answer took (more than one when the ranges did not fit the
    /// first call's array).
    pub calls: u32,
}

/// `IOMMU_GET_HW_INFO`, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedHwInfo {
    /// `out_data_type`.
    pub data_type: u32,
    /// `data_len` on return: the length of the kernel's data.
    pub data_len: u32,
    /// The data bytes received (at most `data_len`), in the snapshot machine's order.
    pub data: Vec<u8>,
    /// `out_capabilities`; `None` when the kernel predates the field (6.6).
    pub capabilities: Option<u64>,
    /// `out_max_pasid_log2`.
    pub max_pasid_log2: u8,
}

impl RecordedHwInfo {
    /// `h`'s answer, kept.
    pub fn of(h: &HwInfo) -> RecordedHwInfo {
        RecordedHwInfo {
            data_type: h.data_type,
            data_len: h.data_len,
            data: h.data.clone(),
            capabilities: h.capabilities,
            max_pasid_log2: h.max_pasid_log2,
        }
    }
}

/// A device's iommufd answers, replayed (see [`Snapshot::iommufd`]).
#[derive(Debug)]
pub struct ReplayedIommufd {
    /// The device as it was opened, bound and attached.
    pub opened: Opened,
    /// `IOMMU_IOAS_IOVA_RANGES`, decoded in the snapshot machine's byte order, or the
    /// host's error.
    pub ranges: Result<IoasRanges, Error>,
    /// `IOMMU_GET_HW_INFO` with the snapshot machine's page size and byte order, or the
    /// host's error.
    pub hw_info: Result<HwInfo, Error>,
    /// The iommufd's rlimit mode (`true`: process mode), or the host's error.
    pub rlimit_mode: Result<bool, Error>,
    /// The device's info and regions through its node, decoded, or the host's error.
    pub device: Result<ReplayedDeviceInfo, Error>,
}

/// A device's `VFIO_DEVICE_GET_INFO` and regions, decoded.
#[derive(Debug)]
pub struct ReplayedDeviceInfo {
    /// `VFIO_DEVICE_GET_INFO`.
    pub info: DeviceInfo,
    /// Each region by index: decoded, or the host's error.
    pub regions: Vec<(u32, Result<RegionInfo, Error>)>,
}

impl ReplayedIommufd {
    /// The report `query --backend iommufd` gave on the host, as
    /// [`IommufdReport::open`] builds it live, with sysfs answered from `paths` (the
    /// snapshot's): the host's error when the IOAS ranges were refused or do not decode.
    pub fn report(self, paths: &HostPaths) -> Result<IommufdReport, Error> {
        let ranges = self.ranges?;
        Ok(IommufdReport::from_answers(
            self.opened,
            ranges,
            self.hw_info,
            paths,
        ))
    }
}

/// A host, recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The version of this library that took it (`vfio-iommu-info 0.8.0`).
    pub taken_by: String,
    /// The machine.
    pub machine: Machine,
    /// What the process that took it could do.
    pub taken_as: TakenAs,
    /// The host files read, by path.
    pub files: Arc<RecordedTree>,
    /// The containers asked about.
    pub containers: Vec<RecordedContainer>,
    /// The sPAPR TCE containers asked about (IBM POWER; empty elsewhere).
    pub spapr_tce: Vec<RecordedSpaprTce>,
    /// The devices asked about.
    pub devices: Vec<RecordedDevice>,
    /// The devices asked about on the iommufd path.
    pub iommufd: Vec<RecordedIommufd>,
}

/// A container's answer, replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedContainer {
    /// Its groups, ascending.
    pub groups: Vec<u32>,
    /// Who served it.
    pub backend: ContainerBackend,
    /// The raw `VFIO_IOMMU_GET_INFO` buffer.
    pub raw: Vec<u8>,
    /// The buffer, decoded in the snapshot machine's byte order.
    pub info: IommuInfo,
    /// iommufd's compat container: `IOMMU_OPTION_RLIMIT_MODE` as the host answered it.
    pub rlimit_mode: Option<Result<u64, RecordedError>>,
}

impl ReplayedContainer {
    /// iommufd's rlimit mode of the container (`true`: process mode) as
    /// [`crate::query::iommufd::rlimit_mode`] answers it live.
    ///
    /// # Errors
    /// The host's error; [`Error::NotInSnapshot`] when the snapshot never asked (a type1
    /// container, which has no such option, or a snapshot of an earlier version).
    pub fn rlimit_mode(&self) -> Result<bool, Error> {
        match &self.rlimit_mode {
            Some(Ok(val64)) => Ok(is_process_mode(*val64)),
            Some(Err(e)) => Err(e.to_error()),
            None => Err(Error::NotInSnapshot {
                what: format!("the rlimit mode of {}", containers_name(&self.groups)),
                why: "the snapshot asks it of iommufd's compat container only: take one with this version".to_owned(),
            }),
        }
    }

    /// The answer as [`DmaFacts`] with the groups' reserved regions from the snapshot, as
    /// [`crate::Container::facts`] makes them live.
    pub fn facts(&self, paths: &HostPaths) -> DmaFacts {
        let regions = paths
            .sysfs
            .reserved_regions_of_groups(self.groups.iter().copied());
        DmaFacts::from_type1(&self.info, self.backend.into()).with_sysfs(regions)
    }

    /// The container's space with its groups' reserved regions, as
    /// [`crate::Container::space`] makes it live: `None` when it reports no IOVA range.
    ///
    /// # Errors
    /// A group's `reserved_regions` the snapshot cannot answer.
    pub fn space(&self, paths: &HostPaths) -> Result<Option<IovaSpace>, Error> {
        let Some(space) = IovaSpace::from_info(&self.info) else {
            return Ok(None);
        };
        Ok(Some(space.with_groups(&paths.sysfs, &self.groups)?))
    }

    /// What attaching `group` would make of the space, as
    /// [`crate::Container::what_if_attach`] predicts it live (every group of a recorded
    /// container constrains its space: the snapshot opened a device of each).
    ///
    /// # Errors
    /// A sysfs answer the snapshot does not hold.
    pub fn what_if_attach(&self, paths: &HostPaths, group: u32) -> Result<Option<WhatIf>, Error> {
        let Some(before) = self.space(paths)? else {
            return Ok(None);
        };
        Ok(Some(what_if_attach(
            &before,
            &self.groups,
            group,
            &paths.sysfs,
        )?))
    }
}

impl Snapshot {
    /// Reads and checks the snapshot file `path` (a regular file of at most
    /// [`MAX_SNAPSHOT_SIZE`] bytes; a FIFO, a device or a directory is refused unread).
    ///
    /// # Errors
    /// [`Error::Open`] when it cannot be read, [`Error::BadSnapshot`] when it is not a
    /// snapshot this version reads (with the line and column, or the entry, at fault).
    pub fn read(path: &Path) -> Result<Snapshot, Error> {
        let bytes = file::read_bounded(path)?;
        Snapshot::parse(&bytes).map_err(|problem| Error::BadSnapshot {
            path: path.to_owned(),
            problem,
        })
    }

    /// Checks and decodes a snapshot's bytes; the error says what is wrong and where.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        file::parse(bytes)
    }

    /// The snapshot as its file's text (JSON, one entry per line where it helps a diff).
    pub fn to_text(&self) -> String {
        file::write(self)
    }

    /// The host's paths, every file answered from the snapshot.
    pub fn paths(&self) -> HostPaths {
        HostPaths::with_view(FsView::Replay(Arc::clone(&self.files)))
    }

    /// The architecture of the host that took it (`machine.arch`, as [`Arch::from_name`]
    /// reads it): what `explain` judges as and whether `guest` plans for it.
    pub fn arch(&self) -> Arch {
        Arch::from_name(&self.machine.arch)
    }

    /// The kernel release of the host (`uname -r`), when the snapshot holds it.
    pub fn kernel_release(&self) -> Option<String> {
        self.paths()
            .view()
            .read_to_string(Path::new("/proc/sys/kernel/osrelease"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// What limited the memory the process that took the snapshot could pin, as
    /// [`MemlockFacts::current`] reads it of a live process (the page size the
    /// snapshot's machine's).
    ///
    /// # Errors
    /// [`Error::NotInSnapshot`] when the snapshot does not hold it (an earlier version's).
    pub fn memlock_facts(&self) -> Result<MemlockFacts, Error> {
        Ok(MemlockFacts::of(
            &self.taken_memlock()?,
            self.machine.page_size,
        ))
    }

    /// `RLIMIT_MEMLOCK` of the process that took the snapshot, as
    /// [`crate::sys::limits::memlock_rlimit`] reads it live (`None`: `getrlimit` failed).
    ///
    /// # Errors
    /// [`Error::NotInSnapshot`] when the snapshot does not hold it (an earlier version's).
    pub fn memlock_rlimit(&self) -> Result<Option<MemlockRlimit>, Error> {
        Ok(self.taken_memlock()?.rlimit)
    }

    fn taken_memlock(&self) -> Result<ProcessMemlock, Error> {
        self.taken_as.memlock.ok_or_else(|| Error::NotInSnapshot {
            what: "the memlock limits of the process that took it".to_owned(),
            why: "a snapshot of an earlier version: take it again with this version".to_owned(),
        })
    }

    /// The device at `address` as the host answered it, opened through its group.
    ///
    /// # Errors
    /// [`Error::NotInSnapshot`] when the snapshot holds no answer for it (not in a
    /// VFIO-viable group, or not on vfio-pci); the host's own error when it refused
    /// ([`RecordedError::to_error`]); [`Error::Malformed`] when its recorded info buffer
    /// does not decode.
    pub fn device(&self, address: &PciAddress) -> Result<ReplayedDevice, Error> {
        let what = format!("device {address}");
        let Some(found) = self.devices.iter().find(|d| d.address == *address) else {
            return Err(Error::NotInSnapshot {
                what,
                why: "the snapshot holds no answer for it: a snapshot opens the vfio-pci devices of each VFIO-viable group; take one on the host with the device bound to vfio-pci".to_owned(),
            });
        };
        let answers = found.answer.as_ref().map_err(RecordedError::to_error)?;
        let ReplayedDeviceInfo { info, regions } = self.device_info(answers)?;
        Ok(ReplayedDevice {
            group: found.group,
            info,
            regions,
            recorded: found.clone(),
            order: self.machine.byte_order,
        })
    }

    /// A device's recorded buffers, decoded in the snapshot machine's byte order.
    fn device_info(&self, (info, regions): &DeviceAnswers) -> Result<ReplayedDeviceInfo, Error> {
        let order = self.machine.byte_order;
        let regions = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u32, replay_region(r, order)))
            .collect();
        Ok(ReplayedDeviceInfo {
            info: decode_device_info(info, order)?,
            regions,
        })
    }

    /// The device at `address` as the host answered it on the iommufd path (what
    /// `query --backend iommufd` and `device --backend iommufd` asked): each answer
    /// decoded in the snapshot machine's byte order, with its page size.
    ///
    /// # Errors
    /// [`Error::NotInSnapshot`] when the snapshot holds no iommufd answer for it (not a
    /// device of an IOMMU group, or a snapshot taken before this version recorded them);
    /// the host's own error when it could not open, bind or attach the device
    /// ([`RecordedError::to_error`]).
    pub fn iommufd(&self, address: &PciAddress) -> Result<ReplayedIommufd, Error> {
        let Some(found) = self.iommufd.iter().find(|d| d.address == *address) else {
            return Err(Error::NotInSnapshot {
                what: format!("device {address} on the iommufd path"),
                why: "the snapshot holds no iommufd answer for it: a snapshot asks each device of an IOMMU group; take one on the host with the device there (or ask with --backend type1)".to_owned(),
            });
        };
        let a = found.answer.as_ref().map_err(RecordedError::to_error)?;
        let order = self.machine.byte_order;
        let ranges = a
            .iova_ranges
            .as_ref()
            .map_err(RecordedError::to_error)
            .and_then(|r| {
                Ok(IoasRanges {
                    ranges: decode_iova_ranges(&r.iovas, order)?,
                    alignment: r.alignment,
                    calls: r.calls,
                })
            });
        let hw_info = a
            .hw_info
            .as_ref()
            .map_err(RecordedError::to_error)
            .map(|h| HwInfo {
                data_type: h.data_type,
                data_len: h.data_len,
                data: h.data.clone(),
                capabilities: h.capabilities,
                max_pasid_log2: h.max_pasid_log2,
                kernel_page_size: self.machine.page_size,
                byte_order: order,
            });
        Ok(ReplayedIommufd {
            opened: Opened {
                address: *address,
                cdev: a.cdev.clone(),
                dev_id: a.dev_id,
                ioas: a.ioas,
                hwpt: a.hwpt,
            },
            ranges,
            hw_info,
            rlimit_mode: a.rlimit_mode.clone().map_err(|e| e.to_error()),
            device: a
                .device
                .as_ref()
                .map_err(RecordedError::to_error)
                .and_then(|d| self.device_info(d)),
        })
    }

    /// The report `query --backend iommufd ADDRESS` gave on the host
    /// ([`Snapshot::iommufd`], then [`ReplayedIommufd::report`]), every sysfs answer from
    /// the snapshot.
    ///
    /// # Errors
    /// As [`Snapshot::iommufd`]; and the host's error when the IOAS ranges were refused,
    /// [`Error::Malformed`] when the recorded ranges do not decode.
    pub fn iommufd_report(&self, address: &PciAddress) -> Result<IommufdReport, Error> {
        self.iommufd(address)?.report(&self.paths())
    }

    /// The container of `groups` (any order, each once) as the host answered it.
    ///
    /// # Errors
    /// [`Error::NotInSnapshot`] when the snapshot holds no such container; the host's own
    /// error when it refused ([`RecordedError::to_error`]); [`Error::Malformed`] when the
    /// recorded buffer does not decode.
    pub fn container(&self, groups: &[u32]) -> Result<ReplayedContainer, Error> {
        let wanted = sorted(groups);
        let Some(found) = self.containers.iter().find(|c| c.groups == wanted) else {
            return Err(not_held(
                "a container",
                &wanted,
                self.containers.iter().map(|c| &c.groups[..]),
            ));
        };
        match &found.answer {
            Ok((backend, raw)) => Ok(ReplayedContainer {
                groups: wanted,
                backend: *backend,
                info: decode_with_order(raw, self.machine.byte_order)?,
                raw: raw.clone(),
                rlimit_mode: found.rlimit_mode.clone(),
            }),
            Err(e) => Err(e.to_error()),
        }
    }

    /// The sPAPR TCE container of `groups` (IBM POWER: the container offered only an sPAPR
    /// TCE model) as the host answered it.
    ///
    /// # Errors
    /// As [`Snapshot::container`].
    pub fn spapr_tce_container(&self, groups: &[u32]) -> Result<ReplayedSpaprTce, Error> {
        let wanted = sorted(groups);
        let Some(found) = self.spapr_tce.iter().find(|c| c.groups == wanted) else {
            return Err(not_held(
                "an sPAPR TCE container",
                &wanted,
                self.spapr_tce.iter().map(|c| &c.groups[..]),
            ));
        };
        let raw = found.answer.as_ref().map_err(RecordedError::to_error)?;
        Ok(ReplayedSpaprTce {
            groups: wanted,
            model: found.model,
            info: decode_spapr_tce_with_order(raw, self.machine.byte_order)?,
            raw: raw.clone(),
        })
    }
}

/// `groups` ascending, each once.
fn sorted(groups: &[u32]) -> Vec<u32> {
    let mut wanted = groups.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

fn join(groups: &[u32], sep: &str) -> String {
    groups
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// The error for `kind` of `wanted` missing from a snapshot that holds `held`.
fn not_held<'a>(kind: &str, wanted: &[u32], held: impl Iterator<Item = &'a [u32]>) -> Error {
    let what = named(kind, wanted);
    let held: Vec<String> = held.map(|g| format!("[{}]", join(g, ","))).collect();
    Error::NotInSnapshot {
        what,
        why: format!(
            "the snapshot holds no such container (it holds {}): a snapshot asks each group alone and the VFIO-viable ones all together; take one on the host with those groups bound to vfio-pci",
            if held.is_empty() { "none".to_owned() } else { held.join(" ") }
        ),
    }
}

/// `a container of group 4`, `a container of groups 4, 5` (`groups` sorted).
fn containers_name(groups: &[u32]) -> String {
    named("a container", groups)
}

/// `KIND of group 4`, `KIND of groups 4, 5` (`groups` sorted).
fn named(kind: &str, groups: &[u32]) -> String {
    match groups {
        [g] => format!("{kind} of group {g}"),
        _ => format!("{kind} of groups {}", join(groups, ", ")),
    }
}
