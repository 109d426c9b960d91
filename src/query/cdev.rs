//! The VFIO device cdev path (`/dev/vfio/devices/vfioN`, Linux 6.6+) into iommufd: open
//! the device's node, bind it to an iommufd, allocate an IOAS, attach, and ask.
//!
//! [`IommufdDevice::open`] does the whole dance for a PCI address; dropping it closes the
//! device (which detaches and unbinds it) and then the iommufd (which frees the IOAS).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::decode::hw_info::HwInfo;
use crate::error::{Errno, Error};
use crate::facts::DmaFacts;
use crate::query::device::Device;
use crate::query::iommufd::{IoasRanges, Iommufd};
use crate::sys::ioctl::struct_ioctl;
use crate::sys::node::{open_node, NodeKind};
use crate::sys::paths::HostPaths;
use crate::sys::sysfs::PciAddress;
use crate::sys::uapi;

/// An open, not yet bound, VFIO device node.
#[derive(Debug)]
pub struct DeviceCdev {
    fd: OwnedFd,
    path: PathBuf,
    name: String,
    /// The device's IOMMU group, for the hint when the legacy path holds it.
    group: Option<u32>,
}

impl DeviceCdev {
    /// The VFIO device node of PCI device `address`, found through sysfs
    /// (`.../DEVICE/vfio-dev/vfioN`), opened. The device must be on vfio-pci.
    pub fn open(address: &PciAddress, paths: &HostPaths) -> Result<DeviceCdev, Error> {
        let driver = paths.sysfs.driver_of_device(address)?;
        let name = paths.sysfs.vfio_cdev_of_device(address)?;
        let name = match (name, driver) {
            (Some(n), _) => n,
            (None, Some(d)) if d.contains("vfio") => {
                return Err(Error::NoDeviceCdev {
                    address: address.to_string(),
                    driver: d,
                    path: paths.sysfs.pci_device_dir(address).join("vfio-dev"),
                })
            }
            (None, driver) => {
                return Err(Error::NotOnVfio {
                    address: address.to_string(),
                    driver,
                })
            }
        };
        let path = paths.vfio_dir.join("devices").join(&name);
        let group = paths.sysfs.group_of_device(address).ok();
        let fd = open_node(&path, NodeKind::DeviceCdev, &paths.proc, |errno| {
            Some(match errno.0 {
                libc::ENOENT => format!("sysfs names {name} but the node is missing: is devtmpfs mounted on /dev?"),
                libc::EACCES | libc::EPERM => "opening it needs read-write access (root, or a udev rule for /dev/vfio/devices)".to_owned(),
                _ => format!("the VFIO device node of {address}"),
            })
        })?;
        Ok(DeviceCdev {
            fd,
            path,
            name: address.to_string(),
            group,
        })
    }

    /// Opens a device node by path (`/dev/vfio/devices/vfio0`); `name` names it in errors.
    /// Anything but a VFIO device node is refused before it is opened.
    pub fn open_path(path: &Path, name: &str) -> Result<DeviceCdev, Error> {
        let fd = open_node(path, NodeKind::DeviceCdev, Path::new("/proc"), |_| None)?;
        Ok(DeviceCdev {
            fd,
            path: path.to_owned(),
            name: name.to_owned(),
            group: None,
        })
    }

    /// The node's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, ioctl: &'static str, errno: Errno, hint: Option<String>) -> Error {
        Error::Ioctl {
            ioctl,
            target: format!(
                "{} ({}, fd {})",
                self.path.display(),
                self.name,
                self.fd.as_raw_fd()
            ),
            errno,
            hint,
        }
    }

    /// `VFIO_DEVICE_BIND_IOMMUFD`: binds the device to `iommufd`; returns its device id.
    pub fn bind(&self, iommufd: &Iommufd) -> Result<u32, Error> {
        let mut arg = uapi::VfioDeviceBindIommufd {
            argsz: std::mem::size_of::<uapi::VfioDeviceBindIommufd>() as u32,
            flags: 0,
            iommufd: iommufd.as_fd().as_raw_fd(),
            out_devid: 0,
        };
        // SAFETY: `vfio_device_bind_iommufd` in the 16-byte form passed here holds no user
        // pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::VFIO_DEVICE_BIND_IOMMUFD, &mut arg) }.map_err(|e| {
            let hint = match e.0 {
                libc::EINVAL => {
                    Some("this device fd is already bound (bind once per open)".to_owned())
                }
                libc::EBUSY => Some(format!(
                    "{} is in use through its VFIO group{} (a VMM or another process opened the group the legacy way); close that, or use the VFIO group path (vfio-iommu-info's --backend type1)",
                    self.name,
                    self.group.map(|g| format!(" /dev/vfio/{g}")).unwrap_or_default()
                )),
                libc::EBADF => Some(format!(
                    "{} is not an open iommufd",
                    iommufd.path().display()
                )),
                libc::EPERM => Some("binding needs CAP_SYS_RAWIO for a no-IOMMU device".to_owned()),
                _ => None,
            };
            self.error("VFIO_DEVICE_BIND_IOMMUFD", e, hint)
        })?;
        Ok(arg.out_devid)
    }

    /// `VFIO_DEVICE_ATTACH_IOMMUFD_PT`: attaches the bound device to IOAS or HWPT `pt_id`;
    /// returns the HWPT it ended up attached to.
    pub fn attach(&self, pt_id: u32) -> Result<u32, Error> {
        let mut arg = uapi::VfioDeviceAttachIommufdPt {
            argsz: std::mem::size_of::<uapi::VfioDeviceAttachIommufdPt>() as u32,
            flags: 0,
            pt_id,
        };
        // SAFETY: `vfio_device_attach_iommufd_pt` holds no user pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::VFIO_DEVICE_ATTACH_IOMMUFD_PT, &mut arg) }.map_err(
            |e| {
                let hint = match e.0 {
                    libc::ENOENT => Some(format!("no IOAS or HWPT {pt_id} in the bound iommufd")),
                    libc::EINVAL => Some("the device is not bound to an iommufd yet (VFIO_DEVICE_BIND_IOMMUFD first), or the id is not an IOAS/HWPT".to_owned()),
                    libc::EPERM => Some(crate::sys::arch::Arch::host().unsafe_interrupts_hint("iommufd")),
                    _ => None,
                };
                self.error("VFIO_DEVICE_ATTACH_IOMMUFD_PT", e, hint)
            },
        )?;
        Ok(arg.pt_id)
    }
}

/// A device bound to its own iommufd and attached to a fresh IOAS: the iommufd backend's
/// view of one PCI device.
#[derive(Debug)]
pub struct IommufdDevice {
    // Field order is drop order: the device (detach, unbind) before the iommufd.
    device: Device,
    iommufd: Iommufd,
    address: PciAddress,
    cdev: PathBuf,
    dev_id: u32,
    ioas: u32,
    hwpt: u32,
}

impl IommufdDevice {
    /// Opens `address`'s device node and `/dev/iommu`, binds, allocates an IOAS and
    /// attaches the device to it.
    pub fn open(address: &PciAddress, paths: &HostPaths) -> Result<IommufdDevice, Error> {
        let iommufd = Iommufd::open(paths)?;
        let cdev = DeviceCdev::open(address, paths)?;
        let dev_id = cdev.bind(&iommufd)?;
        let ioas = iommufd.alloc_ioas()?;
        let hwpt = cdev.attach(ioas)?;
        let path = cdev.path.clone();
        Ok(IommufdDevice {
            device: Device::from_cdev(cdev.fd, cdev.name),
            iommufd,
            address: *address,
            cdev: path,
            dev_id,
            ioas,
            hwpt,
        })
    }

    /// The usable IOVA ranges of the device's IOAS (one ioctl on the common path).
    pub fn iova_ranges(&self) -> Result<IoasRanges, Error> {
        self.iommufd.iova_ranges(self.ioas)
    }

    /// The IOMMU hardware behind the device.
    pub fn hw_info(&self) -> Result<HwInfo, Error> {
        self.iommufd.hw_info(self.dev_id)
    }

    /// The iommufd answer as [`DmaFacts`]: `ranges` and `hw` (from
    /// [`IommufdDevice::iova_ranges`] and [`IommufdDevice::hw_info`]) and the sysfs
    /// reserved regions of the device's group.
    pub fn facts(&self, ranges: &IoasRanges, hw: Option<&HwInfo>, paths: &HostPaths) -> DmaFacts {
        facts_of(&self.address, ranges, hw, paths)
    }

    /// The PCI address.
    pub fn address(&self) -> &PciAddress {
        &self.address
    }

    /// The iommufd it is bound to (to map into [`IommufdDevice::ioas`]).
    pub fn iommufd(&self) -> &Iommufd {
        &self.iommufd
    }

    /// The device itself (device info, regions), through its node.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The device node's path.
    pub fn cdev_path(&self) -> &Path {
        &self.cdev
    }

    /// The device id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    pub fn dev_id(&self) -> u32 {
        self.dev_id
    }

    /// The IOAS the device is attached to.
    pub fn ioas(&self) -> u32 {
        self.ioas
    }

    /// The HWPT (hardware page table) the attach created or reused.
    pub fn hwpt(&self) -> u32 {
        self.hwpt
    }
}

/// The iommufd answer for the device at `address` as [`DmaFacts`], with the sysfs reserved
/// regions of its group: one rule for a live device and a replayed one.
pub(crate) fn facts_of(
    address: &PciAddress,
    ranges: &IoasRanges,
    hw: Option<&HwInfo>,
    paths: &HostPaths,
) -> DmaFacts {
    DmaFacts::from_iommufd(ranges, hw).with_sysfs(paths.sysfs.reserved_regions_of_device(address))
}
