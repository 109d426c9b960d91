//! Decoders of the buffers the kernel fills: bounds-checked, never trusting an offset or a
//! count. They read bytes and return values; none issues a system call.
//!
//! - [`bytes`]: the checked reader every decoder uses.
//! - [`chain`]: VFIO's capability chain (`vfio_info_cap_header`).
//! - [`type1`]: `struct vfio_iommu_type1_info` and its capabilities.
//! - [`device_info`], [`region_info`]: `vfio_device_info` and `vfio_region_info` chains.
//! - [`hw_info`]: iommufd's `IOMMU_GET_HW_INFO` reply (VT-d, SMMUv3, ...).
//! - [`spapr_tce`]: `struct vfio_iommu_spapr_tce_info`, IBM POWER's sPAPR TCE IOMMU.
//! - [`which`]: type1 or sPAPR TCE, for a capture whose origin is not named.
//! - [`encode`], [`encode_spapr_tce`]: the inverses, fake kernels for tests (not part of
//!   the API).

pub mod bytes;
pub mod chain;
pub mod device_info;
#[doc(hidden)]
pub mod encode;
#[doc(hidden)]
pub mod encode_spapr_tce;
pub mod hw_info;
pub mod ioas;
pub mod region_info;
pub mod spapr_tce;
pub mod type1;
pub mod which;
