//! `vfio_iommu_info._native`: the PyO3 binding of the vfio-iommu-info core. The Python
//! package `vfio_iommu_info` (python/vfio_iommu_info/) re-exports it; its typed surface
//! is `_native.pyi`, checked against this module by `mypy.stubtest`.

mod alloc;
mod container;
mod errors;
mod info;
mod layout;
mod space;

use pyo3::prelude::*;

/// The native module. Its state is immutable or behind a mutex, so it runs without the
/// GIL where the interpreter allows (free-threaded builds).
#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(info::decode, m)?)?;
    m.add_function(wrap_pyfunction!(container::query, m)?)?;
    m.add_function(wrap_pyfunction!(container::open_group, m)?)?;
    m.add_function(wrap_pyfunction!(container::for_device, m)?)?;
    m.add_function(wrap_pyfunction!(container::open_container, m)?)?;
    m.add_function(wrap_pyfunction!(container::check_group, m)?)?;
    m.add_class::<info::PyIommuInfo>()?;
    m.add_class::<info::PyIovaRange>()?;
    m.add_class::<info::PyMigration>()?;
    m.add_class::<info::PyUnknownCap>()?;
    m.add_class::<info::PyCapability>()?;
    m.add_class::<info::PyAbsence>()?;
    m.add_class::<info::PySpanProblem>()?;
    m.add_function(wrap_pyfunction!(space::parse_reserved_regions, m)?)?;
    m.add_class::<space::PyIovaSpace>()?;
    m.add_class::<space::PyHole>()?;
    m.add_class::<space::PyReservedRegion>()?;
    m.add_class::<alloc::PyIovaAllocator>()?;
    m.add_class::<layout::PyLayout>()?;
    m.add_class::<layout::PyPlacement>()?;
    m.add_class::<container::PyContainer>()?;
    m.add_class::<container::PyDmaBuffer>()?;
    m.add(
        "MalformedInfoError",
        py.get_type::<errors::MalformedInfoError>(),
    )?;
    m.add("VfioError", py.get_type::<errors::VfioError>())?;
    m.add(
        "GroupNotViableError",
        py.get_type::<errors::GroupNotViableError>(),
    )?;
    m.add("AllocationError", py.get_type::<errors::AllocationError>())?;
    Ok(())
}
