//! cloud-hypervisor's VFIO stack opens, vfio-iommu-info answers on its fds.
//!
//! A Rust VMM built on rust-vmm does not let anyone else open its VFIO objects: `vfio-ioctls`
//! opens `/dev/vfio/vfio`, the group and the device ([`VfioContainer`], [`VfioDevice`]), or
//! the device's cdev bound to `/dev/iommu` ([`VfioIommufd`]), and keeps them. This crate
//! opens them exactly that way ([`Type1Stack`], [`IommufdStack`]) and then asks the library,
//! on those fds, what a VMM needs before it maps guest memory ([`type1_answers`],
//! [`iommufd_answers`]): the IOVA ranges, the holes with the reserved regions behind them,
//! DMA_AVAIL, the device and every region. `examples/vmm_fds.rs` prints them;
//! `tests/lab_vfio_ioctls.rs` proves, in the lab's guests, that they equal the answers the
//! library gives when it opens everything itself.
//!
//! No KVM or MSHV device is needed: [`VfioContainer::new`] and [`VfioIommufd::new`] take
//! the hypervisor's VFIO device fd as an `Option`, and with `None` they skip the
//! `KVM_DEV_VFIO_FILE_ADD`/`DEL` calls.

use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::Arc;

use iommufd_ioctls::IommuFd;
use vfio_ioctls::{VfioContainer, VfioDevice, VfioError, VfioIommufd, VfioOps};
use vfio_iommu_info::decode::device_info::DeviceInfo;
use vfio_iommu_info::decode::hw_info::HwInfo;
use vfio_iommu_info::decode::ioas::IoasRanges;
use vfio_iommu_info::decode::region_info::RegionInfo;
use vfio_iommu_info::facts::{ContainerBackend, DmaFacts};
use vfio_iommu_info::query::device::{device_info, region_info};
use vfio_iommu_info::query::iommufd::{container_backend, hw_info, ioas_ranges};
use vfio_iommu_info::{query_type1, Error, HostPaths, IommuInfo, IovaSpace, PciAddress};

/// What went wrong, and in which layer: vfio-ioctls opening the VMM's objects, or the
/// library answering on them.
#[derive(Debug)]
pub enum StackError {
    /// A vfio-ioctls call failed (its own error, which names neither the device nor the
    /// node, with the step and the device added here).
    Vmm {
        /// The vfio-ioctls call.
        step: &'static str,
        /// The device's sysfs directory handed to it.
        device: PathBuf,
        /// vfio-ioctls' error, with its source chain flattened into the message.
        detail: String,
    },
    /// vfio-iommu-info refused (its error says what, where and what to do).
    Library(Error),
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::Vmm {
                step,
                device,
                detail,
            } => write!(
                f,
                "vfio-ioctls {step} for {}: {detail} (check that the device is bound to vfio-pci and its group is viable: vfio-iommu-info explain ADDRESS)",
                device.display()
            ),
            StackError::Library(e) => write!(f, "vfio-iommu-info: {e}"),
        }
    }
}

impl std::error::Error for StackError {}

impl From<Error> for StackError {
    fn from(e: Error) -> StackError {
        StackError::Library(e)
    }
}

/// An error with its sources, one line: some vfio-ioctls errors keep the errno only in a
/// source, others print it themselves too (a source already in the text is not repeated).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn vmm_error<'a>(
    step: &'static str,
    device: &'a std::path::Path,
) -> impl FnOnce(VfioError) -> StackError + 'a {
    move |e| StackError::Vmm {
        step,
        device: device.to_owned(),
        detail: chain(&e),
    }
}

/// The fd an object of vfio-ioctls or iommufd-ioctls holds, borrowed for as long as the
/// object lives. Those types implement only `AsRawFd`, not `AsFd`.
fn borrow<T: AsRawFd + ?Sized>(owner: &T) -> BorrowedFd<'_> {
    // SAFETY: each owner passed here (VfioContainer, VfioDevice, IommuFd) keeps its
    // descriptor in a `File` it closes only when dropped, and the borrow cannot outlive
    // `owner`.
    unsafe { BorrowedFd::borrow_raw(owner.as_raw_fd()) }
}

/// A PCI device opened as cloud-hypervisor opens it on the legacy container path:
/// `VfioContainer::new(None)` (`/dev/vfio/vfio`, API version, the TYPE1v2 extension), then
/// `VfioDevice::new(sysfs path, container, false)` (the group from the device's
/// `iommu_group` link, opened, checked viable, put in the container, `VFIO_SET_IOMMU`
/// TYPE1v2, `VFIO_GROUP_GET_DEVICE_FD`, device, region and irq info).
pub struct Type1Stack {
    // Declared first: dropped before the container (vfio-ioctls releases the group then).
    device: VfioDevice,
    container: Arc<VfioContainer>,
    group: u32,
    sysfs_path: PathBuf,
}

impl Type1Stack {
    /// Opens `address` through vfio-ioctls; `paths` only names the sysfs tree (vfio-ioctls
    /// itself always opens `/dev/vfio`).
    pub fn open(address: &PciAddress, paths: &HostPaths) -> Result<Type1Stack, StackError> {
        let sysfs_path = paths.sysfs.pci_device_dir(address);
        let group = paths.sysfs.group_of_device(address)?;
        let container = Arc::new(
            VfioContainer::new(None).map_err(vmm_error("VfioContainer::new", &sysfs_path))?,
        );
        let ops: Arc<dyn VfioOps> = container.clone();
        let device = VfioDevice::new(&sysfs_path, ops, false)
            .map_err(vmm_error("VfioDevice::new", &sysfs_path))?;
        Ok(Type1Stack {
            device,
            container,
            group,
            sysfs_path,
        })
    }

    /// The container fd vfio-ioctls holds (`/dev/vfio/vfio`).
    pub fn container_fd(&self) -> BorrowedFd<'_> {
        borrow(&*self.container)
    }

    /// The device fd vfio-ioctls holds (from `VFIO_GROUP_GET_DEVICE_FD`).
    pub fn device_fd(&self) -> BorrowedFd<'_> {
        borrow(&self.device)
    }

    /// The device's IOMMU group (vfio-ioctls keeps its group fd private).
    pub fn group(&self) -> u32 {
        self.group
    }

    /// The device's sysfs directory.
    pub fn sysfs_path(&self) -> &std::path::Path {
        &self.sysfs_path
    }

    /// vfio-ioctls' container, to map DMA with (`vfio_dma_map`).
    pub fn container(&self) -> &VfioContainer {
        &self.container
    }

    /// vfio-ioctls' device.
    pub fn device(&self) -> &VfioDevice {
        &self.device
    }
}

/// A PCI device opened as cloud-hypervisor opens it on the iommufd path (vfio-ioctls'
/// `vfio_cdev` feature): `IommuFd::new()` (`/dev/iommu`), `VfioIommufd::new(iommufd, None,
/// None)` (a new IOAS), then `VfioDevice::new(sysfs path, iommufd, true)` (the cdev named
/// by the device's `vfio-dev/` directory opened, `VFIO_DEVICE_BIND_IOMMUFD`,
/// `VFIO_DEVICE_ATTACH_IOMMUFD_PT` to the IOAS, device, region and irq info).
pub struct IommufdStack {
    device: VfioDevice,
    iommufd: Arc<VfioIommufd>,
    dev_id: u32,
    address: PciAddress,
    sysfs_path: PathBuf,
}

impl IommufdStack {
    /// Opens `address` through vfio-ioctls' cdev path.
    pub fn open(address: &PciAddress, paths: &HostPaths) -> Result<IommufdStack, StackError> {
        let sysfs_path = paths.sysfs.pci_device_dir(address);
        let fd = IommuFd::new().map_err(|e| StackError::Vmm {
            step: "IommuFd::new",
            device: sysfs_path.clone(),
            detail: chain(&e),
        })?;
        let iommufd = Arc::new(
            VfioIommufd::new(Arc::new(fd), None, None)
                .map_err(vmm_error("VfioIommufd::new", &sysfs_path))?,
        );
        let ops: Arc<dyn VfioOps> = iommufd.clone();
        let device = VfioDevice::new(&sysfs_path, ops, true)
            .map_err(vmm_error("VfioDevice::new", &sysfs_path))?;
        let dev_id = device.iommufd_dev_id().ok_or_else(|| StackError::Vmm {
            step: "VfioDevice::iommufd_dev_id",
            device: sysfs_path.clone(),
            detail: "no iommufd device id after VfioDevice::new on a VfioIommufd".to_owned(),
        })?;
        Ok(IommufdStack {
            device,
            iommufd,
            dev_id,
            address: *address,
            sysfs_path,
        })
    }

    /// The `/dev/iommu` fd vfio-ioctls holds.
    pub fn iommufd_fd(&self) -> BorrowedFd<'_> {
        borrow(&**self.iommufd.iommufd())
    }

    /// The IOAS vfio-ioctls allocated and attached the device to.
    pub fn ioas(&self) -> u32 {
        self.iommufd.ioas().id()
    }

    /// The id `VFIO_DEVICE_BIND_IOMMUFD` gave the device.
    pub fn dev_id(&self) -> u32 {
        self.dev_id
    }

    /// The device's cdev fd (`/dev/vfio/devices/vfioN`).
    pub fn device_fd(&self) -> BorrowedFd<'_> {
        borrow(&self.device)
    }

    /// The PCI address.
    pub fn address(&self) -> &PciAddress {
        &self.address
    }

    /// The device's sysfs directory.
    pub fn sysfs_path(&self) -> &std::path::Path {
        &self.sysfs_path
    }

    /// vfio-ioctls' iommufd object, to map DMA with (`vfio_dma_map`).
    pub fn vfio_iommufd(&self) -> &VfioIommufd {
        &self.iommufd
    }
}

/// What the library says about a device fd: `VFIO_DEVICE_GET_INFO`, then
/// `VFIO_DEVICE_GET_REGION_INFO` for every index it names (an index the device does not
/// implement, such as vfio-pci's VGA region on a device that is no VGA device, keeps the
/// library's error).
#[derive(Debug)]
pub struct DeviceAnswers {
    /// The device info.
    pub info: DeviceInfo,
    /// Each region index below `info.num_regions`, with its info or the error.
    pub regions: Vec<(u32, Result<RegionInfo, Error>)>,
}

/// [`DeviceAnswers`] on a caller's device fd.
pub fn device_answers(device: BorrowedFd<'_>) -> Result<DeviceAnswers, Error> {
    let info = device_info(device)?;
    let regions = (0..info.num_regions)
        .map(|index| (index, region_info(device, index)))
        .collect();
    Ok(DeviceAnswers { info, regions })
}

/// What the library says on a container fd a VMM set up (groups attached, IOMMU model
/// set, a device opened) and on its device fd.
#[derive(Debug)]
pub struct Type1Answers {
    /// Who serves the container: the type1 driver or iommufd's compat container.
    pub backend: ContainerBackend,
    /// The IOMMU groups whose sysfs reserved regions explain the holes (as given).
    pub groups: Vec<u32>,
    /// `VFIO_IOMMU_GET_INFO`, decoded: page sizes, IOVA ranges, DMA_AVAIL, migration.
    pub info: IommuInfo,
    /// The same as facts with their sources, the groups' reserved regions added.
    pub facts: DmaFacts,
    /// The usable space, each hole with the reserved regions behind it; `None` when the
    /// container reports no IOVA ranges.
    pub space: Option<IovaSpace>,
    /// The device.
    pub device: DeviceAnswers,
}

/// [`Type1Answers`] on `container` and `device`; `groups` are the container's IOMMU
/// groups, whose sysfs reserved regions (under `paths`) explain the holes.
pub fn type1_answers(
    container: BorrowedFd<'_>,
    device: BorrowedFd<'_>,
    groups: &[u32],
    paths: &HostPaths,
) -> Result<Type1Answers, Error> {
    let info = query_type1(container)?;
    let backend = container_backend(container)?;
    let regions = groups.iter().try_fold(Vec::new(), |mut all, &g| {
        all.extend(paths.sysfs.reserved_regions(g)?);
        Ok::<_, Error>(all)
    });
    let facts = DmaFacts::from_type1(&info, backend.into()).with_sysfs(regions);
    // Each hole's regions with the group that lists them, as the library's own open path
    // attributes them (`Container::space`).
    let space = IovaSpace::from_facts(&facts)
        .map(|s| s.with_groups(&paths.sysfs, groups))
        .transpose()?;
    Ok(Type1Answers {
        backend,
        groups: groups.to_vec(),
        info,
        facts,
        space,
        device: device_answers(device)?,
    })
}

/// What the library says on a VMM's iommufd, IOAS and bound device.
#[derive(Debug)]
pub struct IommufdAnswers {
    /// `IOMMU_IOAS_IOVA_RANGES` of the IOAS.
    pub ranges: IoasRanges,
    /// `IOMMU_GET_HW_INFO` for the device, or why not (the rest stands without it).
    pub hw_info: Result<HwInfo, Error>,
    /// Facts with their sources, the device's group's reserved regions added.
    pub facts: DmaFacts,
    /// The usable space, each hole with the reserved regions behind it.
    pub space: Option<IovaSpace>,
    /// The device (its cdev fd).
    pub device: DeviceAnswers,
}

/// [`IommufdAnswers`] on `iommufd` (IOAS `ioas`, the device bound as `dev_id`) and the
/// device's cdev fd; `address` names the device in sysfs for its reserved regions.
pub fn iommufd_answers(
    iommufd: BorrowedFd<'_>,
    ioas: u32,
    dev_id: u32,
    device: BorrowedFd<'_>,
    address: &PciAddress,
    paths: &HostPaths,
) -> Result<IommufdAnswers, Error> {
    let ranges = ioas_ranges(iommufd, ioas)?;
    let hw_info = hw_info(iommufd, dev_id);
    let facts = DmaFacts::from_iommufd(&ranges, hw_info.as_ref().ok())
        .with_sysfs(paths.sysfs.reserved_regions_of_device(address));
    let space = IovaSpace::from_facts(&facts);
    Ok(IommufdAnswers {
        ranges,
        hw_info,
        facts,
        space,
        device: device_answers(device)?,
    })
}
