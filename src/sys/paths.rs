//! Where the host keeps what the library reads: `/dev/vfio`, `/dev/iommu`, `/sys`, `/proc`
//! (a test or a snapshot points them elsewhere).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::sys::sysfs::{sysfs_error, Sysfs};
use crate::sys::view::FsView;

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

impl HostPaths {
    /// The live host's paths, every file read through `view` (recording a snapshot, or
    /// replaying one).
    pub fn with_view(view: FsView) -> HostPaths {
        let paths = HostPaths::default();
        HostPaths {
            sysfs: paths.sysfs.with_view(view),
            ..paths
        }
    }

    /// How this host's files are read: its sysfs's view (one view per host).
    pub fn view(&self) -> &FsView {
        self.sysfs.view()
    }

    /// Whether `path` exists on this host.
    ///
    /// # Errors
    /// A replayed snapshot that holds no answer for `path` ([`Error::Sysfs`] with
    /// ENODATA and what is missing).
    pub fn exists(&self, path: &Path) -> Result<bool, Error> {
        self.view()
            .exists_checked(path)
            .map_err(|e| sysfs_error(path, e))
    }
}
