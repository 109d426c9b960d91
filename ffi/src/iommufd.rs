//! iommufd and the provenance model (since 0.3): which kernel interface answers for a
//! device or container (type1, iommufd's VFIO compatibility container, iommufd itself),
//! what each says about mapping DMA with where every fact came from, and an opaque
//! handle for the iommufd path of one PCI device (`/dev/iommu` and the device's VFIO
//! cdev, bound and attached to a fresh IOAS) with its IOVA ranges and the IOMMU
//! hardware behind it (`IOMMU_GET_HW_INFO`).

use std::ffi::{c_char, c_int, CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ptr;

use ::vfio_iommu_info::decode::hw_info::{HwData, HwInfo};
use ::vfio_iommu_info::facts::{Backend, DirtyTracking, DmaFacts, MappingLimit, Source};
use ::vfio_iommu_info::json::{facts_to_json, iommufd_report_to_json};
use ::vfio_iommu_info::query::cdev::IommufdDevice;
use ::vfio_iommu_info::query::iommufd::container_backend;
use ::vfio_iommu_info::query::report::IommufdReport;
use ::vfio_iommu_info::{iova, HostPaths, PciAddress};

use crate::args::{self, Out, Sized32};
use crate::container::vfio_iommu_info_container;
use crate::handle::FdWitness;
use crate::info::{json_string, range_failure, vfio_iommu_info, vfio_iommu_info_range};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_ABSENT};

/// The backend: `/dev/vfio/vfio` served by `vfio_iommu_type1` (since 0.3).
pub const VFIO_IOMMU_INFO_BACKEND_TYPE1: u32 = 1;
/// The backend: `/dev/vfio/vfio` served by iommufd's VFIO compatibility
/// (`CONFIG_IOMMUFD_VFIO_CONTAINER`); it answers type1's ioctls with iommufd's meanings
/// (DMA_AVAIL of `UINT32_MAX` means no limit; no MIGRATION capability) (since 0.3).
pub const VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT: u32 = 2;
/// The backend: `/dev/iommu` with the device's VFIO cdev (since 0.3).
pub const VFIO_IOMMU_INFO_BACKEND_IOMMUFD: u32 = 3;
/// The backend: `/dev/vfio/vfio` served by `vfio_iommu_spapr_tce` (IBM POWER) (since 0.5).
pub const VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE: u32 = 4;

/// A fact's source: none, the fact is absent (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_NONE: u32 = 0;
/// A fact's source: `iova_pgsizes` of `VFIO_IOMMU_GET_INFO` (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES: u32 = 1;
/// A fact's source: the type1 IOVA_RANGE capability (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP: u32 = 2;
/// A fact's source: the type1 DMA_AVAIL capability (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP: u32 = 3;
/// A fact's source: the type1 MIGRATION capability (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP: u32 = 4;
/// A fact's source: `IOMMU_IOAS_IOVA_RANGES` (the ranges, or `out_iova_alignment`)
/// (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS: u32 = 5;
/// A fact's source: the decoded registers of `IOMMU_GET_HW_INFO` (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_INFO: u32 = 6;
/// A fact's source: `out_capabilities` of `IOMMU_GET_HW_INFO` (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_CAPABILITIES: u32 = 7;
/// A fact's source: sysfs `reserved_regions` (since 0.3).
pub const VFIO_IOMMU_INFO_SOURCE_SYSFS: u32 = 8;
/// A fact's source: `dma32_window_start`/`size` of `VFIO_IOMMU_SPAPR_TCE_GET_INFO`
/// (since 0.5).
pub const VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW: u32 = 9;
/// A fact's source: the kernel's own choice of 4K TCEs for an sPAPR default window, not a
/// field (since 0.5).
pub const VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW_PAGE_SIZE: u32 = 10;
/// A fact's source: the `ddw` block of `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (since 0.5).
pub const VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW: u32 = 11;

/// `vfio_iommu_info_facts.mapping_limit_kind`: `mapping_limit_remaining` more mappings
/// are accepted (type1's DMA_AVAIL) (since 0.3).
pub const VFIO_IOMMU_INFO_LIMIT_REMAINING: u32 = 1;
/// `vfio_iommu_info_facts.mapping_limit_kind`: no mapping count limit (iommufd, and its
/// compat container's DMA_AVAIL of `UINT32_MAX`); pinned memory is limited by
/// `RLIMIT_MEMLOCK` and the memory cgroup instead (since 0.3).
pub const VFIO_IOMMU_INFO_LIMIT_UNLIMITED: u32 = 2;

/// `vfio_iommu_info_facts.dirty_tracking_kind`: type1's MIGRATION capability, dirty
/// bitmaps through `VFIO_IOMMU_DIRTY_PAGES` (tracked by pinning, not by the IOMMU), with
/// `dirty_pgsize_bitmap` and `dirty_max_bitmap_size` (since 0.3).
pub const VFIO_IOMMU_INFO_DIRTY_TYPE1: u32 = 1;
/// `vfio_iommu_info_facts.dirty_tracking_kind`: iommufd's `IOMMU_HW_CAP_DIRTY_TRACKING`:
/// `dirty_hardware` says whether the IOMMU tracks dirty pages for the device (since 0.3).
pub const VFIO_IOMMU_INFO_DIRTY_HARDWARE: u32 = 2;

/// What one backend says about mapping DMA, every fact with its source
/// (`VFIO_IOMMU_INFO_SOURCE_*`; `VFIO_IOMMU_INFO_SOURCE_NONE` when the backend did not
/// say, and then the fact's value fields are 0) (since 0.3). Why a fact is absent is in
/// the `notes` of the JSON form (`vfio_iommu_info_facts_type1_to_json()`,
/// `vfio_iommu_info_iommufd_to_json()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vfio_iommu_info_facts {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_facts)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The interface that answered: `VFIO_IOMMU_INFO_BACKEND_*`.
    pub backend: u32,
    /// The source of the usable IOVA ranges.
    pub iova_ranges_source: u32,
    /// The source of `page_sizes`.
    pub page_sizes_source: u32,
    /// How many usable IOVA ranges; read them from the object the facts came from
    /// (`vfio_iommu_info_iova_range()`, `vfio_iommu_info_iommufd_iova_range()`).
    pub iova_range_count: usize,
    /// The page sizes mappings can use (bit n: 2^n bytes): type1's bitmap, or for
    /// iommufd derived from the hardware registers when the driver reports them.
    pub page_sizes: u64,
    /// The source of `iova_alignment`.
    pub iova_alignment_source: u32,
    /// The source of `address_width`.
    pub address_width_source: u32,
    /// The alignment every mapping's IOVA and length must have (iommufd's
    /// `out_iova_alignment`: the largest page size an attached domain requires; not the
    /// page sizes the IOMMU supports).
    pub iova_alignment: u64,
    /// The IOVA width the IOMMU translates, in bits (from hardware registers).
    pub address_width: u32,
    /// The source of the mapping limit.
    pub mapping_limit_source: u32,
    /// `VFIO_IOMMU_INFO_LIMIT_REMAINING` or `VFIO_IOMMU_INFO_LIMIT_UNLIMITED`; 0 when
    /// absent.
    pub mapping_limit_kind: u32,
    /// How many more mappings are accepted, for `VFIO_IOMMU_INFO_LIMIT_REMAINING`.
    pub mapping_limit_remaining: u32,
    /// The source of the dirty-tracking fact.
    pub dirty_tracking_source: u32,
    /// `VFIO_IOMMU_INFO_DIRTY_TYPE1` or `VFIO_IOMMU_INFO_DIRTY_HARDWARE`; 0 when absent.
    pub dirty_tracking_kind: u32,
    /// For `VFIO_IOMMU_INFO_DIRTY_TYPE1`: the page sizes the dirty bitmap can be kept at.
    pub dirty_pgsize_bitmap: u64,
    /// For `VFIO_IOMMU_INFO_DIRTY_TYPE1`: the largest dirty bitmap, in bytes.
    pub dirty_max_bitmap_size: u64,
    /// For `VFIO_IOMMU_INFO_DIRTY_HARDWARE`: 1 when the IOMMU tracks dirty pages for the
    /// device (`IOMMU_HWPT_SET_DIRTY_TRACKING`), 0 when not.
    pub dirty_hardware: u32,
    /// The source of the reserved-regions fact (`VFIO_IOMMU_INFO_SOURCE_SYSFS`: the sysfs
    /// `reserved_regions` of the groups behind the answer, read by
    /// `vfio_iommu_info_iommufd_open()`); 0 when absent, as from
    /// `vfio_iommu_info_facts_type1()`, which has no groups. The regions themselves are in
    /// the `_to_json()` object (`facts.reserved_regions`).
    pub reserved_regions_source: u32,
}

impl Sized32 for vfio_iommu_info_facts {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_facts { size, ..self }
    }
}

/// The ids and fds of an iommufd handle (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_iommufd_ids {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_iommufd_ids)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The iommufd (`/dev/iommu`) fd, for `IOMMU_IOAS_MAP` and the like. The handle owns
    /// it: the caller must not close it; it is valid until
    /// `vfio_iommu_info_iommufd_free()`, which closes it.
    pub iommufd_fd: c_int,
    /// The device's fd (its VFIO cdev, bound and attached), for `VFIO_DEVICE_GET_INFO`,
    /// region access and the like. The handle owns it: the caller must not close it; it
    /// is valid until `vfio_iommu_info_iommufd_free()`, which closes it.
    pub device_fd: c_int,
    /// The device id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    pub dev_id: u32,
    /// The IOAS the device is attached to (map into it).
    pub ioas: u32,
    /// The HWPT (hardware page table) the attach created or reused.
    pub hwpt: u32,
    /// `out_iova_alignment` of the IOAS: every mapping's IOVA and length must be a
    /// multiple of it.
    pub iova_alignment: u64,
    /// The device node's path (`/dev/vfio/devices/vfioN`), a NUL-terminated string owned
    /// by the handle, valid until it is freed.
    pub cdev_path: *const c_char,
}

impl Sized32 for vfio_iommu_info_iommufd_ids {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_iommufd_ids { size, ..self }
    }
}

/// `IOMMU_GET_HW_INFO`: the IOMMU hardware behind the device, decoded, with the raw
/// registers (since 0.3). The register fields of the types other than `data_type`'s are
/// 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_hw_info {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_hw_info)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// `out_data_type`: `IOMMU_HW_INFO_TYPE_*` of `<linux/iommufd.h>` (0 NONE: the driver
    /// reports no data, 1 INTEL_VTD, 2 ARM_SMMUV3, 3 TEGRA241_CMDQV, 4 AMD).
    pub data_type: u32,
    /// The length of the kernel's data (`data_len` on return).
    pub data_len: u32,
    /// 1 when the kernel had more data than the library received, else 0.
    pub truncated: u32,
    /// 1 when the kernel reports `capabilities` (Linux 6.7+), 0 when it predates them
    /// (6.6 leaves the field 0 whatever the hardware).
    pub capabilities_known: u32,
    /// `out_max_pasid_log2` (Linux 6.12+; 0 without PASID or on older kernels).
    pub max_pasid_log2: u32,
    /// `out_capabilities`: `IOMMU_HW_CAP_*` (bit 0 DIRTY_TRACKING); 0 when
    /// `capabilities_known` is 0.
    pub capabilities: u64,
    /// The data type's name: `"none"`, `"intel-vtd"`, `"arm-smmuv3"`, `"tegra241-cmdqv"`,
    /// `"amd"` or `"unknown"`; a static string.
    pub type_name: *const c_char,
    /// The data bytes received, owned by the handle, valid until it is freed; NULL when
    /// `data_received` is 0.
    pub data: *const u8,
    /// The number of bytes at `data`: `min(data_len, what the library asked for)`.
    pub data_received: usize,
    /// 1 when the register fields of `data_type` below were decoded (VT-d, SMMUv3, AMD),
    /// 0 for a type without registers or data too short for its structure.
    pub registers_valid: u32,
    /// The widest IOVA the hardware translates, in bits, from the registers (VT-d MGAW,
    /// SMMUv3 stage 1: 48, or 52 with IDR5.VAX; AMD HATS); 0 when unknown.
    pub address_width: u32,
    /// The page sizes of the kernel's paging domain, bit n for 2^n bytes, from the
    /// registers (VT-d SLLPS; SMMUv3: the one IDR5 granule io-pgtable-arm picks for the
    /// answering kernel's page size, e.g. 4K|2M|1G on a 4 KiB kernel); 0 when unknown.
    pub page_sizes: u64,
    /// 1 when the registers say the hardware can track dirty pages (VT-d scalable mode,
    /// SLADS and SMPWC; SMMUv3 HTTU; AMD HDSup), else 0. The kernel's own answer, which
    /// also needs the driver's support, is bit 0 of `capabilities`.
    pub dirty_tracking_hardware: u32,
    /// VT-d: `flags` (bit 0: the Sapphire Rapids erratum 772415).
    pub vtd_flags: u32,
    /// VT-d: CAP_REG.
    pub vtd_cap: u64,
    /// VT-d: ECAP_REG.
    pub vtd_ecap: u64,
    /// SMMUv3: `flags`.
    pub smmuv3_flags: u32,
    /// SMMUv3: IDR0 to IDR5.
    pub smmuv3_idr: [u32; 6],
    /// SMMUv3: IIDR (implementation).
    pub smmuv3_iidr: u32,
    /// SMMUv3: AIDR (architecture version).
    pub smmuv3_aidr: u32,
    /// Always 0 (padding, not from the kernel).
    pub reserved: u32,
    /// AMD: EFR (Extended Feature Register).
    pub amd_efr: u64,
    /// AMD: EFR2.
    pub amd_efr2: u64,
}

impl Sized32 for vfio_iommu_info_hw_info {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_hw_info { size, ..self }
    }
}

/// One PCI device on the iommufd path: `/dev/iommu` and the device's VFIO cdev, bound,
/// attached to a fresh IOAS; its IOVA ranges and hardware info read when it was opened
/// (since 0.3). Opaque, from `vfio_iommu_info_iommufd_open()`, freed by
/// `vfio_iommu_info_iommufd_free()`. Immutable: it may be read from several threads.
#[derive(Debug)]
pub struct vfio_iommu_info_iommufd {
    device: IommufdDevice,
    /// The core's report, made at open.
    report: IommufdReport,
    cdev: CString,
    /// The device's and the iommufd's fds, witnessed for `_free` (see `FdWitness`).
    witnesses: [FdWitness; 2],
}

impl vfio_iommu_info_iommufd {
    /// The core's report, made at open.
    pub(crate) fn report(&self) -> &IommufdReport {
        &self.report
    }

    fn open(address: PciAddress, paths: &HostPaths) -> Result<Self, Failure> {
        let (device, report) =
            IommufdReport::open(&address, paths).map_err(|e| Failure::from_error(&e))?;
        let cdev = CString::new(report.cdev.as_os_str().as_encoded_bytes()).unwrap_or_default();
        let witnesses = [
            FdWitness::new(device.device().as_fd()),
            FdWitness::new(device.iommufd().as_fd()),
        ];
        Ok(vfio_iommu_info_iommufd {
            witnesses,
            device,
            report,
            cdev,
        })
    }
}

fn backend_code(b: Backend) -> u32 {
    match b {
        Backend::Type1 => VFIO_IOMMU_INFO_BACKEND_TYPE1,
        Backend::IommufdCompat => VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT,
        Backend::Iommufd => VFIO_IOMMU_INFO_BACKEND_IOMMUFD,
        Backend::SpaprTce => VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE,
    }
}

fn source_code(s: Source) -> u32 {
    match s {
        Source::Type1PageSizes => VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES,
        Source::Type1IovaRangeCap => VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP,
        Source::Type1DmaAvailCap => VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP,
        Source::Type1MigrationCap => VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP,
        Source::IommufdIoas => VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS,
        Source::IommufdHwInfo => VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_INFO,
        Source::IommufdHwCapabilities => VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_CAPABILITIES,
        Source::Sysfs => VFIO_IOMMU_INFO_SOURCE_SYSFS,
        Source::SpaprDefaultWindow => VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW,
        Source::SpaprDefaultWindowPageSize => VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW_PAGE_SIZE,
        Source::SpaprDdw => VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW,
    }
}

/// The source code of an optional fact.
fn src<T>(f: &Option<::vfio_iommu_info::facts::Fact<T>>) -> u32 {
    f.as_ref()
        .map_or(VFIO_IOMMU_INFO_SOURCE_NONE, |f| source_code(f.source))
}

/// The C view of `facts`.
pub(crate) fn c_facts(f: &DmaFacts) -> vfio_iommu_info_facts {
    let mut out = vfio_iommu_info_facts {
        backend: backend_code(f.backend),
        iova_ranges_source: src(&f.iova_ranges),
        iova_range_count: f.iova_ranges.as_ref().map_or(0, |r| r.value.len()),
        page_sizes_source: src(&f.page_sizes),
        page_sizes: f.page_sizes.as_ref().map_or(0, |p| p.value.bits()),
        iova_alignment_source: src(&f.iova_alignment),
        iova_alignment: f.iova_alignment.as_ref().map_or(0, |a| a.value),
        address_width_source: src(&f.address_width),
        address_width: f.address_width.as_ref().map_or(0, |w| u32::from(w.value)),
        mapping_limit_source: src(&f.mapping_limit),
        dirty_tracking_source: src(&f.dirty_tracking),
        reserved_regions_source: src(&f.reserved_regions),
        ..Default::default()
    };
    match f.mapping_limit.as_ref().map(|m| m.value) {
        Some(MappingLimit::Remaining(n)) => {
            out.mapping_limit_kind = VFIO_IOMMU_INFO_LIMIT_REMAINING;
            out.mapping_limit_remaining = n;
        }
        Some(MappingLimit::Unlimited) => out.mapping_limit_kind = VFIO_IOMMU_INFO_LIMIT_UNLIMITED,
        None => {}
    }
    match f.dirty_tracking.as_ref().map(|d| d.value) {
        Some(DirtyTracking::Type1 {
            pgsize_bitmap,
            max_dirty_bitmap_size,
        }) => {
            out.dirty_tracking_kind = VFIO_IOMMU_INFO_DIRTY_TYPE1;
            out.dirty_pgsize_bitmap = pgsize_bitmap.bits();
            out.dirty_max_bitmap_size = max_dirty_bitmap_size;
        }
        Some(DirtyTracking::Hardware(b)) => {
            out.dirty_tracking_kind = VFIO_IOMMU_INFO_DIRTY_HARDWARE;
            out.dirty_hardware = u32::from(b);
        }
        None => {}
    }
    out
}

/// A static C string for the core's type names.
fn type_name(hw: &HwInfo) -> &'static CStr {
    match hw.type_name() {
        "none" => c"none",
        "intel-vtd" => c"intel-vtd",
        "arm-smmuv3" => c"arm-smmuv3",
        "tegra241-cmdqv" => c"tegra241-cmdqv",
        "amd" => c"amd",
        _ => c"unknown",
    }
}

/// The C view of `hw`; its `data` points into `hw`.
pub(crate) fn c_hw_info(hw: &HwInfo) -> vfio_iommu_info_hw_info {
    let mut out = vfio_iommu_info_hw_info {
        size: 0,
        data_type: hw.data_type,
        data_len: hw.data_len,
        truncated: u32::from(hw.truncated()),
        capabilities_known: u32::from(hw.capabilities.is_some()),
        max_pasid_log2: u32::from(hw.max_pasid_log2),
        capabilities: hw.capabilities.unwrap_or(0),
        type_name: type_name(hw).as_ptr(),
        data: if hw.data.is_empty() {
            ptr::null()
        } else {
            hw.data.as_ptr()
        },
        data_received: hw.data.len(),
        registers_valid: 0,
        address_width: 0,
        page_sizes: 0,
        dirty_tracking_hardware: 0,
        vtd_flags: 0,
        vtd_cap: 0,
        vtd_ecap: 0,
        smmuv3_flags: 0,
        smmuv3_idr: [0; 6],
        smmuv3_iidr: 0,
        smmuv3_aidr: 0,
        reserved: 0,
        amd_efr: 0,
        amd_efr2: 0,
    };
    let Ok(data) = hw.decode() else {
        return out;
    };
    out.address_width = data.address_width().map_or(0, u32::from);
    out.page_sizes = data.page_sizes(hw.kernel_page_size).map_or(0, |p| p.bits());
    match data {
        HwData::IntelVtd(v) => {
            out.registers_valid = 1;
            out.dirty_tracking_hardware = u32::from(v.dirty_tracking_hardware());
            (out.vtd_flags, out.vtd_cap, out.vtd_ecap) = (v.flags, v.cap, v.ecap);
        }
        HwData::ArmSmmuV3(s) => {
            out.registers_valid = 1;
            out.dirty_tracking_hardware = u32::from(s.dirty_tracking_hardware());
            (out.smmuv3_flags, out.smmuv3_idr) = (s.flags, s.idr);
            (out.smmuv3_iidr, out.smmuv3_aidr) = (s.iidr, s.aidr);
        }
        HwData::Amd(a) => {
            out.registers_valid = 1;
            out.dirty_tracking_hardware = u32::from(a.dirty_tracking_hardware());
            (out.amd_efr, out.amd_efr2) = (a.efr, a.efr2);
        }
        _ => {}
    }
    out
}

/// A static name of a `VFIO_IOMMU_INFO_BACKEND_*` code (`"type1"`, `"iommufd-compat"`,
/// `"iommufd"`, as `vfio-iommu-info query --json` prints it), or `"unknown"`; never
/// NULL, not to be freed (since 0.3).
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_backend_str(backend: u32) -> *const c_char {
    crate::result::guard_value(c"unknown".as_ptr(), || backend_str_text(backend).as_ptr())
}

fn backend_str_text(backend: u32) -> &'static CStr {
    let text: &'static CStr = match backend {
        VFIO_IOMMU_INFO_BACKEND_TYPE1 => c"type1",
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT => c"iommufd-compat",
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD => c"iommufd",
        VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE => c"spapr-tce",
        _ => c"unknown",
    };
    text
}

/// A static name of a `VFIO_IOMMU_INFO_SOURCE_*` code, as the JSON forms print it
/// (`"type1:iova-range-cap"`, `"iommufd:ioas-iova-ranges"`...; `"none"` for
/// `VFIO_IOMMU_INFO_SOURCE_NONE`), or `"unknown"`; never NULL, not to be freed
/// (since 0.3).
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_source_str(source: u32) -> *const c_char {
    crate::result::guard_value(c"unknown".as_ptr(), || source_str_text(source).as_ptr())
}

fn source_str_text(source: u32) -> &'static CStr {
    let text: &'static CStr = match source {
        VFIO_IOMMU_INFO_SOURCE_NONE => c"none",
        VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES => c"type1:iova_pgsizes",
        VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP => c"type1:iova-range-cap",
        VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP => c"type1:dma-avail-cap",
        VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP => c"type1:migration-cap",
        VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS => c"iommufd:ioas-iova-ranges",
        VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_INFO => c"iommufd:hw-info",
        VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_CAPABILITIES => c"iommufd:hw-info-capabilities",
        VFIO_IOMMU_INFO_SOURCE_SYSFS => c"sysfs:reserved_regions",
        VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW => c"spapr:dma32-window",
        VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW_PAGE_SIZE => c"spapr:default-window-tce-size",
        VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW => c"spapr:ddw",
        _ => c"unknown",
    };
    text
}

/// The core's facts of a type1 answer for `backend`, checked.
fn type1_facts(info: &vfio_iommu_info, backend: u32) -> Result<DmaFacts, Failure> {
    let backend = match backend {
        VFIO_IOMMU_INFO_BACKEND_TYPE1 => Backend::Type1,
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT => Backend::IommufdCompat,
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD => {
            return Err(Failure::invalid("backend VFIO_IOMMU_INFO_BACKEND_IOMMUFD answers no VFIO_IOMMU_GET_INFO: the iommufd path's facts come from vfio_iommu_info_iommufd_facts()",
            ))
        }
        other => {
            return Err(Failure::invalid(format_args!(
                    "backend {other} is not VFIO_IOMMU_INFO_BACKEND_TYPE1 or _IOMMUFD_COMPAT (vfio_iommu_info_container_backend() says which)"
                ),
            ))
        }
    };
    Ok(DmaFacts::from_type1(&info.info, backend))
}

/// The facts of a type1 answer (`VFIO_IOMMU_GET_INFO`, an info object), into `*out`,
/// whose `size` the caller sets to `sizeof(struct vfio_iommu_info_facts)` (since 0.3).
///
/// `backend` says who answered: `VFIO_IOMMU_INFO_BACKEND_TYPE1` or
/// `VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT` (from `vfio_iommu_info_container_backend()`
/// or `vfio_iommu_info_query_backend()`); the same numbers mean different things: the
/// compat container's DMA_AVAIL of `UINT32_MAX` is `VFIO_IOMMU_INFO_LIMIT_UNLIMITED`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (another `backend`, or `out->size` too small)
/// or `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_facts_type1(
    info: *const vfio_iommu_info,
    backend: u32,
    out: *mut vfio_iommu_info_facts,
) -> c_int {
    const F: &str = "vfio_iommu_info_facts_type1";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let facts = type1_facts(info, backend)?;
        out.write_sized(c_facts(&facts));
        Ok(())
    })
}

/// The facts of a type1 answer as the JSON object `vfio-iommu-info query --json` prints
/// under `facts`: `backend`, each fact `null` or `{"value", "source"}`, and `notes` (why a
/// fact is absent or means something other than it seems) (since 0.3). `backend` is as
/// for `vfio_iommu_info_facts_type1()`. On success, `*json` receives a string freed with
/// `vfio_iommu_info_string_free()`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`backend`) or `VFIO_IOMMU_INFO_E_NULL`;
/// `*json` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_facts_type1_to_json(
    info: *const vfio_iommu_info,
    backend: u32,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_facts_type1_to_json";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(json, "json")?;
        let facts = type1_facts(info, backend)?;
        out.write(json_string(facts_to_json(&facts).to_string())?);
        Ok(())
    })
}

/// Who serves an open container: `*backend` is `VFIO_IOMMU_INFO_BACKEND_TYPE1` (the VFIO
/// container with `vfio_iommu_type1`) or `VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT`
/// (iommufd's compatibility container behind `/dev/vfio/vfio`), asked with the
/// iommufd-only `IOMMU_VFIO_IOAS` ioctl (since 0.3).
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `container` must be a live handle of this library; `backend` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_backend(
    container: *const vfio_iommu_info_container,
    backend: *mut u32,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_backend";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        let out = Out::new(backend, "backend")?;
        let b = Backend::from(c.container.backend());
        out.write(backend_code(b));
        Ok(())
    })
}

/// `vfio_iommu_info_container_backend()` for a container fd the caller opened (after
/// `VFIO_SET_IOMMU`), as `vfio_iommu_info_query()` takes it (since 0.3). The fd stays the
/// caller's: the library neither keeps nor closes it, on success or failure.
///
/// Returns 0, `-EBADF` (not an open fd), `-ENOTTY` (an fd that is not a VFIO container,
/// such as a group or device fd: the last error names it) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `backend` must be writable; `container_fd` must not be closed by another thread during
/// the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_query_backend(
    container_fd: c_int,
    backend: *mut u32,
) -> c_int {
    const F: &str = "vfio_iommu_info_query_backend";
    guard(F, || {
        let out = Out::new(backend, "backend")?;
        // SAFETY: F_GETFD reads the fd's flags; it touches no memory and fails with EBADF
        // for a number that is not an open fd.
        if container_fd < 0 || unsafe { libc::fcntl(container_fd, libc::F_GETFD) } < 0 {
            return Err(Failure::new(
                -libc::EBADF,
                format!("container_fd {container_fd} is not an open file descriptor"),
            ));
        }
        // SAFETY: `container_fd` is open (checked) and the caller keeps it open for the
        // duration of the call; the borrow does not outlive it.
        let fd = unsafe { BorrowedFd::borrow_raw(container_fd) };
        let b = container_backend(fd).map_err(|e| Failure::from_error(&e))?;
        out.write(backend_code(Backend::from(b)));
        Ok(())
    })
}

/// Opens PCI device `pci_address` (`"0000:03:00.0"` or `"03:00.0"`, on vfio-pci) on the
/// iommufd path: opens `/dev/iommu` and the device's VFIO cdev
/// (`/dev/vfio/devices/vfioN`, found through sysfs), binds the device
/// (`VFIO_DEVICE_BIND_IOMMUFD`), allocates an IOAS, attaches the device to it, and reads
/// the IOAS's usable IOVA ranges (`IOMMU_IOAS_IOVA_RANGES`, one ioctl on the common path)
/// and the device's IOMMU hardware info (`IOMMU_GET_HW_INFO`) (since 0.3). Linux 6.6+
/// with `CONFIG_IOMMUFD` and `CONFIG_VFIO_DEVICE_CDEV`.
///
/// On success, returns 0 and stores a new handle in `*out`, freed with
/// `vfio_iommu_info_iommufd_free()` (which closes the device, detaching and unbinding it,
/// then the iommufd). A failing `IOMMU_GET_HW_INFO` does not fail the open:
/// `vfio_iommu_info_iommufd_hw_info()` reports it. On failure, `*out` is untouched and
/// the code is the kernel's negative errno (`-ENOENT`: no `/dev/iommu`, the kernel has no
/// iommufd; `-EACCES`: no permission on a node; `-EBUSY` at `VFIO_DEVICE_BIND_IOMMUFD`:
/// the device's group is open the legacy way; `-EPERM` at attach: no interrupt
/// remapping), or `VFIO_IOMMU_INFO_E_NO_DEVICE` (no such PCI device),
/// `VFIO_IOMMU_INFO_E_NOT_VIABLE` (the device is not on vfio-pci),
/// `VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV` (on vfio-pci without a VFIO cdev),
/// `VFIO_IOMMU_INFO_E_INVALID` (not a PCI address, or not UTF-8), `_NULL`,
/// `_SYSFS_FORMAT`, `_MALFORMED` (inverted ranges in the kernel's reply) or `_INTERNAL`.
/// The last error names the path, device or ioctl, and what to do.
///
/// # Safety
/// `pci_address` must be a NUL-terminated string; `out` must point to writable storage
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_open(
    pci_address: *const c_char,
    out: *mut *mut vfio_iommu_info_iommufd,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_open";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees a NUL-terminated string.
        let text = unsafe { args::utf8(pci_address, "pci_address") }?;
        let address = parse_address(text)?;
        let handle = vfio_iommu_info_iommufd::open(address, &HostPaths::default())?;
        out.write(crate::handle::into_raw(handle));
        Ok(())
    })
}

fn parse_address(text: &str) -> Result<PciAddress, Failure> {
    text.parse::<PciAddress>().map_err(|_| {
        Failure::invalid(format_args!(
                "pci_address {text:?} is not a PCI address: expected DDDD:BB:DD.F (0000:03:00.0) or BB:DD.F (03:00.0); iommufd binds devices, not IOMMU groups"
            ),
        )
    })
}

/// Closes the device (detaching and unbinding it) and then the iommufd (freeing the IOAS
/// and its mappings), and frees the handle (since 0.3). NULL is accepted and ignored.
///
/// As for `vfio_iommu_info_container_free()`: a pointer that is not an iommufd handle is
/// refused (nothing freed, the last error says what it is), and a handle whose fd number
/// no longer names the file it opened (the caller closed it and the number was reused)
/// leaves that number open and is leaked, with a last error naming the fd.
///
/// # Safety
/// `iommufd` must be NULL or a handle from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_free(iommufd: *mut vfio_iommu_info_iommufd) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle_with`'s.
    unsafe {
        crate::handle::free_handle_with(iommufd, "vfio_iommu_info_iommufd_free", |h| {
            let witnesses = h.witnesses;
            crate::handle::release(h.device, &witnesses)
        })
    }
}

/// The handle's fds, ids, IOVA alignment and device node, into `*out`, whose `size` the
/// caller sets to `sizeof(struct vfio_iommu_info_iommufd_ids)` (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_ids(
    iommufd: *const vfio_iommu_info_iommufd,
    out: *mut vfio_iommu_info_iommufd_ids,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_ids";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let d = &h.device;
        out.write_sized(vfio_iommu_info_iommufd_ids {
            size: 0,
            iommufd_fd: d.iommufd().as_fd().as_raw_fd(),
            device_fd: d.device().as_fd().as_raw_fd(),
            dev_id: d.dev_id(),
            ioas: d.ioas(),
            hwpt: d.hwpt(),
            iova_alignment: h.report.ranges.alignment,
            cdev_path: h.cdev.as_ptr(),
        });
        Ok(())
    })
}

/// The number of usable IOVA ranges of the handle's IOAS, as read at open (since 0.3).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
/// which lend every list and the aperture in two calls; kept, like every export of .so.0.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_iova_range_count(
    iommufd: *const vfio_iommu_info_iommufd,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_iova_range_count";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        Out::new(count, "count")?.write(h.report.ranges.ranges.len());
        Ok(())
    })
}

/// The usable IOVA range at `index`, ascending (the kernel's order) (since 0.3). A
/// mapping must lie inside one range and be aligned to `iova_alignment`.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
/// or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
/// which lend every list and the aperture in two calls; kept, like every export of .so.0.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_iova_range(
    iommufd: *const vfio_iommu_info_iommufd,
    index: usize,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_iova_range";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(range, "range")?;
        let ranges = &h.report.ranges.ranges;
        let r = ranges
            .get(index)
            .ok_or_else(|| range_failure(index, ranges.len()))?;
        out.write((*r).into());
        Ok(())
    })
}

/// The aperture of the handle's IOAS: from the lowest start to the highest end of its
/// IOVA ranges; the holes lie between the ranges (since 0.3).
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` when the IOAS has no range,
/// or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
/// which lend every list and the aperture in two calls; kept, like every export of .so.0.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_aperture(
    iommufd: *const vfio_iommu_info_iommufd,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_aperture";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(range, "range")?;
        let aperture = iova::aperture(&h.report.ranges.ranges).ok_or_else(|| {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                format!(
                    "IOAS {} of {} has no usable IOVA range",
                    h.report.ioas, h.report.address
                ),
            )
        })?;
        out.write(aperture.into());
        Ok(())
    })
}

/// The IOMMU hardware behind the device (`IOMMU_GET_HW_INFO`, read at open), into
/// `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_hw_info)`
/// (since 0.3).
///
/// Returns 0; the kernel's negative errno when `IOMMU_GET_HW_INFO` failed at open
/// (`-ENOTTY`: a kernel before 6.6), with the last error saying so; or
/// `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`. `*out` is
/// written only on success.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_hw_info(
    iommufd: *const vfio_iommu_info_iommufd,
    out: *mut vfio_iommu_info_hw_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_hw_info";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        match &h.report.hw_info {
            Ok(hw) => out.write_sized(c_hw_info(hw)),
            Err(e) => return Err(Failure::from_error(e)),
        }
        Ok(())
    })
}

/// The facts of the iommufd path for the device, into `*out`, whose `size` the caller
/// sets to `sizeof(struct vfio_iommu_info_facts)` (since 0.3): the IOAS's ranges and
/// alignment (`VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS`), no mapping count limit, and from
/// the hardware info the page sizes and address width (when the driver reports
/// registers) and dirty tracking (Linux 6.7+).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_facts(
    iommufd: *const vfio_iommu_info_iommufd,
    out: *mut vfio_iommu_info_facts,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_facts";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        out.write_sized(c_facts(&h.report.facts));
        Ok(())
    })
}

/// The handle as JSON, with the keys and values `vfio-iommu-info query --backend iommufd
/// --json` prints for them: `device`, `cdev`, `dev_id`, `ioas`, `hwpt`, `iova_ranges`,
/// `iova_alignment`, `hw_info` (or `{"error": message}`), `facts` (with `notes`)
/// (since 0.3). On success, `*json` receives a string freed with
/// `vfio_iommu_info_string_free()`.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success.
///
/// # Safety
/// `iommufd` must be a live handle of this library; `json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iommufd_to_json(
    iommufd: *const vfio_iommu_info_iommufd,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_iommufd_to_json";
    guard(F, || {
        // SAFETY: per the contract, `iommufd` is NULL or a live handle.
        let h = unsafe { args::object(iommufd, "iommufd") }?;
        let out = Out::new(json, "json")?;
        out.write(json_string(iommufd_report_to_json(&h.report).to_string())?);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.3":
    vfio_iommu_info_backend_str,
    vfio_iommu_info_source_str,
    vfio_iommu_info_facts_type1,
    vfio_iommu_info_facts_type1_to_json,
    vfio_iommu_info_container_backend,
    vfio_iommu_info_query_backend,
    vfio_iommu_info_iommufd_open,
    vfio_iommu_info_iommufd_free,
    vfio_iommu_info_iommufd_ids,
    vfio_iommu_info_iommufd_iova_range_count,
    vfio_iommu_info_iommufd_iova_range,
    vfio_iommu_info_iommufd_aperture,
    vfio_iommu_info_iommufd_hw_info,
    vfio_iommu_info_iommufd_facts,
    vfio_iommu_info_iommufd_to_json,
);

/// Unit tests of the conversions to the C structs from facts and hardware info built in
/// Rust, and of the open's failures on a fake host (its paths are crate-private): none can
/// be reached through the exports on a host (ffi/tests/iommufd_open.rs tests the exports).
#[cfg(test)]
mod tests {
    use super::*;

    use std::ffi::CStr;
    use std::path::PathBuf;

    use ::vfio_iommu_info::cdev::DeviceCdev;
    use ::vfio_iommu_info::facts::Fact;
    use ::vfio_iommu_info::{IovaRange, PageSizes};

    use crate::result::{
        VFIO_IOMMU_INFO_E_NOT_VIABLE, VFIO_IOMMU_INFO_E_NO_DEVICE, VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV,
    };

    fn text(p: *const c_char) -> String {
        // SAFETY: the _str functions return static NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// Every backend and source the core names has a code whose static name is the core's.
    #[test]
    fn every_code_names_what_the_core_names() {
        for b in [
            Backend::Type1,
            Backend::IommufdCompat,
            Backend::Iommufd,
            Backend::SpaprTce,
        ] {
            assert_eq!(
                backend_str_text(backend_code(b)).to_str().unwrap(),
                b.name()
            );
        }
        for src in [
            Source::Type1PageSizes,
            Source::Type1IovaRangeCap,
            Source::Type1DmaAvailCap,
            Source::Type1MigrationCap,
            Source::IommufdIoas,
            Source::IommufdHwInfo,
            Source::IommufdHwCapabilities,
            Source::Sysfs,
            Source::SpaprDefaultWindow,
            Source::SpaprDefaultWindowPageSize,
            Source::SpaprDdw,
        ] {
            assert_eq!(
                source_str_text(source_code(src)).to_str().unwrap(),
                src.name()
            );
        }
    }

    /// The sizes on a 64-bit target, as CHANGELOG.md records them: a sized struct only
    /// grows by appending fields, in a new release.
    #[test]
    fn facts_carry_kinds_and_sources() {
        let f = DmaFacts {
            backend: Backend::IommufdCompat,
            iova_ranges: Some(Fact {
                value: vec![IovaRange::FULL, IovaRange::FULL],
                source: Source::Type1IovaRangeCap,
            }),
            page_sizes: None,
            iova_alignment: None,
            mapping_limit: Some(Fact {
                value: MappingLimit::Unlimited,
                source: Source::Type1DmaAvailCap,
            }),
            dirty_tracking: Some(Fact {
                value: DirtyTracking::Type1 {
                    pgsize_bitmap: PageSizes(0x1000),
                    max_dirty_bitmap_size: 0x800_0000,
                },
                source: Source::Type1MigrationCap,
            }),
            address_width: None,
            reserved_regions: None,
            dynamic_windows: None,
            notes: vec![],
        };
        let c = c_facts(&f);
        assert_eq!(
            (c.backend, c.iova_ranges_source, c.iova_range_count),
            (
                VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT,
                VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP,
                2
            )
        );
        assert_eq!((c.page_sizes_source, c.page_sizes), (0, 0));
        assert_eq!(
            (
                c.mapping_limit_source,
                c.mapping_limit_kind,
                c.mapping_limit_remaining
            ),
            (
                VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP,
                VFIO_IOMMU_INFO_LIMIT_UNLIMITED,
                0
            )
        );
        assert_eq!(
            (
                c.dirty_tracking_kind,
                c.dirty_pgsize_bitmap,
                c.dirty_max_bitmap_size
            ),
            (VFIO_IOMMU_INFO_DIRTY_TYPE1, 0x1000, 0x800_0000)
        );
    }

    fn vtd(cap: u64, ecap: u64) -> HwInfo {
        let mut data = Vec::new();
        data.extend_from_slice(&1u32.to_ne_bytes());
        data.extend_from_slice(&0u32.to_ne_bytes());
        data.extend_from_slice(&cap.to_ne_bytes());
        data.extend_from_slice(&ecap.to_ne_bytes());
        HwInfo {
            data_type: 1,
            data_len: 24,
            data,
            capabilities: Some(0),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: ::vfio_iommu_info::ByteOrder::Native,
        }
    }

    #[test]
    fn hw_info_decodes_registers_and_keeps_bytes() {
        // QEMU's intel-iommu, aw-bits=48: MGAW 47, SLLPS 2M and 1G.
        let hw = vtd((47 << 16) | (0b11 << 34), 1 << 3);
        let c = c_hw_info(&hw);
        assert_eq!(text(c.type_name), "intel-vtd");
        assert_eq!(
            (c.registers_valid, c.address_width, c.page_sizes),
            (1, 48, 0x4020_1000)
        );
        assert_eq!(
            (c.vtd_flags, c.vtd_ecap, c.capabilities_known),
            (1, 1 << 3, 1)
        );
        assert_eq!((c.data_received, c.truncated), (24, 0));
        assert_eq!(c.data, hw.data.as_ptr());
        // Truncated: nothing decoded, the bytes kept.
        let mut t = hw.clone();
        t.data_len = 40;
        let c = c_hw_info(&t);
        assert_eq!((c.truncated, c.registers_valid, c.address_width), (1, 0, 0));
        // No data, no capabilities field (6.6).
        let none = HwInfo {
            data_type: 0,
            data_len: 0,
            data: vec![],
            capabilities: None,
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: ::vfio_iommu_info::ByteOrder::Native,
        };
        let c = c_hw_info(&none);
        assert_eq!(text(c.type_name), "none");
        assert!(c.data.is_null());
        assert_eq!((c.capabilities_known, c.registers_valid), (0, 0));
    }

    /// A fake host: a sysfs tree and /dev under a temporary directory.
    struct Host {
        root: PathBuf,
    }

    impl Host {
        fn new(name: &str) -> Host {
            let root =
                std::env::temp_dir().join(format!("vii-ffi-iommufd-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("sys/bus/pci/devices")).unwrap();
            std::fs::create_dir_all(root.join("dev/vfio")).unwrap();
            Host { root }
        }

        fn paths(&self, iommufd: &str) -> HostPaths {
            HostPaths {
                vfio_dir: self.root.join("dev/vfio"),
                sysfs: ::vfio_iommu_info::Sysfs::new(self.root.join("sys")),
                iommufd: PathBuf::from(iommufd),
                ..HostPaths::default()
            }
        }

        /// A PCI device bound to `driver` (a directory named after it).
        fn device(&self, address: &str, driver: &str) {
            let dev = self.root.join("sys/bus/pci/devices").join(address);
            std::fs::create_dir_all(&dev).unwrap();
            let drv = self.root.join("sys/bus/pci/drivers").join(driver);
            std::fs::create_dir_all(&drv).unwrap();
            std::os::unix::fs::symlink(&drv, dev.join("driver")).unwrap();
        }
    }

    impl Drop for Host {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn open_code(paths: &HostPaths, address: &str) -> (c_int, String) {
        let address = parse_address(address).unwrap();
        let e = vfio_iommu_info_iommufd::open(address, paths).unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn each_failure_of_the_dance_has_its_code() {
        let host = Host::new("codes");
        // No /dev/iommu: the kernel's ENOENT, with what to do.
        let (code, msg) = open_code(&host.paths("/nonexistent/iommu"), "0000:00:03.0");
        assert_eq!(code, -libc::ENOENT, "{msg}");
        assert!(
            msg.contains("/nonexistent/iommu") && msg.contains("CONFIG_IOMMUFD"),
            "{msg}"
        );
        // A node that is not iommufd's is refused before it is opened: -ENOTTY.
        let paths = host.paths("/dev/null");
        let (code, msg) = open_code(&paths, "0000:00:03.0");
        assert_eq!(code, -libc::ENOTTY, "{msg}");
        assert!(
            msg.contains("/dev/null is a character device 1:3 (mem), not iommufd's node"),
            "{msg}"
        );
        // Past /dev/iommu, the device's state decides (the core's checks, with the codes
        // the dance reports them with).
        let code_of = |address: &str| {
            let e = DeviceCdev::open(&address.parse().unwrap(), &paths).unwrap_err();
            let f = Failure::from_error(&e);
            (f.code, f.message)
        };
        let (code, msg) = code_of("0000:00:03.0");
        assert_eq!(code, VFIO_IOMMU_INFO_E_NO_DEVICE, "{msg}");
        host.device("0000:00:04.0", "e1000e");
        let (code, msg) = code_of("0000:00:04.0");
        assert_eq!(code, VFIO_IOMMU_INFO_E_NOT_VIABLE, "{msg}");
        assert!(
            msg.contains("must be on vfio-pci but is bound to e1000e"),
            "{msg}"
        );
        host.device("0000:00:05.0", "vfio-pci");
        let (code, msg) = code_of("0000:00:05.0");
        assert_eq!(code, VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV, "{msg}");
        assert!(msg.contains("CONFIG_VFIO_DEVICE_CDEV"), "{msg}");
    }
}
