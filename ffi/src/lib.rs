//! The C ABI of vfio-iommu-info: `libvfio_iommu_info.so.0` and `libvfio_iommu_info.a`,
//! declared by the generated `include/vfio_iommu_info.h`.
//!
//! The contract (also at the top of the header): every fallible function returns 0 or a
//! negative code: `-errno` where the kernel refused, or a `VFIO_IOMMU_INFO_E_*` code below
//! -4095 for the library's own failures; out-parameters are written only on success;
//! every pointer is checked for NULL; objects the library allocates are opaque and freed
//! by a `_free` that accepts NULL; structs the caller passes start with their `size`;
//! every export runs inside a panic boundary; a per-thread last error holds the detail.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// The exported types carry their C names, so the header reads like C.
#![allow(non_camel_case_types)]

/// Binds each export to its version node of `packaging/libvfio_iommu_info.map` (see
/// build.rs): `VFIO_IOMMU_INFO_0` for the exports of 0.1, `VFIO_IOMMU_INFO_0.2` for those
/// added in 0.2, `VFIO_IOMMU_INFO_0.3` for those added in 0.3, `VFIO_IOMMU_INFO_0.4` for
/// those added in 0.4, `VFIO_IOMMU_INFO_0.5` for those added in 0.5, `VFIO_IOMMU_INFO_0.6`
/// for those added in 0.6. A `.symver` must sit in the object that defines its symbol, so each
/// module lists its own exports under their node; an export never moves to another node.
/// `@@@` leaves only `name@@NODE` in the object, so a static archive built from the same
/// objects (cargo-c's single call) still links: a reference to `name` binds to it.
/// `make elf-check` fails when one is missing or bound to the wrong node
/// (`packaging/libvfio_iommu_info.symbols` lists every export with its node).
macro_rules! symbol_versions {
    ($node:literal: $($name:ident),* $(,)?) => {
        #[cfg(vfio_iommu_info_cdylib)]
        std::arch::global_asm!($(concat!(
            ".symver ", stringify!($name), ", ", stringify!($name), "@@@", $node
        )),*);
    };
}

// The header follows the order of these modules. 0.1: containers, the info object,
// results, checks; 0.2: IOVA planning (the space, the allocator, the guest layout); 0.3:
// device info and region info, then iommufd and the facts with their sources; 0.4: the
// entry points on the caller's own fds; 0.5: IBM POWER's sPAPR TCE container; 0.6 (in
// space): for VMMs, why a span is refused; 0.7 (guest): a whole guest's plan; 0.8
// (whatif): the space after attaching another group, predicted before the attach.
mod args;
mod container;
mod handle;
mod info;
mod result;
mod span;

mod space;

mod allocator;
mod layout;

mod device;
mod iommufd;

mod own_fds;

mod spapr_tce;

mod guest;

mod whatif;

pub use allocator::*;
pub use container::*;
pub use device::*;
pub use guest::*;
pub use info::*;
pub use iommufd::*;
pub use layout::*;
pub use own_fds::*;
pub use result::*;
pub use space::*;
pub use span::*;
pub use spapr_tce::*;
pub use whatif::*;

use std::ffi::{c_char, CStr};

/// The major version this header belongs to; the SONAME is `libvfio_iommu_info.so.0`
/// while it is 0.
pub const VFIO_IOMMU_INFO_VERSION_MAJOR: u32 = 0;
/// The minor version: exports are added, never removed or changed, within a major.
pub const VFIO_IOMMU_INFO_VERSION_MINOR: u32 = 8;
/// The patch version.
pub const VFIO_IOMMU_INFO_VERSION_PATCH: u32 = 0;

/// The version of the library loaded at run time, as
/// `(major << 16) | (minor << 8) | patch`; compare it with the header's
/// `VFIO_IOMMU_INFO_VERSION_*` macros.
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_version() -> u32 {
    const VERSION: u32 = (VFIO_IOMMU_INFO_VERSION_MAJOR << 16)
        | (VFIO_IOMMU_INFO_VERSION_MINOR << 8)
        | VFIO_IOMMU_INFO_VERSION_PATCH;
    result::guard_value(VERSION, || VERSION)
}

/// The version of the library loaded at run time as a static NUL-terminated string
/// (`"0.8.0"`); never NULL, not to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_version_string() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the package version holds a NUL"),
        };
    result::guard_value(VERSION.as_ptr(), || VERSION.as_ptr())
}

symbol_versions!("VFIO_IOMMU_INFO_0": vfio_iommu_info_version, vfio_iommu_info_version_string);
