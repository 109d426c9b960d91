//! The library's errors the Python way: malformed buffers as a `ValueError` subclass with
//! the byte offset, kernel refusals as `OSError` subclasses carrying errno (Python picks
//! `PermissionError`, `FileNotFoundError`, ... from the errno), and the conditions the
//! VFIO dance detects itself as `VfioError` (an `OSError` without errno) with a code, and
//! the IOVA allocator's refusals as `AllocationError` with the core's code.

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use vfio_iommu_info::{AllocError, DecodeError, Error};

use crate::info::PySpanProblem;

create_exception!(
    vfio_iommu_info,
    MalformedInfoError,
    PyValueError,
    "A buffer that is not a well-formed VFIO info structure (a capture, or a kernel's reply).\n\n\
     Attributes: `offset` (the byte offset at fault), `structure` (the C structure), and\n\
     `ioctl` and `fd` when the buffer came back from an ioctl (else None)."
);

create_exception!(
    vfio_iommu_info,
    VfioError,
    PyOSError,
    "The VFIO dance stopped on a condition the library detected (errno is None).\n\n\
     `code` says which, as the C ABI's codes do: `not_viable` (for iommufd: the device is\n\
     not on vfio-pci), `no_device_cdev` (on vfio-pci without a VFIO device node),\n\
     `no_type1`, `not_container`, `size`, `no_iommu_group`, `api_version`, `sysfs_format`,\n\
     `top_page` (`map_dma` of a mapping ending at 2**64), `internal`. The message says\n\
     where and what to do."
);

create_exception!(
    vfio_iommu_info,
    GroupNotViableError,
    VfioError,
    "An IOMMU group with a device on a driver other than a VFIO driver (code `not_viable`).\n\n\
     Attributes: `group` (int or None), `path` (the group's node), `blockers` (a list of\n\
     (device, driver) pairs to rebind)."
);

create_exception!(
    vfio_iommu_info,
    AllocationError,
    pyo3::exceptions::PyException,
    "An IovaAllocator refused: no room below the limit, a reservation that is unusable or\n\
     overlaps a live span, a free of an address that is not live, a bad size or alignment.\n\n\
     Not a ValueError: most refusals (`no_room`, `overlaps`, `not_allocated`) depend on the\n\
     allocator's state, not on the arguments' type or form. Attributes: `code` (the core's\n\
     stable code: `zero_size`, `bad_align`, `no_room`, `not_allocated`, `unusable`,\n\
     `top_page`, `overlaps`, `misaligned`), `problem` (the `SpanProblem` of an `unusable`\n\
     reservation, else None) and `other` (the live `(iova, size)` an `overlaps` reservation\n\
     hits, else None)."
);

/// An allocator's refusal as an `AllocationError`.
pub(crate) fn alloc_error(py: Python<'_>, e: &AllocError) -> PyErr {
    let err = AllocationError::new_err(e.to_string());
    let value = err.value(py);
    let problem = match e {
        AllocError::Unusable { problem, .. } => Some(PySpanProblem::from(*problem)),
        _ => None,
    };
    let other = match e {
        AllocError::Overlaps {
            other, other_len, ..
        } if *other_len > 0 => Some((*other, *other_len)),
        _ => None,
    };
    // As in `malformed`: setting attributes on a fresh instance fails only without memory.
    let _ = value.setattr("code", e.code());
    let _ = value.setattr("problem", problem);
    let _ = value.setattr("other", other);
    err
}

/// A malformed buffer, with where it came from when it came back from an ioctl.
pub(crate) fn malformed(
    py: Python<'_>,
    e: &DecodeError,
    reply: Option<(&str, i32)>,
    message: String,
) -> PyErr {
    let err = MalformedInfoError::new_err(message);
    let value = err.value(py);
    let (ioctl, fd) = reply.unzip();
    // Setting attributes on a fresh exception instance cannot fail short of memory
    // exhaustion; the exception is still the right one without them.
    let _ = value.setattr("offset", e.offset);
    let _ = value.setattr("structure", e.structure);
    let _ = value.setattr("ioctl", ioctl);
    let _ = value.setattr("fd", fd);
    err
}

fn vfio_error(py: Python<'_>, err: PyErr, code: &str) -> PyErr {
    let _ = err.value(py).setattr("code", code);
    err
}

/// Converts a library error into the Python exception users catch.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    if let Some(errno) = e.errno() {
        // OSError(errno, strerror) picks the subclass (PermissionError for EACCES, ...).
        return PyOSError::new_err((errno.0, message));
    }
    let code = match &e {
        Error::Malformed(d) => return malformed(py, d, None, message),
        Error::MalformedReply { ioctl, fd, source } => {
            return malformed(py, source, Some((ioctl, *fd)), message)
        }
        Error::NoSuchDevice { .. } => return PyOSError::new_err((libc::ENOENT, message)),
        Error::BadTarget { .. } => return PyValueError::new_err(message),
        Error::GroupNotViable {
            group,
            path,
            blockers,
        } => {
            let err = GroupNotViableError::new_err(message);
            let value = err.value(py);
            let pairs: Vec<(&str, &str)> = blockers
                .iter()
                .map(|b| (b.device.as_str(), b.driver.as_str()))
                .collect();
            let _ = value.setattr("group", *group);
            let _ = value.setattr("path", path.to_string_lossy());
            let _ = value.setattr("blockers", pairs);
            return vfio_error(py, err, "not_viable");
        }
        // iommufd's device node needs the device itself on vfio-pci: the C ABI's
        // VFIO_IOMMU_INFO_E_NOT_VIABLE, without a group to name.
        Error::NotOnVfio { .. } => "not_viable",
        Error::NoDeviceCdev { .. } => "no_device_cdev",
        Error::NoType1 { .. } | Error::NoIommuModel { .. } => "no_type1",
        Error::TopPageMapping { .. } => "top_page",
        Error::NotType1Reply { .. } => "not_container",
        Error::SizeUnstable { .. } | Error::SizeTooLarge { .. } => "size",
        Error::NoIommuGroup { .. } => "no_iommu_group",
        Error::ApiVersion { .. } => "api_version",
        Error::SysfsFormat { .. } => "sysfs_format",
        _ => "internal",
    };
    vfio_error(py, VfioError::new_err(message), code)
}
