//! iommufd from Python: `open_iommufd` (one PCI device on `/dev/iommu` and its VFIO cdev,
//! bound and attached to a fresh IOAS: the core's `IommufdReport` on it), the IOMMU
//! hardware behind a device (`HwInfo`), and the queries on a caller's own iommufd
//! (`ioas_ranges`, `hw_info`). The ioctls run detached from the interpreter.

use std::os::fd::{AsFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use vfio_iommu_info::decode::hw_info::{HwData, HwInfo};
use vfio_iommu_info::decode::ioas::IoasRanges;
use vfio_iommu_info::iova::aperture;
use vfio_iommu_info::json::{
    hw_info_shape, hw_info_to_json, iommufd_report_shape, iommufd_report_to_json,
};
use vfio_iommu_info::query::cdev::IommufdDevice;
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::{query, HostPaths, PciAddress};

use crate::errors;
use crate::facts::PyFacts;
use crate::fdguard::{self, on_callers_fd, ExposedFd, Stray};
use crate::types::{ranges, to_dict, PyIovaRange};

/// What `IOMMU_GET_HW_INFO` said about the IOMMU behind a device, decoded, with the raw
/// registers.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "HwInfo")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyHwInfo {
    hw: HwInfo,
}

impl PyHwInfo {
    fn decoded(&self) -> Option<HwData> {
        self.hw.decode().ok()
    }
}

#[pymethods]
impl PyHwInfo {
    /// The data type's name: `"none"`, `"intel-vtd"`, `"arm-smmuv3"`, `"tegra241-cmdqv"`,
    /// `"amd"` or `"unknown"`.
    #[getter]
    fn type_name(&self) -> &'static str {
        self.hw.type_name()
    }

    /// `out_data_type` (`IOMMU_HW_INFO_TYPE_*`; 0: the driver reports no data).
    #[getter]
    fn data_type(&self) -> u32 {
        self.hw.data_type
    }

    /// The length of the kernel's data.
    #[getter]
    fn data_len(&self) -> u32 {
        self.hw.data_len
    }

    /// The data bytes received.
    #[getter]
    fn data(&self) -> &[u8] {
        &self.hw.data
    }

    /// Whether the kernel had more data than was received.
    #[getter]
    fn truncated(&self) -> bool {
        self.hw.truncated()
    }

    /// `out_capabilities` (`IOMMU_HW_CAP_*`), or None when the kernel predates them (6.6).
    #[getter]
    fn capabilities(&self) -> Option<u64> {
        self.hw.capabilities
    }

    /// `out_max_pasid_log2` (6.12+; 0 without PASID).
    #[getter]
    fn max_pasid_log2(&self) -> u8 {
        self.hw.max_pasid_log2
    }

    /// `PAGE_SIZE` of the kernel that answered, in bytes (the SMMUv3 domain's granule
    /// follows it: see `page_sizes`).
    #[getter]
    fn kernel_page_size(&self) -> u64 {
        self.hw.kernel_page_size
    }

    /// The widest IOVA the hardware translates, in bits, from the registers; None when
    /// they do not say (no registers, as AMD's driver before 6.17 and virtio-iommu).
    #[getter]
    fn address_width(&self) -> Option<u8> {
        self.decoded()?.address_width()
    }

    /// The page sizes of the kernel's paging domain, as a bitmap: VT-d's second-stage
    /// sizes; on SMMUv3 the one granule the kernel picks for its page size (4K|2M|1G on
    /// a 4 KiB kernel, not every granule IDR5 allows); None when the registers do not say.
    #[getter]
    fn page_sizes(&self) -> Option<u64> {
        self.hw.page_sizes().map(|p| p.bits())
    }

    /// The kernel's answer: whether the IOMMU can track dirty pages for this device
    /// (IOMMU_HW_CAP_DIRTY_TRACKING); None before Linux 6.7.
    #[getter]
    fn dirty_tracking(&self) -> Option<bool> {
        self.hw.dirty_tracking()
    }

    /// What the registers say the hardware can do for dirty tracking; None without
    /// registers.
    #[getter]
    fn dirty_tracking_hardware(&self) -> Option<bool> {
        match self.decoded()? {
            HwData::IntelVtd(v) => Some(v.dirty_tracking_hardware()),
            HwData::ArmSmmuV3(s) => Some(s.dirty_tracking_hardware()),
            HwData::Amd(a) => Some(a.dirty_tracking_hardware()),
            _ => None,
        }
    }

    /// The raw registers: `{"cap", "ecap", "flags"}` (VT-d), `{"idr": [6], "iidr",
    /// "aidr", "flags"}` (SMMUv3), `{"efr", "efr2"}` (AMD); None for a type without
    /// registers or data too short for its structure.
    #[getter]
    fn registers<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let d = PyDict::new(py);
        match self.decoded() {
            Some(HwData::IntelVtd(v)) => {
                d.set_item("cap", v.cap)?;
                d.set_item("ecap", v.ecap)?;
                d.set_item("flags", v.flags)?;
            }
            Some(HwData::ArmSmmuV3(s)) => {
                d.set_item("idr", PyList::new(py, s.idr)?)?;
                d.set_item("iidr", s.iidr)?;
                d.set_item("aidr", s.aidr)?;
                d.set_item("flags", s.flags)?;
            }
            Some(HwData::Amd(a)) => {
                d.set_item("efr", a.efr)?;
                d.set_item("efr2", a.efr2)?;
            }
            _ => return Ok(None),
        }
        Ok(Some(d))
    }

    /// Why the data could not be decoded (truncated, or shorter than its structure), or
    /// None.
    #[getter]
    fn decode_error(&self) -> Option<String> {
        self.hw.decode().err().map(|e| e.to_string())
    }

    /// The object `vfio-iommu-info query --backend iommufd --json` prints under `hw_info`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &hw_info_shape(&self.hw))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        hw_info_to_json(&self.hw).to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "HwInfo(type_name='{}', data_len={}, capabilities={}, address_width={}, page_sizes={})",
            self.hw.type_name(),
            self.hw.data_len,
            self.hw
                .capabilities
                .map_or("None".to_owned(), |c| format!("{c:#x}")),
            self.address_width()
                .map_or("None".to_owned(), |w| w.to_string()),
            self.page_sizes()
                .map_or("None".to_owned(), |p| format!("{p:#x}"))
        )
    }
}

/// An open device and the number `fileno()` handed out.
struct Open {
    /// The device cdev and the iommufd, through private fds (never handed out).
    dev: IommufdDevice,
    /// The duplicate of the iommufd that `fileno()` returns, owned by the object too.
    exposed: ExposedFd,
}

impl Open {
    /// Closes the device and the iommufd, and the number `fileno()` handed out if it is
    /// still the iommufd's; else says what became of that number.
    fn close(mut self) -> Option<Stray> {
        let stray = self.exposed.release(self.dev.iommufd().as_fd());
        drop(self.dev);
        stray
    }
}

/// One PCI device on the iommufd path; what was read at open (the core's report) stays
/// readable after `close()`.
#[pyclass(frozen, module = "vfio_iommu_info", name = "IommufdDevice")]
pub struct PyIommufdDevice {
    /// `None` once closed.
    inner: Mutex<Option<Open>>,
    report: IommufdReport,
}

impl PyIommufdDevice {
    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        // A panic while holding the lock cannot leave the device half-changed: the only
        // change is a single `take`.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyIommufdDevice {
    /// The PCI address, in full form (`0000:00:03.0`).
    #[getter]
    fn pci_address(&self) -> String {
        self.report.address.to_string()
    }

    /// The device's VFIO cdev (`/dev/vfio/devices/vfioN`).
    #[getter]
    fn cdev(&self) -> String {
        self.report.cdev.display().to_string()
    }

    /// The device id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    #[getter]
    fn dev_id(&self) -> u32 {
        self.report.dev_id
    }

    /// The IOAS the device is attached to.
    #[getter]
    fn ioas(&self) -> u32 {
        self.report.ioas
    }

    /// The HWPT (hardware page table) the attach created or reused.
    #[getter]
    fn hwpt(&self) -> u32 {
        self.report.hwpt
    }

    /// The IOAS's usable IOVA ranges, as read at open.
    #[getter]
    fn iova_ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.report.ranges.ranges.iter().copied())
    }

    /// `out_iova_alignment`: every mapping's IOVA and length must be a multiple of it.
    #[getter]
    fn iova_alignment(&self) -> u64 {
        self.report.ranges.alignment
    }

    /// From the lowest start to the highest end of the IOVA ranges; None without ranges.
    #[getter]
    fn aperture(&self) -> Option<PyIovaRange> {
        aperture(&self.report.ranges.ranges).map(Into::into)
    }

    /// The IOMMU hardware behind the device (read at open); raises what
    /// `IOMMU_GET_HW_INFO` failed with (an OSError with ENOTTY: a kernel before 6.6).
    #[getter]
    fn hw_info(&self, py: Python<'_>) -> PyResult<PyHwInfo> {
        match &self.report.hw_info {
            Ok(hw) => Ok(PyHwInfo { hw: hw.clone() }),
            Err(e) => Err(errors::to_py(py, e)),
        }
    }

    /// What the iommufd path says about mapping DMA for the device, each fact with its
    /// source.
    #[getter]
    fn facts(&self) -> PyFacts {
        PyFacts::new(self.report.facts.clone())
    }

    /// A fd of the iommufd (`/dev/iommu`), for the caller's own ioctls (`IOMMU_IOAS_MAP`
    /// into `ioas`). It stays owned by this object, which closes it in `close()`: do not
    /// `os.close()` it (`os.dup()` it for a fd of your own). It is a duplicate of the
    /// private fd the library works through, made on the first call; should it be closed
    /// behind the object's back, the object notices (a `RuntimeWarning` naming the fd),
    /// never closes that number again (another file may have it now) and hands out a
    /// fresh duplicate.
    fn fileno(&self, py: Python<'_>) -> PyResult<RawFd> {
        let got = py.detach(|| {
            self.lock()
                .as_mut()
                .map(|o| o.exposed.get(o.dev.iommufd().as_fd()))
        });
        let Some((fd, stray)) = got else {
            return Err(PyValueError::new_err(
                "I/O operation on a closed iommufd device",
            ));
        };
        if let Some(stray) = stray {
            fdguard::warn(py, "IommufdDevice", &stray)?;
        }
        fd.map_err(|e| {
            PyErr::from(std::io::Error::new(
                e.kind(),
                format!("IommufdDevice.fileno(): cannot duplicate the iommufd: {e}"),
            ))
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().is_none())
    }

    /// Closes the device (detaching and unbinding it) and then the iommufd (freeing the
    /// IOAS and its mappings), with the fd `fileno()` returned unless it was closed
    /// behind the object's back (then warns, and leaves that number alone). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match py.detach(|| self.lock().take().and_then(Open::close)) {
            Some(stray) => fdguard::warn(py, "IommufdDevice", &stray),
            None => Ok(()),
        }
    }

    /// The object `vfio-iommu-info query --backend iommufd --json` prints after `backend`
    /// and `backend_reason`: `device`, `group`, `cdev`, `dev_id`, `ioas`, `hwpt`,
    /// `iova_ranges`, `iova_alignment`, `aperture`, `holes`, `hw_info` (or `{"error":
    /// ...}`), `facts` and `reserved_regions`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &iommufd_report_shape(&self.report))
    }

    /// The core's JSON text of the same shape, for the tests that keep `to_dict()` and the
    /// JSON from drifting apart (private).
    fn _json(&self) -> String {
        iommufd_report_to_json(&self.report).to_string()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: Vec<Bound<'_, PyAny>>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let r = &self.report;
        format!(
            "<IommufdDevice {} cdev={} dev_id={} ioas={} hwpt={}{}>",
            r.address,
            r.cdev.display(),
            r.dev_id,
            r.ioas,
            r.hwpt,
            if self.closed(py) { " closed" } else { "" }
        )
    }
}

impl Drop for PyIommufdDevice {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut open = inner.take();
        // Unbinding the device and freeing the IOAS: detached, so other threads run.
        let stray =
            Python::try_attach(|py| py.detach(|| open.take().and_then(Open::close))).flatten();
        // Without an interpreter to detach from (shutdown), the same, attached.
        let stray = stray.or_else(|| open.take().and_then(Open::close));
        fdguard::warn_unraisable("IommufdDevice", stray);
    }
}

/// Opens a PCI device (`"0000:03:00.0"` or `"03:00.0"`, on vfio-pci) on the iommufd path:
/// `/dev/iommu` and the device's VFIO cdev, bind, a fresh IOAS, attach; reads the IOAS's
/// IOVA ranges, the device's hardware info and its group's reserved regions.
#[pyfunction]
pub(crate) fn open_iommufd(py: Python<'_>, pci_address: &str) -> PyResult<PyIommufdDevice> {
    let address: PciAddress = pci_address.parse().map_err(|_| {
        PyValueError::new_err(format!(
            "{pci_address:?} is not a PCI address: expected DDDD:BB:DD.F (0000:03:00.0) or BB:DD.F (03:00.0); iommufd binds devices, not IOMMU groups"
        ))
    })?;
    let (dev, report) = py
        .detach(|| IommufdReport::open(&address, &HostPaths::default()))
        .map_err(|e| errors::to_py(py, &e))?;
    Ok(PyIommufdDevice {
        inner: Mutex::new(Some(Open {
            dev,
            exposed: ExposedFd::default(),
        })),
        report,
    })
}

/// What `IOMMU_IOAS_IOVA_RANGES` said about an IOAS: the usable `ranges` and the
/// `alignment` every mapping's IOVA and length must be a multiple of.
#[pyclass(frozen, eq, module = "vfio_iommu_info", name = "IoasRanges")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyIoasRanges {
    ranges: IoasRanges,
}

#[pymethods]
impl PyIoasRanges {
    /// The usable IOVA ranges, ascending.
    #[getter]
    fn ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.ranges.ranges.iter().copied())
    }

    /// `out_iova_alignment`.
    #[getter]
    fn alignment(&self) -> u64 {
        self.ranges.alignment
    }

    /// From the lowest start to the highest end of the ranges; None without ranges.
    #[getter]
    fn aperture(&self) -> Option<PyIovaRange> {
        aperture(&self.ranges.ranges).map(Into::into)
    }

    fn __repr__(&self) -> String {
        let rs: Vec<String> = self
            .ranges
            .ranges
            .iter()
            .map(|r| format!("{:#x}-{:#x}", r.start, r.end))
            .collect();
        format!(
            "IoasRanges(ranges=[{}], alignment={:#x})",
            rs.join(", "),
            self.ranges.alignment
        )
    }
}

/// `IOMMU_IOAS_IOVA_RANGES` of IOAS `ioas_id` on an iommufd the caller owns (a VMM's own
/// `/dev/iommu` fd, an int or an object with `fileno()`). The fd is checked to be
/// iommufd's first; an id that is no IOAS raises OSError naming it.
#[pyfunction]
pub(crate) fn ioas_ranges(
    py: Python<'_>,
    iommufd_fd: &Bound<'_, PyAny>,
    ioas_id: u32,
) -> PyResult<PyIoasRanges> {
    on_callers_fd(py, iommufd_fd, |fd| {
        query::iommufd::ioas_ranges(fd, ioas_id)
    })
    .map(|ranges| PyIoasRanges { ranges })
}

/// `IOMMU_GET_HW_INFO` for device `dev_id` (the id `VFIO_DEVICE_BIND_IOMMUFD` returned)
/// on an iommufd the caller owns. The fd is checked to be iommufd's first.
#[pyfunction]
pub(crate) fn hw_info(
    py: Python<'_>,
    iommufd_fd: &Bound<'_, PyAny>,
    dev_id: u32,
) -> PyResult<PyHwInfo> {
    on_callers_fd(py, iommufd_fd, |fd| query::iommufd::hw_info(fd, dev_id))
        .map(|hw| PyHwInfo { hw })
}
