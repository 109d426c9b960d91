//! The opaque handles through the C ABI: each kind carries its tag, so a handle passed
//! where another kind is expected (to an accessor or a `_free`) is refused, naming the
//! kind it is, and nothing is freed.

mod common;

use std::ffi::c_void;
use std::ptr;

use common::*;
use vfio_iommu_info_ffi::*;

#[test]
fn a_handle_of_another_kind_is_refused_with_its_kind() {
    let s = space_of(AMD);
    let mut n = 0xdead;
    // SAFETY: `s` is a live handle; the wrong kind is read only through its tag.
    let rc = unsafe {
        vfio_iommu_info_allocator_live_count(s.cast::<vfio_iommu_info_allocator>(), &mut n)
    };
    assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
    assert_eq!(n, 0xdead, "count written on failure");
    assert_eq!(
        last_error(),
        "vfio_iommu_info_allocator_live_count: allocator is a struct vfio_iommu_info_space, not the struct vfio_iommu_info_allocator expected"
    );
    // SAFETY: a live handle of the wrong kind: refused, nothing freed.
    unsafe { vfio_iommu_info_layout_free(s.cast::<vfio_iommu_info_layout>()) };
    assert_eq!(
        last_error(),
        "vfio_iommu_info_layout_free: the handle is a struct vfio_iommu_info_space, not the struct vfio_iommu_info_layout expected"
    );
    // SAFETY: a live handle of its kind, still live after the refused free.
    assert_eq!(unsafe { vfio_iommu_info_space_range_count(s, &mut n) }, 0);
    assert_eq!(last_error(), "");
    // SAFETY: freed once, here; then NULL, accepted and ignored.
    unsafe {
        vfio_iommu_info_space_free(s);
        vfio_iommu_info_space_free(ptr::null_mut());
    }
    assert_eq!(
        last_error(),
        "",
        "a _free that frees leaves the last error alone"
    );
}

/// Every kind has its own tag (handle.rs also asserts this at compile time, with the
/// freed tag): each kind this host can make, given to every other kind's `_free`, is
/// refused with its own kind's name.
#[test]
fn kinds_have_distinct_tags() {
    let s390 = "../tests/fixtures/linux-6.12-s390x-zpci";
    let device = std::fs::read(format!("{s390}/device-exact.bin")).expect("fixture");
    let region = std::fs::read(format!("{s390}/region-4.bin")).expect("fixture");
    let info = decode(&capture(AMD));
    let space = space_of(AMD);
    // SAFETY: live handles and local out-pointers; each handle is freed once, by its own
    // kind's `_free`, at the end.
    unsafe {
        let mut allocator = ptr::null_mut();
        assert_eq!(vfio_iommu_info_allocator_new(space, &mut allocator), 0);
        let mut layout = ptr::null_mut();
        let ram = vfio_iommu_info_ram_region {
            len: 1 << 30,
            ..sized()
        };
        assert_eq!(
            vfio_iommu_info_layout_new(space, &ram, 1, -1, &mut layout),
            0,
            "{}",
            last_error()
        );
        let mut dev = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_device_info_decode(
                device.as_ptr(),
                device.len(),
                VFIO_IOMMU_INFO_BYTE_ORDER_BIG,
                &mut dev
            ),
            0,
            "{}",
            last_error()
        );
        let mut reg = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_region_info_decode(
                region.as_ptr(),
                region.len(),
                VFIO_IOMMU_INFO_BYTE_ORDER_BIG,
                &mut reg
            ),
            0,
            "{}",
            last_error()
        );
        type Free = unsafe extern "C" fn(*mut c_void);
        fn free<T>(f: unsafe extern "C" fn(*mut T)) -> Free {
            // SAFETY: every `_free` takes one pointer and returns nothing; only the
            // pointee type differs, which the C ABI does not see.
            unsafe { std::mem::transmute::<unsafe extern "C" fn(*mut T), Free>(f) }
        }
        let kinds: [(&str, *mut c_void, Free); 6] = [
            ("vfio_iommu_info", info.cast(), free(vfio_iommu_info_free)),
            (
                "vfio_iommu_info_space",
                space.cast(),
                free(vfio_iommu_info_space_free),
            ),
            (
                "vfio_iommu_info_allocator",
                allocator.cast(),
                free(vfio_iommu_info_allocator_free),
            ),
            (
                "vfio_iommu_info_layout",
                layout.cast(),
                free(vfio_iommu_info_layout_free),
            ),
            (
                "vfio_iommu_info_device_info",
                dev.cast(),
                free(vfio_iommu_info_device_info_free),
            ),
            (
                "vfio_iommu_info_region_info",
                reg.cast(),
                free(vfio_iommu_info_region_info_free),
            ),
        ];
        for (i, &(kind, handle, _)) in kinds.iter().enumerate() {
            for (j, &(other, _, other_free)) in kinds.iter().enumerate() {
                if i == j {
                    continue;
                }
                other_free(handle);
                let e = last_error();
                assert!(
                    e.ends_with(&format!(
                        "_free: the handle is a struct {kind}, not the struct {other} expected"
                    )),
                    "{kind} to {other}'s free: {e}"
                );
            }
        }
        for (_, handle, own_free) in kinds {
            own_free(handle);
        }
    }
}
