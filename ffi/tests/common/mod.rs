//! Helpers for the integration tests of the exports: fixtures, decoding, the last error.

// Each test binary uses a part of these.
#![allow(dead_code)]

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::ptr;

use ::vfio_iommu_info::sysfs::parse_reserved_regions;
use ::vfio_iommu_info::ReservedRegion;

use vfio_iommu_info_ffi::vfio_iommu_info_last_error;
use vfio_iommu_info_ffi::{vfio_iommu_info, vfio_iommu_info_decode, vfio_iommu_info_free};
use vfio_iommu_info_ffi::{vfio_iommu_info_space, vfio_iommu_info_space_from_info};

/// Linux 6.12 with amd-iommu: ranges up to 2^64-1 around the MSI window and the
/// HyperTransport hole [0xfd00000000, 0xffffffffff].
pub const AMD: &str = "linux-6.12-amd";
/// Linux 6.12 with intel-iommu, 39 address bits: the aperture ends at 2^39-1.
pub const INTEL39: &str = "linux-6.12-intel-aw39";

fn fixture_dir(scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(scenario)
        .join("group-2")
}

pub fn capture(scenario: &str) -> Vec<u8> {
    std::fs::read(fixture_dir(scenario).join("info-exact.bin")).expect("fixture")
}

/// The sysfs reserved regions the lab saved next to the capture.
pub fn reserved_regions(scenario: &str) -> Vec<ReservedRegion> {
    let text = std::fs::read_to_string(fixture_dir(scenario).join("reserved_regions-group2"))
        .expect("fixture");
    parse_reserved_regions(&text).expect("reserved_regions parses")
}

pub fn last_error() -> String {
    // SAFETY: never NULL; valid until the next call on this thread.
    unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
        .to_string_lossy()
        .into_owned()
}

pub fn c_str(s: *const c_char) -> String {
    // SAFETY: the callers pass strings the library returned, still alive.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// Decodes a capture, panicking on failure.
pub fn decode(buf: &[u8]) -> *mut vfio_iommu_info {
    let mut info = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc = unsafe { vfio_iommu_info_decode(buf.as_ptr(), buf.len(), 0, &mut info) };
    assert_eq!(rc, 0, "{}", last_error());
    info
}

/// The space of a fixture's capture, panicking on failure.
pub fn space_of(scenario: &str) -> *mut vfio_iommu_info_space {
    let info = decode(&capture(scenario));
    let mut space = ptr::null_mut();
    // SAFETY: `info` is live and freed once, after the space was made from it.
    unsafe {
        assert_eq!(
            vfio_iommu_info_space_from_info(info, &mut space),
            0,
            "{}",
            last_error()
        );
        vfio_iommu_info_free(info);
    }
    space
}

/// A sized struct, zeroed, with its `size` set.
pub fn sized<T>() -> T {
    // SAFETY: the library's C structs are integers and pointers, valid when zeroed.
    let mut v: T = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<T>() as u32;
    // SAFETY: every sized struct begins with its `uint32_t size`.
    unsafe { ptr::from_mut(&mut v).cast::<u32>().write(size) };
    v
}
