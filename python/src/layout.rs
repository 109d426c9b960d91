//! `Layout` and `Placement` from Python: a guest layout for an identity map, immutable.

use pyo3::prelude::*;
use vfio_iommu_info::json::{layout_shape, layout_to_json};
use vfio_iommu_info::{Layout, Placement, RamRegion};

use crate::types::{to_dict, PyHole, PyIovaRange, PySpanProblem};

/// Where a guest RAM region went, or why it could not: `result` is `"placed"`,
/// `"conflict"` (a fixed region the kernel would not map there, that overlaps another
/// fixed region, or that reaches the last page of the 64-bit space) or `"no_room"`.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "Placement")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyPlacement {
    result: &'static str,
    range: Option<PyIovaRange>,
    size: u64,
    align: Option<u64>,
    problem: Option<PySpanProblem>,
    overlaps: Option<usize>,
    hole: Option<PyHole>,
}

impl PyPlacement {
    fn new(p: &Placement, region: &RamRegion) -> PyPlacement {
        let none = PyPlacement {
            result: "no_room",
            range: None,
            size: region.size,
            align: None,
            problem: None,
            overlaps: None,
            hole: None,
        };
        match p {
            Placement::Placed { range, align } => PyPlacement {
                result: "placed",
                range: Some((*range).into()),
                align: Some(*align),
                ..none
            },
            Placement::Conflict {
                range,
                reason,
                hole,
            } => PyPlacement {
                result: "conflict",
                range: Some((*range).into()),
                problem: Some(reason.into()),
                overlaps: reason.region(),
                hole: hole.as_ref().map(Into::into),
                ..none
            },
            Placement::NoRoom { align, .. } => PyPlacement {
                align: Some(*align),
                ..none
            },
        }
    }
}

#[pymethods]
impl PyPlacement {
    /// `"placed"`, `"conflict"` or `"no_room"`.
    #[getter]
    fn result(&self) -> &'static str {
        self.result
    }

    /// The addresses (placed), or those asked for (conflict: the end stops at 2**64-1);
    /// None for no_room.
    #[getter]
    fn range(&self) -> Option<PyIovaRange> {
        self.range
    }

    /// The region's size in bytes, as asked.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// The alignment the layout chose for a region it placed (0 for a fixed one), or the
    /// one a no_room region needed; None for a conflict.
    #[getter]
    fn align(&self) -> Option<u64> {
        self.align
    }

    /// Why a fixed region cannot go there (beyond the aperture, in a hole, misaligned,
    /// `overlaps_region`, `top_page`...); None unless a conflict.
    #[getter]
    fn problem(&self) -> Option<PySpanProblem> {
        self.problem.clone()
    }

    /// The index of the fixed region an `overlaps_region` conflict overlaps; else None.
    #[getter]
    fn overlaps(&self) -> Option<usize> {
        self.overlaps
    }

    /// The hole a conflicting region falls in, with the reserved regions that cause it;
    /// else None.
    #[getter]
    fn hole(&self) -> Option<PyHole> {
        self.hole.clone()
    }

    fn __repr__(&self) -> String {
        let range = |r: &PyIovaRange| format!("IovaRange(start={:#x}, end={:#x})", r.start, r.end);
        match (self.result, &self.range) {
            ("placed", Some(r)) => format!(
                "Placement(result=\"placed\", range={}, align={:#x})",
                range(r),
                self.align.unwrap_or(0)
            ),
            ("conflict", Some(r)) => format!(
                "Placement(result=\"conflict\", range={}, problem={})",
                range(r),
                self.problem
                    .as_ref()
                    .map_or("None".to_owned(), |p| format!("{:?}", p.code()))
            ),
            _ => format!("Placement(result=\"no_room\", size={:#x})", self.size),
        }
    }
}

/// A guest layout for an identity map (`IovaSpace.layout()`): one `Placement` per region
/// in the order given, and the number of mappings it needs, against DMA_AVAIL.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "Layout")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyLayout {
    layout: Layout,
    placements: Vec<PyPlacement>,
}

impl PyLayout {
    pub(crate) fn new(layout: Layout, regions: &[RamRegion]) -> PyLayout {
        let placements = layout
            .placements
            .iter()
            .zip(regions)
            .map(|(p, r)| PyPlacement::new(p, r))
            .collect();
        PyLayout { layout, placements }
    }
}

#[pymethods]
impl PyLayout {
    /// One per region, in the order given.
    #[getter]
    fn placements(&self) -> Vec<PyPlacement> {
        self.placements.clone()
    }

    /// Mappings needed with one `MAP_DMA` per placed region (how QEMU maps RAM).
    #[getter]
    fn per_region(&self) -> u64 {
        self.layout.per_region
    }

    /// Mappings needed when mapping page by page, as `(page_size, entries)` for each IOMMU
    /// page size up to 1 GiB, ascending (how DPDK and SPDK map hugepages).
    #[getter]
    fn per_page(&self) -> Vec<(u64, u64)> {
        self.layout
            .per_page
            .iter()
            .map(|c| (c.page_size, c.entries))
            .collect()
    }

    /// How many more mappings the container accepts, as given (None: unknown).
    #[getter]
    fn dma_avail(&self) -> Option<u32> {
        self.layout.dma_avail
    }

    /// Whether every region was placed.
    #[getter]
    fn all_placed(&self) -> bool {
        self.layout.all_placed()
    }

    /// Whether one mapping per placed region fits `dma_avail` (None when unknown).
    #[getter]
    fn fits(&self) -> Option<bool> {
        self.layout.fits()
    }

    /// The smallest page size whose mapping count fits `dma_avail`, or None (none fits,
    /// or `dma_avail` is unknown).
    #[getter]
    fn smallest_fitting_page(&self) -> Option<u64> {
        self.layout.smallest_fitting_page()
    }

    /// The object `vfio-iommu-info plan --json` prints under `layout` (None for null).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &layout_shape(&self.layout))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        layout_to_json(&self.layout).to_string()
    }

    fn __repr__(&self) -> String {
        let count = |r: &str| self.placements.iter().filter(|p| p.result == r).count();
        format!(
            "Layout(placed={}, conflict={}, no_room={}, per_region={}, dma_avail={})",
            count("placed"),
            count("conflict"),
            count("no_room"),
            self.layout.per_region,
            self.layout
                .dma_avail
                .map_or("None".to_owned(), |n| n.to_string())
        )
    }
}
