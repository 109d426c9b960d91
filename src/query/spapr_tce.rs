//! IBM POWER's sPAPR TCE container: `VFIO_IOMMU_SPAPR_TCE_GET_INFO`, and the two calls
//! that change it, `VFIO_IOMMU_SPAPR_TCE_CREATE` and `_REMOVE`, which run only when a
//! caller asks for them ([`create_window_with`], [`remove_window_with`]): no query here
//! creates or removes anything.
//!
//! The info structure has a fixed size (32 bytes), so one call answers: no grow-and-retry.
//! `argsz` is never rewritten by the kernel (see [`decode::spapr_tce`]).
//!
//! [`decode::spapr_tce`]: crate::decode::spapr_tce

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::decode::bytes::ByteOrder;
use crate::decode::spapr_tce::{decode_spapr_tce_with_order, SpaprTceInfo};
use crate::error::{Errno, Error};
use crate::sys::kernel::{Kernel, SystemKernel, VfioQuery};
use crate::sys::node::not_a_container_hint;
use crate::sys::node::{check_fd, NodeKind};
use crate::sys::uapi::{spapr_tce_create, spapr_tce_info, spapr_tce_remove};

/// The largest `argsz` [`capture_spapr_tce_with`] passes: the lab's 4096-byte capture and
/// then some; the kernel writes 32 bytes at most whatever the size.
pub const MAX_CAPTURE_ARGSZ: u32 = 1 << 16;

/// What [`create_window_with`] asks for: `VFIO_IOMMU_SPAPR_TCE_CREATE`'s inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowRequest {
    /// The IOMMU page size as a shift (12: 4K, 16: 64K, 21: 2M, 24: 16M); one of the DDW
    /// page sizes, or the kernel answers EINVAL.
    pub page_shift: u32,
    /// The window's size in bytes (a power of two; the platform may refuse others).
    pub window_size: u64,
    /// TCE table levels, from 1 to the DDW `levels` (0: the kernel picks, as QEMU asks).
    pub levels: u32,
}

impl WindowRequest {
    /// The page size in bytes, once the request is one the kernel could accept: a page
    /// shift below 64 and a non-zero size that is a multiple of the page
    /// ([`Error::BadArgument`] otherwise, before any call).
    pub fn page_size(&self) -> Result<u64, Error> {
        let page_size = 1u64
            .checked_shl(self.page_shift)
            .filter(|_| self.page_shift < 64)
            .ok_or_else(|| Error::BadArgument {
                what: format!(
                    "page_shift {} for VFIO_IOMMU_SPAPR_TCE_CREATE: give 12 (4K), 16 (64K), 21 (2M) or 24 (16M), one of the DDW page sizes",
                    self.page_shift
                ),
            })?;
        if self.window_size == 0 || self.window_size % page_size != 0 {
            return Err(Error::BadArgument {
                what: format!(
                    "window size {:#x} for VFIO_IOMMU_SPAPR_TCE_CREATE: give a non-zero multiple of the page size {page_size:#x}",
                    self.window_size
                ),
            });
        }
        Ok(page_size)
    }
}

/// A window [`create_window_with`] created: where the platform put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreatedWindow {
    /// The first bus address (`start_addr`), the platform's choice.
    pub start: u64,
    /// The size asked for.
    pub size: u64,
    /// The IOMMU page size, in bytes.
    pub page_size: u64,
}

impl CreatedWindow {
    /// The window as an inclusive range; `None` when start + size passes 2^64 (no
    /// platform does that; a kernel that did is reported, not trusted).
    pub fn range(&self) -> Option<crate::IovaRange> {
        let end = self.start.checked_add(self.size.checked_sub(1)?)?;
        crate::IovaRange::new(self.start, end)
    }
}

/// Queries an sPAPR TCE container fd (`/dev/vfio/vfio` with a group attached and
/// `VFIO_SET_IOMMU` done with an sPAPR model) with `argsz` 32. The fd stays the caller's.
pub fn query_spapr_tce(container: BorrowedFd<'_>) -> Result<SpaprTceInfo, Error> {
    check_fd(container, &[NodeKind::Container], Path::new("/proc"))?;
    query_spapr_tce_with(&SystemKernel, container)
}

/// [`query_spapr_tce`] through a given kernel, without the check of the fd's file type.
pub fn query_spapr_tce_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
) -> Result<SpaprTceInfo, Error> {
    let buf = capture_spapr_tce_with(kernel, container, spapr_tce_info::SIZE as u32)?;
    decode_spapr_tce_with_order(&buf, ByteOrder::Native).map_err(|source| Error::MalformedReply {
        ioctl: VfioQuery::SpaprTceGetInfo.name(),
        fd: container.as_raw_fd(),
        source,
    })
}

/// The raw `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer for a caller's `argsz` (16 to
/// [`MAX_CAPTURE_ARGSZ`]), zeroed before the call: a capture for `decode --kind
/// spapr-tce` or the lab's fixtures (16 shows the kernel's short answer).
pub fn capture_spapr_tce_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
    argsz: u32,
) -> Result<Vec<u8>, Error> {
    if !(spapr_tce_info::MIN_SIZE as u32..=MAX_CAPTURE_ARGSZ).contains(&argsz) {
        return Err(Error::BadArgument {
            what: format!(
                "argsz {argsz} for VFIO_IOMMU_SPAPR_TCE_GET_INFO: give 16 to {MAX_CAPTURE_ARGSZ} (32 is the whole structure)"
            ),
        });
    }
    let mut buf = vec![0u8; argsz as usize];
    buf[..4].copy_from_slice(&argsz.to_ne_bytes());
    kernel
        .vfio_query(container, VfioQuery::SpaprTceGetInfo, &mut buf)
        .map_err(|errno| spapr_error(VfioQuery::SpaprTceGetInfo, container, errno))?;
    Ok(buf)
}

/// [`create_window_with`] on the caller's container fd, checked first to be
/// `/dev/vfio/vfio` (the number means other things on other files).
pub fn create_window(
    container: BorrowedFd<'_>,
    request: WindowRequest,
) -> Result<CreatedWindow, Error> {
    request.page_size()?;
    check_fd(container, &[NodeKind::Container], Path::new("/proc"))?;
    create_window_with(&SystemKernel, container, request)
}

/// [`remove_window_with`] on the caller's container fd, checked first to be
/// `/dev/vfio/vfio`.
pub fn remove_window(container: BorrowedFd<'_>, start: u64) -> Result<(), Error> {
    check_fd(container, &[NodeKind::Container], Path::new("/proc"))?;
    remove_window_with(&SystemKernel, container, start)
}

/// `VFIO_IOMMU_SPAPR_TCE_CREATE`: creates a dynamic DMA window on a v2 container and
/// returns where the platform put it. The window lasts until [`remove_window_with`] or
/// until the container is closed. Mapping in it still needs preregistered memory.
pub fn create_window_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
    request: WindowRequest,
) -> Result<CreatedWindow, Error> {
    let page_size = request.page_size()?;
    let mut buf = [0u8; spapr_tce_create::SIZE];
    buf[..4].copy_from_slice(&(spapr_tce_create::SIZE as u32).to_ne_bytes());
    buf[spapr_tce_create::PAGE_SHIFT..][..4].copy_from_slice(&request.page_shift.to_ne_bytes());
    buf[spapr_tce_create::WINDOW_SIZE..][..8].copy_from_slice(&request.window_size.to_ne_bytes());
    buf[spapr_tce_create::LEVELS..][..4].copy_from_slice(&request.levels.to_ne_bytes());
    kernel
        .vfio_query(container, VfioQuery::SpaprTceCreate, &mut buf)
        .map_err(|errno| spapr_error(VfioQuery::SpaprTceCreate, container, errno))?;
    let mut start = [0u8; 8];
    start.copy_from_slice(&buf[spapr_tce_create::START_ADDR..][..8]);
    let window = CreatedWindow {
        start: u64::from_ne_bytes(start),
        size: request.window_size,
        page_size,
    };
    if window.range().is_none() {
        return Err(Error::BadArgument {
            what: format!(
                "VFIO_IOMMU_SPAPR_TCE_CREATE returned start {:#x} for a {:#x}-byte window: it would pass 2^64; remove it (start {:#x}) and report this kernel",
                window.start, window.size, window.start
            ),
        });
    }
    Ok(window)
}

/// `VFIO_IOMMU_SPAPR_TCE_REMOVE`: removes the window starting at `start` (a start
/// [`create_window_with`] returned, or 0 for the default window).
pub fn remove_window_with<K: Kernel + ?Sized>(
    kernel: &K,
    container: BorrowedFd<'_>,
    start: u64,
) -> Result<(), Error> {
    let mut buf = [0u8; spapr_tce_remove::SIZE];
    buf[..4].copy_from_slice(&(spapr_tce_remove::SIZE as u32).to_ne_bytes());
    buf[spapr_tce_remove::START_ADDR..][..8].copy_from_slice(&start.to_ne_bytes());
    kernel
        .vfio_query(container, VfioQuery::SpaprTceRemove, &mut buf)
        .map_err(|errno| spapr_error(VfioQuery::SpaprTceRemove, container, errno))
}

/// A failed sPAPR call, with what each errno means there (`tce_iommu_ioctl()`).
fn spapr_error(query: VfioQuery, fd: BorrowedFd<'_>, errno: Errno) -> Error {
    let raw = fd.as_raw_fd();
    let hint = match (query, errno.0) {
        (_, libc::ENXIO) => Some("no group is attached to the container: attach one (VFIO_GROUP_SET_CONTAINER) and set an sPAPR model (VFIO_SET_IOMMU with VFIO_SPAPR_TCE_v2_IOMMU)".to_owned()),
        (VfioQuery::SpaprTceGetInfo, libc::EINVAL) => Some("no IOMMU model is set on this container: VFIO_SET_IOMMU with VFIO_SPAPR_TCE_v2_IOMMU first".to_owned()),
        (VfioQuery::SpaprTceCreate | VfioQuery::SpaprTceRemove, libc::ENOTTY) => Some("the container is not a v2 sPAPR container (VFIO_SPAPR_TCE_IOMMU has no dynamic windows), or not sPAPR at all".to_owned()),
        (VfioQuery::SpaprTceCreate, libc::EINVAL) => Some("the page size is not one of the DDW page sizes, or the levels or size are out of the platform's range".to_owned()),
        (VfioQuery::SpaprTceCreate, libc::ENOSPC) => Some("every window the platform supports (max_dynamic_windows_supported) exists already: remove one first".to_owned()),
        (VfioQuery::SpaprTceCreate, libc::ENOMEM) => Some("the TCE table does not fit in the locked memory limit: raise RLIMIT_MEMLOCK (ulimit -l) or ask for a smaller window or larger pages".to_owned()),
        (VfioQuery::SpaprTceRemove, libc::EINVAL) => Some("no window starts at that address".to_owned()),
        (VfioQuery::SpaprTceRemove, libc::EPERM) => Some("the platform does not let user space remove this window".to_owned()),
        (_, libc::ENOTTY | libc::EBADF) => not_a_container_hint(raw, errno),
        (_, libc::EPERM) => Some("the container belongs to another process's memory context".to_owned()),
        _ => None,
    };
    Error::Ioctl {
        ioctl: query.name(),
        target: format!("fd {raw}"),
        errno,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::fs::File;
    use std::os::fd::AsFd;

    use crate::decode::encode_spapr_tce::SpaprTceState;
    use crate::decode::spapr_tce::{Ddw, DDW_EXPECTED_START};

    /// A v2 pseries container as the lab saw it: two windows, the default one and one
    /// created at 2^59.
    struct Pseries {
        state: SpaprTceState,
        windows: RefCell<Vec<u64>>,
        calls: RefCell<Vec<(VfioQuery, u32)>>,
    }

    impl Kernel for Pseries {
        fn vfio_query(
            &self,
            _fd: BorrowedFd<'_>,
            query: VfioQuery,
            buf: &mut [u8],
        ) -> Result<(), Errno> {
            let argsz = u32::from_ne_bytes(buf[..4].try_into().unwrap());
            self.calls.borrow_mut().push((query, argsz));
            match query {
                VfioQuery::SpaprTceGetInfo => self.state.fill(buf).map_err(Errno),
                VfioQuery::SpaprTceCreate => {
                    let mut w = self.windows.borrow_mut();
                    if !w.is_empty() {
                        return Err(Errno(libc::ENOSPC));
                    }
                    let start = DDW_EXPECTED_START;
                    w.push(start);
                    buf[32..40].copy_from_slice(&start.to_ne_bytes());
                    Ok(())
                }
                VfioQuery::SpaprTceRemove => {
                    let start = u64::from_ne_bytes(buf[8..16].try_into().unwrap());
                    let mut w = self.windows.borrow_mut();
                    let i = w
                        .iter()
                        .position(|&s| s == start)
                        .ok_or(Errno(libc::EINVAL))?;
                    w.remove(i);
                    Ok(())
                }
                _ => Err(Errno(libc::ENOTTY)),
            }
        }
    }

    fn pseries() -> Pseries {
        Pseries {
            state: SpaprTceState::pseries_6_12(),
            windows: RefCell::default(),
            calls: RefCell::default(),
        }
    }

    #[test]
    fn one_call_with_argsz_32_answers_and_creates_nothing() {
        let k = pseries();
        let f = File::open("/dev/null").unwrap();
        let info = query_spapr_tce_with(&k, f.as_fd()).unwrap();
        assert!(matches!(info.ddw, Ddw::Supported(_)));
        assert_eq!(*k.calls.borrow(), vec![(VfioQuery::SpaprTceGetInfo, 32)]);
        assert!(k.windows.borrow().is_empty());
        let short = capture_spapr_tce_with(&k, f.as_fd(), 16).unwrap();
        assert_eq!(short.len(), 16);
        assert!(capture_spapr_tce_with(&k, f.as_fd(), 15).is_err());
        assert!(capture_spapr_tce_with(&k, f.as_fd(), MAX_CAPTURE_ARGSZ + 1).is_err());
    }

    #[test]
    fn create_then_remove_a_window() {
        let k = pseries();
        let f = File::open("/dev/null").unwrap();
        let req = WindowRequest {
            page_shift: 16,
            window_size: 4 << 30,
            levels: 1,
        };
        let w = create_window_with(&k, f.as_fd(), req).unwrap();
        assert_eq!((w.start, w.page_size), (1 << 59, 0x1_0000));
        assert_eq!(w.range().unwrap().end, (1 << 59) + (4 << 30) - 1);
        let e = create_window_with(&k, f.as_fd(), req).unwrap_err();
        assert!(e.to_string().contains("remove one first"), "{e}");
        remove_window_with(&k, f.as_fd(), w.start).unwrap();
        let e = remove_window_with(&k, f.as_fd(), w.start).unwrap_err();
        assert!(e.to_string().contains("no window starts"), "{e}");
        // Bad requests never reach the kernel.
        let calls = k.calls.borrow().len();
        for bad in [
            WindowRequest {
                page_shift: 64,
                ..req
            },
            WindowRequest {
                window_size: 0,
                ..req
            },
            WindowRequest {
                window_size: 0x1000,
                ..req
            },
        ] {
            assert!(matches!(
                create_window_with(&k, f.as_fd(), bad),
                Err(Error::BadArgument { .. })
            ));
        }
        assert_eq!(k.calls.borrow().len(), calls);
    }

    #[test]
    fn a_type1_answer_is_refused_as_malformed() {
        // A type1 container answers the same number with its own structure.
        struct Type1;
        impl Kernel for Type1 {
            fn vfio_query(
                &self,
                _fd: BorrowedFd<'_>,
                _q: VfioQuery,
                buf: &mut [u8],
            ) -> Result<(), Errno> {
                let k = crate::decode::encode::KernelState::padded(
                    0x1000,
                    vec![crate::decode::encode::CapSpec::DmaAvail(1)],
                );
                k.fill(buf).map_err(Errno)
            }
        }
        let f = File::open("/dev/null").unwrap();
        let e = query_spapr_tce_with(&Type1, f.as_fd()).unwrap_err();
        assert!(e.to_string().contains("decode it as type1"), "{e}");
    }
}
