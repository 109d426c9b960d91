//! The snapshot file: JSON text (safe to paste in a bug report, diffable), checked entry by
//! entry before anything in it is believed. A file from anyone may be hostile: sizes,
//! counts, paths and buffers are bounded and validated here, and the buffers are decoded
//! later by the same hardened decoders as the kernel's.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decode::bytes::ByteOrder;
use crate::decode::ioas::IOVA_RANGE_SIZE;
use crate::error::{Errno, Error, ErrorKind};
use crate::facts::ContainerBackend;
use crate::query::get_info::MAX_INFO_SIZE;
use crate::query::iommufd::{HW_INFO_MAX, MAX_RANGES};
use crate::query::retry::MAX_QUERY_CALLS;
use crate::sys::limits::{LockedMemory, MemlockLimit, MemlockRlimit, ProcessMemlock};
use crate::sys::sysfs::PciAddress;
use crate::sys::view::{is_key, RecordedNode, RecordedTree};

use super::{
    ConfigRead, DeviceAnswers, IommufdAnswers, Machine, RecordedContainer, RecordedDevice,
    RecordedError, RecordedHwInfo, RecordedIoctl, RecordedIommufd, RecordedRanges,
    RecordedSpaprTce, Snapshot, TakenAs,
};

/// What the file says it is (its `format` member).
pub const FORMAT: &str = "vfio-iommu-info snapshot";
/// The layout this version writes and reads (its `schema_version` member).
pub const SCHEMA_VERSION: u32 = 1;
/// The largest snapshot read: a host with thousands of groups takes a few MiB.
pub const MAX_SNAPSHOT_SIZE: u64 = 64 << 20;
/// The most paths one snapshot may hold.
const MAX_FILES: usize = 1 << 20;
/// The most entries one recorded directory may list.
const MAX_ENTRIES: usize = 1 << 20;
/// The most containers one snapshot may hold, and groups one container may have.
const MAX_CONTAINERS: usize = 1 << 16;
/// The longest recorded file (sysfs files are at most a page; pci.ids lines are short).
const MAX_FILE_BYTES: usize = 1 << 20;
/// The longest link target (`PATH_MAX`).
const MAX_LINK: usize = 4096;
/// The sPAPR TCE models a container may offer.
const SPAPR_TCE_MODELS: [&str; 2] = ["VFIO_SPAPR_TCE_v2_IOMMU", "VFIO_SPAPR_TCE_IOMMU"];
/// Where recorded paths may be: what the library reads, and nothing else.
const ROOTS: [&str; 4] = ["sys/", "dev/", "proc/", "usr/share/"];

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    schema_version: u32,
    taken_by: String,
    machine: WireMachine,
    taken_as: WireTakenAs,
    files: Files,
    containers: Vec<WireContainer>,
    /// IBM POWER's containers (absent elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    spapr_tce: Vec<WireSpaprTce>,
    devices: Vec<WireDevice>,
    /// The devices asked on the iommufd path (absent when none was).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    iommufd: Vec<WireIommufd>,
}

/// The `files` object, its members kept in the file's order (sorted, as [`write`] writes
/// them) instead of inserted one by one into a map: a snapshot of a large host has tens of
/// thousands, and [`parse`] sorts and checks them, then builds the tree in one pass.
struct Files(Vec<(String, WireNode)>);

impl Serialize for Files {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for Files {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Files;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of paths")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Files, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, WireNode>()? {
                    if members.len() == MAX_FILES {
                        return Err(serde::de::Error::custom(format!(
                            "files: more than the {MAX_FILES} paths allowed"
                        )));
                    }
                    members.push(member);
                }
                Ok(Files(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMachine {
    arch: String,
    byte_order: String,
    page_size: u64,
}

/// `memlock_limit`: `cap_ipc_lock`, `unlimited`, or the bytes in decimal; absent when
/// `getrlimit` did not answer. `memlock`: what limited the process's pinned memory.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTakenAs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memlock_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memlock: Option<WireMemlock>,
}

/// [`ProcessMemlock`]: each member absent when the kernel did not answer it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMemlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rlimit: Option<WireRlimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cap_ipc_lock: Option<bool>,
    /// `VmLck` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vm_lck: Option<u64>,
    /// `VmPin` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vm_pin: Option<u64>,
}

/// `RLIMIT_MEMLOCK`: each `unlimited` or the bytes in decimal.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRlimit {
    soft: String,
    hard: String,
}

fn limit_text(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".to_owned(), |b| b.to_string())
}

fn limit_of(text: &str, at: &str) -> Result<Option<u64>, String> {
    match text {
        "unlimited" => Ok(None),
        bytes => bytes
            .parse()
            .map(Some)
            .map_err(|_| format!("{at}: {bytes:?} is not unlimited or a number of bytes")),
    }
}

fn process_memlock(w: WireMemlock) -> Result<ProcessMemlock, String> {
    let rlimit = match w.rlimit {
        Some(r) => {
            let soft = limit_of(&r.soft, "taken_as.memlock.rlimit.soft")?;
            let hard = limit_of(&r.hard, "taken_as.memlock.rlimit.hard")?;
            // The kernel keeps the soft limit at or below the hard one (setrlimit: EINVAL).
            if let (Some(s), h) = (soft, hard) {
                if h.is_some_and(|h| s > h) {
                    return Err(format!(
                        "taken_as.memlock.rlimit: soft {s} above hard {}: no kernel allows it",
                        r.hard
                    ));
                }
            } else if hard.is_some() {
                return Err(format!(
                    "taken_as.memlock.rlimit: soft unlimited above hard {}: no kernel allows it",
                    r.hard
                ));
            }
            Some(MemlockRlimit { soft, hard })
        }
        None => None,
    };
    for (name, value) in [("vm_lck", w.vm_lck), ("vm_pin", w.vm_pin)] {
        if let Some(v) = value.filter(|v| v % 1024 != 0) {
            return Err(format!(
                "taken_as.memlock.{name}: {v} is not a whole number of KiB (/proc/self/status counts in kB)"
            ));
        }
    }
    Ok(ProcessMemlock {
        rlimit,
        cap_ipc_lock: w.cap_ipc_lock,
        locked: LockedMemory {
            locked: w.vm_lck,
            pinned: w.vm_pin,
        },
    })
}

fn wire_memlock(p: &ProcessMemlock) -> WireMemlock {
    WireMemlock {
        rlimit: p.rlimit.map(|r| WireRlimit {
            soft: limit_text(r.soft),
            hard: limit_text(r.hard),
        }),
        cap_ipc_lock: p.cap_ipc_lock,
        vm_lck: p.locked.locked,
        vm_pin: p.locked.pinned,
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WireNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exists: Option<bool>,
    /// The contents, when they are UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// The contents, in hex, when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read_errno: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_errno: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries_errno: Option<i32>,
    /// Whether the process that took the snapshot could open it read-write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rdwr: Option<bool>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContainer {
    groups: Vec<u32>,
    /// `type1`, or `iommufd-compat` (with `compat_ioas` when it had one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compat_ioas: Option<u32>,
    /// `VFIO_IOMMU_GET_INFO` as the kernel filled it, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    get_info: Option<String>,
    /// iommufd-compat only: `IOMMU_OPTION_RLIMIT_MODE`'s `val64`, or the host's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rlimit_mode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rlimit_mode_error: Option<WireError>,
    /// The host's error, instead of the three above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// An sPAPR TCE container: the model it offered, and its answer or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSpaprTce {
    groups: Vec<u32>,
    /// `VFIO_SPAPR_TCE_v2_IOMMU` or `VFIO_SPAPR_TCE_IOMMU`.
    model: String,
    /// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` as the kernel filled it, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    get_info: Option<String>,
    /// The host's error, instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// An error the host gave: its message and class, and a failed ioctl's parts.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireError {
    message: String,
    /// `ErrorKind::code`.
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    errno: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ioctl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

fn recorded_error(at: &str, w: WireError) -> Result<RecordedError, String> {
    let errno = errno(w.errno, || format!("{at}.errno"))?.map(Errno);
    let kind = ErrorKind::from_code(&w.kind, errno).ok_or_else(|| {
        format!(
            "{at}.kind: {:?} (errno {:?}) is no error class of this version",
            w.kind, w.errno
        )
    })?;
    let ioctl = match (w.ioctl, w.target) {
        (Some(name), Some(target)) => Some(RecordedIoctl {
            name,
            target,
            hint: w.hint,
        }),
        (None, None) if w.hint.is_none() => None,
        _ => {
            return Err(format!(
                "{at}: an ioctl's error holds ioctl and target (and a hint)"
            ))
        }
    };
    Ok(RecordedError {
        message: w.message,
        kind,
        ioctl,
    })
}

fn wire_error(e: &RecordedError) -> WireError {
    let errno = match e.kind {
        ErrorKind::Os(errno) => Some(errno.0),
        _ => None,
    };
    WireError {
        message: e.message.clone(),
        kind: e.kind.code().to_owned(),
        errno,
        ioctl: e.ioctl.as_ref().map(|i| i.name.clone()),
        target: e.ioctl.as_ref().map(|i| i.target.clone()),
        hint: e.ioctl.as_ref().and_then(|i| i.hint.clone()),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDevice {
    address: String,
    group: u32,
    /// `VFIO_DEVICE_GET_INFO` as the kernel filled it, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regions: Option<Vec<WireRegion>>,
    /// The reads of configuration space its BARs take (with info and regions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<Vec<WireConfigRead>>,
    /// The host's error, instead of the three above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// One dword of configuration space: its 4 bytes in hex as the kernel returned them, or
/// the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireConfigRead {
    offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dword: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// The most configuration-space reads one device may hold (its BARs take 6).
const MAX_CONFIG_READS: usize = 64;
/// The size of PCI Express configuration space.
const CONFIG_SPACE: u64 = 4096;

fn config_reads(at: &str, wire: Vec<WireConfigRead>) -> Result<Vec<ConfigRead>, String> {
    if wire.len() > MAX_CONFIG_READS {
        return Err(format!(
            "{at}.config: {} reads, more than the {MAX_CONFIG_READS} allowed",
            wire.len()
        ));
    }
    let mut reads: Vec<ConfigRead> = Vec::with_capacity(wire.len());
    for (i, w) in wire.into_iter().enumerate() {
        let at = format!("{at}.config[{i}]");
        if w.offset % 4 != 0 || w.offset >= CONFIG_SPACE {
            return Err(format!(
                "{at}.offset: {:#x} is no dword of configuration space (a multiple of 4 below {CONFIG_SPACE:#x})",
                w.offset
            ));
        }
        if reads.iter().any(|r| r.offset == w.offset) {
            return Err(format!("{at}.offset: {:#x} read twice", w.offset));
        }
        let answer = match (w.dword, w.error) {
            (Some(hex), None) => {
                let bytes = unhex(&hex, &format!("{at}.dword"), 4)?;
                Ok(<[u8; 4]>::try_from(bytes.as_slice()).map_err(|_| {
                    format!("{at}.dword: {} bytes, not the 4 of a dword", bytes.len())
                })?)
            }
            (None, Some(e)) => Err(recorded_error(&format!("{at}.error"), e)?),
            _ => return Err(format!("{at}: a read holds dword or error")),
        };
        reads.push(ConfigRead {
            offset: w.offset,
            answer,
        });
    }
    Ok(reads)
}

/// One region: its buffer, or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRegion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    get_region_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// The most regions a device may have (vfio-pci has 9, device-specific ones a few more).
const MAX_REGIONS: usize = 256;

fn device(i: usize, wire: WireDevice) -> Result<RecordedDevice, String> {
    let at = format!("devices[{i}]");
    let address: PciAddress = wire
        .address
        .parse()
        .map_err(|_| format!("{at}.address: {:?} is not a PCI address", wire.address))?;
    let answer = device_answers(&at, wire.error, wire.info, wire.regions)?;
    let config = match (&answer, wire.config) {
        (Ok(_), config) => config_reads(&at, config.unwrap_or_default())?,
        (Err(_), None) => Vec::new(),
        (Err(_), Some(_)) => {
            return Err(format!(
                "{at}: a device holds either error, or info and regions (and config)"
            ))
        }
    };
    Ok(RecordedDevice {
        address,
        group: wire.group,
        answer,
        config,
    })
}

/// A device's info and regions, or the host's error (`at` names the member).
fn device_answers(
    at: &str,
    error: Option<WireError>,
    info: Option<String>,
    regions: Option<Vec<WireRegion>>,
) -> Result<Result<DeviceAnswers, RecordedError>, String> {
    Ok(match (error, info, regions) {
        (Some(e), None, None) => Err(recorded_error(&format!("{at}.error"), e)?),
        (None, Some(info), Some(regions)) => {
            if regions.len() > MAX_REGIONS {
                return Err(format!(
                    "{at}.regions: {}, more than the {MAX_REGIONS} allowed",
                    regions.len()
                ));
            }
            let regions = regions
                .into_iter()
                .enumerate()
                .map(|(r, w)| {
                    let at = format!("{at}.regions[{r}]");
                    match (w.get_region_info, w.error) {
                        (Some(raw), None) => Ok(Ok(unhex(&raw, &at, MAX_INFO_SIZE)?)),
                        (None, Some(e)) => Ok(Err(recorded_error(&format!("{at}.error"), e)?)),
                        _ => Err(format!("{at}: a region holds get_region_info or error")),
                    }
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((unhex(&info, &format!("{at}.info"), MAX_INFO_SIZE)?, regions))
        }
        _ => {
            return Err(format!(
                "{at}: a device holds either error, or info and regions"
            ))
        }
    })
}

fn wire_device_answers(answer: &Result<DeviceAnswers, RecordedError>) -> WireDeviceInfo {
    let mut w = WireDeviceInfo {
        info: None,
        regions: None,
        error: None,
    };
    match answer {
        Ok((info, regions)) => {
            w.info = Some(hex(info));
            w.regions = Some(
                regions
                    .iter()
                    .map(|r| match r {
                        Ok(raw) => WireRegion {
                            get_region_info: Some(hex(raw)),
                            error: None,
                        },
                        Err(e) => WireRegion {
                            get_region_info: None,
                            error: Some(wire_error(e)),
                        },
                    })
                    .collect(),
            );
        }
        Err(e) => w.error = Some(wire_error(e)),
    }
    w
}

/// A device on the iommufd path: the node and the ids the kernel gave, then each
/// question's raw answer; or the host's error instead of all of them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIommufd {
    device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cdev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ioas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hwpt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ioas_iova_ranges: Option<WireRanges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    get_hw_info: Option<WireHwInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rlimit_mode: Option<WireRlimitMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_info: Option<WireDeviceInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// `IOMMU_IOAS_IOVA_RANGES`: the `iommu_iova_range` array in hex, `out_iova_alignment`
/// and the calls it took; or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allowed_iovas: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_iova_alignment: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// `IOMMU_GET_HW_INFO`: `out_data_type`, `data_len`, the data in hex, `out_capabilities`
/// (absent when the kernel predates it) and `out_max_pasid_log2`; or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireHwInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_data_type: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_capabilities: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_max_pasid_log2: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// `IOMMU_OPTION_RLIMIT_MODE`: `process` (true: process mode), or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRlimitMode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

/// A device's info and regions through its node, or the host's error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDeviceInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regions: Option<Vec<WireRegion>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

fn iommufd_entry(i: usize, w: WireIommufd) -> Result<RecordedIommufd, String> {
    let at = format!("iommufd[{i}]");
    let address: PciAddress = w
        .device
        .parse()
        .map_err(|_| format!("{at}.device: {:?} is not a PCI address", w.device))?;
    let answer = match (w.error, w.cdev, w.dev_id, w.ioas, w.hwpt) {
        (Some(e), None, None, None, None)
            if w.ioas_iova_ranges.is_none()
                && w.get_hw_info.is_none()
                && w.rlimit_mode.is_none()
                && w.device_info.is_none() =>
        {
            Err(recorded_error(&format!("{at}.error"), e)?)
        }
        (None, Some(cdev), Some(dev_id), Some(ioas), Some(hwpt)) => {
            if !cdev.starts_with('/') || cdev.len() > MAX_LINK || cdev.contains('\0') {
                return Err(format!(
                    "{at}.cdev: {cdev:?} is no device node (an absolute path of 1..{MAX_LINK} bytes without NUL)"
                ));
            }
            let missing = |member: &str| format!("{at}: an answered device holds {member}");
            let ranges = w
                .ioas_iova_ranges
                .ok_or_else(|| missing("ioas_iova_ranges"))?;
            let hw = w.get_hw_info.ok_or_else(|| missing("get_hw_info"))?;
            let rlimit = w.rlimit_mode.ok_or_else(|| missing("rlimit_mode"))?;
            let dev = w.device_info.ok_or_else(|| missing("device_info"))?;
            Ok(IommufdAnswers {
                cdev: cdev.into(),
                dev_id,
                ioas,
                hwpt,
                iova_ranges: iova_ranges(&format!("{at}.ioas_iova_ranges"), ranges)?,
                hw_info: hw_info(&format!("{at}.get_hw_info"), hw)?,
                rlimit_mode: match (rlimit.process, rlimit.error) {
                    (Some(p), None) => Ok(p),
                    (None, Some(e)) => Err(recorded_error(&format!("{at}.rlimit_mode.error"), e)?),
                    _ => return Err(format!("{at}.rlimit_mode: holds either process or error")),
                },
                device: device_answers(
                    &format!("{at}.device_info"),
                    dev.error,
                    dev.info,
                    dev.regions,
                )?,
            })
        }
        _ => {
            return Err(format!(
                "{at}: a device holds either error, or cdev, dev_id, ioas, hwpt and the answers"
            ))
        }
    };
    Ok(RecordedIommufd { address, answer })
}

fn iova_ranges(at: &str, w: WireRanges) -> Result<Result<RecordedRanges, RecordedError>, String> {
    match (w.error, w.allowed_iovas, w.out_iova_alignment, w.calls) {
        (Some(e), None, None, None) => Ok(Err(recorded_error(&format!("{at}.error"), e)?)),
        (None, Some(raw), Some(alignment), Some(calls)) => {
            let iovas = unhex(
                &raw,
                &format!("{at}.allowed_iovas"),
                MAX_RANGES as usize * IOVA_RANGE_SIZE,
            )?;
            if iovas.len() % IOVA_RANGE_SIZE != 0 {
                return Err(format!(
                    "{at}.allowed_iovas: {} bytes, not a whole number of {IOVA_RANGE_SIZE}-byte ranges",
                    iovas.len()
                ));
            }
            if !alignment.is_power_of_two() {
                return Err(format!(
                    "{at}.out_iova_alignment: {alignment} is no alignment (a power of two)"
                ));
            }
            if !(1..=MAX_QUERY_CALLS as u32).contains(&calls) {
                return Err(format!(
                    "{at}.calls: {calls}, not 1..{MAX_QUERY_CALLS} (every query's bound)"
                ));
            }
            Ok(Ok(RecordedRanges {
                iovas,
                alignment,
                calls,
            }))
        }
        _ => Err(format!(
            "{at}: holds either error, or allowed_iovas, out_iova_alignment and calls"
        )),
    }
}

fn hw_info(at: &str, w: WireHwInfo) -> Result<Result<RecordedHwInfo, RecordedError>, String> {
    match (w.error, w.out_data_type, w.data_len, w.data, w.out_max_pasid_log2) {
        (Some(e), None, None, None, None) if w.out_capabilities.is_none() => {
            Ok(Err(recorded_error(&format!("{at}.error"), e)?))
        }
        (None, Some(data_type), Some(data_len), Some(data), Some(max_pasid_log2)) => {
            let data = unhex(&data, &format!("{at}.data"), HW_INFO_MAX as usize)?;
            if data.len() as u64 > u64::from(data_len) {
                return Err(format!(
                    "{at}.data: {} bytes, more than data_len {data_len} (the kernel copies at most data_len)",
                    data.len()
                ));
            }
            Ok(Ok(RecordedHwInfo {
                data_type,
                data_len,
                data,
                capabilities: w.out_capabilities,
                max_pasid_log2,
            }))
        }
        _ => Err(format!(
            "{at}: holds either error, or out_data_type, data_len, data and out_max_pasid_log2 (and out_capabilities)"
        )),
    }
}

fn wire_iommufd(d: &RecordedIommufd) -> WireIommufd {
    let mut w = WireIommufd {
        device: d.address.to_string(),
        cdev: None,
        dev_id: None,
        ioas: None,
        hwpt: None,
        ioas_iova_ranges: None,
        get_hw_info: None,
        rlimit_mode: None,
        device_info: None,
        error: None,
    };
    let a = match &d.answer {
        Ok(a) => a,
        Err(e) => {
            w.error = Some(wire_error(e));
            return w;
        }
    };
    w.cdev = Some(a.cdev.display().to_string());
    (w.dev_id, w.ioas, w.hwpt) = (Some(a.dev_id), Some(a.ioas), Some(a.hwpt));
    w.ioas_iova_ranges = Some(match &a.iova_ranges {
        Ok(r) => WireRanges {
            allowed_iovas: Some(hex(&r.iovas)),
            out_iova_alignment: Some(r.alignment),
            calls: Some(r.calls),
            error: None,
        },
        Err(e) => WireRanges {
            allowed_iovas: None,
            out_iova_alignment: None,
            calls: None,
            error: Some(wire_error(e)),
        },
    });
    w.get_hw_info = Some(match &a.hw_info {
        Ok(h) => WireHwInfo {
            out_data_type: Some(h.data_type),
            data_len: Some(h.data_len),
            data: Some(hex(&h.data)),
            out_capabilities: h.capabilities,
            out_max_pasid_log2: Some(h.max_pasid_log2),
            error: None,
        },
        Err(e) => WireHwInfo {
            out_data_type: None,
            data_len: None,
            data: None,
            out_capabilities: None,
            out_max_pasid_log2: None,
            error: Some(wire_error(e)),
        },
    });
    w.rlimit_mode = Some(match &a.rlimit_mode {
        Ok(p) => WireRlimitMode {
            process: Some(*p),
            error: None,
        },
        Err(e) => WireRlimitMode {
            process: None,
            error: Some(wire_error(e)),
        },
    });
    w.device_info = Some(wire_device_answers(&a.device));
    w
}

/// Reads at most [`MAX_SNAPSHOT_SIZE`] bytes of the regular file `path`; anything else
/// (a FIFO that would block, a device, a directory) is refused before a byte is read.
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let open_error = |e: std::io::Error, hint: &str| Error::Open {
        path: path.to_owned(),
        errno: Errno::from(e),
        hint: Some(hint.to_owned()),
    };
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            open_error(
                e,
                "name a snapshot file written by `vfio-iommu-info snapshot -o FILE`",
            )
        })?;
    let metadata = file
        .metadata()
        .map_err(|e| open_error(e, "cannot stat it"))?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(Error::BadSnapshot {
            path: path.to_owned(),
            problem: format!("{what}: a snapshot is a regular file"),
        });
    }
    // Sized once from the file's length (bounded: it may change while read), not grown
    // from nothing through a few MiB.
    let mut bytes = Vec::with_capacity(metadata.len().min(MAX_SNAPSHOT_SIZE) as usize + 1);
    file.take(MAX_SNAPSHOT_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| open_error(e, "cannot read it"))?;
    if bytes.len() as u64 > MAX_SNAPSHOT_SIZE {
        return Err(Error::BadSnapshot {
            path: path.to_owned(),
            problem: format!(
                "larger than {} MiB: not a snapshot this version writes",
                MAX_SNAPSHOT_SIZE >> 20
            ),
        });
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str, at: &str, limit: usize) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!("{at}: odd number of hex digits ({})", text.len()));
    }
    if text.len() / 2 > limit {
        return Err(format!(
            "{at}: {} bytes, more than the {limit} allowed",
            text.len() / 2
        ));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("{at}: not hex at digit {i}"))
        })
        .collect()
}

/// `at` names the member for an error; it is only made on one (a snapshot has tens of
/// thousands of members, and formatting each one's name made up a fifth of reading it).
fn errno(value: Option<i32>, at: impl FnOnce() -> String) -> Result<Option<i32>, String> {
    match value {
        Some(e) if !(1..=4095).contains(&e) => {
            Err(format!("{}: errno {e} is no errno (1..4095)", at()))
        }
        other => Ok(other),
    }
}

/// One of `value` and `errno`, or neither; both is a contradiction.
fn answer<T>(
    value: Option<T>,
    errno: Option<i32>,
    at: impl FnOnce() -> String,
) -> Result<Option<Result<T, i32>>, String> {
    match (value, errno) {
        (Some(_), Some(_)) => Err(format!("{}: both an answer and an errno", at())),
        (Some(v), None) => Ok(Some(Ok(v))),
        (None, Some(e)) => Ok(Some(Err(e))),
        (None, None) => Ok(None),
    }
}

fn node(key: &str, wire: WireNode) -> Result<RecordedNode, String> {
    let at = |field: &str| format!("files[{key:?}].{field}");
    let contents = match (wire.text, wire.hex) {
        (Some(_), Some(_)) => return Err(format!("files[{key:?}]: both text and hex")),
        (Some(t), None) if t.len() > MAX_FILE_BYTES => {
            return Err(format!(
                "{}: {} bytes, more than the {MAX_FILE_BYTES} allowed",
                at("text"),
                t.len()
            ))
        }
        (Some(t), None) => Some(t.into_bytes()),
        (None, Some(h)) => Some(unhex(&h, &at("hex"), MAX_FILE_BYTES)?),
        (None, None) => None,
    };
    if let Some(link) = &wire.link {
        if link.is_empty() || link.len() > MAX_LINK || link.contains('\0') {
            return Err(format!(
                "{}: a link target is 1..{MAX_LINK} bytes without NUL",
                at("link")
            ));
        }
    }
    let entries = match wire.entries {
        Some(mut names) => {
            if names.len() > MAX_ENTRIES {
                return Err(format!(
                    "{}: {} names, more than the {MAX_ENTRIES} allowed",
                    at("entries"),
                    names.len()
                ));
            }
            if let Some(bad) = names.iter().find(|n| n.contains('/') || !is_key(n)) {
                return Err(format!("{}: {bad:?} is not a file name", at("entries")));
            }
            names.sort_unstable();
            if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!("{}: {:?} listed twice", at("entries"), twice[0]));
            }
            Some(names)
        }
        None => None,
    };
    Ok(RecordedNode {
        exists: wire.exists,
        rdwr: wire.rdwr,
        file: answer(
            contents,
            errno(wire.read_errno, || at("read_errno"))?,
            || key_at(key),
        )?,
        link: answer(
            wire.link,
            errno(wire.link_errno, || at("link_errno"))?,
            || key_at(key),
        )?,
        dir: answer(
            entries,
            errno(wire.entries_errno, || at("entries_errno"))?,
            || key_at(key),
        )?,
    })
}

fn key_at(key: &str) -> String {
    format!("files[{key:?}]")
}

/// A container's groups, checked (1..MAX_CONTAINERS, each once) and sorted.
fn groups(at: &str, mut groups: Vec<u32>) -> Result<Vec<u32>, String> {
    if groups.is_empty() || groups.len() > MAX_CONTAINERS {
        return Err(format!("{at}.groups: 1..{MAX_CONTAINERS} groups"));
    }
    groups.sort_unstable();
    if groups.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("{at}.groups: a group named twice"));
    }
    Ok(groups)
}

fn spapr_tce(i: usize, wire: WireSpaprTce) -> Result<RecordedSpaprTce, String> {
    let at = format!("spapr_tce[{i}]");
    let groups = groups(&at, wire.groups)?;
    let model = SPAPR_TCE_MODELS
        .into_iter()
        .find(|m| *m == wire.model)
        .ok_or_else(|| {
            format!(
                "{at}.model: {:?} is not {}",
                wire.model,
                SPAPR_TCE_MODELS.join(" or ")
            )
        })?;
    let answer = match (wire.get_info, wire.error) {
        (Some(raw), None) => Ok(unhex(&raw, &format!("{at}.get_info"), MAX_INFO_SIZE)?),
        (None, Some(e)) => Err(recorded_error(&format!("{at}.error"), e)?),
        _ => return Err(format!("{at}: holds either get_info or error")),
    };
    Ok(RecordedSpaprTce {
        groups,
        model,
        answer,
    })
}

fn container(i: usize, wire: WireContainer) -> Result<RecordedContainer, String> {
    let at = format!("containers[{i}]");
    let groups = groups(&at, wire.groups)?;
    let rlimit_mode = match (wire.rlimit_mode, wire.rlimit_mode_error) {
        (Some(_), Some(_)) => return Err(format!("{at}: both rlimit_mode and rlimit_mode_error")),
        (Some(v), None) => Some(Ok(v)),
        (None, Some(e)) => Some(Err(recorded_error(&format!("{at}.rlimit_mode_error"), e)?)),
        (None, None) => None,
    };
    let answer = match (wire.error, wire.backend, wire.get_info) {
        (Some(e), None, None) if wire.compat_ioas.is_none() && rlimit_mode.is_none() => {
            Err(recorded_error(&format!("{at}.error"), e)?)
        }
        (None, Some(backend), Some(raw)) => {
            let backend = match (backend.as_str(), wire.compat_ioas) {
                ("type1", None) if rlimit_mode.is_some() => {
                    return Err(format!(
                        "{at}: a type1 container has no rlimit mode (only iommufd-compat)"
                    ))
                }
                ("type1", None) => ContainerBackend::Vfio,
                ("iommufd-compat", ioas) => ContainerBackend::IommufdCompat { ioas },
                (other, _) => {
                    return Err(format!(
                        "{at}.backend: {other:?} (with compat_ioas {:?}) is not type1 or iommufd-compat",
                        wire.compat_ioas
                    ))
                }
            };
            Ok((
                backend,
                unhex(&raw, &format!("{at}.get_info"), MAX_INFO_SIZE)?,
            ))
        }
        _ => {
            return Err(format!(
                "{at}: a container holds either error, or backend and get_info (and rlimit_mode)"
            ))
        }
    };
    Ok(RecordedContainer {
        groups,
        answer,
        rlimit_mode,
    })
}

/// What any version's snapshot starts with (the rest ignored).
#[derive(Deserialize)]
struct Header {
    format: String,
    schema_version: u32,
    #[serde(default)]
    taken_by: String,
}

/// Whether the file says it is a snapshot of the layout this version reads.
fn check_header(format: &str, schema_version: u32, taken_by: &str) -> Result<(), String> {
    if format != FORMAT {
        return Err(format!("format is {format:?}, not {FORMAT:?}"));
    }
    if schema_version != SCHEMA_VERSION {
        return Err(format!(
            "schema_version {schema_version} is not {SCHEMA_VERSION}, the one this version ({}) reads: decode it with the version that wrote it ({taken_by:?}) or a newer one",
            crate::VERSION,
        ));
    }
    Ok(())
}

/// Checks and decodes a snapshot's bytes.
pub(super) fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
        // Another format or version fails on what it has that this one lacks: say which
        // it is rather than the member this version does not know.
        if let Ok(header) = serde_json::from_slice::<Header>(bytes) {
            if let Err(which) =
                check_header(&header.format, header.schema_version, &header.taken_by)
            {
                return which;
            }
        }
        format!(
            "not a snapshot: line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    check_header(&wire.format, wire.schema_version, &wire.taken_by)?;
    let byte_order = match wire.machine.byte_order.as_str() {
        "little" => ByteOrder::Little,
        "big" => ByteOrder::Big,
        other => {
            return Err(format!(
                "machine.byte_order: {other:?} is not little or big"
            ))
        }
    };
    let page_size = wire.machine.page_size;
    if !page_size.is_power_of_two() || !(4096..=1 << 20).contains(&page_size) {
        return Err(format!(
            "machine.page_size: {page_size} is no page size (a power of two, 4K..1M)"
        ));
    }
    let mut members = wire.files.0;
    // Stable, and one pass over a file written sorted.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(twice) = members.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "files: {:?} named twice (two answers for one path)",
            twice[0].0
        ));
    }
    for (member, len) in [
        ("containers", wire.containers.len()),
        ("spapr_tce", wire.spapr_tce.len()),
        ("devices", wire.devices.len()),
        ("iommufd", wire.iommufd.len()),
    ] {
        if len > MAX_CONTAINERS {
            return Err(format!(
                "{member}: {len}, more than the {MAX_CONTAINERS} allowed"
            ));
        }
    }
    // Collected, not inserted one by one: the keys are sorted, so the tree is built in
    // one pass.
    let files = members
        .into_iter()
        .map(|(key, wire_node)| {
            if !is_key(&key) || !ROOTS.iter().any(|r| key.starts_with(r)) {
                return Err(format!(
                    "files: {key:?} is not a path the library reads (a plain path under {})",
                    ROOTS.join(", ")
                ));
            }
            let n = node(&key, wire_node)?;
            Ok((key, n))
        })
        .collect::<Result<RecordedTree, String>>()?;
    let containers = wire
        .containers
        .into_iter()
        .enumerate()
        .map(|(i, c)| container(i, c))
        .collect::<Result<Vec<_>, _>>()?;
    let spapr_tce = wire
        .spapr_tce
        .into_iter()
        .enumerate()
        .map(|(i, c)| spapr_tce(i, c))
        .collect::<Result<Vec<_>, _>>()?;
    let devices = wire
        .devices
        .into_iter()
        .enumerate()
        .map(|(i, d)| device(i, d))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(twice) = devices
        .iter()
        .enumerate()
        .find(|(i, d)| devices[..*i].iter().any(|e| e.address == d.address))
    {
        return Err(format!(
            "devices[{}]: {} recorded twice",
            twice.0, twice.1.address
        ));
    }
    let iommufd = wire
        .iommufd
        .into_iter()
        .enumerate()
        .map(|(i, d)| iommufd_entry(i, d))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some((i, d)) = iommufd
        .iter()
        .enumerate()
        .find(|(_, d)| !seen.insert(d.address.to_string()))
    {
        return Err(format!("iommufd[{i}]: {} recorded twice", d.address));
    }
    Ok(Snapshot {
        taken_by: wire.taken_by,
        machine: Machine {
            arch: wire.machine.arch,
            byte_order,
            page_size,
        },
        taken_as: TakenAs {
            memlock_limit: wire
                .taken_as
                .memlock_limit
                .as_deref()
                .map(|l| match l {
                    "cap_ipc_lock" => Ok(MemlockLimit::Root),
                    "unlimited" => Ok(MemlockLimit::Unlimited),
                    bytes => bytes.parse().map(MemlockLimit::Bytes).map_err(|_| {
                        format!("taken_as.memlock_limit: {bytes:?} is not cap_ipc_lock, unlimited or a number of bytes")
                    }),
                })
                .transpose()?,
            memlock: wire.taken_as.memlock.map(process_memlock).transpose()?,
        },
        files: Arc::new(files),
        containers,
        spapr_tce,
        devices,
        iommufd,
    })
}

fn wire_node(n: &RecordedNode) -> WireNode {
    let mut w = WireNode {
        exists: n.exists,
        rdwr: n.rdwr,
        ..WireNode::default()
    };
    match &n.file {
        Some(Ok(bytes)) => match std::str::from_utf8(bytes) {
            Ok(t) => w.text = Some(t.to_owned()),
            Err(_) => w.hex = Some(hex(bytes)),
        },
        Some(Err(e)) => w.read_errno = Some(*e),
        None => {}
    }
    match &n.link {
        Some(Ok(t)) => w.link = Some(t.clone()),
        Some(Err(e)) => w.link_errno = Some(*e),
        None => {}
    }
    match &n.dir {
        Some(Ok(names)) => w.entries = Some(names.clone()),
        Some(Err(e)) => w.entries_errno = Some(*e),
        None => {}
    }
    w
}

fn wire_device(d: &RecordedDevice) -> WireDevice {
    let answers = wire_device_answers(&d.answer);
    WireDevice {
        address: d.address.to_string(),
        group: d.group,
        info: answers.info,
        regions: answers.regions,
        config: match &d.answer {
            Ok(_) if !d.config.is_empty() => Some(
                d.config
                    .iter()
                    .map(|r| match &r.answer {
                        Ok(dword) => WireConfigRead {
                            offset: r.offset,
                            dword: Some(hex(dword)),
                            error: None,
                        },
                        Err(e) => WireConfigRead {
                            offset: r.offset,
                            dword: None,
                            error: Some(wire_error(e)),
                        },
                    })
                    .collect(),
            ),
            _ => None,
        },
        error: answers.error,
    }
}

/// The snapshot as JSON text.
pub(super) fn write(s: &Snapshot) -> String {
    let wire = Wire {
        format: FORMAT.to_owned(),
        schema_version: SCHEMA_VERSION,
        taken_by: s.taken_by.clone(),
        machine: WireMachine {
            arch: s.machine.arch.clone(),
            byte_order: match s.machine.byte_order.resolve() {
                ByteOrder::Big => "big",
                _ => "little",
            }
            .to_owned(),
            page_size: s.machine.page_size,
        },
        taken_as: WireTakenAs {
            memlock_limit: s.taken_as.memlock_limit.map(|l| match l {
                MemlockLimit::Root => "cap_ipc_lock".to_owned(),
                MemlockLimit::Unlimited => "unlimited".to_owned(),
                MemlockLimit::Bytes(b) => b.to_string(),
            }),
            memlock: s.taken_as.memlock.as_ref().map(wire_memlock),
        },
        files: Files(
            s.files
                .iter()
                .map(|(k, n)| (k.clone(), wire_node(n)))
                .collect(),
        ),
        containers: s
            .containers
            .iter()
            .map(|c| {
                let mut w = WireContainer {
                    groups: c.groups.clone(),
                    backend: None,
                    compat_ioas: None,
                    get_info: None,
                    rlimit_mode: None,
                    rlimit_mode_error: None,
                    error: None,
                };
                match &c.answer {
                    Ok((backend, raw)) => {
                        let (name, ioas) = match backend {
                            ContainerBackend::Vfio => ("type1", None),
                            ContainerBackend::IommufdCompat { ioas } => ("iommufd-compat", *ioas),
                        };
                        w.backend = Some(name.to_owned());
                        w.compat_ioas = ioas;
                        w.get_info = Some(hex(raw));
                    }
                    Err(e) => w.error = Some(wire_error(e)),
                }
                match &c.rlimit_mode {
                    Some(Ok(v)) => w.rlimit_mode = Some(*v),
                    Some(Err(e)) => w.rlimit_mode_error = Some(wire_error(e)),
                    None => {}
                }
                w
            })
            .collect(),
        spapr_tce: s
            .spapr_tce
            .iter()
            .map(|c| WireSpaprTce {
                groups: c.groups.clone(),
                model: c.model.to_owned(),
                get_info: c.answer.as_ref().ok().map(|raw| hex(raw)),
                error: c.answer.as_ref().err().map(wire_error),
            })
            .collect(),
        devices: s.devices.iter().map(wire_device).collect(),
        iommufd: s.iommufd.iter().map(wire_iommufd).collect(),
    };
    // Serializing these plain structs cannot fail; the pretty form keeps a bug report
    // readable and a diff small.
    let mut text = serde_json::to_string_pretty(&wire).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_text(files: &str) -> String {
        format!(
            r#"{{"format": "{FORMAT}", "schema_version": {SCHEMA_VERSION}, "taken_by": "test",
            "machine": {{"arch": "x86_64", "byte_order": "little", "page_size": 4096}},
            "taken_as": {{}}, "files": {{{files}}}, "containers": [], "devices": []}}"#
        )
    }

    #[test]
    fn files_round_trip_in_any_order() {
        let text = snapshot_text(
            r#""sys/z": {"text": "1\n"}, "sys/a": {"entries": ["z", "b"]},
            "dev/vfio/3": {"exists": false}, "sys/b": {"link": "../x", "read_errno": 2}"#,
        );
        let s = parse(text.as_bytes()).unwrap();
        let keys: Vec<&str> = s.files.keys().map(String::as_str).collect();
        assert_eq!(keys, ["dev/vfio/3", "sys/a", "sys/b", "sys/z"]);
        assert_eq!(s.files["sys/a"].dir, Some(Ok(vec!["b".into(), "z".into()])));
        assert_eq!(s.files["sys/b"].file, Some(Err(2)));
        assert_eq!(parse(write(&s).as_bytes()).unwrap(), s);
    }

    #[test]
    fn a_path_named_twice_is_refused() {
        let text = snapshot_text(r#""sys/a": {"text": "1"}, "sys/b": {}, "sys/a": {"text": "2"}"#);
        let e = parse(text.as_bytes()).unwrap_err();
        assert!(e.contains(r#""sys/a" named twice"#), "{e}");
    }

    #[test]
    fn errors_still_name_the_member_at_fault() {
        let bad_errno = snapshot_text(r#""sys/a": {"read_errno": 0}"#);
        let e = parse(bad_errno.as_bytes()).unwrap_err();
        assert!(e.contains(r#"files["sys/a"].read_errno: errno 0"#), "{e}");
        let both = snapshot_text(r#""sys/a": {"link": "x", "link_errno": 2}"#);
        let e = parse(both.as_bytes()).unwrap_err();
        assert!(
            e.contains(r#"files["sys/a"]: both an answer and an errno"#),
            "{e}"
        );
        let outside = snapshot_text(r#""etc/passwd": {"text": ""}"#);
        assert!(parse(outside.as_bytes())
            .unwrap_err()
            .contains("etc/passwd"));
        let not_object = snapshot_text("").replace(r#""files": {}"#, r#""files": []"#);
        let e = parse(not_object.as_bytes()).unwrap_err();
        assert!(e.contains("an object of paths"), "{e}");
    }
}
