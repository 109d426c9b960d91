//! `IommuInfo` (a decoded `VFIO_IOMMU_GET_INFO`) and the small types only it hands out
//! (`Migration`, `Absence`), as immutable Python objects; `decode`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use vfio_iommu_info::json::{info_shape, info_to_json};
use vfio_iommu_info::{check_span, IommuInfo, IovaSpace, PageSizes, Reported, Type1Cap};

use crate::errors;
use crate::types::{
    data_of, parse_byte_order, ranges, to_dict, PyCapability, PyIovaRange, PyIovaSpace,
    PySpanProblem, PyUnknownCap,
};

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
            .map(|c| PyCapability::new(c, Type1Cap::from_id(c.id).map(Type1Cap::name)))
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
        IovaSpace::from_info(&self.info).map(|space| PyIovaSpace { space })
    }

    /// The object `vfio-iommu-info decode --json` prints (None for null).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &info_shape(&self.info))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        info_to_json(&self.info).to_string()
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
