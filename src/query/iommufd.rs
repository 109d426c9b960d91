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
use crate::error::{Errno, Error};
pub use crate::facts::ContainerBackend;
use crate::sys::ioctl::value_ioctl;
use crate::sys::node::{check_fd, open_node, NodeKind};
use crate::sys::paths::HostPaths;
use crate::sys::uapi::{self, IommuHwInfo, IommuIoasIovaRanges, IommuIovaRange};

/// Ranges held inline by the first `IOMMU_IOAS_IOVA_RANGES` call: x86 vIOMMUs give 2-3,
/// an s390 zPCI device 1; more costs a second call.
pub const INLINE_RANGES: usize = 16;
/// The most ranges [`Iommufd::iova_ranges`] accepts (1 MiB of ranges); beyond it the
/// kernel's count is refused as implausible rather than allocated.
pub const MAX_RANGES: u32 = 1 << 16;
/// Calls [`Iommufd::iova_ranges`] makes before it gives up on a count that keeps growing.
const RANGE_ATTEMPTS: u32 = 4;
/// The hardware-info buffer of the first `IOMMU_GET_HW_INFO` call: larger than every
/// structure the kernel defines (40 bytes for SMMUv3).
const HW_INFO_INLINE: usize = 64;
/// The largest hardware-info data [`Iommufd::hw_info`] fetches.
pub const HW_INFO_MAX: u32 = 4096;
/// The `IOMMU_GET_HW_INFO` calls [`Iommufd::hw_info`] makes at most: a kernel whose
/// `data_len` grows on every call does not keep it asking.
pub const HW_INFO_CALLS: u32 = 2;

/// An open `/dev/iommu`.
#[derive(Debug)]
pub struct Iommufd {
    fd: OwnedFd,
    path: PathBuf,
}

/// `ioctl(fd, request, arg)` for a structure argument; the kernel reads and writes `*arg`.
fn struct_ioctl<T>(fd: BorrowedFd<'_>, request: u32, arg: &mut T) -> Result<i32, Errno> {
    // SAFETY: `arg` is a live, exclusively borrowed repr(C) structure whose first field is
    // its size, which the caller set to size_of::<T>(); the kernel reads and writes at most
    // that many bytes. Any user pointers inside it are the caller's responsibility (see
    // the callers' own SAFETY comments).
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
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
            target: format!("{} (fd {})", self.path.display(), self.fd.as_raw_fd()),
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
        struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_ALLOC, &mut arg)
            .map_err(|e| self.error("IOMMU_IOAS_ALLOC", e, None))?;
        Ok(arg.out_ioas_id)
    }

    /// `IOMMU_DESTROY`: frees the object `id` (an IOAS no device is attached to, a HWPT).
    pub fn destroy(&self, id: u32) -> Result<(), Error> {
        let mut arg = uapi::IommuDestroy {
            size: size_of::<uapi::IommuDestroy>(),
            id,
        };
        struct_ioctl(self.fd.as_fd(), uapi::IOMMU_DESTROY, &mut arg).map_err(|e| {
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
    /// [`INLINE_RANGES`]; otherwise bounded retries with the kernel's count.
    pub fn iova_ranges(&self, ioas: u32) -> Result<IoasRanges, Error> {
        let fd = self.fd.as_fd();
        self.iova_ranges_using(ioas, |arg, array| {
            arg.allowed_iovas = array.as_mut_ptr() as u64;
            // SAFETY (of the user pointer inside `arg`): `allowed_iovas` points to `array`,
            // `num_iovas` elements of repr(C) iommu_iova_range that stay alive and
            // exclusively borrowed for the call; the kernel writes at most that many.
            struct_ioctl(fd, uapi::IOMMU_IOAS_IOVA_RANGES, arg)
        })
    }

    /// An `Iommufd` over any file, unchecked, for the fuzz target `iommufd` (fuzz/), whose
    /// fake kernel answers every call. Not part of the API: only with the `__fuzzing`
    /// feature.
    #[cfg(feature = "__fuzzing")]
    #[doc(hidden)]
    pub fn fuzz_unchecked(file: std::fs::File, path: &Path) -> Iommufd {
        Iommufd {
            fd: file.into(),
            path: path.to_owned(),
        }
    }

    /// `iova_ranges_using` for the fuzz target `iommufd` (fuzz/), which drives a fake
    /// kernel from its input. Not part of the API: only with the `__fuzzing` feature.
    #[cfg(feature = "__fuzzing")]
    #[doc(hidden)]
    pub fn fuzz_iova_ranges_using(
        &self,
        ioas: u32,
        call: impl FnMut(&mut IommuIoasIovaRanges, &mut [IommuIovaRange]) -> Result<i32, Errno>,
    ) -> Result<IoasRanges, Error> {
        self.iova_ranges_using(ioas, call)
    }

    /// The retry logic of [`Iommufd::iova_ranges`] around `call`, which performs one
    /// `IOMMU_IOAS_IOVA_RANGES` with `arg` on `array` (a fake kernel in the tests).
    fn iova_ranges_using(
        &self,
        ioas: u32,
        mut call: impl FnMut(&mut IommuIoasIovaRanges, &mut [IommuIovaRange]) -> Result<i32, Errno>,
    ) -> Result<IoasRanges, Error> {
        let mut inline = [IommuIovaRange::default(); INLINE_RANGES];
        let mut heap: Vec<IommuIovaRange> = Vec::new();
        let mut calls = 0;
        loop {
            calls += 1;
            let array: &mut [IommuIovaRange] = if heap.is_empty() {
                &mut inline
            } else {
                &mut heap
            };
            let mut arg = IommuIoasIovaRanges {
                size: size_of::<IommuIoasIovaRanges>(),
                ioas_id: ioas,
                num_iovas: array.len() as u32,
                reserved: 0,
                allowed_iovas: 0,
                out_iova_alignment: 0,
            };
            let result = call(&mut arg, array);
            let capacity = array.len() as u32;
            match result {
                Ok(_) if arg.num_iovas <= capacity => {
                    let got = &array[..arg.num_iovas as usize];
                    let ranges = checked_ranges(got).map_err(|source| Error::MalformedReply {
                        ioctl: "IOMMU_IOAS_IOVA_RANGES",
                        fd: self.fd.as_raw_fd(),
                        source,
                    })?;
                    return Ok(IoasRanges {
                        ranges,
                        alignment: arg.out_iova_alignment,
                        calls,
                    });
                }
                // EMSGSIZE: the count grew past the array (a success with a larger count
                // would be a kernel bug; treat it the same way).
                Ok(_) | Err(Errno(libc::EMSGSIZE)) => {
                    let wanted = arg.num_iovas;
                    if wanted > MAX_RANGES {
                        return Err(self.error(
                            "IOMMU_IOAS_IOVA_RANGES",
                            Errno(libc::EMSGSIZE),
                            Some(format!("the kernel reports {wanted} IOVA ranges for IOAS {ioas}, more than the {MAX_RANGES} this library accepts")),
                        ));
                    }
                    if calls >= RANGE_ATTEMPTS {
                        return Err(self.error(
                            "IOMMU_IOAS_IOVA_RANGES",
                            Errno(libc::EMSGSIZE),
                            Some(format!("the range count of IOAS {ioas} kept growing ({calls} calls, last {wanted}): devices are being attached concurrently, try again")),
                        ));
                    }
                    heap = vec![IommuIovaRange::default(); wanted.max(capacity + 1) as usize];
                }
                Err(e) => {
                    let hint = match e.0 {
                        libc::ENOENT => Some(format!("no IOAS {ioas} in this iommufd")),
                        libc::EINVAL => Some(format!("object {ioas} is not an IOAS")),
                        _ => None,
                    };
                    return Err(self.error("IOMMU_IOAS_IOVA_RANGES", e, hint));
                }
            }
        }
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
        // The user memory is the caller's promise (this function's safety contract).
        struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_MAP, &mut arg).map_err(|e| {
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
        struct_ioctl(self.fd.as_fd(), uapi::IOMMU_IOAS_UNMAP, &mut arg)
            .map_err(|e| self.error("IOMMU_IOAS_UNMAP", e, None))?;
        Ok(arg.length)
    }

    /// `IOMMU_GET_HW_INFO` for the bound device `dev_id`: one call with a buffer larger
    /// than every structure the kernel defines, one more if its `data_len` says the data
    /// did not fit; at most [`HW_INFO_CALLS`] calls and [`HW_INFO_MAX`] bytes. Data that
    /// still did not fit comes back cut, with the kernel's `data_len` (the decoders say
    /// it is truncated).
    pub fn hw_info(&self, dev_id: u32) -> Result<HwInfo, Error> {
        let info = self.hw_info_using(dev_id, |arg| {
            // SAFETY (of the user pointer inside `arg`): `hw_info_using` points
            // `data_uptr` at a live, exclusively borrowed buffer of `data_len` bytes.
            struct_ioctl(self.fd.as_fd(), uapi::IOMMU_GET_HW_INFO, arg)
        })?;
        let capabilities = if info.capabilities == Some(0) && !self.knows_capabilities() {
            None
        } else {
            info.capabilities
        };
        Ok(HwInfo {
            capabilities,
            ..info
        })
    }

    /// The retry logic of [`Iommufd::hw_info`] around `call`, which performs one
    /// `IOMMU_GET_HW_INFO` with `arg` (a fake kernel in the tests).
    fn hw_info_using(
        &self,
        dev_id: u32,
        mut call: impl FnMut(&mut IommuHwInfo) -> Result<i32, Errno>,
    ) -> Result<HwInfo, Error> {
        let mut len = HW_INFO_INLINE as u32;
        let mut calls = 0;
        loop {
            calls += 1;
            let mut data = vec![0u8; len as usize];
            let mut arg = IommuHwInfo {
                size: size_of::<IommuHwInfo>(),
                dev_id,
                data_len: len,
                data_uptr: data.as_mut_ptr() as u64,
                ..Default::default()
            };
            call(&mut arg).map_err(|e| {
                let hint = match e.0 {
                    libc::ENOENT => Some(format!("no device {dev_id} bound to this iommufd")),
                    libc::ENOTTY => {
                        Some("the kernel predates IOMMU_GET_HW_INFO (Linux 6.6)".to_owned())
                    }
                    libc::EOPNOTSUPP => {
                        Some("the kernel refused the request's flags or reserved bytes".to_owned())
                    }
                    _ => None,
                };
                self.error("IOMMU_GET_HW_INFO", e, hint)
            })?;
            if arg.data_len > len && len < HW_INFO_MAX && calls < HW_INFO_CALLS {
                len = arg.data_len.min(HW_INFO_MAX);
                continue;
            }
            data.truncate(arg.data_len.min(len) as usize);
            return Ok(HwInfo {
                data_type: arg.out_data_type,
                data_len: arg.data_len,
                data,
                capabilities: Some(arg.out_capabilities),
                max_pasid_log2: arg.out_max_pasid_log2,
            });
        }
    }

    /// Whether the kernel fills `out_capabilities` (Linux 6.7+, with the dirty-tracking
    /// ioctls): a 6.6 kernel leaves it 0 whatever the hardware. Probed without side
    /// effects: a 0-size `IOMMU_HWPT_GET_DIRTY_BITMAP` is EINVAL where it exists.
    fn knows_capabilities(&self) -> bool {
        let mut size = 0u32;
        // SAFETY: the kernel reads the leading u32 `size` of the argument (0 here, below
        // every command's minimum, so it stops there with EINVAL) from `size`, a live u32;
        // an unknown command is refused before any read.
        let ret = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                uapi::IOMMU_HWPT_GET_DIRTY_BITMAP as _,
                &mut size as *mut u32,
            )
        };
        !(ret < 0 && Errno::last().0 == libc::ENOTTY)
    }
}

impl AsFd for Iommufd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
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
        hint: crate::query::get_info::not_a_container_hint(container.as_raw_fd(), errno),
    })?;
    Ok(backend_of_container(container))
}

/// Who serves a fd known to be a VFIO container: the VFIO type1 driver answers the
/// iommufd-only `IOMMU_VFIO_IOAS` with ENOTTY; iommufd answers it.
pub(crate) fn backend_of_container(container: BorrowedFd<'_>) -> ContainerBackend {
    let mut arg = uapi::IommuVfioIoas {
        size: size_of::<uapi::IommuVfioIoas>(),
        op: uapi::IOMMU_VFIO_IOAS_GET,
        ..Default::default()
    };
    let answer = struct_ioctl(container, uapi::IOMMU_VFIO_IOAS, &mut arg).map(|_| arg.ioas_id);
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
    use crate::iova::IovaRange;

    /// A fake kernel with `count(call)` ranges [i<<30, i<<30 | 0xfff], filling what fits
    /// and answering EMSGSIZE like `iommufd_ioas_iova_ranges`.
    fn fake(
        count: impl Fn(u32) -> u32,
    ) -> impl FnMut(&mut IommuIoasIovaRanges, &mut [IommuIovaRange]) -> Result<i32, Errno> {
        let mut calls = 0;
        move |arg, array| {
            calls += 1;
            let n = count(calls);
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
                Ok(0)
            }
        }
    }

    /// /dev/null plays iommufd for the fake kernels (the library itself would refuse
    /// to open it as one).
    fn null_iommufd() -> Iommufd {
        Iommufd {
            fd: std::fs::File::open("/dev/null").unwrap().into(),
            path: "/dev/null".into(),
        }
    }

    #[test]
    fn ranges_that_fit_take_one_call_and_more_take_a_second() {
        let fd = null_iommufd();
        let r = fd.iova_ranges_using(1, fake(|_| 3)).unwrap();
        assert_eq!((r.ranges.len(), r.calls, r.alignment), (3, 1, 4096));
        let r = fd.iova_ranges_using(1, fake(|_| 20)).unwrap();
        assert_eq!((r.ranges.len(), r.calls), (20, 2));
        assert_eq!(
            r.ranges[19],
            IovaRange::new(19 << 30, (19 << 30) | 0xfff).unwrap()
        );
        // Exactly the inline capacity still fits.
        let r = fd
            .iova_ranges_using(1, fake(|_| INLINE_RANGES as u32))
            .unwrap();
        assert_eq!(r.calls, 1);
    }

    #[test]
    fn a_count_that_keeps_growing_or_is_implausible_is_refused() {
        let fd = null_iommufd();
        // Grows by one on every call (devices attached concurrently).
        let e = fd.iova_ranges_using(7, fake(|call| 16 + call)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("kept growing (4 calls, last 20)"), "{text}");
        // Grew once, then settled: fine.
        let r = fd
            .iova_ranges_using(7, fake(|call| if call == 1 { 17 } else { 18 }))
            .unwrap();
        assert_eq!((r.ranges.len(), r.calls), (18, 3));
        // An absurd count is not allocated.
        let e = fd
            .iova_ranges_using(7, fake(|_| MAX_RANGES + 1))
            .unwrap_err();
        assert!(e.to_string().contains("more than the 65536"), "{e}");
        // Another errno is reported with what it means.
        let e = fd
            .iova_ranges_using(7, |_, _| Err(Errno(libc::ENOENT)))
            .unwrap_err();
        assert!(e.to_string().contains("no IOAS 7"), "{e}");
    }

    #[test]
    fn hw_info_that_keeps_growing_takes_two_calls_and_comes_back_cut() {
        let fd = null_iommufd();
        let mut calls = 0;
        // A kernel whose data_len is always one byte more than the buffer.
        let info = fd
            .hw_info_using(1, |arg| {
                calls += 1;
                arg.data_len += 1;
                arg.out_data_type = 2;
                Ok(0)
            })
            .unwrap();
        assert_eq!(calls, HW_INFO_CALLS);
        assert_eq!(info.data.len(), HW_INFO_INLINE + 1);
        assert_eq!(info.data_len as usize, HW_INFO_INLINE + 2);
        // One that asks for more than the limit gets the limit, cut.
        let mut calls = 0;
        let info = fd
            .hw_info_using(1, |arg| {
                calls += 1;
                arg.data_len = u32::MAX;
                Ok(0)
            })
            .unwrap();
        assert_eq!((calls, info.data.len()), (2, HW_INFO_MAX as usize));
        // Data that fits takes one call.
        let mut calls = 0;
        let info = fd
            .hw_info_using(1, |arg| {
                calls += 1;
                arg.data_len = 40;
                Ok(0)
            })
            .unwrap();
        assert_eq!((calls, info.data.len()), (1, 40));
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
