//! Result codes, the per-thread last error and the panic boundary every export goes
//! through.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ::vfio_iommu_info::{AllocError, Error, ErrorKind};

/// Success.
pub const VFIO_IOMMU_INFO_OK: c_int = 0;
/// A buffer (a capture, or a kernel's reply) is malformed; the last error names the byte
/// offset. Library codes lie below -4095, so they never collide with a negative errno.
pub const VFIO_IOMMU_INFO_E_MALFORMED: c_int = -4097;
/// A pointer argument that must not be NULL was NULL.
pub const VFIO_IOMMU_INFO_E_NULL: c_int = -4098;
/// An argument is invalid: an unknown byte order or capability id, a target that is not
/// a group or PCI address, a string that is not UTF-8, a struct whose `size` is too small.
pub const VFIO_IOMMU_INFO_E_INVALID: c_int = -4099;
/// The kernel did not report this item; `vfio_iommu_info_absence()` says why.
pub const VFIO_IOMMU_INFO_E_ABSENT: c_int = -4100;
/// An index past the end of a list.
pub const VFIO_IOMMU_INFO_E_RANGE: c_int = -4101;
/// The IOMMU group is not viable: a device of it is bound to a driver other than a VFIO
/// driver (the last error names the device and the driver). On the iommufd path (since
/// 0.3): the device itself is not on vfio-pci.
pub const VFIO_IOMMU_INFO_E_NOT_VIABLE: c_int = -4102;
/// The container offers no type1 IOMMU model.
pub const VFIO_IOMMU_INFO_E_NO_TYPE1: c_int = -4103;
/// The fd answered `VFIO_IOMMU_GET_INFO` but is not a type1 container (a vfio-pci device
/// fd answers the same ioctl number).
pub const VFIO_IOMMU_INFO_E_NOT_CONTAINER: c_int = -4104;
/// The kernel asked for an implausibly large buffer, or a size that kept changing.
pub const VFIO_IOMMU_INFO_E_SIZE: c_int = -4105;
/// The PCI device does not exist.
pub const VFIO_IOMMU_INFO_E_NO_DEVICE: c_int = -4106;
/// The PCI device has no IOMMU group: the IOMMU is disabled or absent.
pub const VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP: c_int = -4107;
/// The VFIO API version is not the one this library speaks.
pub const VFIO_IOMMU_INFO_E_API_VERSION: c_int = -4108;
/// A sysfs file did not have the expected form.
pub const VFIO_IOMMU_INFO_E_SYSFS_FORMAT: c_int = -4109;
/// An internal error (a bug in the library, caught at its boundary); please report it.
pub const VFIO_IOMMU_INFO_E_INTERNAL: c_int = -4110;
/// The allocator has no free span of the size and alignment asked for that ends at or
/// below the limit (since 0.2).
pub const VFIO_IOMMU_INFO_E_NO_ROOM: c_int = -4111;
/// The IOVA given to `vfio_iommu_info_allocator_release()` starts no live allocation or
/// reservation (since 0.2).
pub const VFIO_IOMMU_INFO_E_NOT_ALLOCATED: c_int = -4112;
/// A reservation overlaps a live allocation or reservation; the last error names it
/// (since 0.2).
pub const VFIO_IOMMU_INFO_E_OVERLAP: c_int = -4113;
/// A reservation the kernel would not map: outside the aperture, in a hole, across two
/// ranges, or not aligned to the smallest page size; `vfio_iommu_info_space_check()` on
/// the same span says which (since 0.2).
pub const VFIO_IOMMU_INFO_E_UNUSABLE: c_int = -4114;
/// A reservation that reaches the last page of the 64-bit space, which Linux's type1 can
/// map but never unmap; the allocator keeps it out (since 0.2).
pub const VFIO_IOMMU_INFO_E_TOP_PAGE: c_int = -4115;
/// The PCI device is on vfio-pci but has no VFIO device node (`/dev/vfio/devices/vfioN`):
/// the kernel lacks `CONFIG_VFIO_DEVICE_CDEV` (Linux 6.6+); use the group path
/// (`vfio_iommu_info_open()`) (since 0.3).
pub const VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV: c_int = -4116;

/// The C code of each class of error the core defines: exhaustive, so a new class must
/// be given its code here before the library builds.
fn code_of(kind: ErrorKind) -> c_int {
    match kind {
        ErrorKind::Os(errno) => -errno.0.abs(),
        ErrorKind::Malformed => VFIO_IOMMU_INFO_E_MALFORMED,
        ErrorKind::NotViable => VFIO_IOMMU_INFO_E_NOT_VIABLE,
        ErrorKind::NoDeviceCdev => VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV,
        ErrorKind::NoType1 => VFIO_IOMMU_INFO_E_NO_TYPE1,
        ErrorKind::NotContainer => VFIO_IOMMU_INFO_E_NOT_CONTAINER,
        ErrorKind::Size => VFIO_IOMMU_INFO_E_SIZE,
        ErrorKind::NoDevice => VFIO_IOMMU_INFO_E_NO_DEVICE,
        ErrorKind::NoIommuGroup => VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP,
        ErrorKind::BadArgument => VFIO_IOMMU_INFO_E_INVALID,
        ErrorKind::ApiVersion => VFIO_IOMMU_INFO_E_API_VERSION,
        ErrorKind::SysfsFormat => VFIO_IOMMU_INFO_E_SYSFS_FORMAT,
        ErrorKind::TopPage => VFIO_IOMMU_INFO_E_TOP_PAGE,
        ErrorKind::NoRoom => VFIO_IOMMU_INFO_E_NO_ROOM,
        ErrorKind::NotAllocated => VFIO_IOMMU_INFO_E_NOT_ALLOCATED,
        ErrorKind::Overlap => VFIO_IOMMU_INFO_E_OVERLAP,
        ErrorKind::Unusable => VFIO_IOMMU_INFO_E_UNUSABLE,
    }
}

/// A failed call: the code returned to C and the message kept as the last error. The
/// message says what went wrong; the boundary of the export ([`guard`], [`guard_free`])
/// puts the export's name in front of it, so no error site names the function.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: c_int,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: c_int, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The failure for a library error, with its code.
    pub(crate) fn from_error(err: &Error) -> Failure {
        Failure::new(code_of(err.kind()), err.to_string())
    }

    /// The failure for an allocator's refusal, with its code and the core's message.
    pub(crate) fn from_alloc(err: &AllocError) -> Failure {
        Failure::new(code_of(err.kind()), format!("{err} ({})", err.code()))
    }

    pub(crate) fn null(argument: &str) -> Failure {
        Failure::new(VFIO_IOMMU_INFO_E_NULL, format!("{argument} is NULL"))
    }

    pub(crate) fn invalid(what: impl std::fmt::Display) -> Failure {
        Failure::new(VFIO_IOMMU_INFO_E_INVALID, what.to_string())
    }

    /// The message as the last error keeps it: `function: message`.
    fn in_function(self, function: &str) -> Failure {
        Failure {
            code: self.code,
            message: format!("{function}: {}", self.message),
        }
    }
}

thread_local! {
    /// The detail of this thread's last failed call; `None` after a success.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's last-error slot, or does nothing when there is none to use:
/// the storage is already destroyed (a call from a `pthread_key_create` destructor, which
/// glibc runs after the thread's Rust thread-locals) or borrowed (re-entered). Never
/// panics: `LocalKey::with` and `RefCell::borrow_mut` would, and a panic here would abort
/// the host process. The call itself still works and returns its code; only its message
/// is not kept.
fn with_last_error<R>(f: impl FnOnce(&mut Option<CString>) -> R) -> Option<R> {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow_mut().ok().map(|mut slot| f(&mut slot)))
        .ok()
        .flatten()
}

pub(crate) fn set_last_error(message: String) {
    // A message cannot hold NUL bytes in C; the library's messages never do, but a path
    // given by the caller could.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    with_last_error(|slot| *slot = Some(message));
}

fn clear_last_error() {
    with_last_error(|slot| *slot = None);
}

/// The message of a caught panic, as the last error reports it.
fn panic_failure(payload: &(dyn Any + Send)) -> Failure {
    Failure::new(
        VFIO_IOMMU_INFO_E_INTERNAL,
        format!(
            "internal error: vfio-iommu-info panicked ({}); this is a bug, please report it",
            panic_message(payload)
        ),
    )
}

/// Keeps `failure`'s message as the last error and returns its code. Formatting or
/// storing the message could itself panic (out of memory aborts instead): caught.
fn report(failure: Failure) -> c_int {
    let code = failure.code;
    let _ = catch_unwind(AssertUnwindSafe(|| set_last_error(failure.message)));
    code
}

/// The panic boundary of every `int`-returning export, named `function`: resets the last
/// error, runs `body`, turns its failure (`function: message`) or panic into a code and a
/// last error message, and never lets a panic unwind into C.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Result<(), Failure>) -> c_int {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => VFIO_IOMMU_INFO_OK,
        Ok(Err(failure)) => report(failure.in_function(function)),
        Err(payload) => report(panic_failure(payload.as_ref())),
    }
}

/// The panic boundary of the `_free` functions, named `function`: runs `body`, which
/// refuses what it cannot free (a pointer that is not a handle of its kind, a handle whose
/// fd is no longer its own). They return nothing, so they leave the last error alone
/// except to keep such a refusal (`function: message`, or a caught panic) there.
pub(crate) fn guard_free(function: &str, body: impl FnOnce() -> Result<(), Failure>) {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => {
            report(failure.in_function(function));
        }
        Err(payload) => {
            report(panic_failure(payload.as_ref()));
        }
    }
}

/// The panic boundary of the exports that return a value and no code (strings, the
/// version): `fallback` (a static string, never NULL where the header promises a string)
/// when `body` panics; the last error is left alone.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "no message"
    }
}

/// The detail of the calling thread's last failure: what happened, where (fd, path, PCI
/// address, ioctl, byte offset) and what to do.
///
/// Returns a NUL-terminated string owned by the library, never NULL: empty when the last
/// int-returning call on this thread succeeded, or when no message could be kept: in a
/// call made while the thread exits (from a `pthread_key_create` destructor, which runs
/// after the thread's own storage is gone) every function still works and returns its
/// code, but its message is not kept. It stays valid until the next int-returning call
/// on this thread, which resets it; copy it to keep it longer. The functions that return
/// no `int` leave it alone (a `_free` function keeps a message there only when it refuses
/// a pointer).
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_last_error() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        // The slot's string lives until the next int-returning call on this thread resets
        // it; with no slot (thread-locals destroyed, a re-entered call), the empty string.
        with_last_error(|slot| slot.as_deref().map_or(c"".as_ptr(), CStr::as_ptr))
            .unwrap_or(c"".as_ptr())
    })
}

/// A static description of a code this library returns: `0`, a negative errno, or a
/// `VFIO_IOMMU_INFO_E_*` code; any other value gives "not a vfio-iommu-info result code".
///
/// Returns a NUL-terminated string with static lifetime, never NULL; the caller must not
/// free it. For the detail of a failure (offsets, paths, what to do), use
/// `vfio_iommu_info_last_error()`.
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_strerror(code: c_int) -> *const c_char {
    guard_value(c"(vfio-iommu-info: strerror failed)".as_ptr(), || {
        strerror_text(code).as_ptr()
    })
}

fn strerror_text(code: c_int) -> &'static CStr {
    let text: &'static CStr = match code {
        VFIO_IOMMU_INFO_OK => c"success",
        VFIO_IOMMU_INFO_E_MALFORMED => c"malformed buffer",
        VFIO_IOMMU_INFO_E_NULL => c"a required pointer argument is NULL",
        VFIO_IOMMU_INFO_E_INVALID => c"invalid argument",
        VFIO_IOMMU_INFO_E_ABSENT => c"not reported by the kernel",
        VFIO_IOMMU_INFO_E_RANGE => c"index out of range",
        VFIO_IOMMU_INFO_E_NOT_VIABLE => {
            c"IOMMU group not viable: a device of the group is bound to a non-VFIO driver"
        }
        VFIO_IOMMU_INFO_E_NO_TYPE1 => c"the container offers no type1 IOMMU model",
        VFIO_IOMMU_INFO_E_NOT_CONTAINER => c"not a VFIO type1 container fd",
        VFIO_IOMMU_INFO_E_SIZE => c"the kernel asked for an implausible or unstable buffer size",
        VFIO_IOMMU_INFO_E_NO_DEVICE => c"no such PCI device",
        VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP => {
            c"the device has no IOMMU group (IOMMU disabled or absent)"
        }
        VFIO_IOMMU_INFO_E_API_VERSION => c"unsupported VFIO API version",
        VFIO_IOMMU_INFO_E_SYSFS_FORMAT => c"unexpected sysfs file format",
        VFIO_IOMMU_INFO_E_INTERNAL => c"internal error in vfio-iommu-info (a bug)",
        VFIO_IOMMU_INFO_E_NO_ROOM => {
            c"no free IOVA span of that size and alignment below the limit"
        }
        VFIO_IOMMU_INFO_E_NOT_ALLOCATED => {
            c"not the start of a live IOVA allocation or reservation"
        }
        VFIO_IOMMU_INFO_E_OVERLAP => c"overlaps a live IOVA allocation or reservation",
        VFIO_IOMMU_INFO_E_UNUSABLE => {
            c"not usable IOVA space: outside the aperture, in a hole, across ranges or misaligned"
        }
        VFIO_IOMMU_INFO_E_TOP_PAGE => {
            c"reaches the last page of the 64-bit IOVA space, which type1 cannot unmap"
        }
        VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV => {
            c"the device has no VFIO device node (the kernel lacks CONFIG_VFIO_DEVICE_CDEV)"
        }
        c if (-4095..0).contains(&c) => errno_text(-c),
        _ => c"not a vfio-iommu-info result code",
    };
    text
}

/// Static text for the errnos VFIO and its files return.
fn errno_text(errno: c_int) -> &'static CStr {
    match errno {
        libc::EPERM => c"EPERM: operation not permitted",
        libc::ENOENT => c"ENOENT: no such file or directory",
        libc::EIO => c"EIO: input/output error",
        libc::ENXIO => c"ENXIO: no such device or address",
        libc::E2BIG => c"E2BIG: argument list too long",
        libc::EBADF => c"EBADF: bad file descriptor",
        libc::EAGAIN => c"EAGAIN: resource temporarily unavailable",
        libc::ENOMEM => c"ENOMEM: cannot allocate memory",
        libc::EACCES => c"EACCES: permission denied",
        libc::EFAULT => c"EFAULT: bad address",
        libc::EBUSY => c"EBUSY: device or resource busy",
        libc::EEXIST => c"EEXIST: file exists",
        libc::ENODEV => c"ENODEV: no such device",
        libc::ENOTDIR => c"ENOTDIR: not a directory",
        libc::EISDIR => c"EISDIR: is a directory",
        libc::EINVAL => c"EINVAL: invalid argument",
        libc::ENOSPC => c"ENOSPC: no space left on device",
        libc::ENOTTY => c"ENOTTY: inappropriate ioctl for device",
        libc::ERANGE => c"ERANGE: result out of range",
        libc::ENOSYS => c"ENOSYS: function not implemented",
        libc::EMSGSIZE => c"EMSGSIZE: message too long",
        libc::EOPNOTSUPP => c"EOPNOTSUPP: operation not supported",
        libc::EOVERFLOW => c"EOVERFLOW: value too large for defined data type",
        _ => c"an error from the kernel (a negative errno)",
    }
}

symbol_versions!("VFIO_IOMMU_INFO_0": vfio_iommu_info_last_error, vfio_iommu_info_strerror,);

/// Unit tests of the panic boundary and the error mapping: panics, a re-entered last
/// error, a NUL in a message and a kernel's EPERM cannot be caused through the exports
/// (ffi/tests/errors.rs tests the codes, strerror and the allocator's refusals through
/// them).
#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: last_error returns a NUL-terminated string valid until the next call.
        unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn guard_reports_failures_and_panics_and_resets_on_success() {
        let code = guard("f", || {
            Err(Failure::new(VFIO_IOMMU_INFO_E_RANGE, "index 9 of 2"))
        });
        assert_eq!(code, VFIO_IOMMU_INFO_E_RANGE);
        assert_eq!(last(), "f: index 9 of 2");
        assert_eq!(guard("f", || Ok(())), VFIO_IOMMU_INFO_OK);
        assert_eq!(last(), "");
        let code = guard("f", || panic!("boom"));
        assert_eq!(code, VFIO_IOMMU_INFO_E_INTERNAL);
        assert!(last().contains("panicked (boom)"), "{}", last());
        // A NUL in a message (from a caller's path) does not lose the message.
        guard("f", || Err(Failure::new(VFIO_IOMMU_INFO_E_INVALID, "a\0b")));
        assert_eq!(last(), "f: a\\0b");
    }

    #[test]
    fn the_boundaries_of_free_and_string_functions_catch_panics() {
        guard("f", || Ok(()));
        guard_free("f_free", || Ok(()));
        assert_eq!(last(), "", "a _free that frees leaves the last error alone");
        guard_free("f_free", || panic!("in free"));
        assert!(last().contains("panicked (in free)"), "{}", last());
        guard_free("f_free", || Err(Failure::invalid("not a handle")));
        assert_eq!(last(), "f_free: not a handle");
        assert_eq!(guard_value(7, || panic!("in a string function")), 7);
        assert_eq!(
            last(),
            "f_free: not a handle",
            "guard_value leaves the last error alone"
        );
    }

    #[test]
    fn a_re_entered_last_error_is_skipped_not_a_panic() {
        guard("f", || Err(Failure::invalid("kept")));
        LAST_ERROR.with(|slot| {
            let _held = slot.borrow_mut();
            // Storing and reading while the slot is borrowed: skipped, no panic.
            assert_eq!(
                guard("g", || Err(Failure::invalid("lost"))),
                VFIO_IOMMU_INFO_E_INVALID
            );
            assert_eq!(last(), "");
        });
        assert_eq!(last(), "f: kept");
    }

    #[test]
    fn kernel_errors_become_negative_errno() {
        let err = Error::Ioctl {
            ioctl: "VFIO_SET_IOMMU",
            target: "container /dev/vfio/vfio".into(),
            errno: ::vfio_iommu_info::Errno(libc::EPERM),
            hint: None,
        };
        let code = guard("vfio_iommu_info_open", || Err(Failure::from_error(&err)));
        assert_eq!(code, -libc::EPERM);
        assert!(
            last().starts_with("vfio_iommu_info_open: VFIO_SET_IOMMU on container"),
            "{}",
            last()
        );
    }
}
