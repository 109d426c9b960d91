//! IBM POWER's sPAPR TCE container from Python: `decode_spapr_tce` (a capture),
//! `query_spapr_tce` (the caller's container fd), and `spapr_tce_create_window` /
//! `spapr_tce_remove_window`, the only calls that change a container. Marshalling only.

use pyo3::prelude::*;
use vfio_iommu_info::decode::spapr_tce::{
    Ddw, SpaprTceInfo, DDW_EXPECTED_START, DEFAULT_WINDOW_PAGE_SIZE,
};
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::json::{spapr_tce_shape, spapr_tce_to_json};
use vfio_iommu_info::query::spapr_tce::{
    create_window, query_spapr_tce, remove_window, WindowRequest,
};

use crate::errors;
use crate::facts::PyFacts;
use crate::fdguard::on_callers_fd;
use crate::types::{data_of, parse_byte_order, to_dict, PyIovaRange};

/// What `VFIO_IOMMU_SPAPR_TCE_GET_INFO` said: the default window and dynamic windows.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "SpaprTceInfo")]
#[derive(Clone, PartialEq, Eq)]
pub struct PySpaprTceInfo {
    info: SpaprTceInfo,
}

#[pymethods]
impl PySpaprTceInfo {
    /// The object `vfio-iommu-info decode --kind spapr-tce --json` prints.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &spapr_tce_shape(&self.info))
    }

    /// The core's JSON text of the same shape (private, for the tests).
    fn _json(&self) -> String {
        spapr_tce_to_json(&self.info).to_string()
    }

    /// `argsz` as found (the kernel never rewrites it).
    #[getter]
    fn argsz(&self) -> u32 {
        self.info.argsz
    }

    /// `flags` as found (bit 0: DDW).
    #[getter]
    fn flags(&self) -> u32 {
        self.info.flags
    }

    /// `dma32_window_start`.
    #[getter]
    fn dma32_window_start(&self) -> u32 {
        self.info.dma32_window_start
    }

    /// `dma32_window_size`.
    #[getter]
    fn dma32_window_size(&self) -> u32 {
        self.info.dma32_window_size
    }

    /// The default 32-bit window (inclusive), or None when its size is 0.
    #[getter]
    fn default_window(&self) -> Option<PyIovaRange> {
        self.info.default_window().map(Into::into)
    }

    /// The default window's IOMMU page size: 4096 (the kernel's choice, not a field).
    #[getter]
    fn default_window_page_size(&self) -> u64 {
        DEFAULT_WINDOW_PAGE_SIZE
    }

    /// `"supported"`, `"not_returned"` (the DDW flag with argsz below 32) or
    /// `"unsupported"`.
    #[getter]
    fn ddw_state(&self) -> &'static str {
        self.info.ddw.code()
    }

    /// The page sizes a dynamic window may use (a bitmap), or None.
    #[getter]
    fn ddw_page_sizes(&self) -> Option<u64> {
        self.info.ddw.info().map(|d| d.page_sizes.bits())
    }

    /// How many dynamic windows at once, or None.
    #[getter]
    fn ddw_max_windows(&self) -> Option<u32> {
        self.info.ddw.info().map(|d| d.max_dynamic_windows)
    }

    /// The most TCE table levels, or None.
    #[getter]
    fn ddw_levels(&self) -> Option<u32> {
        self.info.ddw.info().map(|d| d.levels)
    }

    /// Where PowerNV and QEMU's pseries put a dynamic window (2**59), None without DDW:
    /// an expectation; `spapr_tce_create_window` returns the platform's choice.
    #[getter]
    fn ddw_expected_start(&self) -> Option<u64> {
        (!matches!(self.info.ddw, Ddw::Unsupported)).then_some(DDW_EXPECTED_START)
    }

    /// The answer in the model every backend shares (`Facts`, backend `"spapr-tce"`).
    #[getter]
    fn facts(&self) -> PyFacts {
        PyFacts::new(DmaFacts::from_spapr_tce(&self.info))
    }

    fn __repr__(&self) -> String {
        format!(
            "SpaprTceInfo(default_window={}, ddw={})",
            self.info.default_window().map_or_else(
                || "None".to_owned(),
                |w| format!("[{:#x}, {:#x}]", w.start, w.end)
            ),
            self.info.ddw
        )
    }
}

/// Decodes a `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer as a kernel filled it (a capture).
#[pyfunction]
#[pyo3(signature = (data, byte_order = "native"))]
pub(crate) fn decode_spapr_tce(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    byte_order: &str,
) -> PyResult<PySpaprTceInfo> {
    let order = parse_byte_order(byte_order)?;
    let data = data_of(data)?;
    vfio_iommu_info::decode_spapr_tce_with_order(data.as_slice(), order)
        .map(|info| PySpaprTceInfo { info })
        .map_err(|e| errors::malformed(py, &e, None, e.to_string()))
}

/// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` on an sPAPR container fd the caller owns (a group
/// attached, `VFIO_SET_IOMMU` done). Creates nothing.
#[pyfunction]
#[pyo3(name = "query_spapr_tce")]
pub(crate) fn query_spapr_tce_fd(
    py: Python<'_>,
    container_fd: &Bound<'_, PyAny>,
) -> PyResult<PySpaprTceInfo> {
    on_callers_fd(py, container_fd, query_spapr_tce).map(|info| PySpaprTceInfo { info })
}

/// `VFIO_IOMMU_SPAPR_TCE_CREATE` on a v2 sPAPR container fd the caller owns: creates a
/// dynamic window and returns its start (the platform's choice).
#[pyfunction]
#[pyo3(signature = (container_fd, page_shift, window_size, levels = 0))]
pub(crate) fn spapr_tce_create_window(
    py: Python<'_>,
    container_fd: &Bound<'_, PyAny>,
    page_shift: u32,
    window_size: u64,
    levels: u32,
) -> PyResult<u64> {
    let request = WindowRequest {
        page_shift,
        window_size,
        levels,
    };
    on_callers_fd(py, container_fd, |fd| create_window(fd, request)).map(|w| w.start)
}

/// `VFIO_IOMMU_SPAPR_TCE_REMOVE` on a v2 sPAPR container fd the caller owns: removes
/// the window that starts at `start`.
#[pyfunction]
pub(crate) fn spapr_tce_remove_window(
    py: Python<'_>,
    container_fd: &Bound<'_, PyAny>,
    start: u64,
) -> PyResult<()> {
    on_callers_fd(py, container_fd, |fd| remove_window(fd, start))
}
