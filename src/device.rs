//! A VFIO device of an open group (`VFIO_GROUP_GET_DEVICE_FD`): its regions
//! (`VFIO_DEVICE_GET_REGION_INFO`) and reads and writes of them through the device fd,
//! which is how a user-space driver programs a device (and how the lab makes QEMU's edu
//! device DMA through a real vIOMMU).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::bytes::ByteOrder;
use crate::device_info::{decode_device_info, DeviceInfo};
use crate::error::{Errno, Error};
use crate::ioctl::argsz_ioctl;
use crate::open::Group;
use crate::uapi;

/// `VFIO_PCI_BAR0_REGION_INDEX`.
pub const PCI_BAR0_REGION: u32 = 0;
/// `VFIO_PCI_CONFIG_REGION_INDEX`: the PCI configuration space.
pub const PCI_CONFIG_REGION: u32 = 7;

/// A region of a device, as `VFIO_DEVICE_GET_REGION_INFO` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region index.
    pub index: u32,
    /// `VFIO_REGION_INFO_FLAG_*` (READ 1, WRITE 2, MMAP 4, CAPS 8).
    pub flags: u32,
    /// Its size in bytes.
    pub size: u64,
    /// Its offset in the device fd (for pread, pwrite and mmap).
    pub offset: u64,
}

/// An open VFIO device.
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
    name: String,
}

impl Group {
    /// `VFIO_GROUP_GET_DEVICE_FD`: opens the device `name` (a PCI address for vfio-pci) of
    /// this group. The group must be attached to a container with its IOMMU model set.
    pub fn open_device(&self, name: &str) -> Result<Device, Error> {
        let c = CString::new(name).map_err(|_| Error::Ioctl {
            ioctl: "VFIO_GROUP_GET_DEVICE_FD",
            target: self.path().display().to_string(),
            errno: Errno(libc::EINVAL),
            hint: Some("the device name contains a NUL byte".to_owned()),
        })?;
        // SAFETY: the kernel reads the NUL-terminated string `c`, which outlives the call;
        // `self` holds the group fd open.
        let fd = unsafe {
            libc::ioctl(
                self.as_fd().as_raw_fd(),
                uapi::VFIO_GROUP_GET_DEVICE_FD as _,
                c.as_ptr(),
            )
        };
        if fd < 0 {
            let errno = Errno::last();
            let hint = match errno.0 {
                libc::EINVAL => Some("set the container's IOMMU model first (VFIO_SET_IOMMU), and name a device of this group bound to vfio-pci".to_owned()),
                libc::ENODEV => Some(format!("{name} is not a device of this group")),
                libc::EBUSY => Some(format!("{name} is already open")),
                _ => None,
            };
            return Err(Error::Ioctl {
                ioctl: "VFIO_GROUP_GET_DEVICE_FD",
                target: format!("{} for device {name}", self.path().display()),
                errno,
                hint,
            });
        }
        Ok(Device {
            // SAFETY: the ioctl returned a new descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            name: name.to_owned(),
        })
    }
}

impl Device {
    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, ioctl: &'static str, errno: Errno) -> Error {
        Error::Ioctl {
            ioctl,
            target: format!("device {} (fd {})", self.name, self.fd.as_raw_fd()),
            errno,
            hint: None,
        }
    }

    /// `VFIO_DEVICE_GET_INFO`, as the kernel filled it: one call with room for the
    /// capabilities real kernels report, a second with the size the kernel asks for when
    /// they did not fit (bounded: a kernel that keeps asking for more is an error).
    pub fn info_bytes(&self) -> Result<Vec<u8>, Error> {
        const FIRST: usize = 256;
        const MOST: usize = 64 << 10;
        let mut len = FIRST;
        for _ in 0..3 {
            let mut buf = vec![0u8; len];
            buf[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
            argsz_ioctl(self.fd.as_fd(), uapi::VFIO_DEVICE_GET_INFO, &mut buf)
                .map_err(|e| self.error("VFIO_DEVICE_GET_INFO", e))?;
            let argsz = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            let caps_flag = u32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]])
                & crate::device_info::FLAG_CAPS
                != 0;
            if !caps_flag || argsz <= len || argsz > MOST {
                return Ok(buf);
            }
            len = argsz;
        }
        Err(Error::Ioctl {
            ioctl: "VFIO_DEVICE_GET_INFO",
            target: format!("device {} (fd {})", self.name, self.fd.as_raw_fd()),
            errno: Errno(libc::EMSGSIZE),
            hint: Some(format!(
                "the kernel asked for a larger buffer three times (last {len} bytes)"
            )),
        })
    }

    /// `VFIO_DEVICE_GET_INFO`, decoded: flags, region and interrupt counts, and the
    /// capability chain (the s390 zPCI DMA window).
    pub fn info(&self) -> Result<DeviceInfo, Error> {
        let buf = self.info_bytes()?;
        decode_device_info(&buf, ByteOrder::Native).map_err(|source| Error::MalformedReply {
            ioctl: "VFIO_DEVICE_GET_INFO",
            fd: self.fd.as_raw_fd(),
            source,
        })
    }

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`.
    pub fn region(&self, index: u32) -> Result<RegionInfo, Error> {
        // struct vfio_region_info: argsz, flags, index, cap_offset, size, offset.
        let mut buf = [0u8; 32];
        buf[0..4].copy_from_slice(&32u32.to_ne_bytes());
        buf[8..12].copy_from_slice(&index.to_ne_bytes());
        argsz_ioctl(self.fd.as_fd(), uapi::VFIO_DEVICE_GET_REGION_INFO, &mut buf)
            .map_err(|e| self.error("VFIO_DEVICE_GET_REGION_INFO", e))?;
        let u32_at = |o: usize| u32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[o..o + 8]);
            u64::from_ne_bytes(b)
        };
        Ok(RegionInfo {
            index,
            flags: u32_at(4),
            size: u64_at(16),
            offset: u64_at(24),
        })
    }

    /// Where `[offset, offset + len)` of `region` is in the device fd, checked.
    fn place(&self, region: &RegionInfo, offset: u64, len: usize) -> Result<libc::off_t, Error> {
        let end = offset.checked_add(len as u64);
        match end {
            Some(end) if end <= region.size => region
                .offset
                .checked_add(offset)
                .and_then(|o| libc::off_t::try_from(o).ok())
                .ok_or_else(|| self.error("pread/pwrite", Errno(libc::EOVERFLOW))),
            _ => Err(Error::Ioctl {
                ioctl: "pread/pwrite",
                target: format!("device {} region {}", self.name, region.index),
                errno: Errno(libc::EINVAL),
                hint: Some(format!(
                    "bytes {offset:#x}+{len:#x} lie outside the {:#x}-byte region",
                    region.size
                )),
            }),
        }
    }

    /// Reads `buf.len()` bytes at `offset` of `region` (one access for 1, 2, 4 or 8
    /// bytes at an aligned offset: a register read).
    pub fn read(&self, region: &RegionInfo, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let at = self.place(region, offset, buf.len())?;
        // SAFETY: the kernel writes at most `buf.len()` bytes into the live, exclusively
        // borrowed `buf`; the fd is open for the call.
        let n = unsafe { libc::pread(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), at) };
        match usize::try_from(n) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(self.error("pread", Errno(libc::EIO))),
            Err(_) => Err(self.error("pread", Errno::last())),
        }
    }

    /// Writes `data` at `offset` of `region`.
    pub fn write(&self, region: &RegionInfo, offset: u64, data: &[u8]) -> Result<(), Error> {
        let at = self.place(region, offset, data.len())?;
        // SAFETY: the kernel reads `data.len()` bytes from the live `data`; the fd is open.
        let n = unsafe { libc::pwrite(self.fd.as_raw_fd(), data.as_ptr().cast(), data.len(), at) };
        match usize::try_from(n) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(_) => Err(self.error("pwrite", Errno(libc::EIO))),
            Err(_) => Err(self.error("pwrite", Errno::last())),
        }
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
