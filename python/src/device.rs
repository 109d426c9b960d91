//! Device info (`VFIO_DEVICE_GET_INFO`: the s390 zPCI DMA window and the other device
//! capabilities) and region info (`VFIO_DEVICE_GET_REGION_INFO`: where a region may be
//! mmapped, what a device-specific region is), decoded from the kernel's buffers into
//! immutable Python objects.

use pyo3::prelude::*;
use vfio_iommu_info::decode::device_info::{self, DeviceCap};
use vfio_iommu_info::decode::region_info::{self, MmapArea, RegionCap};
use vfio_iommu_info::json::{
    device_info_shape, device_info_to_json, region_info_shape, region_info_to_json,
};
use vfio_iommu_info::query;

use crate::errors;
use crate::fdguard::on_callers_fd;
use crate::types::{data_of, parse_byte_order, to_dict, PyCapability, PyIovaRange, PyUnknownCap};

/// `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`: where an s390 PCI function may DMA, and who it is.
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "ZpciBase")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyZpciBase {
    version: u16,
    start_dma: u64,
    end_dma: u64,
    pchid: u16,
    vfn: u16,
    fmb_length: u16,
    pft: u8,
    gid: u8,
    fh: Option<u32>,
}

#[pymethods]
impl PyZpciBase {
    /// The DMA window `[start_dma, end_dma]`, or None when the kernel reports it inverted.
    #[getter]
    fn dma_window(&self) -> Option<PyIovaRange> {
        vfio_iommu_info::IovaRange::new(self.start_dma, self.end_dma).map(Into::into)
    }

    fn __repr__(&self) -> String {
        format!(
            "ZpciBase(version={}, start_dma={:#x}, end_dma={:#x}, pchid={:#x}, vfn={}, fmb_length={}, pft={}, gid={}, fh={})",
            self.version,
            self.start_dma,
            self.end_dma,
            self.pchid,
            self.vfn,
            self.fmb_length,
            self.pft,
            self.gid,
            self.fh.map_or("None".to_owned(), |f| format!("{f:#x}"))
        )
    }
}

impl From<&device_info::ZpciBase> for PyZpciBase {
    fn from(b: &device_info::ZpciBase) -> Self {
        PyZpciBase {
            version: b.version,
            start_dma: b.start_dma,
            end_dma: b.end_dma,
            pchid: b.pchid,
            vfn: b.vfn,
            fmb_length: b.fmb_length,
            pft: b.pft,
            gid: b.gid,
            fh: b.fh,
        }
    }
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`: what an s390 PCI function's group supports.
#[pyclass(frozen, eq, get_all, module = "vfio_iommu_info", name = "ZpciGroup")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyZpciGroup {
    version: u16,
    dasm: u64,
    msi_addr: u64,
    flags: u64,
    mui: u16,
    noi: u16,
    maxstbl: u16,
    /// The zPCI architecture version (`version` in the kernel's struct).
    zpci_version: u8,
    imaxstbl: Option<u16>,
}

#[pymethods]
impl PyZpciGroup {
    fn __repr__(&self) -> String {
        format!(
            "ZpciGroup(version={}, dasm={:#x}, msi_addr={:#x}, flags={:#x}, noi={}, maxstbl={:#x}, zpci_version={})",
            self.version, self.dasm, self.msi_addr, self.flags, self.noi, self.maxstbl, self.zpci_version
        )
    }
}

/// What `VFIO_DEVICE_GET_INFO` said about a device.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "DeviceInfo")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyDeviceInfo {
    info: device_info::DeviceInfo,
}

impl PyDeviceInfo {
    fn cap(&self, name: &str) -> Option<&DeviceCap> {
        self.info.caps.iter().find(|c| c.name() == name)
    }
}

#[pymethods]
impl PyDeviceInfo {
    /// The object `vfio-iommu-info decode --kind device --json` prints.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &device_info_shape(&self.info))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        device_info_to_json(&self.info).to_string()
    }

    /// `argsz` as found (the size the kernel needs when `caps_truncated`).
    #[getter]
    fn argsz(&self) -> u32 {
        self.info.argsz
    }

    /// `VFIO_DEVICE_FLAGS_*` (RESET 1, PCI 2, CAPS 0x80...).
    #[getter]
    fn flags(&self) -> u32 {
        self.info.flags
    }

    /// How many regions the device has.
    #[getter]
    fn num_regions(&self) -> u32 {
        self.info.num_regions
    }

    /// How many interrupt types the device has.
    #[getter]
    fn num_irqs(&self) -> u32 {
        self.info.num_irqs
    }

    /// `cap_offset`, when the CAPS flag is set and the buffer holds it.
    #[getter]
    fn cap_offset(&self) -> Option<u32> {
        self.info.cap_offset
    }

    /// The kernel had capabilities that did not fit the buffer (query again with `argsz`).
    #[getter]
    fn caps_truncated(&self) -> bool {
        self.info.caps_truncated
    }

    /// The s390 function's DMA window (ZPCI_BASE's `[start_dma, end_dma]`), or None.
    #[getter]
    fn dma_window(&self) -> Option<PyIovaRange> {
        self.info.dma_window().map(Into::into)
    }

    /// The ZPCI_BASE capability (s390, Linux 5.10+), or None.
    #[getter]
    fn zpci_base(&self) -> Option<PyZpciBase> {
        self.info.zpci_base().map(Into::into)
    }

    /// The ZPCI_GROUP capability, or None.
    #[getter]
    fn zpci_group(&self) -> Option<PyZpciGroup> {
        match self.cap("ZPCI_GROUP")? {
            DeviceCap::ZpciGroup(g) => Some(PyZpciGroup {
                version: g.version,
                dasm: g.dasm,
                msi_addr: g.msi_addr,
                flags: g.flags,
                mui: g.mui,
                noi: g.noi,
                maxstbl: g.maxstbl,
                zpci_version: g.zpci_version,
                imaxstbl: g.imaxstbl,
            }),
            _ => None,
        }
    }

    /// The ZPCI_UTIL capability's utility string (EBCDIC bytes, as the kernel gives it),
    /// or None.
    #[getter]
    fn zpci_util(&self) -> Option<&[u8]> {
        match self.cap("ZPCI_UTIL")? {
            DeviceCap::ZpciUtil { util_str, .. } => Some(util_str),
            _ => None,
        }
    }

    /// The ZPCI_PFIP capability's PCI function path bytes, or None.
    #[getter]
    fn zpci_pfip(&self) -> Option<&[u8]> {
        match self.cap("ZPCI_PFIP")? {
            DeviceCap::ZpciPfip { pfip, .. } => Some(pfip),
            _ => None,
        }
    }

    /// The PCI_ATOMIC_COMP capability's flags (1: 32-bit, 2: 64-bit, 4: 128-bit
    /// AtomicOp completers), or None.
    #[getter]
    fn atomic_comp(&self) -> Option<u32> {
        match self.cap("PCI_ATOMIC_COMP")? {
            DeviceCap::PciAtomicComp { flags, .. } => Some(*flags),
            _ => None,
        }
    }

    /// Capabilities with ids this library does not know, in chain order.
    #[getter]
    fn unknown_caps(&self) -> Vec<PyUnknownCap> {
        self.info
            .caps
            .iter()
            .filter_map(|c| match c {
                DeviceCap::Unknown(u) => Some(u.into()),
                _ => None,
            })
            .collect()
    }

    /// Every capability in chain order.
    #[getter]
    fn chain(&self) -> Vec<PyCapability> {
        self.info
            .chain
            .iter()
            .zip(&self.info.caps)
            .map(|(at, c)| PyCapability::new(at, Some(c.name()).filter(|n| *n != "unknown")))
            .collect()
    }

    fn __repr__(&self) -> String {
        let i = &self.info;
        let names: Vec<&str> = i.caps.iter().map(DeviceCap::name).collect();
        format!(
            "DeviceInfo(flags={:#x}, num_regions={}, num_irqs={}, dma_window={}, caps=[{}]{})",
            i.flags,
            i.num_regions,
            i.num_irqs,
            i.dma_window().map_or("None".to_owned(), |w| format!(
                "{:#x}-{:#x}",
                w.start, w.end
            )),
            names.join(", "),
            if i.caps_truncated {
                ", caps_truncated"
            } else {
                ""
            }
        )
    }
}

/// An area of a region that may be mmapped: `size` bytes from `offset`, relative to the
/// region's start.
#[pyclass(
    frozen,
    eq,
    hash,
    get_all,
    module = "vfio_iommu_info",
    name = "MmapArea"
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyMmapArea {
    offset: u64,
    size: u64,
}

impl From<&MmapArea> for PyMmapArea {
    fn from(a: &MmapArea) -> Self {
        PyMmapArea {
            offset: a.offset,
            size: a.size,
        }
    }
}

#[pymethods]
impl PyMmapArea {
    /// The first byte past the area, or None when `offset + size` passes 2**64.
    #[getter]
    fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size)
    }

    /// Whether the area lies inside a region of `region_size` bytes.
    fn lies_within(&self, region_size: u64) -> bool {
        self.end().is_some_and(|end| end <= region_size)
    }

    fn __repr__(&self) -> String {
        format!("MmapArea(offset={:#x}, size={:#x})", self.offset, self.size)
    }
}

/// `VFIO_REGION_INFO_CAP_TYPE`: what a device-specific region is; unknown numbers kept.
#[pyclass(frozen, eq, hash, module = "vfio_iommu_info", name = "RegionType")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyRegionType {
    t: region_info::RegionType,
}

#[pymethods]
impl PyRegionType {
    /// The capability's version.
    #[getter]
    fn version(&self) -> u16 {
        self.t.version
    }

    /// `type`: a `VFIO_REGION_TYPE_*`, or `PCI_VENDOR_TYPE (1 << 31) | vendor`.
    #[getter]
    fn r#type(&self) -> u32 {
        self.t.region_type
    }

    /// `subtype`, in the namespace of the type (or of the vendor).
    #[getter]
    fn subtype(&self) -> u32 {
        self.t.subtype
    }

    /// The PCI vendor id of a PCI vendor type, else None.
    #[getter]
    fn pci_vendor(&self) -> Option<u16> {
        self.t.pci_vendor()
    }

    /// The subtype's `<linux/vfio.h>` name (`INTEL_IGD_OPREGION`, `GFX_EDID`...), or None.
    #[getter]
    fn name(&self) -> Option<&'static str> {
        self.t.name()
    }

    /// The type's name (`PCI_VENDOR`, `GFX`, `CCW`, `MIGRATION_DEPRECATED`), or None.
    #[getter]
    fn type_name(&self) -> Option<&'static str> {
        self.t.type_name()
    }

    fn __repr__(&self) -> String {
        format!(
            "RegionType(type={:#x}, subtype={}, name={})",
            self.t.region_type,
            self.t.subtype,
            self.t
                .name()
                .map_or("None".to_owned(), |n| format!("{n:?}"))
        )
    }

    fn __str__(&self) -> String {
        self.t.to_string()
    }
}

/// What `VFIO_DEVICE_GET_REGION_INFO` said about one region of a device.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "RegionInfo")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyRegionInfo {
    info: region_info::RegionInfo,
}

fn areas(list: &[MmapArea]) -> Vec<PyMmapArea> {
    list.iter().map(Into::into).collect()
}

#[pymethods]
impl PyRegionInfo {
    /// The object `vfio-iommu-info decode --kind region --json` prints.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &region_info_shape(&self.info))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        region_info_to_json(&self.info).to_string()
    }

    /// `argsz` as found (the size the kernel needs when `caps_truncated`).
    #[getter]
    fn argsz(&self) -> u32 {
        self.info.argsz
    }

    /// `VFIO_REGION_INFO_FLAG_*` (READ 1, WRITE 2, MMAP 4, CAPS 8).
    #[getter]
    fn flags(&self) -> u32 {
        self.info.flags
    }

    /// The region index.
    #[getter]
    fn index(&self) -> u32 {
        self.info.index
    }

    /// `cap_offset`, when the CAPS flag is set.
    #[getter]
    fn cap_offset(&self) -> Option<u32> {
        self.info.cap_offset
    }

    /// The kernel had capabilities that did not fit the buffer (query again with `argsz`).
    #[getter]
    fn caps_truncated(&self) -> bool {
        self.info.caps_truncated
    }

    /// The region's size in bytes (0 for an unimplemented region).
    #[getter]
    fn size(&self) -> u64 {
        self.info.size
    }

    /// Where the region is in the device fd.
    #[getter]
    fn offset(&self) -> u64 {
        self.info.offset
    }

    /// The READ flag.
    #[getter]
    fn readable(&self) -> bool {
        self.info.readable()
    }

    /// The WRITE flag.
    #[getter]
    fn writable(&self) -> bool {
        self.info.writable()
    }

    /// The MMAP flag.
    #[getter]
    fn mmappable(&self) -> bool {
        self.info.mmappable()
    }

    /// The SPARSE_MMAP capability's areas, or None without it.
    #[getter]
    fn sparse_mmap(&self) -> Option<Vec<PyMmapArea>> {
        self.info.sparse_mmap().map(areas)
    }

    /// The TYPE capability of a device-specific region, or None.
    #[getter]
    fn region_type(&self) -> Option<PyRegionType> {
        self.info.region_type().map(|t| PyRegionType { t: *t })
    }

    /// Whether the MSIX_MAPPABLE capability is there: the MSI-X table in this BAR may be
    /// mmapped with the rest of it.
    #[getter]
    fn msix_mappable(&self) -> bool {
        self.info.msix_mappable()
    }

    /// NVLINK2_SSATGT's `tgt` (POWER9, before Linux 5.13), or None.
    #[getter]
    fn nvlink2_ssatgt(&self) -> Option<u64> {
        self.info.caps.iter().find_map(|c| match c {
            RegionCap::Nvlink2Ssatgt { tgt, .. } => Some(*tgt),
            _ => None,
        })
    }

    /// NVLINK2_LNKSPD's `link_speed` (POWER9, before Linux 5.13), or None.
    #[getter]
    fn nvlink2_lnkspd(&self) -> Option<u32> {
        self.info.caps.iter().find_map(|c| match c {
            RegionCap::Nvlink2Lnkspd { link_speed, .. } => Some(*link_speed),
            _ => None,
        })
    }

    /// Where the region may be mmapped: nothing without MMAP; the SPARSE_MMAP areas when
    /// there are some; else the whole region.
    #[getter]
    fn mmap_areas(&self) -> Vec<PyMmapArea> {
        areas(&self.info.mmap_areas())
    }

    /// The SPARSE_MMAP areas that run past the region's end (no kernel reports one).
    #[getter]
    fn areas_outside(&self) -> Vec<PyMmapArea> {
        areas(&self.info.areas_outside())
    }

    /// Capabilities with ids this library does not know, in chain order.
    #[getter]
    fn unknown_caps(&self) -> Vec<PyUnknownCap> {
        self.info
            .caps
            .iter()
            .filter_map(|c| match c {
                RegionCap::Unknown(u) => Some(u.into()),
                _ => None,
            })
            .collect()
    }

    /// Every capability in chain order.
    #[getter]
    fn chain(&self) -> Vec<PyCapability> {
        self.info
            .chain
            .iter()
            .zip(&self.info.caps)
            .map(|(at, c)| PyCapability::new(at, Some(c.name()).filter(|n| *n != "unknown")))
            .collect()
    }

    fn __repr__(&self) -> String {
        let i = &self.info;
        let names: Vec<&str> = i.caps.iter().map(RegionCap::name).collect();
        format!(
            "RegionInfo(index={}, flags={:#x}, size={:#x}, offset={:#x}, caps=[{}]{})",
            i.index,
            i.flags,
            i.size,
            i.offset,
            names.join(", "),
            if i.caps_truncated {
                ", caps_truncated"
            } else {
                ""
            }
        )
    }
}

/// Decodes a `VFIO_DEVICE_GET_INFO` buffer as a kernel filled it.
#[pyfunction]
#[pyo3(signature = (data, byte_order = "native"))]
pub(crate) fn decode_device_info(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    byte_order: &str,
) -> PyResult<PyDeviceInfo> {
    let order = parse_byte_order(byte_order)?;
    let data = data_of(data)?;
    device_info::decode_device_info(data.as_slice(), order)
        .map(|info| PyDeviceInfo { info })
        .map_err(|e| errors::malformed(py, &e, None, e.to_string()))
}

/// Decodes a `VFIO_DEVICE_GET_REGION_INFO` buffer as a kernel filled it.
#[pyfunction]
#[pyo3(signature = (data, byte_order = "native"))]
pub(crate) fn decode_region_info(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    byte_order: &str,
) -> PyResult<PyRegionInfo> {
    let order = parse_byte_order(byte_order)?;
    let data = data_of(data)?;
    region_info::decode_region_info(data.as_slice(), order)
        .map(|info| PyRegionInfo { info })
        .map_err(|e| errors::malformed(py, &e, None, e.to_string()))
}

/// `VFIO_DEVICE_GET_INFO` on a device fd the caller owns (from `VFIO_GROUP_GET_DEVICE_FD`
/// or an opened device cdev), decoded. The fd is checked to be a VFIO device fd first.
#[pyfunction]
#[pyo3(name = "device_info")]
pub(crate) fn device_info_of_fd(
    py: Python<'_>,
    device_fd: &Bound<'_, PyAny>,
) -> PyResult<PyDeviceInfo> {
    on_callers_fd(py, device_fd, query::device::device_info).map(|info| PyDeviceInfo { info })
}

/// `VFIO_DEVICE_GET_REGION_INFO` of region `index` on a device fd the caller owns,
/// decoded. The fd is checked to be a VFIO device fd first; an index the device does not
/// have raises OSError (EINVAL) naming it.
#[pyfunction]
#[pyo3(name = "region_info")]
pub(crate) fn region_info_of_fd(
    py: Python<'_>,
    device_fd: &Bound<'_, PyAny>,
    index: u32,
) -> PyResult<PyRegionInfo> {
    on_callers_fd(py, device_fd, |fd| query::device::region_info(fd, index))
        .map(|info| PyRegionInfo { info })
}
