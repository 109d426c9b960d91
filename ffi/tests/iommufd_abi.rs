//! The provenance exports (since 0.3) called the way C calls them: the facts of type1
//! answers from real captures and from iommufd's compat container, against the core's
//! `DmaFacts`; the backend of an fd; and the iommufd handle's failure on a host without
//! `/dev/iommu` (its success is proven in the lab: ffi/tests/lab_c.rs).

use std::ffi::{c_char, CStr};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr;

use ::vfio_iommu_info::encode::{CapSpec, KernelState};
use ::vfio_iommu_info::facts::{Backend, DmaFacts};
use ::vfio_iommu_info::json::facts_to_json;
use ::vfio_iommu_info::IovaRange;
use vfio_iommu_info_ffi::*;

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next call on this thread.
    unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn decode(buf: &[u8]) -> *mut vfio_iommu_info {
    let mut info = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc = unsafe { vfio_iommu_info_decode(buf.as_ptr(), buf.len(), 0, &mut info) };
    assert_eq!(rc, 0, "{}", last_error());
    info
}

fn sized() -> vfio_iommu_info_facts {
    vfio_iommu_info_facts {
        size: std::mem::size_of::<vfio_iommu_info_facts>() as u32,
        ..Default::default()
    }
}

/// The C facts and JSON of `buf` for `backend`, with the core's model.
fn facts(buf: &[u8], backend: u32) -> (vfio_iommu_info_facts, String, DmaFacts) {
    let info = decode(buf);
    let mut out = sized();
    let mut json: *mut c_char = ptr::null_mut();
    // SAFETY: `info` is live until freed below; the out-pointers are locals.
    unsafe {
        assert_eq!(
            vfio_iommu_info_facts_type1(info, backend, &mut out),
            0,
            "{}",
            last_error()
        );
        assert_eq!(
            vfio_iommu_info_facts_type1_to_json(info, backend, &mut json),
            0,
            "{}",
            last_error()
        );
    }
    // SAFETY: a string from the library, freed once right after the copy.
    let text = unsafe { CStr::from_ptr(json) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: both came from the library and are freed once.
    unsafe {
        vfio_iommu_info_string_free(json);
        vfio_iommu_info_free(info);
    }
    let model = DmaFacts::from_type1(
        &::vfio_iommu_info::decode(buf).unwrap(),
        if backend == VFIO_IOMMU_INFO_BACKEND_TYPE1 {
            Backend::Type1
        } else {
            Backend::IommufdCompat
        },
    );
    (out, text, model)
}

#[test]
fn type1_facts_of_every_capture_agree_with_the_core() {
    let mut seen = 0;
    for dir in std::fs::read_dir("../tests/fixtures").unwrap() {
        let path = dir.unwrap().path().join("library-capture.bin");
        let Ok(buf) = std::fs::read(&path) else {
            continue;
        };
        if path.to_string_lossy().contains("s390x") {
            continue; // big-endian: not this host's byte order
        }
        seen += 1;
        let (c, json, model) = facts(&buf, VFIO_IOMMU_INFO_BACKEND_TYPE1);
        assert_eq!(
            json,
            facts_to_json(&model).to_string(),
            "{}",
            path.display()
        );
        assert_eq!(
            c.size as usize,
            std::mem::size_of::<vfio_iommu_info_facts>()
        );
        assert_eq!(c.backend, VFIO_IOMMU_INFO_BACKEND_TYPE1);
        let ranges = model.iova_ranges.as_ref().unwrap();
        assert_eq!(
            (c.iova_ranges_source, c.iova_range_count),
            (
                VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP,
                ranges.value.len()
            )
        );
        assert_eq!(
            (c.page_sizes_source, c.page_sizes),
            (
                VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES,
                model.page_sizes.as_ref().unwrap().value.bits()
            )
        );
        // type1 says nothing of alignment or address width.
        assert_eq!((c.iova_alignment_source, c.iova_alignment), (0, 0));
        assert_eq!((c.address_width_source, c.address_width), (0, 0));
        // Every lab kernel reports DMA_AVAIL and MIGRATION, but iommufd's VFIO compat
        // container (LAB_COMPAT: 1 in the capture's meta.txt): no MIGRATION there.
        assert_eq!(
            c.mapping_limit_source,
            VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP
        );
        assert_eq!(c.mapping_limit_kind, VFIO_IOMMU_INFO_LIMIT_REMAINING);
        assert!(c.mapping_limit_remaining > 0);
        let compat = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("meta.txt")).ok())
            .any(|m| m.lines().any(|l| l.trim() == "LAB_COMPAT: 1"));
        if compat {
            assert_eq!(
                (
                    c.dirty_tracking_source,
                    c.dirty_tracking_kind,
                    c.dirty_pgsize_bitmap
                ),
                (0, 0, 0),
                "{}",
                path.display()
            );
            continue;
        }
        assert_eq!(
            (
                c.dirty_tracking_source,
                c.dirty_tracking_kind,
                c.dirty_pgsize_bitmap
            ),
            (
                VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP,
                VFIO_IOMMU_INFO_DIRTY_TYPE1,
                0x1000
            )
        );
    }
    assert!(seen >= 8, "only {seen} captures");
}

#[test]
fn the_compat_containers_u32_max_is_no_limit_and_the_same_number_from_type1_is_a_count() {
    let buf = KernelState::padded(
        0x4020_1000,
        vec![
            CapSpec::DmaAvail(u32::MAX),
            CapSpec::IovaRange(vec![IovaRange::new(0, 0xfedf_ffff).unwrap()]),
        ],
    )
    .encode();
    let (compat, json, _) = facts(&buf, VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
    assert_eq!(compat.backend, VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
    assert_eq!(
        (compat.mapping_limit_kind, compat.mapping_limit_remaining),
        (VFIO_IOMMU_INFO_LIMIT_UNLIMITED, 0)
    );
    // No MIGRATION: absent, and the notes say where dirty tracking lives instead.
    assert_eq!(
        (compat.dirty_tracking_source, compat.dirty_tracking_kind),
        (0, 0)
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["backend"], "iommufd-compat");
    assert_eq!(v["mapping_limit"]["value"], "unlimited");
    assert!(v["notes"].as_array().unwrap().iter().any(|n| n
        .as_str()
        .unwrap()
        .contains("IOMMU_HWPT_SET_DIRTY_TRACKING")));
    let (type1, _, _) = facts(&buf, VFIO_IOMMU_INFO_BACKEND_TYPE1);
    assert_eq!(
        (type1.mapping_limit_kind, type1.mapping_limit_remaining),
        (VFIO_IOMMU_INFO_LIMIT_REMAINING, u32::MAX)
    );
}

#[test]
fn facts_refuse_bad_arguments_and_write_nothing() {
    let info =
        decode(&std::fs::read("../tests/fixtures/linux-6.12-amd/library-capture.bin").unwrap());
    let canary = vfio_iommu_info_facts {
        size: std::mem::size_of::<vfio_iommu_info_facts>() as u32,
        backend: 0xaa,
        reserved_regions_source: 0xaa,
        ..Default::default()
    };
    let mut out = canary;
    let mut json: *mut c_char = 0x5a5a as *mut c_char;
    // SAFETY: `info` is live until freed at the end; the out-pointers are locals.
    unsafe {
        let rc = vfio_iommu_info_facts_type1(info, VFIO_IOMMU_INFO_BACKEND_IOMMUFD, &mut out);
        assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
        assert!(
            last_error().contains("vfio_iommu_info_iommufd_facts()"),
            "{}",
            last_error()
        );
        let rc = vfio_iommu_info_facts_type1(info, 7, &mut out);
        assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
        assert!(last_error().contains("backend 7"), "{}", last_error());
        assert_eq!(
            vfio_iommu_info_facts_type1_to_json(info, 0, &mut json),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(out, canary);
        assert_eq!(json, 0x5a5a as *mut c_char);
        out.size = 8;
        let rc = vfio_iommu_info_facts_type1(info, VFIO_IOMMU_INFO_BACKEND_TYPE1, &mut out);
        assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
        assert!(last_error().contains("out->size is 8"), "{}", last_error());
        assert_eq!(out.backend, 0xaa);
        assert_eq!(
            vfio_iommu_info_facts_type1(ptr::null(), 1, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_facts_type1(info, 1, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        vfio_iommu_info_free(info);
    }
}

#[test]
fn the_backend_of_an_fd() {
    let mut backend = 0xaa;
    // SAFETY: `backend` is a local; the fds are checked by the library.
    unsafe {
        assert_eq!(
            vfio_iommu_info_query_backend(-1, &mut backend),
            -libc::EBADF
        );
        assert!(last_error().contains("container_fd -1"), "{}", last_error());
        // A number no process has open (closing a fresh pipe instead would race with the
        // other tests' threads, which may reuse the number).
        let closed = i32::MAX - 1;
        assert_eq!(
            vfio_iommu_info_query_backend(closed, &mut backend),
            -libc::EBADF
        );
        assert_eq!(backend, 0xaa);
        // A file that is not a VFIO container is an error, not a guess: refused on what it
        // is (fstat) before any ioctl, with the ENOTTY an ioctl would have given.
        let null = File::open("/dev/null").unwrap();
        assert_eq!(
            vfio_iommu_info_query_backend(null.as_raw_fd(), &mut backend),
            -libc::ENOTTY
        );
        assert_eq!(backend, 0xaa);
        let fd = null.as_raw_fd();
        assert!(
            last_error().contains(&format!(
                "fd {fd} is a character device 1:3 (mem), not a VFIO container"
            )),
            "{}",
            last_error()
        );
        assert_eq!(
            vfio_iommu_info_query_backend(null.as_raw_fd(), ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_container_backend(ptr::null(), &mut backend),
            VFIO_IOMMU_INFO_E_NULL
        );
    }
}

#[test]
fn the_iommufd_handles_functions_check_their_arguments() {
    // SAFETY: NULL handles are checked; nothing is dereferenced.
    unsafe {
        let mut count = 7usize;
        let mut range = vfio_iommu_info_range { start: 1, end: 2 };
        assert_eq!(
            vfio_iommu_info_iommufd_iova_range_count(ptr::null(), &mut count),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_iommufd_iova_range(ptr::null(), 0, &mut range),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_iommufd_aperture(ptr::null(), &mut range),
            VFIO_IOMMU_INFO_E_NULL
        );
        let mut facts = sized();
        assert_eq!(
            vfio_iommu_info_iommufd_facts(ptr::null(), &mut facts),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(last_error().contains("iommufd is NULL"), "{}", last_error());
        assert_eq!((count, range.start), (7, 1));
        vfio_iommu_info_iommufd_free(ptr::null_mut());
    }
}

#[test]
fn without_dev_iommu_the_open_is_enoent_with_what_to_do() {
    if std::path::Path::new("/dev/iommu").exists() {
        eprintln!("skipped: this host has /dev/iommu (the lab covers the success)");
        return;
    }
    let mut out = 0x5a5a as *mut vfio_iommu_info_iommufd;
    // SAFETY: a NUL-terminated string and a writable out-pointer.
    let rc = unsafe { vfio_iommu_info_iommufd_open(c"0000:00:03.0".as_ptr(), &mut out) };
    assert_eq!(rc, -libc::ENOENT);
    let e = last_error();
    assert!(
        e.starts_with("vfio_iommu_info_iommufd_open: cannot open /dev/iommu"),
        "{e}"
    );
    assert!(e.contains("CONFIG_IOMMUFD"), "{e}");
    assert_eq!(out, 0x5a5a as *mut vfio_iommu_info_iommufd);
    // SAFETY: strerror returns a static string.
    let text = unsafe { CStr::from_ptr(vfio_iommu_info_strerror(rc)) };
    assert_eq!(text.to_str().unwrap(), "ENOENT: no such file or directory");
}
