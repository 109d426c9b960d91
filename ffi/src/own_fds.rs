//! Entry points on the caller's own descriptors (since 0.4), and the space of the iommufd
//! handle, so that every source gives the same space object. A VMM that already holds a
//! type1 container, an iommufd with its IOAS, or a device fd asks about them without the
//! library opening anything. Each descriptor stays the caller's, is checked to be the
//! kind of node the call needs before any ioctl, and the grow-and-retry of the kernel's
//! `argsz` protocol is the library's.

use std::ffi::c_int;

use ::vfio_iommu_info::facts::{Backend, DmaFacts};
use ::vfio_iommu_info::query::device::{device_info, region_info};
use ::vfio_iommu_info::query::iommufd::{container_backend, hw_info, ioas_ranges};
use ::vfio_iommu_info::{query_type1, Type1Cap};

use crate::args::{self, Out};
use crate::device::{vfio_iommu_info_device_info, vfio_iommu_info_region_info};
use crate::iommufd::{c_hw_info, vfio_iommu_info_hw_info, vfio_iommu_info_iommufd};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_ABSENT};
use crate::space::{emit_facts, vfio_iommu_info_space};

fn failed(e: ::vfio_iommu_info::Error) -> Failure {
    Failure::from_error(&e)
}

/// The usable IOVA space of the caller's type1 container (`/dev/vfio/vfio` with a group
/// attached and `VFIO_SET_IOMMU` done, or iommufd's compat container): one
/// `VFIO_IOMMU_GET_INFO` on the common path, and who serves the container
/// (`IOMMU_VFIO_IOAS`), so the space's facts read DMA_AVAIL as that backend means it. Its
/// holes carry no causes (a container fd does not say which groups it holds; a space from
/// `vfio_iommu_info_space_from_container()` does).
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()`. On failure, `*out` is untouched and the code is
/// `-EBADF` (not an open fd), `-ENOTTY` (an open file that is not a VFIO container, named
/// in the last error), the kernel's errno (`-EINVAL`: no IOMMU model set yet), one of
/// `vfio_iommu_info_query()`'s library codes, `VFIO_IOMMU_INFO_E_ABSENT` (the container
/// reports no IOVA ranges) or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
///
/// # Safety
/// `container_fd` must stay open for the call; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_space(
    container_fd: c_int,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_space";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller keeps `container_fd` open for the call.
        let fd = unsafe { args::caller_fd(container_fd, "container_fd") }?;
        let info = query_type1(fd).map_err(failed)?;
        let backend = Backend::from(container_backend(fd).map_err(failed)?);
        let facts = DmaFacts::from_type1(&info, backend);
        let none = || {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                format!(
                    "container fd {container_fd} reports no IOVA ranges: {}",
                    info.absence(Type1Cap::IovaRange)
                        .map_or_else(String::new, |a| a.explain(Type1Cap::IovaRange))
                ),
            )
        };
        emit_facts(&facts, true, none, out)
    })
}

/// The usable IOVA space of IOAS `ioas_id` of the caller's iommufd (`/dev/iommu`):
/// `IOMMU_IOAS_IOVA_RANGES` (one call on the common path), with the alignment every
/// mapping needs in the space's facts (`facts->iova_alignment`). The ranges are those of
/// the devices attached now: query again after attaching another.
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()`. On failure, `*out` is untouched and the code is
/// `-EBADF`, `-ENOTTY` (not iommufd's node), `-ENOENT` (no object `ioas_id`: the last
/// error names it), `-EINVAL` (the object is not an IOAS), `VFIO_IOMMU_INFO_E_SIZE`,
/// `VFIO_IOMMU_INFO_E_MALFORMED`, `VFIO_IOMMU_INFO_E_ABSENT` (an IOAS with no usable
/// range) or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
///
/// # Safety
/// `iommufd_fd` must stay open for the call; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_ioas_space(
    iommufd_fd: c_int,
    ioas_id: u32,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_ioas_space";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller keeps `iommufd_fd` open for the call.
        let fd = unsafe { args::caller_fd(iommufd_fd, "iommufd_fd") }?;
        let ranges = ioas_ranges(fd, ioas_id).map_err(failed)?;
        let facts = DmaFacts::from_iommufd(&ranges, None);
        let none = || {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                format!("IOAS {ioas_id} of iommufd fd {iommufd_fd} has no usable IOVA range"),
            )
        };
        emit_facts(&facts, true, none, out)
    })
}

/// The IOMMU hardware behind device `dev_id` of the caller's iommufd (the id
/// `VFIO_DEVICE_BIND_IOMMUFD` returned): `IOMMU_GET_HW_INFO` (Linux 6.6+), decoded into
/// `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_hw_info)`. The
/// raw bytes are not lent by this call (`out->data` is NULL, `data_received` 0): the
/// decoded registers are in the struct.
///
/// Returns 0, `-EBADF`, `-ENOTTY` (not iommufd's node, or a kernel before 6.6),
/// `-ENOENT` (no device `dev_id` bound: the last error names it), another kernel errno,
/// `VFIO_IOMMU_INFO_E_SIZE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.4.
///
/// # Safety
/// `iommufd_fd` must stay open for the call; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_hw_info_query(
    iommufd_fd: c_int,
    dev_id: u32,
    out: *mut vfio_iommu_info_hw_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_hw_info_query";
    guard(F, || {
        let out = Out::new(out, "out")?.check_size("out")?;
        // SAFETY: the caller keeps `iommufd_fd` open for the call.
        let fd = unsafe { args::caller_fd(iommufd_fd, "iommufd_fd") }?;
        let hw = hw_info(fd, dev_id).map_err(failed)?;
        out.write_sized(vfio_iommu_info_hw_info {
            data: std::ptr::null(),
            data_received: 0,
            ..c_hw_info(&hw)
        });
        Ok(())
    })
}

/// The usable IOVA space of the handle's IOAS (since 0.4): its ranges, holes attributed
/// to the reserved regions of the device's group, the page sizes the hardware info gives,
/// and the facts (alignment, address width, dirty tracking) in
/// `vfio_iommu_info_space_view()`. The same space as every other source's: aperture,
/// holes, checks, reserved list and JSON are the space's.
///
/// On success, returns 0 and stores a new space in `*out`, freed with
/// `vfio_iommu_info_space_free()` (independent of the handle). On failure, `*out` is
/// untouched and the code is `VFIO_IOMMU_INFO_E_ABSENT` (the IOAS has no usable range)
/// or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `out` must point to writable storage
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_space(
    iommufd: *const vfio_iommu_info_iommufd,
    out: *mut *mut vfio_iommu_info_space,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_space";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(out, "out")?;
        let r = h.report();
        let none = || {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                format!("IOAS {} of {} has no usable IOVA range", r.ioas, r.address),
            )
        };
        emit_facts(&r.facts, true, none, out)
    })
}

/// `VFIO_DEVICE_GET_INFO` on the caller's device fd (from `VFIO_GROUP_GET_DEVICE_FD`, or
/// an opened `/dev/vfio/devices/vfioN`), decoded with its capability chain: the same
/// object `vfio_iommu_info_device_info_decode()` makes of a buffer, without the caller's
/// argsz loop (one ioctl on the common path, bounded retries when the chain did not fit).
///
/// On success, returns 0 and stores a new object in `*out`, freed with
/// `vfio_iommu_info_device_info_free()`. On failure, `*out` is untouched and the code is
/// `-EBADF`, `-ENOTTY` (not a VFIO device fd: a container, an eventfd... named in the last
/// error), another kernel errno, `VFIO_IOMMU_INFO_E_SIZE`, `VFIO_IOMMU_INFO_E_MALFORMED`
/// or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
///
/// # Safety
/// `device_fd` must stay open for the call; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_query(
    device_fd: c_int,
    out: *mut *mut vfio_iommu_info_device_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_query";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller keeps `device_fd` open for the call.
        let fd = unsafe { args::caller_fd(device_fd, "device_fd") }?;
        let info = device_info(fd).map_err(failed)?;
        out.write(crate::handle::into_raw(vfio_iommu_info_device_info::new(
            info,
        )));
        Ok(())
    })
}

/// `VFIO_DEVICE_GET_REGION_INFO` of region `index` on the caller's device fd, decoded
/// with its capability chain (as `vfio_iommu_info_region_info_decode()` makes it of a
/// buffer, without the caller's argsz loop).
///
/// On success, returns 0 and stores a new object in `*out`, freed with
/// `vfio_iommu_info_region_info_free()`. On failure, `*out` is untouched and the code is
/// `-EBADF`, `-ENOTTY` (not a VFIO device fd), `-EINVAL` (the device has no region
/// `index`, or it is vfio-pci's VGA region of a device that is no VGA device: the last
/// error names the index), another kernel errno, `VFIO_IOMMU_INFO_E_SIZE`,
/// `VFIO_IOMMU_INFO_E_MALFORMED` or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
///
/// # Safety
/// `device_fd` must stay open for the call; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_query(
    device_fd: c_int,
    index: u32,
    out: *mut *mut vfio_iommu_info_region_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_query";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller keeps `device_fd` open for the call.
        let fd = unsafe { args::caller_fd(device_fd, "device_fd") }?;
        let info = region_info(fd, index).map_err(failed)?;
        out.write(crate::handle::into_raw(vfio_iommu_info_region_info::new(
            info,
        )));
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.4":
    vfio_iommu_info_container_space,
    vfio_iommu_info_ioas_space,
    vfio_iommu_info_hw_info_query,
    vfio_iommu_info_iommufd_space,
    vfio_iommu_info_device_info_query,
    vfio_iommu_info_region_info_query,
);
