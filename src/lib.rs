//! Where user space may map DMA through a VFIO IOMMU, and why not elsewhere.
//!
//! Linux reports a type1 container's IOMMU through the capability chain of
//! `VFIO_IOMMU_GET_INFO`: the usable IOVA ranges (the aperture minus reserved holes such as
//! the MSI window or AMD's HyperTransport hole), the supported page sizes, dirty-page
//! tracking, and how many more mappings the container accepts. This crate reads that
//! chain safely on every kernel from before 5.4 to today, and says why an item is absent
//! when it is.
//!
//! ```
//! use vfio_iommu_info::{decode, encode::{CapSpec, KernelState}, IovaRange};
//!
//! // A buffer as Linux 6.12 with intel-iommu (39-bit) fills it.
//! let kernel = KernelState::padded(0x4020_1000, vec![
//!     CapSpec::DmaAvail(65535),
//!     CapSpec::IovaRange(vec![
//!         IovaRange::new(0, 0xfedf_ffff).unwrap(),
//!         IovaRange::new(0xfef0_0000, 0x7f_ffff_ffff).unwrap(),
//!     ]),
//! ]);
//! let info = decode(&kernel.encode())?;
//! assert_eq!(info.iova_pgsizes.unwrap().to_string(), "4K 2M 1G");
//! assert_eq!(info.aperture(), IovaRange::new(0, 0x7f_ffff_ffff));
//! assert_eq!(info.holes(), vec![IovaRange::new(0xfee0_0000, 0xfeef_ffff).unwrap()]);
//! assert_eq!(info.dma_avail.present(), Some(&65535));
//! assert!(info.migration.absence().is_some());
//! # Ok::<(), vfio_iommu_info::DecodeError>(())
//! ```
//!
//! Against a live kernel, [`open_and_query`] does the whole VFIO dance for a group or a
//! PCI address; [`query_type1`] queries a container fd the caller already has.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod decode;
mod error;
pub mod facts;
pub mod iova;
#[cfg(feature = "json")]
pub mod json;
pub mod plan;
pub mod query;
#[cfg(feature = "json")]
pub mod snapshot;
pub mod sys;

/// This library's version (`0.8.0`), as the command's `--version` shows it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// The front door: what most users need, by name. The layers stay reachable by path
// (`vfio_iommu_info::query::iommufd::Iommufd`) for the rest.
pub use decode::bytes::{ByteOrder, ParseByteOrderError};
pub use decode::chain::UnknownCap;
pub use decode::spapr_tce::{
    decode_spapr_tce, decode_spapr_tce_with_order, Ddw, DdwInfo, SpaprTceInfo,
};
pub use decode::type1::{
    decode, decode_with_order, Absence, InfoView, IommuInfo, Migration, Reported, Type1Cap,
};
pub use decode::which::{detect_iommu_info, Detected};
pub use error::{DecodeError, DecodeErrorKind, Errno, Error, ErrorKind, GroupBlocker};
pub use iova::{check_span, IovaRange, PageSizes, SpanProblem};
pub use plan::alloc::{AllocError, IovaAllocator};
pub use plan::attach::{
    what_if, what_if_attach, AttachRefusal, NewAperture, Taken, TakenBy, WhatIf,
};
pub use plan::budget::{
    mapping_budget, memlock_budget, ChargedTo, MappingBudget, MemlockBudget, MemlockFacts,
};
pub use plan::guest::{
    plan_guest, Firmware, FixedRam, GuestError, GuestPlan, GuestRefusal, GuestRequest, HostFacts,
    Viommu,
};
pub use plan::layout::{guest_layout, Conflict, Layout, LayoutError, Placement, RamRegion};
pub use plan::predict::{
    live_after, predict_attach, predict_dma, predict_maps, DmaOp, MapRefusal, Mapping, Prediction,
    Refused,
};
pub use plan::refusal::{Cause, Refusal};
pub use plan::space::{Hole, IovaSpace};
pub use query::container::{open_and_query, Container, Group, HostPaths, Target};
pub use query::get_info::query_type1;
pub use query::host::{GroupSummary, HostSummary};
pub use query::spapr_tce::{query_spapr_tce, CreatedWindow, WindowRequest};
#[cfg(feature = "json")]
pub use snapshot::Snapshot;
pub use sys::arch::Arch;
pub use sys::ioc;
pub use sys::sysfs::{IommuUnit, PciAddress, PciIdentity, RegionKind, ReservedRegion, Sysfs};

// The paths of 0.3 (one flat module per file), kept during 0.x so dependents keep
// building; new code uses the layers above.
#[doc(hidden)]
pub use decode::{bytes, chain, device_info, encode, hw_info, region_info, type1};
#[doc(hidden)]
pub use plan::{alloc, layout, refusal, space};
#[doc(hidden)]
pub use query::container as open;
#[doc(hidden)]
pub use query::{cdev, device, iommufd};
#[doc(hidden)]
pub use sys::{ioctl, node, sysfs, uapi};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
