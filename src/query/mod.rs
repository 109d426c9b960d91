//! Queries: the VFIO and iommufd dances that join a system call to its decoder.
//!
//! - [`get_info`]: `VFIO_IOMMU_GET_INFO` on a type1 container fd.
//! - [`group`]: a VFIO group (`/dev/vfio/N`), opened only when viable.
//! - [`container`]: containers (`/dev/vfio/vfio`) and the groups they hold.
//! - [`device`]: device and region info of a VFIO device fd.
//! - [`iommufd`]: `/dev/iommu`, its IOAS ranges and `hw_info`.
//! - [`spapr_tce`]: IBM POWER's sPAPR TCE container: its info, and windows on request.
//! - [`cdev`]: a device's cdev (`/dev/vfio/devices/vfioN`) bound to an iommufd.
//! - [`host`]: the host in numbers, from sysfs alone (for fleets: labels and metrics).
//! - [`inspect`]: a running process's containers, groups and iommufds, borrowed and asked.

pub mod cdev;
pub mod container;
pub mod device;
pub mod get_info;
pub mod group;
pub mod host;
pub mod inspect;
pub mod iommufd;
pub mod report;
pub mod retry;
pub mod spapr_tce;

pub use get_info::{capture_type1_with, query_type1, query_type1_with};
pub use get_info::{INLINE_INFO_SIZE, MAX_INFO_CALLS, MAX_INFO_SIZE};
