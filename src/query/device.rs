//! A VFIO device of an open group (`VFIO_GROUP_GET_DEVICE_FD`): its regions
//! (`VFIO_DEVICE_GET_REGION_INFO`) and reads and writes of them through the device fd,
//! which is how a user-space driver programs a device (and how the lab makes QEMU's edu
//! device DMA through a real vIOMMU).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::decode::bytes::ByteOrder;
use crate::decode::device_info::{decode_device_info, DeviceInfo};
use crate::decode::region_info::decode_region_info;
pub use crate::decode::region_info::RegionInfo;
use crate::error::{Errno, Error};
use crate::query::container::Group;
use crate::sys::ioctl::argsz_ioctl;
use crate::sys::uapi;

/// `VFIO_PCI_BAR0_REGION_INDEX`.
pub const PCI_BAR0_REGION: u32 = 0;
/// `VFIO_PCI_CONFIG_REGION_INDEX`: the PCI configuration space.
pub const PCI_CONFIG_REGION: u32 = 7;

/// The first buffer for a `*_GET_INFO` query: room for the capabilities real kernels
/// report, so one ioctl answers on the common path.
const FIRST_LEN: usize = 256;
/// The largest buffer a kernel may ask for; a larger `argsz` is left unfollowed (the
/// answer then says its chain was truncated).
const MOST_LEN: usize = 64 << 10;
/// How many calls a query makes at most before giving up on a size that keeps growing.
const ATTEMPTS: usize = 3;

/// A `*_GET_INFO` ioctl with a bounded grow-and-retry: `fill` is the ioctl on a buffer
/// whose `argsz` (first u32, native order) is its length and whose other bytes `init`
/// wrote. When the `caps_flag` bit of `flags` (second u32) is set and the kernel raised
/// `argsz` beyond the buffer (its capabilities did not fit), the call is made again with
/// `argsz` bytes, at most [`ATTEMPTS`] times, never beyond [`MOST_LEN`].
///
/// `Ok(Err(last))` when the kernel kept asking for more (`last`: the last size asked).
fn grow_query(
    caps_flag: u32,
    init: impl Fn(&mut [u8]),
    mut fill: impl FnMut(&mut [u8]) -> Result<(), Errno>,
) -> Result<Result<Vec<u8>, usize>, Errno> {
    let mut len = FIRST_LEN;
    for _ in 0..ATTEMPTS {
        let mut buf = vec![0u8; len];
        init(&mut buf);
        buf[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
        fill(&mut buf)?;
        let argsz = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let caps = u32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]) & caps_flag != 0;
        if !caps || argsz <= len || argsz > MOST_LEN {
            return Ok(Ok(buf));
        }
        len = argsz;
    }
    Ok(Err(len))
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
    /// A device opened through its VFIO device node (`/dev/vfio/devices/vfioN`) and bound
    /// to an iommufd (see [`super::cdev`]).
    pub(crate) fn from_cdev(fd: OwnedFd, name: String) -> Device {
        Device { fd, name }
    }

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

    /// The bytes of a `*_GET_INFO` ioctl (see [`grow_query`]), or the error for a kernel
    /// that kept asking for more.
    fn query_bytes(
        &self,
        ioctl: u32,
        name: &'static str,
        caps_flag: u32,
        init: impl Fn(&mut [u8]),
    ) -> Result<Vec<u8>, Error> {
        let answer = grow_query(caps_flag, init, |buf| {
            argsz_ioctl(self.fd.as_fd(), ioctl, buf).map(drop)
        })
        .map_err(|e| self.error(name, e))?;
        answer.map_err(|last| Error::Ioctl {
            ioctl: name,
            target: format!("device {} (fd {})", self.name, self.fd.as_raw_fd()),
            errno: Errno(libc::EMSGSIZE),
            hint: Some(format!(
                "the kernel asked for a larger buffer {ATTEMPTS} times (last {last} bytes); its capabilities are changing, try again"
            )),
        })
    }

    /// `VFIO_DEVICE_GET_INFO`, as the kernel filled it: one call with room for the
    /// capabilities real kernels report, a second with the size the kernel asks for when
    /// they did not fit (bounded: a kernel that keeps asking for more is an error).
    pub fn info_bytes(&self) -> Result<Vec<u8>, Error> {
        self.query_bytes(
            uapi::VFIO_DEVICE_GET_INFO,
            "VFIO_DEVICE_GET_INFO",
            crate::decode::device_info::FLAG_CAPS,
            |_| {},
        )
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

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`, as the kernel filled it: one call
    /// with a 256-byte buffer, a second with the size the kernel asks for when the
    /// region's capabilities did not fit (bounded, as [`Device::info_bytes`]).
    ///
    /// `EINVAL` for an index the device does not have, and for vfio-pci's VGA region
    /// ([`crate::decode::region_info::PCI_VGA_REGION`]) on a device that is no VGA device.
    pub fn region_bytes(&self, index: u32) -> Result<Vec<u8>, Error> {
        self.query_bytes(
            uapi::VFIO_DEVICE_GET_REGION_INFO,
            "VFIO_DEVICE_GET_REGION_INFO",
            crate::decode::region_info::FLAG_CAPS,
            |buf| buf[8..12].copy_from_slice(&index.to_ne_bytes()),
        )
    }

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`, decoded: flags, size, offset in
    /// the device fd, and the capability chain (where it may be mmapped, what a
    /// device-specific region is).
    pub fn region(&self, index: u32) -> Result<RegionInfo, Error> {
        let buf = self.region_bytes(index)?;
        decode_region_info(&buf, ByteOrder::Native).map_err(|source| Error::MalformedReply {
            ioctl: "VFIO_DEVICE_GET_REGION_INFO",
            fd: self.fd.as_raw_fd(),
            source,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::region_info::{decode_region_info, RegionCap, FLAG_CAPS};

    /// vfio-pci's region fill for a chain of `caps` bytes (a SPARSE_MMAP whose areas
    /// make it that long): the chain when `argsz` holds it, else `argsz` raised and
    /// `cap_offset` 0. Counts the calls.
    fn kernel(
        caps: usize,
        calls: &mut Vec<usize>,
    ) -> impl FnMut(&mut [u8]) -> Result<(), Errno> + '_ {
        move |buf: &mut [u8]| {
            calls.push(buf.len());
            let argsz = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
            assert_eq!(argsz, buf.len(), "argsz is the buffer's length");
            let index = u32::from_ne_bytes(buf[8..12].try_into().unwrap());
            let needed = 32 + caps;
            buf[4..8].copy_from_slice(&(7 | FLAG_CAPS).to_ne_bytes());
            buf[16..24].copy_from_slice(&0x4000u64.to_ne_bytes());
            buf[24..32].copy_from_slice(&(u64::from(index) << 40).to_ne_bytes());
            if argsz < needed {
                buf[0..4].copy_from_slice(&(needed as u32).to_ne_bytes());
                buf[12..16].copy_from_slice(&0u32.to_ne_bytes());
                return Ok(());
            }
            let areas = (caps - 16) / 16;
            buf[12..16].copy_from_slice(&32u32.to_ne_bytes());
            buf[32..34].copy_from_slice(&1u16.to_ne_bytes());
            buf[34..36].copy_from_slice(&1u16.to_ne_bytes());
            buf[36..40].copy_from_slice(&0u32.to_ne_bytes());
            buf[40..44].copy_from_slice(&(areas as u32).to_ne_bytes());
            for i in 0..areas {
                let at = 48 + 16 * i;
                buf[at..at + 8].copy_from_slice(&(0x1000 * i as u64).to_ne_bytes());
                buf[at + 8..at + 16].copy_from_slice(&0x800u64.to_ne_bytes());
            }
            Ok(())
        }
    }

    fn region(index: u32) -> impl Fn(&mut [u8]) {
        move |buf: &mut [u8]| buf[8..12].copy_from_slice(&index.to_ne_bytes())
    }

    #[test]
    fn one_ioctl_when_the_chain_fits_two_when_it_does_not() {
        let mut calls = Vec::new();
        let buf = grow_query(FLAG_CAPS, region(2), kernel(16 + 16 * 4, &mut calls))
            .unwrap()
            .unwrap();
        assert_eq!(calls, vec![256]);
        let r = decode_region_info(&buf, ByteOrder::Native).unwrap();
        assert_eq!(
            (r.index, r.offset, r.sparse_mmap().map(<[_]>::len)),
            (2, 2 << 40, Some(4))
        );

        // 20 areas: 32 + 336 bytes do not fit 256; the second call has 368.
        let mut calls = Vec::new();
        let buf = grow_query(FLAG_CAPS, region(0), kernel(16 + 16 * 20, &mut calls))
            .unwrap()
            .unwrap();
        assert_eq!(calls, vec![256, 368]);
        let r = decode_region_info(&buf, ByteOrder::Native).unwrap();
        assert!(!r.caps_truncated);
        match &r.caps[..] {
            [RegionCap::SparseMmap { areas, .. }] => assert_eq!(areas.len(), 20),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_retry_is_bounded() {
        // A kernel whose chain grows with every call.
        let mut calls = 0usize;
        let answer = grow_query(FLAG_CAPS, region(0), |buf: &mut [u8]| {
            calls += 1;
            let more = (buf.len() + 64) as u32;
            buf[0..4].copy_from_slice(&more.to_ne_bytes());
            buf[4..8].copy_from_slice(&FLAG_CAPS.to_ne_bytes());
            Ok(())
        })
        .unwrap();
        // Calls with 256, 320 and 384 bytes; the third asked for 448.
        assert_eq!((answer, calls), (Err(256 + 3 * 64), ATTEMPTS));

        // A kernel asking for more than 64 KiB: not followed, the answer says truncated.
        let mut calls = Vec::new();
        let buf = grow_query(FLAG_CAPS, region(0), kernel(MOST_LEN, &mut calls))
            .unwrap()
            .unwrap();
        assert_eq!(calls, vec![256]);
        assert!(
            decode_region_info(&buf, ByteOrder::Native)
                .unwrap()
                .caps_truncated
        );

        // An errno ends the query.
        let e = grow_query(FLAG_CAPS, region(9), |_: &mut [u8]| {
            Err(Errno(libc::EINVAL))
        });
        assert_eq!(e.unwrap_err(), Errno(libc::EINVAL));
    }
}
