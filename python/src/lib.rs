//! `vfio_iommu_info._native`: the PyO3 binding of the vfio-iommu-info core. The Python
//! package `vfio_iommu_info` (python/vfio_iommu_info/) re-exports it; its typed surface
//! is `_native.pyi`, checked against this module by `mypy.stubtest`.

// Imports point down this list: `pyser` and `types` are the leaves every module may use;
// `errors` and `fdguard` sit on them; the classes above; `space` makes allocators and
// layouts.
mod pyser;
mod types;

mod errors;
mod fdguard;

mod alloc;
mod container;
mod device;
mod facts;
mod guest;
mod info;
mod inspect;
mod ioctls;
mod iommufd;
mod layout;
mod space;
mod spapr_tce;
mod whatif;

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
    m.add_function(wrap_pyfunction!(inspect::inspect, m)?)?;
    m.add_class::<info::PyIommuInfo>()?;
    m.add_class::<types::PyIovaRange>()?;
    m.add_class::<info::PyMigration>()?;
    m.add_class::<types::PyUnknownCap>()?;
    m.add_class::<types::PyCapability>()?;
    m.add_class::<info::PyAbsence>()?;
    m.add_class::<types::PySpanProblem>()?;
    m.add_function(wrap_pyfunction!(space::parse_reserved_regions, m)?)?;
    m.add_class::<types::PyIovaSpace>()?;
    m.add_class::<types::PyHole>()?;
    m.add_class::<types::PyReservedRegion>()?;
    m.add_class::<alloc::PyIovaAllocator>()?;
    m.add_class::<layout::PyLayout>()?;
    m.add_class::<layout::PyPlacement>()?;
    m.add_class::<guest::PyGuestPlan>()?;
    m.add_class::<whatif::PyWhatIf>()?;
    m.add_class::<container::PyContainer>()?;
    m.add_class::<container::PyDmaBuffer>()?;
    m.add_function(wrap_pyfunction!(device::decode_device_info, m)?)?;
    m.add_function(wrap_pyfunction!(device::decode_region_info, m)?)?;
    m.add_function(wrap_pyfunction!(device::device_info_of_fd, m)?)?;
    m.add_function(wrap_pyfunction!(device::region_info_of_fd, m)?)?;
    m.add_class::<device::PyDeviceInfo>()?;
    m.add_class::<device::PyZpciBase>()?;
    m.add_class::<device::PyZpciGroup>()?;
    m.add_class::<device::PyRegionInfo>()?;
    m.add_class::<device::PyRegionType>()?;
    m.add_class::<device::PyMmapArea>()?;
    m.add_function(wrap_pyfunction!(iommufd::open_iommufd, m)?)?;
    m.add_function(wrap_pyfunction!(iommufd::ioas_ranges, m)?)?;
    m.add_function(wrap_pyfunction!(iommufd::hw_info, m)?)?;
    m.add_function(wrap_pyfunction!(facts::type1_facts, m)?)?;
    m.add_function(wrap_pyfunction!(container::container_backend, m)?)?;
    m.add_function(wrap_pyfunction!(ioctls::ioctl_numbers, m)?)?;
    m.add_class::<iommufd::PyIommufdDevice>()?;
    m.add_class::<iommufd::PyIoasRanges>()?;
    m.add_class::<iommufd::PyHwInfo>()?;
    m.add_class::<facts::PyFacts>()?;
    m.add_function(wrap_pyfunction!(spapr_tce::decode_spapr_tce, m)?)?;
    m.add_function(wrap_pyfunction!(spapr_tce::query_spapr_tce_fd, m)?)?;
    m.add_function(wrap_pyfunction!(spapr_tce::spapr_tce_create_window, m)?)?;
    m.add_function(wrap_pyfunction!(spapr_tce::spapr_tce_remove_window, m)?)?;
    m.add_class::<spapr_tce::PySpaprTceInfo>()?;
    m.add_class::<facts::PyFact>()?;
    m.add_class::<facts::PyMappingLimit>()?;
    m.add_class::<facts::PyDirtyTracking>()?;
    // Private, for the tests (not in `__all__`, so not in the stub either).
    m.setattr(
        "_FdOwnerForTests",
        py.get_type::<fdguard::PyFdOwnerForTests>(),
    )?;
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
