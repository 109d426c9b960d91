//! iommufd and the provenance model from Python: `open_iommufd` (one PCI device on
//! `/dev/iommu` and its VFIO cdev, bound and attached to a fresh IOAS), the IOMMU hardware
//! behind it (`HwInfo`), and what each backend says about mapping DMA with where every
//! fact came from (`Facts`, from `IommufdDevice.facts`, `Container.facts` or
//! `type1_facts`). The ioctls run detached from the interpreter.

use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{json, Value};
use vfio_iommu_info::cdev::IommufdDevice;
use vfio_iommu_info::facts::{Backend, DirtyTracking, DmaFacts, Fact, MappingLimit};
use vfio_iommu_info::hw_info::{HwData, HwInfo};
use vfio_iommu_info::iommufd::{container_backend as backend_of, IoasRanges};
use vfio_iommu_info::json::{facts_to_json, hw_info_to_json, range};
use vfio_iommu_info::{Error, HostPaths, PciAddress};

use crate::errors;
use crate::fdguard::{self, ExposedFd, Stray};
use crate::info::{json_to_py, ranges, PyIommuInfo, PyIovaRange};
use crate::space::PyReservedRegion;

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
    /// The interface that answered: `"type1"`, `"iommufd-compat"` or `"iommufd"`.
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
        json_to_py(py, &facts_to_json(&self.facts))
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

    /// The widest IOVA the hardware translates, in bits, from the registers; None when
    /// they do not say (no registers, as AMD's driver before 6.17 and virtio-iommu).
    #[getter]
    fn address_width(&self) -> Option<u8> {
        self.decoded()?.address_width()
    }

    /// The page sizes of the hardware's second-stage (host) page table, as a bitmap;
    /// None when the registers do not say.
    #[getter]
    fn page_sizes(&self) -> Option<u64> {
        self.decoded()?.page_sizes().map(|p| p.bits())
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
        json_to_py(py, &hw_info_to_json(&self.hw))
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

/// One PCI device on the iommufd path; what was read at open stays readable after
/// `close()`.
#[pyclass(frozen, module = "vfio_iommu_info", name = "IommufdDevice")]
pub struct PyIommufdDevice {
    /// `None` once closed.
    inner: Mutex<Option<Open>>,
    address: PciAddress,
    cdev: String,
    dev_id: u32,
    ioas: u32,
    hwpt: u32,
    ranges: IoasRanges,
    /// `IOMMU_GET_HW_INFO`'s answer, or the errno and message to raise.
    hw: Result<HwInfo, (i32, String)>,
    facts: DmaFacts,
}

impl PyIommufdDevice {
    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        // A panic while holding the lock cannot leave the device half-changed: the only
        // change is a single `take`.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn json(&self) -> Value {
        json!({
            "device": self.address.to_string(),
            "cdev": self.cdev,
            "dev_id": self.dev_id,
            "ioas": self.ioas,
            "hwpt": self.hwpt,
            "iova_ranges": self.ranges.ranges.iter().map(range).collect::<Vec<_>>(),
            "iova_alignment": self.ranges.alignment,
            "hw_info": match &self.hw {
                Ok(h) => hw_info_to_json(h),
                Err((_, message)) => json!({ "error": message }),
            },
            "facts": facts_to_json(&self.facts),
        })
    }
}

#[pymethods]
impl PyIommufdDevice {
    /// The PCI address, in full form (`0000:00:03.0`).
    #[getter]
    fn pci_address(&self) -> String {
        self.address.to_string()
    }

    /// The device's VFIO cdev (`/dev/vfio/devices/vfioN`).
    #[getter]
    fn cdev(&self) -> &str {
        &self.cdev
    }

    /// The device id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    #[getter]
    fn dev_id(&self) -> u32 {
        self.dev_id
    }

    /// The IOAS the device is attached to.
    #[getter]
    fn ioas(&self) -> u32 {
        self.ioas
    }

    /// The HWPT (hardware page table) the attach created or reused.
    #[getter]
    fn hwpt(&self) -> u32 {
        self.hwpt
    }

    /// The IOAS's usable IOVA ranges, as read at open.
    #[getter]
    fn iova_ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        ranges(py, self.ranges.ranges.iter().copied())
    }

    /// `out_iova_alignment`: every mapping's IOVA and length must be a multiple of it.
    #[getter]
    fn iova_alignment(&self) -> u64 {
        self.ranges.alignment
    }

    /// From the lowest start to the highest end of the IOVA ranges; None without ranges.
    #[getter]
    fn aperture(&self) -> Option<PyIovaRange> {
        let r = &self.ranges.ranges;
        let start = r.iter().map(|r| r.start).min()?;
        let end = r.iter().map(|r| r.end).max()?;
        Some(PyIovaRange { start, end })
    }

    /// The IOMMU hardware behind the device (read at open); raises the kernel's OSError
    /// when `IOMMU_GET_HW_INFO` failed (ENOTTY: a kernel before 6.6).
    #[getter]
    fn hw_info(&self) -> PyResult<PyHwInfo> {
        match &self.hw {
            Ok(hw) => Ok(PyHwInfo { hw: hw.clone() }),
            Err((errno, message)) => Err(PyOSError::new_err((*errno, message.clone()))),
        }
    }

    /// What the iommufd path says about mapping DMA for the device, each fact with its
    /// source.
    #[getter]
    fn facts(&self) -> PyFacts {
        PyFacts::new(self.facts.clone())
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

    /// The keys and values `vfio-iommu-info query --backend iommufd --json` prints for
    /// `device`, `cdev`, `dev_id`, `ioas`, `hwpt`, `iova_ranges`, `iova_alignment`,
    /// `hw_info` and `facts`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.json())
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
        format!(
            "<IommufdDevice {} cdev={} dev_id={} ioas={} hwpt={}{}>",
            self.address,
            self.cdev,
            self.dev_id,
            self.ioas,
            self.hwpt,
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
/// IOVA ranges and the device's hardware info.
#[pyfunction]
pub(crate) fn open_iommufd(py: Python<'_>, pci_address: &str) -> PyResult<PyIommufdDevice> {
    let address: PciAddress = pci_address.parse().map_err(|_| {
        PyValueError::new_err(format!(
            "{pci_address:?} is not a PCI address: expected DDDD:BB:DD.F (0000:03:00.0) or BB:DD.F (03:00.0); iommufd binds devices, not IOMMU groups"
        ))
    })?;
    let opened = py.detach(|| {
        let dev = IommufdDevice::open(&address, &HostPaths::default())?;
        let ranges = dev.iova_ranges()?;
        let hw = dev
            .hw_info()
            .map_err(|e: Error| (e.errno().map_or(libc::EIO, |e| e.0), e.to_string()));
        let facts = dev.facts(&ranges, hw.as_ref().ok(), &HostPaths::default());
        Ok::<_, Error>((dev, ranges, hw, facts))
    });
    let (dev, ranges, hw, facts) = opened.map_err(|e| errors::to_py(py, e))?;
    Ok(PyIommufdDevice {
        address,
        cdev: dev.cdev_path().display().to_string(),
        dev_id: dev.dev_id(),
        ioas: dev.ioas(),
        hwpt: dev.hwpt(),
        inner: Mutex::new(Some(Open {
            dev,
            exposed: ExposedFd::default(),
        })),
        ranges,
        hw,
        facts,
    })
}

/// The name of a backend string, checked.
fn parse_backend(name: &str) -> PyResult<Backend> {
    match name {
        "type1" => Ok(Backend::Type1),
        "iommufd-compat" => Ok(Backend::IommufdCompat),
        "iommufd" => Err(PyValueError::new_err(
            "backend 'iommufd' answers no VFIO_IOMMU_GET_INFO: the iommufd path's facts are open_iommufd(...).facts",
        )),
        other => Err(PyValueError::new_err(format!(
            "backend must be 'type1' or 'iommufd-compat' (Container.backend says which), not {other:?}"
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

/// Who serves a container fd the caller opened (after `VFIO_SET_IOMMU`): `"type1"`
/// (`vfio_iommu_type1`) or `"iommufd-compat"` (iommufd's compatibility container behind
/// `/dev/vfio/vfio`). A fd that is not a VFIO container (a group or device fd, another
/// file, a closed fd) raises OSError naming it.
#[pyfunction]
pub(crate) fn container_backend(
    py: Python<'_>,
    container_fd: &Bound<'_, PyAny>,
) -> PyResult<&'static str> {
    let fd = crate::container::fd_of(container_fd)?;
    py.detach(|| {
        // SAFETY: `fd` is non-negative, which is all `borrow_raw` requires of the value.
        // The fd is the caller's and stays open for the call by its contract; should it be
        // closed concurrently, the ioctls fail with EBADF (or reach whatever file took the
        // number, which answers VFIO_GET_API_VERSION with ENOTTY unless it is a container).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        backend_of(fd)
    })
    .map(|b| Backend::from(b).name())
    .map_err(|e| errors::to_py(py, e))
}
