//! `WhatIf` from Python: the space a container will have once another IOMMU group is
//! attached (the core's `what_if_attach`), predicted from sysfs before the attach.

use pyo3::prelude::*;
use vfio_iommu_info::json::what_if_to_json;
use vfio_iommu_info::{AttachRefusal, WhatIf};

use crate::types::{to_dict, PyIovaRange, PyIovaSpace};

/// What attaching a group makes of a container's space: `before`, `after`, the
/// `aperture` the new domain gets and where it comes from, what the attach `taken` away
/// and why, and the kernel's `refusal` when one is predicted.
#[pyclass(frozen, module = "vfio_iommu_info", name = "WhatIf")]
pub struct PyWhatIf {
    pub(crate) what_if: WhatIf,
    pub(crate) refusal: Option<AttachRefusal>,
}

#[pymethods]
impl PyWhatIf {
    /// The group attached.
    #[getter]
    fn group(&self) -> u32 {
        self.what_if.group
    }

    /// Whether the prediction is exact (the new domain's aperture is known); otherwise
    /// the kernel's ranges lie inside `after`'s.
    #[getter]
    fn exact(&self) -> bool {
        self.what_if.exact()
    }

    /// Whether the attach changes the usable ranges.
    #[getter]
    fn changes(&self) -> bool {
        self.what_if.changes()
    }

    /// The space now.
    #[getter]
    fn before(&self) -> PyIovaSpace {
        PyIovaSpace {
            space: self.what_if.before.clone(),
        }
    }

    /// The space after the attach.
    #[getter]
    fn after(&self) -> PyIovaSpace {
        PyIovaSpace {
            space: self.what_if.after.clone(),
        }
    }

    /// The new domain's aperture and where it comes from, in words.
    #[getter]
    fn aperture(&self) -> String {
        self.what_if.aperture.to_string()
    }

    /// `(range, why)` for each piece the attach takes away, ascending.
    #[getter]
    fn taken(&self) -> Vec<(PyIovaRange, String)> {
        self.what_if
            .taken
            .iter()
            .map(|t| (PyIovaRange::from(t.range), t.why.to_string()))
            .collect()
    }

    /// Why the kernel refuses the attach (and its errno), or None.
    #[getter]
    fn refusal(&self) -> Option<(String, i32)> {
        self.refusal.as_ref().map(|r| (r.to_string(), r.errno().0))
    }

    /// The object `vfio-iommu-info plan --attach --json` prints under `what_if`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &what_if_to_json(&self.what_if, self.refusal.as_ref()))
    }

    fn __repr__(&self) -> String {
        format!(
            "WhatIf(group={}, exact={}, changes={}, after={} ranges)",
            self.what_if.group,
            self.what_if.exact(),
            self.what_if.changes(),
            self.what_if.after.ranges().len()
        )
    }
}
