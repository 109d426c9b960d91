//! Sized structs through the C ABI: a newer caller's larger struct gets the library's
//! fields and nothing past them; a `size` below the struct's first release is refused
//! (args.rs keeps the unit tests of an older caller's shorter struct, which no export can
//! show yet: no struct has grown).

mod common;

use std::mem::size_of;

use common::*;
use vfio_iommu_info_ffi::*;

const CANARY: u8 = 0xAA;

/// Fills a 48-byte, 8-aligned buffer of canaries whose `size` says `caller` through
/// `vfio_iommu_info_migration()` on the AMD capture (it has the migration capability).
fn migration_for(caller: u32) -> (std::ffi::c_int, [u8; 48]) {
    let info = decode(&capture(AMD));
    let mut buf = [0u64; 6];
    // SAFETY: 48 initialized bytes, any bit pattern is a valid u8, alignment 1.
    let bytes = unsafe { &mut *buf.as_mut_ptr().cast::<[u8; 48]>() };
    bytes.fill(CANARY);
    bytes[..4].copy_from_slice(&caller.to_ne_bytes());
    // SAFETY: `info` is live, freed once; the buffer is 48 writable, 8-aligned bytes,
    // as many as its `size` says (or more).
    let rc = unsafe {
        let rc = vfio_iommu_info_migration(info, buf.as_mut_ptr().cast());
        vfio_iommu_info_free(info);
        rc
    };
    // SAFETY: as above.
    (rc, unsafe { *buf.as_ptr().cast::<[u8; 48]>() })
}

#[test]
fn a_newer_callers_struct_gets_ours_and_no_more() {
    let ours = size_of::<vfio_iommu_info_migration>();
    assert_eq!(ours, 32);
    let (rc, bytes) = migration_for(48);
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(bytes[..4], 32u32.to_ne_bytes(), "size is what was filled");
    // SAFETY: the first 32 bytes are a `vfio_iommu_info_migration` the library filled.
    let m = unsafe {
        bytes
            .as_ptr()
            .cast::<vfio_iommu_info_migration>()
            .read_unaligned()
    };
    assert_eq!(
        (m.pgsize_bitmap, m.max_dirty_bitmap_size),
        (0x1000, 0x1000_0000)
    );
    assert!(bytes[ours..].iter().all(|&b| b == CANARY), "{bytes:x?}");
}

#[test]
fn a_size_below_the_first_release_is_refused() {
    let (rc, bytes) = migration_for(7);
    assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
    assert_eq!(
        last_error(),
        "vfio_iommu_info_migration: out->size is 7, smaller than the 32 bytes of this struct: set it to sizeof(*out)"
    );
    assert_eq!(bytes[..4], 7u32.to_ne_bytes());
    assert!(
        bytes[4..].iter().all(|&b| b == CANARY),
        "written on failure"
    );
}
