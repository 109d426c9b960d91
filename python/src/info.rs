//! `IommuInfo` and the small value types it hands out, as immutable Python objects.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView};
use serde_json::Value;
use vfio_iommu_info::iova::check_span;
use vfio_iommu_info::type1::{Reported, Type1Cap};
use vfio_iommu_info::{ByteOrder, Conflict, IommuInfo, PageSizes, SpanProblem};

use crate::errors;
use crate::space::PyIovaSpace;

/// An inclusive IOVA range `[start, end]`, as the kernel reports them.
#[pyclass(frozen, eq, hash, module = "vfio_iommu_info", name = "IovaRange")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyIovaRange {
    /// The first address.
    #[pyo3(get)]
    pub(crate) start: u64,
    /// The last address (inclusive).
    #[pyo3(get)]
    pub(crate) end: u64,
}

impl From<PyIovaRange> for vfio_iommu_info::IovaRange {
    fn from(r: PyIovaRange) -> Self {
        vfio_iommu_info::IovaRange {
            start: r.start,
            end: r.end,
        }
    }
}

impl From<vfio_iommu_info::IovaRange> for PyIovaRange {
    fn from(r: vfio_iommu_info::IovaRange) -> Self {
        PyIovaRange {
            start: r.start,
            end: r.end,
        }
    }
}

#[pymethods]
impl PyIovaRange {
    #[new]
    fn new(start: u64, end: u64) -> PyResult<Self> {
        if start > end {
            return Err(PyValueError::new_err(format!(
                "IovaRange start {start:#x} is above its inclusive end {end:#x}"
            )));
        }
        Ok(PyIovaRange { start, end })
    }

    /// Bytes in the range: `end - start + 1` (up to 2^64, hence a Python int).
    #[getter]
    fn size(&self) -> u128 {
        u128::from(self.end - self.start) + 1
    }

    fn __contains__(&self, iova: &Bound<'_, PyAny>) -> bool {
        iova.extract::<u64>()
            .is_ok_and(|a| self.start <= a && a <= self.end)
    }

    fn __repr__(&self) -> String {
        format!("IovaRange(start={:#x}, end={:#x})", self.start, self.end)
    }

    fn __getnewargs__(&self) -> (u64, u64) {
        (self.start, self.end)
    }
}

pub(crate) fn ranges<'py>(
    py: Python<'py>,
    rs: impl IntoIterator<Item = vfio_iommu_info::IovaRange>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, rs.into_iter().map(PyIovaRange::from))
}

/// The dirty-page tracking capability (MIGRATION).
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "Migration")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyMigration {
    version: u16,
    flags: u32,
    pgsize_bitmap: u64,
    max_dirty_bitmap_size: u64,
}

#[pymethods]
impl PyMigration {
    /// The page sizes dirty tracking works in, ascending, in bytes.
    #[getter]
    fn page_sizes(&self) -> Vec<u64> {
        PageSizes(self.pgsize_bitmap).sizes().collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Migration(version={}, flags={:#x}, pgsize_bitmap={:#x}, max_dirty_bitmap_size={:#x})",
            self.version, self.flags, self.pgsize_bitmap, self.max_dirty_bitmap_size
        )
    }
}

/// A capability whose id this library does not know, kept raw.
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "UnknownCap")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyUnknownCap {
    id: u16,
    version: u16,
    offset: usize,
    /// The bytes from its header to the next capability or the end of the buffer.
    data: Vec<u8>,
}

impl From<&vfio_iommu_info::type1::UnknownCap> for PyUnknownCap {
    fn from(u: &vfio_iommu_info::type1::UnknownCap) -> Self {
        PyUnknownCap {
            id: u.id,
            version: u.version,
            offset: u.offset,
            data: u.bytes.clone(),
        }
    }
}

#[pymethods]
impl PyUnknownCap {
    fn __repr__(&self) -> String {
        format!(
            "UnknownCap(id={}, version={}, offset={}, len(data)={})",
            self.id,
            self.version,
            self.offset,
            self.data.len()
        )
    }
}

/// Where a capability sits in the chain.
#[pyclass(
    frozen,
    eq,
    hash,
    get_all,
    module = "vfio_iommu_info",
    name = "Capability"
)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyCapability {
    id: u16,
    version: u16,
    offset: usize,
    /// `IOVA_RANGE`, `MIGRATION`, `DMA_AVAIL` (IOMMU info), `ZPCI_BASE`... (device info),
    /// `SPARSE_MMAP`... (region info), or None for an id this library does not know.
    name: Option<&'static str>,
}

impl PyCapability {
    /// Where a capability sits, with its name (`None` for an id this library does not
    /// know).
    pub(crate) fn new(
        at: &vfio_iommu_info::type1::CapLocation,
        name: Option<&'static str>,
    ) -> Self {
        PyCapability {
            id: at.id,
            version: at.version,
            offset: at.offset,
            name,
        }
    }
}

#[pymethods]
impl PyCapability {
    fn __repr__(&self) -> String {
        format!(
            "Capability(id={}, version={}, offset={}, name={})",
            self.id,
            self.version,
            self.offset,
            self.name.map_or("None".to_owned(), |n| format!("{n:?}"))
        )
    }
}

/// Why an item of the info is absent: a stable `code` and the `reason` in words.
#[pyclass(
    frozen,
    eq,
    hash,
    get_all,
    module = "vfio_iommu_info",
    name = "Absence"
)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyAbsence {
    code: &'static str,
    reason: String,
}

#[pymethods]
impl PyAbsence {
    fn __repr__(&self) -> String {
        format!("Absence(code={:?}, reason={:?})", self.code, self.reason)
    }

    fn __str__(&self) -> String {
        self.reason.clone()
    }
}

/// Why a span cannot be mapped: `code` (as the C ABI's `vfio_iommu_info_span_problem_str`
/// names them), the `message`, the `range` it hit (the aperture or the hole) and the
/// `page_size` it is not aligned to.
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "SpanProblem")]
#[derive(Clone, PartialEq, Eq)]
pub struct PySpanProblem {
    code: &'static str,
    message: String,
    range: Option<PyIovaRange>,
    page_size: Option<u64>,
}

impl From<SpanProblem> for PySpanProblem {
    fn from(p: SpanProblem) -> Self {
        // The code is the core's `SpanProblem::code()`, as `plan --json` prints it.
        let (range, page_size) = match p {
            SpanProblem::BeyondAperture { aperture } => (Some(aperture.into()), None),
            SpanProblem::InHole { hole } => (Some(hole.into()), None),
            SpanProblem::Misaligned { page } => (None, Some(page)),
            _ => (None, None),
        };
        PySpanProblem {
            code: p.code(),
            message: p.to_string(),
            range,
            page_size,
        }
    }
}

impl From<&Conflict> for PySpanProblem {
    fn from(c: &Conflict) -> Self {
        // As `plan --json` prints a layout's conflict: the other region's range for
        // `overlaps_region`.
        match c {
            Conflict::Unusable(p) => (*p).into(),
            _ => PySpanProblem {
                code: c.code(),
                message: c.to_string(),
                range: match c {
                    Conflict::OverlapsRegion { range, .. } => Some((*range).into()),
                    _ => None,
                },
                page_size: None,
            },
        }
    }
}

impl PySpanProblem {
    /// The stable code.
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

#[pymethods]
impl PySpanProblem {
    fn __repr__(&self) -> String {
        format!(
            "SpanProblem(code={:?}, message={:?})",
            self.code, self.message
        )
    }

    fn __str__(&self) -> String {
        self.message.clone()
    }
}

/// What a type1 container told about its IOMMU (`VFIO_IOMMU_GET_INFO`, decoded).
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "IommuInfo")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyIommuInfo {
    pub(crate) info: IommuInfo,
}

#[pymethods]
impl PyIommuInfo {
    /// `argsz` as found in the buffer.
    #[getter]
    fn argsz(&self) -> u32 {
        self.info.argsz
    }

    /// `flags` as found in the buffer.
    #[getter]
    fn flags(&self) -> u32 {
        self.info.flags
    }

    /// The IOMMU page-size bitmap, or None when the PGSIZES flag is clear.
    #[getter]
    fn iova_pgsizes(&self) -> Option<u64> {
        self.info.iova_pgsizes.map(|p| p.0)
    }

    /// The supported page sizes in bytes, ascending (empty without PGSIZES).
    #[getter]
    fn page_sizes(&self) -> Vec<u64> {
        self.info
            .iova_pgsizes
            .map(|p| p.sizes().collect())
            .unwrap_or_default()
    }

    /// `cap_offset`, when the CAPS flag is set and the buffer holds it.
    #[getter]
    fn cap_offset(&self) -> Option<u32> {
        self.info.cap_offset
    }

    /// The kernel had capabilities that did not fit the buffer.
    #[getter]
    fn caps_truncated(&self) -> bool {
        self.info.caps_truncated
    }

    /// The usable IOVA ranges in the kernel's order, or None (see `absent`).
    #[getter]
    fn iova_ranges<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        self.info
            .iova_ranges
            .present()
            .map(|r| ranges(py, r.iter().copied()))
            .transpose()
    }

    /// Dirty-page tracking, or None (see `absent`).
    #[getter]
    fn migration(&self) -> Option<PyMigration> {
        self.info.migration.present().map(|m| PyMigration {
            version: m.version,
            flags: m.flags,
            pgsize_bitmap: m.pgsize_bitmap.0,
            max_dirty_bitmap_size: m.max_dirty_bitmap_size,
        })
    }

    /// How many more DMA mappings the container accepts, or None (see `absent`).
    #[getter]
    fn dma_avail(&self) -> Option<u32> {
        self.info.dma_avail.present().copied()
    }

    /// Capabilities with ids this library does not know, in chain order.
    #[getter]
    fn unknown_caps(&self) -> Vec<PyUnknownCap> {
        self.info
            .unknown_caps
            .iter()
            .map(PyUnknownCap::from)
            .collect()
    }

    /// Every capability in chain order.
    #[getter]
    fn chain(&self) -> Vec<PyCapability> {
        self.info
            .chain
            .iter()
            .map(|c| PyCapability {
                id: c.id,
                version: c.version,
                offset: c.offset,
                name: Type1Cap::from_id(c.id).map(Type1Cap::name),
            })
            .collect()
    }

    /// The aperture (the seed's "DMA window"), or None without ranges.
    #[getter]
    fn aperture(&self) -> Option<PyIovaRange> {
        self.info.aperture().map(Into::into)
    }

    /// The reserved holes inside the aperture, ascending.
    #[getter]
    fn holes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.info.holes())
    }

    /// For each absent item (`iova_ranges`, `migration`, `dma_avail`), why.
    #[getter]
    fn absent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (key, cap) in [
            ("iova_ranges", Type1Cap::IovaRange),
            ("migration", Type1Cap::Migration),
            ("dma_avail", Type1Cap::DmaAvail),
        ] {
            if let Some(why) = self.info.absence(cap) {
                dict.set_item(
                    key,
                    PyAbsence {
                        code: why.code(),
                        reason: why.explain(cap),
                    },
                )?;
            }
        }
        Ok(dict)
    }

    /// Whether `[iova, iova + size)` can be mapped: None, or the first reason it cannot
    /// (outside the aperture, in a hole, across ranges, misaligned). Exact to 2^64-1.
    fn check(&self, iova: u64, size: u64) -> Option<PySpanProblem> {
        let empty = Vec::new();
        let rs = self.info.iova_ranges.present().unwrap_or(&empty);
        check_span(rs, self.info.iova_pgsizes, iova, size)
            .err()
            .map(Into::into)
    }

    /// The usable IOVA space these ranges and page sizes make (holes without causes: the
    /// info does not say which reserved regions made them; `Container.space()` does), or
    /// None when the info has no IOVA ranges (see `absent`).
    fn space(&self) -> Option<PyIovaSpace> {
        vfio_iommu_info::IovaSpace::from_info(&self.info).map(|space| PyIovaSpace { space })
    }

    /// The object `vfio-iommu-info decode --json` prints (None for null).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &vfio_iommu_info::json::info_to_json(&self.info))
    }

    fn __repr__(&self) -> String {
        let i = &self.info;
        let mut parts = vec![match i.iova_pgsizes {
            Some(p) => format!("iova_pgsizes={:#x} ({p:#})", p.0),
            None => "iova_pgsizes=None".to_owned(),
        }];
        let absent = |why: vfio_iommu_info::Absence| format!("None ({})", why.code());
        parts.push(match &i.iova_ranges {
            Reported::Present(r) => format!(
                "iova_ranges=[{}]",
                r.iter()
                    .map(|r| format!("{:#x}-{:#x}", r.start, r.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Reported::Absent(why) => format!("iova_ranges={}", absent(*why)),
        });
        parts.push(match &i.dma_avail {
            Reported::Present(n) => format!("dma_avail={n}"),
            Reported::Absent(why) => format!("dma_avail={}", absent(*why)),
        });
        parts.push(match &i.migration {
            Reported::Present(m) => format!(
                "migration=({}, max_dirty_bitmap_size={:#x})",
                m.pgsize_bitmap, m.max_dirty_bitmap_size
            ),
            Reported::Absent(why) => format!("migration={}", absent(*why)),
        });
        if !i.unknown_caps.is_empty() {
            let ids: Vec<String> = i.unknown_caps.iter().map(|u| u.id.to_string()).collect();
            parts.push(format!("unknown_caps=[{}]", ids.join(", ")));
        }
        format!("IommuInfo({})", parts.join(", "))
    }
}

/// A `serde_json::Value` as the Python object `json.loads` would give.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any(),
            (None, None) => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => PyList::new(
            py,
            a.iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// The bytes of a `bytes`, `bytearray` or `memoryview`, borrowed when they can be.
pub(crate) enum Data<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Data<'_> {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Data::Borrowed(b) => b,
            Data::Owned(v) => v,
        }
    }
}

pub(crate) fn data_of<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<Data<'a>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(Data::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(Data::Owned(b.to_vec()));
    }
    if data.cast::<PyMemoryView>().is_ok() {
        let b = data.call_method0("tobytes")?;
        return Ok(Data::Owned(b.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes, bytearray or memoryview, got {}",
        data.get_type().name()?
    )))
}

pub(crate) fn parse_byte_order(s: &str) -> PyResult<ByteOrder> {
    s.parse().map_err(|_| {
        PyValueError::new_err(format!(
            "byte_order must be \"native\", \"little\" or \"big\", not {s:?}"
        ))
    })
}

/// Decodes a `VFIO_IOMMU_GET_INFO` buffer as a kernel filled it (a capture).
#[pyfunction]
#[pyo3(signature = (data, byte_order = "native"))]
pub(crate) fn decode(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    byte_order: &str,
) -> PyResult<PyIommuInfo> {
    let order = parse_byte_order(byte_order)?;
    let data = data_of(data)?;
    vfio_iommu_info::decode_with_order(data.as_slice(), order)
        .map(|info| PyIommuInfo { info })
        .map_err(|e| errors::malformed(py, &e, None, e.to_string()))
}
