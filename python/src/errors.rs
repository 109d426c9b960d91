//! The library's errors the Python way: malformed buffers as a `ValueError` subclass with
//! the byte offset, kernel refusals as `OSError` subclasses carrying errno (Python picks
//! `PermissionError`, `FileNotFoundError`, ... from the errno), and the conditions the
//! VFIO dance detects itself as `VfioError` (an `OSError` without errno) with a code, and
//! the IOVA allocator's refusals as `AllocationError` with the core's code.

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use vfio_iommu_info::{AllocError, DecodeError, Error, ErrorKind};

use crate::types::PySpanProblem;

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
     `top_page` (`map_dma` of a mapping ending at 2**64). The message says\n\
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

/// An allocator's refusal as an `AllocationError`, with the core's fine-grained code.
pub(crate) fn alloc_error(py: Python<'_>, e: &AllocError) -> PyErr {
    let problem = if let AllocError::Unusable { problem, .. } = e {
        Some(PySpanProblem::from(*problem))
    } else {
        None
    };
    let other = if let AllocError::Overlaps {
        other, other_len, ..
    } = e
    {
        (*other_len > 0).then_some((*other, *other_len))
    } else {
        None
    };
    allocation_error(py, e.to_string(), e.code(), problem, other)
}

fn allocation_error(
    py: Python<'_>,
    message: String,
    code: &str,
    problem: Option<PySpanProblem>,
    other: Option<(u64, u64)>,
) -> PyErr {
    let err = AllocationError::new_err(message);
    let value = err.value(py);
    // As in `malformed`: setting attributes on a fresh instance fails only without memory.
    let _ = value.setattr("code", code);
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

/// Converts a library error into the Python exception users catch: the class is the
/// core's `Error::kind()`, matched exhaustively (a new class must be mapped here); the
/// variant only supplies the exception's attributes.
pub(crate) fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let message = e.to_string();
    let kind = e.kind();
    match kind {
        // OSError(errno, strerror) picks the subclass (PermissionError for EACCES, ...).
        ErrorKind::Os(errno) => PyOSError::new_err((errno.0, message)),
        ErrorKind::NoDevice => PyOSError::new_err((libc::ENOENT, message)),
        ErrorKind::BadArgument => PyValueError::new_err(message),
        ErrorKind::Malformed => {
            if let Error::MalformedReply { ioctl, fd, source } = e {
                malformed(py, source, Some((ioctl, *fd)), message)
            } else if let Error::Malformed(d) = e {
                malformed(py, d, None, message)
            } else {
                MalformedInfoError::new_err(message)
            }
        }
        ErrorKind::NotViable => {
            // iommufd's device node needs the device itself on vfio-pci (NotOnVfio): the
            // C ABI's VFIO_IOMMU_INFO_E_NOT_VIABLE, without a group to name.
            let Error::GroupNotViable {
                group,
                path,
                blockers,
            } = e
            else {
                return vfio_error(py, VfioError::new_err(message), kind.code());
            };
            let err = GroupNotViableError::new_err(message);
            let value = err.value(py);
            let pairs: Vec<(&str, &str)> = blockers
                .iter()
                .map(|b| (b.device.as_str(), b.driver.as_str()))
                .collect();
            let _ = value.setattr("group", *group);
            let _ = value.setattr("path", path.to_string_lossy());
            let _ = value.setattr("blockers", pairs);
            vfio_error(py, err, kind.code())
        }
        ErrorKind::NoDeviceCdev
        | ErrorKind::NoType1
        | ErrorKind::NotContainer
        | ErrorKind::Size
        | ErrorKind::NoIommuGroup
        | ErrorKind::ApiVersion
        | ErrorKind::SysfsFormat
        | ErrorKind::TopPage => vfio_error(py, VfioError::new_err(message), kind.code()),
        // The allocator's classes (no `Error` has them today): its exception, its code.
        ErrorKind::NoRoom | ErrorKind::NotAllocated | ErrorKind::Overlap | ErrorKind::Unusable => {
            allocation_error(py, message, kind.code(), None, None)
        }
    }
}
