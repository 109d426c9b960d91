//! `inspect(pid)` from Python: what a running process holds of VFIO and iommufd, and its
//! locked memory (the core's `query::inspect`), as the command's JSON object.

use pyo3::prelude::*;
use vfio_iommu_info::json::inspection_to_json;
use vfio_iommu_info::query::inspect::inspect as inspect_process;
use vfio_iommu_info::HostPaths;

use crate::errors;
use crate::types::to_dict;

/// The VFIO containers (DMA_AVAIL live, mappings in use, ranges), groups, device fds and
/// iommufd IOAS of process `pid`, and its locked memory against RLIMIT_MEMLOCK: the object
/// `vfio-iommu-info inspect PID --json` prints. Each fd is borrowed (`pidfd_getfd`, Linux
/// 5.6+, ptrace access needed) and asked once; the process is not disturbed.
#[pyfunction]
pub(crate) fn inspect(py: Python<'_>, pid: i32) -> PyResult<Bound<'_, PyAny>> {
    let found = py
        .detach(|| inspect_process(pid, &HostPaths::default()))
        .map_err(|e| errors::to_py(py, &e))?;
    to_dict(py, &inspection_to_json(&found))
}
