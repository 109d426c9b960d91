//! The C ABI called the way C calls it: codes, NULL checks, out-parameters untouched on
//! failure, sized structs, the last error, and agreement with the Rust model.

use std::ffi::{c_char, c_int, CStr};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr;

use vfio_iommu_info_ffi::*;

const AMD: &str = "../tests/fixtures/linux-6.12-amd/group-2/info-exact.bin";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("fixture")
}

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next call on this thread.
    unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Decodes `buf`, panicking on failure.
fn decode(buf: &[u8]) -> *mut vfio_iommu_info {
    let mut info = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc = unsafe { vfio_iommu_info_decode(buf.as_ptr(), buf.len(), 0, &mut info) };
    assert_eq!(rc, 0, "{}", last_error());
    assert!(!info.is_null());
    info
}

#[test]
fn decode_reads_every_field_of_a_real_capture() {
    let info = decode(&fixture(AMD));
    let model = ::vfio_iommu_info::decode(&fixture(AMD)).unwrap();
    // SAFETY (whole test): `info` is live until freed at the end; out-pointers are locals.
    unsafe {
        let mut hdr = vfio_iommu_info_header {
            size: std::mem::size_of::<vfio_iommu_info_header>() as u32,
            argsz: 0,
            flags: 0,
            cap_offset: 0,
            caps_truncated: 9,
        };
        assert_eq!(vfio_iommu_info_header(info, &mut hdr), 0);
        assert_eq!(
            (hdr.argsz, hdr.flags, hdr.cap_offset, hdr.caps_truncated),
            (136, 3, 24, 0)
        );

        let mut bitmap = 0;
        assert_eq!(vfio_iommu_info_page_sizes(info, &mut bitmap), 0);
        assert_eq!(bitmap, 0x000f_ff7f_ffff_f000);

        let mut n = 0usize;
        assert_eq!(vfio_iommu_info_iova_range_count(info, &mut n), 0);
        let ranges = model.iova_ranges.present().unwrap();
        assert_eq!(n, ranges.len());
        for (i, want) in ranges.iter().enumerate() {
            let mut r = vfio_iommu_info_range { start: 1, end: 1 };
            assert_eq!(vfio_iommu_info_iova_range(info, i, &mut r), 0);
            assert_eq!((r.start, r.end), (want.start, want.end));
        }
        let mut r = vfio_iommu_info_range { start: 7, end: 7 };
        assert_eq!(
            vfio_iommu_info_iova_range(info, n, &mut r),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!((r.start, r.end), (7, 7), "out-parameter written on failure");
        assert!(last_error().contains("index 3 is past the end of a list of 3"));

        assert_eq!(vfio_iommu_info_aperture(info, &mut r), 0);
        assert_eq!((r.start, r.end), (0, u64::MAX));
        assert_eq!(vfio_iommu_info_hole_count(info, &mut n), 0);
        assert_eq!(n, 2);
        assert_eq!(vfio_iommu_info_hole(info, 1, &mut r), 0);
        assert_eq!((r.start, r.end), (0xfd_0000_0000, 0xff_ffff_ffff));

        let mut avail = 0;
        assert_eq!(vfio_iommu_info_dma_avail(info, &mut avail), 0);
        assert_eq!(avail, 65535);
        let mut m: vfio_iommu_info_migration = std::mem::zeroed();
        m.size = std::mem::size_of_val(&m) as u32;
        assert_eq!(vfio_iommu_info_migration(info, &mut m), 0);
        assert_eq!(
            (m.version, m.pgsize_bitmap, m.max_dirty_bitmap_size),
            (1, 0x1000, 1 << 28)
        );

        let mut reason = 99;
        let mut text: *const c_char = ptr::null();
        assert_eq!(
            vfio_iommu_info_absence(info, VFIO_IOMMU_INFO_CAP_DMA_AVAIL, &mut reason, &mut text),
            0
        );
        assert_eq!(
            (reason, CStr::from_ptr(text).to_bytes()),
            (VFIO_IOMMU_INFO_PRESENT, &b""[..])
        );
        assert_eq!(
            vfio_iommu_info_absence(info, 7, &mut reason, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_INVALID
        );

        assert_eq!(vfio_iommu_info_chain_length(info, &mut n), 0);
        let mut cap: vfio_iommu_info_cap = std::mem::zeroed();
        cap.size = std::mem::size_of_val(&cap) as u32;
        assert_eq!(vfio_iommu_info_chain_entry(info, n - 1, &mut cap), 0);
        assert_eq!(
            (cap.id, cap.version, cap.offset, cap.bytes.is_null()),
            (1, 1, 72, true)
        );
        assert_eq!(vfio_iommu_info_unknown_cap_count(info, &mut n), 0);
        assert_eq!(n, 0);

        // The JSON is the CLI's (the same function builds both).
        let mut json: *mut c_char = ptr::null_mut();
        assert_eq!(vfio_iommu_info_to_json(info, &mut json), 0);
        let text = CStr::from_ptr(json).to_str().unwrap().to_owned();
        vfio_iommu_info_string_free(json);
        assert_eq!(
            text,
            ::vfio_iommu_info::json::info_to_json(&model).to_string()
        );
        vfio_iommu_info_free(info);
    }
}

#[test]
fn absent_items_say_why_and_leave_outputs_alone() {
    // A pre-5.4 kernel: PGSIZES only, no chain.
    let mut buf = vec![0u8; 16];
    buf[0] = 16;
    buf[4] = 1;
    buf[8..16].copy_from_slice(&0x1000u64.to_ne_bytes());
    let info = decode(&buf);
    // SAFETY: `info` is live until freed; out-pointers are locals.
    unsafe {
        let mut n = 42usize;
        assert_eq!(
            vfio_iommu_info_iova_range_count(info, &mut n),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!(n, 42);
        assert!(
            last_error().contains("IOVA_RANGE is absent: no capability chain"),
            "{}",
            last_error()
        );
        let mut avail = 5;
        assert_eq!(
            vfio_iommu_info_dma_avail(info, &mut avail),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!(avail, 5);
        let mut reason = 0;
        let mut text: *const c_char = ptr::null();
        assert_eq!(
            vfio_iommu_info_absence(info, VFIO_IOMMU_INFO_CAP_MIGRATION, &mut reason, &mut text),
            0
        );
        assert_eq!(reason, VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN);
        assert!(CStr::from_ptr(text).to_str().unwrap().contains("5.8"));
        // The verdict of a check without ranges is an answer, not an error.
        let mut v: vfio_iommu_info_verdict = std::mem::zeroed();
        v.size = std::mem::size_of_val(&v) as u32;
        assert_eq!(vfio_iommu_info_check(info, 0, 4096, &mut v), 0);
        assert_eq!(v.problem, VFIO_IOMMU_INFO_SPAN_NO_RANGES);
        vfio_iommu_info_free(info);
    }
}

#[test]
fn check_answers_to_the_last_byte() {
    let info = decode(&fixture(AMD));
    let verdict = |iova: u64, len: u64| {
        // SAFETY: `info` is live; `v` is a local with its size set.
        unsafe {
            let mut v: vfio_iommu_info_verdict = std::mem::zeroed();
            v.size = std::mem::size_of_val(&v) as u32;
            assert_eq!(vfio_iommu_info_check(info, iova, len, &mut v), 0);
            (v.problem, v.range.start, v.range.end, v.page_size)
        }
    };
    assert_eq!(verdict(0, 0x1000).0, VFIO_IOMMU_INFO_SPAN_OK);
    assert_eq!(
        verdict(0xfd_0000_0000, 0x1000),
        (
            VFIO_IOMMU_INFO_SPAN_IN_HOLE,
            0xfd_0000_0000,
            0xff_ffff_ffff,
            0
        )
    );
    assert_eq!(verdict(0x1000, 0x800).0, VFIO_IOMMU_INFO_SPAN_MISALIGNED);
    assert_eq!(verdict(0x1000, 0x800).3, 0x1000);
    assert_eq!(verdict(u64::MAX - 0xfff, 0x1000).0, VFIO_IOMMU_INFO_SPAN_OK);
    assert_eq!(
        verdict(u64::MAX - 0xfff, 0x2000).0,
        VFIO_IOMMU_INFO_SPAN_WRAPS
    );
    assert_eq!(verdict(0, 0).0, VFIO_IOMMU_INFO_SPAN_EMPTY);
    // SAFETY: `info` came from decode and is freed once.
    unsafe { vfio_iommu_info_free(info) };
}

#[test]
fn null_pointers_and_bad_arguments_are_codes() {
    let buf = fixture(AMD);
    let info = decode(&buf);
    // SAFETY: every pointer is NULL, a local, or the live `info`.
    unsafe {
        let mut out = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_decode(buf.as_ptr(), buf.len(), 0, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_decode(ptr::null(), 16, 0, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(last_error().contains("buf is NULL"));
        assert_eq!(
            vfio_iommu_info_decode(ptr::null(), 0, 0, &mut out),
            VFIO_IOMMU_INFO_E_MALFORMED
        );
        assert_eq!(
            vfio_iommu_info_decode(buf.as_ptr(), buf.len(), 3, &mut out),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(
            vfio_iommu_info_decode(buf.as_ptr(), 30, 0, &mut out),
            VFIO_IOMMU_INFO_E_MALFORMED
        );
        assert!(last_error().contains("byte offset 16"), "{}", last_error());
        assert!(out.is_null(), "out written on failure");

        let mut n = 0usize;
        assert_eq!(
            vfio_iommu_info_iova_range_count(ptr::null(), &mut n),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_iova_range_count(info, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_hole(info, 0, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_to_json(info, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_check(ptr::null(), 0, 1, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );

        // A sized struct from a caller that did not set `size`.
        let mut m: vfio_iommu_info_migration = std::mem::zeroed();
        m.size = 8;
        m.version = 77;
        assert_eq!(
            vfio_iommu_info_migration(info, &mut m),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!((m.size, m.version), (8, 77));
        assert!(last_error().contains("out->size is 8"), "{}", last_error());
        // A caller built against a later, larger struct gets what this version fills.
        let mut big = [0u64; 8];
        big[0] = 64;
        let p = big.as_mut_ptr().cast::<vfio_iommu_info_migration>();
        assert_eq!(vfio_iommu_info_migration(info, p), 0);
        assert_eq!(
            (*p).size as usize,
            std::mem::size_of::<vfio_iommu_info_migration>()
        );
        assert_eq!(big[4..], [0; 4], "wrote past its struct");

        let mut container = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_open(ptr::null(), &mut container, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_open(c"nonsense".as_ptr(), &mut container, &mut out),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert!(last_error().contains("is not a target"), "{}", last_error());
        assert_eq!(
            vfio_iommu_info_open(c"0000:ff:1f.7".as_ptr(), &mut container, &mut out),
            VFIO_IOMMU_INFO_E_NO_DEVICE
        );
        assert_eq!(
            vfio_iommu_info_open_targets(ptr::null(), 1, &mut container, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        let targets = [c"4".as_ptr(), ptr::null()];
        assert_eq!(
            vfio_iommu_info_open_targets(targets.as_ptr(), 2, &mut container, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(last_error().contains("targets[1] is NULL"));
        assert_eq!(
            vfio_iommu_info_open_targets(targets.as_ptr(), 0, &mut container, &mut out),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert!(container.is_null() && out.is_null());
        let mut fd = 0;
        assert_eq!(
            vfio_iommu_info_container_fd(ptr::null(), &mut fd),
            VFIO_IOMMU_INFO_E_NULL
        );

        vfio_iommu_info_free(ptr::null_mut());
        vfio_iommu_info_container_free(ptr::null_mut());
        vfio_iommu_info_string_free(ptr::null_mut());
        vfio_iommu_info_free(info);
    }
}

#[test]
fn query_refuses_fds_that_are_not_containers() {
    let mut out = ptr::null_mut();
    // SAFETY: the out-pointer is a local; the fds are open or plainly invalid.
    unsafe {
        assert_eq!(vfio_iommu_info_query(-1, &mut out), -libc::EBADF);
        let file = File::open("/dev/null").unwrap();
        let rc: c_int = vfio_iommu_info_query(file.as_raw_fd(), &mut out);
        assert_eq!(rc, -libc::ENOTTY, "{}", last_error());
        assert!(
            last_error().contains(&format!("fd {}", file.as_raw_fd())),
            "{}",
            last_error()
        );
        assert!(out.is_null());
        assert_eq!(
            vfio_iommu_info_query(0, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
    }
}

#[test]
fn unknown_capabilities_come_with_their_bytes() {
    use ::vfio_iommu_info::encode::{CapSpec, KernelState};
    let buf = KernelState::padded(
        0x1000,
        vec![
            CapSpec::DmaAvail(9),
            CapSpec::Raw {
                id: 42,
                version: 3,
                payload: vec![0xab; 12],
            },
        ],
    )
    .encode();
    let info = decode(&buf);
    // SAFETY: `info` is live until freed; out-structs are locals with their size set.
    unsafe {
        let mut n = 0usize;
        assert_eq!(vfio_iommu_info_unknown_cap_count(info, &mut n), 0);
        assert_eq!(n, 1);
        let mut cap: vfio_iommu_info_cap = std::mem::zeroed();
        cap.size = std::mem::size_of_val(&cap) as u32;
        assert_eq!(vfio_iommu_info_unknown_cap(info, 0, &mut cap), 0);
        assert_eq!((cap.id, cap.version), (42, 3));
        let bytes = std::slice::from_raw_parts(cap.bytes, cap.len);
        let id = u16::from_ne_bytes([bytes[0], bytes[1]]);
        assert_eq!(id, 42, "the bytes start with the capability's header");
        assert!(bytes[8..20].iter().all(|&b| b == 0xab), "{bytes:?}");
        // The same capability through the chain, and the known one without bytes.
        let mut entry: vfio_iommu_info_cap = std::mem::zeroed();
        entry.size = cap.size;
        assert_eq!(vfio_iommu_info_chain_entry(info, 1, &mut entry), 0);
        assert_eq!(
            (entry.offset, entry.bytes, entry.len),
            (cap.offset, cap.bytes, cap.len)
        );
        assert_eq!(vfio_iommu_info_chain_entry(info, 0, &mut entry), 0);
        assert_eq!((entry.id, entry.bytes, entry.len), (3, ptr::null(), 0));
        assert_eq!(
            vfio_iommu_info_unknown_cap(info, 1, &mut cap),
            VFIO_IOMMU_INFO_E_RANGE
        );
        vfio_iommu_info_free(info);
    }
}
