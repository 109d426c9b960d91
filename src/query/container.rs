//! The whole VFIO dance for a user who has a group number, a group path or a PCI address:
//! open `/dev/vfio/vfio`, check the API and the type1 extension, open the group, check it
//! is viable, attach it, set the IOMMU model, query.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::str::FromStr;

use crate::decode::spapr_tce::SpaprTceInfo;
use crate::decode::type1::IommuInfo;
use crate::error::{Errno, Error};
use crate::facts::DmaFacts;
use crate::plan::attach::{what_if_attach, WhatIf};
use crate::plan::space::IovaSpace;
use crate::query::device::Device;
use crate::query::get_info::query_type1_with;
pub use crate::query::group::Group;
use crate::query::iommufd::{backend_of_container, ContainerBackend};
use crate::query::spapr_tce::{
    create_window_with, query_spapr_tce_with, remove_window_with, CreatedWindow, WindowRequest,
};
use crate::sys::arch::Arch;
use crate::sys::ioctl::{argsz_ioctl, map_dma_ioctl, set_container_ioctl, value_ioctl};
use crate::sys::kernel::{Kernel, SystemKernel};
use crate::sys::node::{open_node, NodeKind};
pub use crate::sys::paths::HostPaths;
use crate::sys::sysfs::{PciAddress, ReservedRegion, Sysfs};
use crate::sys::uapi;

/// What a user names: an IOMMU group or a PCI device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An IOMMU group number (`4`).
    Group(u32),
    /// A group device node (`/dev/vfio/4`).
    GroupPath(PathBuf),
    /// A PCI device (`0000:03:00.0` or `03:00.0`).
    Device(PciAddress),
}

impl Target {
    /// The IOMMU group number the target names, found without opening anything: a
    /// device's from sysfs, a group node's from its name under `paths.vfio_dir` or else
    /// from its device number (a `stat`, no open).
    ///
    /// # Errors
    /// A device sysfs does not know or that has no group; a path that is not a VFIO group
    /// node ([`Error::WrongNode`]).
    pub fn group_number(&self, paths: &HostPaths) -> Result<u32, Error> {
        match self {
            Target::Group(n) => Ok(*n),
            Target::Device(addr) => paths.sysfs.group_of_device(addr),
            Target::GroupPath(p) => {
                if p.parent() == Some(paths.vfio_dir.as_path()) {
                    if let Some(n) = p.file_name().and_then(|n| n.to_str()?.parse().ok()) {
                        return Ok(n);
                    }
                }
                let wrong = |found: String| Error::WrongNode {
                    what: p.clone(),
                    expected: "a VFIO group node",
                    found,
                    errno: Errno(libc::ENOTTY),
                    hint: Some(
                        "name the group by number, node (/dev/vfio/N) or PCI address".to_owned(),
                    ),
                };
                let meta = std::fs::metadata(p).map_err(|e| wrong(format!("unreadable ({e})")))?;
                paths
                    .sysfs
                    .vfio_group_of_rdev(std::os::unix::fs::MetadataExt::rdev(&meta))
                    .ok_or_else(|| wrong("not a node sysfs knows as an IOMMU group's".to_owned()))
            }
        }
    }
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if let Ok(n) = s.parse::<u32>() {
            return Ok(Target::Group(n));
        }
        if s.starts_with('/') {
            return Ok(Target::GroupPath(PathBuf::from(s)));
        }
        s.parse::<PciAddress>()
            .map(Target::Device)
            .map_err(|_| Error::BadTarget { text: s.to_owned() })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Group(n) => write!(f, "group {n}"),
            Target::GroupPath(p) => write!(f, "{}", p.display()),
            Target::Device(a) => write!(f, "device {a}"),
        }
    }
}

/// A VFIO container (`/dev/vfio/vfio`) with its groups. Dropping it closes everything it
/// opened.
///
/// When `/dev/vfio/vfio` is iommufd's VFIO compat container (CONFIG_IOMMUFD_VFIO_CONTAINER),
/// a group joins the container's IOAS only when one of its devices is opened
/// (`VFIO_GROUP_GET_DEVICE_FD` binds and attaches it); until then `VFIO_IOMMU_GET_INFO`
/// describes an IOAS no IOMMU constrains (the whole 64-bit space, no hole). So on that
/// backend [`Container::set_iommu`] (and [`Container::attach`] after it) opens every VFIO
/// device of the groups and keeps them open with the container.
#[derive(Debug)]
pub struct Container {
    // Devices, then groups, are declared first so they are closed before the container.
    devices: Vec<Device>,
    groups: Vec<Group>,
    fd: OwnedFd,
    path: PathBuf,
    model: Option<u32>,
    sysfs: Sysfs,
}

impl Container {
    /// Opens `/dev/vfio/vfio` and checks the VFIO API version.
    pub fn open(paths: &HostPaths) -> Result<Container, Error> {
        let path = paths.vfio_dir.join("vfio");
        let fd = open_node(
            &path,
            NodeKind::Container,
            &paths.proc,
            |errno| match errno.0 {
                libc::ENOENT => Some(
                    "the vfio module is not loaded: modprobe vfio-pci (and vfio_iommu_type1)"
                        .to_owned(),
                ),
                libc::EACCES | libc::EPERM => Some(format!(
                    "permission denied: run as root or give this user access to {}",
                    path.display()
                )),
                _ => None,
            },
        )?;
        let container = Container {
            devices: Vec::new(),
            groups: Vec::new(),
            fd,
            path,
            model: None,
            sysfs: paths.sysfs.clone(),
        };
        let version = value_ioctl(container.fd.as_fd(), uapi::VFIO_GET_API_VERSION, 0)
            .map_err(|errno| container.ioctl_error("VFIO_GET_API_VERSION", errno, None))?;
        if version != uapi::VFIO_API_VERSION {
            return Err(Error::ApiVersion {
                path: container.path.display().to_string(),
                version,
            });
        }
        Ok(container)
    }

    fn describe(&self) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                g.number()
                    .map_or_else(|| g.path().display().to_string(), |n| n.to_string())
            })
            .collect();
        if groups.is_empty() {
            format!(
                "container {} (fd {})",
                self.path.display(),
                self.fd.as_raw_fd()
            )
        } else {
            format!(
                "container {} (fd {}, groups {})",
                self.path.display(),
                self.fd.as_raw_fd(),
                groups.join(", ")
            )
        }
    }

    fn ioctl_error(&self, ioctl: &'static str, errno: Errno, hint: Option<String>) -> Error {
        Error::Ioctl {
            ioctl,
            target: self.describe(),
            errno,
            hint,
        }
    }

    /// `VFIO_CHECK_EXTENSION`: whether the container supports `extension`
    /// (`VFIO_TYPE1v2_IOMMU`...).
    pub fn check_extension(&self, extension: u32) -> Result<bool, Error> {
        value_ioctl(
            self.fd.as_fd(),
            uapi::VFIO_CHECK_EXTENSION,
            u64::from(extension),
        )
        .map(|r| r > 0)
        .map_err(|errno| self.ioctl_error("VFIO_CHECK_EXTENSION", errno, None))
    }

    /// The best type1 model the container offers: `VFIO_TYPE1v2_IOMMU`, else
    /// `VFIO_TYPE1_IOMMU`. A container that offers only IBM POWER's sPAPR TCE is named
    /// as such ([`Error::SpaprTceContainer`]): query it with
    /// [`Container::open_targets_spapr_tce`].
    pub fn type1_model(&self) -> Result<u32, Error> {
        for model in [uapi::VFIO_TYPE1V2_IOMMU, uapi::VFIO_TYPE1_IOMMU] {
            if self.check_extension(model)? {
                return Ok(model);
            }
        }
        if let Some(model) = self.spapr_tce_model_offered()? {
            return Err(Error::SpaprTceContainer {
                container: self.describe(),
                model: spapr_model_name(model),
            });
        }
        let hint = if self.check_extension(uapi::VFIO_NOIOMMU_IOMMU)? {
            "VFIO runs in no-IOMMU mode (enable_unsafe_noiommu_mode): there is no IOMMU and no IOVA space to report"
        } else {
            "load the type1 backend: modprobe vfio_iommu_type1"
        };
        Err(Error::NoType1 {
            container: self.describe(),
            hint: Some(hint.to_owned()),
        })
    }

    /// The best sPAPR TCE model the container offers (`VFIO_SPAPR_TCE_v2_IOMMU`, else
    /// `VFIO_SPAPR_TCE_IOMMU`), or `None`.
    fn spapr_tce_model_offered(&self) -> Result<Option<u32>, Error> {
        for model in [uapi::VFIO_SPAPR_TCE_V2_IOMMU, uapi::VFIO_SPAPR_TCE_IOMMU] {
            if self.check_extension(model)? {
                return Ok(Some(model));
            }
        }
        Ok(None)
    }

    /// The best sPAPR TCE model the container offers: `VFIO_SPAPR_TCE_v2_IOMMU` (the only
    /// one a 6.12 pseries guest offers; dynamic windows need it), else
    /// `VFIO_SPAPR_TCE_IOMMU`.
    pub fn spapr_tce_model(&self) -> Result<u32, Error> {
        self.spapr_tce_model_offered()?.ok_or_else(|| Error::NoType1 {
            container: self.describe(),
            hint: Some("the container offers no sPAPR TCE model either: on IBM POWER load vfio_iommu_spapr_tce (modprobe vfio_iommu_spapr_tce); elsewhere the container is type1 or iommufd's".to_owned()),
        })
    }

    /// Attaches an open group (`VFIO_GROUP_SET_CONTAINER`); on iommufd's compat container
    /// with the model already set, opens its VFIO devices too (see [`Container`]).
    pub fn attach(&mut self, group: Group) -> Result<(), Error> {
        set_container_ioctl(group.as_fd(), self.fd.as_fd()).map_err(|errno| Error::Ioctl {
            ioctl: "VFIO_GROUP_SET_CONTAINER",
            target: group.describe(),
            errno,
            hint: match errno.0 {
                libc::EINVAL if self.model.is_some() => Some("the group is already in a container, or its IOMMU cannot join this container's domain: give it a container of its own".to_owned()),
                libc::EINVAL => Some("the group is already attached to a container".to_owned()),
                libc::EBUSY => Some("a kernel driver still owns DMA for a device of the group: unbind it".to_owned()),
                libc::EPERM => Some(format!("{} (type1 checks it when a group joins a container whose model is set); or, for a no-IOMMU group, the caller lacks CAP_SYS_RAWIO", Arch::host().unsafe_interrupts_hint("vfio_iommu_type1"))),
                _ => None,
            },
        })?;
        self.groups.push(group);
        if self.model.is_some() && self.is_compat() {
            self.open_compat_devices(self.groups.len() - 1)?;
        }
        Ok(())
    }

    fn is_compat(&self) -> bool {
        matches!(self.backend(), ContainerBackend::IommufdCompat { .. })
    }

    /// Opens every VFIO device of group `index` (iommufd's compat container attaches a
    /// group to its IOAS when a device is opened) and keeps it with the container. A
    /// device the kernel does not know as a VFIO device (ENODEV: on another driver, or
    /// unbound) is passed over; a group without a number (a `noiommu-N` node) has no sysfs
    /// list to read.
    fn open_compat_devices(&mut self, index: usize) -> Result<(), Error> {
        let Some(number) = self.groups[index].number() else {
            return Ok(());
        };
        for device in self.sysfs.group_devices(number)? {
            match self.groups[index].open_device(&device.name) {
                Ok(d) => self.devices.push(d),
                Err(Error::Ioctl { errno, .. }) if errno.0 == libc::ENODEV => {}
                Err(Error::Ioctl {
                    ioctl,
                    target,
                    errno,
                    hint,
                }) => {
                    return Err(Error::Ioctl {
                        ioctl,
                        target: format!("{target}, which iommufd's VFIO compat container needs open to attach the group"),
                        errno,
                        hint: match errno.0 {
                            libc::EPERM => Some("the platform has no interrupt remapping (iommufd checks it when a device is bound): set iommufd's allow_unsafe_interrupts=1 (echo 1 > /sys/module/iommufd/parameters/allow_unsafe_interrupts) or use a platform with interrupt remapping".to_owned()),
                            _ => hint,
                        },
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The devices the container opened to attach its groups (iommufd's compat container
    /// only; see [`Container`]).
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// `VFIO_SET_IOMMU` with `model` (after at least one group is attached).
    /// `VFIO_NOIOMMU_IOMMU` is refused ([`Error::NoIommuModel`]): without an IOMMU, the
    /// safe calls that follow (mapping, a device's bus mastering) would let the device
    /// reach all of memory.
    pub fn set_iommu(&mut self, model: u32) -> Result<(), Error> {
        if model == uapi::VFIO_NOIOMMU_IOMMU {
            return Err(Error::NoIommuModel {
                container: self.describe(),
            });
        }
        value_ioctl(self.fd.as_fd(), uapi::VFIO_SET_IOMMU, u64::from(model))
            .map_err(|errno| {
                let hint = match errno.0 {
                    libc::EPERM => Some(Arch::host().unsafe_interrupts_hint("vfio_iommu_type1")),
                    libc::EINVAL if self.groups.is_empty() => Some("attach a group before setting the IOMMU model".to_owned()),
                    libc::EINVAL => Some("the container's IOMMU model is already set".to_owned()),
                    libc::ENODEV if is_spapr_model(model) => Some("no loaded IOMMU backend offers this model for these groups: modprobe vfio_iommu_spapr_tce".to_owned()),
                    libc::ENODEV => Some("no loaded IOMMU backend offers this model for these groups: modprobe vfio_iommu_type1".to_owned()),
                    _ => None,
                };
                self.ioctl_error("VFIO_SET_IOMMU", errno, hint)
            })?;
        self.model = Some(model);
        if self.is_compat() {
            for index in 0..self.groups.len() {
                self.open_compat_devices(index)?;
            }
        }
        Ok(())
    }

    /// Queries the IOMMU info (one `VFIO_IOMMU_GET_INFO` on the common path).
    pub fn query(&self) -> Result<IommuInfo, Error> {
        self.query_with(&SystemKernel)
    }

    /// The usable IOVA space: [`Container::query`], with each hole attributed to the
    /// reserved regions (sysfs `reserved_regions` under `paths`) of the container's groups.
    /// `None` when the container reports no IOVA ranges (see [`IommuInfo::absence`]).
    pub fn space(&self, paths: &HostPaths) -> Result<Option<IovaSpace>, Error> {
        let info = self.query()?;
        let Some(space) = IovaSpace::from_info(&info) else {
            return Ok(None);
        };
        // The same groups and files as `reserved_regions`, each region with its group.
        let groups: Vec<u32> = self.groups.iter().filter_map(Group::number).collect();
        Ok(Some(space.with_groups(&paths.sysfs, &groups)?))
    }

    /// What attaching `group` would make of the container's space ([`what_if_attach`]),
    /// predicted from sysfs before any attach: `None` when the container reports no IOVA
    /// ranges. The groups whose domain constrains the space are the container's groups
    /// (on iommufd's compat container, those it opened a device of).
    ///
    /// # Errors
    /// `VFIO_IOMMU_GET_INFO` failing, or a sysfs file of a group that cannot be read.
    pub fn what_if_attach(&self, paths: &HostPaths, group: u32) -> Result<Option<WhatIf>, Error> {
        let Some(before) = self.space(paths)? else {
            return Ok(None);
        };
        let compat = self.is_compat();
        let mut attached = Vec::new();
        for number in self.groups.iter().filter_map(Group::number) {
            let holds_a_device = || -> Result<bool, Error> {
                let names = paths.sysfs.group_devices(number)?;
                Ok(self
                    .devices
                    .iter()
                    .any(|d| names.iter().any(|n| n.name == d.name())))
            };
            if !compat || holds_a_device()? {
                attached.push(number);
            }
        }
        Ok(Some(what_if_attach(
            &before,
            &attached,
            group,
            &paths.sysfs,
        )?))
    }

    /// The sysfs reserved regions of every group of the container (those with a number).
    pub fn reserved_regions(&self, paths: &HostPaths) -> Result<Vec<ReservedRegion>, Error> {
        paths
            .sysfs
            .reserved_regions_of_groups(self.groups.iter().filter_map(Group::number))
    }

    /// Who serves this container: the VFIO type1 driver or iommufd's compat container
    /// (one `IOMMU_VFIO_IOAS` ioctl).
    pub fn backend(&self) -> ContainerBackend {
        backend_of_container(self.fd.as_fd())
    }

    /// The container's answer as [`DmaFacts`]: the IOMMU info, who serves the container
    /// (type1 or iommufd's compat container), and the groups' sysfs reserved regions.
    pub fn facts(&self, info: &IommuInfo, paths: &HostPaths) -> DmaFacts {
        DmaFacts::from_type1(info, self.backend().into()).with_sysfs(self.reserved_regions(paths))
    }

    /// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (argsz 32) on an sPAPR TCE container (see
    /// [`Container::open_targets_spapr_tce`]).
    pub fn query_spapr_tce(&self) -> Result<SpaprTceInfo, Error> {
        query_spapr_tce_with(&SystemKernel, self.fd.as_fd())
    }

    /// The sPAPR TCE answer as [`DmaFacts`], with the groups' sysfs reserved regions.
    pub fn spapr_tce_facts(&self, info: &SpaprTceInfo, paths: &HostPaths) -> DmaFacts {
        DmaFacts::from_spapr_tce(info).with_sysfs(self.reserved_regions(paths))
    }

    /// `VFIO_IOMMU_SPAPR_TCE_CREATE`: creates a dynamic DMA window (a v2 container) and
    /// returns where the platform put it. Only on this explicit call; it lasts until
    /// [`Container::remove_spapr_tce_window`] or until the container is closed.
    pub fn create_spapr_tce_window(&self, request: WindowRequest) -> Result<CreatedWindow, Error> {
        create_window_with(&SystemKernel, self.fd.as_fd(), request)
    }

    /// `VFIO_IOMMU_SPAPR_TCE_REMOVE`: removes the window that starts at `start`.
    pub fn remove_spapr_tce_window(&self, start: u64) -> Result<(), Error> {
        remove_window_with(&SystemKernel, self.fd.as_fd(), start)
    }

    /// [`Container::query`] through a given kernel (to count calls, say).
    pub fn query_with<K: Kernel + ?Sized>(&self, kernel: &K) -> Result<IommuInfo, Error> {
        query_type1_with(kernel, self.fd.as_fd())
    }

    /// `VFIO_IOMMU_MAP_DMA`: maps `size` bytes of this process's memory at `vaddr` to
    /// `iova` for the devices of the container, with `VFIO_DMA_MAP_FLAG_*` `flags`.
    ///
    /// # Safety
    /// `vaddr..vaddr+size` must be memory of this process that stays mapped, and that the
    /// caller accepts the device reading and (with `VFIO_DMA_MAP_FLAG_WRITE`) writing,
    /// until [`Container::unmap_dma`] or the container is closed.
    ///
    /// A mapping that ends at 2^64 is refused ([`Error::TopPageMapping`]): type1 could
    /// not unmap it (see [`Container::unmap_dma`]).
    pub unsafe fn map_dma(
        &self,
        vaddr: *mut u8,
        iova: u64,
        size: u64,
        flags: u32,
    ) -> Result<(), Error> {
        if size != 0 && iova.checked_add(size - 1) == Some(u64::MAX) {
            return Err(Error::TopPageMapping { iova, size });
        }
        let map = uapi::VfioDmaMap {
            argsz: std::mem::size_of::<uapi::VfioDmaMap>() as u32,
            flags,
            vaddr: vaddr as u64,
            iova,
            size,
        };
        // SAFETY: the memory contract is this function's own (see "Safety" above).
        unsafe { map_dma_ioctl(self.fd.as_fd(), &map) }
            .map(drop)
            .map_err(|errno| {
                let spapr = self.model.is_some_and(is_spapr_model);
                let hint = match errno.0 {
                    libc::EINVAL | libc::EFAULT if spapr => Some(format!("IOVA {iova:#x}+{size:#x} is outside every TCE window (the default one, or one created with VFIO_IOMMU_SPAPR_TCE_CREATE) or not aligned to its IOMMU page size; or, on a v2 container, the memory was not registered first with VFIO_IOMMU_SPAPR_REGISTER_MEMORY")),
                    libc::EINVAL => Some(format!("IOVA {iova:#x}+{size:#x} is outside the container's IOVA ranges (beyond the aperture or inside a reserved hole), or not aligned to the smallest IOMMU page size")),
                    libc::ENOSPC => Some("the container's mapping limit is reached (DMA_AVAIL is 0): raise vfio_iommu_type1's dma_entry_limit or use larger mappings".to_owned()),
                    libc::EEXIST => Some(format!("IOVA {iova:#x}+{size:#x} overlaps an existing mapping")),
                    libc::ENOMEM => Some("cannot pin the memory: raise RLIMIT_MEMLOCK (ulimit -l)".to_owned()),
                    _ => None,
                };
                self.ioctl_error("VFIO_IOMMU_MAP_DMA", errno, hint)
            })
    }

    /// `VFIO_IOMMU_UNMAP_DMA`: unmaps `iova..iova+size`; returns the bytes unmapped.
    ///
    /// Linux's type1 (seen on 6.1 and 6.12) cannot unmap a mapping that ends at 2^64 (the
    /// top page of a range ending at 2^64-1, as AMD and virtio-iommu report): `iova + size`
    /// wraps to 0, the call succeeds with 0 bytes unmapped, and the mapping (and its
    /// DMA_AVAIL entry) stays until the container is closed. Avoid mapping that page.
    pub fn unmap_dma(&self, iova: u64, size: u64) -> Result<u64, Error> {
        let mut buf = [0u8; std::mem::size_of::<uapi::VfioDmaUnmap>()];
        buf[0..4]
            .copy_from_slice(&(std::mem::size_of::<uapi::VfioDmaUnmap>() as u32).to_ne_bytes());
        buf[8..16].copy_from_slice(&iova.to_ne_bytes());
        buf[16..24].copy_from_slice(&size.to_ne_bytes());
        argsz_ioctl(self.fd.as_fd(), uapi::VFIO_IOMMU_UNMAP_DMA, &mut buf)
            .map_err(|errno| self.ioctl_error("VFIO_IOMMU_UNMAP_DMA", errno, None))?;
        Ok(u64::from_ne_bytes([
            buf[16], buf[17], buf[18], buf[19], buf[20], buf[21], buf[22], buf[23],
        ]))
    }

    /// The groups attached, in order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The model set by [`Container::set_iommu`].
    pub fn model(&self) -> Option<u32> {
        self.model
    }

    /// Opens a container holding the groups of `targets` with the best type1 model set:
    /// the whole dance, ready to query or map DMA.
    pub fn open_targets(targets: &[Target], paths: &HostPaths) -> Result<Container, Error> {
        let resolved = resolve_targets(targets, paths)?;
        // Groups first: a wrong group number or an unbound device is the cause to report,
        // before anything about the container.
        let groups = resolved
            .iter()
            .map(|t| open_target_group(t, paths))
            .collect::<Result<Vec<_>, _>>()?;
        let mut container = Container::open(paths)?;
        let model = container.type1_model()?;
        for group in groups {
            container.attach(group)?;
        }
        container.set_iommu(model)?;
        Ok(container)
    }

    /// [`Container::open_targets`] for IBM POWER: the groups of `targets` in one
    /// container with the best sPAPR TCE model set (v2, else v1), ready for
    /// [`Container::query_spapr_tce`]. Creates no window.
    pub fn open_targets_spapr_tce(
        targets: &[Target],
        paths: &HostPaths,
    ) -> Result<Container, Error> {
        let groups = resolve_targets(targets, paths)?
            .iter()
            .map(|t| open_target_group(t, paths))
            .collect::<Result<Vec<_>, _>>()?;
        let mut container = Container::open(paths)?;
        let model = container.spapr_tce_model()?;
        for group in groups {
            container.attach(group)?;
        }
        container.set_iommu(model)?;
        Ok(container)
    }
}

fn is_spapr_model(model: u32) -> bool {
    model == uapi::VFIO_SPAPR_TCE_V2_IOMMU || model == uapi::VFIO_SPAPR_TCE_IOMMU
}

fn spapr_model_name(model: u32) -> &'static str {
    if model == uapi::VFIO_SPAPR_TCE_V2_IOMMU {
        "VFIO_SPAPR_TCE_v2_IOMMU"
    } else {
        "VFIO_SPAPR_TCE_IOMMU"
    }
}

/// Resolves devices to groups, each group once. A missing device or IOMMU is the root
/// cause to report, before anything about /dev/vfio.
fn resolve_targets(targets: &[Target], paths: &HostPaths) -> Result<Vec<Target>, Error> {
    let mut resolved: Vec<Target> = Vec::with_capacity(targets.len());
    for target in targets {
        let t = match target {
            Target::Device(addr) => Target::Group(paths.sysfs.group_of_device(addr)?),
            Target::GroupPath(p) => match p.file_name().and_then(|n| n.to_str()?.parse().ok()) {
                Some(n) if p.parent() == Some(paths.vfio_dir.as_path()) => Target::Group(n),
                _ => target.clone(),
            },
            Target::Group(n) => Target::Group(*n),
        };
        // Two functions of one device share a group, and a group may be named twice:
        // open each once (a second open would fail with EBUSY).
        if !resolved.contains(&t) {
            resolved.push(t);
        }
    }
    Ok(resolved)
}

impl AsFd for Container {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The group of a target, opened and checked viable.
pub fn open_target_group(target: &Target, paths: &HostPaths) -> Result<Group, Error> {
    match target {
        Target::Group(n) => Group::open(*n, paths),
        Target::GroupPath(p) => Group::open_path(p, paths),
        Target::Device(addr) => Group::open(paths.sysfs.group_of_device(addr)?, paths),
    }
}

/// Opens a container for `target` and queries it: the one call for a user with a group
/// number or a PCI address. The container comes back too, to map DMA with.
pub fn open_and_query(target: &Target) -> Result<(Container, IommuInfo), Error> {
    let container = Container::open_targets(std::slice::from_ref(target), &HostPaths::default())?;
    let info = container.query()?;
    Ok((container, info))
}
