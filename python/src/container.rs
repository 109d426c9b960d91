//! The VFIO dance from Python: `open_group`, `for_device`, `open_container` return a
//! `Container` (a context manager that closes what it opened) with the info queried at
//! open; `query` reads a container fd the caller owns. Every ioctl runs detached from
//! the interpreter (other Python threads go on), and the container's state sits behind a
//! mutex that is only ever taken while detached, so a thread blocked on it never holds
//! the interpreter that the holder needs to finish. `Container.space()` queries and reads
//! the groups' sysfs reserved regions the same way, detached.

use std::os::fd::{AsFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};
use vfio_iommu_info::facts::{Backend, DmaFacts};
use vfio_iommu_info::query::container::open_target_group;
use vfio_iommu_info::query::iommufd::container_backend as backend_of;
use vfio_iommu_info::sys::uapi::{VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE};
use vfio_iommu_info::{query_type1, Container, Error, HostPaths, PciAddress, Target};

use crate::errors;
use crate::facts::PyFacts;
use crate::fdguard::{self, on_callers_fd, ExposedFd};
use crate::info::PyIommuInfo;
use crate::types::{data_of, PyIovaSpace};
use crate::whatif::PyWhatIf;

/// Queries the IOMMU info of a type1 container fd the caller opened (and keeps).
#[pyfunction]
pub(crate) fn query(py: Python<'_>, container_fd: &Bound<'_, PyAny>) -> PyResult<PyIommuInfo> {
    on_callers_fd(py, container_fd, query_type1).map(|info| PyIommuInfo { info })
}

/// Who serves a container fd the caller opened (after `VFIO_SET_IOMMU`): `"type1"`
/// (`vfio_iommu_type1`) or `"iommufd-compat"` (iommufd's compatibility container behind
/// `/dev/vfio/vfio`). A fd that is not a VFIO container (a group or device fd, another
/// file, a closed fd) raises OSError naming it.
#[pyfunction]
pub(crate) fn container_backend(
    py: Python<'_>,
    container_fd: &Bound<'_, PyAny>,
) -> PyResult<&'static str> {
    on_callers_fd(py, container_fd, |fd| {
        backend_of(fd).map(|b| Backend::from(b).name())
    })
}

/// A target given by Python: a group number, a group path, or (for `for_device` and
/// `open_container`) a PCI address.
fn target_of(obj: &Bound<'_, PyAny>, devices: bool) -> PyResult<Target> {
    if obj.is_instance_of::<PyInt>() {
        let n: i64 = obj.extract()?;
        return u32::try_from(n)
            .map(Target::Group)
            .map_err(|_| PyValueError::new_err(format!("{n} is not an IOMMU group number")));
    }
    let text: String = if obj.is_instance_of::<PyString>() {
        obj.extract()?
    } else if obj.hasattr("__fspath__")? {
        obj.call_method0("__fspath__")?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected an IOMMU group number (int), a group path or a PCI address (str), got {}",
            obj.get_type().name()?
        )));
    };
    let target: Target = text
        .parse()
        .map_err(|e: Error| PyValueError::new_err(e.to_string()))?;
    if let (Target::Device(a), false) = (&target, devices) {
        return Err(PyValueError::new_err(format!(
            "{a} is a PCI address, not an IOMMU group: use for_device({:?})",
            a.to_string()
        )));
    }
    Ok(target)
}

fn open(py: Python<'_>, targets: Vec<Target>) -> PyResult<PyContainer> {
    let opened = py.detach(|| {
        let paths = HostPaths::default();
        let c = Container::open_targets(&targets, &paths)?;
        let info = c.query()?;
        Ok::<_, Error>((c, info))
    });
    let (container, info) = opened.map_err(|e| errors::to_py(py, &e))?;
    // One ioctl (IOMMU_VFIO_IOAS), answered by iommufd's compat container only.
    let backend = py.detach(|| Backend::from(container.backend()));
    let groups = container
        .groups()
        .iter()
        .map(|g| match g.number() {
            Some(n) => GroupName::Number(n),
            None => GroupName::Path(g.path().to_string_lossy().into_owned()),
        })
        .collect();
    Ok(PyContainer {
        inner: Mutex::new(Some(Open {
            container,
            exposed: ExposedFd::default(),
        })),
        info: Py::new(py, PyIommuInfo { info })?,
        groups,
        backend,
    })
}

/// Opens a container for an IOMMU group (a number, `"4"` or `"/dev/vfio/4"`), attaches
/// it, sets the type1 model and queries: the whole VFIO dance.
#[pyfunction]
pub(crate) fn open_group(py: Python<'_>, group: &Bound<'_, PyAny>) -> PyResult<PyContainer> {
    let target = target_of(group, false)?;
    open(py, vec![target])
}

/// The same for the IOMMU group of a PCI device (`"0000:03:00.0"` or `"03:00.0"`).
#[pyfunction]
pub(crate) fn for_device(py: Python<'_>, pci_address: &str) -> PyResult<PyContainer> {
    let address: PciAddress = pci_address.parse().map_err(|_| {
        PyValueError::new_err(
            Error::BadTarget {
                text: pci_address.to_owned(),
            }
            .to_string(),
        )
    })?;
    open(py, vec![Target::Device(address)])
}

/// One container holding the groups of several targets (groups or PCI addresses).
#[pyfunction]
#[pyo3(signature = (*targets))]
pub(crate) fn open_container(
    py: Python<'_>,
    targets: Vec<Bound<'_, PyAny>>,
) -> PyResult<PyContainer> {
    if targets.is_empty() {
        return Err(PyValueError::new_err(
            "open_container() needs at least one group or PCI address",
        ));
    }
    let targets = targets
        .iter()
        .map(|t| target_of(t, true))
        .collect::<PyResult<Vec<_>>>()?;
    open(py, targets)
}

/// Checks that a group can be opened (viable, not busy) without a container: the first
/// half of the dance, for a pre-flight check. Returns nothing; raises what `open_group`
/// would.
#[pyfunction]
pub(crate) fn check_group(py: Python<'_>, group: &Bound<'_, PyAny>) -> PyResult<()> {
    let target = target_of(group, true)?;
    py.detach(|| open_target_group(&target, &HostPaths::default()).map(drop))
        .map_err(|e| errors::to_py(py, &e))
}

#[derive(Clone)]
enum GroupName {
    Number(u32),
    Path(String),
}

impl<'py> IntoPyObject<'py> for &GroupName {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            GroupName::Number(n) => n.into_pyobject(py)?.into_any(),
            GroupName::Path(p) => p.into_pyobject(py)?.into_any(),
        })
    }
}

/// An open container and the number `fileno()` handed out.
struct Open {
    /// The container's private fd (never handed out) and its groups.
    container: Container,
    /// The duplicate `fileno()` returns, owned by the `Container` object too.
    exposed: ExposedFd,
}

impl Open {
    /// Closes the container and its groups, and the number `fileno()` handed out if it is
    /// still the container's; else says what became of that number.
    fn close(mut self) -> Option<fdguard::Stray> {
        let stray = self.exposed.release(self.container.as_fd());
        drop(self.container);
        stray
    }
}

/// An open type1 container with its groups attached and the IOMMU model set.
#[pyclass(frozen, module = "vfio_iommu_info", name = "Container")]
pub struct PyContainer {
    /// `None` once closed.
    inner: Mutex<Option<Open>>,
    info: Py<PyIommuInfo>,
    groups: Vec<GroupName>,
    /// Who serves the container, asked at open.
    backend: Backend,
}

fn closed_error() -> PyErr {
    PyValueError::new_err("I/O operation on a closed container")
}

impl PyContainer {
    /// Runs `f` on the open container, detached from the interpreter.
    fn with_open<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Container) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        match py.detach(|| self.lock().as_ref().map(|o| f(&o.container))) {
            None => Err(closed_error()),
            Some(r) => r.map_err(|e| errors::to_py(py, &e)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        // A panic while holding the lock cannot leave the container half-changed: every
        // change is a single `take` or an ioctl.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyContainer {
    /// The IOMMU info queried when the container was opened.
    #[getter]
    fn info(&self, py: Python<'_>) -> Py<PyIommuInfo> {
        self.info.clone_ref(py)
    }

    /// Who serves the container: `"type1"` (`vfio_iommu_type1`) or `"iommufd-compat"`
    /// (iommufd's compatibility container behind `/dev/vfio/vfio`), asked at open.
    #[getter]
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    /// The facts of `info` as this container's backend means them, each with its source,
    /// with the groups' sysfs reserved regions while the container is open.
    #[getter]
    fn facts(&self, py: Python<'_>) -> PyFacts {
        let info = &self.info.get().info;
        let facts = DmaFacts::from_type1(info, self.backend);
        PyFacts::new(
            match py.detach(|| {
                self.lock()
                    .as_ref()
                    .map(|o| o.container.reserved_regions(&HostPaths::default()))
            }) {
                Some(regions) => facts.with_sysfs(regions),
                None => facts,
            },
        )
    }

    /// Queries the IOMMU info again (DMA_AVAIL changes as mappings come and go).
    fn query(&self, py: Python<'_>) -> PyResult<PyIommuInfo> {
        self.with_open(py, |c| c.query())
            .map(|info| PyIommuInfo { info })
    }

    /// The usable IOVA space, queried now, with each hole attributed to the reserved
    /// regions (sysfs `reserved_regions`) of the container's groups: the MSI window to
    /// `msi`, AMD's HyperTransport hole to `reserved`. None when the container reports no
    /// IOVA ranges (see `info.absent`).
    fn space(&self, py: Python<'_>) -> PyResult<Option<PyIovaSpace>> {
        self.with_open(py, |c| c.space(&HostPaths::default()))
            .map(|s| s.map(|space| PyIovaSpace { space }))
    }

    /// What attaching `group` (a group number, group path or PCI address) would make of
    /// the container's space, predicted from sysfs without attaching it. None when the
    /// container reports no IOVA ranges.
    fn what_if_attach(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
    ) -> PyResult<Option<PyWhatIf>> {
        let target = target_of(group, true)?;
        let backend = self.backend;
        self.with_open(py, move |c| {
            let paths = HostPaths::default();
            let number = target.group_number(&paths)?;
            Ok(c.what_if_attach(&paths, number)?.map(|what_if| PyWhatIf {
                refusal: what_if.refusal(backend, &[]),
                what_if,
            }))
        })
    }

    /// A fd of the container (`/dev/vfio/vfio`), for the caller's own ioctls and for
    /// `query()`. It stays owned by this object, which closes it in `close()`: do not
    /// `os.close()` it (`os.dup()` it for a fd of your own). It is a duplicate of the
    /// private fd the library works through, made on the first call; should it be closed
    /// behind the object's back, the object notices (a `RuntimeWarning` naming the fd),
    /// never closes that number again (another file may have it now) and hands out a
    /// fresh duplicate.
    fn fileno(&self, py: Python<'_>) -> PyResult<RawFd> {
        let got = py.detach(|| {
            self.lock()
                .as_mut()
                .map(|o| o.exposed.get(o.container.as_fd()))
        });
        let Some((fd, stray)) = got else {
            return Err(closed_error());
        };
        if let Some(stray) = stray {
            fdguard::warn(py, "Container", &stray)?;
        }
        fd.map_err(|e| {
            PyErr::from(std::io::Error::new(
                e.kind(),
                format!("Container.fileno(): cannot duplicate the container's fd: {e}"),
            ))
        })
    }

    /// The groups attached, in order: numbers (or paths for nodes not named by a number).
    #[getter]
    fn groups(&self) -> Vec<&GroupName> {
        self.groups.iter().collect()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().is_none())
    }

    /// Closes the container and its groups; the kernel drops every mapping. Closes the
    /// fd `fileno()` returned too, unless it was closed behind the object's back (then
    /// warns, and leaves that number alone). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let stray = py.detach(|| self.lock().take().and_then(Open::close));
        match stray {
            Some(stray) => fdguard::warn(py, "Container", &stray),
            None => Ok(()),
        }
    }

    /// Maps `size` bytes of fresh, zeroed memory owned by the returned `DmaBuffer` at
    /// `iova` (`VFIO_IOMMU_MAP_DMA`), readable and/or writable by the devices.
    #[pyo3(signature = (iova, size, *, readable = true, writable = true))]
    fn map_dma(
        slf: &Bound<'_, Self>,
        iova: u64,
        size: u64,
        readable: bool,
        writable: bool,
    ) -> PyResult<PyDmaBuffer> {
        let py = slf.py();
        let len = usize::try_from(size)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| PyValueError::new_err(format!("cannot map {size} bytes")))?;
        // The core refuses a mapping that ends at 2^64 too, but only after the memory is
        // allocated: refuse first, so that a huge one is not an ENOMEM instead.
        if iova.checked_add(size - 1) == Some(u64::MAX) {
            return Err(errors::to_py(py, &Error::TopPageMapping { iova, size }));
        }
        let memory =
            Memory::new(len).map_err(|e| PyErr::from(std::io::Error::from_raw_os_error(e.0)))?;
        let flags = if readable { VFIO_DMA_MAP_FLAG_READ } else { 0 }
            | if writable { VFIO_DMA_MAP_FLAG_WRITE } else { 0 };
        let vaddr = memory.ptr.as_ptr() as usize;
        slf.get().with_open(py, |c| {
            // SAFETY: `vaddr..vaddr+size` is `memory`, an anonymous mapping owned by the
            // DmaBuffer returned below; it stays mapped until the DmaBuffer unmaps the
            // IOVA (or the container closes, which drops every mapping) and is dropped.
            unsafe { c.map_dma(vaddr as *mut u8, iova, size, flags) }
        })?;
        Ok(PyDmaBuffer {
            container: slf.clone().unbind(),
            memory,
            iova,
            size,
            mapped: AtomicBool::new(true),
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: Vec<Bound<'_, PyAny>>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| match g {
                GroupName::Number(n) => n.to_string(),
                GroupName::Path(p) => format!("{p:?}"),
            })
            .collect();
        // The number `fileno()` handed out, if it did; never the private fd.
        match py.detach(|| self.lock().as_ref().map(|o| o.exposed.peek())) {
            Some(Some(fd)) => format!("<Container fd={fd} groups=[{}]>", groups.join(", ")),
            Some(None) => format!("<Container groups=[{}]>", groups.join(", ")),
            None => format!("<Container closed groups=[{}]>", groups.join(", ")),
        }
    }
}

impl Drop for PyContainer {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let Some(open) = inner.take() else { return };
        // Closing the groups and the container unpins every mapping: detached, so other
        // threads run meanwhile (nothing else can reach this object any more).
        let mut open = Some(open);
        let stray =
            Python::try_attach(|py| py.detach(|| open.take().and_then(Open::close))).flatten();
        // Without an interpreter to detach from (shutdown), the same, attached.
        let stray = stray.or_else(|| open.take().and_then(Open::close));
        fdguard::warn_unraisable("Container", stray);
    }
}

/// Anonymous, zeroed, page-aligned memory of this process; unmapped on drop.
struct Memory {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Memory` owns its mapping exclusively; it is only read and written through
// atomic word accesses (`Memory::word`), which are sound from any thread at once (the
// module runs without the GIL on free-threaded builds), and a device may write it at any
// time, so no reference to it as plain bytes is ever formed.
unsafe impl Send for Memory {}
// SAFETY: as above.
unsafe impl Sync for Memory {}

impl Memory {
    fn new(len: usize) -> Result<Memory, vfio_iommu_info::Errno> {
        // SAFETY: an anonymous private mapping at a kernel-chosen address; no existing
        // memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(vfio_iommu_info::Errno::last());
        }
        NonNull::new(p.cast())
            .map(|ptr| Memory { ptr, len })
            .ok_or(vfio_iommu_info::Errno(libc::ENOMEM))
    }
}

/// The size of every access to DMA memory: one size for all, since atomic accesses of
/// different sizes to the same bytes may not race.
const WORD: usize = std::mem::size_of::<usize>();

impl Memory {
    /// The aligned word `index` of the mapping (bytes `index*WORD..(index+1)*WORD`).
    ///
    /// Callers pass only indexes of words that hold a byte below `len`.
    fn word(&self, index: usize) -> &AtomicUsize {
        debug_assert!(index * WORD < self.len);
        // SAFETY: `ptr` is page-aligned, so `ptr + index*WORD` is aligned for a usize; the
        // word holds a byte below `len` and the mapping extends to the end of that byte's
        // page (mmap maps whole pages, a multiple of WORD), so all of it is mapped, readable
        // and writable for as long as `self` lives. Every access to the mapping goes
        // through this function, atomically and at this one size, so no access races a
        // non-atomic or differently sized one (the device's DMA is outside the Rust memory
        // model; atomics keep each word untorn as seen by this process).
        unsafe { AtomicUsize::from_ptr(self.ptr.as_ptr().add(index * WORD).cast()) }
    }

    /// Copies `out.len()` bytes from `start` (checked by the caller to lie below `len`).
    fn read(&self, start: usize, out: &mut [u8]) {
        let end = start + out.len();
        let mut at = start;
        while at < end {
            let (index, skip) = (at / WORD, at % WORD);
            let take = (WORD - skip).min(end - at);
            let bytes = self.word(index).load(Ordering::Relaxed).to_ne_bytes();
            out[at - start..at - start + take].copy_from_slice(&bytes[skip..skip + take]);
            at += take;
        }
    }

    /// Copies `data` to `start` (checked by the caller: `start + data.len() <= len`).
    /// A partial word is merged in by compare-and-swap, so the bytes around it that a
    /// device or another thread writes meanwhile are kept.
    fn write(&self, start: usize, data: &[u8]) {
        let end = start + data.len();
        let mut at = start;
        while at < end {
            let (index, skip) = (at / WORD, at % WORD);
            let take = (WORD - skip).min(end - at);
            let src = &data[at - start..at - start + take];
            let merge = |old: usize| {
                let mut bytes = old.to_ne_bytes();
                bytes[skip..skip + take].copy_from_slice(src);
                usize::from_ne_bytes(bytes)
            };
            let word = self.word(index);
            if take == WORD {
                word.store(merge(0), Ordering::Relaxed);
            } else {
                // `fetch_update` retries until no one wrote the word in between; the
                // closure always answers Some, so it cannot fail.
                let _ =
                    word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| Some(merge(old)));
            }
            at += take;
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr+len` is the mapping `new` made, unmapped once here. Pages the
        // kernel pinned for a DMA mapping that is somehow still live stay pinned and are
        // not reused, so the device cannot reach memory this process uses afterwards.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Memory mapped for DMA at an IOVA of a container; unmapped when `unmap()` is called,
/// when the buffer is garbage-collected, or when the container closes.
#[pyclass(frozen, module = "vfio_iommu_info", name = "DmaBuffer")]
pub struct PyDmaBuffer {
    container: Py<PyContainer>,
    memory: Memory,
    iova: u64,
    size: u64,
    mapped: AtomicBool,
}

impl PyDmaBuffer {
    /// The byte range `offset..offset+len` of the buffer, checked.
    fn span(&self, offset: u64, len: u64) -> PyResult<(usize, usize)> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok((offset as usize, len as usize)),
            _ => Err(PyIndexError::new_err(format!(
                "bytes {offset}..{offset}+{len} are outside the {}-byte buffer",
                self.size
            ))),
        }
    }
}

#[pymethods]
impl PyDmaBuffer {
    /// The IOVA the devices see the buffer at.
    #[getter]
    fn iova(&self) -> u64 {
        self.iova
    }

    /// Its size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// Whether the IOVA is still mapped (False after `unmap()` or the container's close).
    #[getter]
    fn mapped(&self, py: Python<'_>) -> bool {
        self.mapped.load(Ordering::Acquire) && !self.container.get().closed(py)
    }

    /// Copies `length` bytes from `offset` (to the end by default) out of the buffer.
    #[pyo3(signature = (offset = 0, length = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let length = length.unwrap_or(self.size.saturating_sub(offset));
        let (start, len) = self.span(offset, length)?;
        PyBytes::new_with(py, len, |out| {
            // The fresh bytes object is not visible to anyone else yet: copy detached.
            py.detach(|| self.memory.read(start, out));
            Ok(())
        })
    }

    /// Copies `data` into the buffer at `offset`.
    #[pyo3(signature = (data, offset = 0))]
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>, offset: u64) -> PyResult<()> {
        // Immutable bytes, or a copy of a bytearray or memoryview: safe to read detached.
        let data = data_of(data)?;
        let bytes = data.as_slice();
        let (start, _) = self.span(offset, bytes.len() as u64)?;
        py.detach(|| self.memory.write(start, bytes));
        Ok(())
    }

    /// Unmaps the IOVA (`VFIO_IOMMU_UNMAP_DMA`); returns the bytes the kernel unmapped.
    /// Linux's type1 cannot unmap a mapping that ends at 2^64: it reports 0 bytes and
    /// the buffer stays mapped until the container closes.
    fn unmap(&self, py: Python<'_>) -> PyResult<u64> {
        if !self.mapped.load(Ordering::Acquire) {
            return Err(PyValueError::new_err(format!(
                "IOVA {:#x} is not mapped (already unmapped)",
                self.iova
            )));
        }
        let (iova, size) = (self.iova, self.size);
        let unmapped = self
            .container
            .get()
            .with_open(py, |c| c.unmap_dma(iova, size))?;
        if unmapped == size {
            self.mapped.store(false, Ordering::Release);
        }
        Ok(unmapped)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: Vec<Bound<'_, PyAny>>) -> PyResult<bool> {
        if self.mapped(py) {
            self.unmap(py)?;
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<DmaBuffer iova={:#x} size={:#x} {}>",
            self.iova,
            self.size,
            if self.mapped(py) {
                "mapped"
            } else {
                "unmapped"
            }
        )
    }
}

impl Drop for PyDmaBuffer {
    fn drop(&mut self) {
        // Give the mapping (and its DMA_AVAIL entry) back before the memory goes; there
        // is no one to report a failure to here.
        if !*self.mapped.get_mut() {
            return;
        }
        let (container, iova, size) = (self.container.get(), self.iova, self.size);
        let unmap = || {
            if let Some(o) = container.lock().as_ref() {
                let _ = o.container.unmap_dma(iova, size);
            }
        };
        // Detached: the container's mutex is only ever waited for detached (another thread
        // may hold it through a slow ioctl), and the ioctl lets other threads run.
        if Python::try_attach(|py| py.detach(unmap)).is_none() {
            // No interpreter to detach from (shutdown): the same, attached.
            unmap();
        }
    }
}
