//! A running process's VFIO and iommufd fds, queried without disturbing it: how close a
//! VMM is to its limits.
//!
//! Its containers answer `VFIO_IOMMU_GET_INFO` (the live DMA_AVAIL) only to a holder of
//! the fd, so each is borrowed (`pidfd_getfd`, see [`crate::sys::process`]), checked to
//! be the node its `/proc/PID/fd` link names, asked once, and the duplicate closed (device
//! fds are only counted, from their links: a close of ours must never be the one that
//! releases a device). Only reads are made: `GET_INFO` on a container, `GET_STATUS` on a group, `IOAS_IOVA_RANGES`
//! and `IOMMU_OPTION` (get) on an iommufd; never a map, an attach or a walk of the
//! mappings.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::decode::type1::IommuInfo;
use crate::error::{Errno, Error};
use crate::query::get_info::query_type1_with;
use crate::query::group::group_status;
use crate::query::iommufd::{
    backend_of_container, check_compat_has_device, ioas_ranges_with, rlimit_mode_unchecked,
    ContainerBackend, IoasRanges,
};
use crate::sys::kernel::{Kernel, SystemKernel};
use crate::sys::limits::{dma_entry_limit, LockedMemory, MemlockRlimit};
use crate::sys::node::{kind_of, NodeKind};
use crate::sys::paths::HostPaths;
use crate::sys::process::{
    pidfd_getfd, pidfd_open, process_comm, process_fds, process_has_cap_ipc_lock,
    process_locked_memory, process_memlock_rlimit, ptrace_scope, ProcessFd,
};
use crate::sys::uapi;

/// The IOAS ids probed on an iommufd: iommufd numbers its objects from 1, reusing the
/// smallest free id, so a VMM's IOAS sit among its first ids. Probing stops after this
/// many ids in a row that are no IOAS...
const IOAS_MISSES: u32 = 64;
/// ...or at this id.
const IOAS_MAX_ID: u32 = 4096;

/// A container the process holds.
#[derive(Debug)]
pub struct InspectedContainer {
    /// Its fd number in the process.
    pub fd: RawFd,
    /// Who serves it (type1, or iommufd's compat container).
    pub backend: ContainerBackend,
    /// Its answer to one `VFIO_IOMMU_GET_INFO` (DMA_AVAIL live), or why there is none (a
    /// container without an IOMMU model set answers EINVAL).
    pub info: Result<IommuInfo, Error>,
    /// The groups the process holds that are attached to this container, when that can
    /// be told (see [`InspectedContainer::groups_known`]).
    pub groups: Vec<u32>,
    /// Whether `groups` is known: VFIO says whether a group is in *a* container, not in
    /// which, so the groups are the container's only when the process holds one container.
    pub groups_known: bool,
}

impl InspectedContainer {
    /// The mappings a type1 container holds, `dma_entry_limit - DMA_AVAIL`, when the
    /// module parameter (read now) is the one the container was opened with: `None` for
    /// iommufd's compat container (no count limit), without DMA_AVAIL (Linux before 5.10)
    /// or when DMA_AVAIL exceeds `dma_entry_limit` (the parameter changed since).
    pub fn mappings_in_use(&self, dma_entry_limit: u32) -> Option<u32> {
        if self.backend != ContainerBackend::Vfio {
            return None;
        }
        let avail = *self.info.as_ref().ok()?.dma_avail.present()?;
        dma_entry_limit.checked_sub(avail)
    }
}

/// A group the process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectedGroup {
    /// Its fd number in the process.
    pub fd: RawFd,
    /// What `/proc/PID/fd/N` names.
    pub path: PathBuf,
    /// The IOMMU group number (`None` for a `noiommu-N` group).
    pub number: Option<u32>,
    /// `VFIO_GROUP_FLAGS_VIABLE`.
    pub viable: bool,
    /// `VFIO_GROUP_FLAGS_CONTAINER_SET`: attached to a container.
    pub in_container: bool,
}

/// An IOAS of an iommufd the process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectedIoas {
    /// The IOAS's object id.
    pub id: u32,
    /// Its usable ranges now.
    pub ranges: IoasRanges,
}

/// An iommufd the process holds.
#[derive(Debug)]
pub struct InspectedIommufd {
    /// Its fd number in the process.
    pub fd: RawFd,
    /// The IOAS found among its object ids (ids 1 to 4096, stopping after 64 in a row
    /// that are no IOAS: iommufd reuses the smallest free id).
    pub ioas: Vec<InspectedIoas>,
    /// Whether it charges pinned memory to the process (`IOMMU_OPTION_RLIMIT_MODE` 1)
    /// rather than to the user; the error when the kernel does not say.
    pub charges_process: Result<bool, Errno>,
}

/// What a process holds of VFIO and iommufd, and its locked memory.
#[derive(Debug)]
pub struct Inspection {
    /// The process.
    pub pid: i32,
    /// Its command name, when readable.
    pub comm: Option<String>,
    /// Its containers.
    pub containers: Vec<InspectedContainer>,
    /// Its group fds.
    pub groups: Vec<InspectedGroup>,
    /// Its VFIO device fds (from a group, or a device's cdev), by fd number, as their
    /// `/proc` links name them (counted, never borrowed).
    pub devices: Vec<RawFd>,
    /// Its iommufd fds.
    pub iommufds: Vec<InspectedIommufd>,
    /// `VmLck` and `VmPin`.
    pub locked: LockedMemory,
    /// Its `RLIMIT_MEMLOCK`.
    pub memlock: MemlockRlimit,
    /// Whether its main thread has `CAP_IPC_LOCK` (then RLIMIT_MEMLOCK does not limit what
    /// it pins); `None` when unreadable.
    pub cap_ipc_lock: Option<bool>,
    /// `vfio_iommu_type1`'s `dma_entry_limit` now (sysfs), `None` without the module.
    pub dma_entry_limit: Option<u32>,
}

impl Inspection {
    /// Whether the process holds no VFIO or iommufd fd at all.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.groups.is_empty()
            && self.devices.is_empty()
            && self.iommufds.is_empty()
    }
}

/// Whether a fd's `/proc` link names a VFIO device: a device fd from a group (an
/// anonymous inode) or a device's cdev.
fn is_device_link(target: &Path) -> bool {
    target == Path::new("anon_inode:[vfio-device]") || target.starts_with("/dev/vfio/devices")
}

/// What a fd's `/proc` link says it may be: only these are looked at.
fn may_be_vfio(target: &Path) -> bool {
    target.starts_with("/dev/vfio") || target == Path::new("/dev/iommu") || {
        target == Path::new("anon_inode:[vfio-device]")
    }
}

/// Inspects process `pid` (see the module): its fds under `paths.proc`, each VFIO or
/// iommufd one borrowed, checked and queried once.
///
/// # Errors
/// No such process, no permission to read its fds or to borrow them (the error names the
/// capability or sysctl that grants it), a kernel without `pidfd_getfd` (before 5.6), a
/// borrowed fd that is not the node its link names.
pub fn inspect(pid: i32, paths: &HostPaths) -> Result<Inspection, Error> {
    inspect_with(&SystemKernel, pid, paths)
}

/// [`inspect`] with the queries through `kernel`.
pub fn inspect_with<K: Kernel + ?Sized>(
    kernel: &K,
    pid: i32,
    paths: &HostPaths,
) -> Result<Inspection, Error> {
    let proc = &paths.proc;
    let fds: Vec<ProcessFd> = process_fds(proc, pid)?
        .into_iter()
        .filter(|f| may_be_vfio(&f.target))
        .collect();
    let mut found = Inspection {
        pid,
        comm: process_comm(proc, pid),
        containers: Vec::new(),
        groups: Vec::new(),
        devices: Vec::new(),
        iommufds: Vec::new(),
        locked: process_locked_memory(proc, pid)?,
        memlock: process_memlock_rlimit(proc, pid)?,
        cap_ipc_lock: process_has_cap_ipc_lock(proc, pid),
        dma_entry_limit: dma_entry_limit(&paths.sysfs),
    };
    // Device fds are only counted: never borrowed, so that no close of ours can be the
    // last reference that releases (and resets) a device the process just closed.
    let (devices, fds): (Vec<ProcessFd>, Vec<ProcessFd>) =
        fds.into_iter().partition(|f| is_device_link(&f.target));
    found.devices = devices.iter().map(|f| f.fd).collect();
    if fds.is_empty() {
        return Ok(found);
    }
    let who = match &found.comm {
        Some(c) => format!("process {pid} ({c})"),
        None => format!("process {pid}"),
    };
    let pidfd = pidfd_open(pid).map_err(|errno| Error::Ioctl {
        ioctl: "pidfd_open",
        target: who.clone(),
        errno,
        hint: syscall_hint(errno, pid, proc),
    })?;
    for pfd in fds {
        let fd = match borrow(pidfd.as_fd(), &pfd, &who, pid, proc)? {
            Some(fd) => fd,
            None => continue,
        };
        let named = format!("{who} fd {} ({})", pfd.fd, pfd.target.display());
        let kind = kind_of(fd.as_fd(), proc).ok_or_else(|| Error::WrongNode {
            what: PathBuf::from(&named),
            expected: "a VFIO or iommufd node",
            found: "another file".to_owned(),
            errno: Errno(libc::ENOTTY),
            hint: Some("the fd was replaced while it was read: inspect again".to_owned()),
        })?;
        match kind {
            NodeKind::Container => found.containers.push(container(kernel, fd.as_fd(), &pfd)),
            NodeKind::Group => found.groups.push(group(fd.as_fd(), &pfd, &named, paths)?),
            NodeKind::DeviceCdev | NodeKind::DeviceFd => found.devices.push(pfd.fd),
            NodeKind::Iommufd => found.iommufds.push(iommufd(kernel, fd.as_fd(), &pfd)?),
        }
    }
    // VFIO does not say which container a group is in: with one container, it is that.
    if let [only] = found.containers.as_mut_slice() {
        only.groups_known = true;
        only.groups = found
            .groups
            .iter()
            .filter(|g| g.in_container)
            .filter_map(|g| g.number)
            .collect();
    }
    Ok(found)
}

/// Borrows `pfd`; `None` when the process closed it meanwhile.
fn borrow(
    pidfd: BorrowedFd<'_>,
    pfd: &ProcessFd,
    who: &str,
    pid: i32,
    proc: &Path,
) -> Result<Option<OwnedFd>, Error> {
    match pidfd_getfd(pidfd, pfd.fd) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno(libc::EBADF)) => Ok(None),
        Err(errno) => Err(Error::Ioctl {
            ioctl: "pidfd_getfd",
            target: format!("{who} fd {} ({})", pfd.fd, pfd.target.display()),
            errno,
            hint: syscall_hint(errno, pid, proc),
        }),
    }
}

/// What to do about a pidfd call's errno.
fn syscall_hint(errno: Errno, pid: i32, proc: &Path) -> Option<String> {
    match errno.0 {
        libc::ESRCH => Some(format!("process {pid} has exited")),
        libc::ENOSYS => Some(
            "this kernel has no pidfd_getfd (Linux 5.6+): inspect needs it to ask another process's container".to_owned(),
        ),
        libc::EPERM | libc::EACCES => Some(match ptrace_scope(proc) {
            Some(3) => "borrowing another process's fd needs ptrace access, which kernel.yama.ptrace_scope=3 denies to everyone until reboot".to_owned(),
            Some(2) => "borrowing another process's fd needs ptrace access: kernel.yama.ptrace_scope=2 grants it only with CAP_SYS_PTRACE (run as root)".to_owned(),
            Some(1) => format!("borrowing another process's fd needs ptrace access: run as root (CAP_SYS_PTRACE), or set kernel.yama.ptrace_scope=0 to let process {pid}'s own user do it"),
            _ => format!("borrowing another process's fd needs ptrace access: run as root (CAP_SYS_PTRACE) or as process {pid}'s user"),
        }),
        _ => None,
    }
}

fn container<K: Kernel + ?Sized>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    pfd: &ProcessFd,
) -> InspectedContainer {
    let info = query_type1_with(kernel, fd)
        .and_then(|info| check_compat_has_device(fd, &info).map(|()| info));
    InspectedContainer {
        fd: pfd.fd,
        backend: backend_of_container(fd),
        info,
        groups: Vec::new(),
        groups_known: false,
    }
}

fn group(
    fd: BorrowedFd<'_>,
    pfd: &ProcessFd,
    named: &str,
    paths: &HostPaths,
) -> Result<InspectedGroup, Error> {
    let status = group_status(fd, named)?;
    let number = pfd
        .target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .or_else(|| {
            let st = crate::sys::ioctl::fstat(fd).ok()?;
            paths.sysfs.vfio_group_of_rdev(st.st_rdev)
        });
    Ok(InspectedGroup {
        fd: pfd.fd,
        path: pfd.target.clone(),
        number,
        viable: status & uapi::VFIO_GROUP_FLAGS_VIABLE != 0,
        in_container: status & uapi::VFIO_GROUP_FLAGS_CONTAINER_SET != 0,
    })
}

fn iommufd<K: Kernel + ?Sized>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    pfd: &ProcessFd,
) -> Result<InspectedIommufd, Error> {
    let mut ioas = Vec::new();
    let mut misses = 0;
    for id in 1..=IOAS_MAX_ID {
        match ioas_ranges_with(kernel, fd, id) {
            Ok(ranges) => {
                misses = 0;
                ioas.push(InspectedIoas { id, ranges });
            }
            // No object of that id, or one that is no IOAS.
            Err(e) if e.errno() == Some(Errno(libc::ENOENT)) => {
                misses += 1;
                if misses == IOAS_MISSES {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(InspectedIommufd {
        fd: pfd.fd,
        ioas,
        charges_process: rlimit_mode_unchecked(fd),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_vfio_and_iommufd_links_are_borrowed() {
        for (target, yes) in [
            ("/dev/vfio/vfio", true),
            ("/dev/vfio/12", true),
            ("/dev/vfio/noiommu-0", true),
            ("/dev/vfio/devices/vfio0", true),
            ("/dev/iommu", true),
            ("anon_inode:[vfio-device]", true),
            ("/dev/kvm", false),
            ("/dev/vfiox", false),
            ("/dev/iommu2", false),
            ("anon_inode:[eventfd]", false),
            ("socket:[1234]", false),
        ] {
            assert_eq!(may_be_vfio(Path::new(target)), yes, "{target}");
        }
        assert!(is_device_link(Path::new("anon_inode:[vfio-device]")));
        assert!(is_device_link(Path::new("/dev/vfio/devices/vfio3")));
        assert!(!is_device_link(Path::new("/dev/vfio/3")));
        assert!(!is_device_link(Path::new("/dev/vfio/vfio")));
    }

    #[test]
    fn a_process_without_vfio_fds_is_an_empty_inspection() {
        let me = std::process::id() as i32;
        let found = inspect(me, &HostPaths::default()).unwrap();
        assert!(found.is_empty());
        assert_eq!(found.pid, me);
        assert!(found.locked.locked.is_some());
    }
}
