//! Errors: what happened, where (fd, path, PCI address, ioctl, byte offset) and what to do.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// A kernel error number (`errno`), with its symbolic name and the C library's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`EINVAL`), or `errno N` for numbers this library does not name.
    pub fn name(self) -> String {
        let name = match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::E2BIG => "E2BIG",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::ENOTDIR => "ENOTDIR",
            libc::EISDIR => "EISDIR",
            libc::EINVAL => "EINVAL",
            libc::ENOSPC => "ENOSPC",
            libc::ENOTTY => "ENOTTY",
            libc::ERANGE => "ERANGE",
            libc::ENOSYS => "ENOSYS",
            libc::EMSGSIZE => "EMSGSIZE",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::EADDRINUSE => "EADDRINUSE",
            _ => return format!("errno {}", self.0),
        };
        name.to_owned()
    }

    /// The last OS error of this thread.
    pub fn last() -> Errno {
        Errno(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = io::Error::from_raw_os_error(self.0).to_string();
        // std appends " (os error N)"; keep the C library's text and our symbolic name.
        let text = text.split(" (os error").next().unwrap_or(&text);
        write!(f, "{text} ({})", self.name())
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Self {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// A buffer that is not a well-formed VFIO info structure: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {structure} at byte offset {offset}: {kind}")]
pub struct DecodeError {
    /// Byte offset from the start of the buffer of the field or capability at fault.
    pub offset: usize,
    /// What is wrong there.
    pub kind: DecodeErrorKind,
    /// The C structure being decoded (`struct vfio_iommu_type1_info`).
    pub structure: &'static str,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError {
            offset,
            kind,
            structure: "buffer",
        }
    }

    pub(crate) fn in_structure(mut self, structure: &'static str) -> Self {
        self.structure = structure;
        self
    }
}

/// The ways a VFIO info buffer can be malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The buffer is shorter than the structure's fixed part.
    #[error("the buffer is {len} bytes, shorter than the {needed}-byte fixed part")]
    TooShort {
        /// Length of the buffer.
        len: usize,
        /// Length of the fixed part.
        needed: usize,
    },
    /// A capability offset points into the structure's fixed part.
    #[error("capability offset {cap_offset} points into the {header_len}-byte fixed header")]
    CapOffsetInHeader {
        /// The offset found.
        cap_offset: u64,
        /// Length of the fixed part, where capabilities may start at the earliest.
        header_len: usize,
    },
    /// A capability header does not lie wholly inside the buffer.
    #[error(
        "capability header at offset {cap_offset} (8 bytes) lies outside the {len}-byte buffer"
    )]
    CapHeaderOutside {
        /// The capability's offset.
        cap_offset: u64,
        /// Length of the buffer.
        len: usize,
    },
    /// The chain loops (or holds more capabilities than can fit).
    #[error("the capability chain loops: still going after {hops} capabilities")]
    ChainLoops {
        /// How many capabilities were visited before giving up.
        hops: usize,
    },
    /// A known capability's fixed fields run past the end of the buffer.
    #[error("{name} capability (id {id}) needs {needed} bytes but only {available} remain in the buffer")]
    CapTooShort {
        /// The capability's name.
        name: &'static str,
        /// The capability's id.
        id: u16,
        /// Bytes it needs from its header on.
        needed: u64,
        /// Bytes left in the buffer from its header on.
        available: usize,
    },
    /// An IOVA_RANGE capability declares more ranges than the buffer holds.
    #[error("IOVA_RANGE capability declares nr_iovas = {count}, which needs {needed} bytes, but only {available} remain in the buffer")]
    RangeCountTooLarge {
        /// The declared `nr_iovas`.
        count: u32,
        /// Bytes the capability would need (16 + 16 * count).
        needed: u64,
        /// Bytes left in the buffer from the capability's header on.
        available: usize,
    },
    /// A SPARSE_MMAP region capability declares more areas than the buffer holds.
    #[error("SPARSE_MMAP capability declares nr_areas = {count}, which needs {needed} bytes, but only {available} remain in the buffer")]
    AreaCountTooLarge {
        /// The declared `nr_areas`.
        count: u32,
        /// Bytes the capability would need (16 + 16 * count, computed without overflow).
        needed: u64,
        /// Bytes left in the buffer from the capability's header on.
        available: usize,
    },
    /// A known capability in a version whose layout this library cannot read.
    #[error("{name} capability (id {id}) has version {version}, which this library cannot read: {reason}")]
    UnsupportedCapVersion {
        /// The capability's name.
        name: &'static str,
        /// The capability's id.
        id: u16,
        /// The version found.
        version: u16,
        /// Why, and what to do.
        reason: &'static str,
    },
    /// An IOVA range whose start lies above its (inclusive) end.
    #[error("IOVA range {index} is inverted: start {start:#x} > end {end:#x}")]
    InvertedRange {
        /// Index of the range in the capability.
        index: usize,
        /// Its start.
        start: u64,
        /// Its inclusive end.
        end: u64,
    },
    /// A capability header starts inside the fields of a known capability.
    #[error("the capability at offset {cap_offset} overlaps the {name} capability at offsets {other_offset}..{other_end}")]
    CapOverlaps {
        /// The offending capability's offset.
        cap_offset: u64,
        /// The capability it overlaps.
        name: &'static str,
        /// Where that capability starts.
        other_offset: usize,
        /// Where its known fields end.
        other_end: usize,
    },
    /// A field holds a value no kernel writes there.
    #[error("{field} = {value:#x}: {reason}")]
    BadField {
        /// The field's C name (`flags`, `ddw.levels`).
        field: &'static str,
        /// Its value.
        value: u64,
        /// Why no kernel writes it, and what that suggests.
        reason: &'static str,
    },
    /// `argsz` says the kernel wrote a part that the buffer does not hold: the capture
    /// was cut short.
    #[error("argsz {argsz} says the kernel wrote {what}, but the buffer ends at byte {len}: the capture is cut short (capture the whole argsz)")]
    Truncated {
        /// The part missing.
        what: &'static str,
        /// The buffer's `argsz`.
        argsz: u32,
        /// The buffer's length.
        len: usize,
    },
    /// A capability id that may appear once appears again.
    #[error("{name} capability (id {id}) appears twice; the first is at offset {first_offset}")]
    DuplicateCap {
        /// The capability's name.
        name: &'static str,
        /// The capability's id.
        id: u16,
        /// Offset of the first occurrence.
        first_offset: usize,
    },
}

/// Everything that can go wrong between a user and the answer.
///
/// Each variant names the place (fd, path, group, PCI address, ioctl, byte offset); the
/// `Display` text adds what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel (or a capture) handed over a malformed buffer.
    #[error("{0}")]
    Malformed(#[from] DecodeError),

    /// A malformed buffer that came back from an ioctl.
    #[error("{ioctl} on fd {fd} returned a malformed buffer: {source}")]
    MalformedReply {
        /// The ioctl.
        ioctl: &'static str,
        /// The fd it was issued on.
        fd: RawFd,
        /// What was wrong with the buffer.
        source: DecodeError,
    },

    /// An ioctl failed.
    #[error("{ioctl} on {target} failed: {errno}{}", hint_suffix(.hint))]
    Ioctl {
        /// The ioctl's name.
        ioctl: &'static str,
        /// What it was issued on (`fd 5`, `container /dev/vfio/vfio`, `group 4 (/dev/vfio/4)`).
        target: String,
        /// The kernel's answer.
        errno: Errno,
        /// What to do, when the errno has a known meaning here.
        hint: Option<String>,
    },

    /// Opening a file failed.
    #[error("cannot open {}: {errno}{}", path.display(), hint_suffix(.hint))]
    Open {
        /// The path.
        path: PathBuf,
        /// The kernel's answer.
        errno: Errno,
        /// What to do.
        hint: Option<String>,
    },

    /// Reading sysfs failed.
    #[error("cannot read {}: {errno}{}", path.display(), hint_suffix(.hint))]
    Sysfs {
        /// The path.
        path: PathBuf,
        /// The kernel's answer.
        errno: Errno,
        /// What to do.
        hint: Option<String>,
    },

    /// A sysfs file did not have the expected form.
    #[error("{}:{line}: cannot parse {text:?}: {problem}", path.display())]
    SysfsFormat {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The offending text.
        text: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The group has devices on drivers that keep VFIO from using it.
    #[error("IOMMU group {} is not viable: {}; bind each to vfio-pci (echo vfio-pci > /sys/bus/pci/devices/DEVICE/driver_override; echo DEVICE > /sys/bus/pci/drivers_probe) or unbind it", describe_group(*.group, .path), describe_blockers(.blockers))]
    GroupNotViable {
        /// The group number, when the node's name is one.
        group: Option<u32>,
        /// The group's device node.
        path: PathBuf,
        /// Each device of the group still bound to a driver other than a VFIO driver.
        blockers: Vec<GroupBlocker>,
    },

    /// The container does not offer a type1 IOMMU model.
    #[error("container {container} supports neither VFIO_TYPE1v2_IOMMU nor VFIO_TYPE1_IOMMU{}", hint_suffix(.hint))]
    NoType1 {
        /// The container.
        container: String,
        /// What to do.
        hint: Option<String>,
    },

    /// The container offers only IBM POWER's sPAPR TCE model: it answers in other terms
    /// than type1 (a default window and dynamic windows), through the sPAPR calls.
    #[error("container {container} offers no type1 IOMMU: it is an sPAPR TCE container (IBM POWER, {model}); query it as one (Container::open_targets_spapr_tce, or `vfio-iommu-info query`, which picks the backend the container offers)")]
    SpaprTceContainer {
        /// The container.
        container: String,
        /// `VFIO_SPAPR_TCE_v2_IOMMU` or `VFIO_SPAPR_TCE_IOMMU`.
        model: &'static str,
    },

    /// `VFIO_GET_API_VERSION` returned something other than 0.
    #[error("{path}: VFIO API version {version}, this library speaks version 0")]
    ApiVersion {
        /// The container path.
        path: String,
        /// The version returned.
        version: i32,
    },

    /// The fd answered `VFIO_IOMMU_GET_INFO` but is not a type1 container.
    #[error("fd {fd} answered VFIO_IOMMU_GET_INFO but is not a type1 container ({}): the same ioctl number means VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a vfio-pci device fd and SPAPR_TCE_GET_INFO on an sPAPR container; pass the /dev/vfio/vfio fd the group was attached to", match .file { Some(f) => f.clone(), None => format!("its reply lacks the PGSIZES flag: flags {flags:#x}") })]
    NotType1Reply {
        /// The fd.
        fd: RawFd,
        /// The flags it returned.
        flags: u32,
        /// What the file is, when its type gave it away.
        file: Option<String>,
    },

    /// The kernel kept asking for a larger buffer (any query: see `query::retry`).
    #[error("{ioctl} on {target}: the size the kernel needs kept changing ({calls} calls, last {last} {unit}); groups or devices are being attached concurrently, try again")]
    SizeUnstable {
        /// The ioctl.
        ioctl: &'static str,
        /// What it was issued on (`fd 7`, a device, an IOAS).
        target: String,
        /// Calls made.
        calls: usize,
        /// The last size the kernel asked for.
        last: usize,
        /// Its unit (`bytes`, `ranges`).
        unit: &'static str,
    },

    /// The kernel asked for an implausibly large buffer (any query).
    #[error("{ioctl} on {target} asked for {asked} {unit}, more than the {limit} this library accepts; refusing")]
    SizeTooLarge {
        /// The ioctl.
        ioctl: &'static str,
        /// What it was issued on.
        target: String,
        /// What it asked for.
        asked: u64,
        /// Our limit.
        limit: usize,
        /// Its unit (`bytes`, `ranges`).
        unit: &'static str,
    },

    /// A PCI address that does not exist on this host.
    #[error("PCI device {address} does not exist ({} is missing); list devices with `lspci -D`", path.display())]
    NoSuchDevice {
        /// The address.
        address: String,
        /// The sysfs path looked at.
        path: PathBuf,
    },

    /// A device without an IOMMU group: the IOMMU is off or absent.
    #[error("PCI device {address} has no IOMMU group ({} is missing): the IOMMU is disabled or absent; enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on", path.display())]
    NoIommuGroup {
        /// The address.
        address: String,
        /// The sysfs path looked at.
        path: PathBuf,
    },

    /// A device that is not on vfio-pci, which iommufd's device node needs.
    #[error("PCI device {address} must be on vfio-pci but is {}: echo vfio-pci > /sys/bus/pci/devices/{address}/driver_override; {}echo {address} > /sys/bus/pci/drivers_probe", match .driver { Some(d) => format!("bound to {d}"), None => "bound to no driver".to_owned() }, match .driver { Some(_) => format!("echo {} > /sys/bus/pci/devices/{}/driver/unbind; ", .address, .address), None => String::new() })]
    NotOnVfio {
        /// The device.
        address: String,
        /// Its driver, `None` when unbound.
        driver: Option<String>,
    },

    /// A device on vfio-pci without a VFIO character device.
    #[error("PCI device {address} is on {driver} but has no VFIO device node ({} is missing): the kernel lacks CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+); use the VFIO group path (vfio-iommu-info's --backend type1)", path.display())]
    NoDeviceCdev {
        /// The device.
        address: String,
        /// Its driver.
        driver: String,
        /// The sysfs directory that would name the node.
        path: PathBuf,
    },

    /// A path or fd that is not the VFIO or iommufd node asked for: refused before any
    /// read, write or ioctl (opening a device node can act on its own: `/dev/watchdog`).
    #[error("{} is {found}, not {expected}: refused before any read-write open or ioctl{}", what.display(), hint_suffix(.hint))]
    WrongNode {
        /// The path given, or `fd N` for a caller's descriptor.
        what: PathBuf,
        /// What it had to be ("a VFIO group node").
        expected: &'static str,
        /// What it is ("a regular file", "a character device 10:130 (watchdog)").
        found: String,
        /// The errno it is reported with to callers that think in errno: EISDIR for a
        /// directory, ENOTTY otherwise (the answer a VFIO ioctl would have had).
        errno: Errno,
        /// What to do.
        hint: Option<String>,
    },

    /// `VFIO_NOIOMMU_IOMMU` asked of the safe API: with no IOMMU behind the device, a
    /// device doing DMA could reach all of memory.
    #[error("{container}: refusing VFIO_NOIOMMU_IOMMU: no IOMMU would stand between the device and all of memory; this library reports IOMMUs, use a platform with one (or the raw ioctl, knowingly)")]
    NoIommuModel {
        /// The container.
        container: String,
    },

    /// A mapping that would end at 2^64: type1 accepts it but cannot unmap it (the end
    /// wraps to 0; seen on Linux 6.1 and 6.12), so it would stay until the container closes.
    #[error("refusing to map IOVA {iova:#x}+{size:#x}: it ends at 2^64, and type1 cannot unmap the top page (its end wraps to 0); leave the last page of the 64-bit space unmapped")]
    TopPageMapping {
        /// The mapping's first IOVA.
        iova: u64,
        /// Its size.
        size: u64,
    },

    /// An argument no call could accept (an sPAPR window request the kernel would refuse
    /// anyway, an `argsz` out of range); nothing was sent to the kernel.
    #[error("invalid {what}")]
    BadArgument {
        /// The argument, its value and what to give instead.
        what: String,
    },

    /// A query of iommufd's VFIO compat container before any device of its groups was
    /// opened: its IOAS has no IOMMU domain, so the answer would not describe the IOMMU.
    /// Carries EINVAL (as type1's GET_INFO before VFIO_SET_IOMMU).
    #[error("{target} is iommufd's VFIO compat container, and no device of its groups is open: its IOAS {ioas} has no IOMMU domain yet, so VFIO_IOMMU_GET_INFO would describe a space no IOMMU constrains (all 64 bits, no reserved hole); open a device of each group first (VFIO_GROUP_GET_DEVICE_FD attaches the group, as a VMM does before it maps), after VFIO_SET_IOMMU")]
    CompatWithoutDevice {
        /// The container fd, described.
        target: String,
        /// The compat IOAS id.
        ioas: u32,
    },

    /// A target string that is not a group number, a `/dev/vfio/N` path, or a PCI address.
    #[error("{text:?} is not a target: expected an IOMMU group number (4), a group path (/dev/vfio/4) or a PCI address (0000:03:00.0 or 03:00.0)")]
    BadTarget {
        /// The text given.
        text: String,
    },

    /// A snapshot file that is not one this version reads: where, and what is wrong.
    #[error("{}: {problem}", path.display())]
    BadSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong, and where in the file (line and column, or the entry).
        problem: String,
    },

    /// An error a host gave when a snapshot was taken, replayed from it: the host's
    /// message and class, as they were.
    #[error("{message}")]
    Replayed {
        /// The message, as the host's error displayed it.
        message: String,
        /// Its class.
        kind: ErrorKind,
    },

    /// A question a snapshot holds no answer for (the command asked what the snapshot's
    /// host was never asked, or what it refused when the snapshot was taken). Carries
    /// ENODATA.
    #[error("{what}: {why}")]
    NotInSnapshot {
        /// What was asked (`a type1 container of group 5`).
        what: String,
        /// Why the snapshot cannot answer, and what to do.
        why: String,
    },
}

impl Error {
    /// The errno the kernel gave, for errors that came from a system call.
    pub fn errno(&self) -> Option<Errno> {
        match self.kind() {
            ErrorKind::Os(errno) => Some(errno),
            _ => None,
        }
    }

    /// The error's class, which the C ABI and the Python package map to their codes and
    /// exceptions. Exhaustive: a new variant must be classed here, once.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Ioctl { errno, .. }
            | Error::Open { errno, .. }
            | Error::Sysfs { errno, .. }
            | Error::WrongNode { errno, .. } => ErrorKind::Os(*errno),
            // The container is not ready to answer, as type1's is before VFIO_SET_IOMMU.
            Error::CompatWithoutDevice { .. } => ErrorKind::Os(Errno(libc::EINVAL)),
            Error::Malformed(_) | Error::MalformedReply { .. } => ErrorKind::Malformed,
            Error::GroupNotViable { .. } | Error::NotOnVfio { .. } => ErrorKind::NotViable,
            Error::NoDeviceCdev { .. } => ErrorKind::NoDeviceCdev,
            Error::NoType1 { .. }
            | Error::NoIommuModel { .. }
            | Error::SpaprTceContainer { .. } => ErrorKind::NoType1,
            Error::TopPageMapping { .. } => ErrorKind::TopPage,
            Error::NotType1Reply { .. } => ErrorKind::NotContainer,
            Error::SizeUnstable { .. } | Error::SizeTooLarge { .. } => ErrorKind::Size,
            Error::NoSuchDevice { .. } => ErrorKind::NoDevice,
            Error::NoIommuGroup { .. } => ErrorKind::NoIommuGroup,
            Error::BadTarget { .. } | Error::BadArgument { .. } => ErrorKind::BadArgument,
            Error::ApiVersion { .. } => ErrorKind::ApiVersion,
            Error::SysfsFormat { .. } => ErrorKind::SysfsFormat,
            Error::BadSnapshot { .. } => ErrorKind::Malformed,
            Error::Replayed { kind, .. } => *kind,
            Error::NotInSnapshot { .. } => ErrorKind::Os(Errno(libc::ENODATA)),
        }
    }
}

/// The class of an [`Error`] (or of an allocator's refusal, see
/// `AllocError::kind`): what a caller may act on, without the detail.
///
/// Deliberately not `#[non_exhaustive]`: the front ends (C, Python, the command) match
/// it without a wildcard, so a new class cannot reach them as "internal" unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A system call failed with this errno (an ioctl, an open, a sysfs read, or a node
    /// refused as the wrong kind, which carries ENOTTY or EISDIR).
    Os(Errno),
    /// A buffer (a capture or a kernel's reply) is malformed.
    Malformed,
    /// The IOMMU group is not viable, or (iommufd) the device is not on vfio-pci.
    NotViable,
    /// The device is on vfio-pci but has no VFIO device node (no `CONFIG_VFIO_DEVICE_CDEV`).
    NoDeviceCdev,
    /// The container offers no type1 model (or the caller asked for the no-IOMMU one).
    NoType1,
    /// A fd answered `VFIO_IOMMU_GET_INFO` but is not a type1 container.
    NotContainer,
    /// The kernel asked for an implausible buffer, or for sizes that kept changing.
    Size,
    /// The PCI device does not exist.
    NoDevice,
    /// The PCI device has no IOMMU group.
    NoIommuGroup,
    /// An argument is invalid (a target that is no group or PCI address, a zero size, an
    /// alignment that is no power of two).
    BadArgument,
    /// The VFIO API version is not the one this library speaks.
    ApiVersion,
    /// A sysfs file did not have the expected form.
    SysfsFormat,
    /// A mapping or reservation that reaches the last page of the 64-bit space.
    TopPage,
    /// The allocator has no room below the limit.
    NoRoom,
    /// The address starts no live allocation or reservation.
    NotAllocated,
    /// A reservation overlaps a live span.
    Overlap,
    /// A span the kernel would not map (outside the aperture, in a hole, across ranges,
    /// misaligned).
    Unusable,
}

impl ErrorKind {
    /// The class [`ErrorKind::code`] names (`errno` for `os`); `None` for another name, or
    /// `os` without an errno.
    pub fn from_code(code: &str, errno: Option<Errno>) -> Option<ErrorKind> {
        const ALL: [ErrorKind; 16] = [
            ErrorKind::Malformed,
            ErrorKind::NotViable,
            ErrorKind::NoDeviceCdev,
            ErrorKind::NoType1,
            ErrorKind::NotContainer,
            ErrorKind::Size,
            ErrorKind::NoDevice,
            ErrorKind::NoIommuGroup,
            ErrorKind::BadArgument,
            ErrorKind::ApiVersion,
            ErrorKind::SysfsFormat,
            ErrorKind::TopPage,
            ErrorKind::NoRoom,
            ErrorKind::NotAllocated,
            ErrorKind::Overlap,
            ErrorKind::Unusable,
        ];
        match (code, errno) {
            ("os", Some(errno)) => Some(ErrorKind::Os(errno)),
            ("os", None) => None,
            _ => ALL.into_iter().find(|k| k.code() == code),
        }
    }

    /// A stable machine-readable name (`not_viable`, `size`, ...; `os` for [`ErrorKind::Os`]).
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::Os(_) => "os",
            ErrorKind::Malformed => "malformed",
            ErrorKind::NotViable => "not_viable",
            ErrorKind::NoDeviceCdev => "no_device_cdev",
            ErrorKind::NoType1 => "no_type1",
            ErrorKind::NotContainer => "not_container",
            ErrorKind::Size => "size",
            ErrorKind::NoDevice => "no_device",
            ErrorKind::NoIommuGroup => "no_iommu_group",
            ErrorKind::BadArgument => "invalid",
            ErrorKind::ApiVersion => "api_version",
            ErrorKind::SysfsFormat => "sysfs_format",
            ErrorKind::TopPage => "top_page",
            ErrorKind::NoRoom => "no_room",
            ErrorKind::NotAllocated => "not_allocated",
            ErrorKind::Overlap => "overlaps",
            ErrorKind::Unusable => "unusable",
        }
    }
}

/// A device that keeps its group from being viable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBlocker {
    /// The device's name in sysfs (a PCI address for PCI devices).
    pub device: String,
    /// The driver it is bound to.
    pub driver: String,
}

fn describe_blockers(blockers: &[GroupBlocker]) -> String {
    if blockers.is_empty() {
        return "a device of the group is bound to a driver that is not a VFIO driver".to_owned();
    }
    blockers
        .iter()
        .map(|b| format!("device {} is still bound to {}", b.device, b.driver))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_group(group: Option<u32>, path: &std::path::Path) -> String {
    match group {
        Some(n) => format!("{n} ({})", path.display()),
        None => path.display().to_string(),
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(": {h}"),
        None => String::new(),
    }
}
