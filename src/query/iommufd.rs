//! iommufd (`/dev/iommu`): I/O address spaces (IOAS), their usable IOVA ranges, mappings,
//! and the IOMMU hardware description of a bound device.
//!
//! The IOVA ranges of an IOAS are the answer to "where may I map": `IOMMU_IOAS_IOVA_RANGES`
//! fills a caller-provided array and returns the total count, with `EMSGSIZE` when the
//! array was too small (the part that fit is filled). [`Iommufd::iova_ranges`] passes an
//! inline array big enough for every IOMMU seen in practice, so the common case is one
//! ioctl, and retries (bounded) with the count the kernel gave when it is not.
//! `out_iova_alignment` is kept as what it is: the alignment every mapping's IOVA and
//! length must have (the largest page size *required* by an attached domain), not the
//! page sizes the IOMMU supports.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::decode::hw_info::HwInfo;
use crate::decode::ioas::checked_ranges;
pub use crate::decode::ioas::IoasRanges;
use crate::decode::type1::IommuInfo;
use crate::error::{Errno, Error};
pub use crate::facts::ContainerBackend;
use crate::query::retry::{grow_and_retry, Asked, Fill, MAX_QUERY_CALLS};
use crate::sys::ioctl::{struct_ioctl, value_ioctl};
use crate::sys::kernel::{Kernel, SystemKernel};
use crate::sys::node::{check_fd, open_node, NodeKind};
use crate::sys::paths::HostPaths;
use crate::sys::uapi::{self, IommuHwInfo, IommuIoasIovaRanges, IommuIovaRange};

/// Ranges held inline by the first `IOMMU_IOAS_IOVA_RANGES` call: x86 vIOMMUs give 2-3,
/// an s390 zPCI device 1; more costs a second call.
pub const INLINE_RANGES: usize = 16;
/// The most ranges [`Iommufd::iova_ranges`] accepts (1 MiB of ranges); beyond it the
/// kernel's count is refused as implausible rather than allocated.
pub const MAX_RANGES: u32 = 1 << 16;
/// The hardware-info buffer of the first `IOMMU_GET_HW_INFO` call: larger than every
/// structure the kernel defines (40 bytes for SMMUv3).
const HW_INFO_INLINE: usize = 64;
/// The largest hardware-info data [`Iommufd::hw_info`] fetches.
pub const HW_INFO_MAX: u32 = 4096;
/// The `IOMMU_GET_HW_INFO` calls [`Iommufd::hw_info`] makes at most: every query's bound.
pub const HW_INFO_CALLS: u32 = MAX_QUERY_CALLS as u32;

/// An open `/dev/iommu`.
#[derive(Debug)]
pub struct Iommufd {
    fd: OwnedFd,
    path: PathBuf,
}

fn size_of<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}

impl Iommufd {
    /// Opens the iommufd node of `paths` (`/dev/iommu`).
    pub fn open(paths: &HostPaths) -> Result<Iommufd, Error> {
        Iommufd::open_in(&paths.iommufd, &paths.proc)
    }

    /// Opens an iommufd node at `path` (refused unless it is iommufd's misc device).
    pub fn open_path(path: &Path) -> Result<Iommufd, Error> {
        Iommufd::open_in(path, Path::new("/proc"))
    }

    fn open_in(path: &Path, proc: &Path) -> Result<Iommufd, Error> {
        let fd = open_node(path, NodeKind::Iommufd, proc, |errno| {
            Some(match errno.0 {
                libc::ENOENT => "this kernel has no iommufd (CONFIG_IOMMUFD, Linux 6.2+): `modprobe iommufd`, or use the VFIO group path (/dev/vfio/vfio; vfio-iommu-info's --backend type1)".to_owned(),
                libc::EACCES | libc::EPERM => format!("opening {} needs read-write access (root, or a udev rule giving your user the node)", path.display()),
                _ => "is it iommufd's misc device (10:MINOR, named iommu)?".to_owned(),
            })
        })?;
        Ok(Iommufd {
            fd,
            path: path.to_owned(),
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, ioctl: &'static str, errno: Errno, hint: Option<String>) -> Error {
        // Only iommufd's node is opened, but a kernel's iommufd may predate an ioctl.
        let hint = hint.or_else(|| {
            (errno.0 == libc::ENOTTY).then(|| {
                format!(
                    "{} is not iommufd's node (/dev/iommu, a misc character device 10:N)",
                    self.path.display()
                )
            })
        });
        Error::Ioctl {
            ioctl,
            target: self.target(),
            errno,
            hint,
        }
    }

    /// `IOMMU_IOAS_ALLOC`: a new, empty I/O address space; returns its id.
    pub fn alloc_ioas(&self) -> Result<u32, Error> {
        let mut arg = uapi::IommuIoasAlloc {
            size: size_of::<uapi::IommuIoasAlloc>(),
            ..Default::default()
        };
        // SAFETY: `iommu_ioas_alloc` holds no user pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_ALLOC, &mut arg) }
            .map_err(|e| self.error("IOMMU_IOAS_ALLOC", e, None))?;
        Ok(arg.out_ioas_id)
    }

    /// `IOMMU_DESTROY`: frees the object `id` (an IOAS no device is attached to, a HWPT).
    pub fn destroy(&self, id: u32) -> Result<(), Error> {
        let mut arg = uapi::IommuDestroy {
            size: size_of::<uapi::IommuDestroy>(),
            id,
        };
        // SAFETY: `iommu_destroy` holds no user pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::IOMMU_DESTROY, &mut arg) }.map_err(|e| {
            let hint = match e.0 {
                libc::ENOENT => Some(format!("no object {id} in this iommufd")),
                libc::EBUSY => Some(format!(
                    "object {id} is still in use (a device is attached to it)"
                )),
                _ => None,
            };
            self.error("IOMMU_DESTROY", e, hint)
        })?;
        Ok(())
    }

    /// `IOMMU_IOAS_IOVA_RANGES`: where IOAS `ioas` may map. One ioctl when the ranges fit
    /// [`INLINE_RANGES`]; otherwise the one bounded retry loop with the kernel's count.
    pub fn iova_ranges(&self, ioas: u32) -> Result<IoasRanges, Error> {
        ioas_ranges_in(&SystemKernel, self.fd.as_fd(), ioas, &|| self.target())
    }

    /// `IOMMU_IOAS_MAP` with `IOMMU_IOAS_MAP_FIXED_IOVA`: maps `len` bytes of this
    /// process at `user_va` to `iova` in IOAS `ioas` (`flags`: READABLE and/or WRITEABLE).
    ///
    /// # Safety
    /// `user_va..user_va+len` must be memory of this process that stays mapped, and that
    /// the caller accepts devices reading and (with WRITEABLE) writing, until
    /// [`Iommufd::unmap`] or the iommufd is closed.
    pub unsafe fn map_fixed(
        &self,
        ioas: u32,
        user_va: u64,
        len: u64,
        iova: u64,
        flags: u32,
    ) -> Result<(), Error> {
        let mut arg = uapi::IommuIoasMap {
            size: size_of::<uapi::IommuIoasMap>(),
            flags: flags | uapi::IOMMU_IOAS_MAP_FIXED_IOVA,
            ioas_id: ioas,
            reserved: 0,
            user_va,
            length: len,
            iova,
        };
        // SAFETY: `user_va` is the one user pointer; the memory behind it for `len` bytes
        // is the caller's promise (this function's safety contract).
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_MAP, &mut arg) }.map_err(|e| {
            let hint = match e.0 {
                libc::ENOENT => Some(format!("no IOAS {ioas} in this iommufd")),
                libc::EINVAL => Some(format!("[{iova:#x}, +{len:#x}) is not aligned to the IOAS's iova alignment, or outside its IOVA ranges (IOMMU_IOAS_IOVA_RANGES lists them)")),
                libc::EEXIST => Some(format!("[{iova:#x}, +{len:#x}) overlaps an existing mapping")),
                _ => None,
            };
            self.error("IOMMU_IOAS_MAP", e, hint)
        })?;
        Ok(())
    }

    /// `IOMMU_IOAS_UNMAP`: unmaps `[iova, iova+len)` of IOAS `ioas`; returns the bytes
    /// unmapped.
    pub fn unmap(&self, ioas: u32, iova: u64, len: u64) -> Result<u64, Error> {
        let mut arg = uapi::IommuIoasUnmap {
            size: size_of::<uapi::IommuIoasUnmap>(),
            ioas_id: ioas,
            iova,
            length: len,
        };
        // SAFETY: `iommu_ioas_unmap` holds no user pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_UNMAP, &mut arg) }
            .map_err(|e| self.error("IOMMU_IOAS_UNMAP", e, None))?;
        Ok(arg.length)
    }

    /// `IOMMU_OPTION_RLIMIT_MODE` of this context (see [`rlimit_mode`]): `true` in
    /// process mode, `false` (a fresh `/dev/iommu`'s default) in user mode.
    pub fn rlimit_mode(&self) -> Result<bool, Error> {
        rlimit_mode_unchecked(self.fd.as_fd()).map_err(|e| self.error("IOMMU_OPTION", e, None))
    }

    /// Sets `IOMMU_OPTION_RLIMIT_MODE` (`process`: charge `mm->locked_vm` instead of the
    /// user's `locked_vm`). The kernel allows it only with `CAP_SYS_RESOURCE` (EPERM) and
    /// only before this context holds any object (EBUSY), i.e. right after opening.
    pub fn set_rlimit_mode(&self, process: bool) -> Result<(), Error> {
        let mut arg = uapi::IommuOption {
            size: size_of::<uapi::IommuOption>(),
            option_id: uapi::IOMMU_OPTION_RLIMIT_MODE,
            op: uapi::IOMMU_OPTION_OP_SET,
            val64: u64::from(process),
            ..Default::default()
        };
        // SAFETY: `iommu_option` holds no user pointer.
        unsafe { struct_ioctl(self.fd.as_fd(), uapi::IOMMU_OPTION, &mut arg) }.map_err(|e| {
            let hint = match e.0 {
                libc::EPERM => Some("setting the rlimit mode needs CAP_SYS_RESOURCE".to_owned()),
                libc::EBUSY => Some("set the rlimit mode right after opening /dev/iommu, before any IOAS or device exists".to_owned()),
                _ => None,
            };
            self.error("IOMMU_OPTION", e, hint)
        })?;
        Ok(())
    }

    /// `IOMMU_GET_HW_INFO` for the bound device `dev_id` (see [`hw_info`]).
    pub fn hw_info(&self, dev_id: u32) -> Result<HwInfo, Error> {
        let fd = self.fd.as_fd();
        let info = hw_info_in(&SystemKernel, fd, dev_id, &|| self.target())?;
        Ok(with_known_capabilities(fd, info))
    }

    fn target(&self) -> String {
        format!("{} (fd {})", self.path.display(), self.fd.as_raw_fd())
    }
}

impl AsFd for Iommufd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Checks a caller's descriptor is iommufd's (`/dev/iommu`) before an iommufd ioctl.
fn check_iommufd(fd: BorrowedFd<'_>) -> Result<(), Error> {
    check_fd(fd, &[NodeKind::Iommufd], Path::new("/proc"))
}

fn fd_target(fd: BorrowedFd<'_>) -> impl Fn() -> String + '_ {
    move || format!("iommufd fd {}", fd.as_raw_fd())
}

/// `IOMMU_IOAS_IOVA_RANGES` of IOAS `ioas` on an iommufd the caller owns (a VMM's own
/// `/dev/iommu` fd and IOAS): the usable ranges and the alignment every mapping must
/// have. The fd is checked to be iommufd's first; an id that is no IOAS is an error
/// naming it.
pub fn ioas_ranges(iommufd: BorrowedFd<'_>, ioas: u32) -> Result<IoasRanges, Error> {
    check_iommufd(iommufd)?;
    ioas_ranges_with(&SystemKernel, iommufd, ioas)
}

/// [`ioas_ranges`] through a given kernel, without the check of the fd.
pub fn ioas_ranges_with<K: Kernel + ?Sized>(
    kernel: &K,
    iommufd: BorrowedFd<'_>,
    ioas: u32,
) -> Result<IoasRanges, Error> {
    ioas_ranges_in(kernel, iommufd, ioas, &fd_target(iommufd))
}

/// `IOMMU_GET_HW_INFO` for device `dev_id` bound to an iommufd the caller owns (the id
/// `VFIO_DEVICE_BIND_IOMMUFD` returned): one call with a buffer larger than every
/// structure the kernel defines, more only if its `data_len` says the data did not fit,
/// never more than [`HW_INFO_MAX`] bytes (data beyond that comes back cut, with the
/// kernel's `data_len`: the decoders say it is truncated). The fd is checked first.
pub fn hw_info(iommufd: BorrowedFd<'_>, dev_id: u32) -> Result<HwInfo, Error> {
    check_iommufd(iommufd)?;
    let info = hw_info_with(&SystemKernel, iommufd, dev_id)?;
    Ok(with_known_capabilities(iommufd, info))
}

/// [`hw_info`] through a given kernel, without the check of the fd; `capabilities` is
/// what the kernel wrote (a 6.6 kernel writes 0 whatever the hardware).
pub fn hw_info_with<K: Kernel + ?Sized>(
    kernel: &K,
    iommufd: BorrowedFd<'_>,
    dev_id: u32,
) -> Result<HwInfo, Error> {
    hw_info_in(kernel, iommufd, dev_id, &fd_target(iommufd))
}

fn ranges_error(target: String, ioas: u32, errno: Errno) -> Error {
    let hint = match errno.0 {
        libc::ENOENT => Some(format!("no IOAS {ioas} in this iommufd")),
        libc::EINVAL => Some(format!("object {ioas} is not an IOAS")),
        libc::ENOTTY => Some(format!("{target} is not iommufd's node (/dev/iommu)")),
        _ => None,
    };
    Error::Ioctl {
        ioctl: "IOMMU_IOAS_IOVA_RANGES",
        target,
        errno,
        hint,
    }
}

fn ioas_ranges_in<K: Kernel + ?Sized>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    ioas: u32,
    target: &dyn Fn() -> String,
) -> Result<IoasRanges, Error> {
    let asked = Asked {
        ioctl: "IOMMU_IOAS_IOVA_RANGES",
        target,
        unit: "ranges",
        limit: MAX_RANGES as usize,
    };
    let (ioas_ranges, calls) =
        grow_and_retry::<IommuIovaRange, _, INLINE_RANGES>(&asked, |array| {
            let capacity = array.len();
            let mut arg = IommuIoasIovaRanges {
                size: size_of::<IommuIoasIovaRanges>(),
                ioas_id: ioas,
                num_iovas: capacity as u32,
                ..Default::default()
            };
            match kernel.ioas_iova_ranges(fd, &mut arg, array) {
                Ok(()) if arg.num_iovas as usize <= capacity => {
                    let got = &array[..arg.num_iovas as usize];
                    let ranges = checked_ranges(got).map_err(|source| Error::MalformedReply {
                        ioctl: "IOMMU_IOAS_IOVA_RANGES",
                        fd: fd.as_raw_fd(),
                        source,
                    })?;
                    Ok(Fill::Done(IoasRanges {
                        ranges,
                        alignment: arg.out_iova_alignment,
                        calls: 0,
                    }))
                }
                // EMSGSIZE: the count grew past the array (a success with a larger count
                // would be a kernel bug; it is treated the same way).
                Ok(()) | Err(Errno(libc::EMSGSIZE)) => Ok(Fill::Grow(arg.num_iovas as usize)),
                Err(errno) => Err(ranges_error(target(), ioas, errno)),
            }
        })?;
    Ok(IoasRanges {
        calls,
        ..ioas_ranges
    })
}

fn hw_info_in<K: Kernel + ?Sized>(
    kernel: &K,
    fd: BorrowedFd<'_>,
    dev_id: u32,
    target: &dyn Fn() -> String,
) -> Result<HwInfo, Error> {
    let asked = Asked {
        ioctl: "IOMMU_GET_HW_INFO",
        target,
        unit: "bytes",
        limit: HW_INFO_MAX as usize,
    };
    let (info, _) = grow_and_retry::<u8, _, HW_INFO_INLINE>(&asked, |data| {
        let capacity = data.len() as u32;
        let mut arg = IommuHwInfo {
            size: size_of::<IommuHwInfo>(),
            dev_id,
            data_len: capacity,
            ..Default::default()
        };
        kernel.hw_info(fd, &mut arg, data).map_err(|errno| {
            let hint = match errno.0 {
                libc::ENOENT => Some(format!("no device {dev_id} bound to this iommufd")),
                libc::ENOTTY => Some(
                    "the kernel predates IOMMU_GET_HW_INFO (Linux 6.6), or the fd is not iommufd's"
                        .to_owned(),
                ),
                libc::EOPNOTSUPP => {
                    Some("the kernel refused the request's flags or reserved bytes".to_owned())
                }
                _ => None,
            };
            Error::Ioctl {
                ioctl: "IOMMU_GET_HW_INFO",
                target: target(),
                errno,
                hint,
            }
        })?;
        // Data beyond HW_INFO_MAX is not fetched: what fit is returned, cut.
        if arg.data_len > capacity && capacity < HW_INFO_MAX {
            return Ok(Fill::Grow(arg.data_len.min(HW_INFO_MAX) as usize));
        }
        Ok(Fill::Done(HwInfo {
            data_type: arg.out_data_type,
            data_len: arg.data_len,
            data: data[..arg.data_len.min(capacity) as usize].to_vec(),
            capabilities: Some(arg.out_capabilities),
            max_pasid_log2: arg.out_max_pasid_log2,
            kernel_page_size: kernel.page_size(),
            byte_order: crate::decode::bytes::ByteOrder::Native,
        }))
    })?;
    Ok(info)
}

/// `info` with `capabilities` set to `None` when the kernel predates the field (Linux
/// 6.7+, with the dirty-tracking ioctls): a 6.6 kernel leaves it 0 whatever the hardware.
fn with_known_capabilities(fd: BorrowedFd<'_>, info: HwInfo) -> HwInfo {
    if info.capabilities == Some(0) && !knows_capabilities(fd) {
        HwInfo {
            capabilities: None,
            ..info
        }
    } else {
        info
    }
}

/// Whether the kernel fills `out_capabilities`, probed without side effects: a 0-size
/// `IOMMU_HWPT_GET_DIRTY_BITMAP` is EINVAL where it exists, ENOTTY where it does not.
fn knows_capabilities(fd: BorrowedFd<'_>) -> bool {
    let mut size = 0u32;
    // SAFETY: the kernel reads the leading u32 `size` of the argument (0 here, below
    // every command's minimum, so it stops there with EINVAL) from `size`, a live u32; an
    // unknown command is refused before any read.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            uapi::IOMMU_HWPT_GET_DIRTY_BITMAP as _,
            &mut size as *mut u32,
        )
    };
    !(ret < 0 && Errno::last().0 == libc::ENOTTY)
}

/// Asks a container fd (after `VFIO_SET_IOMMU`) who serves it. The fd must first answer
/// `VFIO_GET_API_VERSION`, as `/dev/vfio/vfio` does whoever serves it: a group or device
/// fd, another file or a closed fd is an error naming the fd, never a guess.
pub fn container_backend(container: BorrowedFd<'_>) -> Result<ContainerBackend, Error> {
    check_fd(
        container,
        &[NodeKind::Container, NodeKind::Iommufd],
        Path::new("/proc"),
    )?;
    value_ioctl(container, uapi::VFIO_GET_API_VERSION, 0).map_err(|errno| Error::Ioctl {
        ioctl: "VFIO_GET_API_VERSION",
        target: format!("fd {}", container.as_raw_fd()),
        errno,
        hint: crate::sys::node::not_a_container_hint(container.as_raw_fd(), errno),
    })?;
    Ok(backend_of_container(container))
}

/// `IOMMU_OPTION_RLIMIT_MODE` (GET, object 0) on an iommufd context: `true` when pinned
/// pages are charged to the mapping process's `mm->locked_vm` (process mode, the VFIO
/// way), `false` when to its user's `user->locked_vm` (`iommufd_option_rlimit_mode` in
/// `ioas.c` answers `ictx->account_mode == IOPT_PAGES_ACCOUNT_MM`). `fd` is a `/dev/iommu`
/// fd or a `/dev/vfio/vfio` container served by iommufd, which starts in process mode
/// (`iommufd_fops_open`); the VFIO type1 container answers ENOTTY, an error naming it.
pub fn rlimit_mode(fd: BorrowedFd<'_>) -> Result<bool, Error> {
    rlimit_mode_val64(fd).map(is_process_mode)
}

/// [`rlimit_mode`]'s answer as the kernel gave it (`val64`), with the same checks and
/// errors: what a snapshot records of a compat container.
pub(crate) fn rlimit_mode_val64(fd: BorrowedFd<'_>) -> Result<u64, Error> {
    check_fd(
        fd,
        &[NodeKind::Container, NodeKind::Iommufd],
        Path::new("/proc"),
    )?;
    rlimit_mode_raw(fd).map_err(|errno| Error::Ioctl {
        ioctl: "IOMMU_OPTION",
        target: format!("fd {}", fd.as_raw_fd()),
        errno,
        hint: (errno.0 == libc::ENOTTY).then(|| {
            "not served by iommufd (the VFIO type1 container has no rlimit mode: it always charges the process), or a kernel before 6.2".to_owned()
        }),
    })
}

/// Whether `IOMMU_OPTION_RLIMIT_MODE`'s `val64` says process mode (the kernel answers
/// `account_mode == IOPT_PAGES_ACCOUNT_MM`: 1).
pub(crate) fn is_process_mode(val64: u64) -> bool {
    val64 == 1
}

pub(crate) fn rlimit_mode_unchecked(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    rlimit_mode_raw(fd).map(is_process_mode)
}

fn rlimit_mode_raw(fd: BorrowedFd<'_>) -> Result<u64, Errno> {
    let mut arg = uapi::IommuOption {
        size: size_of::<uapi::IommuOption>(),
        option_id: uapi::IOMMU_OPTION_RLIMIT_MODE,
        op: uapi::IOMMU_OPTION_OP_GET,
        ..Default::default()
    };
    // SAFETY: `iommu_option` holds no user pointer.
    unsafe { struct_ioctl(fd, uapi::IOMMU_OPTION, &mut arg) }?;
    Ok(arg.val64)
}

/// iommufd's VFIO compat container attaches a group to its IOAS only when a device of the
/// group is opened; before, its `VFIO_IOMMU_GET_INFO` describes an IOAS without an IOMMU
/// domain (all 64 bits, no hole). Such an answer is refused. It is recognised by the compat
/// container's signature (DMA_AVAIL U32_MAX, no MIGRATION: type1 reports 65535 by default
/// and MIGRATION since 5.8), then by `IOMMU_VFIO_IOAS` and the IOAS's alignment, which is
/// 1 until a domain is attached (a domain's smallest page after): two more ioctls on that
/// backend only.
pub(crate) fn check_compat_has_device(
    container: BorrowedFd<'_>,
    info: &IommuInfo,
) -> Result<(), Error> {
    if info.dma_avail.present() != Some(&u32::MAX) || info.migration.present().is_some() {
        return Ok(());
    }
    let ContainerBackend::IommufdCompat { ioas: Some(ioas) } = backend_of_container(container)
    else {
        return Ok(());
    };
    let ranges = ioas_ranges_with(&SystemKernel, container, ioas)?;
    if ranges.alignment > 1 {
        return Ok(());
    }
    Err(Error::CompatWithoutDevice {
        target: format!("container fd {}", container.as_raw_fd()),
        ioas,
    })
}

/// Who serves a fd known to be a VFIO container: the VFIO type1 driver answers the
/// iommufd-only `IOMMU_VFIO_IOAS` with ENOTTY; iommufd answers it.
pub(crate) fn backend_of_container(container: BorrowedFd<'_>) -> ContainerBackend {
    let mut arg = uapi::IommuVfioIoas {
        size: size_of::<uapi::IommuVfioIoas>(),
        op: uapi::IOMMU_VFIO_IOAS_GET,
        ..Default::default()
    };
    // SAFETY: `iommu_vfio_ioas` holds no user pointer.
    let answer =
        unsafe { struct_ioctl(container, uapi::IOMMU_VFIO_IOAS, &mut arg) }.map(|_| arg.ioas_id);
    backend_from_answer(answer)
}

/// Who answered `IOMMU_VFIO_IOAS` GET, from its result (the compat IOAS id, or the errno).
fn backend_from_answer(answer: Result<u32, Errno>) -> ContainerBackend {
    match answer {
        Ok(ioas) => ContainerBackend::IommufdCompat { ioas: Some(ioas) },
        // The legacy container's type1 driver, and (before SET_IOMMU) the container itself.
        Err(Errno(libc::ENOTTY)) | Err(Errno(libc::EINVAL)) => ContainerBackend::Vfio,
        // iommufd itself, without a compat IOAS yet (ENODEV) or refusing otherwise.
        Err(_) => ContainerBackend::IommufdCompat { ioas: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iova::{IovaRange, PageSizes};

    use crate::sys::kernel::VfioQuery;
    use std::cell::Cell;

    /// A fake kernel: `count(call)` ranges [i<<30, i<<30 | 0xfff], filling what fits and
    /// answering EMSGSIZE like `iommufd_ioas_iova_ranges` (or `errno` when set); and an
    /// `IOMMU_GET_HW_INFO` whose `data_len` is `hw_len(buffer length)`.
    struct Fake {
        count: Box<dyn Fn(u32) -> u32>,
        hw_len: Box<dyn Fn(u32) -> u32>,
        errno: Option<i32>,
        calls: Cell<u32>,
    }

    fn fake(count: impl Fn(u32) -> u32 + 'static) -> Fake {
        Fake {
            count: Box::new(count),
            hw_len: Box::new(|_| 40),
            errno: None,
            calls: Cell::new(0),
        }
    }

    fn hw(hw_len: impl Fn(u32) -> u32 + 'static) -> Fake {
        Fake {
            hw_len: Box::new(hw_len),
            ..fake(|_| 0)
        }
    }

    impl Kernel for Fake {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, _: &mut [u8]) -> Result<(), Errno> {
            unreachable!("iommufd queries only")
        }

        fn ioas_iova_ranges(
            &self,
            _: BorrowedFd<'_>,
            arg: &mut IommuIoasIovaRanges,
            array: &mut [IommuIovaRange],
        ) -> Result<(), Errno> {
            self.calls.set(self.calls.get() + 1);
            if let Some(e) = self.errno {
                return Err(Errno(e));
            }
            let n = (self.count)(self.calls.get());
            assert_eq!(arg.num_iovas as usize, array.len());
            for (i, slot) in array.iter_mut().enumerate().take(n as usize) {
                *slot = IommuIovaRange {
                    start: (i as u64) << 30,
                    last: ((i as u64) << 30) | 0xfff,
                };
            }
            let room = arg.num_iovas;
            arg.num_iovas = n;
            arg.out_iova_alignment = 4096;
            if n > room {
                Err(Errno(libc::EMSGSIZE))
            } else {
                Ok(())
            }
        }

        fn hw_info(
            &self,
            _: BorrowedFd<'_>,
            arg: &mut IommuHwInfo,
            data: &mut [u8],
        ) -> Result<(), Errno> {
            self.calls.set(self.calls.get() + 1);
            assert_eq!(arg.data_len as usize, data.len());
            arg.data_len = (self.hw_len)(arg.data_len);
            arg.out_data_type = 2;
            Ok(())
        }
    }

    /// /dev/null plays iommufd for the fake kernels (the library itself would refuse
    /// to send it an ioctl).
    fn null() -> std::fs::File {
        std::fs::File::open("/dev/null").unwrap()
    }

    #[test]
    fn ranges_that_fit_take_one_call_and_more_take_a_second() {
        let fd = null();
        let r = ioas_ranges_with(&fake(|_| 3), fd.as_fd(), 1).unwrap();
        assert_eq!((r.ranges.len(), r.calls, r.alignment), (3, 1, 4096));
        let r = ioas_ranges_with(&fake(|_| 20), fd.as_fd(), 1).unwrap();
        assert_eq!((r.ranges.len(), r.calls), (20, 2));
        assert_eq!(
            r.ranges[19],
            IovaRange::new(19 << 30, (19 << 30) | 0xfff).unwrap()
        );
        // Exactly the inline capacity still fits.
        let r = ioas_ranges_with(&fake(|_| INLINE_RANGES as u32), fd.as_fd(), 1).unwrap();
        assert_eq!(r.calls, 1);
    }

    #[test]
    fn a_count_that_keeps_growing_or_is_implausible_is_refused() {
        let fd = null();
        // Grows by one on every call (devices attached concurrently).
        let e = ioas_ranges_with(&fake(|call| 16 + call), fd.as_fd(), 7).unwrap_err();
        assert!(
            matches!(
                e,
                Error::SizeUnstable {
                    calls: 4,
                    last: 20,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("kept changing (4 calls, last 20 ranges)"),
            "{e}"
        );
        // Grew once, then settled: fine.
        let settles = fake(|call| if call == 1 { 17 } else { 18 });
        let r = ioas_ranges_with(&settles, fd.as_fd(), 7).unwrap();
        assert_eq!((r.ranges.len(), r.calls), (18, 3));
        // An absurd count is not allocated.
        let e = ioas_ranges_with(&fake(|_| MAX_RANGES + 1), fd.as_fd(), 7).unwrap_err();
        assert!(matches!(e, Error::SizeTooLarge { .. }), "{e}");
        assert!(e.to_string().contains("more than the 65536"), "{e}");
        // Another errno is reported with what it means.
        let enoent = Fake {
            errno: Some(libc::ENOENT),
            ..fake(|_| 0)
        };
        let e = ioas_ranges_with(&enoent, fd.as_fd(), 7).unwrap_err();
        assert!(e.to_string().contains("no IOAS 7"), "{e}");
    }

    #[test]
    fn hw_info_is_bounded_in_calls_and_bytes() {
        let fd = null();
        // Data that fits takes one call.
        let k = hw(|_| 40);
        let info = hw_info_with(&k, fd.as_fd(), 1).unwrap();
        assert_eq!((k.calls.get(), info.data.len()), (1, 40));
        // One that asks for more than the limit gets the limit, cut.
        let k = hw(|_| u32::MAX);
        let info = hw_info_with(&k, fd.as_fd(), 1).unwrap();
        assert_eq!((k.calls.get(), info.data.len()), (2, HW_INFO_MAX as usize));
        assert_eq!(info.data_len, u32::MAX);
        // A data_len always one byte more than the buffer: every query's error for a
        // size that keeps changing, after every query's bound of calls.
        let k = hw(|len| len + 1);
        let e = hw_info_with(&k, fd.as_fd(), 1).unwrap_err();
        assert_eq!(k.calls.get(), HW_INFO_CALLS);
        assert!(matches!(e, Error::SizeUnstable { .. }), "{e}");
    }

    /// A kernel with 64 KiB pages answering for QEMU's SMMUv3 (IDR5 0x74: every granule).
    struct Smmu64k;

    impl Kernel for Smmu64k {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, _: &mut [u8]) -> Result<(), Errno> {
            unreachable!("iommufd queries only")
        }

        fn hw_info(
            &self,
            _: BorrowedFd<'_>,
            arg: &mut IommuHwInfo,
            data: &mut [u8],
        ) -> Result<(), Errno> {
            let mut regs = [0u8; 40];
            regs[8..12].copy_from_slice(&0x0d40_101a_u32.to_ne_bytes());
            regs[28..32].copy_from_slice(&0x74_u32.to_ne_bytes());
            let n = data.len().min(40);
            data[..n].copy_from_slice(&regs[..n]);
            arg.data_len = 40;
            arg.out_data_type = uapi::IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
            Ok(())
        }

        fn page_size(&self) -> u64 {
            1 << 16
        }
    }

    #[test]
    fn hw_info_carries_the_answering_kernels_page_size() {
        let fd = null();
        let info = hw_info_with(&Smmu64k, fd.as_fd(), 1).unwrap();
        assert_eq!(info.kernel_page_size, 1 << 16);
        // The 64K granule's domain, not every granule (0x62215000) nor the 4K one.
        assert_eq!(info.page_sizes(), Some(PageSizes((1 << 16) | (1 << 29))));
        // By default, the running kernel's page size.
        let info = hw_info_with(&hw(|_| 40), fd.as_fd(), 1).unwrap();
        assert_eq!(info.kernel_page_size, crate::sys::page_size());
    }

    #[test]
    fn a_callers_fd_that_is_not_iommufd_is_refused_before_any_ioctl() {
        let fd = null();
        let e = ioas_ranges(fd.as_fd(), 1).unwrap_err();
        assert!(matches!(e, Error::WrongNode { .. }), "{e}");
        let e = hw_info(fd.as_fd(), 1).unwrap_err();
        assert!(e.to_string().contains("not iommufd's node"), "{e}");
    }

    #[test]
    fn a_missing_node_says_how_to_get_iommufd() {
        let e = Iommufd::open_path(Path::new("/nonexistent/iommu")).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("/nonexistent/iommu"), "{text}");
        assert!(
            text.contains("CONFIG_IOMMUFD") && text.contains("--backend type1"),
            "{text}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_container_is_an_error_not_a_backend() {
        // /dev/null, like a group or device fd, is no container: refused before any
        // ioctl, with ENOTTY (what the ioctl would have answered).
        let f = std::fs::File::open("/dev/null").unwrap();
        let err = container_backend(f.as_fd()).unwrap_err();
        assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "fd {} is a character device 1:3 (mem), not a VFIO container",
                f.as_raw_fd()
            )),
            "{text}"
        );
    }

    #[test]
    fn iommufd_answers_where_the_type1_driver_does_not() {
        assert_eq!(
            backend_from_answer(Ok(7)),
            ContainerBackend::IommufdCompat { ioas: Some(7) }
        );
        assert_eq!(
            backend_from_answer(Err(Errno(libc::ENODEV))),
            ContainerBackend::IommufdCompat { ioas: None }
        );
        for errno in [libc::ENOTTY, libc::EINVAL] {
            assert_eq!(
                backend_from_answer(Err(Errno(errno))),
                ContainerBackend::Vfio
            );
        }
    }
}
