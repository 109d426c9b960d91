//! The ioctls, behind a small trait so tests can play a kernel.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::Errno;

/// Issues VFIO ioctls. [`SystemIoctl`] calls the kernel; tests implement this trait to
/// serve canned answers (every `argsz` case, sizes that grow between calls, errors) or
/// to count calls on a real kernel.
pub trait VfioIoctl {
    /// An ioctl whose argument points to an `argsz`-led structure in `buf` (the first 4
    /// bytes, native order, hold `argsz`). The kernel writes at most `argsz` bytes.
    fn ioctl_buf(&self, fd: BorrowedFd<'_>, request: u32, buf: &mut [u8]) -> Result<i32, Errno>;

    /// An ioctl whose argument is an integer (`VFIO_CHECK_EXTENSION`, `VFIO_SET_IOMMU`,
    /// `VFIO_GET_API_VERSION`).
    fn ioctl_value(&self, fd: BorrowedFd<'_>, request: u32, value: u64) -> Result<i32, Errno>;

    /// An ioctl whose argument points to an `int` (`VFIO_GROUP_SET_CONTAINER`).
    fn ioctl_int_ptr(&self, fd: BorrowedFd<'_>, request: u32, value: i32) -> Result<i32, Errno>;
}

/// The real kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemIoctl;

impl VfioIoctl for SystemIoctl {
    fn ioctl_buf(&self, fd: BorrowedFd<'_>, request: u32, buf: &mut [u8]) -> Result<i32, Errno> {
        // The kernel trusts argsz as the size of our buffer: never let it say more.
        let argsz = buf
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
            .ok_or(Errno(libc::EINVAL))?;
        if argsz as usize > buf.len() {
            return Err(Errno(libc::EINVAL));
        }
        // SAFETY: `buf` is a live, exclusively borrowed buffer of `buf.len()` bytes and its
        // argsz (checked above) does not exceed that, so the kernel reads and writes only
        // inside it; `fd` is a borrowed open descriptor.
        let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, buf.as_mut_ptr()) };
        if ret < 0 {
            Err(Errno::last())
        } else {
            Ok(ret)
        }
    }

    fn ioctl_value(&self, fd: BorrowedFd<'_>, request: u32, value: u64) -> Result<i32, Errno> {
        // SAFETY: the argument is passed by value, no memory is shared with the kernel;
        // `fd` is a borrowed open descriptor.
        let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, value as libc::c_ulong) };
        if ret < 0 {
            Err(Errno::last())
        } else {
            Ok(ret)
        }
    }

    fn ioctl_int_ptr(&self, fd: BorrowedFd<'_>, request: u32, value: i32) -> Result<i32, Errno> {
        let mut v: libc::c_int = value;
        // SAFETY: `v` is a live local `int` the kernel reads (and may write) through the
        // pointer for the duration of the call; `fd` is a borrowed open descriptor.
        let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, &mut v as *mut libc::c_int) };
        if ret < 0 {
            Err(Errno::last())
        } else {
            Ok(ret)
        }
    }
}
