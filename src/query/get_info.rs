//! `VFIO_IOMMU_GET_INFO` against a type1 container fd: one ioctl on the common path.
//!
//! The buffer starts inline (on the stack) and large enough for every chain seen on real
//! kernels (88 + 16 bytes per range on 6.6+), so one call answers. When the kernel's
//! chain did not fit (it says so with the `CAPS` flag, `cap_offset` 0 and the needed size
//! in `argsz`), the query grows the buffer and asks again, a bounded number of times
//! since the size can change between calls when groups are attached concurrently. When
//! everything fits the kernel leaves `argsz` as passed; the chain itself says where the
//! data ends. The loop is the one every query uses (`query::retry`).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::decode::bytes::ByteOrder;
use crate::decode::type1::{InfoView, IommuInfo};
use crate::error::{Errno, Error};
use crate::query::retry::{grow_and_retry, Asked, Fill, MAX_QUERY_CALLS};
use crate::sys::kernel::{Kernel, SystemKernel, VfioQuery};
use crate::sys::node::{check_fd, not_a_container_hint, NodeKind};
use crate::sys::uapi;

/// Size of the inline buffer of the first call: room for 58 IOVA ranges on 6.6+ layouts.
pub const INLINE_INFO_SIZE: usize = 1024;
/// The largest buffer the query allocates (65000 ranges); a kernel asking for more is
/// refused rather than trusted.
pub const MAX_INFO_SIZE: usize = 1 << 20;
/// How many `VFIO_IOMMU_GET_INFO` calls a query makes at most (every query's bound).
pub const MAX_INFO_CALLS: usize = MAX_QUERY_CALLS;

/// Queries the IOMMU info of a type1 container (a `/dev/vfio/vfio` fd with a group attached
/// and `VFIO_SET_IOMMU` done, or iommufd's VFIO-compatible container). The fd stays the
/// caller's.
///
/// One `VFIO_IOMMU_GET_INFO` call on the common path. The same ioctl number means other
/// things on other VFIO files, so a successful reply is accepted only from a misc
/// character device (`/dev/vfio/vfio`, `/dev/iommu`), never from a group or device fd, and
/// only with the `PGSIZES` flag every type1 container sets. (On POWER an sPAPR container
/// is a `/dev/vfio/vfio` too: check `VFIO_CHECK_EXTENSION` there, as [`Container`] does.)
///
/// [`Container`]: crate::Container
pub fn query_type1(container: BorrowedFd<'_>) -> Result<IommuInfo, Error> {
    check_fd(
        container,
        &[NodeKind::Container, NodeKind::Iommufd],
        Path::new("/proc"),
    )?;
    let info = query_type1_with(&SystemKernel, container)?;
    crate::query::iommufd::check_compat_has_device(container, &info)?;
    Ok(info)
}

/// `VFIO_IOMMU_GET_INFO` through a given kernel, without [`query_type1`]'s check of the
/// fd's file type (the kernel decides what the fd is).
pub fn query_type1_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
) -> Result<IommuInfo, Error> {
    with_info_buffer(kernel, container, |view, _| {
        if view.flags() & uapi::VFIO_IOMMU_INFO_PGSIZES == 0 {
            return Err(Error::NotType1Reply {
                fd: container.as_raw_fd(),
                flags: view.flags(),
                file: None,
            });
        }
        Ok(view.to_info())
    })
}

/// The raw `VFIO_IOMMU_GET_INFO` buffer exactly as the kernel filled it (a capture for
/// [`decode`](fn@crate::decode) or a bug report), obtained the same way as [`query_type1`].
pub fn capture_type1_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
) -> Result<Vec<u8>, Error> {
    with_info_buffer(kernel, container, |_, buf| Ok(buf.to_vec()))
}

/// Calls `VFIO_IOMMU_GET_INFO` until the chain fits (the one retry loop), then hands the
/// checked view and the filled buffer to `answer`.
fn with_info_buffer<K, R>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    answer: impl Fn(&InfoView<'_>, &[u8]) -> Result<R, Error>,
) -> Result<R, Error>
where
    K: Kernel + ?Sized,
{
    let query = VfioQuery::IommuGetInfo;
    let asked = Asked {
        ioctl: query.name(),
        target: &|| format!("fd {}", fd.as_raw_fd()),
        unit: "bytes",
        limit: MAX_INFO_SIZE,
    };
    let (answer, _) = grow_and_retry::<u8, R, INLINE_INFO_SIZE>(&asked, |buf| {
        let len = buf.len() as u32;
        buf[..4].copy_from_slice(&len.to_ne_bytes());
        kernel
            .vfio_query(fd, query, buf)
            .map_err(|errno| get_info_error(fd, errno))?;
        let view =
            InfoView::parse(buf, ByteOrder::Native).map_err(|source| Error::MalformedReply {
                ioctl: query.name(),
                fd: fd.as_raw_fd(),
                source,
            })?;
        if view.caps_truncated() {
            Ok(Fill::Grow(view.argsz() as usize))
        } else {
            answer(&view, buf).map(Fill::Done)
        }
    })?;
    Ok(answer)
}

/// The error for a failed `VFIO_IOMMU_GET_INFO`, with what each errno means here.
fn get_info_error(fd: BorrowedFd<'_>, errno: Errno) -> Error {
    let raw = fd.as_raw_fd();
    let hint = match errno.0 {
        libc::EINVAL => Some(
            "no IOMMU model is set on this container: attach a group (VFIO_GROUP_SET_CONTAINER) and call VFIO_SET_IOMMU with VFIO_TYPE1v2_IOMMU first".to_owned(),
        ),
        libc::ENOTTY | libc::EBADF => not_a_container_hint(raw, errno),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsFd;

    #[test]
    fn only_the_container_or_iommufd_is_sent_the_ioctl() {
        // /dev/null is a character device like a group or a vfio-pci device fd, but not
        // VFIO's; a regular file is no device at all; /dev/kvm is a misc device, but not
        // the container. Each is refused before VFIO_IOMMU_GET_INFO reaches it.
        let null = File::open("/dev/null").unwrap();
        let err = query_type1(null.as_fd()).unwrap_err();
        assert!(matches!(err, Error::WrongNode { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is a character device 1:3 (mem), not a VFIO container"),
            "{err}"
        );
        assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
        let file = File::open("Cargo.toml").unwrap();
        let err = query_type1(file.as_fd()).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a regular file, not a VFIO container"),
            "{err}"
        );
        if let Ok(kvm) = File::open("/dev/kvm") {
            let err = query_type1(kvm.as_fd()).unwrap_err();
            assert!(
                err.to_string().contains("(kvm), not a VFIO container"),
                "{err}"
            );
        }
    }
}
