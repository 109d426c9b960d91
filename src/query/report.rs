//! The iommufd path's report on one device: everything `/dev/iommu` and sysfs say about
//! where it may map DMA, gathered once for the command, the C ABI and Python.

use std::path::PathBuf;

use crate::decode::hw_info::HwInfo;
use crate::decode::ioas::IoasRanges;
use crate::error::Error;
use crate::facts::DmaFacts;
use crate::plan::space::IovaSpace;
use crate::query::cdev::{facts_of, IommufdDevice};
use crate::sys::paths::HostPaths;
use crate::sys::sysfs::{PciAddress, ReservedRegion};

/// What the iommufd path knows about one device bound to an iommufd and attached to an
/// IOAS: its ids, the IOAS's usable ranges, the IOMMU hardware (or why it could not be
/// read: `IOMMU_GET_HW_INFO` is Linux 6.6+ and not every driver answers it), the group's
/// reserved regions, and the facts drawn from all of them.
#[derive(Debug)]
pub struct IommufdReport {
    /// The PCI device.
    pub address: PciAddress,
    /// Its IOMMU group, when sysfs names one.
    pub group: Option<u32>,
    /// The device node (`/dev/vfio/devices/vfioN`).
    pub cdev: PathBuf,
    /// The id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    pub dev_id: u32,
    /// The IOAS the device is attached to.
    pub ioas: u32,
    /// The HWPT the attach created or reused.
    pub hwpt: u32,
    /// `IOMMU_IOAS_IOVA_RANGES` of the IOAS.
    pub ranges: IoasRanges,
    /// `IOMMU_GET_HW_INFO`, or the error that stopped it (the report stands without it).
    pub hw_info: Result<HwInfo, Error>,
    /// The reserved regions of the device's group (sysfs), each with the group.
    pub reserved_regions: Vec<(u32, ReservedRegion)>,
    /// The facts: ranges, alignment, address width, page sizes, each with its source.
    pub facts: DmaFacts,
}

/// A device opened on the iommufd path: its address, its node, and the ids the kernel gave
/// when it was bound and attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The PCI device.
    pub address: PciAddress,
    /// The device node (`/dev/vfio/devices/vfioN`).
    pub cdev: PathBuf,
    /// The id `VFIO_DEVICE_BIND_IOMMUFD` gave.
    pub dev_id: u32,
    /// The IOAS `IOMMU_IOAS_ALLOC` gave, the device attached to it.
    pub ioas: u32,
    /// The HWPT `VFIO_DEVICE_ATTACH_IOMMUFD_PT` answered.
    pub hwpt: u32,
}

impl IommufdReport {
    /// Opens `address` on the iommufd path (see [`IommufdDevice::open`]) and reports on
    /// it; the device stays open for the caller (to map into its IOAS) or is dropped.
    pub fn open(
        address: &PciAddress,
        paths: &HostPaths,
    ) -> Result<(IommufdDevice, IommufdReport), Error> {
        let device = IommufdDevice::open(address, paths)?;
        let report = IommufdReport::of(&device, paths)?;
        Ok((device, report))
    }

    /// The report on a device already open on the iommufd path. Fails only when the IOAS
    /// ranges cannot be read; a failed `hw_info` is kept in [`IommufdReport::hw_info`].
    pub fn of(device: &IommufdDevice, paths: &HostPaths) -> Result<IommufdReport, Error> {
        let ranges = device.iova_ranges()?;
        let hw_info = device.hw_info();
        let opened = Opened {
            address: *device.address(),
            cdev: device.cdev_path().to_owned(),
            dev_id: device.dev_id(),
            ioas: device.ioas(),
            hwpt: device.hwpt(),
        };
        Ok(IommufdReport::from_answers(opened, ranges, hw_info, paths))
    }

    /// The report from the kernel's answers for a device `opened` on the iommufd path
    /// (`IOMMU_IOAS_IOVA_RANGES` and `IOMMU_GET_HW_INFO`, decoded) and what sysfs in
    /// `paths` says of its group: what [`IommufdReport::of`] builds live, and a snapshot
    /// replays (`Snapshot::iommufd_report`, with the `json` feature).
    pub fn from_answers(
        opened: Opened,
        ranges: IoasRanges,
        hw_info: Result<HwInfo, Error>,
        paths: &HostPaths,
    ) -> IommufdReport {
        let address = opened.address;
        let facts = facts_of(&address, &ranges, hw_info.as_ref().ok(), paths);
        let group = paths.sysfs.group_of_device(&address).ok();
        let reserved_regions = group
            .map(|g| {
                let regions = paths.sysfs.reserved_regions(g).unwrap_or_default();
                regions.into_iter().map(|r| (g, r)).collect()
            })
            .unwrap_or_default();
        IommufdReport {
            address,
            group,
            cdev: opened.cdev,
            dev_id: opened.dev_id,
            ioas: opened.ioas,
            hwpt: opened.hwpt,
            ranges,
            hw_info,
            reserved_regions,
            facts,
        }
    }

    /// The usable space: the IOAS ranges, each hole attributed to the group's reserved
    /// regions.
    pub fn space(&self) -> IovaSpace {
        let regions: Vec<ReservedRegion> = self
            .reserved_regions
            .iter()
            .map(|(_, r)| r.clone())
            .collect();
        IovaSpace::new(&self.ranges.ranges, None).with_reserved_regions(&regions)
    }
}
