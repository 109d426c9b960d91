//! IOVA planning from Python: the methods of `IovaSpace` (the usable space of a
//! container, its holes and the reserved regions that cause them, the check of a span,
//! and the `IovaAllocator` and guest `Layout` made on it), and `parse_reserved_regions`.
//! `IovaSpace` itself, `Hole` and `ReservedRegion` are declared in `types.rs`, so that
//! the allocator and the layout below this module can hold them.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString, PyTuple};
use vfio_iommu_info::json::{space_shape, space_to_json};
use vfio_iommu_info::sys::sysfs::parse_reserved_regions as parse_regions;
use vfio_iommu_info::{guest_layout, IovaRange, IovaSpace, PageSizes, RamRegion, ReservedRegion};

use crate::alloc::PyIovaAllocator;
use crate::info::PyIommuInfo;
use crate::layout::PyLayout;
use crate::types::{
    inverted, ranges, to_dict, PyHole, PyIovaRange, PyIovaSpace, PyReservedRegion, PySpanProblem,
};

/// Parses the text of an IOMMU group's sysfs `reserved_regions`
/// (`/sys/kernel/iommu_groups/N/reserved_regions`).
#[pyfunction]
pub(crate) fn parse_reserved_regions(text: &str) -> PyResult<Vec<PyReservedRegion>> {
    parse_regions(text)
        .map(|rs| {
            rs.into_iter()
                .map(|region| PyReservedRegion { region })
                .collect()
        })
        .map_err(|(line_no, line, problem)| {
            PyValueError::new_err(format!(
                "reserved_regions line {line_no} ({line:?}): {problem}"
            ))
        })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// The items of a tuple of exactly `n` items, else None.
fn tuple_of<'py>(obj: &Bound<'py, PyAny>, n: usize) -> Option<Bound<'py, PyTuple>> {
    obj.cast::<PyTuple>().ok().filter(|t| t.len() == n).cloned()
}

/// An `IovaRange` or a `(start, end)` tuple (inclusive end).
fn range_of(obj: &Bound<'_, PyAny>) -> PyResult<IovaRange> {
    if let Ok(r) = obj.cast::<PyIovaRange>() {
        return Ok((*r.get()).into());
    }
    let Some(t) = tuple_of(obj, 2) else {
        return Err(PyTypeError::new_err(format!(
            "expected an IovaRange or a (start, end) tuple, got {}",
            type_name(obj)
        )));
    };
    let (start, end): (u64, u64) = (t.get_item(0)?.extract()?, t.get_item(1)?.extract()?);
    IovaRange::new(start, end).ok_or_else(|| inverted("IovaRange", start, end))
}

/// A `ReservedRegion` or a `(start, end, type)` tuple.
fn region_of(obj: &Bound<'_, PyAny>) -> PyResult<ReservedRegion> {
    if let Ok(r) = obj.cast::<PyReservedRegion>() {
        return Ok(r.get().region.clone());
    }
    let Some(t) = tuple_of(obj, 3) else {
        return Err(PyTypeError::new_err(format!(
            "expected a ReservedRegion or a (start, end, type) tuple, got {}",
            type_name(obj)
        )));
    };
    let (start, end): (u64, u64) = (t.get_item(0)?.extract()?, t.get_item(1)?.extract()?);
    let kind: String = t.get_item(2)?.extract()?;
    Ok(PyReservedRegion::new(start, end, &kind)?.region)
}

fn regions_of(regions: &Bound<'_, PyAny>) -> PyResult<Vec<ReservedRegion>> {
    regions.try_iter()?.map(|r| region_of(&r?)).collect()
}

/// The page sizes as the bitmap (an int, as `IommuInfo.iova_pgsizes`) or a list of sizes
/// (as `IommuInfo.page_sizes`; empty: not reported).
fn page_sizes_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<PageSizes>> {
    if obj.is_instance_of::<PyInt>() {
        return Ok(Some(PageSizes(obj.extract()?)));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "page_sizes is the bitmap (an int) or a list of sizes in bytes, not a str",
        ));
    }
    let mut bits = 0u64;
    let mut any = false;
    for size in obj.try_iter()? {
        let size: u64 = size?.extract()?;
        if !size.is_power_of_two() {
            return Err(PyValueError::new_err(format!(
                "a page size is a power of two, not {size:#x}"
            )));
        }
        bits |= size;
        any = true;
    }
    Ok(any.then_some(PageSizes(bits)))
}

/// A guest RAM region: a size (placed where it fits) or a `(size, at)` tuple (`at` an
/// address, or None to let the layout choose).
fn ram_region_of(obj: &Bound<'_, PyAny>) -> PyResult<RamRegion> {
    if obj.is_instance_of::<PyInt>() {
        return Ok(RamRegion {
            size: obj.extract()?,
            at: None,
        });
    }
    let Some(t) = tuple_of(obj, 2) else {
        return Err(PyTypeError::new_err(format!(
            "expected a size (int) or a (size, at) tuple, got {}",
            type_name(obj)
        )));
    };
    Ok(RamRegion {
        size: t.get_item(0)?.extract()?,
        at: t.get_item(1)?.extract()?,
    })
}

#[pymethods]
impl PyIovaSpace {
    #[new]
    #[pyo3(signature = (ranges, page_sizes = None))]
    fn new(ranges: &Bound<'_, PyAny>, page_sizes: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let rs = ranges
            .try_iter()?
            .map(|r| range_of(&r?))
            .collect::<PyResult<Vec<_>>>()?;
        let pgsizes = page_sizes.map(page_sizes_of).transpose()?.flatten();
        Ok(PyIovaSpace {
            space: IovaSpace::new(&rs, pgsizes),
        })
    }

    /// The space an `IommuInfo` reports, its holes attributed to `reserved_regions`
    /// (`ReservedRegion`s or `(start, end, type)` tuples: the sysfs `reserved_regions` of
    /// the container's groups); None when the info has no IOVA ranges (see its `absent`).
    #[staticmethod]
    #[pyo3(signature = (info, reserved_regions = None))]
    fn from_info(
        info: &Bound<'_, PyIommuInfo>,
        reserved_regions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Self>> {
        let regions = reserved_regions.map(regions_of).transpose()?;
        Ok(
            IovaSpace::from_info(&info.get().info).map(|space| PyIovaSpace {
                space: match regions {
                    Some(rs) => space.with_reserved_regions(&rs),
                    None => space,
                },
            }),
        )
    }

    /// The same space with each hole attributed to the reserved regions among
    /// `reserved_regions` that cause it (replacing what it had).
    fn with_reserved_regions(&self, reserved_regions: &Bound<'_, PyAny>) -> PyResult<Self> {
        let regions = regions_of(reserved_regions)?;
        Ok(PyIovaSpace {
            space: self.space.clone().with_reserved_regions(&regions),
        })
    }

    /// The usable ranges, ascending.
    #[getter]
    fn ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.space.ranges().iter().copied())
    }

    /// The supported IOMMU page sizes in bytes, ascending (empty when not reported).
    #[getter]
    fn page_sizes(&self) -> Vec<u64> {
        self.space
            .page_sizes()
            .map(|p| p.sizes().collect())
            .unwrap_or_default()
    }

    /// The page-size bitmap, or None when not reported.
    #[getter]
    fn iova_pgsizes(&self) -> Option<u64> {
        self.space.page_sizes().map(PageSizes::bits)
    }

    /// The smallest page size: every mapping's address and size are multiples of it
    /// (4096 when the page sizes were not reported).
    #[getter]
    fn granule(&self) -> u64 {
        self.space.granule()
    }

    /// The lowest start to the highest end, or None without ranges.
    #[getter]
    fn aperture(&self) -> Option<PyIovaRange> {
        self.space.aperture().map(Into::into)
    }

    /// The holes inside the aperture, ascending, with their causes.
    #[getter]
    fn holes(&self) -> Vec<PyHole> {
        self.space.holes().iter().map(PyHole::from).collect()
    }

    /// What a virtual IOMMU must advertise as reserved so that a guest never maps where
    /// the host cannot: the complement of the ranges in the 64-bit space (below and above
    /// the aperture included), ascending.
    #[getter]
    fn reserved<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.space.reserved())
    }

    /// None when `[iova, iova + size)` can be mapped, else the first reason not (outside
    /// the aperture, in a hole, across ranges, misaligned). Exact to 2**64-1.
    fn check(&self, iova: u64, size: u64) -> Option<PySpanProblem> {
        self.space.check(iova, size).err().map(Into::into)
    }

    /// None when `[iova, iova + size)` can be mapped, else one line in the library's words
    /// saying why not and what to do: the hole and the reserved regions behind it, or the
    /// aperture and the IOMMU's address width (the text `vfio_iommu_info_space_explain()`
    /// gives in C). Exact to 2**64-1.
    fn explain(&self, iova: u64, size: u64) -> Option<String> {
        self.space.explain(iova, size).map(|r| r.to_string())
    }

    /// The hole containing `iova`, or None.
    fn hole_at(&self, iova: u64) -> Option<PyHole> {
        self.space.hole_at(iova).map(PyHole::from)
    }

    /// The usable range that holds `[iova, iova + size)` whole, or None.
    fn range_holding(&self, iova: u64, size: u64) -> Option<PyIovaRange> {
        self.space.range_holding(iova, size).map(Into::into)
    }

    /// A new `IovaAllocator` over this space, everything free.
    fn allocator(slf: &Bound<'_, Self>) -> PyResult<PyIovaAllocator> {
        PyIovaAllocator::new(slf)
    }

    /// Lays out guest RAM `regions` for an identity map (guest physical address == IOVA):
    /// each a size (placed where it fits, aligned for huge pages) or a `(size, at)` tuple
    /// (fixed at `at`, or placed when `at` is None). Fixed regions are checked against the
    /// space and each other; mappings are counted against `dma_avail`.
    #[pyo3(signature = (regions, dma_avail = None))]
    fn layout(&self, regions: &Bound<'_, PyAny>, dma_avail: Option<u32>) -> PyResult<PyLayout> {
        let regions = regions
            .try_iter()?
            .map(|r| ram_region_of(&r?))
            .collect::<PyResult<Vec<_>>>()?;
        let layout = guest_layout(&self.space, &regions, dma_avail)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyLayout::new(layout, &regions))
    }

    /// A whole guest's plan in this space (QEMU's q35 memory map): `ram` bytes of boot RAM,
    /// NUMA `nodes`, `dimms` as `(size, at)` pairs, the backing page, the BARs' sizes, how
    /// many devices, the vIOMMU (`none`, `intel`, `amd`, `virtio`, `smmuv3`), a phys-bits to
    /// check, the backend's name, DMA_AVAIL and the host CPU's physical bits.
    /// `ValueError` for a request that is no guest (no RAM, sizes not whole pages).
    #[pyo3(signature = (ram, *, nodes = Vec::new(), dimms = Vec::new(), backing_page = 4096, bars = Vec::new(), devices = 1, viommu = "none", phys_bits = None, backend = "type1", dma_avail = None, cpu_phys_bits = None))]
    #[allow(clippy::too_many_arguments)]
    fn plan_guest(
        &self,
        ram: u64,
        nodes: Vec<u64>,
        dimms: Vec<(u64, u64)>,
        backing_page: u64,
        bars: Vec<u64>,
        devices: u32,
        viommu: &str,
        phys_bits: Option<u8>,
        backend: &str,
        dma_avail: Option<u32>,
        cpu_phys_bits: Option<u8>,
    ) -> PyResult<crate::guest::PyGuestPlan> {
        crate::guest::GuestArgs {
            ram,
            nodes,
            dimms,
            backing_page,
            bars,
            devices,
            viommu,
            phys_bits,
            backend,
            dma_avail,
            cpu_phys_bits,
        }
        .plan(&self.space)
    }

    /// The object `vfio-iommu-info plan --json` prints under `space` (None for null):
    /// `ranges`, `iova_pgsizes` (the bitmap), `granule`, `aperture`, `holes` (with
    /// `causes`), `reserved`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &space_shape(&self.space))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        space_to_json(&self.space).to_string()
    }

    fn __repr__(&self) -> String {
        let span = |r: &IovaRange| format!("{:#x}-{:#x}", r.start, r.end);
        let rs: Vec<String> = self.space.ranges().iter().map(span).collect();
        let holes: Vec<String> = self
            .space
            .holes()
            .iter()
            .map(|h| {
                let causes: Vec<&str> = h.causes.iter().map(|c| c.kind.name()).collect();
                if causes.is_empty() {
                    span(&h.range)
                } else {
                    format!("{} ({})", span(&h.range), causes.join(", "))
                }
            })
            .collect();
        let pages = match self.space.page_sizes() {
            Some(p) => format!("{:#x} ({p:#})", p.0),
            None => "None".to_owned(),
        };
        format!(
            "IovaSpace(ranges=[{}], iova_pgsizes={pages}, holes=[{}])",
            rs.join(", "),
            holes.join(", ")
        )
    }
}
