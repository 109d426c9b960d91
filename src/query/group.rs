//! An open VFIO group (`/dev/vfio/N`): opened only after checking the node is one, and
//! only when viable. Containers and devices both take one, so it sits below them.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{Errno, Error};
use crate::sys::ioctl::argsz_ioctl;
use crate::sys::node::{open_node, NodeKind};
use crate::sys::paths::HostPaths;
use crate::sys::uapi;

/// An open VFIO group (`/dev/vfio/N`).
#[derive(Debug)]
pub struct Group {
    fd: OwnedFd,
    number: Option<u32>,
    path: PathBuf,
}

impl Group {
    /// Opens group `number` and checks it is viable.
    pub fn open(number: u32, paths: &HostPaths) -> Result<Group, Error> {
        Self::open_path(&paths.vfio_dir.join(number.to_string()), paths)
    }

    /// Opens a group node by path and checks it is viable.
    pub fn open_path(path: &Path, paths: &HostPaths) -> Result<Group, Error> {
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok());
        let fd = open_node(path, NodeKind::Group, &paths.proc, |errno| {
            group_open_hint(errno, number, path, paths)
        })?;
        // A node under another name (a symlink, a bind mount): its device says the group.
        let number = number.or_else(|| {
            let st = crate::sys::ioctl::fstat(fd.as_fd()).ok()?;
            paths.sysfs.vfio_group_of_rdev(st.st_rdev)
        });
        let group = Group {
            fd,
            number,
            path: path.to_owned(),
        };
        let status = group.status()?;
        if status & uapi::VFIO_GROUP_FLAGS_VIABLE == 0 {
            let blockers = match number {
                Some(n) => paths.sysfs.group_blockers(n).unwrap_or_default(),
                None => Vec::new(),
            };
            return Err(Error::GroupNotViable {
                group: number,
                path: path.to_owned(),
                blockers,
            });
        }
        Ok(group)
    }

    /// The group number: the node's name, or else the group its device belongs to (see
    /// [`Sysfs::vfio_group_of_rdev`](crate::Sysfs::vfio_group_of_rdev)); `None` when neither says (a `noiommu-N` node).
    pub fn number(&self) -> Option<u32> {
        self.number
    }

    /// The node's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn describe(&self) -> String {
        match self.number {
            Some(n) => format!("group {n} ({})", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// `VFIO_GROUP_GET_STATUS`: the `VFIO_GROUP_FLAGS_*`.
    pub fn status(&self) -> Result<u32, Error> {
        group_status(self.fd.as_fd(), &self.describe())
    }
}

/// `VFIO_GROUP_GET_STATUS` on a group fd (`described` in errors): the
/// `VFIO_GROUP_FLAGS_*` (`VIABLE`, `CONTAINER_SET`). The caller checked the fd is a group.
pub(crate) fn group_status(fd: BorrowedFd<'_>, described: &str) -> Result<u32, Error> {
    // struct vfio_group_status is 8 bytes; the buffer has the helper's 16-byte minimum.
    let mut buf = [0u8; 16];
    buf[..4].copy_from_slice(&8u32.to_ne_bytes());
    argsz_ioctl(fd, uapi::VFIO_GROUP_GET_STATUS, &mut buf).map_err(|errno| Error::Ioctl {
        ioctl: "VFIO_GROUP_GET_STATUS",
        target: described.to_owned(),
        errno,
        hint: (errno.0 == libc::ENOTTY).then(|| "this file is not a VFIO group node".to_owned()),
    })?;
    Ok(u32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]))
}

impl AsFd for Group {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn group_open_hint(
    errno: Errno,
    number: Option<u32>,
    path: &Path,
    paths: &HostPaths,
) -> Option<String> {
    match errno.0 {
        libc::ENOENT => Some(match number {
            Some(n) if paths.sysfs.group_dir(n).exists() => {
                let devices = paths
                    .sysfs
                    .group_devices(n)
                    .map(|d| {
                        d.iter()
                            .map(|d| {
                                format!(
                                    "{} ({})",
                                    d.name,
                                    d.driver.as_deref().unwrap_or("no driver")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                format!("IOMMU group {n} exists but no device of it is bound to vfio-pci [{devices}]: bind one (echo vfio-pci > /sys/bus/pci/devices/DEVICE/driver_override; echo DEVICE > /sys/bus/pci/drivers_probe)")
            }
            Some(n) => format!("there is no IOMMU group {n} (see /sys/kernel/iommu_groups)"),
            None if !paths.vfio_dir.exists() => format!(
                "{} does not exist: the vfio module is not loaded (modprobe vfio-pci)",
                paths.vfio_dir.display()
            ),
            None => format!("{} does not exist", path.display()),
        }),
        libc::EACCES | libc::EPERM => Some(format!(
            "permission denied: run as root or give this user access to {} (a udev rule, or chown)",
            path.display()
        )),
        libc::EBUSY => Some(
            "the group is already open (another process, such as a running VM, holds it)"
                .to_owned(),
        ),
        libc::EISDIR => Some(format!(
            "{} is a directory, not a VFIO group node: name a group number or its node ({}/N)",
            path.display(),
            paths.vfio_dir.display()
        )),
        _ => None,
    }
}
