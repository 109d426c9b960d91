//! The system calls, each with its argument type: the argsz-led VFIO structures, values,
//! size-led structures, `fstat` and `kcmp`. The queries whose answers are decoded reach
//! them through the `Kernel` seam (`sys::kernel`).

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::Errno;
use crate::sys::uapi;

fn result(ret: libc::c_int) -> Result<i32, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// `fstat` of a borrowed descriptor.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    // SAFETY: `stat` is plain old data, written by fstat before it is read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable `struct stat`; `fd` is a borrowed open descriptor.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

/// Whether two descriptors of this process refer to the same open file description (the
/// same `open()`), by `kcmp(KCMP_FILE)`; where the kernel lacks `kcmp` (no
/// `CONFIG_KCMP`: ENOSYS) or forbids it (EPERM), by the file's identity (device, inode,
/// rdev), which cannot tell two opens of one node apart. A closed descriptor is an error.
///
/// A binding that hands out a descriptor number it owns keeps a private duplicate and
/// asks this before it closes the number: after the user closed it, the number may name
/// an unrelated file the process opened since.
pub fn same_open_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> Result<bool, Errno> {
    const KCMP_FILE: libc::c_long = 0;
    // SAFETY: kcmp only compares kernel objects named by plain integers; no memory is
    // shared with the kernel.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            libc::c_long::from(libc::getpid()),
            libc::c_long::from(libc::getpid()),
            KCMP_FILE,
            libc::c_long::from(a.as_raw_fd()),
            libc::c_long::from(b.as_raw_fd()),
        )
    };
    if ret >= 0 {
        return Ok(ret == 0);
    }
    let errno = Errno::last();
    if errno.0 != libc::ENOSYS && errno.0 != libc::EPERM {
        return Err(errno);
    }
    let (sa, sb) = (fstat(a)?, fstat(b)?);
    Ok((sa.st_dev, sa.st_ino, sa.st_rdev) == (sb.st_dev, sb.st_ino, sb.st_rdev))
}

/// An ioctl whose argument is an `argsz`-led VFIO structure that the kernel reads and
/// fills within `argsz` (`VFIO_IOMMU_GET_INFO`, `VFIO_GROUP_GET_STATUS`,
/// `VFIO_IOMMU_UNMAP_DMA`). Refuses with `EINVAL`, without calling the kernel, a buffer
/// shorter than 16 bytes (every such structure's minimum) or whose `argsz` exceeds it.
pub(crate) fn argsz_ioctl(fd: BorrowedFd<'_>, request: u32, buf: &mut [u8]) -> Result<i32, Errno> {
    let argsz = buf
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or(Errno(libc::EINVAL))?;
    if buf.len() < 16 || argsz as usize > buf.len() {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: the requests passed here are VFIO's argsz-led ioctls, for which the kernel
    // reads at most max(argsz, its minimum of 16 or less) bytes and writes at most argsz:
    // `buf` is a live, exclusively borrowed buffer of at least both (checked above). `fd`
    // is a borrowed open descriptor.
    result(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, buf.as_mut_ptr()) })
}

/// `ioctl(fd, request, arg)` for a size-led structure (iommufd's commands, VFIO's cdev
/// ioctls) that the kernel reads and writes in place.
///
/// # Safety
/// `T` must be `request`'s repr(C) argument structure with its size field set to at most
/// `size_of::<T>()`, and every user pointer inside `*arg` must be 0 or point to memory the
/// kernel may access as `request` defines: for the call (an array it fills), or as long as
/// the kernel keeps using it (the memory of a DMA mapping).
pub(crate) unsafe fn struct_ioctl<T>(
    fd: BorrowedFd<'_>,
    request: u32,
    arg: &mut T,
) -> Result<i32, Errno> {
    // SAFETY: `arg` is a live, exclusively borrowed structure of the size the kernel reads
    // and writes for `request`; the user pointers inside it are the caller's contract.
    result(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) })
}

/// An ioctl whose argument is an integer passed by value (`VFIO_GET_API_VERSION`,
/// `VFIO_CHECK_EXTENSION`, `VFIO_SET_IOMMU`).
pub(crate) fn value_ioctl(fd: BorrowedFd<'_>, request: u32, value: u64) -> Result<i32, Errno> {
    // SAFETY: these requests take their argument by value: no memory is shared with the
    // kernel. `fd` is a borrowed open descriptor.
    result(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, value as libc::c_ulong) })
}

/// `VFIO_GROUP_SET_CONTAINER`: the argument points to the container's fd.
pub(crate) fn set_container_ioctl(
    group: BorrowedFd<'_>,
    container: BorrowedFd<'_>,
) -> Result<i32, Errno> {
    let fd: libc::c_int = container.as_raw_fd();
    // SAFETY: the kernel reads one `int` through the pointer to the live local `fd` during
    // the call. `group` is a borrowed open descriptor.
    result(unsafe {
        libc::ioctl(
            group.as_raw_fd(),
            uapi::VFIO_GROUP_SET_CONTAINER as _,
            &fd as *const libc::c_int,
        )
    })
}

/// `VFIO_IOMMU_MAP_DMA`.
///
/// # Safety
/// `map.vaddr..map.vaddr + map.size` must be memory of this process that stays mapped as
/// long as the IOMMU mapping exists, and that the caller accepts the device accessing.
pub(crate) unsafe fn map_dma_ioctl(
    fd: BorrowedFd<'_>,
    map: &uapi::VfioDmaMap,
) -> Result<i32, Errno> {
    // SAFETY: the kernel reads the 32-byte `map` during the call; what the mapping lets
    // the device do later is the caller's contract (see above). `fd` is borrowed and open.
    result(unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            uapi::VFIO_IOMMU_MAP_DMA as _,
            map as *const uapi::VfioDmaMap,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn same_open_file_tells_a_duplicate_from_another_open_of_the_same_file() {
        let a = std::fs::File::open("/dev/null").unwrap();
        let dup = a.try_clone().unwrap();
        let other = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(same_open_file(a.as_fd(), dup.as_fd()), Ok(true));
        // kcmp tells two opens of one node apart (Debian's kernels have CONFIG_KCMP).
        assert_eq!(same_open_file(a.as_fd(), other.as_fd()), Ok(false));
        let zero = std::fs::File::open("/dev/zero").unwrap();
        assert_eq!(same_open_file(a.as_fd(), zero.as_fd()), Ok(false));
    }

    #[test]
    fn same_open_file_refuses_a_closed_descriptor() {
        let a = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: i32::MAX is above any RLIMIT_NOFILE, so never open; only kcmp and fstat
        // see it, and refuse it.
        let closed = unsafe { BorrowedFd::borrow_raw(i32::MAX) };
        assert!(same_open_file(a.as_fd(), closed).is_err());
    }
}
