//! The caller's fds and the library's. A fd the caller passes (`query(fd)`,
//! `ioas_ranges(fd, ...)`) stays the caller's: [`on_callers_fd`] borrows it for one call.
//!
//! Who owns the number `fileno()` hands out. An object that owns a kernel file (a
//! `Container`, an `IommufdDevice`) does all its own work through a private descriptor
//! that Python never sees, and `fileno()` returns a duplicate of it (an [`ExposedFd`]) that
//! the object owns too. If the program closes that number behind the object's back
//! (`os.close(c.fileno())`), the next file the process opens may take it; before the object
//! closes the number, it asks the kernel (`kcmp(KCMP_FILE)`, see
//! [`vfio_iommu_info::ioctl::same_open_file`]) whether the number still names its own open
//! file. If not, it leaves the number alone and warns (`RuntimeWarning`), naming the fd.
//!
//! Nothing here needs the interpreter: the checks return a [`Stray`] that the caller turns
//! into a warning once it is attached again.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use pyo3::exceptions::{PyRuntimeWarning, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyInt;
use vfio_iommu_info::sys::ioctl::same_open_file;
use vfio_iommu_info::{Errno, Error};

use crate::errors;

/// The fd of an `int` or of an object with `fileno()`.
pub(crate) fn fd_of(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let fd: RawFd = if obj.is_instance_of::<PyInt>() {
        obj.extract()?
    } else if obj.hasattr("fileno")? {
        obj.call_method0("fileno")?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected a file descriptor (int) or an object with fileno(), got {}",
            obj.get_type().name()?
        )));
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "file descriptor cannot be a negative integer ({fd})"
        )));
    }
    Ok(fd)
}

/// Runs `query` on the caller's fd `fd`, detached; the fd stays the caller's.
pub(crate) fn on_callers_fd<T: Send>(
    py: Python<'_>,
    fd: &Bound<'_, PyAny>,
    query: impl FnOnce(BorrowedFd<'_>) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let fd = fd_of(fd)?;
    py.detach(|| {
        // SAFETY: `fd` is non-negative, which is all `borrow_raw` requires of the value.
        // The fd is the caller's and stays open for the call by its contract; should it be
        // closed concurrently, the ioctls fail with EBADF (or reach whatever file took the
        // number, which the core's check of the fd's kind refuses before any ioctl).
        query(unsafe { BorrowedFd::borrow_raw(fd) })
    })
    .map_err(|e| errors::to_py(py, &e))
}

/// The duplicate `fileno()` handed out, if it did: owned by the object, closed with it
/// (when it still names the object's open file).
#[derive(Default)]
pub(crate) struct ExposedFd(Option<OwnedFd>);

/// A number `fileno()` handed out that no longer names the object's open file: the object
/// gave up ownership of it without closing it.
#[derive(Debug)]
pub(crate) struct Stray {
    fd: RawFd,
    /// What the kernel said about the number: `None` when it names another open file,
    /// `Some(EBADF)` when nothing is open there, another errno when the check failed.
    errno: Option<Errno>,
}

impl Stray {
    /// The warning's text, for an object described as `what` (`"Container"`).
    pub(crate) fn message(&self, what: &str) -> String {
        let fd = self.fd;
        let fate = match self.errno {
            None => "and the number now names another file, which the library left open",
            Some(Errno(libc::EBADF)) => "and nothing is open under that number now",
            Some(_) => "or so the library assumes",
        };
        let check = match self.errno {
            Some(e) if e.0 != libc::EBADF => format!(
                " (comparing it with the {what}'s own descriptor failed: {})",
                std::io::Error::from_raw_os_error(e.0)
            ),
            _ => String::new(),
        };
        format!(
            "{what}: fd {fd} returned by fileno() was closed behind the {what}'s back, {fate}{check}; \
             the {what} no longer owns fd {fd} and will not close it. fileno() stays owned by the \
             {what}: close the {what} instead, or os.dup() the number to get a descriptor of your own"
        )
    }
}

impl ExposedFd {
    /// Takes the number back if it no longer names the same open file as `private`: the
    /// number is forgotten (not closed) and described.
    fn check(&mut self, private: BorrowedFd<'_>) -> Option<Stray> {
        let exposed = self.0.as_ref()?;
        let errno = match same_open_file(exposed.as_fd(), private) {
            Ok(true) => return None,
            Ok(false) => None,
            Err(e) => Some(e),
        };
        // Not ours any more (or not known to be): give up the number without closing it.
        let fd = self.0.take().map(IntoRawFd::into_raw_fd)?;
        Some(Stray { fd, errno })
    }

    /// The number for `fileno()`: the duplicate handed out before if it still names the
    /// same open file as `private`, else a fresh duplicate (with the stray one described).
    pub(crate) fn get(
        &mut self,
        private: BorrowedFd<'_>,
    ) -> (Result<RawFd, std::io::Error>, Option<Stray>) {
        let stray = self.check(private);
        if let Some(fd) = &self.0 {
            return (Ok(fd.as_raw_fd()), stray);
        }
        // F_DUPFD_CLOEXEC: the duplicate is close-on-exec, like the private descriptor.
        match private.try_clone_to_owned() {
            Ok(fd) => {
                let raw = fd.as_raw_fd();
                self.0 = Some(fd);
                (Ok(raw), stray)
            }
            Err(e) => (Err(e), stray),
        }
    }

    /// The number `fileno()` handed out, if any (for `repr`).
    pub(crate) fn peek(&self) -> Option<RawFd> {
        self.0.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Closes the duplicate if it still names the same open file as `private` (call it
    /// before `private` is closed); else gives the number up without closing it.
    pub(crate) fn release(&mut self, private: BorrowedFd<'_>) -> Option<Stray> {
        let stray = self.check(private);
        drop(self.0.take());
        stray
    }
}

impl Drop for ExposedFd {
    fn drop(&mut self) {
        // Every owner calls `release` before it closes its private fd; a duplicate still
        // here could not be checked, so its number is given up rather than closed blindly.
        if let Some(fd) = self.0.take() {
            let _ = fd.into_raw_fd();
        }
    }
}

/// Issues the warning for a stray number (`RuntimeWarning`: a program that closes a
/// descriptor it does not own may have closed something else's). With warnings turned into
/// errors, the error is returned.
pub(crate) fn warn(py: Python<'_>, what: &str, stray: &Stray) -> PyResult<()> {
    // The message has no NUL byte; should it ever, the warning says so rather than nothing.
    let text = CString::new(stray.message(what)).unwrap_or_else(|_| {
        c"a descriptor returned by fileno() was closed behind its owner's back".to_owned()
    });
    PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), &text, 1)
}

/// `warn` from a destructor: a warning turned into an error is reported as unraisable.
pub(crate) fn warn_unraisable(what: &str, stray: Option<Stray>) {
    let Some(stray) = stray else { return };
    // During interpreter shutdown there is no one left to warn.
    let _ = Python::try_attach(|py| {
        if let Err(e) = warn(py, what, &stray) {
            e.write_unraisable(py, None);
        }
    });
}

/// The fd ownership of `Container` and `IommufdDevice` on any file, for the tests on
/// hosts without VFIO (private: not part of the API). Opens `path` read-only through a
/// private fd, and hands out, checks and closes a duplicate exactly as those objects do.
#[pyclass(frozen, module = "vfio_iommu_info", name = "_FdOwnerForTests")]
pub struct PyFdOwnerForTests {
    /// The private fd and the exposed duplicate; `None` once closed.
    inner: std::sync::Mutex<Option<(OwnedFd, ExposedFd)>>,
}

impl PyFdOwnerForTests {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(OwnedFd, ExposedFd)>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Releases the exposed duplicate, then closes the private fd.
fn close_owner(open: Option<(OwnedFd, ExposedFd)>) -> Option<Stray> {
    let (private, mut exposed) = open?;
    let stray = exposed.release(private.as_fd());
    drop(private);
    stray
}

#[pymethods]
impl PyFdOwnerForTests {
    #[new]
    fn new(path: std::path::PathBuf) -> PyResult<Self> {
        let file = std::fs::File::open(&path).map_err(|e| {
            PyErr::from(std::io::Error::new(
                e.kind(),
                format!("cannot open {}: {e}", path.display()),
            ))
        })?;
        Ok(PyFdOwnerForTests {
            inner: std::sync::Mutex::new(Some((file.into(), ExposedFd::default()))),
        })
    }

    fn fileno(&self, py: Python<'_>) -> PyResult<RawFd> {
        let got = py.detach(|| {
            self.lock()
                .as_mut()
                .map(|(private, exposed)| exposed.get(private.as_fd()))
        });
        let Some((fd, stray)) = got else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "I/O operation on a closed _FdOwnerForTests",
            ));
        };
        if let Some(stray) = stray {
            warn(py, "_FdOwnerForTests", &stray)?;
        }
        Ok(fd?)
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match py.detach(|| close_owner(self.lock().take())) {
            Some(stray) => warn(py, "_FdOwnerForTests", &stray),
            None => Ok(()),
        }
    }
}

impl Drop for PyFdOwnerForTests {
    fn drop(&mut self) {
        let open = self
            .inner
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        warn_unraisable("_FdOwnerForTests", close_owner(open));
    }
}
