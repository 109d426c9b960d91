//! A VFIO device of an open group (`VFIO_GROUP_GET_DEVICE_FD`): its regions
//! (`VFIO_DEVICE_GET_REGION_INFO`) and reads and writes of them through the device fd,
//! which is how a user-space driver programs a device (and how the lab makes QEMU's edu
//! device DMA through a real vIOMMU).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::decode::bytes::ByteOrder;
use crate::decode::device_info::{decode_device_info, DeviceInfo};
use crate::decode::region_info::decode_region_info;
pub use crate::decode::region_info::RegionInfo;
use crate::error::{Errno, Error};
use crate::query::group::Group;
use crate::query::retry::{grow_and_retry, Asked, Fill};
use crate::sys::kernel::{Kernel, SystemKernel, VfioQuery};
use crate::sys::node::{check_fd, NodeKind};
use crate::sys::uapi;

/// `VFIO_PCI_BAR0_REGION_INDEX`.
pub const PCI_BAR0_REGION: u32 = 0;
/// `VFIO_PCI_CONFIG_REGION_INDEX`: the PCI configuration space.
pub const PCI_CONFIG_REGION: u32 = 7;

/// The first buffer for a device query: room for the capabilities real kernels report,
/// so one ioctl answers on the common path.
const FIRST_LEN: usize = 256;
/// The largest buffer a kernel may ask for; a larger `argsz` is refused.
const MOST_LEN: usize = 64 << 10;

/// What each errno of a device query means.
fn device_error(query: VfioQuery, index: Option<u32>, target: String, errno: Errno) -> Error {
    let hint = match (errno.0, index) {
        (libc::EINVAL, Some(i)) => Some(format!(
            "the device has no region {i}: VFIO_DEVICE_GET_INFO's num_regions says how many there are (vfio-pci's VGA region exists only on a VGA device)"
        )),
        (libc::ENOTTY, _) => Some(format!(
            "{target} is not a VFIO device fd (VFIO_GROUP_GET_DEVICE_FD returns one)"
        )),
        (libc::EBADF, _) => Some(format!("{target} is not an open file descriptor")),
        _ => None,
    };
    Error::Ioctl {
        ioctl: query.name(),
        target,
        errno,
        hint,
    }
}

/// The bytes of a device query (`VFIO_DEVICE_GET_INFO`, or `VFIO_DEVICE_GET_REGION_INFO`
/// of region `index`) through `kernel`, with the one retry loop: when the `caps_flag` bit
/// of `flags` is set and the kernel raised `argsz` (its capabilities did not fit), the
/// call is made again with `argsz` bytes.
fn device_query<K: Kernel + ?Sized>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    query: VfioQuery,
    index: Option<u32>,
    target: &dyn Fn() -> String,
) -> Result<Vec<u8>, Error> {
    let caps_flag = match query {
        VfioQuery::DeviceGetRegionInfo => crate::decode::region_info::FLAG_CAPS,
        _ => crate::decode::device_info::FLAG_CAPS,
    };
    let asked = Asked {
        ioctl: query.name(),
        target,
        unit: "bytes",
        limit: MOST_LEN,
    };
    let (bytes, _) = grow_and_retry::<u8, _, FIRST_LEN>(&asked, |buf| {
        let len = buf.len();
        buf[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
        if let Some(index) = index {
            buf[8..12].copy_from_slice(&index.to_ne_bytes());
        }
        kernel
            .vfio_query(fd, query, buf)
            .map_err(|errno| device_error(query, index, target(), errno))?;
        let word = |at: usize| u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let (argsz, flags) = (word(0) as usize, word(4));
        Ok(if flags & caps_flag != 0 && argsz > len {
            Fill::Grow(argsz)
        } else {
            Fill::Done(buf.to_vec())
        })
    })?;
    Ok(bytes)
}

/// The target of a caller's device fd, for messages.
fn fd_target(fd: BorrowedFd<'_>) -> impl Fn() -> String + '_ {
    move || format!("device fd {}", fd.as_raw_fd())
}

/// Checks a caller's descriptor is a VFIO device fd (see [`NodeKind::DeviceFd`]).
fn check_device_fd(fd: BorrowedFd<'_>) -> Result<(), Error> {
    check_fd(fd, &[NodeKind::DeviceFd], Path::new("/proc"))
}

/// `VFIO_DEVICE_GET_INFO` on a device fd the caller owns (from `VFIO_GROUP_GET_DEVICE_FD`
/// or an opened device cdev), decoded. The fd is checked to be a VFIO device fd first.
pub fn device_info(device: BorrowedFd<'_>) -> Result<DeviceInfo, Error> {
    check_device_fd(device)?;
    decode_device_reply(
        device,
        VfioQuery::DeviceGetInfo,
        &device_info_bytes_with(&SystemKernel, device)?,
    )
}

/// `VFIO_DEVICE_GET_INFO` as `kernel` fills it, without [`device_info`]'s check of the fd.
pub fn device_info_bytes_with<K: Kernel + ?Sized>(
    kernel: &K,
    device: BorrowedFd<'_>,
) -> Result<Vec<u8>, Error> {
    device_query(
        kernel,
        device,
        VfioQuery::DeviceGetInfo,
        None,
        &fd_target(device),
    )
}

/// `VFIO_DEVICE_GET_REGION_INFO` of region `index` on a device fd the caller owns,
/// decoded. The fd is checked to be a VFIO device fd first; an index the device does not
/// have is EINVAL with a hint naming it.
pub fn region_info(device: BorrowedFd<'_>, index: u32) -> Result<RegionInfo, Error> {
    check_device_fd(device)?;
    decode_device_reply(
        device,
        VfioQuery::DeviceGetRegionInfo,
        &region_info_bytes_with(&SystemKernel, device, index)?,
    )
}

/// `VFIO_DEVICE_GET_REGION_INFO` as `kernel` fills it, without [`region_info`]'s check.
pub fn region_info_bytes_with<K: Kernel + ?Sized>(
    kernel: &K,
    device: BorrowedFd<'_>,
    index: u32,
) -> Result<Vec<u8>, Error> {
    device_query(
        kernel,
        device,
        VfioQuery::DeviceGetRegionInfo,
        Some(index),
        &fd_target(device),
    )
}

/// Decodes a device query's reply (device info or region info).
fn decode_device_reply<T: DeviceReply>(
    fd: BorrowedFd<'_>,
    query: VfioQuery,
    bytes: &[u8],
) -> Result<T, Error> {
    T::decode(bytes).map_err(|source| Error::MalformedReply {
        ioctl: query.name(),
        fd: fd.as_raw_fd(),
        source,
    })
}

/// A decoded device query.
trait DeviceReply: Sized {
    fn decode(bytes: &[u8]) -> Result<Self, crate::error::DecodeError>;
}

impl DeviceReply for DeviceInfo {
    fn decode(bytes: &[u8]) -> Result<Self, crate::error::DecodeError> {
        decode_device_info(bytes, ByteOrder::Native)
    }
}

impl DeviceReply for RegionInfo {
    fn decode(bytes: &[u8]) -> Result<Self, crate::error::DecodeError> {
        decode_region_info(bytes, ByteOrder::Native)
    }
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

    fn target(&self) -> String {
        format!("device {} (fd {})", self.name, self.fd.as_raw_fd())
    }

    /// `VFIO_DEVICE_GET_INFO`, as the kernel filled it: one call with room for the
    /// capabilities real kernels report, more with the size the kernel asks for when
    /// they did not fit (the one bounded retry loop, `query::retry`).
    pub fn info_bytes(&self) -> Result<Vec<u8>, Error> {
        let fd = self.fd.as_fd();
        device_query(&SystemKernel, fd, VfioQuery::DeviceGetInfo, None, &|| {
            self.target()
        })
    }

    /// `VFIO_DEVICE_GET_INFO`, decoded: flags, region and interrupt counts, and the
    /// capability chain (the s390 zPCI DMA window).
    pub fn info(&self) -> Result<DeviceInfo, Error> {
        decode_device_reply(
            self.fd.as_fd(),
            VfioQuery::DeviceGetInfo,
            &self.info_bytes()?,
        )
    }

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`, as the kernel filled it (bounded
    /// retries, as [`Device::info_bytes`]).
    ///
    /// `EINVAL` for an index the device does not have, and for vfio-pci's VGA region
    /// ([`crate::decode::region_info::PCI_VGA_REGION`]) on a device that is no VGA device.
    pub fn region_bytes(&self, index: u32) -> Result<Vec<u8>, Error> {
        let fd = self.fd.as_fd();
        device_query(
            &SystemKernel,
            fd,
            VfioQuery::DeviceGetRegionInfo,
            Some(index),
            &|| self.target(),
        )
    }

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`, decoded: flags, size, offset in
    /// the device fd, and the capability chain (where it may be mmapped, what a
    /// device-specific region is).
    pub fn region(&self, index: u32) -> Result<RegionInfo, Error> {
        decode_device_reply(
            self.fd.as_fd(),
            VfioQuery::DeviceGetRegionInfo,
            &self.region_bytes(index)?,
        )
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

/// One of a PCI device's BARs: vfio-pci's region of that index and what its register says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciBar {
    /// The BAR's index (0 to 5, the region index).
    pub index: u32,
    /// Its size in bytes (the region's).
    pub size: u64,
    /// What its register says.
    pub kind: crate::decode::region_info::BarKind,
}

impl Device {
    /// The device's implemented BARs (vfio-pci regions 0 to 5 of non-zero size), each with
    /// its kind from the register in configuration space; the upper half of a 64-bit BAR
    /// is not listed.
    pub fn bars(&self) -> Result<Vec<PciBar>, Error> {
        bars_of(
            |index| self.region(index),
            |config, offset| {
                let mut dword = [0u8; 4];
                self.read(config, offset, &mut dword)?;
                Ok(dword)
            },
        )
    }
}

/// The BARs of a vfio-pci device, asked of `region` (a region's info by index) and
/// `dword` (the 4 bytes at an offset of configuration space, read through the config
/// region's info): the one walk of a live device ([`Device::bars`]), of a snapshot's
/// taking, and of its replay, so they ask the same questions and decide alike.
pub(crate) fn bars_of(
    mut region: impl FnMut(u32) -> Result<RegionInfo, Error>,
    mut dword: impl FnMut(&RegionInfo, u64) -> Result<[u8; 4], Error>,
) -> Result<Vec<PciBar>, Error> {
    use crate::decode::region_info::{BarKind, PCI_BAR0_OFFSET, PCI_CONFIG_REGION};
    let config = region(PCI_CONFIG_REGION)?;
    let mut bars = Vec::new();
    let mut index = 0u32;
    while index < 6 {
        let info = region(index)?;
        // Configuration space is little-endian whatever the CPU.
        let kind = BarKind::of(u32::from_le_bytes(dword(
            &config,
            PCI_BAR0_OFFSET + 4 * u64::from(index),
        )?));
        if info.size > 0 {
            bars.push(PciBar {
                index,
                size: info.size,
                kind,
            });
        }
        index += if matches!(kind, BarKind::Mem64 { .. }) {
            2
        } else {
            1
        };
    }
    Ok(bars)
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
    use std::cell::RefCell;

    /// vfio-pci's region fill for a chain of `caps` bytes (a SPARSE_MMAP whose areas
    /// make it that long): the chain when `argsz` holds it, else `argsz` raised and
    /// `cap_offset` 0. Records the buffer length of each call.
    struct Regions {
        caps: usize,
        calls: RefCell<Vec<usize>>,
    }

    impl Regions {
        fn new(caps: usize) -> Regions {
            Regions {
                caps,
                calls: RefCell::new(Vec::new()),
            }
        }
    }

    impl Kernel for Regions {
        fn vfio_query(
            &self,
            _: BorrowedFd<'_>,
            query: VfioQuery,
            buf: &mut [u8],
        ) -> Result<(), Errno> {
            assert_eq!(query, VfioQuery::DeviceGetRegionInfo);
            self.calls.borrow_mut().push(buf.len());
            let argsz = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
            assert_eq!(argsz, buf.len(), "argsz is the buffer's length");
            let index = u32::from_ne_bytes(buf[8..12].try_into().unwrap());
            if index == 9 {
                return Err(Errno(libc::EINVAL));
            }
            let needed = 32 + self.caps;
            buf[4..8].copy_from_slice(&(7 | FLAG_CAPS).to_ne_bytes());
            buf[16..24].copy_from_slice(&0x4000u64.to_ne_bytes());
            buf[24..32].copy_from_slice(&(u64::from(index) << 40).to_ne_bytes());
            if argsz < needed {
                buf[0..4].copy_from_slice(&(needed as u32).to_ne_bytes());
                buf[12..16].copy_from_slice(&0u32.to_ne_bytes());
                return Ok(());
            }
            let areas = (self.caps - 16) / 16;
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

    fn null() -> std::fs::File {
        std::fs::File::open("/dev/null").unwrap()
    }

    #[test]
    fn one_ioctl_when_the_chain_fits_two_when_it_does_not() {
        let fd = null();
        let k = Regions::new(16 + 16 * 4);
        let buf = region_info_bytes_with(&k, fd.as_fd(), 2).unwrap();
        assert_eq!(*k.calls.borrow(), vec![256]);
        let r = decode_region_info(&buf, ByteOrder::Native).unwrap();
        assert_eq!(
            (r.index, r.offset, r.sparse_mmap().map(<[_]>::len)),
            (2, 2 << 40, Some(4))
        );

        // 20 areas: 32 + 336 bytes do not fit 256; the second call has 368.
        let k = Regions::new(16 + 16 * 20);
        let buf = region_info_bytes_with(&k, fd.as_fd(), 0).unwrap();
        assert_eq!(*k.calls.borrow(), vec![256, 368]);
        let r = decode_region_info(&buf, ByteOrder::Native).unwrap();
        assert!(!r.caps_truncated);
        match &r.caps[..] {
            [RegionCap::SparseMmap { areas, .. }] => assert_eq!(areas.len(), 20),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_retry_is_bounded_and_its_errors_are_every_querys() {
        // A kernel asking for more than 64 KiB: refused, as type1 and iommufd refuse.
        let fd = null();
        let k = Regions::new(MOST_LEN);
        let e = region_info_bytes_with(&k, fd.as_fd(), 0).unwrap_err();
        assert!(matches!(e, Error::SizeTooLarge { .. }), "{e}");
        assert_eq!(*k.calls.borrow(), vec![256]);
        assert!(
            e.to_string().starts_with(&format!(
                "VFIO_DEVICE_GET_REGION_INFO on device fd {} asked for",
                fd.as_raw_fd()
            )),
            "{e}"
        );

        // An index the device does not have: EINVAL naming the index.
        let e = region_info_bytes_with(&Regions::new(32), fd.as_fd(), 9).unwrap_err();
        assert_eq!(e.errno(), Some(Errno(libc::EINVAL)));
        assert!(e.to_string().contains("the device has no region 9"), "{e}");
    }

    #[test]
    fn a_file_that_is_no_device_fd_is_refused_before_any_ioctl() {
        let fd = null();
        let e = device_info(fd.as_fd()).unwrap_err();
        assert!(matches!(e, Error::WrongNode { .. }), "{e}");
        assert!(e.to_string().contains("not a VFIO device fd"), "{e}");
        // An anonymous inode that is not VFIO's (an eventfd) is refused too.
        // SAFETY: eventfd has no memory arguments; the returned fd is owned below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        assert!(raw >= 0);
        // SAFETY: `raw` is a new descriptor nothing else owns.
        let ev = unsafe { OwnedFd::from_raw_fd(raw) };
        let e = region_info(ev.as_fd(), 0).unwrap_err();
        assert!(matches!(e, Error::WrongNode { .. }), "{e}");
    }
}
