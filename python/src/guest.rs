//! `GuestPlan` from Python: a whole guest's settings from the host's facts (the core's
//! `plan_guest`), immutable, and the plan in a VMM's own words.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::json::guest_plan_to_json;
use vfio_iommu_info::plan::settings::{self, Accel, QemuTarget};
use vfio_iommu_info::{
    plan_guest, FixedRam, GuestPlan, GuestRequest, HostFacts, IovaSpace, PciAddress, Viommu,
};

use crate::types::{to_dict, PyIovaRange};

/// A whole guest's plan: `fits`, the decisions (`phys_bits`, `max_ram_below_4g`, `mmio64`,
/// `aw_bits`), the budgets (`mappings`, `memlock`), `refusals` and `reasons`.
#[pyclass(frozen, module = "vfio_iommu_info", name = "GuestPlan")]
pub struct PyGuestPlan {
    plan: GuestPlan,
}

fn viommu_of(name: &str) -> PyResult<Viommu> {
    Ok(match name {
        "none" => Viommu::None,
        "intel" => Viommu::Intel,
        "amd" => Viommu::Amd,
        "virtio" => Viommu::Virtio,
        "smmuv3" => Viommu::Smmuv3,
        other => {
            return Err(PyValueError::new_err(format!(
                "viommu {other:?}: one of none, intel, amd, virtio, smmuv3"
            )))
        }
    })
}

fn devices_of(devices: Vec<String>) -> PyResult<Vec<PciAddress>> {
    devices
        .iter()
        .map(|d| {
            d.parse::<PciAddress>()
                .map_err(|e| PyValueError::new_err(e.to_string()))
        })
        .collect()
}

/// The arguments of `IovaSpace.plan_guest()` as Python gave them; [`GuestArgs::plan`]
/// marshals them into the core's request and host facts.
pub(crate) struct GuestArgs<'a> {
    pub(crate) ram: u64,
    pub(crate) nodes: Vec<u64>,
    /// `(size, at)` pairs.
    pub(crate) dimms: Vec<(u64, u64)>,
    pub(crate) backing_page: u64,
    pub(crate) bars: Vec<u64>,
    pub(crate) devices: u32,
    pub(crate) viommu: &'a str,
    pub(crate) phys_bits: Option<u8>,
    pub(crate) backend: &'a str,
    pub(crate) dma_avail: Option<u32>,
    pub(crate) cpu_phys_bits: Option<u8>,
}

impl GuestArgs<'_> {
    /// Plans the guest for a VMM mapping through `space`; `ValueError` for a name it does
    /// not know or a request that is no guest.
    pub(crate) fn plan(self, space: &IovaSpace) -> PyResult<PyGuestPlan> {
        let backend: Backend =
            self.backend
                .parse()
                .map_err(|e: vfio_iommu_info::facts::UnknownBackend| {
                    PyValueError::new_err(e.to_string())
                })?;
        let mut req = GuestRequest::new(self.ram);
        req.nodes = self.nodes;
        req.fixed = self
            .dimms
            .into_iter()
            .map(|(size, at)| FixedRam { at, size })
            .collect();
        req.backing_page = self.backing_page;
        req.bars = self.bars;
        req.devices = self.devices;
        req.viommu = viommu_of(self.viommu)?;
        req.phys_bits = self.phys_bits;
        let host = HostFacts {
            backend,
            dma_avail: self.dma_avail,
            cpu_phys_bits: self.cpu_phys_bits,
            memlock: None,
        };
        let plan =
            plan_guest(space, host, &req).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyGuestPlan { plan })
    }
}

#[pymethods]
impl PyGuestPlan {
    /// Whether the host meets the whole plan (no refusal).
    #[getter]
    fn fits(&self) -> bool {
        self.plan.fits()
    }

    /// The guest's physical address bits.
    #[getter]
    fn phys_bits(&self) -> u8 {
        self.plan.phys_bits
    }

    /// `max-ram-below-4g` when the plan lowers it, else None.
    #[getter]
    fn max_ram_below_4g(&self) -> Option<u64> {
        self.plan.max_ram_below_4g
    }

    /// The 64-bit PCI window (`pci-hole64-size` is its size).
    #[getter]
    fn mmio64(&self) -> PyIovaRange {
        self.plan.mmio64.into()
    }

    /// The vIOMMU's `aw-bits`, None without a vIOMMU or one without that setting.
    #[getter]
    fn aw_bits(&self) -> Option<u8> {
        self.plan.viommu.as_ref().and_then(|v| v.aw_bits)
    }

    /// The most mappings live at once (what DMA_AVAIL must allow).
    #[getter]
    fn mappings(&self) -> u64 {
        self.plan.mappings
    }

    /// The bytes the backend pins at most.
    #[getter]
    fn memlock(&self) -> u64 {
        self.plan.memlock
    }

    /// What the host cannot meet, one line each with the nearest setting that fits.
    #[getter]
    fn refusals(&self) -> Vec<String> {
        self.plan.refusals.iter().map(ToString::to_string).collect()
    }

    /// The map the kernel refuses with ENOMEM under an RLIMIT_MEMLOCK of `limit` bytes, as
    /// `(iova, size)`, or None when all fit.
    fn first_over_memlock(&self, limit: u64) -> Option<(u64, u64)> {
        self.plan.first_over_memlock(limit).map(|m| (m.iova, m.len))
    }

    /// The plan as QEMU arguments (q35), with `devices` (PCI addresses) passed through.
    #[pyo3(signature = (devices = Vec::new(), accel = "kvm", cpu = "host"))]
    fn qemu_args(&self, devices: Vec<String>, accel: &str, cpu: &str) -> PyResult<Vec<String>> {
        let accel = match accel {
            "kvm" => Accel::Kvm,
            "tcg" => Accel::Tcg,
            other => {
                return Err(PyValueError::new_err(format!(
                    "accel {other:?}: kvm or tcg"
                )))
            }
        };
        let target = QemuTarget {
            accel,
            cpu: cpu.to_owned(),
            devices: devices_of(devices)?,
        };
        Ok(settings::qemu_args(&self.plan, &target))
    }

    /// The plan as a libvirt domain XML fragment.
    #[pyo3(signature = (devices = Vec::new()))]
    fn libvirt_xml(&self, devices: Vec<String>) -> PyResult<String> {
        Ok(settings::libvirt_xml(&self.plan, &devices_of(devices)?))
    }

    /// The plan as cloud-hypervisor arguments; ValueError with the reason when it has none.
    #[pyo3(signature = (devices = Vec::new()))]
    fn cloud_hypervisor_args(&self, devices: Vec<String>) -> PyResult<Vec<String>> {
        settings::cloud_hypervisor_args(&self.plan, &devices_of(devices)?)
            .map_err(PyValueError::new_err)
    }

    /// The object `vfio-iommu-info guest --json` prints (without `settings`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, &guest_plan_to_json(&self.plan))
    }

    fn __repr__(&self) -> String {
        format!(
            "GuestPlan(fits={}, phys_bits={}, mappings={}, memlock={:#x})",
            if self.plan.fits() { "True" } else { "False" },
            self.plan.phys_bits,
            self.plan.mappings,
            self.plan.memlock
        )
    }
}
