//! The leaf of the binding: the small immutable value types every other module hands
//! out (`IovaRange`, `SpanProblem`, `Capability`, `UnknownCap`, `ReservedRegion`, `Hole`),
//! the declaration of `IovaSpace` (its methods are in `space.rs`, above the allocator and
//! the layout it makes), and the helpers that turn Python arguments into Rust ones and
//! the core's JSON shapes into Python objects. It imports no other module of the binding.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyMemoryView};
use serde::Serialize;
use vfio_iommu_info::decode::chain::CapLocation;
use vfio_iommu_info::{
    ByteOrder, Conflict, Hole, IovaRange, IovaSpace, RegionKind, ReservedRegion, SpanProblem,
    UnknownCap,
};

use crate::pyser;

/// One of the core's JSON shapes (`vfio_iommu_info::json::*_shape`) as the Python object
/// `json.loads` would give for its JSON text (`_hex` siblings included), built directly
/// (see `pyser`).
pub(crate) fn to_dict<'py>(py: Python<'py>, shape: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    pyser::to_py(py, shape)
}

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

impl From<PyIovaRange> for IovaRange {
    fn from(r: PyIovaRange) -> Self {
        IovaRange {
            start: r.start,
            end: r.end,
        }
    }
}

impl From<IovaRange> for PyIovaRange {
    fn from(r: IovaRange) -> Self {
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
        IovaRange::new(start, end)
            .map(Into::into)
            .ok_or_else(|| inverted("IovaRange", start, end))
    }

    /// Bytes in the range: `end - start + 1` (up to 2^64, hence a Python int).
    #[getter]
    fn size(&self) -> u128 {
        IovaRange::from(*self).size()
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
    rs: impl IntoIterator<Item = IovaRange>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, rs.into_iter().map(PyIovaRange::from))
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

impl From<&UnknownCap> for PyUnknownCap {
    fn from(u: &UnknownCap) -> Self {
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
    pub(crate) fn new(at: &CapLocation, name: Option<&'static str>) -> Self {
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
        PySpanProblem {
            code: p.code(),
            message: p.to_string(),
            range: p.range().map(Into::into),
            page_size: p.page_size(),
        }
    }
}

impl From<&Conflict> for PySpanProblem {
    fn from(c: &Conflict) -> Self {
        PySpanProblem {
            code: c.code(),
            message: c.to_string(),
            range: c.range().map(Into::into),
            page_size: c.problem().and_then(SpanProblem::page_size),
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

/// A line of an IOMMU group's sysfs `reserved_regions`: the inclusive addresses and the
/// `type` (`msi`, `reserved`, `direct`, `direct-relaxable`, or one this library does not
/// know).
#[pyclass(frozen, eq, hash, module = "vfio_iommu_info", name = "ReservedRegion")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyReservedRegion {
    pub(crate) region: ReservedRegion,
}

pub(crate) fn inverted(what: &str, start: u64, end: u64) -> PyErr {
    PyValueError::new_err(format!(
        "{what} start {start:#x} is above its inclusive end {end:#x}"
    ))
}

#[pymethods]
impl PyReservedRegion {
    #[new]
    pub(crate) fn new(start: u64, end: u64, r#type: &str) -> PyResult<Self> {
        let range =
            IovaRange::new(start, end).ok_or_else(|| inverted("ReservedRegion", start, end))?;
        if r#type.is_empty() || r#type.contains(char::is_whitespace) {
            return Err(PyValueError::new_err(format!(
                "a reserved region's type is one word (msi, reserved, direct, direct-relaxable), not {:?}",
                r#type
            )));
        }
        Ok(PyReservedRegion {
            region: ReservedRegion {
                range,
                kind: r#type
                    .parse::<RegionKind>()
                    .unwrap_or_else(|never| match never {}),
            },
        })
    }

    /// The first address.
    #[getter]
    fn start(&self) -> u64 {
        self.region.range.start
    }

    /// The last address (inclusive).
    #[getter]
    fn end(&self) -> u64 {
        self.region.range.end
    }

    /// The type, as sysfs names it.
    #[getter]
    fn r#type(&self) -> &str {
        self.region.kind.name()
    }

    /// The addresses as an `IovaRange`.
    #[getter]
    fn range(&self) -> PyIovaRange {
        self.region.range.into()
    }

    /// Whether the kernel removes such a region from a container's IOVA list (every type
    /// but `direct-relaxable`): only those make holes.
    #[getter]
    fn makes_hole(&self) -> bool {
        self.region.kind.excluded_from_iova_list()
    }

    fn __repr__(&self) -> String {
        format!(
            "ReservedRegion(start={:#x}, end={:#x}, type={:?})",
            self.region.range.start,
            self.region.range.end,
            self.region.kind.name()
        )
    }

    fn __getnewargs__(&self) -> (u64, u64, &str) {
        (
            self.region.range.start,
            self.region.range.end,
            self.region.kind.name(),
        )
    }
}

/// A hole inside the aperture: its `range`, and the reserved regions (`causes`) of the
/// container's groups that account for it (empty when none is known).
#[pyclass(frozen, eq, hash, module = "vfio_iommu_info", name = "Hole")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyHole {
    hole: Hole,
}

impl std::hash::Hash for PyHole {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.hole.range.hash(state);
        self.hole.causes.hash(state);
    }
}

impl From<&Hole> for PyHole {
    fn from(h: &Hole) -> Self {
        PyHole { hole: h.clone() }
    }
}

#[pymethods]
impl PyHole {
    /// The addresses no usable range covers.
    #[getter]
    fn range(&self) -> PyIovaRange {
        self.hole.range.into()
    }

    /// The reserved regions that overlap the hole and make holes (`msi`, `reserved`,
    /// `direct`), ascending; empty when not known.
    #[getter]
    fn causes(&self) -> Vec<PyReservedRegion> {
        self.hole
            .causes
            .iter()
            .map(|r| PyReservedRegion { region: r.clone() })
            .collect()
    }

    fn __repr__(&self) -> String {
        let causes: Vec<String> = self
            .hole
            .causes
            .iter()
            .map(|r| PyReservedRegion { region: r.clone() }.__repr__())
            .collect();
        format!(
            "Hole(range=IovaRange(start={:#x}, end={:#x}), causes=[{}])",
            self.hole.range.start,
            self.hole.range.end,
            causes.join(", ")
        )
    }
}

/// The usable IOVA space of a container: the ranges the kernel maps into, the page sizes,
/// the aperture and the holes inside it (with the reserved regions that cause them), what
/// a virtual IOMMU must advertise as reserved, and the check of a span.
///
/// `IovaSpace(ranges, page_sizes=None)`: `ranges` are `IovaRange`s or `(start, end)`
/// tuples (inclusive ends, any order); `page_sizes` the bitmap (an int, as
/// `IommuInfo.iova_pgsizes`) or a list of sizes in bytes (as `IommuInfo.page_sizes`).
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "IovaSpace")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyIovaSpace {
    pub(crate) space: IovaSpace,
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
