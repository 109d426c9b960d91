//! The provenance model from Python: what each backend says about mapping DMA, with
//! where every fact came from (`Facts`, from `IommufdDevice.facts`, `Container.facts` or
//! `type1_facts`), and the small types its facts hold.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use vfio_iommu_info::facts::{Backend, DirtyTracking, DmaFacts, Fact, MappingLimit};
use vfio_iommu_info::json::{facts_shape, facts_to_json};

use crate::info::PyIommuInfo;
use crate::types::{ranges, to_dict, PyReservedRegion};

/// A fact and where it came from (`source`: `"type1:iova-range-cap"`,
/// `"iommufd:ioas-iova-ranges"`, `"iommufd:hw-info"`...).
#[pyclass(frozen, module = "vfio_iommu_info", name = "Fact")]
pub struct PyFact {
    value: Py<PyAny>,
    source: &'static str,
}

#[pymethods]
impl PyFact {
    /// The value.
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Where it came from, as `vfio-iommu-info query --json` names it.
    #[getter]
    fn source(&self) -> &'static str {
        self.source
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<PyFact>() else {
            return Ok(false);
        };
        let other = other.get();
        Ok(self.source == other.source && self.value.bind(py).eq(other.value.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Fact(value={}, source='{}')",
            self.value.bind(py).repr()?,
            self.source
        ))
    }
}

/// How many more mappings the kernel accepts: `remaining` (type1's DMA_AVAIL), or
/// `unlimited` (iommufd, and its compat container's DMA_AVAIL of U32_MAX: pinned memory
/// is limited by RLIMIT_MEMLOCK and the memory cgroup instead).
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "MappingLimit")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyMappingLimit {
    /// This many more mappings, or None when unlimited.
    remaining: Option<u32>,
    /// No mapping count limit.
    unlimited: bool,
}

#[pymethods]
impl PyMappingLimit {
    fn __repr__(&self) -> String {
        match self.remaining {
            Some(n) => format!("MappingLimit(remaining={n})"),
            None => "MappingLimit(unlimited=True)".to_owned(),
        }
    }
}

/// Dirty-page tracking as the backend describes it: `kind` `"type1"` (the MIGRATION
/// capability's dirty bitmaps, with `pgsize_bitmap` and `max_dirty_bitmap_size`) or
/// `"hardware"` (iommufd's IOMMU_HW_CAP_DIRTY_TRACKING: `hardware` says whether the IOMMU
/// tracks dirty pages for the device).
#[pyclass(
    frozen,
    eq,
    get_all,
    module = "vfio_iommu_info",
    name = "DirtyTracking"
)]
#[derive(Clone, PartialEq, Eq)]
pub struct PyDirtyTracking {
    kind: &'static str,
    pgsize_bitmap: Option<u64>,
    max_dirty_bitmap_size: Option<u64>,
    hardware: Option<bool>,
}

#[pymethods]
impl PyDirtyTracking {
    fn __repr__(&self) -> String {
        match self.hardware {
            Some(h) => format!("DirtyTracking(kind='hardware', hardware={})", py_bool(h)),
            None => format!(
                "DirtyTracking(kind='type1', pgsize_bitmap={:#x}, max_dirty_bitmap_size={:#x})",
                self.pgsize_bitmap.unwrap_or(0),
                self.max_dirty_bitmap_size.unwrap_or(0)
            ),
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// What one backend says about mapping DMA, every fact a `Fact` (value and source) or
/// None when the backend did not say (`notes` says why).
#[pyclass(frozen, module = "vfio_iommu_info", name = "Facts")]
pub struct PyFacts {
    facts: DmaFacts,
}

fn fact<'py, T>(
    f: &Option<Fact<T>>,
    value: impl FnOnce(&T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Option<PyFact>> {
    f.as_ref()
        .map(|f| {
            Ok(PyFact {
                value: value(&f.value)?.unbind(),
                source: f.source.name(),
            })
        })
        .transpose()
}

#[pymethods]
impl PyFacts {
    /// The interface that answered: `"type1"`, `"iommufd-compat"`, `"iommufd"` or
    /// `"spapr-tce"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.facts.backend.name()
    }

    /// The usable IOVA ranges (a list of `IovaRange`).
    #[getter]
    fn iova_ranges(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.iova_ranges, |r| {
            Ok(ranges(py, r.iter().copied())?.into_any())
        })
    }

    /// The page sizes mappings can use, as a bitmap (bit n: 2**n bytes).
    #[getter]
    fn page_sizes(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.page_sizes, |p| {
            Ok(p.bits().into_pyobject(py)?.into_any())
        })
    }

    /// The alignment every mapping's IOVA and length must have (iommufd's
    /// `out_iova_alignment`; not the page sizes the IOMMU supports).
    #[getter]
    fn iova_alignment(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.iova_alignment, |a| {
            Ok(a.into_pyobject(py)?.into_any())
        })
    }

    /// The IOVA width the IOMMU translates, in bits (from hardware registers).
    #[getter]
    fn address_width(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.address_width, |w| {
            Ok(w.into_pyobject(py)?.into_any())
        })
    }

    /// The mapping count limit (a `MappingLimit`).
    #[getter]
    fn mapping_limit(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.mapping_limit, |m| {
            let v = match m {
                MappingLimit::Remaining(n) => PyMappingLimit {
                    remaining: Some(*n),
                    unlimited: false,
                },
                MappingLimit::Unlimited => PyMappingLimit {
                    remaining: None,
                    unlimited: true,
                },
            };
            Ok(Bound::new(py, v)?.into_any())
        })
    }

    /// Dirty tracking (a `DirtyTracking`).
    #[getter]
    fn dirty_tracking(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.dirty_tracking, |d| {
            let v = match d {
                DirtyTracking::Type1 {
                    pgsize_bitmap,
                    max_dirty_bitmap_size,
                } => PyDirtyTracking {
                    kind: "type1",
                    pgsize_bitmap: Some(pgsize_bitmap.bits()),
                    max_dirty_bitmap_size: Some(*max_dirty_bitmap_size),
                    hardware: None,
                },
                DirtyTracking::Hardware(h) => PyDirtyTracking {
                    kind: "hardware",
                    pgsize_bitmap: None,
                    max_dirty_bitmap_size: None,
                    hardware: Some(*h),
                },
            };
            Ok(Bound::new(py, v)?.into_any())
        })
    }

    /// Why a fact is absent or means something other than it seems, one sentence each.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.facts.notes.clone()
    }

    /// The sysfs reserved regions of the IOMMU groups behind the answer (a list of
    /// `ReservedRegion`): the causes of its holes.
    #[getter]
    fn reserved_regions(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.reserved_regions, |r| {
            let list: Vec<PyReservedRegion> = r
                .iter()
                .map(|region| PyReservedRegion {
                    region: region.clone(),
                })
                .collect();
            Ok(list.into_pyobject(py)?.into_any())
        })
    }

    /// sPAPR TCE's dynamic DMA windows (a dict: `page_sizes`, a bitmap,
    /// `max_dynamic_windows`, `levels`); None for other backends and without DDW.
    #[getter]
    fn dynamic_windows(&self, py: Python<'_>) -> PyResult<Option<PyFact>> {
        fact(&self.facts.dynamic_windows, |d| {
            let dict = pyo3::types::PyDict::new(py);
            dict.set_item("page_sizes", d.page_sizes.bits())?;
            dict.set_item("max_dynamic_windows", d.max_dynamic_windows)?;
            dict.set_item("levels", d.levels)?;
            Ok(dict.into_any())
        })
    }

    /// Where this answer and `other` (another backend for the same device, or another
    /// host) disagree on a fact both have: `(field, this value, other value)` for
    /// `iova_ranges`, `page_sizes`, `address_width` and `reserved_regions`. Empty when
    /// they agree.
    fn differences(&self, other: &PyFacts) -> Vec<(&'static str, String, String)> {
        self.facts
            .differences(&other.facts)
            .into_iter()
            .map(|d| (d.field, d.this, d.other))
            .collect()
    }

    /// The object `vfio-iommu-info query --json` prints under `facts`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &facts_shape(&self.facts))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        facts_to_json(&self.facts).to_string()
    }

    fn __repr__(&self) -> String {
        let present: Vec<&str> = [
            ("iova_ranges", self.facts.iova_ranges.is_some()),
            ("page_sizes", self.facts.page_sizes.is_some()),
            ("iova_alignment", self.facts.iova_alignment.is_some()),
            ("address_width", self.facts.address_width.is_some()),
            ("mapping_limit", self.facts.mapping_limit.is_some()),
            ("dirty_tracking", self.facts.dirty_tracking.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, has)| has.then_some(name))
        .collect();
        format!(
            "<Facts backend={} facts=[{}] notes={}>",
            self.facts.backend.name(),
            present.join(", "),
            self.facts.notes.len()
        )
    }
}

impl PyFacts {
    pub(crate) fn new(facts: DmaFacts) -> PyFacts {
        PyFacts { facts }
    }
}

/// The name of a backend string, checked.
fn parse_backend(name: &str) -> PyResult<Backend> {
    match name.parse::<Backend>() {
        Ok(Backend::Iommufd) => Err(PyValueError::new_err(
            "backend 'iommufd' answers no VFIO_IOMMU_GET_INFO: the iommufd path's facts are open_iommufd(...).facts",
        )),
        Ok(Backend::SpaprTce) => Err(PyValueError::new_err(
            "backend 'spapr-tce' answers no VFIO_IOMMU_GET_INFO: an sPAPR container's facts are decode_spapr_tce(...).facts or query_spapr_tce(fd).facts",
        )),
        Ok(backend @ (Backend::Type1 | Backend::IommufdCompat)) => Ok(backend),
        Err(_) => Err(PyValueError::new_err(format!(
            "backend must be 'type1' or 'iommufd-compat' (Container.backend says which), not {name:?}"
        ))),
    }
}

/// The facts of a type1 answer (an `IommuInfo` from `decode`, `query` or a container),
/// as `backend` means them: `"type1"`, or `"iommufd-compat"` (iommufd's compat container,
/// whose DMA_AVAIL of U32_MAX means no limit).
#[pyfunction]
#[pyo3(signature = (info, backend = "type1"))]
pub(crate) fn type1_facts(info: &PyIommuInfo, backend: &str) -> PyResult<PyFacts> {
    let backend = parse_backend(backend)?;
    Ok(PyFacts::new(DmaFacts::from_type1(&info.info, backend)))
}
