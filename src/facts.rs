//! One model of what a backend says about DMA mapping, every fact tagged with where it came
//! from, so answers from type1, iommufd's compat container, iommufd itself and sysfs can be
//! compared without mixing up what each interface means (a type1 page-size bitmap is not
//! iommufd's required alignment; iommufd compat's `DMA_AVAIL` of `U32_MAX` means "no
//! limit", not "4 billion left").

use std::fmt;

use crate::decode::hw_info::{HwData, HwInfo};
use crate::decode::ioas::IoasRanges;
use crate::decode::spapr_tce::{
    Ddw, DdwInfo, SpaprTceInfo, DDW_EXPECTED_START, DEFAULT_WINDOW_PAGE_SIZE,
};
use crate::decode::type1::{Absence, IommuInfo, Type1Cap};
use crate::error::Error;
use crate::iova::{IovaRange, PageSizes};
use crate::sys::arch::Arch;
use crate::sys::sysfs::ReservedRegion;

/// What answers `IOMMU_VFIO_IOAS` on a type1 container fd: iommufd's VFIO compatibility
/// (`CONFIG_IOMMUFD_VFIO_CONTAINER`, where `/dev/vfio/vfio` is served by iommufd) or the
/// real VFIO container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerBackend {
    /// The VFIO container with `vfio_iommu_type1`.
    Vfio,
    /// iommufd's compatibility container; `ioas` is its IOAS once `VFIO_SET_IOMMU` made one.
    IommufdCompat {
        /// The compat IOAS id, when there is one.
        ioas: Option<u32>,
    },
}

/// Which kernel interface answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `/dev/vfio/vfio` served by `vfio_iommu_type1`.
    Type1,
    /// `/dev/vfio/vfio` served by iommufd's VFIO compatibility (`CONFIG_IOMMUFD_VFIO_CONTAINER`).
    IommufdCompat,
    /// `/dev/iommu` with the device's VFIO cdev.
    Iommufd,
    /// `/dev/vfio/vfio` served by `vfio_iommu_spapr_tce` (IBM POWER: PowerNV, pseries).
    SpaprTce,
}

impl Backend {
    /// A stable name: `type1`, `iommufd-compat`, `iommufd`, `spapr-tce`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Type1 => "type1",
            Backend::IommufdCompat => "iommufd-compat",
            Backend::Iommufd => "iommufd",
            Backend::SpaprTce => "spapr-tce",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = UnknownBackend;

    /// The backend a [`Backend::name`] names.
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        [
            Backend::Type1,
            Backend::IommufdCompat,
            Backend::Iommufd,
            Backend::SpaprTce,
        ]
        .into_iter()
        .find(|b| b.name() == s)
        .ok_or_else(|| UnknownBackend(s.to_owned()))
    }
}

/// A backend name that is not `type1`, `iommufd-compat`, `iommufd` or `spapr-tce`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a backend: expected \"type1\", \"iommufd-compat\", \"iommufd\" or \"spapr-tce\""
)]
pub struct UnknownBackend(pub String);

impl From<ContainerBackend> for Backend {
    fn from(b: ContainerBackend) -> Self {
        match b {
            ContainerBackend::Vfio => Backend::Type1,
            ContainerBackend::IommufdCompat { .. } => Backend::IommufdCompat,
        }
    }
}

/// Which VFIO IOMMU a container of each architecture has is a fact of the architecture
/// (IBM POWER's is sPAPR TCE, every other Linux architecture's type1 or iommufd), and an
/// architecture this library does not know is said to be unknown rather than assumed to
/// be x86.
impl Arch {
    /// The backend a VFIO container (`/dev/vfio/vfio`) has here: [`Backend::SpaprTce`] on
    /// POWER, [`Backend::Type1`] elsewhere (iommufd's compat container answers as type1);
    /// `None` for an unknown architecture.
    pub fn container_backend(&self) -> Option<Backend> {
        match self {
            Arch::PowerPc64 => Some(Backend::SpaprTce),
            Arch::Other(_) => None,
            _ => Some(Backend::Type1),
        }
    }

    /// The kernel modules a VFIO container with PCI devices needs here (their names in
    /// `/sys/module`, `vfio-pci` as a driver): `vfio`, `vfio-pci` and the IOMMU backend
    /// (`vfio_iommu_spapr_tce` on POWER, `vfio_iommu_type1` elsewhere); `None` for an
    /// unknown architecture.
    pub fn container_modules(&self) -> Option<[&'static str; 3]> {
        self.container_backend().map(|b| {
            [
                "vfio",
                "vfio-pci",
                if b == Backend::SpaprTce {
                    "vfio_iommu_spapr_tce"
                } else {
                    "vfio_iommu_type1"
                },
            ]
        })
    }
}

/// Where a fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `iova_pgsizes` of `VFIO_IOMMU_GET_INFO`.
    Type1PageSizes,
    /// The type1 `IOVA_RANGE` capability.
    Type1IovaRangeCap,
    /// The type1 `DMA_AVAIL` capability.
    Type1DmaAvailCap,
    /// The type1 `MIGRATION` capability.
    Type1MigrationCap,
    /// `IOMMU_IOAS_IOVA_RANGES` (ranges, or `out_iova_alignment`).
    IommufdIoas,
    /// The type-specific data of `IOMMU_GET_HW_INFO` (decoded registers).
    IommufdHwInfo,
    /// `out_capabilities` of `IOMMU_GET_HW_INFO`.
    IommufdHwCapabilities,
    /// sysfs `reserved_regions`.
    Sysfs,
    /// `dma32_window_start`/`size` of `VFIO_IOMMU_SPAPR_TCE_GET_INFO`.
    SpaprDefaultWindow,
    /// The kernel's own choice, not a field: a v2 sPAPR container creates its default
    /// window with 4K TCEs (`tce_iommu_create_default_window()`).
    SpaprDefaultWindowPageSize,
    /// The `ddw` block of `VFIO_IOMMU_SPAPR_TCE_GET_INFO`.
    SpaprDdw,
}

impl Source {
    /// A stable name, e.g. `type1:iova-range-cap`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Type1PageSizes => "type1:iova_pgsizes",
            Source::Type1IovaRangeCap => "type1:iova-range-cap",
            Source::Type1DmaAvailCap => "type1:dma-avail-cap",
            Source::Type1MigrationCap => "type1:migration-cap",
            Source::IommufdIoas => "iommufd:ioas-iova-ranges",
            Source::IommufdHwInfo => "iommufd:hw-info",
            Source::IommufdHwCapabilities => "iommufd:hw-info-capabilities",
            Source::Sysfs => "sysfs:reserved_regions",
            Source::SpaprDefaultWindow => "spapr:dma32-window",
            Source::SpaprDefaultWindowPageSize => "spapr:default-window-tce-size",
            Source::SpaprDdw => "spapr:ddw",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<T> {
    /// The value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

fn fact<T>(value: T, source: Source) -> Option<Fact<T>> {
    Some(Fact { value, source })
}

/// How many more mappings the kernel accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingLimit {
    /// This many more (type1's `dma_entry_limit` minus the mappings made).
    Remaining(u32),
    /// No per-container count: iommufd limits pinned memory through the memory cgroup
    /// and `RLIMIT_MEMLOCK` instead (its compat container reports `U32_MAX`).
    Unlimited,
}

/// Dirty-page tracking, as the backend describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirtyTracking {
    /// type1's `MIGRATION` capability: dirty bitmaps through `VFIO_IOMMU_DIRTY_PAGES`
    /// (tracked by pinning, not by the IOMMU), with these granules and bitmap limit.
    Type1 {
        /// Page sizes the bitmap can be kept at.
        pgsize_bitmap: PageSizes,
        /// The largest bitmap, in bytes.
        max_dirty_bitmap_size: u64,
    },
    /// iommufd's `IOMMU_HW_CAP_DIRTY_TRACKING`: whether the IOMMU hardware tracks dirty
    /// pages for this device (through `IOMMU_HWPT_SET_DIRTY_TRACKING`).
    Hardware(bool),
}

/// What one backend says about mapping DMA for a device or container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaFacts {
    /// The interface that answered.
    pub backend: Backend,
    /// The usable IOVA ranges.
    pub iova_ranges: Option<Fact<Vec<IovaRange>>>,
    /// The page sizes mappings can use (type1's bitmap; for iommufd, derived from the
    /// hardware registers when the driver reports them).
    pub page_sizes: Option<Fact<PageSizes>>,
    /// The alignment every mapping's IOVA and length must have (iommufd's
    /// `out_iova_alignment`).
    pub iova_alignment: Option<Fact<u64>>,
    /// The mapping count limit.
    pub mapping_limit: Option<Fact<MappingLimit>>,
    /// Dirty tracking.
    pub dirty_tracking: Option<Fact<DirtyTracking>>,
    /// The IOVA width the IOMMU hardware translates, in bits (from its registers). The
    /// kernel's page table for the device may be narrower: `iova_ranges` are what can be
    /// mapped, and a note says when they end below this width (Linux 7.x on QEMU's
    /// amd-iommu: EFR.HATS allows 64 bits, the kernel's table covers 48).
    pub address_width: Option<Fact<u8>>,
    /// The reserved regions of the IOMMU groups behind the answer (the causes of its holes).
    pub reserved_regions: Option<Fact<Vec<ReservedRegion>>>,
    /// sPAPR TCE's dynamic DMA windows: the page sizes, how many windows and TCE table
    /// levels `VFIO_IOMMU_SPAPR_TCE_CREATE` accepts. Where a window goes is the
    /// platform's choice, known only once created (see `notes`).
    pub dynamic_windows: Option<Fact<DdwInfo>>,
    /// Why a fact is missing or means something other than it seems, one sentence each.
    pub notes: Vec<String>,
}

impl DmaFacts {
    /// The facts of a `VFIO_IOMMU_GET_INFO` answer; `backend` says whether a real type1
    /// container or iommufd's compatibility container gave it (see
    /// `query::iommufd::container_backend`).
    pub fn from_type1(info: &IommuInfo, backend: Backend) -> DmaFacts {
        let compat = backend == Backend::IommufdCompat;
        let mut notes = Vec::new();
        let iova_ranges = match info.iova_ranges.present() {
            Some(r) => fact(r.clone(), Source::Type1IovaRangeCap),
            None => {
                notes.push(absence_note(
                    Type1Cap::IovaRange,
                    info.iova_ranges.absence(),
                ));
                None
            }
        };
        let mapping_limit = match info.dma_avail.present() {
            Some(&u32::MAX) if compat => {
                notes.push("iommufd's compat container reports DMA_AVAIL = U32_MAX: it has no mapping count limit (pinned memory is limited by RLIMIT_MEMLOCK and the memory cgroup)".to_owned());
                fact(MappingLimit::Unlimited, Source::Type1DmaAvailCap)
            }
            Some(&n) => fact(MappingLimit::Remaining(n), Source::Type1DmaAvailCap),
            None => {
                notes.push(absence_note(Type1Cap::DmaAvail, info.dma_avail.absence()));
                None
            }
        };
        let dirty_tracking = match info.migration.present() {
            Some(m) => fact(
                DirtyTracking::Type1 {
                    pgsize_bitmap: m.pgsize_bitmap,
                    max_dirty_bitmap_size: m.max_dirty_bitmap_size,
                },
                Source::Type1MigrationCap,
            ),
            None if compat => {
                notes.push("iommufd's compat container has no MIGRATION capability: dirty tracking is iommufd's (IOMMU_HWPT_SET_DIRTY_TRACKING), ask through the iommufd backend".to_owned());
                None
            }
            None => {
                notes.push(absence_note(Type1Cap::Migration, info.migration.absence()));
                None
            }
        };
        DmaFacts {
            backend,
            iova_ranges,
            page_sizes: info
                .iova_pgsizes
                .and_then(|p| fact(p, Source::Type1PageSizes)),
            iova_alignment: None,
            mapping_limit,
            dirty_tracking,
            address_width: None,
            reserved_regions: None,
            dynamic_windows: None,
            notes,
        }
    }

    /// The facts of an sPAPR TCE container (`VFIO_IOMMU_SPAPR_TCE_GET_INFO`): the default
    /// 32-bit window is the aperture and the one usable range (an IOVA is an absolute
    /// bus address, the window a filter), mapped in 4K TCEs; the dynamic windows' limits
    /// are their own fact, since a window exists only once the caller creates it.
    pub fn from_spapr_tce(info: &SpaprTceInfo) -> DmaFacts {
        let mut notes = Vec::new();
        let window = info.default_window();
        if window.is_none() {
            notes.push("dma32_window_size is 0: the platform reports no default window; map only in a dynamic window (VFIO_IOMMU_SPAPR_TCE_CREATE)".to_owned());
        } else {
            notes.push("a v2 container creates the default window (4K TCEs) at the first MAP_DMA or CREATE; VFIO_IOMMU_SPAPR_TCE_REMOVE of start 0 removes it, which this report cannot see".to_owned());
        }
        notes.push("sPAPR has no mapping count limit: a window holds size / page size TCEs; a v2 container maps only memory preregistered with VFIO_IOMMU_SPAPR_REGISTER_MEMORY, limited by RLIMIT_MEMLOCK".to_owned());
        notes.push("sPAPR TCE does not track dirty pages".to_owned());
        let dynamic_windows = match info.ddw {
            Ddw::Supported(d) => {
                notes.push(format!("a dynamic window's start is the platform's choice, returned by VFIO_IOMMU_SPAPR_TCE_CREATE (expected {DDW_EXPECTED_START:#x} = 2^59 on PowerNV and QEMU's pseries; not a promise)"));
                fact(d, Source::SpaprDdw)
            }
            Ddw::NotReturned { argsz } => {
                notes.push(format!("dynamic windows are supported but their limits were not returned (argsz {argsz} < 32): query again with argsz 32"));
                None
            }
            Ddw::Unsupported => {
                notes.push("no dynamic DMA windows (a v1 container, or a platform without DDW): only the default window".to_owned());
                None
            }
        };
        DmaFacts {
            backend: Backend::SpaprTce,
            iova_ranges: window.and_then(|w| fact(vec![w], Source::SpaprDefaultWindow)),
            page_sizes: window.and_then(|_| {
                fact(
                    PageSizes(DEFAULT_WINDOW_PAGE_SIZE),
                    Source::SpaprDefaultWindowPageSize,
                )
            }),
            iova_alignment: None,
            mapping_limit: None,
            dirty_tracking: None,
            address_width: None,
            reserved_regions: None,
            dynamic_windows,
            notes,
        }
    }

    /// The facts of the iommufd backend: an attached IOAS's ranges and the device's
    /// hardware info (`None` when `IOMMU_GET_HW_INFO` was not asked or failed).
    pub fn from_iommufd(ranges: &IoasRanges, hw: Option<&HwInfo>) -> DmaFacts {
        let mut notes = vec!["iommufd has no mapping count limit: pinned memory is limited by RLIMIT_MEMLOCK and the memory cgroup".to_owned()];
        let data = hw.map(HwInfo::decode);
        let decoded = match &data {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                notes.push(format!("IOMMU_GET_HW_INFO data not decoded: {e}"));
                None
            }
            None => {
                notes.push("no IOMMU_GET_HW_INFO answer".to_owned());
                None
            }
        };
        if let Some(HwData::None) = decoded {
            notes.push("the IOMMU driver reports no hardware data (IOMMU_HW_INFO_TYPE_NONE): page sizes and address width are unknown to iommufd; the IOVA ranges and alignment still hold".to_owned());
        }
        let dirty_tracking = match hw.map(HwInfo::dirty_tracking) {
            Some(Some(d)) => fact(DirtyTracking::Hardware(d), Source::IommufdHwCapabilities),
            Some(None) => {
                notes.push("this kernel (6.6) predates IOMMU_GET_HW_INFO's capabilities: dirty tracking unknown".to_owned());
                None
            }
            None => None,
        };
        let address_width = decoded.and_then(HwData::address_width);
        if let Some(note) = address_width.and_then(|w| narrower_table_note(w, &ranges.ranges)) {
            notes.push(note);
        }
        DmaFacts {
            backend: Backend::Iommufd,
            iova_ranges: fact(ranges.ranges.clone(), Source::IommufdIoas),
            page_sizes: decoded
                .zip(hw)
                .and_then(|(d, hw)| d.page_sizes(hw.kernel_page_size))
                .and_then(|p| fact(p, Source::IommufdHwInfo)),
            iova_alignment: fact(ranges.alignment, Source::IommufdIoas),
            mapping_limit: fact(MappingLimit::Unlimited, Source::IommufdIoas),
            dirty_tracking,
            address_width: address_width.and_then(|w| fact(w, Source::IommufdHwInfo)),
            reserved_regions: None,
            dynamic_windows: None,
            notes,
        }
    }

    /// Adds the groups' sysfs reserved regions, or a note saying why they are missing.
    pub fn with_sysfs(mut self, regions: Result<Vec<ReservedRegion>, Error>) -> DmaFacts {
        match regions {
            Ok(r) => self.reserved_regions = fact(r, Source::Sysfs),
            Err(e) => self
                .notes
                .push(format!("sysfs reserved regions not read: {e}")),
        }
        self
    }

    /// Where two answers (two backends for one device, or two hosts) disagree on a fact
    /// both have. Facts only one side has are not differences; compare `notes` for those.
    pub fn differences(&self, other: &DmaFacts) -> Vec<Difference> {
        let mut out = Vec::new();
        let mut cmp = |field: &'static str, a: Option<String>, b: Option<String>| {
            if let (Some(a), Some(b)) = (a, b) {
                if a != b {
                    out.push(Difference {
                        field,
                        this: a,
                        other: b,
                    });
                }
            }
        };
        let ranges = |f: &DmaFacts| {
            f.iova_ranges.as_ref().map(|r| {
                r.value
                    .iter()
                    .map(|r| format!("[{:#x}, {:#x}]", r.start, r.end))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        cmp("iova_ranges", ranges(self), ranges(other));
        let pages = |f: &DmaFacts| {
            f.page_sizes
                .as_ref()
                .map(|p| format!("{:#x}", p.value.bits()))
        };
        cmp("page_sizes", pages(self), pages(other));
        let width = |f: &DmaFacts| f.address_width.as_ref().map(|w| w.value.to_string());
        cmp("address_width", width(self), width(other));
        let reserved = |f: &DmaFacts| {
            f.reserved_regions.as_ref().map(|r| {
                let mut v: Vec<String> = r
                    .value
                    .iter()
                    .map(|r| {
                        format!(
                            "[{:#x}, {:#x}] {}",
                            r.range.start,
                            r.range.end,
                            r.kind.name()
                        )
                    })
                    .collect();
                v.sort();
                v.join(" ")
            })
        };
        cmp("reserved_regions", reserved(self), reserved(other));
        let ddw = |f: &DmaFacts| {
            f.dynamic_windows.as_ref().map(|d| {
                format!(
                    "{:#x} {} {}",
                    d.value.page_sizes.bits(),
                    d.value.max_dynamic_windows,
                    d.value.levels
                )
            })
        };
        cmp("dynamic_windows", ddw(self), ddw(other));
        out
    }
}

/// A fact two answers disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The field (`iova_ranges`, `page_sizes`, `address_width`, `reserved_regions`,
    /// `dynamic_windows`).
    pub field: &'static str,
    /// This side's value.
    pub this: String,
    /// The other side's value.
    pub other: String,
}

fn absence_note(cap: Type1Cap, absence: Option<Absence>) -> String {
    match absence {
        Some(a) => format!("{}: {}", cap.name(), a.explain(cap)),
        None => format!("{}: not reported", cap.name()),
    }
}

/// A note when the IOVA ranges end below the `width`-bit space the hardware registers
/// allow: the kernel's page table for the device is narrower than the hardware's (Linux
/// 7.x sizes the AMD host table from the EFR of the ACPI IVHD, which QEMU's amd-iommu
/// leaves 0, so 48 bits, while the EFR register it reports says 64).
fn narrower_table_note(width: u8, ranges: &[IovaRange]) -> Option<String> {
    let top = ranges.iter().map(|r| r.end).max()?;
    let space_end = match width {
        0 => return None,
        64.. => u64::MAX,
        w => (1u64 << w) - 1,
    };
    (top < space_end).then(|| {
        format!(
            "the IOVA ranges end at {top:#x}, below the {width}-bit space the hardware registers allow: the kernel's page table for this device is narrower (map only inside the ranges)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::type1::Reported;

    fn type1_info(dma_avail: Reported<u32>) -> IommuInfo {
        IommuInfo {
            argsz: 0,
            flags: 3,
            iova_pgsizes: Some(PageSizes(0x4020_1000)),
            cap_offset: Some(24),
            caps_truncated: false,
            iova_ranges: Reported::Present(vec![
                IovaRange::new(0, 0xfedf_ffff).unwrap(),
                IovaRange::new(0xfef0_0000, 0xff_ffff_ffff).unwrap(),
            ]),
            migration: Reported::Absent(Absence::NotInChain),
            dma_avail,
            unknown_caps: vec![],
            chain: vec![],
        }
    }

    #[test]
    fn compat_u32_max_is_no_limit_and_its_missing_migration_is_explained() {
        let compat = DmaFacts::from_type1(
            &type1_info(Reported::Present(u32::MAX)),
            Backend::IommufdCompat,
        );
        assert_eq!(compat.mapping_limit.unwrap().value, MappingLimit::Unlimited);
        assert!(compat.dirty_tracking.is_none());
        assert!(compat
            .notes
            .iter()
            .any(|n| n.contains("compat container has no MIGRATION")));
        // The same number from the real type1 is a count.
        let real = DmaFacts::from_type1(&type1_info(Reported::Present(u32::MAX)), Backend::Type1);
        assert_eq!(
            real.mapping_limit.unwrap().value,
            MappingLimit::Remaining(u32::MAX)
        );
        assert_eq!(real.page_sizes.unwrap().source, Source::Type1PageSizes);
    }

    #[test]
    fn iommufd_keeps_alignment_apart_from_page_sizes_and_compares_with_type1() {
        let ranges = IoasRanges {
            ranges: vec![
                IovaRange::new(0, 0xfedf_ffff).unwrap(),
                IovaRange::new(0xfef0_0000, 0xff_ffff_ffff).unwrap(),
            ],
            alignment: 4096,
            calls: 1,
        };
        let mut vtd = Vec::new();
        vtd.extend_from_slice(&1u32.to_ne_bytes());
        vtd.extend_from_slice(&0u32.to_ne_bytes());
        vtd.extend_from_slice(&((39u64 << 16) | (0b11 << 34)).to_ne_bytes());
        vtd.extend_from_slice(&0u64.to_ne_bytes());
        let hw = HwInfo {
            data_type: 1,
            data_len: 24,
            data: vtd,
            capabilities: Some(0),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: crate::decode::bytes::ByteOrder::Native,
        };
        let f = DmaFacts::from_iommufd(&ranges, Some(&hw));
        assert_eq!(f.iova_alignment.as_ref().unwrap().value, 4096);
        assert_eq!(f.page_sizes.as_ref().unwrap().value, PageSizes(0x4020_1000));
        assert_eq!(f.page_sizes.as_ref().unwrap().source, Source::IommufdHwInfo);
        assert_eq!(f.address_width.as_ref().unwrap().value, 40);
        assert_eq!(
            f.dirty_tracking.as_ref().unwrap().value,
            DirtyTracking::Hardware(false)
        );
        let t = DmaFacts::from_type1(&type1_info(Reported::Present(65535)), Backend::Type1);
        assert_eq!(f.differences(&t), vec![]);
        let mut other = t.clone();
        other.page_sizes = fact(PageSizes(0x1000), Source::Type1PageSizes);
        assert_eq!(
            f.differences(&other),
            vec![Difference {
                field: "page_sizes",
                this: "0x40201000".into(),
                other: "0x1000".into()
            }]
        );
    }

    #[test]
    fn sysfs_regions_are_a_fact_or_a_note() {
        let regions = crate::sys::sysfs::parse_reserved_regions(
            "0x00000000fee00000 0x00000000feefffff msi\n",
        )
        .unwrap();
        let t = DmaFacts::from_type1(&type1_info(Reported::Present(1)), Backend::Type1);
        let with = t.clone().with_sysfs(Ok(regions.clone()));
        assert_eq!(
            with.reserved_regions.as_ref().unwrap().source,
            Source::Sysfs
        );
        assert_eq!(with.reserved_regions.as_ref().unwrap().value, regions);
        let without = t.with_sysfs(Err(Error::BadTarget { text: "x".into() }));
        assert!(without.reserved_regions.is_none());
        assert!(without
            .notes
            .iter()
            .any(|n| n.starts_with("sysfs reserved regions not read")));
        let mut other = with.clone();
        other.reserved_regions = fact(vec![], Source::Sysfs);
        assert_eq!(with.differences(&other)[0].field, "reserved_regions");
    }

    #[test]
    fn architectures_are_named_and_power_is_spapr() {
        assert_eq!(Arch::from_name("ppc64le"), Arch::PowerPc64);
        assert_eq!(
            Arch::PowerPc64.container_modules(),
            Some(["vfio", "vfio-pci", "vfio_iommu_spapr_tce"])
        );
        assert_eq!(
            Arch::from_name("aarch64").container_backend(),
            Some(Backend::Type1)
        );
        let odd = Arch::from_name("sparc64");
        assert_eq!(odd.container_backend(), None);
        assert_eq!(odd.container_modules(), None);
        assert!(odd.to_string().contains("does not know"));
        assert_ne!(Arch::host(), Arch::Other(String::new()));
    }

    #[test]
    fn spapr_tce_answers_in_the_same_model() {
        use crate::decode::encode_spapr_tce::SpaprTceState;
        use crate::decode::spapr_tce::decode_spapr_tce;
        let k = SpaprTceState::pseries_6_12();
        let f = DmaFacts::from_spapr_tce(&decode_spapr_tce(&k.encode()).unwrap());
        assert_eq!(f.backend, Backend::SpaprTce);
        let r = f.iova_ranges.as_ref().unwrap();
        assert_eq!(
            (r.value.clone(), r.source),
            (
                vec![IovaRange::new(0, 0x3fff_ffff).unwrap()],
                Source::SpaprDefaultWindow
            )
        );
        assert_eq!(f.page_sizes.as_ref().unwrap().value, PageSizes(0x1000));
        let d = f.dynamic_windows.as_ref().unwrap();
        assert_eq!(
            (d.value.page_sizes, d.value.max_dynamic_windows, d.source),
            (PageSizes(0x1211000), 2, Source::SpaprDdw)
        );
        assert!(f.mapping_limit.is_none());
        assert!(f.notes.iter().any(|n| n.contains("2^59")));
        // argsz 16: supported, not returned, said so.
        let short = DmaFacts::from_spapr_tce(&decode_spapr_tce(&k.encode_into_len(16, 0)).unwrap());
        assert!(short.dynamic_windows.is_none());
        assert!(short.notes.iter().any(|n| n.contains("argsz 16 < 32")));
        assert_eq!(short.differences(&f), vec![]);
        let mut v1 = k.clone();
        v1.ddw = None;
        let v1 = DmaFacts::from_spapr_tce(&decode_spapr_tce(&v1.encode()).unwrap());
        assert!(v1
            .notes
            .iter()
            .any(|n| n.contains("no dynamic DMA windows")));
        assert_eq!("spapr-tce".parse::<Backend>(), Ok(Backend::SpaprTce));
    }

    #[test]
    fn amd_registers_wider_than_the_kernels_table_get_a_note() {
        // QEMU's amd-iommu under Linux 7.3: EFR 0x29d3 (HATS = 2, 64 bits), the kernel's
        // table 48 bits (lab scenario linux-7.3-compat-amd).
        let mut data = 0x29d3u64.to_ne_bytes().to_vec();
        data.extend_from_slice(&0u64.to_ne_bytes());
        let hw = HwInfo {
            data_type: crate::sys::uapi::IOMMU_HW_INFO_TYPE_AMD,
            data_len: 16,
            data,
            capabilities: Some(0),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: crate::decode::bytes::ByteOrder::Native,
        };
        let narrow = IoasRanges {
            ranges: vec![
                IovaRange::new(0, 0xfedf_ffff).unwrap(),
                IovaRange::new(0x100_0000_0000, (1 << 48) - 1).unwrap(),
            ],
            alignment: 4096,
            calls: 1,
        };
        let f = DmaFacts::from_iommufd(&narrow, Some(&hw));
        assert_eq!(f.address_width.as_ref().unwrap().value, 64);
        let note = f
            .notes
            .iter()
            .find(|n| n.contains("narrower"))
            .expect("a note");
        assert!(
            note.contains("0xffffffffffff") && note.contains("64-bit"),
            "{note}"
        );
        let full = IoasRanges {
            ranges: vec![IovaRange::new(0x1000, u64::MAX).unwrap()],
            ..narrow
        };
        let f = DmaFacts::from_iommufd(&full, Some(&hw));
        assert!(!f.notes.iter().any(|n| n.contains("narrower")), "{f:?}");
        assert_eq!(narrower_table_note(48, &full.ranges), None);
        assert!(narrower_table_note(48, &[IovaRange::new(0, (1 << 47) - 1).unwrap()]).is_some());
        assert_eq!(narrower_table_note(0, &full.ranges), None);
        assert_eq!(narrower_table_note(48, &[]), None);
    }

    #[test]
    fn a_driver_without_hw_data_says_so() {
        let ranges = IoasRanges {
            ranges: vec![IovaRange::FULL],
            alignment: 4096,
            calls: 1,
        };
        let hw = HwInfo {
            data_type: 0,
            data_len: 0,
            data: vec![],
            capabilities: None,
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: crate::decode::bytes::ByteOrder::Native,
        };
        let f = DmaFacts::from_iommufd(&ranges, Some(&hw));
        assert!(f.page_sizes.is_none() && f.address_width.is_none() && f.dirty_tracking.is_none());
        assert!(f
            .notes
            .iter()
            .any(|n| n.contains("IOMMU_HW_INFO_TYPE_NONE")));
        assert!(f.notes.iter().any(|n| n.contains("predates")));
    }
}
