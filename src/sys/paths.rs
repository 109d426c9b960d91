//! Where the host keeps what the library reads: `/dev/vfio`, `/dev/iommu`, `/sys`, `/proc`
//! (a test or a snapshot points them elsewhere).

use std::path::PathBuf;

use crate::sys::sysfs::Sysfs;

/// Where the VFIO device nodes and sysfs live (`/dev/vfio`, `/sys` on a live system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    /// The directory of `vfio` (the container node) and the group nodes.
    pub vfio_dir: PathBuf,
    /// The sysfs tree.
    pub sysfs: Sysfs,
    /// iommufd's node (`/dev/iommu`).
    pub iommufd: PathBuf,
    /// procfs, whose `devices` and `misc` tables name the VFIO and iommufd device numbers
    /// a node must have before it is opened read-write (see [`crate::sys::node`]).
    pub proc: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            vfio_dir: PathBuf::from("/dev/vfio"),
            sysfs: Sysfs::default(),
            iommufd: PathBuf::from("/dev/iommu"),
            proc: PathBuf::from("/proc"),
        }
    }
}
