//! `IovaAllocator` from Python: the core's allocator behind a mutex, so one allocator can
//! be shared by threads (free-threaded builds included). The lock is taken without
//! waiting while attached to the interpreter; a thread that would wait detaches first,
//! so a holder never needs the interpreter a waiter holds. Nothing Python is touched
//! while the lock is held: results are copied out, then converted.

use std::sync::{Mutex, TryLockError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use vfio_iommu_info::{IovaAllocator, IovaRange};

use crate::errors;
use crate::types::{ranges, PyIovaSpace};

/// Hands out IOVA spans of an `IovaSpace` that the kernel will map: inside one usable
/// range, multiples of the IOMMU's smallest page size (the `granule`), aligned, below a
/// device's DMA limit, never the last page of the 64-bit space (Linux's type1 cannot
/// unmap a mapping that ends at 2**64). Takes fixed reservations too (identity-mapped
/// guest RAM). Safe to share between threads. Refusals raise `AllocationError`.
#[pyclass(frozen, module = "vfio_iommu_info", name = "IovaAllocator")]
pub struct PyIovaAllocator {
    inner: Mutex<IovaAllocator>,
    space: Py<PyIovaSpace>,
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err(
        "the IovaAllocator is unusable: an earlier call panicked inside it and may have left it half-changed",
    )
}

impl PyIovaAllocator {
    pub(crate) fn new(space: &Bound<'_, PyIovaSpace>) -> PyResult<Self> {
        Ok(PyIovaAllocator {
            inner: Mutex::new(IovaAllocator::new(&space.get().space)),
            space: space.clone().unbind(),
        })
    }

    /// Runs `f` on the allocator under its lock (see the module's comment).
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut IovaAllocator) -> T + Send,
    ) -> PyResult<T> {
        match self.inner.try_lock() {
            Ok(mut guard) => Ok(f(&mut guard)),
            Err(TryLockError::Poisoned(_)) => Err(poisoned()),
            Err(TryLockError::WouldBlock) => py.detach(|| match self.inner.lock() {
                Ok(mut guard) => Ok(f(&mut guard)),
                Err(_) => Err(poisoned()),
            }),
        }
    }
}

#[pymethods]
impl PyIovaAllocator {
    #[new]
    fn py_new(space: &Bound<'_, PyIovaSpace>) -> PyResult<Self> {
        PyIovaAllocator::new(space)
    }

    /// Allocates `size` bytes (rounded up to the granule) aligned to `align` (a power of
    /// two; 0 or less than the granule means the granule), ending at or below `limit`
    /// (the device's DMA mask: `2**28 - 1` for a 28-bit device). Returns the IOVA, the
    /// lowest that fits.
    #[pyo3(signature = (size, align = 0, limit = 18446744073709551615))]
    fn alloc(&self, py: Python<'_>, size: u64, align: u64, limit: u64) -> PyResult<u64> {
        self.with(py, |a| a.alloc(size, align, limit))?
            .map_err(|e| errors::alloc_error(py, &e))
    }

    /// Frees the allocation or reservation that starts at `iova`; returns its size.
    fn free(&self, py: Python<'_>, iova: u64) -> PyResult<u64> {
        self.with(py, |a| a.free(iova))?
            .map_err(|e| errors::alloc_error(py, &e))
    }

    /// Reserves `[iova, iova + size)` for a fixed mapping: it must be usable (see
    /// `IovaSpace.check`), granule-aligned and free. `free(iova)` gives it back.
    fn reserve(&self, py: Python<'_>, iova: u64, size: u64) -> PyResult<()> {
        self.with(py, |a| a.reserve(iova, size))?
            .map_err(|e| errors::alloc_error(py, &e))
    }

    /// The live allocations and reservations as `(iova, size)`, ascending.
    #[getter]
    fn live(&self, py: Python<'_>) -> PyResult<Vec<(u64, u64)>> {
        self.with(py, |a| a.live().collect())
    }

    /// The free extents, ascending (the usable ranges trimmed to the granule, without the
    /// top page, minus the live spans).
    #[getter]
    fn free_extents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let extents: Vec<IovaRange> = self.with(py, |a| a.free_extents().collect())?;
        ranges(py, extents)
    }

    /// The smallest IOMMU page size: the unit of every span.
    #[getter]
    fn granule(&self) -> u64 {
        self.space.get().space.granule()
    }

    /// The space allocated from.
    #[getter]
    fn space(&self, py: Python<'_>) -> Py<PyIovaSpace> {
        self.space.clone_ref(py)
    }

    /// The number of live allocations and reservations.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |a| a.live_count())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let live = self.with(py, |a| a.live_count())?;
        Ok(format!(
            "<IovaAllocator granule={:#x} live={live}>",
            self.space.get().space.granule()
        ))
    }
}
