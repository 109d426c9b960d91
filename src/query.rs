//! `VFIO_IOMMU_GET_INFO` against a type1 container fd: one ioctl on the common path.
//!
//! The buffer starts inline (on the stack) and large enough for every chain seen on real
//! kernels (88 + 16 bytes per range on 6.6+), so one call answers. When the kernel's
//! chain did not fit (it says so with the `CAPS` flag, `cap_offset` 0 and the needed size
//! in `argsz`), the query grows the buffer and asks again, a bounded number of times
//! since the size can change between calls when groups are attached concurrently. When
//! everything fits the kernel leaves `argsz` as passed; the chain itself says where the
//! data ends.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::bytes::ByteOrder;
use crate::error::{Errno, Error};
use crate::ioctl::{SystemIoctl, VfioIoctl};
use crate::type1::{InfoView, IommuInfo};
use crate::uapi;

/// Size of the inline buffer of the first call: room for 58 IOVA ranges on 6.6+ layouts.
pub const INLINE_INFO_SIZE: usize = 1024;
/// The largest buffer the query allocates (65000 ranges); a kernel asking for more is
/// refused rather than trusted.
pub const MAX_INFO_SIZE: usize = 1 << 20;
/// How many `VFIO_IOMMU_GET_INFO` calls a query makes at most.
pub const MAX_INFO_CALLS: usize = 4;

#[repr(C, align(8))]
struct InlineBuf([u8; INLINE_INFO_SIZE]);

/// Queries the IOMMU info of a type1 container (a `/dev/vfio/vfio` fd with a group attached
/// and `VFIO_SET_IOMMU` done). The fd stays the caller's.
///
/// One `VFIO_IOMMU_GET_INFO` call on the common path. The same ioctl number means other
/// things on other files (a vfio-pci device fd, an sPAPR container); a reply without the
/// `PGSIZES` flag, which every type1 container sets, is refused as [`Error::NotType1Reply`].
pub fn query_type1(container: BorrowedFd<'_>) -> Result<IommuInfo, Error> {
    query_type1_with(&SystemIoctl, container)
}

/// [`query_type1`] through a given ioctl implementation.
pub fn query_type1_with<I: VfioIoctl + ?Sized>(
    io: &I,
    container: BorrowedFd<'_>,
) -> Result<IommuInfo, Error> {
    with_info_buffer(io, container, |buf| {
        let view =
            InfoView::parse(buf, ByteOrder::Native).map_err(|source| Error::MalformedReply {
                ioctl: "VFIO_IOMMU_GET_INFO",
                fd: container.as_raw_fd(),
                source,
            })?;
        if view.flags() & uapi::VFIO_IOMMU_INFO_PGSIZES == 0 {
            return Err(Error::NotType1Reply {
                fd: container.as_raw_fd(),
                flags: view.flags(),
            });
        }
        Ok(view.to_info())
    })
}

/// The raw `VFIO_IOMMU_GET_INFO` buffer exactly as the kernel filled it (a capture for
/// [`decode`](crate::decode) or a bug report), obtained the same way as [`query_type1`].
pub fn capture_type1_with<I: VfioIoctl + ?Sized>(
    io: &I,
    container: BorrowedFd<'_>,
) -> Result<Vec<u8>, Error> {
    with_info_buffer(io, container, |buf| Ok(buf.to_vec()))
}

/// Calls `VFIO_IOMMU_GET_INFO` until the chain fits (bounded), then hands the filled
/// buffer to `answer`.
fn with_info_buffer<I, R>(
    io: &I,
    fd: BorrowedFd<'_>,
    answer: impl FnOnce(&[u8]) -> Result<R, Error>,
) -> Result<R, Error>
where
    I: VfioIoctl + ?Sized,
{
    let mut inline = InlineBuf([0; INLINE_INFO_SIZE]);
    let mut heap: Vec<u8> = Vec::new();
    let mut size = INLINE_INFO_SIZE;
    for _ in 0..MAX_INFO_CALLS {
        let buf: &mut [u8] = if size <= INLINE_INFO_SIZE {
            &mut inline.0[..]
        } else {
            heap.clear();
            heap.resize(size, 0);
            &mut heap[..]
        };
        buf.fill(0);
        buf[..4].copy_from_slice(&(size as u32).to_ne_bytes());
        io.ioctl_buf(fd, uapi::VFIO_IOMMU_GET_INFO, buf)
            .map_err(|errno| get_info_error(fd, errno))?;
        match needed_size(buf) {
            Some(needed) if needed > MAX_INFO_SIZE as u64 => {
                return Err(Error::SizeTooLarge {
                    fd: fd.as_raw_fd(),
                    argsz: needed as u32,
                    limit: MAX_INFO_SIZE,
                })
            }
            Some(needed) => size = needed as usize,
            None => return answer(buf),
        }
    }
    Err(Error::SizeUnstable {
        fd: fd.as_raw_fd(),
        attempts: MAX_INFO_CALLS,
        last_argsz: size as u32,
    })
}

/// The size the kernel asks for when its chain did not fit `buf`, or `None` when the
/// buffer holds the whole answer.
fn needed_size(buf: &[u8]) -> Option<u64> {
    let word = |at: usize| {
        buf.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    let argsz = word(uapi::type1_info::ARGSZ)?;
    let flags = word(uapi::type1_info::FLAGS)?;
    let cap_offset = word(uapi::type1_info::CAP_OFFSET)?;
    let did_not_fit =
        flags & uapi::VFIO_IOMMU_INFO_CAPS != 0 && cap_offset == 0 && argsz as usize > buf.len();
    did_not_fit.then_some(u64::from(argsz))
}

/// The error for a failed `VFIO_IOMMU_GET_INFO`, with what each errno means here.
fn get_info_error(fd: BorrowedFd<'_>, errno: Errno) -> Error {
    let raw = fd.as_raw_fd();
    let hint = match errno.0 {
        libc::EINVAL => Some(
            "no IOMMU model is set on this container: attach a group (VFIO_GROUP_SET_CONTAINER) and call VFIO_SET_IOMMU with VFIO_TYPE1v2_IOMMU first".to_owned(),
        ),
        libc::ENOTTY => Some(format!(
            "fd {raw} is not a VFIO container (a group fd, a device fd, or another file?): open /dev/vfio/vfio and attach a group to it"
        )),
        libc::EBADF => Some(format!("fd {raw} is not an open file descriptor")),
        libc::ENODEV => Some(
            "the iommufd VFIO-compatibility container has no IOAS: attach a device first".to_owned(),
        ),
        _ => None,
    };
    Error::Ioctl {
        ioctl: "VFIO_IOMMU_GET_INFO",
        target: format!("fd {raw}"),
        errno,
        hint,
    }
}
